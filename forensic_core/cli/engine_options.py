"""Engine settings given on the command line by options a plugin adds (``--address`` of forensic-ray).

An option's callback records ``engine_setting(ctx, "ray", "address", value)`` in the click context; ``forensic
run`` and ``forensic eval`` hand :func:`engine_overrides` to the run, which lays them over the chosen engine's
settings (the pipeline's ``engine:`` or the defaults). Nothing is passed through the process environment, so two
runs in one process do not see each other's options.
"""

from __future__ import annotations

from typing import Any

import click

_META_KEY = "forensic.engine_overrides"


def engine_setting(context: click.Context, engine: str, name: str, value: Any) -> None:
    """Record setting ``name`` = ``value`` for engine ``engine`` (used when the run chooses that engine)."""
    root = context.find_root()
    root.meta.setdefault(_META_KEY, {}).setdefault(engine, {})[name] = value


def engine_overrides(context: click.Context | None = None) -> dict[str, dict[str, Any]]:
    """The engine settings recorded on ``context`` (default: the current one), per engine name."""
    context = context or click.get_current_context(silent=True)
    if context is None:
        return {}
    return {engine: dict(values) for engine, values in context.find_root().meta.get(_META_KEY, {}).items()}
