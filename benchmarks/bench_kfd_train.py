"""KFD training throughput (samples/s), with and without the token cache, as ratios to a bare backbone pass.

The reference is what the backbone alone costs on the same batch: a forward pass of ``clip.visual`` (plus its
backward when the backbone trains, ``--train lora`` or ``last_blocks``). A training step without the cache is that
forward (tokens through hooks) + KFD + losses + backward + AdamW; with the cache it is KFD + losses + backward +
AdamW on the stored tokens. Data loading (pseudo-fakes, memmap reads) is measured separately: it runs in
data-loader workers, beside the step. Random backbone weights (``pretrained: null``): timing does not depend on
them, nothing is downloaded.

    python benchmarks/bench_kfd_train.py                               # CPU, ViT-B-16, batch 4, 3 steps
    python benchmarks/bench_kfd_train.py --device cuda --precision bf16 --batch 64 --steps 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-16", help="open_clip model name (random weights)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--batch", type=int, default=4, help="samples per step")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per row (after 1 warm-up step)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--train", default="frozen", choices=["frozen", "last_blocks", "lora"], help="backbone mode")
    args = parser.parse_args()

    import torch

    from forensic_kfd.training.config import validate_config
    from forensic_kfd.training.trainer import Trainer

    config = validate_config(
        {
            "model": {"backbone": args.model, "pretrained": None},
            "train": {"backbone": {"mode": args.train}},
            "data": {"train": {"reals": ["builtin:lfw"], "stop": max(8, args.batch)}},
            "batch_size": args.batch,
            "device": args.device,
            "precision": args.precision,
            "threads": args.threads,
            "steps": 10_000,
            "progress": False,
        }
    )
    started = time.perf_counter()
    trainer = Trainer(config, tempfile.mkdtemp(prefix="kfd-bench-"))
    print(f"built {args.model} (random weights) + KFD for training in {time.perf_counter() - started:.1f} s")
    device, module = trainer.device, trainer.module
    samples = trainer.train_samples
    keys = [(0, i % len(samples)) for i in range(args.batch)]

    load_started = time.perf_counter()
    items = [samples[key] for key in keys]
    load_rate = len(items) / (time.perf_counter() - load_started)
    batch = {name: torch.stack([item[name] for item in items]).to(device) for name in items[0]}
    with torch.no_grad(), trainer.autocast():
        pooled, tokens = module.kfd.extract(batch["images"])
    cached = {
        "tokens": torch.stack(tokens, 1).to(torch.float16),
        "pooled": pooled.float(),
        **{name: batch[name] for name in ("masks", "mask_valid", "labels", "types")},
    }
    visual = module.kfd.clip.visual

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def bare() -> None:
        with trainer.autocast():
            if module.backbone_trains:
                output = visual(batch["images"])
                (output[0] if isinstance(output, tuple) else output).float().sum().backward()
            else:
                with torch.no_grad():
                    visual(batch["images"])

    def step(data: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            with trainer.autocast():
                terms = module(data)
            terms["loss"].backward()
            trainer.optimizer.step()
            trainer.optimizer.zero_grad(set_to_none=True)

        return run

    rows: list[tuple[str, float, float | None]] = []
    for name, function in [("bare backbone", bare), ("train step, no cache", step(batch))]:
        rows.append((name, *measure(function, sync, args.steps, args.batch, device)))
    if not module.backbone_trains:
        rows.append(("train step, token cache", *measure(step(cached), sync, args.steps, args.batch, device)))
    reference = rows[0][1]
    precision = str(trainer.autocast_dtype).removeprefix("torch.") if trainer.autocast_dtype else "fp32"
    print(f"{args.model}, {device}, {precision}, batch {args.batch}, backbone {args.train}, {args.steps} steps")
    print(f"{'row':<26} {'samples/s':>10} {'x bare':>8} {'peak MiB':>9}")
    for name, rate, peak in rows:
        peak_text = f"{peak:9.0f}" if peak is not None else f"{'-':>9}"
        print(f"{name:<26} {rate:10.1f} {rate / reference:8.2f} {peak_text}")
    print(f"data: {load_rate:.1f} samples/s per loader process (pseudo-fake + augmentation + resize)")


def measure(
    function: Callable[[], None], sync: Callable[[], None], steps: int, batch: int, device: Any
) -> tuple[float, float | None]:
    """Median samples/s over ``steps`` runs after one warm-up, and the peak CUDA memory (MiB) of those runs."""
    import torch

    function()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        function()
        sync()
        times.append(time.perf_counter() - started)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return batch / statistics.median(times), peak


if __name__ == "__main__":
    main()
