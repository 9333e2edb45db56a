"""Running a pipeline over inputs: streaming, per-input isolation, video aggregation, dialog, report.

Memory does not grow with the number of inputs: each input's arrays are written to disk and dropped before the
next input is opened; only the small JSON records stay in memory.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TextIO

from forensic_core import __version__
from forensic_core.analysis import Analyzer, FrameFindings, one_line
from forensic_core.artifacts import ArtifactWriter
from forensic_core.dialog import run_dialog
from forensic_core.errors import ForensicError, InputError
from forensic_core.media import InputProblem, iter_input_paths
from forensic_core.pipeline import Pipeline
from forensic_core.registry import Registry
from forensic_core.report import (
    DetectionRecord,
    InputResult,
    Report,
    Summary,
)
from forensic_core.results import Detection

AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean,
    "max": max,
    "median": statistics.median,
}


class Progress:
    """A one-line progress display on a TTY; silent otherwise (logs and CI stay clean)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = self.failed = 0

    def update(self, source: str, status: str) -> None:
        self.done += 1
        self.failed += status != "ok"
        if self.enabled:
            name = Path(source).name[:40]
            self.stream.write(f"\r[{self.done} analysed, {self.failed} failed] {name:<40}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")


def run_pipeline(
    pipeline: Pipeline,
    registry: Registry,
    inputs: Iterable[str | Path],
    outdir: Path,
    *,
    fail_fast: bool = False,
    save_npy: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Analyse every input and write ``report.json`` plus every renderer's output into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    registry.configure(pipeline)
    analyzer = Analyzer(pipeline, fail_fast=fail_fast, save_npy=save_npy)
    report = Report(core_version=__version__, pipeline=pipeline.source)
    progress = progress or Progress(enabled=False)
    try:
        analyzer.build()
        for index, path in enumerate(iter_input_paths(inputs)):
            if isinstance(path, InputProblem):
                result = InputResult(source=path.source, status="error", error=path.reason)
            else:
                source = str(path)
                result = registry.analyze_input(
                    source=source,
                    analyze=partial(analyze_input, analyzer, registry, path, index, outdir, fail_fast),
                )
            report.results.append(result)
            progress.update(result.source, result.status)
            if fail_fast and result.status != "ok":
                break
    finally:
        progress.close()
        report.components = analyzer.provenance()
        analyzer.close()
        report.summary = Summary(
            inputs=len(report.results),
            ok=sum(r.status == "ok" for r in report.results),
            errors=sum(r.status != "ok" for r in report.results),
        )
        report.seconds = round(time.perf_counter() - started, 3)
        report.write_json(outdir)
        registry.render_report(report, outdir)
    return report


def analyze_input(
    analyzer: Analyzer, registry: Registry, path: Path, index: int, outdir: Path, fail_fast: bool
) -> InputResult:
    """Open one input and analyse each of its frames; errors become the input's status, not an exception."""
    started = time.perf_counter()
    source = str(path)
    pipeline = analyzer.pipeline
    try:
        items = list(
            registry.open_media(path=path, frames=pipeline.video.frames, max_pixels=pipeline.inputs.max_pixels)
        )
        if not items:
            raise InputError(f"{path}: no frames could be read")
    except ForensicError as exc:
        return InputResult(source=source, status="error", error=one_line(exc))
    except Exception as exc:
        if fail_fast:
            raise
        return InputResult(source=source, status="error", error=f"{path}: cannot open: {one_line(exc)}")

    is_video = items[0].frame_index is not None
    result = InputResult(source=source, media="video" if is_video else "image")
    writer = ArtifactWriter(outdir, index, source)
    frames: list[FrameFindings] = []
    for item in items:
        prefix = f"frame{item.frame_index:06d}-" if is_video else ""
        findings = analyzer.analyze_frame(item, writer, prefix, result.timings)
        result.failures.extend(findings.failures)
        frames.append(findings)
        if is_video:
            result.frames.append(findings.record)

    if is_video:
        result.width, result.height = frames[0].record.width, frames[0].record.height
        result.preview = frames[0].record.preview
        result.detections = _aggregate_video(frames, pipeline.video.aggregate)
        focus = _most_suspicious(frames)
    else:
        for name in type(frames[0].record).model_fields:
            setattr(result, name, getattr(frames[0].record, name))
        focus = frames[0]

    if pipeline.dialog is not None:
        run_dialog(analyzer, result, focus)
    if result.failures:
        result.status = "error"
        result.error = "; ".join(
            f"{f.role[:-1] if f.role.endswith('s') else f.role} {f.component!r} failed: {f.error}"
            for f in result.failures
        )
    result.timings["total"] = round(time.perf_counter() - started, 4)
    return result


def _aggregate_video(frames: list[FrameFindings], aggregate: str) -> list[DetectionRecord]:
    records: list[DetectionRecord] = []
    labels = dict.fromkeys(label for frame in frames for label in frame.detections)
    for label in labels:
        scores = [frame.detections[label].score for frame in frames if label in frame.detections]
        threshold = next(frame.detections[label].threshold for frame in frames if label in frame.detections)
        score = float(AGGREGATES[aggregate](scores))
        detection = Detection.from_score(min(1.0, max(0.0, score)), threshold)
        records.append(
            DetectionRecord(
                component=label,
                score=detection.score,
                label=detection.label,
                threshold=threshold,
                details={"aggregate": aggregate, "frames": len(scores), "frame_scores": [round(s, 6) for s in scores]},
            )
        )
    return records


def _most_suspicious(frames: list[FrameFindings]) -> FrameFindings:
    return max(frames, key=lambda f: max((d.score for d in f.detections.values()), default=0.0))
