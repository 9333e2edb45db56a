"""Built components, keyed by pipeline entry, kept across runs.

A server or a long-lived worker analyses many inputs, often through several runs of one pipeline: each model is
built once per process. Components of one pool share one :class:`~forensic_core.context.BuildContext`, so
entries that share a model (KFD's detector and localizer) share it across pipelines too. Calls to components that
do not declare ``thread_safe`` are serialised by a per-instance lock; a shared model's own state (hooks, caches)
is the plugin's to guard when two of its components can be called at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from forensic_core.api import member
from forensic_core.components import ComponentKind
from forensic_core.context import BuildContext
from forensic_core.errors import ComponentError, ForensicError, one_line
from forensic_core.pipeline import ComponentEntry
from forensic_core.protocols import Identified

PROTOCOL_METHODS = {
    ComponentKind.DETECTOR: "detect",
    ComponentKind.LOCALIZER: "localize",
    ComponentKind.EXPLAINER: "explain",
    ComponentKind.DIALOG: "reply",
    ComponentKind.FACE_DETECTOR: "detect_faces",
}


@dataclass
class Built:
    """A built component, the lock its calls take, and the time spent in it."""

    entry: ComponentEntry
    instance: Any
    lock: threading.Lock | None = None
    seconds: float = 0.0

    def weights(self) -> str | None:
        return self.instance.weights_identity() if isinstance(self.instance, Identified) else None

    def settings(self) -> dict[str, Any]:
        """The settings for provenance: the component's ``effective_settings()`` when it has that optional
        member (settings a model file decided), else the pipeline's."""
        effective = member(self.instance, "effective_settings")
        if callable(effective):
            return dict(effective())
        return self.entry.settings.model_dump(mode="json")


def entry_key(entry: ComponentEntry) -> Hashable:
    """Two entries build the same instance when they name the same component with the same settings."""
    settings = json.dumps(entry.settings.model_dump(mode="json"), sort_keys=True)
    return (entry.component.kind, entry.component.qualified_name, entry.component.version, settings)


@dataclass
class ComponentPool:
    """Builds each distinct component once and hands out the same instance afterwards."""

    context: BuildContext = field(default_factory=BuildContext)
    _built: dict[Hashable, Built] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, entry: ComponentEntry) -> Built:
        """The instance for ``entry``, built on first use (its lazy factory imports heavy libraries here)."""
        key = entry_key(entry)
        with self._lock:
            built = self._built.get(key)
            if built is None:
                built = self._built[key] = self._build(entry)
        if built.entry is entry:
            return built
        return Built(entry=entry, instance=built.instance, lock=built.lock)

    def _build(self, entry: ComponentEntry) -> Built:
        spec = entry.component.spec
        try:
            instance = spec.resolve_factory()(entry.settings, self.context)
        except ForensicError:
            raise
        except Exception as exc:
            raise ComponentError(
                f"cannot build {entry.component.kind.value} {entry.name!r} "
                f"({entry.component.plugin} {entry.component.version}): {one_line(exc)}"
            ) from exc
        method = PROTOCOL_METHODS[entry.component.kind]
        if not callable(getattr(instance, method, None)):
            raise ComponentError(f"{entry.component.kind.value} {entry.name!r} has no {method}() method")
        return Built(entry, instance, lock=None if spec.thread_safe else threading.Lock())

    def close(self) -> None:
        """Close every instance that has ``close()`` and the shared objects of the build context."""
        with self._lock:
            built, self._built = list(self._built.values()), {}
        for item in built:
            close = getattr(item.instance, "close", None)
            if callable(close):
                close()
        self.context.close()
