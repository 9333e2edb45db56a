"""The ``forensic`` command group and how it renders errors.

Light by contract: this package and everything ``--help``, ``plugins``, ``components``, ``schema`` and ``validate``
touch import neither torch nor any model library (a test asserts it). Errors print as one line, with control
characters escaped (messages carry file names and plugin text); ``--debug`` (or ``FORENSIC_DEBUG=1``) shows the
traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from forensic_core import __version__
from forensic_core.components import ComponentKind
from forensic_core.discovery import is_true
from forensic_core.errors import ConfigError, ForensicError
from forensic_core.terminal import printable

KIND_CHOICES = [kind.value for kind in ComponentKind]
ENV_DEBUG = "FORENSIC_DEBUG"


def wants_debug(args: Sequence[str], env: Mapping[str, str] | None = None) -> bool:
    """Whether ``--debug`` is among the group's own options in ``args`` (before the command), or FORENSIC_DEBUG.

    Read before plugin discovery, which happens before click parses anything; only the tokens before the first
    command name count, as click would see them.
    """
    for arg in args:
        if arg == "--debug":
            return True
        if arg == "--" or not arg.startswith("-"):
            break
    return is_true((os.environ if env is None else env).get(ENV_DEBUG))


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """Whether this invocation runs with ``--debug`` (for commands that add detail when debugging)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return is_true(os.environ.get(ENV_DEBUG))
    root = ctx.find_root()
    command = root.command
    return bool(root.params.get("debug")) or (isinstance(command, ForensicGroup) and command.debug)


class ForensicGroup(click.Group):
    """Renders :class:`ForensicError` as one line with its exit code, unless debugging."""

    def __init__(self, *args: Any, debug: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.debug = debug

    def invoke(self, ctx: click.Context) -> Any:
        debugging = self.debug or bool(ctx.params.get("debug")) or is_true(os.environ.get(ENV_DEBUG))
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            if debugging:
                raise
            for problem in exc.problems:
                click.echo(f"error: {printable(problem)}", err=True)
            sys.exit(exc.exit_code)
        except ForensicError as exc:
            if debugging:
                raise
            click.echo(f"error: {printable(str(exc))}", err=True)
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
