"""Overhead of ``forensic eval`` over ``forensic run`` on the same inputs and pipeline (target: at most 1.1x).

Both go through the same engine; eval adds reading the data (manifest), matching results to samples, metrics with
bootstrap intervals, predictions.csv, metrics.json and metrics.html (matplotlib); the steps are timed separately,
since the page's figures are a cost per evaluation that hardly grows with its size. The inputs are generated
splices, copy-moves and pristine twins (benchmarks/splices.py) and the pipeline is the default offline one
(classic detector with dq and ghost localizers), so the ratio is measured against real analysis work. Each
variant runs ``--repeat`` times alternately, in one process, after one warm-up run of each; the best times count.

Run: ``.venv/bin/python benchmarks/bench_eval.py [--photos 2] [--repeat 2] [--bootstrap 1000]``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from splices import CALIBRATION_PHOTOS, generate, write_set

from forensic_core.registry import get_registry
from forensic_core.runner import run_pipeline
from forensic_eval.harness import evaluate, load_eval_pipeline
from forensic_eval.running import RunOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--photos", type=int, default=2, help="photos of the splice set (15 images each)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of eval (its default)")
    args = parser.parse_args()
    registry = get_registry()
    work = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    try:
        manifest = write_set(work / "data", generate(0, photos=CALIBRATION_PHOTOS[: args.photos]))
        with manifest.open(newline="", encoding="utf-8") as handle:
            paths = [str((manifest.parent / row["path"]).resolve()) for row in csv.DictReader(handle)]
        pipeline = load_eval_pipeline(None, registry)

        def run_once() -> float:
            started = time.perf_counter()
            run_pipeline(pipeline, registry, paths, work / "run", overwrite=True)
            return time.perf_counter() - started

        def eval_once() -> tuple[float, dict[str, float]]:
            started = time.perf_counter()
            outcome = evaluate(
                manifest, None, registry, work / "eval", resamples=args.bootstrap, options=RunOptions(overwrite=True)
            )
            return time.perf_counter() - started, outcome.seconds

        run_once(), eval_once()  # warm-up: imports, matplotlib font cache
        runs, evals = [], []
        for _ in range(args.repeat):
            runs.append(run_once())
            evals.append(eval_once())
        best_run, (best_eval, steps) = min(runs), min(evals)
        n = len(paths)
        print(f"{n} images, default pipeline, {args.repeat} alternating repeats (best of each)")
        print(f"forensic run : {best_run:7.2f} s  ({best_run / n * 1000:6.1f} ms per sample)")
        print(f"forensic eval: {best_eval:7.2f} s  ({best_eval / n * 1000:6.1f} ms per sample)")
        overhead = (best_eval - best_run) / n * 1000
        print(f"eval / run   : {best_eval / best_run:7.3f}x (overhead {overhead:.1f} ms per sample)")
        print(
            f"eval steps   : run {steps['run']:.2f} s, metrics + predictions.csv + metrics.json "
            f"{steps['metrics']:.2f} s "
            f"({steps['metrics'] / n * 1000:.1f} ms per sample), metrics.html {steps['html']:.2f} s (once per eval)"
        )
        print(f"without html : {(best_eval - steps['html']) / best_run:7.3f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
