"""Batching across inputs: concurrent calls of one component joined into one call, results split back in order.

Every detector, localizer and explainer takes a list of items and returns one result per item, in order (the
contract suites check that a batch gives the same results as its items one by one). So when several inputs
reach the same component at once, their items can be concatenated into one call. A :class:`Batcher` wraps such
a component; the batchers of one run share a :class:`Crew`, the set of worker threads analysing inputs.

When does a batch run? Without timers, so that batch sizes are exact and tests can state them:

* when the queued calls of a component hold ``max_items`` items (full), or
* when every live worker of the crew is waiting on some batcher (nobody else can add to any batch), the batcher
  holding the oldest queued call runs, or
* for a caller that is not a crew member (a server's request threads), as soon as the component is idle: the
  first caller runs at once and calls that arrive meanwhile make up the next batch.

A call is never split (a video's frames stay in one call); a batch that fails is retried call by call, so a bad
input fails alone. A batch spanning several inputs runs with :func:`~forensic_core.engine.current_input` unset
(it would name one input for items of several); a call run alone runs in its caller's context.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from forensic_core.api import member
from forensic_core.components import ComponentKind
from forensic_core.engine.base import _current_input
from forensic_core.pipeline import ComponentEntry
from forensic_core.pool import Built, ComponentPool

BATCHED_METHODS = {
    ComponentKind.DETECTOR: "detect",
    ComponentKind.LOCALIZER: "localize",
    ComponentKind.EXPLAINER: "explain",
}
DEFAULT_BATCH_SIZE = 1
MAX_AUTO_WORKERS = 64


def preferred_batch_size(instance: Any) -> int:
    """The batch a component asks for (its optional ``preferred_batch_size`` attribute, which may depend on the
    device it was built on), else the host's default of 1: batching only pays where a component says so."""
    value = member(instance, "preferred_batch_size")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return DEFAULT_BATCH_SIZE
    return value


@dataclass(eq=False)
class _Call:
    items: list[Any]
    options: dict[str, Any]
    order: int
    member: bool
    context: contextvars.Context
    taken: bool = False
    counted: bool = False
    done: bool = False
    results: list[Any] | None = None
    error: BaseException | None = None


def _key(options: dict[str, Any]) -> Hashable:
    """Calls batch together when their other arguments agree: an explainer's detector (the same object) and
    whether detections were given (they are concatenated like the items)."""
    return tuple(
        sorted((name, value is None if name == "detections" else id(value)) for name, value in options.items())
    )


def _merged(calls: Sequence[_Call]) -> dict[str, Any]:
    options = dict(calls[0].options)
    if options.get("detections") is not None:
        options["detections"] = [d for call in calls for d in call.options["detections"]]
    return options


class Crew:
    """The worker threads of one run and the batchers they call: decides when a partial batch may run.

    A worker thread is a member between :meth:`member` entering and leaving (for all its inputs, not one:
    between two inputs it is busy, not waiting). All state is guarded by one condition shared by the batchers.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.batchers: list[Batcher] = []
        self._members: set[int] = set()
        self.waiting = 0
        self._order = itertools.count()

    @contextmanager
    def member(self) -> Iterator[None]:
        """The calling thread is a worker of this crew while inside."""
        ident = threading.get_ident()
        with self.changed:
            self._members.add(ident)
        try:
            yield
        finally:
            with self.changed:
                self._members.discard(ident)
                self.changed.notify_all()

    def is_member(self) -> bool:
        return threading.get_ident() in self._members

    @property
    def live(self) -> int:
        return len(self._members)

    def next_order(self) -> int:
        return next(self._order)

    def all_waiting(self) -> bool:
        """Every live member is blocked on a queued call (called with ``changed`` held)."""
        return bool(self._members) and self.waiting >= len(self._members)

    def oldest(self) -> Batcher | None:
        """The idle batcher holding the oldest queued call (called with ``changed`` held)."""
        candidates = [b for b in self.batchers if b.queue and not b.running]
        return min(candidates, key=lambda b: b.queue[0].order, default=None)


class Batcher:
    """A component proxy whose batch method joins concurrent calls; every other attribute is the component's.

    One call of the wrapped component runs at a time (so the pool needs no lock of its own for it).
    ``batches`` and ``items`` count the calls made and the items they held; ``sizes`` the last batches' sizes.
    """

    def __init__(self, inner: Any, method: str, max_items: int = 32, crew: Crew | None = None) -> None:
        self._inner = inner
        self._method: Callable[..., Any] = getattr(inner, method)
        self._name = method
        self.max_items = max(1, max_items)
        self.crew = crew or Crew()
        self.crew.batchers.append(self)
        self.queue: list[_Call] = []
        self.running = False
        self.batches = 0
        self.items = 0
        self.sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        if name == self.__dict__.get("_name"):
            return self.call
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    @property
    def inner(self) -> Any:
        return self._inner

    @property
    def waiting(self) -> int:
        """Calls queued and not yet taken into a batch."""
        with self.crew.changed:
            return len(self.queue)

    def wait_until(self, waiting: int, timeout: float) -> bool:
        """Block until ``waiting`` calls are queued (for tests and diagnostics)."""
        with self.crew.changed:
            return self.crew.changed.wait_for(lambda: len(self.queue) >= waiting, timeout=timeout)

    def call(self, items: Sequence[Any], **options: Any) -> list[Any]:
        crew = self.crew
        with crew.changed:
            call = _Call(list(items), options, crew.next_order(), crew.is_member(), contextvars.copy_context())
            self.queue.append(call)
            crew.changed.notify_all()
            while not call.done:
                batch = self._ready(call)
                if batch is None:
                    crew.changed.wait()
                    continue
                if call.counted:  # leading a batch that left this call queued: busy, not waiting
                    call.counted, crew.waiting = False, crew.waiting - 1
                self.running = True
                crew.changed.release()
                try:
                    self._run(batch)
                finally:
                    crew.changed.acquire()
                    self.running = False
                    crew.changed.notify_all()
            if call.counted:
                call.counted = False
                crew.waiting -= 1
        if call.error is not None:
            raise call.error
        assert call.results is not None
        return call.results

    def _ready(self, call: _Call) -> list[_Call] | None:
        """The batch the caller should run now, or None to wait (called with the crew's condition held)."""
        crew = self.crew
        if call.member and not call.taken and not call.counted:
            call.counted, crew.waiting = True, crew.waiting + 1
            crew.changed.notify_all()  # this may be the last member to wait: whoever leads must look again
        if call.taken or self.running or not self.queue:
            return None
        head = _key(self.queue[0].options)
        queued = sum(len(c.items) for c in self.queue if _key(c.options) == head)
        ready = queued >= self.max_items or not call.member or (crew.all_waiting() and crew.oldest() is self)
        if not ready:
            return None
        return self._take()

    def _take(self) -> list[_Call]:
        """The oldest queued calls that agree with the first one, up to ``max_items`` items (one call at least)."""
        key = _key(self.queue[0].options)
        taken: list[_Call] = []
        count = 0
        for queued in self.queue:
            if _key(queued.options) != key or (taken and count + len(queued.items) > self.max_items):
                continue
            taken.append(queued)
            count += len(queued.items)
        self.queue = [queued for queued in self.queue if queued not in taken]
        for chosen in taken:
            chosen.taken = True
            if chosen.counted:
                chosen.counted, self.crew.waiting = False, self.crew.waiting - 1
        return taken

    def _run(self, calls: list[_Call]) -> None:
        """Run a batch and hand each call its results; every call taken is finished, whatever happens."""
        try:
            if len(calls) > 1:
                items = [item for c in calls for item in c.items]
                try:
                    results = _unset_input().run(self._invoke, items, _merged(calls))
                except BaseException:
                    results = None  # retried call by call below: each call gets its own result or error
                if results is not None and len(results) == len(items):
                    start = 0
                    for call in calls:
                        call.results = results[start : start + len(call.items)]
                        start += len(call.items)
                        call.done = True
                    return
            for call in calls:
                try:
                    call.results = call.context.run(self._invoke, call.items, call.options)
                except BaseException as exc:  # handed to the caller, whose analysis records the failure
                    call.error = exc
                call.done = True
        finally:
            for call in calls:
                if not call.done:
                    call.error, call.done = RuntimeError("the batch holding this call was abandoned"), True

    def _invoke(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        results = list(self._method(items, **options))
        with self.crew.changed:
            self.batches += 1
            self.items += len(items)
            self.sizes = [*self.sizes[-255:], len(items)]
        return results


def _unset_input() -> contextvars.Context:
    context = contextvars.copy_context()
    context.run(_current_input.set, None)
    return context


def batched(built: Built, crew: Crew, max_items: int) -> Built:
    """``built`` with its instance wrapped in a :class:`Batcher` of ``crew`` (kinds without batches unchanged)."""
    method = BATCHED_METHODS.get(built.entry.component.kind)
    if method is None or isinstance(built.instance, Batcher):
        return built
    return Built(built.entry, Batcher(built.instance, method, max_items, crew), lock=None, seconds=built.seconds)


@dataclass
class BatchPlan:
    """How one run batches: the crew, each batched component's batch size, and the worker threads to run."""

    crew: Crew
    sizes: dict[str, int] = field(default_factory=dict)
    workers: int = 1

    @property
    def batching(self) -> bool:
        return self.workers > 1


def plan_batches(
    built: dict[tuple[str, str], Built], batch_size: int | None, workers: int | None
) -> tuple[dict[tuple[str, str], Built], BatchPlan]:
    """Wrap the batchable components of a run for cross-input batching.

    ``batch_size`` (``--batch-size``) caps every component's batches; None takes each component's preferred
    size. ``workers`` (``--workers``) is how many inputs are in flight at once; None makes it the largest batch
    size (so that batches can fill), at most :data:`MAX_AUTO_WORKERS`. With one worker nothing is wrapped: one
    input at a time batches only its own items, as before. Two entries sharing one instance share its batcher.
    """
    crew = Crew()
    sizes: dict[str, int] = {}
    batchable = {key: b for key, b in built.items() if b.entry.component.kind in BATCHED_METHODS}
    for key, item in batchable.items():
        inner = item.instance.inner if isinstance(item.instance, Batcher) else item.instance
        sizes[f"{key[0]}:{key[1]}"] = batch_size or preferred_batch_size(inner)
    chosen = workers or min(MAX_AUTO_WORKERS, max(sizes.values(), default=1))
    plan = BatchPlan(crew=crew, sizes=sizes, workers=max(1, chosen))
    if not plan.batching:
        return dict(built), plan
    wrapped: dict[tuple[str, str], Built] = {}
    by_instance: dict[tuple[int, str], Batcher] = {}
    for key, item in built.items():
        if key not in batchable:
            wrapped[key] = item
            continue
        inner = item.instance.inner if isinstance(item.instance, Batcher) else item.instance
        method = BATCHED_METHODS[item.entry.component.kind]
        batcher = by_instance.get((id(inner), method))
        if batcher is None:
            batcher = by_instance[(id(inner), method)] = Batcher(inner, method, sizes[f"{key[0]}:{key[1]}"], crew)
        wrapped[key] = Built(item.entry, batcher, lock=None, seconds=item.seconds)
    return wrapped, plan


class BatchingPool(ComponentPool):
    """A component pool whose detectors, localizers and explainers batch concurrent calls (a server's pool)."""

    def __init__(self, max_items: int = 32) -> None:
        super().__init__()
        self.max_items = max_items
        self.crew = Crew()

    def _build(self, entry: ComponentEntry) -> Built:
        return batched(super()._build(entry), self.crew, self.max_items)

    def batchers(self) -> list[tuple[str, Batcher]]:
        """Every batching component with its label, for statistics."""
        with self._lock:
            built = list(self._built.values())
        return [(f"{b.entry.role}:{b.entry.label}", b.instance) for b in built if isinstance(b.instance, Batcher)]
