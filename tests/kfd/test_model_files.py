"""Self-describing KFD weights: ``weights`` alone rebuilds the model; folders, hub ids, format-1 sidecars, conflicts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from forensic_core.errors import ConfigError, MissingWeightsError  # noqa: E402
from forensic_kfd.persistence import BackboneMismatchError, sidecar_path  # noqa: E402
from forensic_kfd.runtime import KfdRuntime  # noqa: E402
from forensic_kfd.settings import KfdSettings  # noqa: E402

from .conftest import face_items, tiny_settings  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[KfdRuntime, Path]:
    """A tiny runtime on random backbone weights of seed 3 with random (non-initial) heads, saved."""
    runtime = KfdRuntime(tiny_settings(layers=(2, 4), context_tokens=3, seed=3))
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in runtime.model.named_parameters():
            if not name.startswith("clip."):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
        runtime.class_embeddings = runtime.model.class_embeddings()
    path = tmp_path_factory.mktemp("weights") / "kfd.safetensors"
    runtime.save(path)
    return runtime, path


def weights_only(reference: str | Path, **changes: object) -> KfdSettings:
    """Settings naming only the weights (and the CPU): the backbone must come from the sidecar."""
    return KfdSettings.model_validate({"weights": str(reference), "device": "cpu", **changes})


def assert_same_outputs(original: KfdRuntime, loaded: KfdRuntime) -> None:
    items = face_items(3)
    for before, after in zip(original.analyse(items, use_cache=False), loaded.analyse(items), strict=True):
        assert before.score == after.score
        np.testing.assert_array_equal(before.mask, after.mask)
        np.testing.assert_array_equal(before.layer_maps, after.layer_maps)


def test_weights_alone_rebuild_the_backbone_the_sidecar_names(saved: tuple[KfdRuntime, Path]) -> None:
    original, path = saved
    settings = weights_only(path)
    assert settings.backbone == "ViT-B-16" and settings.pretrained == "openai"  # the defaults are not used
    loaded = KfdRuntime(settings)
    assert loaded.backbone_identity == "kfd-tiny/random(seed=3)"
    assert loaded.backbone_sha256 == original.backbone_sha256
    assert loaded.config == original.config and loaded.trained
    assert_same_outputs(original, loaded)


def test_explicit_settings_that_agree_with_the_sidecar_still_load(saved: tuple[KfdRuntime, Path]) -> None:
    original, path = saved
    loaded = KfdRuntime(weights_only(path, backbone="kfd-tiny", pretrained=None, seed=3, layers=(2, 4)))
    assert_same_outputs(original, loaded)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"backbone": "ViT-B-16"}, ["backbone='ViT-B-16'", "backbone='kfd-tiny'"]),
        ({"backbone": "kfd-tiny", "pretrained": "openai"}, ["pretrained='openai'", "pretrained=None"]),
        ({"seed": 0}, ["seed=0", "seed=3"]),
        ({"layers": (1, 2)}, ["layers=(1, 2)", "(2, 4)"]),
    ],
)
def test_a_setting_that_contradicts_the_sidecar_is_one_line_naming_both(
    saved: tuple[KfdRuntime, Path], changes: dict[str, object], named: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = saved
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # ViT-B-16/openai is not cached: refused before any loading
    with pytest.raises(ConfigError) as caught:
        KfdRuntime(weights_only(path, **changes))
    message = str(caught.value)
    assert "\n" not in message and "remove" in message
    for text in named:
        assert text in message


def test_the_backbone_conflict_is_a_backbone_mismatch_naming_the_trained_one(saved: tuple[KfdRuntime, Path]) -> None:
    _, path = saved
    with pytest.raises(BackboneMismatchError, match=r"trained on backbone kfd-tiny/random\(seed=3\)"):
        KfdRuntime(weights_only(path, backbone="ViT-B-16"))


def test_a_format_1_sidecar_still_loads_with_weights_alone(saved: tuple[KfdRuntime, Path], tmp_path: Path) -> None:
    """Round 2 wrote only the backbone's identity and hash: name, pretrained and seed are read back from it."""
    original, path = saved
    old = tmp_path / "old.safetensors"
    shutil.copy(path, old)
    sidecar = json.loads(sidecar_path(path).read_text())
    sidecar["format"] = "forensic-kfd/1"
    sidecar["backbone"] = {k: sidecar["backbone"][k] for k in ("identity", "sha256")}
    for key in ("api_version", "training"):
        del sidecar[key]
    sidecar_path(old).write_text(json.dumps(sidecar))
    loaded = KfdRuntime(weights_only(old))
    assert loaded.backbone_identity == "kfd-tiny/random(seed=3)"
    assert_same_outputs(original, loaded)


def test_a_format_1_identity_that_cannot_be_read_leaves_the_backbone_to_the_settings(tmp_path: Path) -> None:
    from forensic_kfd.persistence import complete_backbone

    assert complete_backbone({"identity": "ViT-B-16/openai", "sha256": "x"})["pretrained"] == "openai"
    assert complete_backbone({"identity": "ViT-B-16//m/ckpt.pt", "sha256": "x"})["pretrained"] == "/m/ckpt.pt"
    assert complete_backbone({"identity": "hf-hub:org/clip", "sha256": "x"})["name"] == "hf-hub:org/clip"
    assert "name" not in complete_backbone({"identity": "odd", "sha256": "x"})


def test_a_model_folder_loads_like_its_weights_file(saved: tuple[KfdRuntime, Path], tmp_path: Path) -> None:
    original, path = saved
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(path, folder / "kfd.safetensors")
    shutil.copy(sidecar_path(path), folder / "kfd.json")
    (folder / "README.md").write_text("# a model card\n")
    assert_same_outputs(original, KfdRuntime(weights_only(folder)))
    (folder / "kfd.safetensors").rename(folder / "renamed.safetensors")
    (folder / "kfd.json").rename(folder / "renamed.json")
    assert_same_outputs(original, KfdRuntime(weights_only(folder)))  # the one weights file with a sidecar
    (folder / "renamed.json").unlink()
    with pytest.raises(MissingWeightsError, match=r"holds no kfd\.safetensors"):
        KfdRuntime(weights_only(folder))


def test_an_uncached_hub_model_fails_at_once_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    attempts: list[object] = []
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: attempts.append(address))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as caught:
        KfdRuntime(weights_only("hf-hub:someone/kfd-tiny", cache_dir=str(tmp_path / "cache")))
    message = str(caught.value)
    assert "hf-hub:someone/kfd-tiny" in message and "HF_HUB_OFFLINE" in message and "local model folder" in message
    assert "\n" not in message and attempts == []  # one line, and no connection tried: nothing to wait for


def test_a_cached_hub_model_loads_offline_from_the_hub_cache(
    saved: tuple[KfdRuntime, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hf-hub:ORG/NAME: snapshot_download finds the cached snapshot (the hub's cache layout), no network needed."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    original, path = saved
    repo = tmp_path / "cache" / "models--someone--kfd-tiny"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    shutil.copy(path, snapshot / "kfd.safetensors")
    shutil.copy(sidecar_path(path), snapshot / "kfd.json")
    loaded = KfdRuntime(weights_only("hf-hub:someone/kfd-tiny", cache_dir=str(tmp_path / "cache")))
    assert_same_outputs(original, loaded)
    with pytest.raises(ConfigError, match="hf-hub:ORG/NAME"):
        KfdRuntime(weights_only("hf-hub:no-slash"))


def test_an_uncached_hub_model_fails_at_once_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket

    attempts: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("network is unreachable (test)")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(MissingWeightsError, match="cannot be reached") as caught:
        KfdRuntime(weights_only("hf-hub:someone/kfd-tiny", cache_dir=str(tmp_path / "cache")))
    assert "weights hf-hub:someone/kfd-tiny" in str(caught.value) and len(attempts) == 1  # one probe, no retries


def test_tensors_that_are_not_the_sidecars_are_refused(saved: tuple[KfdRuntime, Path], tmp_path: Path) -> None:
    _, path = saved
    other = KfdRuntime(tiny_settings(layers=(2, 4), context_tokens=3, seed=3))  # initial heads, same shapes
    swapped = tmp_path / "swapped.safetensors"
    other.save(swapped)
    shutil.copy(sidecar_path(path), sidecar_path(swapped))  # the sidecar of another file
    with pytest.raises(ConfigError, match="do not belong together"):
        KfdRuntime(weights_only(swapped))
