"""The ``forensic eval`` command (definition only; the harness is imported inside the body)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forensic_core.cli.options import batching_options, input_timeout_option, outdir_option, pipeline_option


@click.command("eval")
@click.argument("data", type=click.Path(path_type=Path))
@pipeline_option("Pipeline YAML whose detectors and localizers are evaluated; default: the built-in offline pipeline.")
@outdir_option("forensic-eval", "Where predictions.csv, metrics.json, metrics.html and the run (run/) go.")
@click.option(
    "--bootstrap",
    "resamples",
    type=click.IntRange(0, 100_000),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95% AUC intervals (0: none).",
)
@click.option("--engine", help="Execution engine (see `forensic components --kind engine`); default: the pipeline's.")
@click.option("--resume", is_flag=True, help="Continue the run in OUTDIR/run, skipping the samples already analysed.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in OUTDIR/run.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing input or component.")
@click.option("--save-npy", is_flag=True, help="Keep float heatmaps (exact pixel metrics instead of 8-bit PNG).")
@batching_options()
@input_timeout_option()
def eval_command(
    data: Path,
    pipeline_path: Path | None,
    outdir: Path,
    resamples: int,
    engine: str | None,
    resume: bool,
    overwrite: bool,
    fail_fast: bool,
    save_npy: bool,
    batch_size: int | None,
    workers: int | None,
    input_timeout: float | None,
) -> None:
    """Evaluate a pipeline's detectors and localizers on labelled data.

    DATA is a CSV manifest (path,label[,mask,video,method,split]) or a YAML file naming datasets:
    `datasets: [{name: ffpp, settings: {root: /data/ffpp}}]` (see `forensic components --kind dataset`).
    Exit 0 when every sample was analysed, 1 when some failed (the metrics cover the others), 2 on a usage or
    configuration error.

    \b
    Examples:
      python examples/eval/make_data.py out/eval-data
      forensic eval out/eval-data/manifest.csv -p examples/eval/leaderboard.yaml -o out/leaderboard
      forensic eval ffpp-and-celebdf.yaml -p my-detector.yaml -o eval-ffpp --resume
    """
    from forensic_core.cli.engine_options import engine_overrides
    from forensic_core.outlock import held
    from forensic_core.registry import get_registry
    from forensic_eval.harness import evaluate
    from forensic_eval.running import RunOptions
    from forensic_eval.table import format_table

    options = RunOptions(
        fail_fast=fail_fast,
        save_npy=save_npy,
        engine=engine,
        engine_overrides=engine_overrides(),
        resume=resume,
        overwrite=overwrite,
        handle_signals=True,
        batch_size=batch_size,
        workers=workers,
        input_timeout=input_timeout,
    )
    with held(outdir):  # one eval per folder: its run/ journal is locked by the run itself
        outcome = evaluate(data, pipeline_path, get_registry(), outdir, resamples=resamples, options=options)
    if outcome.stopped_by is not None:
        click.echo(f"stopped by {outcome.stopped_by}; continue with the same command and --resume", err=True)
        sys.exit(outcome.exit_code)
    click.echo(format_table(outcome.metrics))
    for path, error in outcome.errors[:10]:
        click.echo(f"error: {path}: {error}", err=True)
    if len(outcome.errors) > 10:
        click.echo(f"error: ... and {len(outcome.errors) - 10} more (see {outdir / 'run' / 'report.json'})", err=True)
    click.echo(
        f"metrics: {outdir / 'metrics.html'} ({outcome.metrics['samples']} samples, {len(outcome.errors)} failed)"
    )
    if outcome.errors:
        sys.exit(1)
