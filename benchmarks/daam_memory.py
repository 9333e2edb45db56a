"""Peak memory of DAAM's readout-rows path against the [class] path and a plain forward+backward.

    python benchmarks/daam_memory.py --model vit_large_patch16_224 --batch 8 [--device cuda]

Each measurement runs in a fresh subprocess (CPU: peak resident set size, ru_maxrss; CUDA: max_memory_allocated
above the weights), so one measurement's allocator cache cannot hide another's. The readout path recomputes one
block's N x N attention at a time: its peak should stay close to the [class] path's, not grow with L x N^2.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1] / "plugin_daam"


def measure(model_name: str, batch: int, device_name: str, what: str) -> dict[str, float]:
    import resource

    import timm
    import torch

    sys.path.insert(0, str(PLUGIN))
    from forensic_daam import daam

    device = torch.device(device_name)
    torch.manual_seed(0)
    pool = "avg" if what == "daam readout rows (patch-mean model)" else "token"
    model = timm.create_model(model_name, pretrained=False, global_pool=pool).to(device).eval()
    images = torch.randn(batch, 3, 224, 224, device=device)
    targets = torch.zeros(batch, dtype=torch.long, device=device)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
    if what == "forward+backward":
        model(images).gather(1, targets[:, None]).sum().backward()
    else:
        result = daam(model, images, targets)
        assert (result.readout.sum(dim=1) > 1).all() == (pool == "avg")
    out = {"rss_before_mib": before, "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        out["cuda_peak_above_start_mib"] = (torch.cuda.max_memory_allocated(device) - start) / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vit_large_patch16_224")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.model, args.batch, args.device, args.child)))
        return
    print(f"## DAAM peak memory, {args.model}, batch {args.batch}, {args.device}\n")
    print("| run | peak above the loaded model, MiB |")
    print("|---|---|")
    for what in ("forward+backward", "daam [class] path", "daam readout rows (patch-mean model)"):
        command = [sys.executable, __file__, "--model", args.model, "--batch", str(args.batch)]
        command += ["--device", args.device, "--child", what]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        numbers = json.loads(output.strip().splitlines()[-1])
        key = "cuda_peak_above_start_mib" if "cuda_peak_above_start_mib" in numbers else None
        peak = numbers[key] if key else numbers["rss_peak_mib"] - numbers["rss_before_mib"]
        print(f"| {what} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
