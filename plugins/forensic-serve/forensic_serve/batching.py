"""Batching across concurrent requests, on the core's shared batcher (:mod:`forensic_core.engine.batching`).

The server's request threads are not members of a run's worker crew, so their calls follow the batcher's rule for
outside callers: the caller that finds the component idle runs at once (no waiting window, so a lone request is
not slowed); calls that arrive while it runs queue up and the next of them runs everything queued as one batch.
A batch that fails is retried request by request, so one bad input does not fail the others.
"""

from __future__ import annotations

from forensic_core.engine.batching import BATCHED_METHODS, Batcher, BatchingPool

__all__ = ["BATCHED_METHODS", "Batcher", "BatchingPool"]
