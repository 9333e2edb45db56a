"""The ``ray`` engine's driver: a Ray Data stream of inputs through an actor pool, results into the journal.

The driver owns nothing but the stream: it hands serialised input references to Ray Data, which
back-pressures them into a fixed pool of :class:`~forensic_ray.actor.AnalyzeBatches` actors, and writes every
result to the run's journal (the core's sink) the moment its batch comes back, so an interrupted or crashed run
loses nothing already delivered and ``--resume`` continues it exactly as with the local engine.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import ray
from ray.data import ActorPoolStrategy, DataContext

from forensic_core import errors
from forensic_core.engine import ResultSink, RunPlan, StopToken, WorkerOptions
from forensic_core.engine.worker import InputWorker
from forensic_core.errors import ComponentError, ConfigError, ForensicError
from forensic_core.events import RunObserver
from forensic_core.registry import get_registry
from forensic_core.report import ComponentProvenance, InputResult
from forensic_ray.actor import AnalyzeBatches
from forensic_ray.cluster import connected, pool_size
from forensic_ray.ledger import LedgerStats, start_ledger
from forensic_ray.rows import OutputRow, input_rows, output_rows
from forensic_ray.settings import RaySettings

GPU_INPUTS_PER_CALL = 32
_DATA_LOGGER = logging.getLogger("ray.data")
_PROGRESS_LOGGER = logging.getLogger("ray.data._internal.progress")


@dataclass
class RunCounts:
    """What the engine did in one run (printed as its summary line)."""

    ok: int = 0
    failed: int = 0
    retried: int = 0
    timed_out: int = 0
    abandoned: int = 0
    skipped: int = 0
    actors: int = 0
    nodes: int = 0

    def line(self) -> str:
        parts = [f"{self.ok} ok", f"{self.failed} failed", f"{self.retried} retried after a worker died"]
        if self.timed_out:
            parts.append(f"{self.timed_out} timed out")
        if self.abandoned:
            parts.append(f"{self.abandoned} abandoned after retries")
        if self.skipped:
            parts.append(f"{self.skipped} not started (stopped)")
        where = f"{self.actors} actor{'s' * (self.actors != 1)} on {self.nodes} node{'s' * (self.nodes != 1)}"
        return f"engine ray: {', '.join(parts)} ({where})"


class RayEngine:
    """Runs a plan on Ray. ``counts`` holds the last run's summary (also printed to ``stream``)."""

    def __init__(self, settings: RaySettings | None = None, context: Any = None, stream: TextIO | None = None) -> None:
        self.settings = settings or RaySettings()
        self.stream = stream
        self.counts = RunCounts()

    def run(self, plan: RunPlan, sink: ResultSink, observer: RunObserver, stop: StopToken) -> None:
        self.counts = RunCounts()
        if not plan.inputs:
            _local_provenance(plan, sink)
            return
        with connected(self.settings), _data_context(self.settings):
            self._run(plan, sink, observer, stop)
        (self.stream or sys.stderr).write(self.counts.line() + "\n")

    def _run(self, plan: RunPlan, sink: ResultSink, observer: RunObserver, stop: StopToken) -> None:
        settings = self.settings
        size = pool_size(settings, len(plan.inputs))
        self.counts.actors, self.counts.nodes = size.actors, size.nodes
        ledger = start_ledger(settings.retries)
        options = dataclasses.asdict(dataclasses.replace(plan.options, collect_artifacts=True))
        stream = ray.data.from_items(input_rows(plan.inputs), override_num_blocks=len(plan.inputs)).map_batches(
            AnalyzeBatches,
            batch_format="pyarrow",
            batch_size=inputs_per_call(settings, plan.options),
            compute=ActorPoolStrategy(size=size.actors, max_tasks_in_flight_per_actor=settings.max_in_flight),
            fn_constructor_kwargs={
                "document": dict(plan.document),
                "options": options,
                "ledger": ledger,
                "timeout_s": settings.input_timeout_s or plan.options.input_timeout_s,  # --input-timeout
            },
            num_cpus=settings.cpus_per_actor,
            num_gpus=settings.gpus_per_actor or None,
        )
        fatal: OutputRow | None = None
        provenance: list[dict[str, Any]] | None = None
        recorded = False
        delivered: set[str] = set()
        watcher = _StopWatcher(stop, ledger)
        try:
            for row in _rows(stream):
                provenance = row.provenance if row.provenance is not None else provenance
                if row.kind == "start-failed":
                    raise _start_error(row.record)
                if row.kind == "skipped":
                    self.counts.skipped += 1
                    continue
                if row.kind == "fatal":
                    fatal = fatal or row
                    stop.stop("fail-fast")
                    watcher.tell()
                    continue
                if not recorded:
                    if provenance is None:
                        raise RuntimeError("engine ray: a result arrived before the components' provenance")
                    sink.provenance([ComponentProvenance.model_validate(p) for p in provenance])
                    recorded = True
                result = InputResult.model_validate(row.record)
                if result.id in delivered:  # a batch re-run after its actor died may repeat a delivered output
                    continue
                delivered.add(str(result.id))
                sink.write(result, row.files)
                observer.input_finished(result)
                if result.status == "ok":
                    self.counts.ok += 1
                else:
                    self.counts.failed += 1
                    if plan.options.fail_fast:
                        stop.stop("fail-fast")
                if stop.stopped:  # an observer may stop the run: no actor starts another input from now on
                    watcher.tell()
            self._count(ray.get(ledger.stats.remote()))
        finally:
            watcher.close()
            ray.kill(ledger)
        if fatal is not None:
            raise ComponentError(str(fatal.record.get("error", "an input failed (fail-fast)")))

    def _count(self, stats: LedgerStats) -> None:
        self.counts.retried, self.counts.timed_out, self.counts.abandoned = (
            stats.retried,
            stats.timed_out,
            stats.abandoned,
        )


def inputs_per_call(settings: RaySettings, options: WorkerOptions) -> int:
    """Inputs handed to an actor at once: the setting, else enough for the run's batches to fill across inputs
    (``--workers``, else ``--batch-size``; a GPU actor gathers 32 when neither is given), else 1."""
    if settings.batch_size is not None:
        return settings.batch_size
    wanted = options.workers or options.batch_size
    if wanted is None:
        wanted = GPU_INPUTS_PER_CALL if settings.gpus_per_actor > 0 else 1
    return max(1, wanted)


def _rows(stream: ray.data.Dataset) -> Iterator[OutputRow]:
    """Output rows as their batches finish (in completion order, not plan order: the journal does not care)."""
    for table in stream.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
        yield from output_rows(table)


def _start_error(record: dict[str, Any]) -> ForensicError:
    """The failure of an actor to build the pipeline, raised as the error class the core would have raised."""
    kind = getattr(errors, str(record.get("type")), None)
    message = str(record.get("error") or "the pipeline could not be built on a Ray worker")
    if isinstance(kind, type) and issubclass(kind, ForensicError):
        return kind(message)
    return ConfigError(f"engine ray: the pipeline could not be built on a Ray worker: {message}")


def _local_provenance(plan: RunPlan, sink: ResultSink) -> None:
    """Nothing left to analyse (a finished resume, inputs that cannot be read): record provenance as the local
    engine does, without starting Ray."""
    worker = InputWorker(plan.pipeline, plan.registry or get_registry(), plan.options, pool=plan.pool)
    try:
        sink.provenance(worker.start())
    finally:
        worker.close()


class _StopWatcher:
    """Tells the ledger the moment ``stop`` is set (Ctrl-C, SIGTERM), so that no actor starts a new input while
    the driver waits for the next batch; the inputs in flight finish and are journaled."""

    def __init__(self, stop: StopToken, ledger: Any, interval_s: float = 0.05) -> None:
        self._ledger = ledger
        self._told = False  # telling twice is harmless (stopping the ledger is idempotent)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(stop, interval_s), daemon=True)
        self._thread.start()

    def _watch(self, stop: StopToken, interval_s: float) -> None:
        while not self._done.wait(interval_s):
            if stop.stopped:
                self.tell()
                return

    def tell(self) -> None:
        """Stop the ledger now (once): later admissions answer "skip"."""
        if not self._told:
            self._told = True
            ray.get(self._ledger.stop.remote())

    def close(self) -> None:
        self._done.set()
        self._thread.join()


class _data_context:
    """Ray Data settings for the run's stream, restored afterwards (the context is this process's global)."""

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.saved: dict[str, Any] = {}
        self.levels: dict[logging.Logger, int] = {}

    def __enter__(self) -> DataContext:
        context = DataContext.get_current()
        wanted: dict[str, Any] = {
            "enable_progress_bars": self.settings.progress_bars,
            "print_on_execution_start": False,
        }
        if self.settings.no_progress_timeout_s is not None:
            wanted["execution_no_progress_timeout_s"] = self.settings.no_progress_timeout_s
        for name, value in wanted.items():
            self.saved[name] = getattr(context, name)
            setattr(context, name, value)
        # Ray Data logs each execution at INFO on the terminal; forensic prints its own progress and summary.
        self.levels = {logger: logger.level for logger in (_DATA_LOGGER, _PROGRESS_LOGGER)}
        if not self.settings.progress_bars:
            _DATA_LOGGER.setLevel(max(_DATA_LOGGER.level, logging.WARNING))
            _PROGRESS_LOGGER.setLevel(max(_PROGRESS_LOGGER.level, logging.ERROR))  # "progress bars disabled"
        return context

    def __exit__(self, *exc: object) -> None:
        context = DataContext.get_current()
        for name, value in self.saved.items():
            setattr(context, name, value)
        for logger, level in self.levels.items():
            logger.setLevel(level)
