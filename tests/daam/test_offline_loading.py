"""Offline pretrained weights come from the local hub cache (local_files_only); the environment is not written."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from forensic_core.errors import MissingWeightsError  # noqa: E402
from forensic_daam.loading import load_timm_model  # noqa: E402

REPO = "models--timm--vit_tiny_patch16_224.augreg_in21k_ft_in1k"


def fake_hub_cache(root, state):
    from safetensors.torch import save_file

    snapshot = root / REPO / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (root / REPO / "refs").mkdir()
    (root / REPO / "refs" / "main").write_text("0123abcd")
    save_file(state, str(snapshot / "model.safetensors"))


def test_offline_loads_cached_weights_without_touching_the_environment(tmp_path, monkeypatch):
    torch.manual_seed(3)
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=1)
    fake_hub_cache(tmp_path, {k: v.contiguous() for k, v in reference.state_dict().items()})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    before = dict(os.environ)
    model = load_timm_model("vit_tiny_patch16_224", depth=1)
    assert dict(os.environ) == before
    assert torch.equal(model.state_dict()["head.weight"], reference.state_dict()["head.weight"])


def test_unreachable_hub_does_not_put_the_process_offline(tmp_path, monkeypatch):
    import forensic_daam.loading as loading

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(loading, "hub_reachable", lambda timeout=1.5: False)
    with pytest.raises(MissingWeightsError, match="unreachable"):
        load_timm_model("vit_tiny_patch16_224", depth=1)
    assert "HF_HUB_OFFLINE" not in os.environ
