"""The grounded backend: deterministic answers for every question type, each citing the evidence it states."""

from __future__ import annotations

import re

import pytest

from forensic_core.dialog import DialogSession, unsupported_numbers
from forensic_core.testing import DialogContract
from forensic_llm_dialog.backends.grounded import GroundedBackend
from forensic_llm_dialog.plugin import forensic_register_dialog_backends

from .conftest import make_findings, with_explanation


def ask(findings, question):
    return DialogSession(findings, GroundedBackend(), backend_name="grounded").ask(question)


class TestGroundedContract(DialogContract):
    @pytest.fixture
    def spec(self):
        return next(s for s in forensic_register_dialog_backends() if s.name == "grounded")

    @pytest.fixture
    def registration_module(self):
        return "forensic_llm_dialog.plugin"


def test_fake_verdict_names_the_region_and_cites_the_score(fake_findings):
    answer = ask(fake_findings, "Is this image a deepfake?")
    assert answer.content.startswith("Yes. This is a deepfake image, the artifact is at the left eye")
    assert "0.93" in answer.content and "[1]" in answer.content
    assert answer.evidence[0]["component"] == "kfd" and answer.evidence[0]["value"] == 0.93
    assert answer.backend == "grounded"


def test_real_verdict_says_no(real_findings):
    answer = ask(real_findings, "Is this image real?")
    assert answer.content.startswith("No, this is not a deepfake image") and "0.12" in answer.content
    assert "Note:" not in answer.content


def test_confidence_is_the_score_in_percent_with_its_margin(fake_findings):
    answer = ask(fake_findings, "How sure are you?")
    assert "The forgery score is 93%" in answer.content and "0.43 from the threshold 0.50" in answer.content
    assert "Note:" not in answer.content  # the margin is derived from the findings, not invented


def test_where_and_which_region_rank_facial_regions(fake_findings, real_findings):
    where = ask(fake_findings, "Where is the manipulation?").content
    assert where.startswith("Most evidence lies in the left eye (mean heat 0.90, kfd)")
    which = ask(real_findings, "Which facial region looks most suspicious?")
    assert "The detector found no forgery; the most heat is in the mouth" in which.content
    assert any(e.get("region") == "mouth" for e in which.evidence)


def test_question_about_a_named_region_reports_its_heat(fake_findings):
    answer = ask(fake_findings, "What about the mouth?")
    assert answer.content.startswith("The mouth: mean heat 0.05 (kfd)")
    assert [e["region"] for e in answer.evidence if "region" in e] == ["mouth"]


def test_why_cites_detector_regions_and_explainer_blocks(fake_findings):
    answer = ask(with_explanation(fake_findings), "Why do you think so?")
    assert "kfd scored the image 0.93" in answer.content and "left eye (0.90)" in answer.content
    assert "block 3 of 4 adds 60% of the accumulated evidence" in answer.content
    assert {e.get("block") for e in answer.evidence if e["component"] == "daam"} == {1, 2, 3}
    without = ask(fake_findings, "Why?")
    assert "No explainer ran" in without.content


def test_what_would_change_the_verdict(fake_findings):
    answer = ask(fake_findings, "What would change the verdict?")
    assert "would become real if kfd's score (0.93) were to fall below its threshold 0.50" in answer.content
    assert "Note:" not in answer.content


def test_compare_two_detectors(fake_findings):
    answer = ask(make_findings(0.93, second_detector=0.2), "Compare the two detectors")
    assert "kfd says fake (0.93) [1] and classic says real (0.20) [2]: the detectors disagree." in answer.content
    one = ask(fake_findings, "Do the detectors agree? compare them")
    assert "Only one detector ran (kfd)" in one.content


def test_every_number_of_every_answer_comes_from_the_findings(fake_findings, real_findings):
    questions = [
        "Is it fake?",
        "How sure are you?",
        "Where?",
        "Which facial region?",
        "Why?",
        "What about the left eye?",
        "What would change the verdict?",
        "Compare the detectors",
        "Tell me about this image",
    ]
    for findings in (with_explanation(fake_findings), real_findings, make_findings(0.6, second_detector=0.4)):
        for question in questions:
            answer = ask(findings, question)
            assert answer.evidence, question
            body = re.sub(r"\[\d+\]", "", answer.content)
            assert not unsupported_numbers(body, answer.evidence, question), (question, answer.content)
            assert "Note:" not in answer.content, (question, answer.content)


def test_answers_are_deterministic(fake_findings):
    assert ask(fake_findings, "Why?").content == ask(fake_findings, "Why?").content
