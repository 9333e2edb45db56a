"""Registration module of forensic-ray (entry point ``forensic.plugins: ray``): the core and pydantic only.

Ray itself is imported by :mod:`forensic_ray.engine`, which the factory names by import string and which is
loaded only when a run chooses ``--engine ray``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from forensic_core import ComponentSpec, hookimpl
from forensic_ray.settings import RaySettings

if TYPE_CHECKING:
    import click

# The commands that take --engine and therefore --address (forensic eval is another plugin's: patched if present).
ADDRESS_COMMANDS = ("run", "eval")


@hookimpl
def forensic_register_engines() -> Sequence[ComponentSpec]:
    return [
        ComponentSpec(
            name="ray",
            summary="analyse inputs on a Ray cluster (a local one by default): actor pools, retries, timeouts",
            settings=RaySettings,
            factory="forensic_ray.engine:RayEngine",
            requires="ray[data]",
            thread_safe=True,
        )
    ]


@hookimpl(tryfirst=True)
def forensic_add_commands(cli: click.Group) -> None:
    """``--address ADDR`` on the commands that take ``--engine``: the Ray cluster ``--engine ray`` joins.

    The option only sets ``RAY_ADDRESS`` (which the engine reads when its ``address`` setting is empty), so the
    core's commands need no change. ``tryfirst`` makes it run after the hooks that add commands to patch.
    """
    import click

    for name in ADDRESS_COMMANDS:
        command = cli.commands.get(name)
        if command is None or any(param.name == "ray_address" for param in command.params):
            continue
        command.params.append(
            click.Option(
                ["--address", "ray_address"],
                metavar="ADDR",
                expose_value=False,
                callback=_set_address,
                help="Ray cluster for --engine ray ('auto', 'ray://head:10001'); sets RAY_ADDRESS. Default: a local "
                "Ray instance sized to this machine.",
            )
        )


def _set_address(context: Any, param: Any, value: str | None) -> None:
    if value:
        os.environ["RAY_ADDRESS"] = value
