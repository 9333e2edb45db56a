"""KFD through the host's cross-input batching, and its inference settings (device batch, precision)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from forensic_core.config import load_pipeline
from forensic_core.runner import run_pipeline
from forensic_kfd import plugin
from forensic_kfd.runtime import KfdRuntime

from .conftest import TINY, face_items, tiny_settings


def inputs(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for index in range(count):
        shape = [(40, 48), (32, 32), (56, 40)][index % 3]
        Image.fromarray(rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)).save(folder / f"f{index:02d}.png")


def numbers_rounded(value: Any) -> Any:
    """Results with floats rounded to 3 places and without the hashes of float arrays (.npy): batched matrix
    products may differ in the last bits. The hashes of the PNG maps stay: those must be equal."""
    if isinstance(value, dict):
        return {k: numbers_rounded(v) for k, v in value.items() if k != "timings" and not k.endswith(".npy")}
    if isinstance(value, list):
        return [numbers_rounded(v) for v in value]
    return round(value, 3) if isinstance(value, float) else value


def test_batch_16_gives_the_scores_maps_and_report_of_batch_1(register_plugin, forensic_registry, tmp_path) -> None:
    register_plugin(plugin, name="forensic-kfd", version="0.1.0")
    inputs(tmp_path / "in", 20)
    settings = {**TINY, "batch_size": 16}
    document = {
        "detectors": [{"name": "kfd", "settings": settings}],
        "localizers": [{"name": "kfd", "settings": settings}],
    }
    pipeline = load_pipeline(document, forensic_registry)
    runs = {}
    for size in (1, 16):
        out = tmp_path / f"b{size}"
        outcome = run_pipeline(pipeline, forensic_registry, [tmp_path / "in"], out, batch_size=size, save_npy=True)
        assert outcome.summary.ok == 20
        runs[size] = json.loads((out / "report.json").read_text())["results"]
    one, many = runs[1], runs[16]
    assert [r["detections"][0]["score"] for r in many] == pytest.approx(
        [r["detections"][0]["score"] for r in one], abs=1e-5
    )
    assert numbers_rounded(many) == numbers_rounded(one)
    for a, b in zip(one, many, strict=True):
        heat_a = np.load(tmp_path / "b1" / a["localizations"][0]["heatmap_npy"])
        heat_b = np.load(tmp_path / "b16" / b["localizations"][0]["heatmap_npy"])
        assert np.allclose(heat_a, heat_b, atol=1e-4)


def test_the_runtime_asks_for_batches_on_cuda_only(tiny_runtime, monkeypatch) -> None:
    from forensic_kfd.components import KfdDetector

    detector = KfdDetector(tiny_runtime, tiny_runtime.settings)
    assert detector.preferred_batch_size == 1  # CPU: one input at a time measured no slower
    monkeypatch.setattr(tiny_runtime, "device", torch.device("cuda"))
    assert detector.preferred_batch_size == tiny_runtime.settings.batch_size


@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_the_precision_setting_decides_the_dtype_of_the_forward_pass(precision, dtype) -> None:
    runtime = KfdRuntime(tiny_settings(precision=precision))
    seen: list[torch.dtype] = []
    linear = next(m for name, m in runtime.model.clip.visual.named_modules() if name.endswith("mlp.c_fc"))
    handle = linear.register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    try:
        results = runtime.analyse(face_items(2), use_cache=False)
    finally:
        handle.remove()
    assert seen and set(seen) == {dtype}
    assert all(np.isfinite(r.score) and r.mask.dtype == np.float32 for r in results)
    runtime.close()
