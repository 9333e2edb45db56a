"""One input reference in, one serialisable result (and its artifacts) out: the unit every engine runs.

The same code runs in the local loop, in a Ray actor and behind a server, so everything that makes a result
trustworthy happens here: the input's bytes are hashed (chain of custody), every artifact's hash is recorded,
wrappers run around the analysis with failures isolated, results are re-validated as they are serialised, and
plugin ``extensions`` are collected. Engines only decide where and when :meth:`InputWorker.process` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from forensic_core.analysis import Analyzer, FrameFindings
from forensic_core.artifacts import ArtifactWriter
from forensic_core.dialog import run_dialog
from forensic_core.engine.base import InputContext, InputRef, WorkerOptions, _current_input
from forensic_core.engine.batching import BatchPlan, Crew, plan_batches
from forensic_core.engine.pipelined import run_concurrently
from forensic_core.errors import ForensicError, InputError
from forensic_core.pipeline import Pipeline
from forensic_core.pool import ComponentPool, one_line
from forensic_core.registry import Registry
from forensic_core.report import ComponentProvenance, Custody, DetectionRecord, InputResult
from forensic_core.results import Detection, MediaItem

AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean,
    "max": max,
    "median": statistics.median,
}
_HASH_CHUNK = 1 << 20


class InputWorker:
    """Analyses input references with one pipeline; components come from a pool built once per process."""

    def __init__(
        self,
        pipeline: Pipeline,
        registry: Registry,
        options: WorkerOptions,
        pool: ComponentPool | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.registry = registry
        self.options = options
        self.outdir = Path(options.outdir)
        self.analyzer = Analyzer(pipeline, fail_fast=options.fail_fast, save_npy=options.save_npy, pool=pool)
        self.batches = BatchPlan(crew=Crew())

    def start(self) -> list[ComponentProvenance]:
        """Build the components (raises a one-line error when one cannot be built) and say what they are.

        Also decides how inputs batch (``batch_size``/``workers`` options, else what the components prefer):
        with more than one worker the batchable components are wrapped so that concurrent :meth:`process`
        calls (see :func:`~forensic_core.engine.pipelined.run_concurrently`) share their batches.
        """
        self.registry.configure(self.pipeline)
        self.analyzer.build()
        self.analyzer.built, self.batches = plan_batches(
            self.analyzer.built, self.options.batch_size, self.options.workers
        )
        return self.analyzer.provenance()

    def process_all(
        self, refs: Iterable[InputRef], stopped: Callable[[], bool] = lambda: False
    ) -> Iterator[tuple[InputResult, dict[str, bytes]]]:
        """:meth:`process` for each input, in this thread with one worker, else on the planned worker threads
        (results then come in completion order). No input is started once ``stopped()`` is true."""
        if not self.batches.batching:
            for ref in refs:
                if stopped():
                    return
                yield self.process(ref)
            return
        yield from run_concurrently(
            self.process, refs, workers=self.batches.workers, crew=self.batches.crew, stopped=stopped
        )

    def close(self) -> None:
        self.analyzer.close()

    def process(self, ref: InputRef) -> tuple[InputResult, dict[str, bytes]]:
        """The finished result of ``ref`` (status ok or error, never an exception except Ctrl-C or fail-fast)
        and, when artifacts are collected instead of written, their bytes by relative path."""
        writer = ArtifactWriter(self.outdir, ref.id, ref.source, collect=self.options.collect_artifacts)
        context = InputContext(ref=ref, outdir=self.outdir)
        token = _current_input.set(context)
        try:
            result = self._wrapped(ref, writer, context)
        finally:
            _current_input.reset(token)
        result = self._finalise(result, ref, writer, context)
        return result, writer.files

    def _wrapped(self, ref: InputRef, writer: ArtifactWriter, context: InputContext) -> InputResult:
        analyze = partial(self._analyze, ref, writer)
        try:
            result = self.registry.analyze_input(source=ref.source, analyze=analyze, context=context)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if self.options.fail_fast:
                raise
            return InputResult(source=ref.source, status="error", error=f"analysis wrapper failed: {one_line(exc)}")
        if not isinstance(result, InputResult):
            return InputResult(
                source=ref.source,
                status="error",
                error=f"an analysis wrapper returned {type(result).__name__}, not InputResult",
            )
        return result

    def _finalise(
        self, result: InputResult, ref: InputRef, writer: ArtifactWriter, context: InputContext
    ) -> InputResult:
        """Stamp id, custody, artifact hashes and extensions; re-validate the whole record as it will be stored."""
        extensions, problem = _json_extensions({**context.extensions, **result.extensions})
        custody = result.custody or Custody(path=ref.path, relpath=ref.relpath, size=ref.size, mtime_ns=ref.mtime_ns)
        update = {
            "source": ref.source,
            "id": ref.id,
            "custody": custody,
            "artifacts": {**writer.hashes, **result.artifacts},
            "extensions": extensions,
        }
        try:
            stored = InputResult.model_validate({**result.model_dump(), **update, "custody": custody.model_dump()})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            return InputResult(
                source=ref.source,
                id=ref.id,
                custody=custody,
                artifacts=writer.hashes,
                status="error",
                error=f"invalid result for this input: {where}: {first.get('msg', 'invalid value')}",
            )
        if problem:
            stored.status, stored.error = "error", "; ".join(filter(None, [stored.error, problem]))
        return stored

    def _analyze(self, ref: InputRef, writer: ArtifactWriter) -> InputResult:
        """Open one input and analyse each of its frames; errors become the input's status, not an exception."""
        started = time.perf_counter()
        path = Path(ref.path)
        pipeline = self.pipeline
        try:
            custody = _custody(ref)
            items = list(
                self.registry.open_media(path=path, frames=pipeline.video.frames, max_pixels=pipeline.inputs.max_pixels)
            )
            if not items:
                raise InputError(f"{ref.source}: no frames could be read")
        except ForensicError as exc:
            return InputResult(source=ref.source, status="error", error=one_line(exc))
        except Exception as exc:
            if self.options.fail_fast:
                raise
            return InputResult(source=ref.source, status="error", error=f"{ref.source}: cannot open: {one_line(exc)}")

        try:
            result = self._analyze_items(ref, items, writer, custody)
        except Exception as exc:
            if self.options.fail_fast:
                raise
            return InputResult(
                source=ref.source, status="error", error=f"{ref.source}: analysis failed: {one_line(exc)}"
            )
        result.timings["total"] = round(time.perf_counter() - started, 4)
        return result

    def _analyze_items(
        self, ref: InputRef, items: list[MediaItem], writer: ArtifactWriter, custody: Custody
    ) -> InputResult:
        analyzer, pipeline = self.analyzer, self.pipeline
        is_video = items[0].frame_index is not None
        result = InputResult(source=ref.source, media="video" if is_video else "image", custody=custody)
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
            focus = max(frames, key=lambda f: max((d.score for d in f.detections.values()), default=0.0))
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
        return result


def _custody(ref: InputRef) -> Custody:
    """Hash the input's bytes and check it is still the file that was listed (same size and mtime)."""
    digest = hashlib.sha256()
    try:
        with open(ref.path, "rb") as handle:
            for chunk in iter(partial(handle.read, _HASH_CHUNK), b""):
                digest.update(chunk)
        info = os.stat(ref.path)
    except OSError as exc:
        raise InputError(f"{ref.source}: cannot read: {exc.strerror or exc}") from exc
    if (info.st_size, info.st_mtime_ns) != (ref.size, ref.mtime_ns):
        raise InputError(f"{ref.source}: changed since it was listed (size or modification time); run it again")
    return Custody(path=ref.path, relpath=ref.relpath, size=ref.size, mtime_ns=ref.mtime_ns, sha256=digest.hexdigest())


def _json_extensions(extensions: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Plugin extensions must be JSON data keyed by plugin name; anything else is dropped and reported."""
    kept: dict[str, Any] = {}
    bad: list[str] = []
    for key, value in extensions.items():
        try:
            kept[str(key)] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            bad.append(str(key))
    problem = f"extensions {', '.join(map(repr, bad))} are not JSON data and were dropped" if bad else None
    return kept, problem


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
