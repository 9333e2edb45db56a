"""Forgery prompt embeddings: the FPL trains on templated QA (loss falls), round-trips, and reaches the LM."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("transformers")
pytest.importorskip("forensic_kfd")

import torch

from forensic_core.dialog import DialogSession
from forensic_core.errors import ConfigError
from forensic_llm_dialog.backends.hf import HfBackend
from forensic_llm_dialog.fpl import ForgeryPromptLearner, FplConfig, load_fpl
from forensic_llm_dialog.kfd_inputs import analyse, face_image
from forensic_llm_dialog.settings import HfSettings
from forensic_llm_dialog.training import TrainConfig, pasted_patch, train

KFD_TINY = {"backbone": "kfd-tiny", "pretrained": None, "device": "cpu", "seed": 0}


@pytest.fixture(scope="module")
def trained(tiny_lm_folder, tmp_path_factory):
    config = TrainConfig(
        lm=str(tiny_lm_folder), kfd=KFD_TINY, samples=2, size=32, tokens=4, steps=40, batch_size=6, lr=1e-2
    )
    outdir = tmp_path_factory.mktemp("fpl-run")
    return train(config, outdir), outdir


def test_prompt_learner_shapes():
    fpl = ForgeryPromptLearner(FplConfig(layers=3, clip_dim=16, hidden=24, tokens=5))
    prompts, image = fpl(torch.randn(2, 3, 2, 7, 7), torch.rand(2, 16, 16), torch.rand(2, 2), torch.randn(2, 16))
    assert prompts.shape == (2, 5, 24) and image.shape == (2, 1, 24)


def test_training_lowers_the_answer_loss_and_saves(trained):
    summary, outdir = trained
    assert summary["last_loss"] < 0.95 * summary["first_loss"], summary["losses"]  # mean of the first and last 8 steps
    assert json.loads((outdir / "train.json").read_text())["steps"] == 40
    assert (outdir / "fpl.safetensors").is_file()


def test_saved_fpl_round_trips(trained, tiny_lm_folder):
    _summary, outdir = trained
    backend = HfBackend(HfSettings(model=str(tiny_lm_folder), max_new_tokens=4))
    fpl, identity, lora = load_fpl(outdir / "fpl.safetensors", backend.lm.model, str(tiny_lm_folder))
    assert identity.kfd == KFD_TINY and fpl.config.tokens == 4 and lora == {}
    again, _, _ = load_fpl(outdir / "fpl.safetensors", backend.lm.model, str(tiny_lm_folder))
    for (name, a), (_, b) in zip(fpl.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_hf_generates_from_inputs_embeds_holding_the_forgery_prompts(trained, tiny_lm_folder, fake_findings):
    _, outdir = trained
    settings = HfSettings(model=str(tiny_lm_folder), fpl=str(outdir / "fpl.safetensors"), max_new_tokens=5)
    backend = HfBackend(settings)
    assert backend.accepts_embeddings is True
    answer = DialogSession(fake_findings, backend, backend_name="hf").ask("Is this image a deepfake?")
    assert answer.content.strip()
    embeds = backend.last_inputs_embeds
    assert embeds is not None and embeds.shape[0] == 1
    kfd = analyse(backend.kfd, [face_image(fake_findings)])
    with torch.no_grad():
        prompts, image_token = backend.fpl(kfd.correlation, kfd.mask, kfd.probs, kfd.image_features)
    rows = embeds[0]
    k = prompts.shape[1]
    starts = [i for i in range(rows.shape[0] - k + 1) if torch.allclose(rows[i : i + k], prompts[0], atol=1e-5)]
    assert len(starts) == 1  # the k forgery prompt tokens appear once, contiguously
    assert any(torch.allclose(rows[i], image_token[0, 0], atol=1e-5) for i in range(starts[0]))


def test_an_fpl_for_another_lm_is_refused(trained, tmp_path):
    from .tiny_lm import build_tiny_lm

    _, outdir = trained
    other = build_tiny_lm(tmp_path / "other", seed=1)
    with pytest.raises(ConfigError, match="was trained for LM"):
        HfBackend(HfSettings(model=str(other), fpl=str(outdir / "fpl.safetensors")))


def test_fallback_pseudo_fake_marks_its_patch():
    import numpy as np

    image = np.random.default_rng(0).integers(0, 200, (30, 30, 3), dtype=np.uint8)
    fake, mask = pasted_patch(image, 0)
    assert mask.sum() == 100 and (fake != image).any(axis=2)[mask > 0].mean() > 0.9
    assert (fake == image)[mask == 0].all()


def test_train_fpl_command(forensic_cli, register_plugin, tiny_lm_folder, tmp_path):
    import forensic_llm_dialog.plugin as plugin

    register_plugin(plugin, "forensic-llm-dialog")
    config = {"lm": str(tiny_lm_folder), "kfd": KFD_TINY, "samples": 2, "size": 32, "tokens": 2, "steps": 2}
    path = tmp_path / "fpl.yaml"
    path.write_text(yaml.safe_dump(config))
    result = forensic_cli("dialog", "train-fpl", str(path), "-o", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "trained 2 steps on 12 pairs" in result.output and (tmp_path / "run" / "fpl.safetensors").is_file()


def test_lora_trains_with_the_fpl_and_loads_into_a_private_copy(tiny_lm_folder, tmp_path, fake_findings):
    config = TrainConfig(
        lm=str(tiny_lm_folder), kfd=KFD_TINY, samples=2, size=32, tokens=2, steps=12, batch_size=6, lr=1e-2, lora_rank=2
    )
    summary = train(config, tmp_path / "run")
    assert summary["lora"] == {"rank": 2, "layers": 4}  # q_proj and v_proj of two blocks
    assert summary["last_loss"] < summary["first_loss"], summary["losses"]
    settings = HfSettings(model=str(tiny_lm_folder), fpl=str(tmp_path / "run" / "fpl.safetensors"), max_new_tokens=3)
    backend = HfBackend(settings)
    assert backend.model is not backend.lm.model  # the shared model stays plain
    adapted = backend.model.get_submodule("model.layers.0.self_attn.q_proj")
    assert adapted.up.abs().sum() > 0 and not hasattr(
        backend.lm.model.get_submodule("model.layers.0.self_attn.q_proj"), "up"
    )
    assert DialogSession(fake_findings, backend).ask("Is it fake?").content.strip()


def test_the_fpl_sidecar_names_the_lm_kfd_dims_hashes_and_api_version(trained, tiny_lm_folder):
    from forensic_core.api import API_VERSION
    from forensic_llm_dialog.fpl_files import file_sha256

    _, outdir = trained
    sidecar = json.loads((outdir / "fpl.json").read_text())
    assert sidecar["format"] == "forensic-fpl/2" and sidecar["api_version"] == API_VERSION
    backend = HfBackend(HfSettings(model=str(tiny_lm_folder), max_new_tokens=4))
    weight = backend.lm.model.get_input_embeddings().weight
    assert sidecar["lm"]["name"] == str(tiny_lm_folder)
    assert (sidecar["lm"]["hidden"], sidecar["lm"]["vocab"]) == (weight.shape[1], weight.shape[0])
    assert sidecar["fpl"]["tokens"] == 4 and sidecar["fpl"]["layers"] == 3 and sidecar["lora"] is None
    assert sidecar["kfd"]["settings"] == KFD_TINY
    assert sidecar["kfd"]["model"]["backbone_sha256"] == backend_kfd_sha(tiny_lm_folder, outdir)
    assert sidecar["tensors_sha256"] == file_sha256(outdir / "fpl.safetensors")
    assert len(sidecar["training"]["config_digest"]) == 16 and sidecar["training"]["steps"] == 40


def backend_kfd_sha(tiny_lm_folder, outdir):
    settings = HfSettings(model=str(tiny_lm_folder), fpl=str(outdir / "fpl.safetensors"), max_new_tokens=2)
    return HfBackend(settings).kfd.backbone_sha256


def test_a_format_1_fpl_without_sidecar_still_loads(trained, tiny_lm_folder, tmp_path):
    """Round 2 kept everything in the safetensors metadata: without fpl.json the file loads the same."""
    import shutil

    _, outdir = trained
    shutil.copy(outdir / "fpl.safetensors", tmp_path / "old.safetensors")
    backend = HfBackend(HfSettings(model=str(tiny_lm_folder), max_new_tokens=4))
    new, new_identity, _ = load_fpl(outdir / "fpl.safetensors", backend.lm.model, str(tiny_lm_folder))
    old, old_identity, _ = load_fpl(tmp_path / "old.safetensors", backend.lm.model, str(tiny_lm_folder))
    assert old_identity == new_identity and old.config == new.config
    for (name, a), (_, b) in zip(new.state_dict().items(), old.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_an_fpl_for_another_lm_is_one_line_naming_both(trained, tmp_path):
    from .tiny_lm import build_tiny_lm

    _, outdir = trained
    other = build_tiny_lm(tmp_path / "other", seed=1)
    with pytest.raises(ConfigError) as caught:
        HfBackend(HfSettings(model=str(other), fpl=str(outdir / "fpl.safetensors")))
    message = str(caught.value)
    assert "\n" not in message and str(other) in message and "set 'model'" in message
    assert json.loads((outdir / "fpl.json").read_text())["lm"]["embedding_sha256"][:12] in message


def test_an_fpl_whose_kfd_changed_or_whose_sidecar_is_foreign_is_refused(trained, tiny_lm_folder, tmp_path):
    import shutil

    _, outdir = trained
    copy = tmp_path / "fpl.safetensors"
    shutil.copy(outdir / "fpl.safetensors", copy)
    sidecar = json.loads((outdir / "fpl.json").read_text())
    sidecar["kfd"]["model"]["weights_sha256"] = "0" * 64  # trained on another KFD than its settings load now
    (tmp_path / "fpl.json").write_text(json.dumps(sidecar))
    settings = HfSettings(model=str(tiny_lm_folder), fpl=str(copy), max_new_tokens=2)
    with pytest.raises(ConfigError, match="trained on the outputs of KFD"):
        HfBackend(settings)
    sidecar["tensors_sha256"] = "f" * 64
    (tmp_path / "fpl.json").write_text(json.dumps(sidecar))
    with pytest.raises(ConfigError, match="do not belong together"):
        HfBackend(settings)
