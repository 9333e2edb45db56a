"""``forensic eval`` as a function: data + pipeline -> predictions.csv, metrics.json, metrics.html.

The pipeline runs through the core (so its engine, journal and per-input isolation apply) into ``OUTDIR/run``;
this module only matches results to samples (by ``InputResult.source``, the input path as given) and scores them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensic_core.errors import ConfigError
from forensic_core.pipeline import Pipeline
from forensic_core.registry import Registry
from forensic_eval.data import collect_samples, common_frames, load_data
from forensic_eval.evaluate import LEVELS, detector_metrics, localizer_metrics, predictions, write_predictions
from forensic_eval.running import RunOptions, run_and_read


@dataclass
class EvalOutcome:
    """What one evaluation wrote and found, and the seconds its steps took (run, metrics with the CSV and JSON
    files, html)."""

    metrics: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    stopped_by: str | None = None
    exit_code: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def load_eval_pipeline(pipeline_path: Path | None, registry: Registry, frames: int | None = None) -> Pipeline:
    """The pipeline file (or the built-in default pipeline of ``forensic run``), with ``video.frames`` set to
    ``frames`` when given.

    The override goes into the pipeline's mapping, which is validated again, so the pipeline's digest (and what
    a worker of another engine rebuilds) includes it, and ``--resume`` refuses a run made with other frames.
    """
    from forensic_core.config import load_pipeline, read_pipeline_file
    from forensic_core.defaults import default_pipeline

    if pipeline_path is not None:
        pipeline = load_pipeline(pipeline_path, registry)
        if frames is None or frames == pipeline.video.frames:
            return pipeline
        data = read_pipeline_file(pipeline_path)
    else:
        data = default_pipeline(registry)
    if frames is not None:
        data = {**data, "video": {**(data.get("video") or {}), "frames": frames}}
    source = str(pipeline_path) if pipeline_path is not None else "(default)"
    base_dir = Path(pipeline_path).resolve().parent if pipeline_path is not None else None
    return dataclasses.replace(load_pipeline(data, registry, base_dir=base_dir), source=source)


def evaluate(
    data: Path,
    pipeline_path: Path | None,
    registry: Registry,
    outdir: Path,
    *,
    resamples: int = 1000,
    options: RunOptions | None = None,
    html: bool = True,
) -> EvalOutcome:
    """Evaluate the pipeline on the datasets ``data`` names and write the outputs into ``outdir``.

    When the run is stopped by a signal, nothing but the run is written: ``--resume`` continues it.
    """
    options = options or RunOptions()
    datasets = load_data(data, registry)
    samples = collect_samples(datasets)
    pipeline = load_eval_pipeline(pipeline_path, registry, common_frames(datasets))
    if not pipeline.detectors and not pipeline.localizers:
        raise ConfigError(f"{pipeline.source}: the pipeline has no detector or localizer to evaluate")
    outdir.mkdir(parents=True, exist_ok=True)
    run_dir = outdir / "run"
    started = time.perf_counter()
    run = run_and_read(pipeline, registry, [s.path for s in samples], run_dir, options)
    seconds = {"run": time.perf_counter() - started}
    results = run.results
    errors = [
        (s.path, results[s.path].error or "failed") for s in samples if s.path in results and results[s.path].error
    ]
    errors += [(s.path, "not analysed") for s in samples if s.path not in results]
    if run.stopped_by is not None:
        return EvalOutcome({}, [], errors, run.stopped_by, run.exit_code)
    started = time.perf_counter()
    rows = predictions(samples, results)
    metrics: dict[str, Any] = {
        "data": str(data),
        "pipeline": pipeline.source,
        "datasets": [d.name for d in datasets],
        "samples": len(samples),
        "videos": len({s.video for s in samples if s.video is not None}),
        "frames_per_video": pipeline.video.frames,
        "errors": len(errors),
        "levels": LEVELS,
        "accuracy_threshold": "each detector's own threshold (the one its labels use)",
        "detectors": detector_metrics(rows, resamples=resamples),
        "localizers": localizer_metrics(samples, results, run_dir),
    }
    files = [outdir / "predictions.csv", outdir / "metrics.json"]
    write_predictions(rows, files[0])
    files[1].write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    seconds["metrics"] = time.perf_counter() - started
    if html:
        from forensic_eval.html import write_html

        started = time.perf_counter()
        files.append(write_html(metrics, rows, outdir / "metrics.html"))
        seconds["html"] = time.perf_counter() - started
    return EvalOutcome(metrics, files, errors, seconds=seconds)
