"""The engine seam: what an execution engine is handed and what it hands back.

An engine runs a :class:`RunPlan` — ordered, serialisable input references with stable ids plus the resolved
pipeline — and delivers each input's result to a :class:`ResultSink` (the journal) as soon as it is finished,
reporting progress to a :class:`~forensic_core.events.RunObserver`. It never assembles reports: the journal is
the only place results go, so any engine (a local loop, a Ray cluster, a server's workers) gets resume,
interruption and custody from the host for free. The per-input work itself is done by
:class:`~forensic_core.engine.worker.InputWorker`, which any engine can run wherever it places work.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from forensic_core.events import RunObserver
    from forensic_core.pipeline import Pipeline
    from forensic_core.pool import ComponentPool
    from forensic_core.registry import Registry
    from forensic_core.report import ComponentProvenance, InputResult


@dataclass(frozen=True)
class InputRef:
    """One input of a plan, serialisable (plain strings and ints), identified independently of where it runs.

    ``id`` is derived from the path relative to the input root, the size and the modification time: the same
    file listed again (from a moved folder, by another engine) gets the same id, an edited file a new one.
    ``source`` is how reports name it (the path as the user gave it or as found in the folder given).
    """

    id: str
    source: str
    path: str
    relpath: str
    size: int
    mtime_ns: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "path": self.path,
            "relpath": self.relpath,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputRef:
        return cls(**{key: data[key] for key in ("id", "source", "path", "relpath", "size", "mtime_ns")})


@dataclass(frozen=True)
class WorkerOptions:
    """How inputs are analysed, independent of the engine (serialisable).

    ``batch_size`` caps the items per call of each detector, localizer and explainer, joined across inputs
    (None: what each component prefers, else 1); ``workers`` is how many inputs are in flight at once (None: the
    largest batch size, so that batches fill). See :mod:`forensic_core.engine.batching`. ``input_timeout_s``
    abandons an input still being analysed after that many seconds (recorded as failed; None: no limit).
    """

    outdir: str
    save_npy: bool = False
    fail_fast: bool = False
    collect_artifacts: bool = False
    batch_size: int | None = None
    workers: int | None = None
    input_timeout_s: float | None = None


@dataclass(frozen=True)
class RunPlan:
    """Everything an engine needs to run, and nothing that only lives in this process.

    ``document`` is the validated pipeline mapping: a remote worker rebuilds the :class:`Pipeline` from it with
    its own registry (``load_pipeline(plan.document, registry)``); ``pipeline`` is the local copy. ``registry``
    and ``pool`` are this process's objects (a server passes its long-lived pool): engines that run work in
    other processes ignore them.
    """

    pipeline: Pipeline
    document: Mapping[str, Any]
    digest: str
    inputs: Sequence[InputRef]
    options: WorkerOptions
    registry: Registry | None = None
    pool: ComponentPool | None = None


@runtime_checkable
class ResultSink(Protocol):
    """Where an engine delivers results: the journal. Both methods are called from the engine's driver thread."""

    def provenance(self, records: Sequence[ComponentProvenance]) -> None:
        """The built components' provenance, once, before the first result (may refuse a resume)."""

    def write(self, result: InputResult, files: Mapping[str, bytes] | None = None) -> None:
        """Persist one finished input; ``files`` are artifacts a remote worker collected instead of writing."""


class StopToken:
    """Set by signal handlers (or a server shutting down): engines start no new input once it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()


@runtime_checkable
class Engine(Protocol):
    """Runs a plan. Built by a spec registered with ``forensic_register_engines`` as ``factory(settings, context)``.

    ``run`` returns when every input was delivered to ``sink`` or ``stop`` was set; it must deliver a result
    (ok or error) for every input it started, and raise only for failures of the run itself (a component that
    cannot be built, a refused resume).
    """

    def run(self, plan: RunPlan, sink: ResultSink, observer: RunObserver, stop: StopToken) -> None: ...


@dataclass
class InputContext:
    """The input being analysed, for wrappers and components that record their own data.

    ``extensions`` becomes the result's ``extensions`` (JSON data keyed by plugin name).
    """

    ref: InputRef
    outdir: Path | None
    extensions: dict[str, Any] = field(default_factory=dict)


_current_input: contextvars.ContextVar[InputContext | None] = contextvars.ContextVar("forensic_input", default=None)


def current_input() -> InputContext | None:
    """The input the calling component or wrapper is analysing (None outside an analysis)."""
    return _current_input.get()
