"""``forensic run``: analyse inputs into a journal and a report."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from forensic_core.cli.base import cli
from forensic_core.cli.options import batching_options, input_timeout_option, outdir_option, pipeline_option
from forensic_core.registry import get_registry
from forensic_core.terminal import printable


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@pipeline_option()
@outdir_option("forensic-report", "Where results.jsonl, report.json, report.html and the artifacts go.")
@click.option("--resume", is_flag=True, help="Continue the run in OUTDIR: inputs already in its journal are skipped.")
@click.option("--overwrite", is_flag=True, help="Replace the run in OUTDIR (removes only files this tool wrote).")
@click.option("--engine", "engine", metavar="NAME", help="Execution engine (default: the pipeline's, else 'local').")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing input or component.")
@click.option("--save-npy", is_flag=True, help="Also save heatmaps as float NPY arrays.")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is only drawn on a terminal anyway).")
@batching_options()
@input_timeout_option()
def run(
    inputs: tuple[str, ...],
    pipeline_path: Path | None,
    outdir: Path,
    resume: bool,
    overwrite: bool,
    engine: str | None,
    fail_fast: bool,
    save_npy: bool,
    no_progress: bool,
    batch_size: int | None,
    workers: int | None,
    input_timeout: float | None,
) -> None:
    """Analyse images, videos and folders; write OUTDIR/report.json and report.html.

    Each finished input is appended to OUTDIR/results.jsonl at once, so Ctrl-C (or SIGTERM) stops after the
    input in flight with a report of what was done, and --resume continues where a run stopped, even after a
    crash. Exit 0 when every input was analysed, 1 when some failed (the report is still written), 2 on a usage
    or configuration error, 130/143 when stopped by SIGINT/SIGTERM.

    \b
    Examples:
      forensic run photo.jpg
      forensic run -p examples/pipelines/kfd-tiny.yaml faces/ clip.mp4 -o out
      forensic run photos/ -o out --resume
      forensic run -p kfd.yaml archive/ -o out --batch-size 32 --workers 32
    """
    from forensic_core.config import load_pipeline
    from forensic_core.defaults import default_pipeline
    from forensic_core.events import TerminalObserver
    from forensic_core.runner import run_pipeline

    registry = get_registry()
    source: Any = pipeline_path if pipeline_path is not None else default_pipeline(registry)
    pipeline = load_pipeline(source, registry)
    if pipeline_path is None:
        pipeline = dataclasses.replace(pipeline, source="(default)")
    from forensic_core.cli.engine_options import engine_overrides

    outcome = run_pipeline(
        pipeline,
        registry,
        inputs,
        outdir,
        fail_fast=fail_fast,
        save_npy=save_npy,
        observer=TerminalObserver(progress=not no_progress, echo=click.echo),
        engine=engine,
        engine_overrides=engine_overrides(),
        resume=resume,
        overwrite=overwrite,
        handle_signals=True,
        batch_size=batch_size,
        workers=workers,
        input_timeout=input_timeout,
    )
    for problem in outcome.problems:
        click.echo(f"warning: {printable(problem)}", err=True)
    summary = outcome.summary
    where = printable(str(outdir / "report.html"))
    resumed = f", {summary.resumed} from the earlier run" if summary.resumed else ""
    click.echo(f"report: {where} ({summary.ok}/{summary.inputs} inputs analysed{resumed})")
    if outcome.stopped_by:
        click.echo(
            f"interrupted by {outcome.stopped_by}: {summary.not_started} inputs not analysed; "
            f"continue with the same command and --resume (-o {printable(str(outdir))})",
            err=True,
        )
    sys.exit(outcome.exit_code)
