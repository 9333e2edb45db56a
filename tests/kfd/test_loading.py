"""Backbone loading: tags from the cache, local files and folders, hub ids; fast, actionable offline errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from safetensors.torch import save_file  # noqa: E402

from forensic_core.errors import ConfigError, MissingWeightsError  # noqa: E402
from forensic_kfd import backbone as backbone_module  # noqa: E402
from forensic_kfd.backbone import backbone_sha256, load_backbone  # noqa: E402
from forensic_kfd.runtime import KfdRuntime  # noqa: E402

from .conftest import tiny_settings  # noqa: E402

TINY_CONFIG = json.loads((Path(backbone_module.__file__).parent / "model_configs" / "kfd-tiny.json").read_text())


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record (and refuse) every connection attempt; also forbid open_clip from downloading anything."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(open_clip.factory, "download_pretrained", _forbidden)
    monkeypatch.setattr(open_clip.factory, "download_pretrained_from_hf", _forbidden)
    return attempts


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("a download was attempted")


def tiny_state(seed: int) -> dict[str, torch.Tensor]:
    return {k: v.contiguous() for k, v in load_backbone("kfd-tiny", None, seed=seed).clip.state_dict().items()}


def fake_hub_cache(cache: Path, repo_id: str, files: dict[str, object]) -> None:
    """The huggingface_hub cache layout: models--ORG--NAME/{refs/main, snapshots/REV/FILE}."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    for name, content in files.items():
        if isinstance(content, dict) and name.endswith(".safetensors"):
            save_file(content, str(snapshot / name))
        else:
            (snapshot / name).write_text(json.dumps(content))


def test_random_backbones_are_reproducible_per_seed() -> None:
    first, again, other = (backbone_sha256(load_backbone("kfd-tiny", None, seed=s).clip) for s in (0, 0, 1))
    assert first == again != other


def test_a_tag_missing_from_the_cache_fails_at_once_when_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: list[tuple[str, int]]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError, match="HF_HUB_OFFLINE") as error:
        load_backbone("ViT-B-16", "openai", cache_dir=str(tmp_path))
    assert "\n" not in str(error.value) and "local checkpoint" in str(error.value)
    assert no_network == []


def test_a_tag_missing_from_the_cache_fails_at_once_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: list[tuple[str, int]]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with pytest.raises(MissingWeightsError, match="cannot be reached"):
        load_backbone("ViT-B-16", "openai", cache_dir=str(tmp_path))
    assert len(no_network) == 1  # one quick probe, no retries


def test_a_cached_tag_loads_from_the_cache_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: list[tuple[str, int]]
) -> None:
    state = tiny_state(seed=5)
    fake_hub_cache(tmp_path, "forensic-tests/kfd-tiny", {"open_clip_model.safetensors": state})
    tag = {"hf_hub": "forensic-tests/kfd-tiny/", "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda name, t: tag if (name, t) == ("kfd-tiny", "t") else {})
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    loaded = load_backbone("kfd-tiny", "t", cache_dir=str(tmp_path))
    assert backbone_sha256(loaded.clip) == backbone_sha256(load_backbone("kfd-tiny", None, seed=5).clip)
    assert loaded.identity == "kfd-tiny/t"
    assert tuple(loaded.preprocess["mean"]) == (0.5, 0.5, 0.5)  # the tag's normalisation is kept
    assert no_network == []


def test_a_cached_hub_id_loads_as_a_local_folder(tmp_path: Path, no_network: list[tuple[str, int]]) -> None:
    files = {"open_clip_config.json": {"model_cfg": TINY_CONFIG}, "open_clip_model.safetensors": tiny_state(seed=6)}
    fake_hub_cache(tmp_path, "forensic-tests/tiny-hub", files)
    loaded = load_backbone("hf-hub:forensic-tests/tiny-hub", None, cache_dir=str(tmp_path))
    assert backbone_sha256(loaded.clip) == backbone_sha256(load_backbone("kfd-tiny", None, seed=6).clip)
    assert loaded.identity == "hf-hub:forensic-tests/tiny-hub" and no_network == []


def test_an_uncached_hub_id_fails_at_once_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError, match="local folder"):
        load_backbone("hf-hub:forensic-tests/not-cached", None, cache_dir=str(tmp_path))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_local_checkpoint_file_loads(tmp_path: Path, suffix: str) -> None:
    state = tiny_state(seed=7)
    path = tmp_path / f"clip{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    loaded = load_backbone("kfd-tiny", str(path))
    assert backbone_sha256(loaded.clip) == backbone_sha256(load_backbone("kfd-tiny", None, seed=7).clip)


@pytest.mark.parametrize("prefix", ["", "local-dir:"])
def test_a_local_folder_loads(tmp_path: Path, prefix: str) -> None:
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIG}))
    save_file(tiny_state(seed=8), str(tmp_path / "open_clip_model.safetensors"))
    loaded = load_backbone(f"{prefix}{tmp_path}", "ignored")
    assert backbone_sha256(loaded.clip) == backbone_sha256(load_backbone("kfd-tiny", None, seed=8).clip)


def test_unknown_names_tags_and_paths_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean ViT-B-16"):
        load_backbone("ViT-B-61", None)
    with pytest.raises(ConfigError, match=r"known tags: .*openai"):
        load_backbone("ViT-B-16", "no-such-tag")
    with pytest.raises(MissingWeightsError, match="does not exist"):
        load_backbone("kfd-tiny", str(tmp_path / "missing.safetensors"))
    with pytest.raises(MissingWeightsError, match=r"no open_clip_config\.json"):
        load_backbone(str(tmp_path), None)


def test_device_and_precision_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="fp16"):
        KfdRuntime(tiny_settings(precision="fp16"))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            KfdRuntime(tiny_settings(device="cuda"))


def test_bf16_autocast_on_cpu_gives_close_scores() -> None:
    from .conftest import face_items

    items = face_items(2)
    exact = [a.score for a in KfdRuntime(tiny_settings()).analyse(items)]
    fast = [a.score for a in KfdRuntime(tiny_settings(precision="bf16")).analyse(items)]
    assert fast == pytest.approx(exact, abs=0.05)
