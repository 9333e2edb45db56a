"""KFD inference time as a ratio to the bare open_clip ``encode_image`` of the same backbone on the same batch.

The backbone is built from its open_clip config with random weights (``pretrained=None``): timing does not depend
on the weights, and nothing is downloaded. Target: the correlation maps and heads add under 15 % to the bare
``encode_image`` (the patch tokens come from the same pass, through hooks).

    python benchmarks/bench_kfd.py                      # CPU, ViT-B-16, batch 8
    python benchmarks/bench_kfd.py --device cuda --batch 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-16", help="open_clip model name (random weights)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--batch", type=int, default=8, help="images per forward pass")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (median reported)")
    parser.add_argument("--crop", type=int, default=256, help="side of the uint8 face crops for the end-to-end row")
    args = parser.parse_args()

    import numpy as np
    import torch

    from forensic_core import MediaItem
    from forensic_kfd.runtime import KfdRuntime
    from forensic_kfd.settings import KfdSettings

    started = time.perf_counter()
    settings = KfdSettings(
        backbone=args.model, pretrained=None, device=args.device, precision=args.precision, batch_size=args.batch
    )
    runtime = KfdRuntime(settings)
    print(f"built {args.model} (random weights) + KFD heads in {time.perf_counter() - started:.1f} s")
    device = runtime.device
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, size=(args.batch, args.crop, args.crop, 3), dtype=np.uint8)
    items = [MediaItem(image=crop, source=f"crop-{i}") for i, crop in enumerate(crops)]
    batch = runtime.preprocess(items)
    clip, model, classes = runtime.model.clip, runtime.model, runtime.class_embeddings

    def synchronised(function: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad(), runtime.autocast():
                result = function()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            return result

        return run

    with torch.no_grad(), runtime.autocast():
        pooled, tokens = model.extract(batch)
    cases = {
        "open_clip encode_image": synchronised(lambda: clip.encode_image(batch)),
        "KFD forward (one pass + maps + heads)": synchronised(lambda: model(batch, classes)),
        "KFD maps + heads alone (given tokens)": synchronised(lambda: model.from_tokens(tokens, pooled, classes)),
        "KFD end to end (uint8 -> numpy)": lambda: runtime.analyse(items, use_cache=False),
        "preprocessing only": synchronised(lambda: runtime.preprocess(items)),
    }
    for case in cases.values():  # warm-up: allocator, kernels, autotuning
        case()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):  # interleaved, so that drift in machine load affects all rows alike
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            timings[name].append(time.perf_counter() - start)

    precision = str(runtime.autocast_dtype or torch.float32).removeprefix("torch.")
    print(
        f"\n{args.model}, batch {args.batch} at {tuple(batch.shape[-2:])}, {device} ({precision}), "
        f"torch threads {torch.get_num_threads()}, median of {args.repeats}"
    )
    base = statistics.median(timings["open_clip encode_image"])
    print(f"| {'what':<38} | {'ms / batch':>10} | {'ms / image':>10} | {'ratio':>6} |")
    print(f"|{'-' * 40}|{'-' * 12}|{'-' * 12}|{'-' * 8}|")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"| {name:<38} | {median * 1e3:>10.1f} | {median * 1e3 / args.batch:>10.2f} | {median / base:>6.3f} |")
    # The maps-and-heads row is measured on its own: on a loaded machine the difference of two full passes is noise.
    extra = statistics.median(timings["KFD maps + heads alone (given tokens)"]) / base
    whole = statistics.median(timings["KFD forward (one pass + maps + heads)"]) / base - 1
    verdict = "within" if extra < 0.15 else "OVER"
    print(
        f"\nKFD maps + heads add {extra:.1%} of encode_image ({verdict} the 15 % target); "
        f"full forward vs encode_image: {whole:+.1%}"
    )


if __name__ == "__main__":
    main()
