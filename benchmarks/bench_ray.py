"""Throughput of the local engine vs the ray engine with 1 and 2 actors, Ray's start-up cost, memory per actor.

The same inputs (generated JPEG scenes) and the same pipeline run on each engine into a fresh folder; figures are
measured in one process, one after another, so they are comparable as ratios on this machine (absolute numbers
move with its load). For each engine: wall time of the run, inputs/s over the whole run, and "steady" inputs/s
from the first result to the last (what a long run converges to, without start-up). Ray's start-up is split in
``ray.init`` (once per run of the CLI without --address; zero on a running cluster) and the time to the first
result (actor processes, imports, model build). Memory per actor is the proportional set size (PSS: shared pages
divided among the processes sharing them) and RSS of each live analysis actor, read from /proc at the last result.

Run: ``.venv/bin/python benchmarks/bench_ray.py [--inputs 24 --size 384 --pipeline classic|kfd-tiny]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from forensic_core.config import load_pipeline
from forensic_core.events import NullObserver
from forensic_core.registry import Registry, use_registry
from forensic_core.report import InputResult
from forensic_core.runner import run_pipeline

TINY_KFD = {"backbone": "kfd-tiny", "pretrained": None, "seed": 0, "device": "cpu", "batch_size": 8}
PIPELINES: dict[str, dict[str, Any]] = {
    "classic": {"detectors": ["classic"], "localizers": ["dq"]},
    "kfd-tiny": {
        "detectors": [{"name": "kfd", "settings": TINY_KFD}],
        "localizers": [{"name": "kfd", "settings": TINY_KFD}],
    },
}
ACTOR_MARK = b"AnalyzeBatches"


class Clock(NullObserver):
    """Times of each finished input; memory of the analysis actors sampled at the last one."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()
        self.finished: list[float] = []
        self.memory: list[tuple[int, int]] = []

    def input_finished(self, result: InputResult) -> None:
        self.finished.append(time.perf_counter() - self.started)
        if len(self.finished) == self.total:
            self.memory = actor_memory()


def actor_memory() -> list[tuple[int, int]]:
    """(PSS, RSS) in bytes of every live process whose command line names the analysis actor."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if ACTOR_MARK not in (entry / "cmdline").read_bytes():
                continue
            fields = dict(
                line.split(":", 1) for line in (entry / "smaps_rollup").read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        found.append((int(fields["Pss"].split()[0]) * 1024, int(fields["Rss"].split()[0]) * 1024))
    return found


def scenes(folder: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for index in range(count):
        image = np.zeros((size, size, 3), np.uint8)
        image[..., 0] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
        image[..., 1] = (index * 37) % 256
        image[size // 4 : size // 2, size // 4 : size // 2, 2] = 250
        noise = rng.integers(0, 12, image.shape, dtype=np.uint8)
        Image.fromarray(image + noise).save(folder / f"{index:04d}.jpg", quality=88)


def measure(name: str, run: Any, total: int) -> dict[str, Any]:
    clock = Clock(total)
    outcome = run(clock)
    wall = time.perf_counter() - clock.started
    assert outcome.summary.ok == total, f"{name}: {outcome.summary}"
    first, last = clock.finished[0], clock.finished[-1]
    steady = (total - 1) / (last - first) if total > 1 and last > first else float("nan")
    return {
        "engine": name,
        "wall_s": wall,
        "per_s": total / wall,
        "first_s": first,
        "steady_per_s": steady,
        "memory": clock.memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--inputs", type=int, default=24)
    parser.add_argument("--size", type=int, default=384, help="image side in pixels")
    parser.add_argument("--pipeline", choices=sorted(PIPELINES), default="classic")
    parser.add_argument(
        "--actors", type=int, nargs="*", default=[1, 2], help="ray pool sizes to measure (none: local only)"
    )
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    registry = Registry.discover()
    pipeline = load_pipeline(PIPELINES[args.pipeline], registry)
    with tempfile.TemporaryDirectory() as scratch, use_registry(registry):
        root = Path(scratch)
        scenes(root / "in", args.inputs, args.size)
        rows = [
            measure(
                "local",
                lambda clock: run_pipeline(pipeline, registry, [root / "in"], root / "local", observer=clock),
                args.inputs,
            )
        ]
        began = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - began
        try:
            for actors in args.actors:
                settings = {"actors_per_node": actors, "cpus_per_actor": 0.5}
                rows.append(
                    measure(
                        f"ray, {actors} actor{'s' * (actors != 1)}",
                        lambda clock, s=settings, a=actors: run_pipeline(
                            pipeline,
                            registry,
                            [root / "in"],
                            root / f"ray{a}",
                            observer=clock,
                            engine="ray",
                            engine_settings=s,
                        ),
                        args.inputs,
                    )
                )
        finally:
            ray.shutdown()

    print(f"pipeline {args.pipeline}, {args.inputs} inputs of {args.size}x{args.size} px, {os.cpu_count()} CPUs")
    print(f"ray.init (local instance): {init_s:.1f} s")
    print(
        f"{'engine':<16}{'wall s':>9}{'inputs/s':>10}{'first result s':>16}{'steady inputs/s':>17}"
        f"{'x local':>9}  memory per actor (PSS / RSS MiB)"
    )
    base = rows[0]["per_s"]
    for row in rows:
        memory = ", ".join(f"{pss / 2**20:.0f} / {rss / 2**20:.0f}" for pss, rss in row["memory"]) or "-"
        print(
            f"{row['engine']:<16}{row['wall_s']:>9.1f}{row['per_s']:>10.2f}{row['first_s']:>16.1f}"
            f"{row['steady_per_s']:>17.2f}{row['per_s'] / base:>9.2f}  {memory}"
        )


if __name__ == "__main__":
    main()
