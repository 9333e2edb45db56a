"""The loaded KFD model behind both components: device, precision, preprocessing and batched inference.

One runtime per distinct model settings is shared by the pipeline's detector and localizer (BuildContext), and
it remembers recent per-image results, so that a pipeline running both components on the same face crops runs
the network once.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from forensic_core import MediaItem
from forensic_core.errors import ConfigError
from forensic_kfd.backbone import Backbone, backbone_sha256, load_backbone
from forensic_kfd.descriptions import CLASS_NAMES, default_descriptions
from forensic_kfd.model import KfdConfig, KfdModel, default_layers
from forensic_kfd.model_files import backbone_record, choose_backbone, open_weights
from forensic_kfd.persistence import (
    WeightsInfo,
    check_backbone,
    file_sha256,
    load_weights,
    save_weights,
)
from forensic_kfd.settings import KfdSettings
from forensic_kfd.towers import vision_tower

CACHE_ITEMS = 128


@dataclass(frozen=True)
class ItemAnalysis:
    """KFD's result for one image: mask at the localizer head's resolution, layer maps at the patch grid."""

    score: float
    mask: np.ndarray
    layer_maps: np.ndarray


class KfdRuntime:
    """Backbone + KFD model on a device, with vectorised preprocessing and batched, cached inference."""

    def __init__(self, settings: KfdSettings) -> None:
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.autocast_dtype = resolve_precision(settings.precision, self.device)
        # weights alone suffice: the backbone settings the user left out come from the weights' sidecar
        info = open_weights(settings.weights, cache_dir=settings.cache_dir) if settings.weights else None
        self.backbone_source = source = choose_backbone(settings, info)
        backbone = load_backbone(source.name, source.pretrained, seed=source.seed, cache_dir=settings.cache_dir)
        self.backbone_identity = backbone.identity
        self.backbone_sha256 = backbone_sha256(backbone.clip)
        if info is not None:
            check_backbone(info, self.backbone_sha256, backbone.identity)
        self.config = resolve_config(settings, info, depth=len(vision_tower(backbone.clip).transformer.resblocks))
        self.input_size = backbone.input_size
        mean, std = _normalisation(backbone, info)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(settings.seed)
                self.model = KfdModel(backbone.clip, backbone.tokenizer, self.config)
        except ValueError as error:
            raise ConfigError(f"kfd: {error}") from error
        if info is not None:
            load_weights(self.model, info)
        self.trained = info is not None
        self.weights_sha256 = file_sha256(info.path) if info is not None else None
        self.model.to(self.device).eval().requires_grad_(False)
        self.mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)
        with torch.no_grad():  # not inference_mode: vision_target's forward must be able to use these in autograd
            self.class_embeddings = self.model.class_embeddings().float()
        self._cache = RecentResults(CACHE_ITEMS)
        # The detector and the localizer share this runtime; the host serialises calls per component only, so
        # the shared cache and the model (hooks an explainer adds) are guarded here.
        self.lock = threading.RLock()

    @property
    def identity(self) -> str:
        heads = f"kfd sha256:{self.weights_sha256[:12]}" if self.weights_sha256 else "kfd heads untrained"
        return f"{self.backbone_identity} sha256:{self.backbone_sha256[:12]}; {heads}"

    @property
    def block_numbers(self) -> tuple[int, ...]:
        return self.config.layers

    def preprocess(self, items: Sequence[MediaItem]) -> torch.Tensor:
        """(B, 3, H, W) float32 normalised batch on the device; images of equal size are resized in one call.

        The whole image (a face crop, usually) is resized to the model's square input without cropping, so that
        the mask maps back onto every pixel of the item.
        """
        height, width = self.input_size
        batch = torch.empty(len(items), 3, height, width, device=self.device)
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(item.image.shape, []).append(index)
        for shape, indices in groups.items():
            pixels = self._to_device(torch.from_numpy(np.stack([items[i].image for i in indices])))
            pixels = pixels.permute(0, 3, 1, 2).float().div_(255.0)
            if tuple(shape[:2]) != (height, width):
                pixels = F.interpolate(pixels, size=(height, width), mode="bicubic", antialias=True).clamp_(0.0, 1.0)
            batch[torch.tensor(indices, device=self.device)] = pixels
        return (batch - self.mean) / self.std

    def _to_device(self, pixels: torch.Tensor) -> torch.Tensor:
        """Host pixels (uint8, a quarter of float32's bytes) onto the device: from pinned memory without blocking
        on CUDA, so the copy overlaps the work queued before it."""
        if self.device.type != "cuda":
            return pixels.to(self.device)
        return pixels.pin_memory().to(self.device, non_blocking=True)

    @property
    def preferred_batch_size(self) -> int:
        """The batch the host should gather across inputs: ``batch_size`` on a GPU; 1 on a CPU, where a larger
        batch measured no faster (benchmarks/bench_throughput.py) and one input at a time keeps memory low."""
        return self.settings.batch_size if self.device.type == "cuda" else 1

    def analyse(self, items: Sequence[MediaItem], *, use_cache: bool = True) -> list[ItemAnalysis]:
        """Score, mask and layer maps per item, in order; batched by ``batch_size``. Thread-safe."""
        with self.lock:
            return self._analyse(items, use_cache=use_cache)

    def _analyse(self, items: Sequence[MediaItem], *, use_cache: bool) -> list[ItemAnalysis]:
        results: dict[int, ItemAnalysis] = {}
        todo = []
        for index, item in enumerate(items):
            cached = self._cache.lookup(item.image) if use_cache else None
            if cached is None:
                todo.append(index)
            else:
                results[index] = cached
        size = self.settings.batch_size
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            for index, analysis in zip(chunk, self._run([items[i] for i in chunk]), strict=True):
                results[index] = analysis
                self._cache.store(items[index].image, analysis)
        return [results[index] for index in range(len(items))]

    def _run(self, items: Sequence[MediaItem]) -> list[ItemAnalysis]:
        with torch.inference_mode(), self.autocast():
            output = self.model(self.preprocess(items), self.class_embeddings)
            scores = output.scores.float().cpu().numpy()
            masks = output.fake_mask_low.float().cpu().numpy()
            layer_maps = output.fake_correlation.float().cpu().numpy()
        return [
            ItemAnalysis(score=float(scores[i]), mask=masks[i], layer_maps=layer_maps[i]) for i in range(len(items))
        ]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The ``precision`` setting: bf16/fp16 autocast on the runtime's device, or nothing for fp32."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def score_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B,) forgery logits for a preprocessed batch, through ``clip.visual``, differentiable, fp32."""
        return self.model(inputs, self.class_embeddings).score_logits.float()

    def save(self, path: str | Path) -> Path:
        """Write the KFD parts with a sidecar naming this runtime's backbone and input; return the sidecar."""
        return save_weights(
            self.model,
            path,
            backbone=backbone_record(self.backbone_source, self.backbone_identity, self.backbone_sha256),
            input_spec={
                "size": list(self.input_size),
                "mean": self.mean.flatten().tolist(),
                "std": self.std.flatten().tolist(),
            },
        )

    def close(self) -> None:
        self._cache.clear()
        if self.device.type == "cuda":
            self.model.to("cpu")
            torch.cuda.empty_cache()


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"kfd: device {name!r} requested but CUDA is not available here: use 'auto' or 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"kfd: device {name!r} does not exist ({torch.cuda.device_count()} CUDA device(s))")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("kfd: device 'mps' requested but MPS is not available here: use 'auto' or 'cpu'")
    return device


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp16" and device.type == "cpu":
        raise ConfigError("kfd: precision 'fp16' needs a CUDA device: use 'bf16' or 'fp32' on CPU")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def resolve_config(settings: KfdSettings, info: WeightsInfo | None, *, depth: int) -> KfdConfig:
    """Merge settings with the weights file: the file fixes the architecture, descriptions stay the user's."""
    trained = info.config if info is not None else None
    architecture = {
        "layers": settings.layers,
        "context_tokens": settings.context_tokens,
        "visual_prompts": settings.visual_prompts,
    }
    if trained is not None:
        for name, value in architecture.items():
            if value is not None and value != getattr(trained, name):
                raise ConfigError(
                    f"kfd: {name}={value!r} differs from the weights file's {getattr(trained, name)!r}: "
                    f"remove '{name}' from the settings (the weights file decides it)"
                )
    descriptions = dict(trained.descriptions) if trained is not None else default_descriptions()
    if settings.descriptions is not None:
        for name in CLASS_NAMES:
            replacement = getattr(settings.descriptions, name)
            if replacement:
                descriptions[name] = list(replacement)
    for name in CLASS_NAMES:
        descriptions[name] = list(descriptions[name]) + list(getattr(settings.extra_descriptions, name))
    if trained is not None:
        base = trained
    else:
        base = KfdConfig(
            layers=tuple(settings.layers) if settings.layers else default_layers(depth),
            context_tokens=4 if settings.context_tokens is None else settings.context_tokens,
            visual_prompts=settings.visual_prompts or 0,
        )
    return KfdConfig(**{**base.to_dict(), "layers": tuple(base.layers), "descriptions": descriptions})


def _normalisation(backbone: Backbone, info: WeightsInfo | None) -> tuple[list[float], list[float]]:
    if info is not None:
        size = tuple(info.input.get("size", backbone.input_size))
        if size != backbone.input_size:
            raise ConfigError(f"kfd: weights expect input size {size}, the backbone takes {backbone.input_size}")
        return list(info.input["mean"]), list(info.input["std"])
    return list(backbone.preprocess["mean"]), list(backbone.preprocess["std"])


class RecentResults:
    """The last results by image *object*: the detector and the localizer of a pipeline get the same crops.

    Keyed by identity, not content (hashing every frame would cost more than the lookup saves on a GPU): an
    entry holds a weak reference to its image, so a recycled ``id`` never matches, and a fingerprint of a
    strided pixel sample catches an array changed in place.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[weakref.ref[np.ndarray], bytes, ItemAnalysis]] = OrderedDict()

    def lookup(self, image: np.ndarray) -> ItemAnalysis | None:
        entry = self._entries.get(id(image))
        if entry is None:
            return None
        reference, fingerprint, analysis = entry
        if reference() is not image or fingerprint != _fingerprint(image):
            del self._entries[id(image)]
            return None
        self._entries.move_to_end(id(image))
        return analysis

    def store(self, image: np.ndarray, analysis: ItemAnalysis) -> None:
        try:
            reference = weakref.ref(image)
        except TypeError:  # an object that cannot be weakly referenced is simply not cached
            return
        self._entries[id(image)] = (reference, _fingerprint(image), analysis)
        self._entries.move_to_end(id(image))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def _fingerprint(image: np.ndarray) -> bytes:
    sample = image.reshape(-1)[:: max(1, image.size // 4096)]
    return hashlib.blake2b(sample.tobytes(), digest_size=16).digest() + str(image.shape).encode()
