"""The ``forensic`` command group and how it renders errors.

Light by contract: this package and everything ``--help``, ``plugins``, ``components``, ``schema`` and ``validate``
touch import neither torch nor any model library (a test asserts it). Errors print as one line; ``--debug`` (or
``FORENSIC_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from forensic_core import __version__
from forensic_core.components import ComponentKind
from forensic_core.errors import ConfigError, ForensicError

KIND_CHOICES = [kind.value for kind in ComponentKind]


def _debug() -> bool:
    return os.environ.get("FORENSIC_DEBUG", "") not in ("", "0", "false", "no")


class ForensicGroup(click.Group):
    """Renders :class:`ForensicError` as one line with its exit code, unless debugging."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            if _debug():
                raise
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(exc.exit_code)
        except ForensicError as exc:
            if _debug():
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=ForensicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forensic")
@click.option("--debug", is_flag=True, help="Show tracebacks and re-raise plugin errors (also FORENSIC_DEBUG=1).")
def cli(debug: bool) -> None:
    """Explainable deepfake forensics with plugins.

    \b
    Examples:
      forensic run photo.jpg                      # default offline pipeline
      forensic run -p examples/pipelines/kfd-tiny.yaml photos/ -o out
      forensic plugins                            # what is installed
      forensic components --kind detector
      forensic validate my-pipeline.yaml
    """
    if debug:
        os.environ["FORENSIC_DEBUG"] = "1"
        os.environ["FORENSIC_RAISE_PLUGIN_ERRORS"] = "1"
