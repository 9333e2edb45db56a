"""Load pydantic's own plugins so that one installed package with a malformed entry_points.txt breaks nothing.

pydantic looks for its plugins (entry-point group ``pydantic``) the first time any model class is created, and
it reads every installed distribution's entry_points.txt to do so. One unreadable file anywhere in the
environment (a line without ``=``, left by a broken install of some unrelated package) raises inside that first
class creation, which happens when ``forensic_core`` is imported: every ``forensic`` command, ``--help``
included, would die with a traceback before the host's own isolating discovery could run.

:func:`load_pydantic_plugins` does pydantic's loading first, reading distribution by distribution and skipping
(and remembering) the ones whose metadata cannot be read, then hands pydantic the result, so pydantic never
reads the metadata itself. It honours ``PYDANTIC_DISABLE_PLUGINS`` as pydantic does. If pydantic's private
loader ever changes shape, this does nothing and pydantic behaves as it always has.
"""

from __future__ import annotations

import os
import warnings
from importlib import metadata

__all__ = ["broken_distributions", "load_pydantic_plugins"]

# Importing this module runs the loading once (forensic_core imports it before any of its model classes).

_GROUP = "pydantic"
_BROKEN: list[tuple[str, str, str]] = []


def broken_distributions() -> list[tuple[str, str, str]]:
    """(name, version, reason) of each installed distribution whose entry points could not be read."""
    return list(_BROKEN)


def load_pydantic_plugins() -> None:
    """Fill pydantic's plugin cache the way pydantic would, isolating distributions with unreadable metadata."""
    try:
        from pydantic.plugin import _loader
    except ImportError:
        return
    if not hasattr(_loader, "_plugins") or _loader._plugins is not None or _loader._loading_plugins:
        return
    disabled = os.getenv("PYDANTIC_DISABLE_PLUGINS")
    if disabled in ("__all__", "1", "true"):
        return
    plugins: dict[str, object] = {}
    _loader._loading_plugins = True
    try:
        for entry_point in _entry_points():
            if entry_point.value in plugins:
                continue
            if disabled is not None and entry_point.name in disabled.split(","):
                continue
            try:
                plugins[entry_point.value] = entry_point.load()
            except (ImportError, AttributeError) as exc:
                warnings.warn(
                    f"{exc.__class__.__name__} while loading the `{entry_point.name}` Pydantic plugin, "
                    f"this plugin will not be installed.\n\n{exc!r}",
                    stacklevel=2,
                )
    finally:
        _loader._loading_plugins = False
    _loader._plugins = plugins  # type: ignore[assignment]


def _entry_points() -> list[metadata.EntryPoint]:
    found: list[metadata.EntryPoint] = []
    for dist in metadata.distributions():
        try:
            found.extend(ep for ep in dist.entry_points if ep.group == _GROUP)
        except Exception as exc:
            from forensic_core.errors import one_line

            _BROKEN.append((*_name_and_version(dist), one_line(exc, limit=200, bare=())))
    return found


def _name_and_version(dist: metadata.Distribution) -> tuple[str, str]:
    try:
        name = dist.metadata["Name"] or "unknown"
    except Exception:
        name = "unknown"
    try:
        version = dist.version or "unknown"
    except Exception:
        version = "unknown"
    return str(name), str(version)


load_pydantic_plugins()
