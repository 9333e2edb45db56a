"""The built-in engine ``local``: inputs in this process, each result journaled at once.

One input at a time by default on CPU; with ``workers``/``batch_size`` (or components that prefer batches, on a
GPU) several inputs are in flight on worker threads and their items share batches (:mod:`.batching`).
"""

from __future__ import annotations

from typing import Any

from forensic_core.components import NoSettings
from forensic_core.engine.base import ResultSink, RunPlan, StopToken
from forensic_core.engine.worker import InputWorker
from forensic_core.events import RunObserver
from forensic_core.registry import get_registry


class LocalEngine:
    """Runs a plan in the calling process with one :class:`InputWorker` (and its worker threads, if any).

    Stops before the next input once ``stop`` is set (the inputs in flight finish and are journaled). It cannot
    abandon an input that hangs in this process: with ``input_timeout_s`` the same work runs in a supervised worker
    process instead (:mod:`.supervised`).
    """

    def __init__(self, settings: NoSettings | None = None, context: Any = None) -> None:
        self.settings = settings or NoSettings()

    def run(self, plan: RunPlan, sink: ResultSink, observer: RunObserver, stop: StopToken) -> None:
        if plan.options.input_timeout_s is not None:  # abandonable inputs need a worker process
            from forensic_core.engine.supervised import SupervisedEngine

            SupervisedEngine(plan.options.input_timeout_s).run(plan, sink, observer, stop)
            return
        registry = plan.registry or get_registry()
        worker = InputWorker(plan.pipeline, registry, plan.options, pool=plan.pool)
        try:
            sink.provenance(worker.start())
            for result, files in worker.process_all(plan.inputs, lambda: stop.stopped):
                sink.write(result, files)
                observer.input_finished(result)
                if plan.options.fail_fast and result.status != "ok":
                    stop.stop("fail-fast")
        finally:
            worker.close()
