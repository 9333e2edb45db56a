"""Speed of the classic components on a 12-megapixel photo: seconds per megapixel, per component.

The photo is scikit-image's astronaut scaled to 4000 x 3000 with sensor-like noise, saved as JPEG (quality 90).
Each component runs with its default settings and a cold evidence cache, so every figure is its own full cost
(in a pipeline the classic detector reuses maps its sibling localizers already computed); the last line is the
recommended default set (dq and ghost localizers + classic detector) sharing one build context, then that set
with the adaptive-evidence ``fused`` localizer added (it reuses dq from the set and adds nadjpg).
Run: ``.venv/bin/python benchmarks/bench_classic.py [--width 4000 --height 3000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from forensic_classic import components
from forensic_classic.imaging import jpeg_roundtrip
from forensic_classic.plugin import ClassicDetectorSettings, FusedSettings
from forensic_core import BuildContext, MediaItem

DEFAULT_SET = ("dq", "ghost")


def test_photo(width: int, height: int) -> np.ndarray:
    import skimage.data

    base = Image.fromarray(skimage.data.astronaut()).resize((width, height), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 2.0, size=(height, width, 3)).astype(np.float32)
    noisy = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return jpeg_roundtrip(noisy, 90)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()

    item = MediaItem(image=test_photo(args.width, args.height), source="bench.jpg")
    megapixels = args.width * args.height / 1e6
    print(f"image {args.width} x {args.height} ({megapixels:.1f} MP)")
    total = 0.0
    for name in ("ela", "noise", "ghost", "dq", "nadjpg", "blindnoise"):
        localizer = getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](), None)
        start = time.perf_counter()
        localizer.localize([item])
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"  localizer {name:10s} {elapsed:6.2f} s  {elapsed / megapixels:6.3f} s/MP")
    fused = FusedSettings()
    start = time.perf_counter()
    components.build_fused(fused, None).localize([item])
    elapsed = time.perf_counter() - start
    evidence = " + ".join(fused.evidence)
    print(f"  localizer fused      {elapsed:6.2f} s  {elapsed / megapixels:6.3f} s/MP  ({evidence}, cold cache)")
    detector = components.build_classic_detector(ClassicDetectorSettings(), None)
    start = time.perf_counter()
    detector.detect([item])
    elapsed = time.perf_counter() - start
    evidence = ", ".join(ClassicDetectorSettings().evidence)
    print(f"  detector  classic {elapsed:6.2f} s  {elapsed / megapixels:6.3f} s/MP  (evidence: {evidence}, cold cache)")
    print(f"  all six localizers {total:6.2f} s  {total / megapixels:6.3f} s/MP")
    # The recommended default set in one pipeline: the detector reuses the localizers' maps (shared context).
    context = BuildContext()
    start = time.perf_counter()
    for name in DEFAULT_SET:
        getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](), context).localize([item])
    components.build_classic_detector(ClassicDetectorSettings(), context).detect([item])
    elapsed = time.perf_counter() - start
    print(f"  default set ({' + '.join(DEFAULT_SET)} + classic) {elapsed:6.2f} s  {elapsed / megapixels:6.3f} s/MP")
    context = BuildContext()
    start = time.perf_counter()
    for name in DEFAULT_SET:
        getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](), context).localize([item])
    components.build_fused(fused, context).localize([item])
    components.build_classic_detector(ClassicDetectorSettings(), context).detect([item])
    elapsed = time.perf_counter() - start
    label = f"default set + fused ({' + '.join(DEFAULT_SET)} + fused + classic)"
    print(f"  {label} {elapsed:6.2f} s  {elapsed / megapixels:6.3f} s/MP")


if __name__ == "__main__":
    main()
