"""Refit the learned classic detector on the project's photo kit: one command, same coefficients every run.

    .venv/bin/python benchmarks/fit_classic.py

1. Generates the photo kit (forensic_classic.photokit, seed 0) into ``--kit`` unless its kit.csv is there:
   scikit-image's and matplotlib's photos, plus opencv-doc's when installed (``apt-get install opencv-doc``; the
   shipped model was fitted with it), 512 px, split by source into fit and held-out halves.
2. Computes every image's features (cached in ``--cache`` by image digest; ~0.35 s per image on one core).
3. Fits the logistic model and its Platt calibration on the fit half (forensic_classic.fitting), measures it on
   the held-out half (image AUC, false- and true-positive rates at 0.5, AUC per manipulation), stores those
   figures in the model and writes it to ``--out`` (default: the model shipped in the plugin).

The ``forensic eval`` comparison with the heuristic detector on the held-out half is then

    forensic eval KIT/manifest-held-out.csv -p benchmarks/classic_verdicts.yaml -o OUT

(kept separate: it recomputes every map through the engine, ~4 minutes).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from forensic_classic import photokit
from forensic_classic.fitting import fit_model, kit_features, write_model
from forensic_classic.learned import MODEL_FILE, LearnedModel
from forensic_classic.synthetic import rank_auc


def held_out_figures(model: LearnedModel, features: np.ndarray, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Image AUC, rates at 0.5 and per-manipulation AUC (all twins against that method's edits)."""
    scores = np.array([model.probability(x) for x in features])
    edited = np.array([row["label"] == "fake" for row in rows])
    per_method = {}
    for method in sorted({row["method"] for row in rows if row["method"]}):
        pick = np.array([(not e) or row["method"] == method for e, row in zip(edited, rows, strict=True)])
        per_method[method] = {
            "auc": round(rank_auc(scores[pick], edited[pick]), 4),
            "tpr_at_0.5": round(float((scores[pick & edited] >= 0.5).mean()), 4),
            "n": int((pick & edited).sum()),
        }
    single = np.array(["+" not in row["history"] for row in rows])
    by_history = {
        name: round(rank_auc(scores[mask], edited[mask]), 4) for name, mask in (("single", single), ("double", ~single))
    }
    return {
        "images": len(rows),
        "auc": round(rank_auc(scores, edited), 4),
        "fpr_at_0.5": round(float((scores[~edited] >= 0.5).mean()), 4),
        "tpr_at_0.5": round(float((scores[edited] >= 0.5).mean()), 4),
        "auc_by_jpeg": by_history,
        "methods": per_method,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kit", type=Path, default=Path("benchmarks/results/photokit"))
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (default: KIT/features.npz)")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument(
        "--opencv-doc", type=Path, default=photokit.OPENCV_DOC, help="opencv-doc's examples/data folder, if installed"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the kit generator")
    parser.add_argument("--regularisation", type=float, default=0.3, help="inverse L2 strength C")
    parser.add_argument(
        "--target-fpr", type=float, default=0.10, help="share of out-of-fold pristine images that 0.5 may flag"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    kit_csv = args.kit / "kit.csv"
    if not kit_csv.is_file():
        photos = photokit.load_photos(opencv_doc=args.opencv_doc)
        photokit.write_kit(args.kit, photokit.generate(photos, seed=args.seed))
        print(f"kit: {len(photos)} source photos -> {args.kit}")
    rows = photokit.read_manifest(kit_csv)
    features = kit_features(args.kit, rows, args.cache or args.kit / "features.npz")
    fit = np.array([row["split"] == "fit" for row in rows])
    labels = np.array([row["label"] == "fake" for row in rows], dtype=int)
    model = fit_model(
        features[fit],
        labels[fit],
        [row["source"] for row, keep in zip(rows, fit, strict=True) if keep],
        regularisation=args.regularisation,
        target_fpr=args.target_fpr,
    )
    held = [row for row, keep in zip(rows, fit, strict=True) if not keep]
    model["held_out"] = held_out_figures(LearnedModel.from_json(model), features[~fit], held)
    model["held_out"]["sources"] = len({row["source"] for row in held})
    write_model(model, args.out)
    figures = model["held_out"]
    print(f"fit: {model['fit']}")
    print(
        f"held-out: {figures['images']} images from {figures['sources']} photos, AUC {figures['auc']:.3f}, "
        f"FPR@0.5 {figures['fpr_at_0.5']:.3f}, TPR@0.5 {figures['tpr_at_0.5']:.3f}, by JPEG {figures['auc_by_jpeg']}"
    )
    for method, block in figures["methods"].items():
        print(f"  {method:13s} AUC {block['auc']:.3f}  TPR@0.5 {block['tpr_at_0.5']:.3f}  (n={block['n']})")
    print(f"model: {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
