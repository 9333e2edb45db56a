"""Registration module of forensic-ray (entry point ``forensic.plugins: ray``): the core and pydantic only.

Ray itself is imported by :mod:`forensic_ray.engine`, which the factory names by import string and which is
loaded only when a run chooses ``--engine ray``.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensic_core import ComponentSpec, hookimpl
from forensic_ray.settings import RaySettings


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
