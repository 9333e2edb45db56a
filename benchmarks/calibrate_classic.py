"""Calibrate the classic detector's references at a stated false-positive rate on pristine photos, with forensic eval.

1. Writes two disjoint sets of generated splices, copy-moves and pristine twins (benchmarks/splices.py): the
   calibration set (``CALIBRATION_PHOTOS``, seed N) and the held-out set (``HELD_OUT_PHOTOS``, seed N + 1;
   astronaut, the demo's host photo, is only in this one).
2. Runs ``forensic eval`` (the harness, through the engine) with the default classic detector on both.
3. Fits the references of the default evidence (dq, ghost): the references in forensic_classic.scoring scaled by
   one factor k (their ratio kept), the smallest that makes the detector flag at most ``--fpr`` of the
   calibration set's *pristine* photos. A photo is flagged (score >= 0.5) exactly when some map's concentration
   reaches its reference, so k is read off max(concentration / reference) over the pristine photos. k is rounded
   up to 0.01, which can only lower the false-positive rate; with the references already fitted, k is 1.00.
4. Reports, for the references in forensic_classic.scoring now and for the fitted ones, the false-positive rate
   on pristine photos and the true-positive rate on forgeries, on both sets; and draws OUT/calibration.png
   (held-out score histograms and both rates against the threshold).

Run: ``.venv/bin/python benchmarks/calibrate_classic.py [--out DIR] [--fpr 0.05] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from splices import CALIBRATION_PHOTOS, HELD_OUT_PHOTOS, generate, write_set

from forensic_classic.scoring import REFERENCE
from forensic_core.registry import get_registry
from forensic_eval.harness import evaluate
from forensic_eval.running import RunOptions

EVIDENCE = ("dq", "ghost")


def concentrations(outdir: Path, manifest: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-map concentrations [n x maps], labels 1 = forged, scores) of the classic detector's run."""
    import csv

    from forensic_core.journal import read_results

    labels = {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels[str((manifest.parent / row["path"]).resolve())] = int(row["label"] == "fake")
    rows, y, scores = [], [], []
    for result in read_results(outdir / "run"):
        detection = next(d for d in result.detections if d.component == "classic")
        rows.append([detection.details["concentration"][name] for name in EVIDENCE])
        y.append(labels[result.source])
        scores.append(detection.score)
    return np.asarray(rows), np.asarray(y), np.asarray(scores)


def flagged(values: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Score >= 0.5 exactly when some map's concentration reaches its reference (the logistic's centre)."""
    return (values / references >= 1.0).any(axis=1)


def fit(values: np.ndarray, labels: np.ndarray, references: np.ndarray, fpr: float) -> float:
    """The smallest k (to 0.01) with at most ``fpr`` of the pristine photos flagged by ``references * k``."""
    ratios = np.sort((values[labels == 0] / references).max(axis=1))[::-1]
    allowed = int(np.floor(fpr * len(ratios) + 1e-9))
    k = math.floor(ratios[allowed] * 100) / 100 + 0.01 if allowed < len(ratios) else 0.01
    while (ratios >= k).mean() > fpr:
        k += 0.01
    return round(k, 2)


def rates(values: np.ndarray, labels: np.ndarray, references: np.ndarray) -> tuple[float, float]:
    hit = flagged(values, references)
    return float(hit[labels == 0].mean()), float(hit[labels == 1].mean())


def plot(path: Path, sets: dict[str, tuple[np.ndarray, np.ndarray]], fpr: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    scores, labels = sets["held-out"]
    bins = np.linspace(0, 1, 41)
    left.hist(scores[labels == 0], bins=bins, alpha=0.6, color="#2a7", label=f"pristine ({(labels == 0).sum()})")
    left.hist(scores[labels == 1], bins=bins, alpha=0.6, color="#c33", label=f"forged ({(labels == 1).sum()})")
    left.axvline(0.5, color="#333", linestyle="--", label="threshold 0.5")
    left.set(xlabel="classic score", ylabel="images", title="held-out set, image level")
    left.legend()
    grid = np.linspace(0, 1, 201)
    for (name, (s, y)), style in zip(sets.items(), ("-", ":"), strict=True):
        right.plot(grid, [(s[y == 0] >= t).mean() for t in grid], "g" + style, label=f"FPR, {name}")
        right.plot(grid, [(s[y == 1] >= t).mean() for t in grid], "r" + style, label=f"TPR, {name}")
    right.axhline(fpr, color="#999", linewidth=0.8)
    right.axvline(0.5, color="#333", linestyle="--")
    right.set(xlabel="threshold", ylabel="rate", title="rates against the threshold (image level)")
    right.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/calibrate-classic"))
    parser.add_argument("--fpr", type=float, default=0.10, help="false-positive rate on pristine photos")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipeline = args.out / "classic.yaml"
    args.out.mkdir(parents=True, exist_ok=True)
    pipeline.write_text("detectors: [classic]\n", encoding="utf-8")
    registry = get_registry()
    found: dict[str, Any] = {}
    for name, photos, seed in (
        ("calibration", CALIBRATION_PHOTOS, args.seed),
        ("held-out", HELD_OUT_PHOTOS, args.seed + 1),
    ):
        manifest = write_set(args.out / name / "data", generate(seed, photos=photos))
        outdir = args.out / name / "eval"
        outcome = evaluate(
            manifest, pipeline, registry, outdir, resamples=200, options=RunOptions(overwrite=True), html=True
        )
        found[name] = (*concentrations(outdir, manifest), outcome.metrics["detectors"]["classic"]["frame"])
    current = np.array([REFERENCE[name] for name in EVIDENCE])
    k = fit(found["calibration"][0], found["calibration"][1], current, args.fpr)
    fitted = np.round(current * k, 2)
    print(f"target: at most {args.fpr:.0%} of pristine calibration photos flagged (score >= 0.5)")
    print(f"fitted: k = {k:.2f}, references ", end="")
    print(", ".join(f"{name} {value:.2f}" for name, value in zip(EVIDENCE, fitted, strict=True)))
    print(f"{'set':12s} {'references':22s} {'n pristine':>10s} {'n forged':>9s} {'FPR':>6s} {'TPR':>6s}")
    for name, (values, labels, _scores, _block) in found.items():
        for label, references in (("in scoring.py", current), ("fitted", fitted)):
            fp, tp = rates(values, labels, references)
            text = f"{label} " + "/".join(f"{r:.2f}" for r in references)
            print(f"{name:12s} {text:22s} {(labels == 0).sum():10d} {(labels == 1).sum():9d} {fp:6.3f} {tp:6.3f}")
    for name, (_values, _labels, _scores, block) in found.items():
        low, high = block["auc_ci95"]
        print(
            f"forensic eval, {name}: image-level AUC {block['auc']:.3f} [{low:.3f}, {high:.3f}], "
            f"FPR@0.5 {block['fpr']:.3f}, TPR@0.5 {block['tpr']:.3f} (references in scoring.py)"
        )
    plot(args.out / "calibration.png", {k: (v[2], v[1]) for k, v in found.items()}, args.fpr)
    print(f"plot: {args.out / 'calibration.png'}; pages: {args.out}/*/eval/metrics.html")


if __name__ == "__main__":
    main()
