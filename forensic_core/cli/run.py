"""``forensic run``: analyse inputs into a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from forensic_core.cli.base import cli
from forensic_core.registry import get_registry


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-p",
    "--pipeline",
    "pipeline_path",
    type=click.Path(path_type=Path),
    help="Pipeline YAML; default: the built-in offline pipeline.",
)
@click.option(
    "-o",
    "--outdir",
    type=click.Path(path_type=Path),
    default=Path("forensic-report"),
    show_default=True,
    help="Where report.json, report.html and the artifacts go.",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing input or component.")
@click.option("--save-npy", is_flag=True, help="Also save heatmaps as float NPY arrays.")
def run(inputs: tuple[str, ...], pipeline_path: Path | None, outdir: Path, fail_fast: bool, save_npy: bool) -> None:
    """Analyse images, videos and folders; write OUTDIR/report.json and report.html.

    Exit 0 when every input was analysed, 1 when some failed (the report is still written), 2 on a usage or
    configuration error.

    \b
    Examples:
      forensic run photo.jpg
      forensic run -p examples/pipelines/kfd-tiny.yaml faces/ clip.mp4 -o out
    """
    from forensic_core.config import load_pipeline
    from forensic_core.defaults import default_pipeline
    from forensic_core.runner import Progress, run_pipeline

    registry = get_registry()
    source: Any = pipeline_path if pipeline_path is not None else default_pipeline(registry)
    pipeline = load_pipeline(source, registry)
    if pipeline_path is None:
        pipeline = type(pipeline)(**{**pipeline.__dict__, "source": "(default)"})
    report = run_pipeline(
        pipeline, registry, inputs, outdir, fail_fast=fail_fast, save_npy=save_npy, progress=Progress()
    )
    for result in report.results:
        verdict = ", ".join(f"{d.component} {d.score:.2f} {d.label}" for d in result.detections) or "-"
        line = f"{result.source}: {verdict}" if result.status == "ok" else f"{result.source}: error: {result.error}"
        click.echo(line)
    click.echo(f"report: {outdir / 'report.html'} ({report.summary.ok}/{report.summary.inputs} inputs analysed)")
    if report.summary.errors:
        sys.exit(1)
