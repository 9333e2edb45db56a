"""The ``hf`` backend on a tiny local LM: save -> load, chat template, streaming, once per process."""

from __future__ import annotations

import pytest

from forensic_core import Message
from forensic_core.dialog import DialogSession
from forensic_core.errors import ConfigError, MissingWeightsError

pytest.importorskip("transformers")

from forensic_llm_dialog import models
from forensic_llm_dialog.backends.hf import HfBackend
from forensic_llm_dialog.settings import HfSettings


def backend(folder, **changes):
    return HfBackend(HfSettings(model=str(folder), **{"max_new_tokens": 6, **changes}))


def test_generates_streamed_text_from_the_chat_template(tiny_lm_folder, fake_findings):
    hf = backend(tiny_lm_folder)
    assert hf.accepts_embeddings is False
    conversation = [Message("system", "Evidence: [1] kfd 0.93"), Message("user", "Is it fake?")]
    chunks = list(hf.reply(fake_findings, conversation))
    assert len(chunks) >= 1 and "".join(chunks).strip()
    again = "".join(hf.reply(fake_findings, conversation))
    assert again == "".join(chunks)  # greedy decoding is reproducible


def test_the_model_is_loaded_once_per_process(tiny_lm_folder):
    first = backend(tiny_lm_folder)
    second = backend(tiny_lm_folder, max_new_tokens=3)
    assert first.lm is second.lm


def test_a_session_over_the_hf_backend_cites_and_guards(tiny_lm_folder, fake_findings):
    session = DialogSession(fake_findings, backend(tiny_lm_folder), backend_name="hf")
    answer = session.ask("Is this image a deepfake?")
    assert answer.backend == "hf" and answer.evidence[0]["component"] == "kfd"
    assert answer.content.strip()


def test_missing_models_fail_with_what_to_do(tmp_path):
    with pytest.raises(MissingWeightsError, match=r"does not exist"):
        models.resolve(str(tmp_path / "nothing" / "model.gguf"), None)
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"is a file but not \.gguf"):
        models.resolve(str(tmp_path / "weights.bin"), None)
    with pytest.raises(MissingWeightsError, match="does not exist"):
        models.resolve("./no-such-folder", None)


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    assert models.cache_root(None) == tmp_path / "cache"
    assert models.cache_root(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_sampling_is_seeded_on_a_forked_rng(tiny_lm_folder, fake_findings):
    """A sampled reply repeats for the same seed and leaves the process's random state as it found it."""
    import torch

    hf = backend(tiny_lm_folder, temperature=1.0, seed=7)
    conversation = [Message("system", "Evidence: [1] kfd 0.93"), Message("user", "Is it fake?")]
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = "".join(hf.reply(fake_findings, conversation))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert "".join(hf.reply(fake_findings, conversation)) == first
