"""A run from start to end: check the output folder, plan, journal, execute on an engine, assemble the report.

Nothing is held in memory across inputs: each result goes to the journal as it is finished, and report.json and
the renderers read it back at the end — also after Ctrl-C, SIGTERM, a fail-fast stop or an engine error, so what
was analysed is never lost. :func:`run_pipeline` is the library entry point behind ``forensic run``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from forensic_core.assemble import assemble
from forensic_core.components import ComponentKind
from forensic_core.engine.base import Engine, InputRef, RunPlan, StopToken, WorkerOptions
from forensic_core.engine.plan import PlannedProblem, plan_inputs
from forensic_core.errors import ConfigError, ForensicError, one_line
from forensic_core.events import NullObserver, RunObserver
from forensic_core.journal import Journal, JournalResults, StoredReport
from forensic_core.outlock import locked_outdir
from forensic_core.pipeline import Pipeline
from forensic_core.pool import ComponentPool
from forensic_core.registry import Registry, use_registry
from forensic_core.report import ComponentProvenance, InputResult, Summary

DEFAULT_ENGINE = "local"
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


@dataclass
class RunOutcome:
    """What a run left behind. ``results`` are read from the journal on access (not held in memory)."""

    outdir: Path
    report: StoredReport
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stopped_by: str | None = None

    @property
    def results(self) -> JournalResults:
        return self.report.results

    @property
    def summary(self) -> Summary:
        return self.report.summary

    @property
    def components(self) -> list[ComponentProvenance]:
        return self.report.components

    @property
    def interrupted(self) -> bool:
        return self.summary.interrupted

    @property
    def exit_code(self) -> int:
        """0 all analysed, 1 some failed, 130/143 stopped by SIGINT/SIGTERM."""
        if self.stopped_by in EXIT_CODES:
            return EXIT_CODES[self.stopped_by]
        return 1 if self.summary.errors else 0


def run_pipeline(
    pipeline: Pipeline,
    registry: Registry,
    inputs: Iterable[str | Path | InputRef],
    outdir: Path,
    *,
    fail_fast: bool = False,
    save_npy: bool = False,
    observer: RunObserver | None = None,
    engine: str | None = None,
    engine_settings: Mapping[str, Any] | None = None,
    engine_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    pool: ComponentPool | None = None,
    stop: StopToken | None = None,
    handle_signals: bool = False,
    batch_size: int | None = None,
    workers: int | None = None,
    input_timeout: float | None = None,
) -> RunOutcome:
    """Analyse ``inputs`` with ``pipeline`` into ``outdir`` (results.jsonl, report.json, renderers' files).

    ``resume`` continues the journal in ``outdir`` (same pipeline only), skipping finished inputs; without it
    an ``outdir`` holding an earlier run is refused unless ``overwrite``. ``handle_signals`` (the CLI) makes
    SIGINT/SIGTERM stop after the input in flight; a second SIGINT abandons it. Errors of the run itself (a
    component that cannot be built, ``fail_fast``) are raised after the report of what was done is written.
    ``batch_size`` and ``workers`` batch items across inputs (:class:`WorkerOptions`); results do not change.
    ``input_timeout`` (seconds) abandons an input still running after it, records it as failed and goes on.
    ``engine_overrides`` (engine name -> settings, e.g. the CLI's ``--address`` for ray) are laid over the chosen
    engine's settings.
    """
    outdir = Path(outdir)
    observer = observer or NullObserver()
    stop = stop or StopToken()
    started = time.perf_counter()
    with locked_outdir(outdir, resume=resume, overwrite=overwrite), use_registry(registry):
        engine_name, chosen = _engine(pipeline, registry, engine, engine_settings, engine_overrides or {})
        planned = plan_inputs(inputs, exclude=[outdir], extra_suffixes=_media_suffixes(registry))
        journal = Journal.open(outdir, pipeline, resume=resume, engine=engine_name)
        order = [item.id for item in planned]
        stopped_by: str | None = None
        try:
            _journal_problems(planned, journal, observer)
            todo = [item for item in planned if isinstance(item, InputRef) and item.id not in journal.done]
            plan = RunPlan(
                pipeline=pipeline,
                document=pipeline.document,
                digest=pipeline.digest(),
                inputs=todo,
                options=WorkerOptions(
                    outdir=str(outdir),
                    save_npy=save_npy,
                    fail_fast=fail_fast,
                    batch_size=batch_size,
                    workers=workers,
                    input_timeout_s=input_timeout,
                ),
                registry=registry,
                pool=pool,
            )
            observer.run_started(len(todo), journal.resumed)
            with _signals(stop, enabled=handle_signals):
                try:
                    chosen.run(plan, journal, observer, stop)
                except KeyboardInterrupt:
                    stop.stop("SIGINT")
            if stop.reason in EXIT_CODES:
                stopped_by = stop.reason
        finally:
            report = journal.stored_report(
                order, interrupted=stopped_by is not None, seconds=round(time.perf_counter() - started, 3)
            )
            try:
                written, problems = assemble(report, registry, outdir)
                journal.record_written(written[1:])
            finally:
                journal.close()
            observer.run_finished(report.summary)
    return RunOutcome(outdir=outdir, report=report, written=written, problems=problems, stopped_by=stopped_by)


def _journal_problems(planned: Sequence[Any], journal: Journal, observer: RunObserver) -> None:
    """Inputs refused while planning (unreadable, not media) are journaled as errors, once."""
    for item in planned:
        if isinstance(item, PlannedProblem) and item.id not in journal.done:
            problem = InputResult(source=item.source, id=item.id, status="error", error=item.reason)
            journal.write(problem)
            observer.input_finished(problem)


def _engine(
    pipeline: Pipeline,
    registry: Registry,
    name: str | None,
    settings: Mapping[str, Any] | None,
    overrides: Mapping[str, Mapping[str, Any]],
) -> tuple[str, Engine]:
    """The engine a run uses: ``name`` (the CLI's --engine) over the pipeline's ``engine:`` over ``local``."""
    entry = pipeline.engine
    chosen = name or (entry.name if entry is not None else DEFAULT_ENGINE)
    component = registry.resolve(ComponentKind.ENGINE, chosen)
    if settings is not None:
        try:
            validated = component.spec.settings.model_validate(dict(settings))
        except Exception as exc:
            raise ConfigError(
                f"engine {chosen!r} settings: {one_line(exc, limit=300, bare=(BaseException,))}"
            ) from None
    elif entry is not None and entry.component == component:
        validated = entry.settings
    else:
        validated = component.spec.settings()
    if overrides.get(component.name):
        merged = {**validated.model_dump(exclude_unset=True), **overrides[component.name]}
        try:
            validated = component.spec.settings.model_validate(merged)
        except Exception as exc:
            raise ConfigError(
                f"engine {chosen!r} settings: {one_line(exc, limit=300, bare=(BaseException,))}"
            ) from None
    try:
        instance = component.spec.resolve_factory()(validated, None)
    except ForensicError:
        raise
    except Exception as exc:
        raise ConfigError(f"engine {chosen!r} cannot start: {type(exc).__name__}: {exc}") from exc
    if not callable(getattr(instance, "run", None)):
        raise ConfigError(f"engine {chosen!r} has no run() method")
    return component.name, instance


def _media_suffixes(registry: Registry) -> frozenset[str]:
    method = getattr(registry, "media_suffixes", None)
    return frozenset(method()) if callable(method) else frozenset()


@contextlib.contextmanager
def _signals(stop: StopToken, *, enabled: bool) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (the input in flight finishes); a second SIGINT abandons it."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if stop.stopped:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.stop("SIGINT")
        sys.stderr.write("\nstopping after the input in flight (Ctrl-C again to abandon it)\n")

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.stop("SIGTERM")
        sys.stderr.write("\nSIGTERM: stopping after the input in flight\n")

    previous = signal.signal(signal.SIGINT, on_sigint), signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
