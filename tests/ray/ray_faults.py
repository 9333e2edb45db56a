"""Components that misbehave on purpose, registered in the test process and in every Ray worker of the session.

Ray workers discover installed plugins only; the session's Ray instance runs :func:`setup_worker` in each
worker process (``worker_process_setup_hook``), which adds this plugin to every registry discovered there, so
the fault detectors exist on both sides without being installed. Each detector scores like ``bright`` (mean
brightness) on inputs it does not target, and targets inputs by a word in their file name.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, Detection, MediaItem, current_input, hookimpl
from forensic_core.errors import MissingWeightsError


class TargetSettings(ComponentSettings):
    word: str = Field(description="inputs whose file name contains this word are targeted")
    marker: str = Field("", description="crash-once: file created at the first crash (the crash happens once)")


def _targeted(settings: TargetSettings) -> bool:
    context = current_input()
    return context is not None and settings.word in Path(context.ref.relpath).name


def _scores(items: Sequence[MediaItem]) -> list[Detection]:
    return [Detection.from_score(float(item.image.mean()) / 255.0) for item in items]


class CrashOnce:
    """Kills its own process (SIGKILL, as the kernel's OOM killer would) at the first targeted input."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        marker = Path(self.settings.marker)
        if _targeted(self.settings) and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return _scores(items)


class CrashAlways:
    """Kills its own process at every targeted input (an input no retry can save)."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        if _targeted(self.settings):
            os.kill(os.getpid(), signal.SIGKILL)
        return _scores(items)


class Hang:
    """Never returns on a targeted input (waits on an event nobody sets)."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        if _targeted(self.settings):
            threading.Event().wait()
        return _scores(items)


class Raises:
    """Raises on a targeted input (a component failure: an error result, or the end of a fail-fast run)."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        if _targeted(self.settings):
            raise ValueError("this targeted input is refused")
        return _scores(items)


class BatchProbe:
    """Brightness scores, each detection naming the size of the call it came from (batching tests)."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [Detection.from_score(d.score, details={"call_items": len(items)}) for d in _scores(items)]


def _unbuildable(settings: Any, context: Any) -> Any:
    raise MissingWeightsError("fault-weights.bin is missing; put it in ~/.cache/fault or use another detector")


class FaultPlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("crash-once", "dies once", TargetSettings, lambda s, ctx: CrashOnce(s), thread_safe=True),
            ComponentSpec("crash-always", "dies always", TargetSettings, lambda s, ctx: CrashAlways(s)),
            ComponentSpec("hang", "never returns", TargetSettings, lambda s, ctx: Hang(s), thread_safe=True),
            ComponentSpec("raises", "raises", TargetSettings, lambda s, ctx: Raises(s), thread_safe=True),
            ComponentSpec("unbuildable", "cannot be built", factory=_unbuildable),
            ComponentSpec("batch-probe", "records call sizes", factory=lambda s, ctx: BatchProbe()),
        ]


PLUGIN_NAME = "ray-test-faults"


def register(registry: Any) -> None:
    info = registry.register(FaultPlugin(), PLUGIN_NAME, "0.1", entry_point="(test)")
    assert info.status == "loaded", info.error


def setup_worker() -> None:
    """``worker_process_setup_hook``: every registry a Ray worker discovers also holds the fault plugin."""
    from forensic_core.registry import Registry

    original = Registry.discover.__func__  # type: ignore[attr-defined]

    def discover(cls: type[Registry], **kwargs: Any) -> Registry:
        registry = original(cls, **kwargs)
        register(registry)
        return registry

    Registry.discover = classmethod(discover)  # type: ignore[method-assign,assignment]
