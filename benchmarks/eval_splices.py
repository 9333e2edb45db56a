"""Accuracy of the classic components on generated splices of real photos (see benchmarks/splices.py).

Prints, per localizer, the mean pixel AUC (pasted pixels vs. the rest) on splices and on copy-moves, per
compression scenario and overall, then the image-level AUC of the classic detector: forged vs. pristine images
that went through the same JPEG saves. Run: ``.venv/bin/python benchmarks/eval_splices.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forensic_classic import components
from forensic_classic.plugin import ClassicDetectorSettings, ElaSettings, GhostSettings, NoiseSettings
from forensic_classic.synthetic import pixel_auc, rank_auc
from splices import generate

from forensic_core import BuildContext, MediaItem

LOCALIZERS = {"ela": ElaSettings(), "noise": NoiseSettings(), "ghost": GhostSettings()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    context = BuildContext()
    builders = {"ela": components.build_ela, "noise": components.build_noise, "ghost": components.build_ghost}
    localizers = {name: builders[name](settings, context) for name, settings in LOCALIZERS.items()}
    detector = components.build_classic_detector(ClassicDetectorSettings(), context)

    pixel = defaultdict(list)  # (localizer, kind, scenario) -> AUCs
    scores = defaultdict(list)  # kind -> detector scores
    per_map = defaultdict(list)  # (map, kind) -> concentration
    for _, case in generate(args.seed):
        item = MediaItem(image=case.image, source=case.kind)
        scenario = f"host={case.params['host_quality']} donor={case.params.get('donor_quality', '-')} final={case.params['final_quality']}"
        if case.is_forged:
            for name, localizer in localizers.items():
                heat = localizer.localize([item])[0].heatmap
                pixel[(name, case.kind, scenario)].append(pixel_auc(heat, case.mask))
        detection = detector.detect([item])[0]
        scores[case.kind].append(detection.score)
        for name, value in detection.details["concentration"].items():
            per_map[(name, case.kind)].append(value)

    scenarios = sorted({key[2] for key in pixel})
    print("Pixel AUC (mean over images), per localizer")
    header = f"{'localizer':10s} {'kind':10s} " + " ".join(f"{s[:30]:>30s}" for s in scenarios) + f" {'all':>6s}"
    print(header)
    for name in LOCALIZERS:
        for kind in ("splice", "copy-move"):
            row = [np.mean(pixel[(name, kind, s)]) for s in scenarios]
            every = np.mean([v for s in scenarios for v in pixel[(name, kind, s)]])
            print(f"{name:10s} {kind:10s} " + " ".join(f"{v:30.3f}" for v in row) + f" {every:6.3f}")

    print("\nImage-level AUC vs. pristine (same JPEG saves)")
    for kind in ("splice", "copy-move"):
        labels = np.array([True] * len(scores[kind]) + [False] * len(scores["pristine"]))
        auc = rank_auc(np.array(scores[kind] + scores["pristine"]), labels)
        line = f"  detector 'classic' {kind:10s} AUC {auc:.3f}"
        for name in LOCALIZERS:
            values = np.array(per_map[(name, kind)] + per_map[(name, "pristine")])
            line += f" | {name} concentration alone {rank_auc(values, labels):.3f}"
        print(line)
    for kind in ("splice", "copy-move", "pristine"):
        values = np.array(scores[kind])
        print(
            f"  scores {kind:10s} mean {values.mean():.3f}  median {np.median(values):.3f}  >=0.5: {np.mean(values >= 0.5):.2f}"
        )
    for kind in ("splice", "copy-move", "pristine"):
        print(
            "  concentration "
            + kind
            + ": "
            + ", ".join(f"{name} median {np.median(per_map[(name, kind)]):.2f}" for name in LOCALIZERS)
        )


if __name__ == "__main__":
    main()
