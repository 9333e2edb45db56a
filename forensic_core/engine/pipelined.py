"""Several inputs in flight at once: worker threads of one :class:`~forensic_core.engine.batching.Crew`.

Why threads: the work of an input is decoding (PIL, OpenCV and NumPy release the GIL), hashing (hashlib does
too) and model calls (torch does too); while one input waits for a batch to fill, others decode. The number of
threads bounds what is held: at most ``workers`` inputs are open at once, each with its items.

Results come back to the caller's thread in completion order (the journal does not care about order), so the
caller (the engine's driver) stays the only writer of the journal. Every input a worker takes is finished and
yielded; once ``stopped()`` is true no worker takes another. A worker's exception (fail-fast) stops the others
from taking inputs and is raised in the caller after the inputs in flight are delivered.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from forensic_core.engine.batching import Crew

In = TypeVar("In")
Out = TypeVar("Out")
_POLL_S = 0.2


class _Feed(Generic[In]):
    """The shared iterator of inputs: one at a time, none once stopped."""

    def __init__(self, items: Iterable[In], stopped: Callable[[], bool]) -> None:
        self._items = iter(items)
        self._stopped = stopped
        self._lock = threading.Lock()
        self.closed = False

    def next(self) -> tuple[bool, In | None]:
        with self._lock:
            if self.closed or self._stopped():
                return False, None
            for item in self._items:
                return True, item
            self.closed = True
            return False, None


def run_concurrently(
    work: Callable[[In], Out],
    items: Iterable[In],
    *,
    workers: int,
    crew: Crew,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[Out]:
    """``work(item)`` for each item on ``workers`` threads (crew members), yielded in the caller's thread as each
    finishes. The threads run in copies of the caller's context (the registry in use, for one)."""
    feed: _Feed[In] = _Feed(items, stopped)
    done: queue.Queue[tuple[str, object]] = queue.Queue()

    count = max(1, workers)
    ready = threading.Barrier(count)

    def loop() -> None:
        try:
            with crew.member():
                ready.wait()  # all are members before any input starts: the first batch is not cut short
                while True:
                    more, item = feed.next()
                    if not more:
                        return
                    try:
                        done.put(("ok", work(item)))  # type: ignore[arg-type]
                    except BaseException as exc:  # fail-fast, or a bug: the driver raises it
                        feed.closed = True
                        done.put(("error", exc))
                        return
        finally:
            done.put(("exit", None))

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(loop,), name=f"forensic-input-{n}", daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    running, error = len(threads), None
    try:
        while running:
            try:
                kind, value = done.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "exit":
                running -= 1
            elif kind == "error":
                error = error or value
            else:
                yield value  # type: ignore[misc]
    finally:
        feed.closed = True  # the caller stopped listening (Ctrl-C twice, an error): no worker starts another
    if isinstance(error, BaseException):
        raise error
