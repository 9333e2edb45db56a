"""The token cache: the frozen backbone's multi-layer patch tokens, computed once, memory-mapped on disk.

With a frozen backbone and no visual prompts, everything the backbone contributes to a training step is
``KfdModel.extract(images)``; caching it for ``epochs`` realisations of every sample (each its own augmentation
and pseudo-fake) turns training into head-only steps. Rows are indexed ``(epoch % epochs) * n + index``, so the
sampler, DDP sharding and ``--resume`` work unchanged. The ground-truth masks are stored at the localizer head's
resolution (the same area average the uncached path applies), so both paths see identical targets.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forensic_kfd.training.data import KfdSamples
from forensic_kfd.training.module import TrainingModule, head_target

FIELDS = ("tokens", "pooled", "masks", "mask_valid", "labels", "types")


class TokenCache(torch.utils.data.Dataset[dict[str, Any]]):
    """Read side: ``(epoch, index)`` -> the cached row as tensors (float16 tokens are widened in the model)."""

    def __init__(self, folder: Path, size: int, epochs: int) -> None:
        self.folder, self.size, self.epochs = folder, size, epochs
        self.arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in FIELDS}

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        row = (int(key[0]) % self.epochs) * self.size + int(key[1])
        return {name: torch.from_numpy(np.array(self.arrays[name][row])) for name in FIELDS}


def cache_fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def build_cache(
    folder: Path,
    samples: KfdSamples,
    module: TrainingModule,
    *,
    epochs: int,
    dtype: str,
    batch_size: int,
    device: torch.device,
    fingerprint: str,
    autocast: Any,
    progress: bool = False,
) -> TokenCache:
    """Fill (or reuse, when the fingerprint matches) the cache folder; returns its reader."""
    meta_path = folder / "meta.json"
    size = len(samples)
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("fingerprint") == fingerprint and meta.get("complete"):
            return TokenCache(folder, size, epochs)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)
    kfd = module.kfd
    grid = kfd.grid_size
    patches = grid[0] * grid[1]
    width = int(vision_tower_width(module))
    embed = int(kfd.class_embeddings().shape[-1])
    height, width_px = samples.input_size
    stride = kfd.config.localizer_stride
    low = (max(1, height // stride), max(1, width_px // stride))
    rows = epochs * size
    layers = len(kfd.config.layers)
    shapes = {
        "tokens": ((rows, layers, patches, width), dtype),
        "pooled": ((rows, embed), "float32"),
        "masks": ((rows, *low), "float32"),
        "mask_valid": ((rows,), "float32"),
        "labels": ((rows,), "float32"),
        "types": ((rows,), "int64"),
    }
    arrays = {
        name: np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=kind, shape=shape)
        for name, (shape, kind) in shapes.items()
    }
    keys = [(epoch, index) for epoch in range(epochs) for index in range(size)]
    iterator = range(0, rows, batch_size)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="token cache", unit="batch")
    with torch.no_grad():
        for start in iterator:
            chunk = [samples[key] for key in keys[start : start + batch_size]]
            images = torch.stack([item["images"] for item in chunk]).to(device)
            with autocast():
                pooled, tokens = kfd.extract(images)
            stop = start + len(chunk)
            arrays["tokens"][start:stop] = torch.stack(tokens, 1).float().cpu().numpy().astype(dtype)
            arrays["pooled"][start:stop] = pooled.float().cpu().numpy()
            masks = torch.stack([item["masks"] for item in chunk])
            arrays["masks"][start:stop] = head_target(masks, low).numpy()
            for name in ("mask_valid", "labels", "types"):
                arrays[name][start:stop] = torch.stack([item[name] for item in chunk]).numpy()
    for array in arrays.values():
        array.flush()
    del arrays
    meta_path.write_text(
        json.dumps({"fingerprint": fingerprint, "complete": True, "rows": rows, "dtype": dtype}), encoding="utf-8"
    )
    return TokenCache(folder, size, epochs)


def vision_tower_width(module: TrainingModule) -> int:
    from forensic_kfd.towers import vision_tower

    return int(vision_tower(module.kfd.clip).transformer.width)
