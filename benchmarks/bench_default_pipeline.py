"""Seconds per megapixel of the default pipeline (what ``forensic run photo.jpg`` does) on a 12-megapixel photo.

    python benchmarks/bench_default_pipeline.py [--repeats 3] [--width 4000 --height 3000]

The photo is scikit-image's astronaut resized to 4000 x 3000 with sensor-like noise, saved as JPEG q90. Reports the
median wall time of the whole run (opening, faces, localizers, detector, writing the report) and the time of each
component, from the report's own timings. Components are built once, as in a real run over many inputs; every run
gets a different photo (other noise), so no cache can answer; the first (cold) run is reported separately.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_photo(path: Path, width: int, height: int, seed: int) -> None:
    from skimage import data

    rng = np.random.default_rng(seed)
    big = np.asarray(Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BICUBIC), np.float32)
    big += rng.normal(0, 2.0, big.shape).astype(np.float32)
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()

    from forensic_core.config import load_pipeline
    from forensic_core.defaults import default_pipeline
    from forensic_core.registry import Registry
    from forensic_core.runner import run_pipeline

    registry = Registry.discover()
    pipeline = load_pipeline(default_pipeline(registry), registry)
    megapixels = args.width * args.height / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        photos = [Path(tmp) / f"photo{index}.jpg" for index in range(args.repeats + 1)]
        for index, photo in enumerate(photos):
            make_photo(photo, args.width, args.height, seed=index)
        start = time.perf_counter()
        report = run_pipeline(pipeline, registry, [str(p) for p in photos], Path(tmp) / "out", fail_fast=True)
        total = time.perf_counter() - start
        results = list(report.results)
    assert all(result.status == "ok" for result in results), [result.error for result in results]
    timings = [result.timings for result in results]
    runs = [t.get("total", 0.0) for t in timings]
    build_seconds = total - sum(runs)
    warm = runs[1:]
    print(f"default pipeline: {', '.join(e.role + ':' + e.label for e in pipeline.entries())}")
    size = f"{args.width}x{args.height} ({megapixels:.1f} MP)"
    print(f"photo: {size}; outside the inputs (build, report) {build_seconds:.2f} s")
    print(f"{'step':<24}{'median s':>10}{'s/MP':>8}")
    for key in timings[-1]:
        values = [t.get(key, 0.0) for t in timings[1:]]
        seconds = statistics.median(values)
        print(f"{key:<24}{seconds:>10.3f}{seconds / megapixels:>8.3f}")
    print(f"{'whole input (warm)':<24}{statistics.median(warm):>10.3f}{statistics.median(warm) / megapixels:>8.3f}")
    print(f"{'whole input (cold)':<24}{runs[0]:>10.3f}{runs[0] / megapixels:>8.3f}")


if __name__ == "__main__":
    main()
