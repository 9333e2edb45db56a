"""Accuracy of the classic components on generated splices of real photos (see benchmarks/splices.py).

Prints, per localizer (the six maps, then the adaptive-evidence ``fused`` localizer in a few configurations), the
mean pixel AUC (pasted pixels vs. the rest) on splices and on copy-moves, per
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
from forensic_classic.plugin import ClassicDetectorSettings, FusedSettings
from forensic_classic.scoring import combine
from forensic_classic.scoring import concentration as concentration_of
from forensic_classic.synthetic import pixel_auc, rank_auc
from forensic_core import BuildContext, MediaItem

MAPS = ("dq", "ghost", "nadjpg", "blindnoise", "noise", "ela")
KINDS = ("splice", "copy-move")
# Evidence sets compared at image level: each map alone, then combinations (score = max of per-map scores).
COMBOS = (*((name,) for name in MAPS), ("dq", "ghost"), ("dq", "ghost", "nadjpg"), ("dq", "ghost", "blindnoise"))
COMBOS += (("dq", "ghost", "nadjpg", "blindnoise"), ("dq", "nadjpg"))
# The fused localizer: its default (dq anchor + nadjpg), without the anchor, and with more evidence maps.
FUSED = {
    "fused": FusedSettings(),
    "fused anchor=None": FusedSettings(anchor=None),
    "fused +blindnoise": FusedSettings(evidence=("dq", "nadjpg", "blindnoise")),
    "fused +ghost": FusedSettings(evidence=("dq", "nadjpg", "ghost")),
    "fused all four": FusedSettings(evidence=("dq", "nadjpg", "blindnoise", "ghost")),
    "fused all, anchor=None": FusedSettings(evidence=("dq", "nadjpg", "blindnoise", "ghost"), anchor=None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    context = BuildContext()
    localizers = {
        name: getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](), context) for name in MAPS
    }
    localizers |= {name: components.build_fused(settings, context) for name, settings in FUSED.items()}
    detector = components.build_classic_detector(ClassicDetectorSettings(), context)
    # Every map's concentration, from the maps the localizers already computed (shared cache).
    probe = components.build_classic_detector(ClassicDetectorSettings(evidence=MAPS), context)

    pixel: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    concentration: dict[tuple[str, str], list[float]] = defaultdict(list)
    fused_concentration: dict[str, list[float]] = defaultdict(list)
    for label, case in generate(args.seed):
        item = MediaItem(image=case.image, source=case.kind)
        for name, localizer in localizers.items():
            heatmap = localizer.localize([item])[0].heatmap
            if case.is_forged:
                pixel[(name, case.kind, label)].append(pixel_auc(heatmap, case.mask))
            if name == "fused":  # as detector evidence: the concentration of the fused heat (one value per cell)
                fused_concentration[case.kind].append(concentration_of(heatmap[4::8, 4::8], 0.2))
        scores[case.kind].append(detector.detect([item])[0].score)
        for name, value in probe.detect([item])[0].details["concentration"].items():
            concentration[(name, case.kind)].append(value)

    labels = [scenario_label(s) for s in SCENARIOS]
    print("Pixel AUC, mean over photos (scenario = host+donor>final JPEG quality)")
    print(f"{'map':22s} {'kind':10s}" + "".join(f"{label:>12s}" for label in labels) + f"{'all':>8s}")
    for name in localizers:
        for kind in KINDS:
            row = "".join(f"{np.mean(pixel[(name, kind, label)]):12.3f}" for label in labels)
            overall = np.mean([v for label in labels for v in pixel[(name, kind, label)]])
            print(f"{name:22s} {kind:10s}{row}{overall:8.3f}")

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
        fused = np.array(fused_concentration[kind] + fused_concentration["pristine"])
        print(f"    concentration of the fused heat        {rank_auc(fused, truth):.3f}")
    for kind in (*KINDS, "pristine"):
        values = np.array(scores[kind])
        medians = ", ".join(f"{name} {np.median(concentration[(name, kind)]):.2f}" for name in MAPS)
        print(
            f"  {kind:10s} score median {np.median(values):.3f}, labelled fake {np.mean(values >= 0.5):.0%};"
            f" median concentration: {medians}"
        )


if __name__ == "__main__":
    main()
