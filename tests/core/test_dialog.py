"""The dialog session: history, citations, follow-up analysis with the pipeline's components, guard rails."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image

from forensic_core import Detection, Findings, Message
from forensic_core.analysis import Analyzer
from forensic_core.artifacts import ArtifactWriter
from forensic_core.config import load_pipeline
from forensic_core.dialog import (
    DialogSession,
    Refiner,
    findings_of,
    guard_notes,
    parse_question,
    run_dialog,
    stance,
    unsupported_numbers,
)
from forensic_core.report import InputResult, MessageRecord


class Scripted:
    """A backend that says what it is told, in chunks, and remembers what it was given."""

    accepts_embeddings = False

    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[Sequence[Message]] = []

    def reply(self, findings: Findings, conversation: Sequence[Message]):
        self.seen.append(list(conversation))
        yield from self.text.split(" ")[:1]
        for word in self.text.split(" ")[1:]:
            yield " " + word


def fake(score: float = 0.9) -> Findings:
    return Findings(source="x.png", detections={"det": Detection.from_score(score)}, localizations={})


@pytest.fixture
def half_bright(tmp_path):
    """Dark top, bright bottom: the fixed face's mouth (its lower part) is bright, the forehead dark."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[40:] = 230
    path = tmp_path / "half.png"
    Image.fromarray(image).save(path)
    return path


def analysed(registry, data, path):
    pipeline = load_pipeline(data, registry)
    analyzer = Analyzer(pipeline)
    analyzer.build()
    item = registry.open_media(path=path, frames=1, max_pixels=10**8)[0]
    result = InputResult(source=str(path), media="image")
    focus = analyzer.analyze_frame(item, ArtifactWriter(path.parent / "out", 0, str(path)), "", result.timings)
    for name in type(focus.record).model_fields:
        setattr(result, name, getattr(focus.record, name))
    return analyzer, item, result, focus


PIPELINE = {
    "faces": "fixed-faces",
    "detectors": ["brightness"],
    "localizers": ["bright-map"],
    "explainers": ["saliency"],
    "dialog": "echo",
}


def test_questions_are_classified_and_regions_named():
    question = parse_question("What about the left eye and the mouth?", ["left_eye", "right_eye", "mouth"])
    assert question.regions == ("left_eye", "mouth") and question.asks("region")
    assert parse_question("the eyes?", ["left_eye", "right_eye"]).regions == ("left_eye", "right_eye")
    assert parse_question("How sure are you?").kinds == {"confidence"}
    assert parse_question("hello").kinds == {"summary"}
    assert parse_question("Compute the score for each region").asks("per_region")


def test_session_streams_keeps_history_and_gives_the_evidence_to_the_backend():
    backend = Scripted("It is fake.")
    session = DialogSession(fake(), backend, backend_name="scripted")
    chunks: list[str] = []
    first = session.ask("Is it fake?", on_text=chunks.append)
    assert "".join(chunks) == "It is fake." == first.content
    session.ask("How sure?")
    system, *turns = backend.seen[1]
    assert system.role == "system" and "[1] det: forgery score 0.90 (fake, threshold 0.50)" in system.content
    assert [(m.role, m.content) for m in turns] == [
        ("user", "Is it fake?"),
        ("assistant", "It is fake."),
        ("user", "How sure?"),
    ]
    records = session.records()
    assert [r.role for r in records] == ["user", "assistant", "user", "assistant"]
    assert records[1].backend == "scripted" and records[1].evidence[0]["component"] == "det"


def test_a_backend_returning_one_message_still_works():
    class Legacy:
        def reply(self, findings, conversation):
            return Message("assistant", "legacy answer")

    assert DialogSession(fake(), Legacy()).ask("Fake?").content == "legacy answer"


def test_contradicting_the_detector_adds_the_detectors_verdict():
    answer = DialogSession(fake(0.9), Scripted("No, this is not a deepfake.")).ask("Is it fake?")
    assert "Note: this answer contradicts the detector. The detector's verdict: det says fake" in answer.content
    agreeing = DialogSession(fake(0.9), Scripted("Yes, this is a deepfake.")).ask("Is it fake?")
    assert "contradicts" not in agreeing.content
    assert stance("It looks real to me") == "real" and stance("This image is manipulated") == "fake"
    assert stance("The heat is in the mouth") is None
    assert stance("Yes.", "Is it real?") == "real" and stance("Yes.", "Is it a deepfake?") == "fake"
    assert stance("No.", "Is this photo genuine?") == "fake" and stance("Yes", "Where?") is None
    real_answer = DialogSession(fake(0.9), Scripted("Yes, it is.")).ask("Is this image real?")
    assert "The detector's verdict: det says fake" in real_answer.content


def test_numbers_must_come_from_the_findings():
    answer = DialogSession(fake(0.9), Scripted("The score is 97% and 0.9.")).ask("How sure?")
    assert "Note: the number(s) 97% do not come from the findings" in answer.content
    evidence = [{"component": "d", "text": "d: forgery score 0.90", "value": 0.9}]
    assert unsupported_numbers("score 90% or 0.90, region 3 [12]", evidence) == []
    assert guard_notes("It is 0.42.", fake(0.9), evidence, "") == [
        "Note: the number(s) 0.42 do not come from the findings; rely on the evidence."
    ]


def test_a_named_region_reruns_the_detector_on_a_zoomed_crop(fake_registry, half_bright):
    analyzer, item, result, focus = analysed(fake_registry, PIPELINE, half_bright)
    refiner = Refiner(analyzer, lambda: item)
    session = DialogSession(findings_of(result, focus, item.image), Scripted("ok"), refiner=refiner)
    answer = session.ask("What about the mouth?")
    assert len(answer.actions) == 1 and answer.actions[0].startswith(
        "re-ran detector brightness on a zoomed crop of the mouth of face 0 ["
    )
    zoom = [e for e in answer.evidence if e["kind"] == "refinement"]
    assert len(zoom) == 1 and zoom[0]["region"] == "mouth"
    # the crop is mostly the bright bottom: far brighter than the whole frame
    assert zoom[0]["value"] > result.detections[0].score + 0.2
    assert session.findings.observations[0]["region"] == "mouth"
    assert session.ask("Is it fake?").actions == ()  # plain questions run nothing more


def test_per_region_scores_and_the_explainer_on_request(fake_registry, half_bright):
    analyzer, item, result, focus = analysed(fake_registry, PIPELINE, half_bright)
    session = DialogSession(findings_of(result, focus), Scripted("ok"), refiner=Refiner(analyzer, lambda: item))
    per_region = session.ask("Give me the score of each region")
    assert {e["region"] for e in per_region.evidence if e["kind"] == "refinement"} == {"mouth", "forehead"}
    mouth, forehead = (
        next(e["value"] for e in per_region.evidence if e.get("region") == name and e["kind"] == "refinement")
        for name in ("mouth", "forehead")
    )
    assert mouth > forehead
    explained = session.ask("Run the explainer on the mouth")
    assert any(
        a.startswith("ran explainer saliency on the mouth of face 0 for detector brightness") for a in explained.actions
    )
    assert any(e["component"] == "saliency" and "on the mouth" in e["text"] for e in explained.evidence)


def test_refinement_failures_are_recorded_not_raised(fake_registry, half_bright):
    data = {**PIPELINE, "detectors": ["failing"], "explainers": []}
    analyzer, item, result, focus = analysed(fake_registry, data, half_bright)
    refiner = Refiner(analyzer, lambda: item)
    answer = DialogSession(findings_of(result, focus), Scripted("ok"), refiner=refiner).ask("What about the mouth?")
    assert answer.actions == ("re-ran detector failing on a zoomed crop of the mouth of face 0: failed",)
    assert [f.component for f in refiner.failures] == ["failing"]


def test_run_dialog_records_answers_with_evidence_and_details(fake_registry, half_bright):
    data = {**PIPELINE, "dialog": {"name": "echo", "questions": ["Fake?", "What about the mouth?"]}}
    analyzer, _, result, focus = analysed(fake_registry, data, half_bright)
    run_dialog(analyzer, result, focus)
    assert [m.role for m in result.dialog] == ["user", "assistant", "user", "assistant"]
    answer = result.dialog[3]
    assert isinstance(answer, MessageRecord) and answer.backend == "echo"
    assert answer.evidence[0]["component"] == "brightness"
    assert answer.actions and "zoomed crop of the mouth" in answer.actions[0]
    assert answer.content.startswith("What about the mouth? -> brightness=")
