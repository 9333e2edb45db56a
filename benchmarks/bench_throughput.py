"""End-to-end inputs/s of ``forensic run`` with KFD, as a ratio to the bare batched backbone forward (the floor).

Each row runs :func:`forensic_core.runner.run_pipeline` (what ``forensic run`` runs: planning, decoding, custody
hashing, the components through the host's cross-input batching, artifacts, the journal, report.json and the HTML
report) over N generated images at ``--batch-size`` B, with one component pool kept across runs so that the model
is built once (as a server or a long scan would). The floor is ``clip.encode_image`` of the same backbone on the same
images, already decoded, preprocessed and cut into batches of B, in the same process. Both sides run interleaved,
round after round, so that load from other jobs on a shared CPU hits them alike; the median round is reported.

    python benchmarks/bench_throughput.py                          # CPU: kfd-tiny and ViT-B-16, B = 1, 8, 32
    python benchmarks/bench_throughput.py --device cuda --precision bf16 --images 512 --batches 1,8,32,64
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def make_images(folder: Path, count: int, side: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        path = folder / f"img{index:05d}.png"
        Image.fromarray(rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def kfd_settings(backbone: str, device: str, precision: str, batch: int) -> dict[str, Any]:
    return {
        "backbone": backbone,
        "pretrained": None,
        "seed": 0,
        "device": device,
        "precision": precision,
        "batch_size": batch,
    }


def pipelines(
    backbone: str, device: str, precision: str, batch: int, daam: bool, localizer: bool
) -> dict[str, dict[str, Any]]:
    settings = kfd_settings(backbone, device, precision, batch)
    found: dict[str, dict[str, Any]] = {"kfd detector": {"detectors": [{"name": "kfd", "settings": settings}]}}
    if localizer:
        found["kfd detector+localizer"] = {
            "detectors": [{"name": "kfd", "settings": settings}],
            "localizers": [{"name": "kfd", "settings": settings}],
        }
    if daam:
        found["kfd + daam explainer"] = {
            "detectors": [{"name": "kfd", "settings": settings}],
            "explainers": [{"name": "daam", "detector": "kfd", "settings": {"animation": False}}],
        }
    return found


class Case:
    """One timed thing: ``run()`` analyses ``count`` inputs; ``rates`` collects inputs/s per round."""

    def __init__(
        self, name: str, batch: int, count: int, run: Callable[[], None], warm: Callable[[], None] | None = None
    ) -> None:
        self.name, self.batch, self.count, self.run = name, batch, count, run
        self.warm = warm or run
        self.rates: list[float] = []

    def timed(self, clock: Callable[[], float]) -> None:
        start = clock()
        self.run()
        self.rates.append(self.count / max(clock() - start, 1e-9))

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


def floor_case(runtime: Any, batch: int, images: list[Any]) -> Case:
    import torch

    clip = runtime.model.clip
    chunks = [images[start : start + batch] for start in range(0, len(images), batch)]

    def forward(selected: list[Any]) -> None:
        with torch.inference_mode(), runtime.autocast():
            for chunk in selected:
                clip.encode_image(runtime.preprocess(chunk)).float().cpu()

    return Case("bare encode_image", batch, len(images), lambda: forward(chunks), lambda: forward(chunks[:1]))


def run_case(
    document: dict[str, Any], registry: Any, pool: Any, folder: Path, outdir: Path, batch: int
) -> Callable[[], None]:
    from forensic_core.config import load_pipeline
    from forensic_core.runner import run_pipeline

    pipeline = load_pipeline(document, registry)

    def run() -> None:
        outcome = run_pipeline(pipeline, registry, [folder], outdir, overwrite=True, pool=pool, batch_size=batch)
        if outcome.summary.ok != outcome.summary.inputs:
            raise SystemExit(f"{outcome.summary.errors} inputs failed: {next(iter(outcome.results)).error}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="kfd-tiny,ViT-B-16", help="comma-separated KFD backbones (random)")
    parser.add_argument("--images", type=int, default=32, help="N generated images per run")
    parser.add_argument("--side", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated --batch-size values")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved timed rounds (median reported)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--daam-images", type=int, default=8, help="N for the DAAM rows (0: no DAAM rows)")
    parser.add_argument("--localizer", action="store_true", help="also a kfd detector+localizer row per batch")
    parser.add_argument("--clock", default="wall", choices=["wall", "process"], help="process: CPU time")
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    from forensic_core import MediaItem
    from forensic_core.pool import ComponentPool
    from forensic_core.registry import Registry, use_registry
    from forensic_kfd.runtime import KfdRuntime
    from forensic_kfd.settings import KfdSettings

    clock = time.perf_counter if args.clock == "wall" else time.process_time
    batches = [int(b) for b in args.batches.split(",")]
    registry = Registry.discover()
    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    folder, daam_folder, warm_folder = work / "in", work / "in-daam", work / "in-warm"
    paths = make_images(folder, args.images, args.side)
    make_images(warm_folder, 2, args.side)
    if args.daam_images:
        make_images(daam_folder, args.daam_images, args.side)
    items = [MediaItem(image=np.asarray(Image.open(p).convert("RGB")), source=str(p)) for p in paths]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, {args.images} images")
    cases: list[tuple[str, Case, Case]] = []  # (backbone, floor, end to end)
    with use_registry(registry):
        for backbone in args.backbones.split(","):
            pool = ComponentPool()  # one per backbone: models built once, kept across its runs
            runtime = KfdRuntime(KfdSettings.model_validate(kfd_settings(backbone, args.device, args.precision, 1)))
            for batch in batches:
                floor = floor_case(runtime, batch, items)
                docs = pipelines(backbone, args.device, args.precision, batch, args.daam_images > 0, args.localizer)
                for name, document in docs.items():
                    is_daam = "daam" in name
                    if is_daam and batch > args.daam_images:
                        continue
                    source, count = (daam_folder, args.daam_images) if is_daam else (folder, args.images)
                    out = work / f"out-{len(cases)}"
                    run = run_case(document, registry, pool, source, out, batch)
                    warm = run_case(document, registry, pool, warm_folder, out, batch)
                    cases.append((backbone, floor, Case(name, batch, count, run, warm)))
        print("warm-up (builds the models, first kernels)")
        for _, floor, case in cases:
            floor.warm()
            case.warm()
        for round_index in range(args.rounds):
            for _, floor, case in cases:  # interleaved, so that load drift on a shared CPU hits both alike
                case.timed(clock)
                floor.timed(clock)
            print(f"round {round_index + 1}/{args.rounds} done")
    print()
    print(f"{'backbone':<10} {'pipeline':<24} {'batch':>5} {'inputs/s':>9} {'floor/s':>9} {'ratio':>6}")
    for backbone, floor, case in cases:
        print(
            f"{backbone:<10} {case.name:<24} {case.batch:>5} {case.rate:>9.2f} {floor.rate:>9.2f} "
            f"{case.rate / floor.rate:>6.2f}"
        )
    print(f"\nfloor: clip.encode_image on preprocessed batches of the same decoded images ({args.clock} clock)")


if __name__ == "__main__":
    main()
