"""The ``daam`` explainer: traces a ViT-based detector's decision block by block.

The detector exposes its ViT through :class:`forensic_core.ExplainableDetector.vision_target` (the KFD detector
returns its open_clip visual tower and its forgery score as ``forward``). The maps are computed at the model's
input resolution and resized to each item, assuming the detector's preprocessing maps the whole item onto the
input (a centre crop would shift them slightly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from forensic_core import (
    BuildContext,
    ComponentError,
    Detection,
    Detector,
    ExplainableDetector,
    Explanation,
    Figure,
    MediaItem,
)
from forensic_daam.attribution import DaamResult, daam
from forensic_daam.display import normalize_maps, upsample
from forensic_daam.errors import UnsupportedModelError
from forensic_daam.plugin import DaamSettings
from forensic_daam.render import animation, encode_png, strip


def _place(heat: np.ndarray) -> str:
    """Coarse name of where a map peaks ('upper left', 'centre', ...)."""
    row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
    vertical = ("upper", "middle", "lower")[min(2, 3 * row // heat.shape[0])]
    horizontal = ("left", "centre", "right")[min(2, 3 * col // heat.shape[1])]
    return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


def settling_block(display_maps: np.ndarray, threshold: float = 0.9) -> int:
    """First block b (1-based) whose accumulated map correlates with the final one at >= ``threshold``."""
    final = display_maps[-1].ravel()
    for index, heat in enumerate(display_maps):
        flat = heat.ravel()
        if flat.std() > 0 and final.std() > 0 and np.corrcoef(flat, final)[0, 1] >= threshold:
            return index + 1
    return len(display_maps)


class DaamExplainer:
    """Explains a detector implementing ``vision_target``; other detectors get a one-line ComponentError."""

    def __init__(self, settings: DaamSettings) -> None:
        self.settings = settings

    def explain(
        self,
        items: Sequence[MediaItem],
        *,
        detector: Detector | None,
        detections: Sequence[Detection] | None,
    ) -> list[Explanation]:
        if not items:
            return []
        if not isinstance(detector, ExplainableDetector):
            name = "the pipeline has no detector" if detector is None else f"{type(detector).__name__} does not"
            raise ComponentError(
                f"daam explains a ViT-based detector through vision_target(items); {name}"
                + (" implement forensic_core.ExplainableDetector" if detector is not None else "")
            )
        target = detector.vision_target(items)
        try:
            result = daam(
                target.model,
                target.inputs,
                self.settings.target,
                forward=target.forward,
                family=target.family,
                suffix_tokens=target.suffix_tokens,
            )
        except (UnsupportedModelError, ValueError) as exc:
            raise ComponentError(f"daam cannot explain {type(detector).__name__}: {exc}") from exc
        return [
            self._explanation(item, result, index, target.class_names, detections) for index, item in enumerate(items)
        ]

    def _explanation(
        self,
        item: MediaItem,
        result: DaamResult,
        index: int,
        class_names: Sequence[str],
        detections: Sequence[Detection] | None,
    ) -> Explanation:
        settings = self.settings
        with torch.no_grad():
            display = normalize_maps(result.accumulated[index : index + 1], mode=settings.display)
            resized = upsample(display, (item.height, item.width))[0].clamp(0, 1).cpu().numpy().astype(np.float64)
            energy = result.block_maps[index].sum(dim=(-2, -1)).cpu().numpy()
        blocks = resized.shape[0]
        maps = {"daam": resized[-1]}
        if settings.all_blocks:
            maps.update({f"daam block {b + 1}": resized[b] for b in range(blocks)})
        picture = strip(item.image, resized, height=settings.figure_height, alpha=settings.overlay_alpha)
        figures = {
            "daam_strip": Figure(
                data=encode_png(picture),
                suffix=".png",
                caption=f"DAAM accumulated maps D1..D{blocks} over the input ({settings.display} display)",
            )
        }
        if settings.animation:
            frames_height = max(settings.figure_height, 224)
            figures["daam_flow"] = Figure(
                data=animation(item.image, resized, height=frames_height, alpha=settings.overlay_alpha),
                suffix=".gif",
                caption=f"DAAM attention flow through the {blocks} blocks",
            )
        target = int(result.targets[index])
        explained = class_names[target] if 0 <= target < len(class_names) else ("score" if target < 0 else target)
        settles = settling_block(resized)
        share = energy / energy.sum() if energy.sum() > 0 else np.zeros_like(energy)
        text = (
            f"DAAM traced the detector's {explained} (value {float(result.scores[index]):.3g}) through {blocks} "
            f"transformer blocks: the accumulated evidence peaks in the {_place(resized[-1])} of the image and its "
            f"layout settles by block {settles} of {blocks}."
        )
        if detections is not None and index < len(detections):
            text += f" The detector said {detections[index].label} ({detections[index].score:.2f})."
        details: dict[str, Any] = {
            "method": "DAAM (Liao et al., Pattern Recognition 2025)",
            "blocks": blocks,
            "grid": list(result.grid),
            "target": target,
            "explained": str(explained),
            "score": float(result.scores[index]),
            "display": settings.display,
            "settling_block": settles,
            "block_share": [round(float(x), 4) for x in share],
        }
        return Explanation(maps=maps, figures=figures, text=text, details=details)


def build_explainer(settings: DaamSettings, context: BuildContext) -> DaamExplainer:
    return DaamExplainer(settings)
