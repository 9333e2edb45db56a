"""The analysis actor: a Ray Data callable class that builds the pipeline once and analyses batches of inputs.

Each actor is its own process with its own registry (the plugins installed on its node) and one
:class:`~forensic_core.engine.worker.InputWorker`, whose ``collect_artifacts`` option keeps artifacts in memory
so that the driver writes them next to the journal. The inputs of one call run through the core's cross-input
batching (``--batch-size``/``--workers``, or what the components prefer on the actor's device), so a GPU actor
sees batches gathered over its inputs. Before each input it asks the run's ledger (attempts,
stop); a per-input timeout abandons the input with an error and then ends this process, because the thread
still stuck in the input cannot be stopped any other way; Ray starts a replacement and re-runs the batch.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import os
import signal
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import ray

from forensic_core.engine import InputRef, WorkerOptions
from forensic_core.engine.pipelined import run_concurrently
from forensic_core.engine.worker import InputWorker
from forensic_core.pool import one_line
from forensic_core.registry import Registry, use_registry
from forensic_core.report import Custody, InputResult
from forensic_ray.ledger import Admission
from forensic_ray.rows import Kind, output_table, ref_of

Row = tuple[Kind, dict[str, Any], Mapping[str, bytes]]


class AnalyzeBatches:
    """Ray Data ``map_batches`` class: input rows (serialised refs) in, output rows (results) out."""

    def __init__(
        self,
        document: Mapping[str, Any],
        options: Mapping[str, Any],
        ledger: Any,
        timeout_s: float | None,
    ) -> None:
        self.ledger = ledger
        self.timeout_s = timeout_s
        self.start_error: dict[str, str] | None = None
        self.provenance = ""
        self.worker: InputWorker | None = None
        self.registry: Registry | None = None
        try:
            self._start(document, WorkerOptions(**options))
        except Exception as exc:  # reported on every row, so the driver fails the run with this reason
            self.start_error = {"type": type(exc).__name__, "error": one_line(exc)}

    def _start(self, document: Mapping[str, Any], options: WorkerOptions) -> None:
        from forensic_core.config import load_pipeline

        self.registry = Registry.discover()
        with use_registry(self.registry):
            pipeline = load_pipeline(document, self.registry)
            self.worker = InputWorker(pipeline, self.registry, options)
            records = self.worker.start()
        self.provenance = json.dumps([record.model_dump(mode="json") for record in records])

    def __call__(self, batch: pa.Table) -> pa.Table:
        refs = [ref_of(text) for text in batch.column("ref").to_pylist()]
        if self.start_error is not None:
            failed: list[Row] = [("start-failed", {"id": ref.id, **self.start_error}, {}) for ref in refs]
            return output_table(failed, self.provenance)
        return output_table(self._rows(refs), self.provenance)

    def _rows(self, refs: list[InputRef]) -> list[Row]:
        """The batch's inputs through the core's batching: several in flight, their items joined per component
        (one at a time when nothing batches, or under a per-input timeout, which must be able to end this
        process for the one input that hangs)."""
        worker = self.worker
        assert worker is not None
        if not worker.batches.batching or self.timeout_s is not None or len(refs) < 2:
            return [self._one(ref) for ref in refs]
        workers = min(worker.batches.workers, len(refs))
        return list(run_concurrently(self._one, refs, workers=workers, crew=worker.batches.crew))

    def _one(self, ref: InputRef) -> Row:
        admission: Admission = ray.get(self.ledger.begin.remote(ref.id))
        if admission.verdict == "skip":
            return "skipped", {"id": ref.id}, {}
        if admission.verdict == "timed-out":
            return "result", _timed_out(ref, admission.timeout_s).model_dump(mode="json"), {}
        if admission.verdict == "abandon":
            error = (
                f"{ref.source}: abandoned after {admission.attempt} attempts: the process analysing it died each "
                "time (crash or out of memory); raise the engine's retries or analyse it alone to see why"
            )
            return "result", _error(ref, error).model_dump(mode="json"), {}
        try:
            result, files = self._process(ref)
        except BaseException as exc:  # fail-fast: the worker re-raises a component's failure (even SystemExit)
            return "fatal", {"id": ref.id, "type": type(exc).__name__, "error": one_line(exc)}, {}
        return "result", result.model_dump(mode="json"), files

    def _process(self, ref: InputRef) -> tuple[InputResult, dict[str, bytes]]:
        worker, registry = self.worker, self.registry
        assert worker is not None and registry is not None

        def analyse() -> tuple[InputResult, dict[str, bytes]]:
            with use_registry(registry):
                return worker.process(ref)

        if self.timeout_s is None:
            return analyse()
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="forensic-input")
        future = executor.submit(contextvars.copy_context().run, analyse)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            ray.get(self.ledger.record_timeout.remote(ref.id, self.timeout_s))
            # The analysis thread cannot be stopped and may hold the components' locks: end this process.
            # Ray replaces the actor and re-runs this batch; the ledger answers "timed-out" for this input.
            os.kill(os.getpid(), signal.SIGKILL)
            raise
        finally:
            executor.shutdown(wait=False)

    def __del__(self) -> None:
        if self.worker is not None:
            self.worker.close()


def _custody(ref: InputRef) -> Custody:
    return Custody(path=ref.path, relpath=ref.relpath, size=ref.size, mtime_ns=ref.mtime_ns)


def _error(ref: InputRef, error: str) -> InputResult:
    return InputResult(source=ref.source, id=ref.id, custody=_custody(ref), status="error", error=error)


def _timed_out(ref: InputRef, seconds: float) -> InputResult:
    return _error(
        ref,
        f"{ref.source}: abandoned after the per-input timeout of {seconds:g} s (engine ray, input_timeout_s); "
        "raise it or analyse this input alone",
    )
