"""KFD weights files: save -> load gives identical outputs; a wrong backbone or architecture is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from forensic_core.api import API_VERSION  # noqa: E402
from forensic_core.errors import ConfigError, MissingWeightsError  # noqa: E402
from forensic_kfd.persistence import BackboneMismatchError, file_sha256, sidecar_path  # noqa: E402
from forensic_kfd.runtime import KfdRuntime  # noqa: E402

from .conftest import face_items, tiny_settings  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[KfdRuntime, Path]:
    """A runtime whose heads carry random (non-initial) weights, saved to a weights file."""
    runtime = KfdRuntime(tiny_settings(layers=(1, 3), context_tokens=2, visual_prompts=2, seed=0))
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, parameter in runtime.model.named_parameters():
            if not name.startswith("clip."):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
        runtime.class_embeddings = runtime.model.class_embeddings()
    path = tmp_path_factory.mktemp("weights") / "kfd-heads.safetensors"
    runtime.save(path)
    return runtime, path


def test_save_then_load_gives_identical_outputs(saved: tuple[KfdRuntime, Path]) -> None:
    original, path = saved
    # the saved heads are random draws, not the seeded initialisation: equality proves they come from the file
    loaded = KfdRuntime(tiny_settings(weights=str(path)))
    items = face_items(3)
    for before, after in zip(original.analyse(items, use_cache=False), loaded.analyse(items), strict=True):
        assert before.score == after.score
        np.testing.assert_array_equal(before.mask, after.mask)
        np.testing.assert_array_equal(before.layer_maps, after.layer_maps)
    assert loaded.trained and loaded.config == original.config


def test_sidecar_names_backbone_layers_descriptions_and_input(saved: tuple[KfdRuntime, Path]) -> None:
    runtime, path = saved
    sidecar = json.loads(sidecar_path(path).read_text())
    assert sidecar["format"] == "forensic-kfd/2" and sidecar["api_version"] == API_VERSION
    backbone = sidecar["backbone"]
    assert {k: backbone[k] for k in ("name", "pretrained", "seed", "identity", "sha256")} == {
        "name": "kfd-tiny",
        "pretrained": None,
        "seed": 0,
        "identity": "kfd-tiny/random(seed=0)",
        "sha256": runtime.backbone_sha256,
    }
    assert backbone["config"]["vision_cfg"]["layers"] == 4 and backbone["config"]["embed_dim"] == 32
    assert sidecar["tensors_sha256"] == file_sha256(path) and sidecar["training"] is None
    assert sidecar["kfd"]["layers"] == [1, 3]
    assert sidecar["kfd"]["context_tokens"] == 2 and sidecar["kfd"]["visual_prompts"] == 2
    assert "a face with blending boundaries" in sidecar["kfd"]["descriptions"]["deepfake"]
    assert sidecar["input"]["size"] == [32, 32]
    assert len(sidecar["input"]["mean"]) == len(sidecar["input"]["std"]) == 3


def test_a_different_backbone_is_refused_with_a_clear_message(saved: tuple[KfdRuntime, Path]) -> None:
    _, path = saved
    with pytest.raises(BackboneMismatchError, match=r"trained on backbone kfd-tiny/random\(seed=0\)"):
        KfdRuntime(tiny_settings(weights=str(path), seed=1))  # seed 1: other random backbone weights


def test_settings_that_contradict_the_weights_file_are_refused(saved: tuple[KfdRuntime, Path]) -> None:
    _, path = saved
    with pytest.raises(ConfigError, match="layers"):
        KfdRuntime(tiny_settings(weights=str(path), layers=(2, 4)))


def test_descriptions_can_be_extended_on_top_of_a_weights_file(saved: tuple[KfdRuntime, Path]) -> None:
    _, path = saved
    extra = "a face with a warped jawline"
    runtime = KfdRuntime(tiny_settings(weights=str(path), extra_descriptions={"deepfake": [extra]}))
    assert runtime.config.descriptions["deepfake"][-1] == extra
    assert runtime.model.prompts.token_ids.shape[0] == 5 + 8 + 1


def test_a_weights_file_without_sidecar_is_a_missing_weights_error(tmp_path: Path) -> None:
    lonely = tmp_path / "heads.safetensors"
    lonely.write_bytes(b"")
    with pytest.raises(MissingWeightsError, match="sidecar"):
        KfdRuntime(tiny_settings(weights=str(lonely)))
    with pytest.raises(MissingWeightsError, match="does not exist"):
        KfdRuntime(tiny_settings(weights=str(tmp_path / "absent.safetensors")))


def test_tensors_that_do_not_fit_the_sidecar_are_refused(saved: tuple[KfdRuntime, Path], tmp_path: Path) -> None:
    _, path = saved
    copy = tmp_path / "edited.safetensors"
    copy.write_bytes(path.read_bytes())
    sidecar = json.loads(sidecar_path(path).read_text())
    sidecar["kfd"]["localizer_channels"] = 8
    sidecar_path(copy).write_text(json.dumps(sidecar))
    with pytest.raises(ConfigError, match="do not fit"):
        KfdRuntime(tiny_settings(weights=str(copy)))
