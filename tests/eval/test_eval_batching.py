"""``forensic eval --batch-size``: the evaluation's run batches across samples and the metrics do not change."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forensic_core import ComponentSpec, Detection, MediaItem, hookimpl
from tests.eval.test_eval import image_manifest


class CountingBrightness:
    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        with self.lock:
            self.sizes.append(len(items))
        return [Detection.from_score(float(item.image.mean()) / 255.0, 0.5) for item in items]


def test_eval_batches_across_samples_with_the_same_metrics(
    eval_registry: Any, register_plugin: Any, forensic_cli: Any, tmp_path: Path
) -> None:
    detector = CountingBrightness()

    class Plugin:
        @hookimpl
        def forensic_register_detectors(self) -> list[ComponentSpec]:
            return [ComponentSpec("counting", "brightness, counting calls", factory=lambda s, ctx: detector)]

    register_plugin(Plugin(), "counting-plugin")
    data = image_manifest(tmp_path / "data")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [counting]\n", encoding="utf-8")
    one = forensic_cli("eval", str(data), "-p", str(pipeline), "-o", str(tmp_path / "one"), "--bootstrap", "0")
    assert one.exit_code == 0, one.output
    assert detector.sizes == [1] * 8
    detector.sizes.clear()
    many = forensic_cli(
        "eval", str(data), "-p", str(pipeline), "-o", str(tmp_path / "many"), "--bootstrap", "0", "--batch-size", "4"
    )
    assert many.exit_code == 0, many.output
    assert detector.sizes == [4, 4]
    metrics = [json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("one", "many")]
    assert metrics[0]["detectors"] == metrics[1]["detectors"]
