"""The ``forensic`` command line: one module per command family, assembled here.

``build_cli`` adds the plugins' commands (``forensic_add_commands``) to a fresh copy of the core group, so tests
can build a CLI against an isolated registry.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from forensic_core.cli import dialog, info, run, verify  # noqa: F401 - importing registers the commands on the group
from forensic_core.cli.base import ForensicGroup, cli, wants_debug
from forensic_core.errors import ForensicError
from forensic_core.registry import Registry, get_registry, use_registry
from forensic_core.terminal import printable

__all__ = ["ForensicGroup", "build_cli", "cli", "main"]


def build_cli(registry: Registry | None = None, *, debug: bool = False) -> click.Group:
    """A fresh CLI group: the core commands plus the plugins' commands (``forensic_add_commands``).

    ``debug`` renders errors with their traceback even without ``--debug`` on the command line (``main`` parses
    that flag before discovery and passes it here).
    """
    group = ForensicGroup(
        name="forensic",
        commands=dict(cli.commands),
        params=list(cli.params),
        callback=cli.callback,
        help=cli.help,
        context_settings=cli.context_settings,
        debug=debug,
    )
    (registry or get_registry()).add_commands(group)
    return group


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point.

    ``--debug`` is read from the arguments before plugins are discovered, so that plugin import errors are
    re-raised with their traceback; it is passed down explicitly, never through the process environment.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = wants_debug(args)
    try:
        registry = Registry.discover(raise_errors=debug or None)
        group = build_cli(registry, debug=debug)
    except ForensicError as exc:
        if debug:
            raise
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    with use_registry(registry):
        group(args=args, prog_name="forensic")
