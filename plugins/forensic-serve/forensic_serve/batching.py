"""Batching across concurrent requests: calls that arrive while a component is busy run as one batch.

Every detector, localizer and explainer takes a list of items and returns one result per item, in order, and
the contract suites check that a batch gives the same results as the items one by one. So when several
analyses reach the same component at once, their items can be concatenated into one call and the results
split back. :class:`BatchingPool` wraps each such component in a :class:`Batcher`: the caller that finds the
component idle runs at once (no waiting window, so a lone request is not slowed); callers that arrive while it
runs queue up, and the next of them runs everything queued as one batch. A batch that fails is retried request
by request, so one bad input does not fail the others.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from forensic_core.components import ComponentKind
from forensic_core.pipeline import ComponentEntry
from forensic_core.pool import Built, ComponentPool

BATCHED_METHODS = {
    ComponentKind.DETECTOR: "detect",
    ComponentKind.LOCALIZER: "localize",
    ComponentKind.EXPLAINER: "explain",
}


@dataclass(eq=False)
class _Request:
    items: list[Any]
    options: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    results: list[Any] | None = None
    error: BaseException | None = None


def _key(options: dict[str, Any]) -> Hashable:
    """Requests batch together when their other arguments agree: an explainer's detector (the same object) and
    whether detections were given (they are concatenated like the items)."""
    return tuple(
        sorted((name, value is None if name == "detections" else id(value)) for name, value in options.items())
    )


def _merged(requests: Sequence[_Request]) -> dict[str, Any]:
    options = dict(requests[0].options)
    if options.get("detections") is not None:
        options["detections"] = [d for request in requests for d in request.options["detections"]]
    return options


class Batcher:
    """A component proxy whose batch method merges concurrent calls; every other attribute is the component's.

    Only one call of the wrapped component runs at a time (so the pool needs no lock of its own for it).
    ``batches`` and ``items`` count the calls made and the items they held.
    """

    def __init__(self, inner: Any, method: str, max_items: int = 32) -> None:
        self._inner = inner
        self._method = getattr(inner, method)
        self._name = method
        self.max_items = max(1, max_items)
        self._queue: list[_Request] = []
        self._changed = threading.Condition()
        self._runner = threading.Lock()
        self.batches = 0
        self.items = 0

    def __getattr__(self, name: str) -> Any:
        if name == self.__dict__.get("_name"):
            return self.call
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken into a batch."""
        with self._changed:
            return len(self._queue)

    def wait_until(self, waiting: int, timeout: float) -> bool:
        """Block until ``waiting`` requests are queued (for tests and diagnostics)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._queue) >= waiting, timeout=timeout)

    def call(self, items: Sequence[Any], **options: Any) -> list[Any]:
        request = _Request(list(items), options)
        with self._changed:
            self._queue.append(request)
            self._changed.notify_all()
        with self._runner:
            while not request.done.is_set():
                self._run(self._take(request))
        if request.error is not None:
            raise request.error
        assert request.results is not None
        return request.results

    def _take(self, request: _Request) -> list[_Request]:
        """The oldest queued requests that agree with the first one, up to ``max_items`` items."""
        with self._changed:
            key = _key(self._queue[0].options)
            taken: list[_Request] = []
            count = 0
            for queued in self._queue:
                if _key(queued.options) != key or (taken and count + len(queued.items) > self.max_items):
                    continue
                taken.append(queued)
                count += len(queued.items)
            self._queue = [queued for queued in self._queue if queued not in taken]
            self._changed.notify_all()
        return taken

    def _run(self, requests: list[_Request]) -> None:
        if len(requests) > 1:
            try:
                results = self._invoke([item for r in requests for item in r.items], _merged(requests))
            except Exception:
                results = None  # retried one by one below: each request gets its own result or error
            if results is not None and len(results) == sum(len(r.items) for r in requests):
                start = 0
                for request in requests:
                    request.results = results[start : start + len(request.items)]
                    start += len(request.items)
                    request.done.set()
                return
        for request in requests:
            try:
                request.results = self._invoke(request.items, request.options)
            except BaseException as exc:  # handed to the caller, whose analysis records the failure
                request.error = exc
            request.done.set()

    def _invoke(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        results = list(self._method(items, **options))
        self.batches += 1
        self.items += len(items)
        return results


class BatchingPool(ComponentPool):
    """A component pool whose detectors, localizers and explainers batch concurrent calls."""

    def __init__(self, max_items: int = 32) -> None:
        super().__init__()
        self.max_items = max_items

    def _build(self, entry: ComponentEntry) -> Built:
        built = super()._build(entry)
        method = BATCHED_METHODS.get(entry.component.kind)
        if method is None:
            return built
        return Built(entry, Batcher(built.instance, method, self.max_items), lock=None)

    def batchers(self) -> list[tuple[str, Batcher]]:
        """Every batching component with its label, for statistics."""
        with self._lock:
            built = list(self._built.values())
        return [(f"{b.entry.role}:{b.entry.label}", b.instance) for b in built if isinstance(b.instance, Batcher)]
