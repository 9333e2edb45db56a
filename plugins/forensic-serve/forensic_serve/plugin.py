"""Registration module of forensic-serve (entry point ``forensic.plugins: serve``).

Imports only the core and click: FastAPI and uvicorn are imported inside the ``serve`` command's body, so
``forensic --help`` stays fast with this plugin installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forensic_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    from forensic_serve.command import serve

    cli.add_command(serve)
