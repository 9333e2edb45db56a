"""Memory of the report step (report.json + report.html from the journal) as the number of inputs grows.

    python benchmarks/bench_report_memory.py [--counts 30 300] [--size 256]

Each count runs the weights-free classic pipeline (detector ``classic``, localizer ``dq``) over generated JPEG
photos, then measures the peak Python allocation (tracemalloc) while report.json and the HTML are assembled from
the journal. Flat memory means the ratio between counts stays near 1 (the index page of a large run holds one
table row per input, a few hundred bytes each). Also prints the process's peak RSS for the whole run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

import forensic_core.runner as runner
from forensic_core.config import load_pipeline
from forensic_core.registry import Registry


def make_inputs(folder: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    base = np.linspace(0, 255, size, dtype=np.float32)
    for index in range(count):
        noise = rng.normal(0, 12, size=(size, size, 3))
        pixels = np.clip(base[None, :, None] * 0.7 + noise + index % 50, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo{index:05d}.jpg", quality=85)


def measure(count: int, size: int, workdir: Path) -> tuple[float, float, float]:
    inputs, outdir = workdir / f"in{count}", workdir / f"out{count}"
    make_inputs(inputs, count, size)
    registry = Registry.discover()
    pipeline = load_pipeline({"detectors": ["classic"], "localizers": ["dq"]}, registry)
    peak: dict[str, float] = {}
    original = runner.assemble

    def traced(report, registry_, outdir_):  # type: ignore[no-untyped-def]
        tracemalloc.start()
        start = time.perf_counter()
        try:
            return original(report, registry_, outdir_)
        finally:
            peak["seconds"] = time.perf_counter() - start
            peak["bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    runner.assemble = traced
    try:
        runner.run_pipeline(pipeline, registry, [inputs], outdir)
    finally:
        runner.assemble = original
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak["bytes"] / 2**20, peak["seconds"], rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(count, *measure(count, args.size, Path(tmp))) for count in args.counts]
    first = rows[0][1]
    print(f"{'inputs':>7} {'report-step peak MiB':>21} {'ratio':>6} {'report-step s':>14} {'process max RSS MiB':>20}")
    for count, mib, seconds, rss in rows:
        print(f"{count:>7} {mib:>21.2f} {mib / first:>6.2f} {seconds:>14.2f} {rss:>20.0f}")


if __name__ == "__main__":
    main()
