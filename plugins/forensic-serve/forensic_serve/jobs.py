"""A bounded queue of analyses in front of a fixed number of worker threads.

A server must not accept more work than it can hold: at most ``workers`` analyses run and ``queue_size`` wait;
one more is refused at once (the API answers 429 with Retry-After) instead of piling up requests that time out.
Each analysis id is run once even when it is submitted twice (a restart re-queues unfinished ones).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class QueueFull(Exception):
    """Every worker is busy and the waiting queue is full."""


class JobQueue:
    """Runs ``work(analysis_id)`` on ``workers`` threads, holding at most ``workers + queue_size`` jobs."""

    def __init__(self, work: Callable[[str], None], *, workers: int, queue_size: int) -> None:
        self._work = work
        self.capacity = workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="forensic-serve")
        self._lock = threading.Lock()
        self._jobs: dict[str, Future[None]] = {}

    def submit(self, analysis_id: str) -> Future[None]:
        """Queue an analysis (or return the job already queued for it); raise :class:`QueueFull` when full."""
        with self._lock:
            existing = self._jobs.get(analysis_id)
            if existing is not None:
                return existing
            if len(self._jobs) >= self.capacity:
                raise QueueFull(f"{len(self._jobs)} analyses are running or waiting; try again shortly")
            future = self._executor.submit(self._work, analysis_id)
            self._jobs[analysis_id] = future
        future.add_done_callback(lambda _f: self._forget(analysis_id))
        return future

    def _forget(self, analysis_id: str) -> None:
        with self._lock:
            self._jobs.pop(analysis_id, None)

    def pending(self, analysis_id: str) -> bool:
        with self._lock:
            return analysis_id in self._jobs

    @property
    def load(self) -> int:
        """Jobs running or waiting."""
        with self._lock:
            return len(self._jobs)

    def close(self) -> None:
        """Stop: waiting jobs are cancelled (they stay unfinished on disk and resume at the next start)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
