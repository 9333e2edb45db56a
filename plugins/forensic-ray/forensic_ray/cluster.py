"""Connecting to Ray (or starting a local instance) and sizing the actor pool from what the cluster has."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import ray

from forensic_ray.settings import RaySettings

_MIB = 1 << 20


@contextlib.contextmanager
def connected(settings: RaySettings) -> Iterator[None]:
    """Use the Ray instance this process already joined, else join ``address`` / ``RAY_ADDRESS``, else start a
    local instance sized to the machine; an instance this call started is shut down when the block ends."""
    if ray.is_initialized():
        yield
        return
    address = settings.address or os.environ.get("RAY_ADDRESS") or None
    common = {"logging_level": logging.WARNING, "log_to_driver": False, "include_dashboard": False}
    with _keeping_sigterm_handler():
        if address is not None:
            ray.init(address=address, **common)  # type: ignore[arg-type]
        else:
            store = settings.object_store_mb * _MIB if settings.object_store_mb else None
            ray.init(object_store_memory=store, **common)  # type: ignore[arg-type]
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _keeping_sigterm_handler() -> Iterator[None]:
    """``ray.init`` replaces the SIGTERM handler with an immediate exit; the run's own handler (stop after the
    inputs in flight, write the report, exit 143) must stay in charge."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class PoolSize:
    actors: int
    nodes: int


def pool_size(settings: RaySettings, inputs: int) -> PoolSize:
    """Actors for the pool: ``actors_per_node`` (default: what each node's CPUs, or GPUs, allow) over the alive
    nodes, capped by ``max_actors`` and by the number of inputs (an actor per input at most)."""
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    total = 0
    for node in nodes:
        resources = node.get("Resources", {})
        if settings.actors_per_node is not None:
            total += settings.actors_per_node
        elif settings.gpus_per_actor > 0:
            total += math.floor(resources.get("GPU", 0.0) / settings.gpus_per_actor + 1e-9)
        else:
            # Half the node's CPUs by default: the other half feeds the stream and runs the driver's writes.
            total += max(1, math.floor(resources.get("CPU", 1.0) / 2 / settings.cpus_per_actor + 1e-9))
    if settings.max_actors is not None:
        total = min(total, settings.max_actors)
    return PoolSize(actors=max(1, min(total, inputs)), nodes=len(nodes))
