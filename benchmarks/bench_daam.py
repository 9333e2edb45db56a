"""DAAM benchmark: speed and memory against forward+backward and the authors' path; faithfulness vs baselines.

Timing (random-weight, real-size timm ViTs):
    python benchmarks/bench_daam.py timing --device cpu --models vit_small_patch16_224 --batches 1 8
    python benchmarks/bench_daam.py timing --device cuda --models vit_small_patch16_224 vit_base_patch16_224
Reports seconds per image for one forward + backward (parameter gradients, as training does), DAAM, and a
straightforward implementation of the authors' path (benchmarks/daam_authors_path.py), the ratios
(targets: DAAM <= 1.5x forward+backward, authors' path >= 2x DAAM) and, on CUDA, peak memory above the weights.

Faithfulness (two tiny ViTs trained here, ~1-3 min each on 2 CPU cores, to detect a pasted texture patch whose
location is known: one decides from its [class] token, one from the mean of its patch tokens):
    python benchmarks/bench_daam.py faithfulness
Reports, per model, deletion / insertion AUC (RISE protocol), pointing-game accuracy and the last block's share of
the DAAM evidence for DAAM with readout rows (the tokens the decision reads, found automatically), DAAM with the
[class] row (the authors' method), attention rollout (read from the same rows as the decision), Grad-CAM and a
random map.

Readout-path timing (a patch-mean pooled ViT, the general formula with one N x N attention per block at a time):
    python benchmarks/bench_daam.py timing --pool avg --models vit_small_patch16_224 --batches 1 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_daam"))

from daam_authors_path import authors_daam

from forensic_daam import attention_rollout, causal_metric, daam, grad_cam, upsample


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = {"wall": time.perf_counter, "process": time.process_time}
_clock = time.perf_counter


def _measure(fn: Callable[[], object], device: torch.device, repeats: int) -> tuple[float, float | None]:
    """Median seconds of ``fn`` after one warm-up, and peak CUDA memory above the starting point (MiB).

    ``--clock process`` counts this process's CPU time (all threads): on a CPU shared with other jobs the wall
    clock measures the neighbours as much as DAAM.
    """
    fn()
    _sync(device)
    times = []
    peak = None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            start_memory = torch.cuda.memory_allocated(device)
        start = _clock()
        fn()
        _sync(device)
        times.append(_clock() - start)
        if device.type == "cuda":
            peak = (torch.cuda.max_memory_allocated(device) - start_memory) / 2**20
    return statistics.median(times), peak


def timing(args: argparse.Namespace) -> None:
    import timm

    global _clock
    _clock = CLOCKS[args.clock]

    device = torch.device(args.device)
    print(f"## DAAM timing on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}")
    print(
        f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} CPU threads, "
        f"{args.clock} clock\n"
    )
    print(
        "| model | batch | fwd+bwd s/img | DAAM s/img | authors' path s/img | DAAM / fwd+bwd | authors / DAAM "
        "| peak MiB fwd+bwd / DAAM / authors |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"readout: {'[class] token (the authors path)' if args.pool == 'token' else 'patch tokens (global_pool=avg)'}\n"
    )
    for name in args.models:
        torch.manual_seed(0)
        model = timm.create_model(name, pretrained=False, global_pool=args.pool).to(device).eval()
        for batch in args.batches:
            images = torch.randn(batch, 3, 224, 224, device=device)
            targets = torch.randint(0, 1000, (batch,), device=device)
            (base, base_mem), (ours, ours_mem), (theirs, theirs_mem) = _time_methods(
                model, images, targets, device, args.repeats
            )
            memory = "n/a (CPU)" if base_mem is None else f"{base_mem:.0f} / {ours_mem:.0f} / {theirs_mem:.0f}"
            print(
                f"| {name} | {batch} | {base / batch:.4f} | {ours / batch:.4f} | {theirs / batch:.4f} | "
                f"{ours / base:.2f}x | {theirs / ours:.2f}x | {memory} |",
                flush=True,
            )


def _time_methods(
    model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, device: torch.device, repeats: int
) -> list[tuple[float, float | None]]:
    def forward_backward() -> None:
        logits = model(images)
        logits.gather(1, targets[:, None]).sum().backward()
        model.zero_grad(set_to_none=True)

    def run_daam() -> None:
        daam(model, images, targets)

    def run_authors() -> None:
        authors_daam(model, images, targets)
        model.zero_grad(set_to_none=True)

    return [_measure(fn, device, repeats) for fn in (forward_backward, run_daam, run_authors)]


def _pasted_patch_data(count: int, generator: torch.Generator, size: int = 48, patch: int = 12) -> tuple:
    """Smooth colour backgrounds; positives carry a pasted checkerboard texture, negatives a flat square."""
    low = torch.rand(count, 3, 6, 6, generator=generator)
    images = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    images = images + 0.03 * torch.randn(count, 3, size, size, generator=generator)
    labels = torch.randint(0, 2, (count,), generator=generator)
    boxes = torch.randint(0, size - patch + 1, (count, 2), generator=generator)
    yy, xx = torch.meshgrid(torch.arange(patch), torch.arange(patch), indexing="ij")
    checker = ((yy // 2 + xx // 2) % 2).float()
    for index in range(count):
        top, left = boxes[index].tolist()
        colours = torch.rand(2, 3, 1, 1, generator=generator)
        if labels[index]:
            square = colours[0] * checker + colours[1] * (1 - checker)
        else:
            square = (colours[0] + colours[1]).expand(3, patch, patch) / 2
        images[index, :, top : top + patch, left : left + patch] = square
    return (images - 0.5) / 0.25, labels, boxes


def _train_detector(seed: int, steps: int, device: torch.device, pool: str = "token") -> torch.nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(seed)
    model = VisionTransformer(
        img_size=48, patch_size=8, embed_dim=64, depth=4, num_heads=4, num_classes=2, global_pool=pool
    )
    model = model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        images, labels, _ = _pasted_patch_data(64, generator)
        loss = torch.nn.functional.cross_entropy(model(images.to(device)), labels.to(device))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval()


def _pointing_game(saliency: torch.Tensor, boxes: torch.Tensor, patch: int = 12) -> float:
    """Share of images whose saliency maximum (at input resolution) falls inside the pasted box."""
    flat = saliency.flatten(1).argmax(dim=1)
    rows, cols = flat // saliency.shape[-1], flat % saliency.shape[-1]
    inside = (rows >= boxes[:, 0]) & (rows < boxes[:, 0] + patch) & (cols >= boxes[:, 1]) & (cols < boxes[:, 1] + patch)
    return float(inside.float().mean())


def faithfulness(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    test_images, test_labels, test_boxes = _pasted_patch_data(512, torch.Generator().manual_seed(123))
    test_images, test_labels = test_images.to(device), test_labels.to(device)
    positives = test_labels == 1
    images, boxes = test_images[positives][: args.images], test_boxes[positives.cpu()][: args.images]
    targets = torch.ones(images.shape[0], dtype=torch.long, device=device)
    print(
        f"## Faithfulness on the pasted-patch task ({images.shape[0]} positive test images, 48x48, step 48 px)\n",
        flush=True,
    )
    for pool in args.pools:
        readout = "class" if pool == "token" else "patches"
        start = time.perf_counter()
        model = _train_detector(seed=0, steps=args.steps, device=device, pool=pool)
        trained = time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((model(test_images).argmax(-1) == test_labels).float().mean())
        decision = "[class] token" if pool == "token" else "mean of the patch tokens (global_pool='avg')"
        print(
            f"### Decision read from the {decision}\n\ntiny ViT (depth 4, dim 64, 6x6 patches) trained {args.steps} "
            f"steps on {device.type} in {trained:.0f} s; test accuracy {accuracy:.3f}\n",
            flush=True,
        )
        _faithfulness_table(model, images, boxes, targets, readout)


def _faithfulness_table(
    model: torch.nn.Module, images: torch.Tensor, boxes: torch.Tensor, targets: torch.Tensor, readout: str
) -> None:
    size = (int(images.shape[-2]), int(images.shape[-1]))

    def daam_method(rows: str) -> Callable[[], tuple[torch.Tensor, float | None]]:
        def run() -> tuple[torch.Tensor, float | None]:
            result = daam(model, images, targets, readout=rows)
            energy = result.block_maps.sum(dim=(-2, -1))
            share = float((energy[:, -1] / energy.sum(dim=1).clamp_min(1e-12)).mean())
            return upsample(result.accumulated[:, -1], size), share

        return run

    methods: dict[str, Callable[[], tuple[torch.Tensor, float | None]]] = {
        "DAAM, readout rows (auto)": daam_method("auto"),
        "DAAM, [class] row (authors)": daam_method("class"),
        f"attention rollout ({readout} rows)": lambda: (
            upsample(attention_rollout(model, images, readout=readout), size),
            None,
        ),
        "Grad-CAM (ViT)": lambda: (upsample(grad_cam(model, images, targets), size), None),
        "random": lambda: (torch.rand(images.shape[0], *size, generator=torch.Generator().manual_seed(0)), None),
    }
    print(
        "| method | deletion AUC (lower better) | insertion AUC (higher better) | pointing game | "
        "last block's share of DAAM evidence | map s |"
    )
    print("|---|---|---|---|---|---|")
    for name, method in methods.items():
        began = time.perf_counter()
        saliency, share = method()
        saliency = saliency.detach().cpu()
        seconds = time.perf_counter() - began
        deletion = causal_metric(model, images, saliency, targets, mode="deletion", batch_size=256).auc.mean()
        insertion = causal_metric(model, images, saliency, targets, mode="insertion", batch_size=256).auc.mean()
        shown = "" if share is None else f"{share:.3f}"
        print(
            f"| {name} | {deletion:.4f} | {insertion:.4f} | {_pointing_game(saliency, boxes):.3f} | {shown} | "
            f"{seconds:.3f} |",
            flush=True,
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    timing_parser = sub.add_parser("timing")
    timing_parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    timing_parser.add_argument("--models", nargs="+", default=["vit_small_patch16_224", "vit_base_patch16_224"])
    timing_parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    timing_parser.add_argument("--repeats", type=int, default=5)
    timing_parser.add_argument("--pool", choices=["token", "avg"], default="token", help="token: [class] readout")
    timing_parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="process: CPU time")
    faith_parser = sub.add_parser("faithfulness")
    faith_parser.add_argument("--device", default="cpu")
    faith_parser.add_argument("--steps", type=int, default=600)
    faith_parser.add_argument("--images", type=int, default=128)
    faith_parser.add_argument(
        "--pools", nargs="+", choices=["token", "avg"], default=["token", "avg"], help="which readout models"
    )
    args = parser.parse_args()
    timing(args) if args.part == "timing" else faithfulness(args)


if __name__ == "__main__":
    main()
