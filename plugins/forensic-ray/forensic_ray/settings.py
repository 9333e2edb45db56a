"""The settings of the ``ray`` engine (the pipeline's ``engine: {name: ray, settings: {...}}``).

A leaf module (pydantic and the core only): plugin discovery imports it, so it must not import Ray.
"""

from __future__ import annotations

from pydantic import Field

from forensic_core import ComponentSettings


class RaySettings(ComponentSettings):
    """How inputs are spread over a Ray cluster. Results do not depend on any of these."""

    address: str | None = Field(
        None,
        description="Ray cluster to connect to ('auto', 'ray://host:10001', 'host:6379'); default: RAY_ADDRESS, "
        "else a local Ray instance sized to this machine, started for the run and stopped after it",
    )
    actors_per_node: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="analysis actors per node, each holding its own copy of the models; default: half the node's "
        "CPUs divided by cpus_per_actor (the other half feeds the stream), or with gpus_per_actor > 0 the node's "
        "GPUs divided by gpus_per_actor",
    )
    max_actors: int | None = Field(
        None, ge=1, description="cap on the actors of the whole pool (default: no cap beyond the inputs' count)"
    )
    cpus_per_actor: float = Field(
        0.5,
        gt=0,
        le=512,
        description="CPUs Ray reserves for each actor; fractional by default because actors holding whole CPUs "
        "starve Ray Data's own tasks on small machines (a 2-CPU box deadlocks at 1)",
    )
    gpus_per_actor: float = Field(
        0.0,
        ge=0,
        le=64,
        description="GPUs Ray reserves for each actor (0: CPU only); Ray sets CUDA_VISIBLE_DEVICES in the actor, "
        "so components configured with device 'cuda' use the GPU they were given",
    )
    batch_size: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="inputs handed to an actor per call, whose items the actor batches across inputs; default: "
        "the run's --workers, else --batch-size, else 32 with gpus_per_actor > 0, else 1. Larger amortises "
        "scheduling, but an actor that dies loses (and retries) its whole call",
    )
    max_in_flight: int = Field(
        2,
        ge=1,
        le=64,
        description="calls queued on each actor at once (2 hides scheduling latency; the stream is back-pressured "
        "so no more inputs than this are ever waiting on an actor)",
    )
    retries: int = Field(
        2,
        ge=0,
        le=100,
        description="times an input is retried after the actor analysing it died (crash, out of memory, node "
        "lost); after that it is recorded as an error and the run goes on",
    )
    input_timeout_s: float | None = Field(
        None,
        gt=0,
        description="seconds after which an input still being analysed is abandoned with an error and its actor "
        "replaced (None: no limit)",
    )
    no_progress_timeout_s: float | None = Field(
        None,
        gt=0,
        description="fail the run when Ray Data makes no progress for this long (default: Ray's, or "
        "RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S); keep it above input_timeout_s",
    )
    object_store_mb: int | None = Field(
        None,
        ge=80,
        description="object store size of a local Ray instance started for the run, in MiB (default: Ray's, "
        "30% of memory, in /dev/shm when it has room); ignored when connecting to a cluster",
    )
    progress_bars: bool = Field(False, description="show Ray Data's own progress bars besides forensic's")
