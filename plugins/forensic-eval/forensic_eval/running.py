"""The one place ``forensic eval`` runs a pipeline and reads its results back.

Kept in one small function so that the harness does not depend on how the core executes a run: the run goes
through the core's engine (``local`` unless one is named) and its journal, and the results are read back from the
journal (the last record of an input wins, as in the assembled report).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensic_core.pipeline import Pipeline
from forensic_core.registry import Registry
from forensic_core.report import InputResult


@dataclass(frozen=True)
class RunOptions:
    """How the evaluation's run is executed (the options of ``forensic run`` that apply)."""

    fail_fast: bool = False
    save_npy: bool = False
    engine: str | None = None
    engine_settings: Mapping[str, Any] | None = None
    engine_overrides: Mapping[str, Mapping[str, Any]] | None = None
    resume: bool = False
    overwrite: bool = False
    handle_signals: bool = False
    batch_size: int | None = None
    workers: int | None = None
    input_timeout: float | None = None


@dataclass(frozen=True)
class RunResults:
    """Each input's result keyed by its source (the path as given), and the signal that stopped the run, if any."""

    results: dict[str, InputResult]
    stopped_by: str | None = None
    exit_code: int = 0


def run_and_read(
    pipeline: Pipeline, registry: Registry, paths: Sequence[str], outdir: Path, options: RunOptions
) -> RunResults:
    """Run ``pipeline`` over ``paths`` into ``outdir`` and read the results back from the journal."""
    from forensic_core.events import TerminalObserver
    from forensic_core.journal import read_results
    from forensic_core.runner import run_pipeline

    outcome = run_pipeline(
        pipeline,
        registry,
        paths,
        outdir,
        fail_fast=options.fail_fast,
        save_npy=options.save_npy,
        observer=TerminalObserver() if options.handle_signals else None,
        engine=options.engine,
        engine_settings=options.engine_settings,
        engine_overrides=options.engine_overrides,
        resume=options.resume,
        overwrite=options.overwrite,
        handle_signals=options.handle_signals,
        batch_size=options.batch_size,
        workers=options.workers,
        input_timeout=options.input_timeout,
    )
    results = {result.source: result for result in read_results(outdir)}
    return RunResults(results, outcome.stopped_by, outcome.exit_code)
