"""Inputs that can be abandoned: the local engine's work in a supervised child process (``--input-timeout S``).

A decoder or model stuck in C code cannot be interrupted from inside the process: a thread cannot be killed,
and a C call that holds the GIL stops every Python thread with it, signal handlers included. Only a process can
be abandoned reliably. So with a per-input limit the parent forks one worker process, which builds the components
and runs the local engine's normal per-input code (:meth:`InputWorker.process_all`, with its worker threads and
cross-input batching) over inputs it asks the parent for one at a time; results (and artifact bytes) come back
over a pipe and the parent, the only writer, journals them. The parent knows when it handed each input over:
past ``S`` seconds it kills the worker (SIGKILL works whatever the worker is doing), records that input as
failed ("timed out after S s"), hands the worker's other unfinished inputs to a fresh worker and goes on. A worker
that dies by itself (a crash, the OOM killer) is replaced the same way; an input in flight at two such deaths is
recorded as failed instead of being tried again.

The worker is forked (Linux and macOS), so it inherits the registry, the pipeline and the plugins as they are in
this process (also plugins registered in-process by tests or an embedding application); the parent builds no
component itself, so a GPU is first touched in the worker. Artifacts are collected in the worker and written by
the parent with the result line, so a killed worker leaves no half-written files behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from forensic_core.engine.base import InputRef, ResultSink, RunPlan, StopToken
from forensic_core.errors import ComponentError, ForensicError
from forensic_core.events import RunObserver
from forensic_core.registry import Registry, get_registry
from forensic_core.report import ComponentProvenance, Custody, InputResult

DEATHS_ALLOWED = 1  # an input in flight at more worker deaths than this is recorded as failed
_JOIN_S = 30.0


class SupervisedEngine:
    """Runs a plan in a child process with a per-input limit of ``timeout_s`` seconds."""

    def __init__(self, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("the input timeout must be positive")
        self.timeout_s = timeout_s
        self.replaced = 0  # workers killed or lost in the last run
        self.timed_out = 0

    def run(self, plan: RunPlan, sink: ResultSink, observer: RunObserver, stop: StopToken) -> None:
        registry = plan.registry or get_registry()
        todo: deque[InputRef] = deque(plan.inputs)
        in_flight: dict[str, tuple[InputRef, float]] = {}
        deaths: dict[str, int] = {}
        recorded = False
        worker: _Worker | None = None
        self.replaced = self.timed_out = 0
        failed = True
        try:
            while todo or in_flight:
                if stop.stopped and not in_flight:
                    break
                if worker is None:
                    worker = _Worker.start(plan, registry)
                message = worker.receive(_wait(in_flight, self.timeout_s))
                if message is None:  # nothing arrived: has an input run past its limit?
                    expired = [i for i, (_r, began) in in_flight.items() if time.monotonic() - began >= self.timeout_s]
                    if not expired:
                        continue
                    worker.kill()
                    worker, self.replaced = None, self.replaced + 1
                    for key in expired:
                        ref, _began = in_flight.pop(key)
                        self._deliver(_failed(ref, f"timed out after {self.timeout_s:g} s"), None, sink, observer)
                        self.timed_out += 1
                    _requeue(todo, in_flight)
                    continue
                kind = message[0]
                if kind == "died" and not worker.ready:  # building the components kills it: so would the next
                    raise ComponentError(f"the worker process died while building the components ({message[1]})")
                if kind == "died":
                    worker, self.replaced = None, self.replaced + 1
                    for key, (ref, _began) in list(in_flight.items()):
                        deaths[key] = deaths.get(key, 0) + 1
                        if deaths[key] > DEATHS_ALLOWED:
                            del in_flight[key]
                            why = f"the worker process died while analysing it ({message[1]}), {deaths[key]} times"
                            self._deliver(_failed(ref, why), None, sink, observer)
                    _requeue(todo, in_flight)
                elif kind == "provenance":
                    worker.ready = True
                    if not recorded:
                        sink.provenance([ComponentProvenance.model_validate(p) for p in message[1]])
                        recorded = True
                elif kind == "start-failed":
                    raise _start_error(message[1], message[2])
                elif kind == "want":
                    if stop.stopped or not todo:
                        worker.send(None)
                    else:
                        ref = todo.popleft()
                        in_flight[ref.id] = (ref, time.monotonic())
                        worker.send(ref.as_dict())
                elif kind == "result":
                    result = InputResult.model_validate_json(message[1])
                    in_flight.pop(str(result.id), None)
                    self._deliver(result, message[2], sink, observer)
                    if plan.options.fail_fast and result.status != "ok":
                        stop.stop("fail-fast")
                elif kind == "fatal":  # fail-fast raised in the worker
                    raise ComponentError(str(message[1]))
                elif kind == "done" and not in_flight:
                    break
            failed = False
        finally:
            if worker is not None and failed:  # Ctrl-C twice or an error: no waiting on a hang
                worker.kill()
            elif worker is not None:
                worker.close()
            if self.replaced:
                sys.stderr.write(
                    f"engine local: {self.timed_out} input(s) abandoned after {self.timeout_s:g} s, "
                    f"{self.replaced} worker process(es) replaced\n"
                )

    @staticmethod
    def _deliver(result: InputResult, files: dict[str, bytes] | None, sink: ResultSink, observer: RunObserver) -> None:
        sink.write(result, files)
        observer.input_finished(result)


def _wait(in_flight: dict[str, tuple[InputRef, float]], timeout_s: float) -> float:
    """Seconds until the oldest input in flight reaches the limit (bounded, so stop requests are seen)."""
    if not in_flight:
        return 0.5
    oldest = min(began for _ref, began in in_flight.values())
    return max(0.0, min(0.5, oldest + timeout_s - time.monotonic()))


def _requeue(todo: deque[InputRef], in_flight: dict[str, tuple[InputRef, float]]) -> None:
    """The unfinished inputs of a lost worker go first to the next one, in the order they were handed out."""
    for ref, _began in sorted(in_flight.values(), key=lambda item: item[1], reverse=True):
        todo.appendleft(ref)
    in_flight.clear()


def _failed(ref: InputRef, why: str) -> InputResult:
    custody = Custody(path=ref.path, relpath=ref.relpath, size=ref.size, mtime_ns=ref.mtime_ns)
    return InputResult(
        source=ref.source, id=ref.id, custody=custody, status="error", error=f"{ref.source}: {why}; the run went on"
    )


def _start_error(kind: str, message: str) -> ForensicError:
    error = next((cls for cls in _error_classes() if cls.__name__ == kind), ComponentError)
    return error(message)


def _error_classes() -> list[type[ForensicError]]:
    from forensic_core import errors

    return [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, ForensicError)]


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, process: Any, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self.ready = False  # the components are built (it sent their provenance)

    @classmethod
    def start(cls, plan: RunPlan, registry: Registry) -> _Worker:
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        options = dataclasses.replace(plan.options, collect_artifacts=True)
        process = context.Process(
            target=_child_main, args=(child, parent, plan, registry, options), name="forensic-input-worker", daemon=True
        )
        process.start()
        child.close()
        return cls(process, parent)

    def receive(self, timeout: float) -> tuple[Any, ...] | None:
        """The next message, None when none came within ``timeout``, ("died", how) when the worker is gone."""
        try:
            if not self.connection.poll(timeout):
                return None
            message: tuple[Any, ...] = self.connection.recv()
            return message
        except (EOFError, OSError):
            self.process.join(_JOIN_S)
            return ("died", _how(self.process.exitcode))

    def send(self, payload: Any) -> None:
        with contextlib.suppress(OSError):  # a dead worker is noticed at the next receive
            self.connection.send(payload)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.join(_JOIN_S)
        self.connection.close()

    def close(self) -> None:
        """End the worker: it sees the closed pipe as 'no more inputs', closes its components and exits."""
        self.connection.close()
        self.process.join(_JOIN_S)
        if self.process.is_alive():
            self.kill()


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


def _child_main(connection: Connection, other_end: Connection, plan: RunPlan, registry: Registry, options: Any) -> None:
    """The worker process: build, then analyse the inputs the parent hands over; never returns normally."""
    import threading

    other_end.close()  # the fork copied the parent's end: without this the parent's close would never reach us

    from forensic_core.engine.worker import InputWorker
    from forensic_core.registry import use_registry

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    lock = threading.Lock()

    def send(*message: Any) -> None:
        with lock:
            connection.send(message)

    def refs() -> Iterator[InputRef]:
        while True:
            try:
                send("want")
                data = connection.recv()
            except (EOFError, OSError):
                return
            if data is None:
                return
            yield InputRef.from_dict(data)

    code = 0
    with use_registry(registry):
        worker = InputWorker(plan.pipeline, registry, options, pool=plan.pool)
        try:
            try:
                provenance = worker.start()
            except ForensicError as exc:
                send("start-failed", type(exc).__name__, str(exc))
                return
            except Exception as exc:
                send("start-failed", "ComponentError", f"the components cannot be built: {exc}")
                return
            send("provenance", [p.model_dump(mode="json") for p in provenance])
            try:
                for result, files in worker.process_all(refs()):
                    send("result", result.model_dump_json(), files)
            except Exception as exc:
                send("fatal", str(exc))
                code = 1
                return
            send("done")
        except (EOFError, OSError, BrokenPipeError):
            code = 1
        finally:
            with contextlib.suppress(Exception):
                worker.close()
            connection.close()
            os._exit(code)
