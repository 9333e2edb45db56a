"""``forensic verify``: re-hash a run's inputs and artifacts (chain of custody)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forensic_core.cli.base import cli
from forensic_core.terminal import printable


@cli.command()
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Also list every file that is unchanged.")
def verify(outdir: Path, verbose: bool) -> None:
    """Re-hash the inputs still present and every artifact of the run in OUTDIR; say what changed.

    Exit 0 when nothing changed (inputs not present here are listed, not failed), 1 when an input or an
    artifact differs from what the run recorded or an artifact is missing.

    \b
    Example:
      forensic verify forensic-report
    """
    from forensic_core.verify import verify_run

    counts: dict[str, int] = {}
    for finding in verify_run(outdir):
        counts[finding.status] = counts.get(finding.status, 0) + 1
        if finding.status != "ok" or verbose:
            detail = f" ({finding.detail})" if finding.detail else ""
            click.echo(f"{finding.status}: {finding.kind} {printable(finding.path)}{printable(detail)}")
    total = sum(counts.values())
    parts = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    click.echo(f"verified {total} files: {parts or 'none'}")
    if counts.get("changed") or counts.get("missing"):
        sys.exit(1)
