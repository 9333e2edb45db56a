"""Install hints for components that first-party plugins provide but that are installed separately.

The core must not depend on them (Ray is hundreds of megabytes), yet ``--engine ray`` without the plugin should
say how to get it rather than only that the name is unknown. The registry's unknown-component message appends
the hint for a name listed here; plugin authors need nothing from this module.
"""

from __future__ import annotations

from collections.abc import Mapping

INSTALL_HINTS: Mapping[tuple[str, str], str] = {
    ("engine", "ray"): (
        "the ray engine is the forensic-ray plugin: pip install forensic-ray "
        "(in a checkout: pip install -e plugins/forensic-ray)"
    ),
}


def install_hint(kind: str, name: str) -> str | None:
    """How to install the plugin that provides component ``name`` of ``kind`` (``"engine"``), if known."""
    return INSTALL_HINTS.get((kind, name.partition(":")[2] or name))
