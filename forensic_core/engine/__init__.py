"""Execution engines: the seam between planning a run and executing it (see :mod:`forensic_core.engine.base`)."""

from __future__ import annotations

from forensic_core.engine.base import (
    Engine,
    InputContext,
    InputRef,
    ResultSink,
    RunPlan,
    StopToken,
    WorkerOptions,
    current_input,
)

__all__ = [
    "Engine",
    "InputContext",
    "InputRef",
    "ResultSink",
    "RunPlan",
    "StopToken",
    "WorkerOptions",
    "current_input",
]
