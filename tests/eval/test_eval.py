"""``forensic eval`` end to end with predictable components: rows, metrics, video grouping, pixel metrics."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from forensic_eval.metrics import binary_metrics, pixel_metrics

from .conftest import write_image, write_video
from .test_readers import ffpp_tree

REALS = (10, 60, 120, 30)
FAKES = (200, 90, 230, 180)


def rows_of(outdir: Path) -> list[dict[str, str]]:
    with (outdir / "predictions.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def metrics_of(outdir: Path) -> dict[str, Any]:
    return json.loads((outdir / "metrics.json").read_text(encoding="utf-8"))


def image_manifest(root: Path) -> Path:
    lines = ["path,label"]
    for index, value in enumerate(REALS):
        write_image(root / f"real{index}.png", value)
        lines.append(f"real{index}.png,real")
    for index, value in enumerate(FAKES):
        write_image(root / f"fake{index}.png", value)
        lines.append(f"fake{index}.png,1")
    (root / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "data.csv"


def test_eval_compares_detectors_side_by_side(eval_registry: Any, forensic_cli: Any, tmp_path: Path) -> None:
    data = image_manifest(tmp_path / "data")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [bright, dark]\n", encoding="utf-8")
    result = forensic_cli("eval", str(data), "-p", str(pipeline), "-o", str(tmp_path / "out"), "--bootstrap", "50")
    assert result.exit_code == 0, result.output
    rows = rows_of(tmp_path / "out")
    assert list(rows[0]) == ["path", "frame", "label", "video", "method", "component", "score"]
    assert len(rows) == 8 * 2 and {r["frame"] for r in rows} == {""}
    metrics = metrics_of(tmp_path / "out")
    bright, dark = metrics["detectors"]["bright"]["frame"], metrics["detectors"]["dark"]["frame"]
    assert bright["auc"] == pytest.approx(15 / 16)  # 90 is the only fake below a real (120)
    assert dark["auc"] == pytest.approx(1 / 16)
    for name, block in (("bright", bright), ("dark", dark)):
        mine = [r for r in rows if r["component"] == name]
        labels = [int(r["label"] == "fake") for r in mine]
        scores = [float(r["score"]) for r in mine]
        expected = binary_metrics(labels, scores, threshold=0.5)
        assert {k: block[k] for k in expected} == pytest.approx(expected)
        assert block["auc"] == pytest.approx(roc_auc_score(labels, scores))
        low, high = block["auc_ci95"]
        assert low <= block["auc"] <= high
    assert metrics["detectors"]["bright"]["video"]["n"] == 0  # still images have no video key
    assert re.search(r"\nbright +frame +8 +0\.938 \[", result.output)
    assert re.search(r"\ndark +frame +8 +0\.062 \[", result.output)
    assert "frame: one score per image" in result.output
    page = (tmp_path / "out" / "metrics.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3  # one ROC plot (frame level) and two histograms
    assert "<td>bright</td><td>frame</td><td>8</td>" in page


def test_videos_are_grouped_by_their_full_relative_path(
    eval_registry: Any, forensic_cli: Any, tmp_path: Path, pipeline_file: Path
) -> None:
    ffpp_tree(tmp_path / "ffpp")
    data = tmp_path / "data.yaml"
    data.write_text("datasets:\n  - name: ffpp\n    settings: {root: ffpp, split: test, frames: 2}\n", encoding="utf-8")
    result = forensic_cli("eval", str(data), "-p", str(pipeline_file), "-o", str(tmp_path / "out"), "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    rows = [r for r in rows_of(tmp_path / "out") if r["component"] == "bright"]
    assert len(rows) == 6 * 2  # 2 reals + 000_001 and 001_000 under 2 methods, 2 frames each (dataset's frames)
    assert sorted({r["frame"] for r in rows}) == ["0", "1"]
    metrics = metrics_of(tmp_path / "out")
    assert metrics["frames_per_video"] == 2
    video = metrics["detectors"]["bright"]["video"]
    assert video["n"] == 6  # the same file name under Deepfakes and FaceSwap is two videos
    means: dict[str, tuple[int, list[float]]] = {}
    for row in rows:
        means.setdefault(row["video"], (int(row["label"] == "fake"), []))[1].append(float(row["score"]))
    labels = [label for label, _ in means.values()]
    scores = [float(np.mean(values)) for _, values in means.values()]
    expected = binary_metrics(labels, scores, threshold=0.5)
    assert {k: video[k] for k in expected} == pytest.approx(expected)
    flagged = np.asarray(scores) >= 0.5
    assert video["tpr"] == pytest.approx(flagged[np.asarray(labels) == 1].mean())
    assert video["fpr"] == pytest.approx(flagged[np.asarray(labels) == 0].mean())
    assert video["auc_ci95"] is None  # --bootstrap 0
    methods = metrics["detectors"]["bright"]["methods"]
    assert sorted(methods) == ["Deepfakes", "FaceSwap"]
    assert methods["Deepfakes"]["video"]["n"] == 4 and methods["Deepfakes"]["video"]["n_fake"] == 2
    assert methods["Deepfakes"]["frame"]["n"] == 8
    # Deepfakes/000_001 has an all-white mask video: its 2 sampled frames are scored at the frames the run read
    assert metrics["localizers"]["red"] == {"n": 2, "pixel_auc": None, "iou": 1.0}


def test_pixel_metrics_of_a_localizer(eval_registry: Any, forensic_cli: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    lines = ["path,label,mask"]
    masks, heats = [], []
    for index in range(3):
        mask = np.zeros((24, 32), dtype=np.uint8)
        mask[4 + index : 14, 6 : 20 + index] = 255
        red = np.where(mask > 0, 230, 40).astype(np.uint8)
        red = np.clip(red.astype(int) + rng.integers(-120, 120, red.shape), 0, 255).astype(np.uint8)
        write_image(tmp_path / f"f{index}.png", 100, red=red)
        Image.fromarray(mask).save(tmp_path / f"f{index}_mask.png")
        lines.append(f"f{index}.png,fake,f{index}_mask.png")
        masks.append(mask)
        heats.append(red.astype(np.float32) / 255.0)
    write_image(tmp_path / "r.png", 100)
    lines.append("r.png,real,")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("localizers: [red]\n", encoding="utf-8")
    result = forensic_cli("eval", str(tmp_path / "m.csv"), "-p", str(pipeline), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    got = metrics_of(tmp_path / "out")["localizers"]["red"]
    assert got == pytest.approx(pixel_metrics(masks, heats))
    assert got["n"] == 3 and 0.5 < got["iou"] < 1.0
    assert re.search(r"\nred +pixel +3 ", result.output)


def test_data_file_errors_name_the_key(eval_registry: Any, forensic_cli: Any, tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("datasets:\n  - name: ffpp\n    settings: {roo: x}\n", encoding="utf-8")
    result = forensic_cli("eval", str(data), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "datasets[0].settings.roo: Extra inputs are not permitted" in result.output
    data.write_text("datasets:\n  - name: ffqq\n", encoding="utf-8")
    result = forensic_cli("eval", str(data), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "ffqq" in result.output
    result = forensic_cli("eval", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "absent.csv: not found" in result.output


def test_datasets_that_disagree_on_frames_are_refused(eval_registry: Any, forensic_cli: Any, tmp_path: Path) -> None:
    write_video(tmp_path / "a" / "real" / "r.avi", [10, 20])
    write_video(tmp_path / "b" / "fake" / "f.avi", [10, 20])
    data = tmp_path / "data.yaml"
    data.write_text(
        "datasets:\n"
        "  - {name: folder, settings: {root: a, frames: 2}}\n"
        "  - {name: folder, settings: {root: b, frames: 4}}\n",
        encoding="utf-8",
    )
    result = forensic_cli("eval", str(data), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "different frames per video (2, 4)" in result.output
