"""What a component factory receives besides its settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class BuildContext:
    """Per-pipeline state shared by the factories of one pipeline.

    ``shared(key, build)`` returns one object per key for the lifetime of the pipeline, so that e.g. the KFD
    detector and localizer of the same pipeline share one loaded model instead of loading it twice.
    """

    cache: dict[Hashable, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shared(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self.cache:
                self.cache[key] = build()
            return self.cache[key]

    def close(self) -> None:
        """Release shared objects that have a ``close`` method."""
        for value in self.cache.values():
            close = getattr(value, "close", None)
            if callable(close):
                close()
        self.cache.clear()
