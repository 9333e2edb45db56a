"""Options several commands share (``-p PIPELINE``, ``-o OUTDIR``), defined once so they read the same everywhere.

Plugins that add commands (``forensic eval``, ``forensic serve``) use them too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_PIPELINE_HELP = "Pipeline YAML; default: the built-in offline pipeline."


def pipeline_option(help: str = DEFAULT_PIPELINE_HELP) -> Callable[[Any], Any]:
    """``-p/--pipeline PATH`` into the parameter ``pipeline_path``."""
    return click.option("-p", "--pipeline", "pipeline_path", type=click.Path(path_type=Path), help=help)


def outdir_option(default: str, help: str) -> Callable[[Any], Any]:
    """``-o/--outdir PATH`` into the parameter ``outdir``, with its default shown in ``--help``."""
    return click.option(
        "-o", "--outdir", type=click.Path(path_type=Path), default=Path(default), show_default=True, help=help
    )


def input_timeout_option() -> Callable[[Any], Any]:
    """``--input-timeout S`` into ``input_timeout`` (None: no limit)."""
    return click.option(
        "--input-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="S",
        help="Abandon an input still being analysed after S seconds (recorded as failed; the run goes on). The "
        "local engine then analyses in a worker process it replaces when it is killed; the ray engine replaces "
        "its actor.",
    )


def batching_options() -> Callable[[Any], Any]:
    """``--batch-size N`` and ``--workers N`` into ``batch_size`` and ``workers`` (None: the defaults)."""

    def decorate(command: Any) -> Any:
        command = click.option(
            "--workers",
            type=click.IntRange(1, 256),
            default=None,
            help="Inputs analysed at once (decoding overlaps inference). Default: the largest batch size.",
        )(command)
        return click.option(
            "--batch-size",
            type=click.IntRange(1, 4096),
            default=None,
            help="Items per call of each detector, localizer and explainer, joined across inputs (results do not "
            "change). Default: what each component prefers on its device (1 on CPU, e.g. 32 for KFD on CUDA).",
        )(command)

    return decorate
