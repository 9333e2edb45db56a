"""Accuracy of the classic components on generated splices of real photos (see benchmarks/splices.py).

Prints, per localizer, the mean pixel AUC (pasted pixels vs. the rest) on splices and on copy-moves, per
compression scenario (host+donor>final JPEG qualities; "png" = lossless host) and overall, then the image-level
AUC of the classic detector: forged vs. pristine images that went through the same JPEG saves.
Run: ``.venv/bin/python benchmarks/eval_splices.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from splices import SCENARIOS, generate, scenario_label

from forensic_classic import components
from forensic_classic.plugin import ClassicDetectorSettings
from forensic_classic.scoring import combine
from forensic_classic.synthetic import pixel_auc, rank_auc
from forensic_core import BuildContext, MediaItem

MAPS = ("dq", "ghost", "nadjpg", "blindnoise", "noise", "ela")
KINDS = ("splice", "copy-move")
# Evidence sets compared at image level: each map alone, then combinations (score = max of per-map scores).
COMBOS = (*((name,) for name in MAPS), ("dq", "ghost"), ("dq", "ghost", "nadjpg"), ("dq", "ghost", "blindnoise"))
COMBOS += (("dq", "ghost", "nadjpg", "blindnoise"), ("dq", "nadjpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    context = BuildContext()
    localizers = {
        name: getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](), context) for name in MAPS
    }
    detector = components.build_classic_detector(ClassicDetectorSettings(), context)
    # Every map's concentration, from the maps the localizers already computed (shared cache).
    probe = components.build_classic_detector(ClassicDetectorSettings(evidence=MAPS), context)

    pixel: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    concentration: dict[tuple[str, str], list[float]] = defaultdict(list)
    for label, case in generate(args.seed):
        item = MediaItem(image=case.image, source=case.kind)
        if case.is_forged:
            for name, localizer in localizers.items():
                pixel[(name, case.kind, label)].append(pixel_auc(localizer.localize([item])[0].heatmap, case.mask))
        scores[case.kind].append(detector.detect([item])[0].score)
        for name, value in probe.detect([item])[0].details["concentration"].items():
            concentration[(name, case.kind)].append(value)

    labels = [scenario_label(s) for s in SCENARIOS]
    print("Pixel AUC, mean over photos (scenario = host+donor>final JPEG quality)")
    print(f"{'map':6s} {'kind':10s}" + "".join(f"{label:>12s}" for label in labels) + f"{'all':>8s}")
    for name in MAPS:
        for kind in KINDS:
            row = "".join(f"{np.mean(pixel[(name, kind, label)]):12.3f}" for label in labels)
            overall = np.mean([v for label in labels for v in pixel[(name, kind, label)]])
            print(f"{name:6s} {kind:10s}{row}{overall:8.3f}")

    print("\nPristine concentration, 90th percentile (the scoring references sit near these):")
    print("  " + ", ".join(f"{name} {np.percentile(concentration[(name, 'pristine')], 90):.2f}" for name in MAPS))
    print("\nImage-level AUC vs. pristine photos with the same JPEG saves")
    for kind in KINDS:
        truth = np.array([True] * len(scores[kind]) + [False] * len(scores["pristine"]))
        line = f"  {kind:10s} detector 'classic' {rank_auc(np.array(scores[kind] + scores['pristine']), truth):.3f}"
        print(line)
        for combo in COMBOS:
            combined = [
                combine({name: concentration[(name, k)][i] for name in combo}, 0.25)[0]
                for k in (kind, "pristine")
                for i in range(len(concentration[(combo[0], k)]))
            ]
            print(f"    evidence {' + '.join(combo):28s} {rank_auc(np.array(combined), truth):.3f}")
    for kind in (*KINDS, "pristine"):
        values = np.array(scores[kind])
        medians = ", ".join(f"{name} {np.median(concentration[(name, kind)]):.2f}" for name in MAPS)
        print(
            f"  {kind:10s} score median {np.median(values):.3f}, labelled fake {np.mean(values >= 0.5):.0%};"
            f" median concentration: {medians}"
        )


if __name__ == "__main__":
    main()
