"""Registration module of forensic-ray (entry point ``forensic.plugins: ray``): the core and pydantic only.

Ray itself is imported by :mod:`forensic_ray.engine`, which the factory names by import string and which is
loaded only when a run chooses ``--engine ray``.
"""

from __future__ import annotations

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

    The option sets the ray engine's ``address`` setting for this command (an engine setting recorded in the click
    context, laid over the pipeline's by the run; the environment is left alone). ``tryfirst`` makes it run after
    the hooks that add commands to patch.
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
                help="Ray cluster for --engine ray ('auto', 'ray://head:10001'): the engine's address setting. "
                "Default: the pipeline's, else RAY_ADDRESS, else a local Ray instance sized to this machine.",
            )
        )


def _set_address(context: Any, param: Any, value: str | None) -> None:
    if value:
        from forensic_core.cli.engine_options import engine_setting

        engine_setting(context, "ray", "address", value)
