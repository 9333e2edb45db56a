"""The ``forensic`` command line: one module per command family, assembled here.

``build_cli`` adds the plugins' commands (``forensic_add_commands``) to a fresh copy of the core group, so tests
can build a CLI against an isolated registry.
"""

from __future__ import annotations

import sys

import click

from forensic_core.cli import dialog, info, run  # noqa: F401 - importing registers the commands on the group
from forensic_core.cli.base import ForensicGroup, cli
from forensic_core.errors import ForensicError
from forensic_core.registry import Registry, get_registry

__all__ = ["ForensicGroup", "build_cli", "cli", "main"]


def build_cli(registry: Registry | None = None) -> click.Group:
    """A fresh CLI group: the core commands plus the plugins' commands (``forensic_add_commands``)."""
    group = ForensicGroup(
        name="forensic",
        commands=dict(cli.commands),
        params=list(cli.params),
        callback=cli.callback,
        help=cli.help,
        context_settings=cli.context_settings,
    )
    (registry or get_registry()).add_commands(group)
    return group


def main() -> None:
    """Console-script entry point."""
    try:
        group = build_cli()
    except ForensicError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    group(prog_name="forensic")
