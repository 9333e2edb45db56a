"""The ``kfd`` detector and localizer: thin adapters from the shared runtime to the core's result types.

This module is named by the registration's lazy factories, so importing it (and torch) happens only when a
pipeline builds a ``kfd`` component.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from forensic_core import BuildContext, Detection, Localization, MediaItem, VisionTarget
from forensic_kfd.runtime import KfdRuntime
from forensic_kfd.settings import UNTRAINED_NOTE, KfdSettings


def shared_runtime(settings: KfdSettings, context: BuildContext) -> KfdRuntime:
    """The pipeline's one runtime for these model settings (detector and localizer share it)."""
    return context.shared(settings.model_key(), lambda: KfdRuntime(settings))


def build_detector(settings: KfdSettings, context: BuildContext) -> KfdDetector:
    return KfdDetector(shared_runtime(settings, context), settings)


def build_localizer(settings: KfdSettings, context: BuildContext) -> KfdLocalizer:
    return KfdLocalizer(shared_runtime(settings, context), settings)


class _KfdComponent:
    def __init__(self, runtime: KfdRuntime, settings: KfdSettings) -> None:
        self.runtime = runtime
        self.settings = settings

    def weights_identity(self) -> str | None:
        return self.runtime.identity

    def effective_settings(self) -> dict[str, Any]:
        """The settings this model runs with: the pipeline's, with what the weights' sidecar decided filled in
        (a weights-only pipeline names no backbone; the provenance must name the one that ran)."""
        source = self.runtime.backbone_source
        return {
            **self.settings.model_dump(mode="json"),
            "backbone": source.name,
            "pretrained": source.pretrained,
            "seed": source.seed,
            "layers": list(self.runtime.block_numbers),
        }

    @property
    def preferred_batch_size(self) -> int:
        """What the host batches across inputs by default (``batch_size`` on CUDA, 1 on CPU)."""
        return self.runtime.preferred_batch_size

    def _details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "heads": "trained" if self.runtime.trained else "untrained",
            "backbone": self.runtime.backbone_identity,
            "layers": list(self.runtime.block_numbers),
        }
        if not self.runtime.trained:
            details["note"] = UNTRAINED_NOTE
        return details


class KfdDetector(_KfdComponent):
    """Forgery score p(fake) per item from the classifier head; explainable through ``vision_target``."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        details = self._details()
        return [
            Detection.from_score(analysis.score, self.settings.threshold, details=dict(details))
            for analysis in self.runtime.analyse(items)
        ]

    def vision_target(self, items: Sequence[MediaItem]) -> VisionTarget:
        """What DAAM needs: the open_clip visual tower, the preprocessed batch, and the score as its function.

        ``forward(inputs)`` returns the (B,) forgery *logits* (sigmoid gives the detector's score), computed by
        calling ``clip.visual`` so that hooks on its blocks see the pass; fp32, differentiable, never cached.
        The score is read from the *patch* tokens of the chosen blocks (their correlation maps), never from the
        [class] token, so the target declares a patch readout; each whole item is resized onto the input (no
        crop), which the input boxes state.
        """
        runtime = self.runtime
        return VisionTarget(
            model=runtime.model.clip.visual,
            inputs=runtime.preprocess(items),
            forward=runtime.score_logits,
            family="open_clip",
            suffix_tokens=runtime.model.config.visual_prompts,
            readout="patches",
            input_boxes=tuple((0.0, 0.0, float(item.width), float(item.height)) for item in items),
        )


class KfdLocalizer(_KfdComponent):
    """Forgery mask from the localizer head, plus each layer's deepfake-correlation map, at item resolution."""

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        details = self._details()
        results = []
        for item, analysis in zip(items, self.runtime.analyse(items), strict=True):
            size = (item.height, item.width)
            heatmap = _resize(analysis.mask[None], size)[0]
            layer_maps = _resize(analysis.layer_maps, size)
            layers = {
                f"layer {number} fake-correlation": layer_maps[position]
                for position, number in enumerate(self.runtime.block_numbers)
            }
            results.append(
                Localization(
                    heatmap=heatmap,
                    mask=heatmap >= self.settings.mask_threshold,
                    layers=layers,
                    details={**details, "score": analysis.score},
                )
            )
        return results


def _resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w) maps in [0, 1] -> (N, H, W) float32 in [0, 1], bilinear."""
    tensor = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[None]
    if tuple(tensor.shape[-2:]) != size:
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return tensor[0].clamp_(0.0, 1.0).numpy()
