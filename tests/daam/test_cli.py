"""``forensic daam IMAGE --model NAME [--checkpoint PATH]`` on a timm model built from a local checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_daam.cli import daam_command

TINY = ["img_size=32", "patch_size=8", "embed_dim=32", "depth=2", "num_heads=2"]


def _model_args():
    return [arg for pair in TINY for arg in ("--model-arg", pair)]


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(params=["safetensors", "pt"])
def checkpoint(tmp_path, request):
    import timm

    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, **_parsed())
    path = tmp_path / f"tiny.{request.param}"
    if request.param == "safetensors":
        from safetensors.torch import save_file

        save_file(model.state_dict(), str(path))
    else:
        torch.save({"model": model.state_dict()}, path)
    return path


def _parsed():
    import ast

    return {key: ast.literal_eval(value) for key, value in (pair.split("=") for pair in TINY)}


def test_writes_strip_animation_and_maps_from_a_local_checkpoint(tmp_path, image_path, checkpoint):
    outdir = tmp_path / "out"
    args = [str(image_path), "--model", "vit_tiny_patch16_224", "--checkpoint", str(checkpoint), "-o", str(outdir)]
    result = CliRunner().invoke(daam_command, [*args, *_model_args(), "--target", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "class 2" in result.output and "2 blocks, 4x4 patch grid" in result.output
    with Image.open(outdir / "face_daam_strip.png") as strip:
        assert strip.size[1] == 160
    with Image.open(outdir / "face_daam_flow.gif") as gif:
        assert gif.n_frames == 2
    block_maps = np.load(outdir / "face_daam_block_maps.npy")
    accumulated = np.load(outdir / "face_daam_accumulated.npy")
    assert block_maps.shape == accumulated.shape == (2, 4, 4)
    assert np.allclose(accumulated[-1], block_maps.sum(axis=0), atol=1e-6)
    assert f"wrote strip: {outdir / 'face_daam_strip.png'}" in result.output


def test_checkpoint_that_does_not_fit_the_model_is_one_clear_error(tmp_path, image_path, checkpoint):
    args = [str(image_path), "--model", "vit_tiny_patch16_224", "--checkpoint", str(checkpoint), "-o", str(tmp_path)]
    result = CliRunner().invoke(daam_command, [*args, "--model-arg", "depth=2"])
    assert isinstance(result.exception, ConfigError) and "does not fit" in str(result.exception)


def test_offline_pretrained_download_fails_fast_naming_the_checkpoint_option(tmp_path, image_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    args = [str(image_path), "--model", "vit_tiny_patch16_224", "-o", str(tmp_path), *_model_args()]
    result = CliRunner().invoke(daam_command, args)
    assert isinstance(result.exception, MissingWeightsError)
    assert "--checkpoint" in str(result.exception) and "\n" not in str(result.exception)


def test_unknown_model_name_is_a_config_error(tmp_path, image_path, checkpoint):
    args = [str(image_path), "--model", "not_a_model", "--checkpoint", str(checkpoint), "-o", str(tmp_path)]
    result = CliRunner().invoke(daam_command, args)
    assert isinstance(result.exception, ConfigError) and "unknown timm model" in str(result.exception)


def test_forensic_cli_exposes_the_command_and_prints_errors_in_one_line(
    register_plugin, forensic_cli, tmp_path, image_path, monkeypatch
):
    import forensic_daam.plugin

    register_plugin(forensic_daam.plugin, name="forensic-daam", version="0.1.0")
    assert "DAAM" in forensic_cli("daam", "--help").output
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    result = forensic_cli("daam", str(image_path), "--model", "vit_tiny_patch16_224", "-o", str(tmp_path))
    assert result.exit_code != 0
    assert result.output.strip().startswith("error: no pretrained weights for 'vit_tiny_patch16_224'")
    assert len(result.output.strip().splitlines()) == 1


def test_readout_norm_and_mp4_options(tmp_path, image_path):
    pytest.importorskip("cv2")
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, global_pool="avg", **_parsed())
    path = tmp_path / "avg.safetensors"
    save_file(model.state_dict(), str(path))
    outdir = tmp_path / "out"
    args = [str(image_path), "--model", "vit_tiny_patch16_224", "--checkpoint", str(path), "-o", str(outdir)]
    args += [*_model_args(), "--model-arg", "global_pool=avg", "--norm", "--mp4"]
    result = CliRunner().invoke(daam_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (outdir / "face_daam_flow.mp4").read_bytes()[4:8] == b"ftyp"
    block_maps = np.load(outdir / "face_daam_block_maps.npy")
    assert np.allclose(block_maps.max(axis=(-2, -1)), 1.0, atol=1e-6)  # normalised per block, last block included
    refused = CliRunner().invoke(daam_command, [*args, "--readout", "nope"])
    assert refused.exit_code != 0 and "readout" in refused.output
