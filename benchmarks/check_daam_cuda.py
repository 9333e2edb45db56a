"""Device check: DAAM on CUDA equals DAAM on CPU, tensors stay on the device, autocast runs, no sync surprises."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_daam"))

from timm.models.vision_transformer import VisionTransformer

from forensic_daam import daam


def main() -> None:
    torch.manual_seed(0)
    model = VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2, num_classes=5).eval()
    images = torch.randn(4, 3, 32, 32)
    on_cpu = daam(model, images)
    model = model.cuda()
    on_gpu = daam(model, images.cuda())
    assert on_gpu.block_maps.is_cuda and on_gpu.accumulated.is_cuda and on_gpu.coefficients.is_cuda
    difference = (on_gpu.block_maps.cpu() - on_cpu.block_maps).abs().max().item()
    scale = on_cpu.block_maps.abs().max().item()
    print(f"cuda vs cpu block maps: max abs difference {difference:.2e} (map scale {scale:.3f})")
    assert difference <= 1e-4 * max(1.0, scale)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        mixed = daam(model, images.cuda())
    print(
        f"bf16 autocast: finite={bool(torch.isfinite(mixed.block_maps).all())}, "
        f"same targets={bool(torch.equal(mixed.targets.cpu(), on_cpu.targets))}"
    )
    print("cuda check passed")


if __name__ == "__main__":
    main()
