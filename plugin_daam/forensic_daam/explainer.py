"""The ``daam`` explainer: traces a ViT-based detector's decision block by block.

The detector exposes its ViT through :class:`forensic_core.ExplainableDetector.vision_target` (the KFD detector
returns its open_clip visual tower, its forgery score as ``forward``, and declares that the score reads patch
tokens). The maps are computed at the model's input resolution and placed on each item through the target's
``input_boxes`` (the item region each input shows: a centre crop maps back onto the crop, and the pixels the
detector never saw get 0), or resized onto the whole item when the detector resized it whole.
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
    VisionTarget,
)
from forensic_daam.attribution import DaamResult, daam
from forensic_daam.display import normalize_maps, place
from forensic_daam.errors import UnsupportedModelError
from forensic_daam.plugin import DaamSettings
from forensic_daam.render import animation, encode_png, strip, video


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
        boxes = _boxes(target, items, type(detector).__name__)
        readout = self.settings.readout or target.readout
        try:
            result = daam(
                target.model,
                target.inputs,
                self.settings.target,
                forward=target.forward,
                family=target.family,
                suffix_tokens=target.suffix_tokens,
                readout=readout if isinstance(readout, str) else list(readout),
                normalize_blocks=self.settings.block_norm,
            )
        except (UnsupportedModelError, ValueError) as exc:
            raise ComponentError(f"daam cannot explain {type(detector).__name__}: {exc}") from exc
        return [
            self._explanation(item, result, index, target.class_names, detections, boxes[index])
            for index, item in enumerate(items)
        ]

    def _explanation(
        self,
        item: MediaItem,
        result: DaamResult,
        index: int,
        class_names: Sequence[str],
        detections: Sequence[Detection] | None,
        box: tuple[float, float, float, float],
    ) -> Explanation:
        settings = self.settings
        prefix, (grid_h, grid_w) = result.num_prefix_tokens, result.grid
        with torch.no_grad():
            display = normalize_maps(result.accumulated[index : index + 1], mode=settings.display)
            placed = place(display[0], box, (item.height, item.width))
            resized = placed.clamp(0, 1).cpu().numpy().astype(np.float64)
            # raw block energies, also under the per-block normalisation (which would make them all alike)
            patches = result.token_contributions[index, :, prefix : prefix + grid_h * grid_w]
            energy = patches.clamp_min(0).sum(dim=-1).cpu().numpy()
            readout = _describe_readout(result.readout[index].cpu() if result.readout is not None else None, result)
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
        frames_height = max(settings.figure_height, 224)
        if settings.animation:
            figures["daam_flow"] = Figure(
                data=animation(item.image, resized, height=frames_height, alpha=settings.overlay_alpha),
                suffix=".gif",
                caption=f"DAAM attention flow through the {blocks} blocks",
            )
        if settings.mp4:
            figures["daam_flow_video"] = Figure(
                data=video(item.image, resized, height=frames_height, alpha=settings.overlay_alpha),
                suffix=".mp4",
                caption=f"DAAM attention flow through the {blocks} blocks (MP4)",
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
            "block_norm": settings.block_norm,
            "readout": readout,
            "settling_block": settles,
            "block_share": [round(float(x), 4) for x in share],
        }
        return Explanation(maps=maps, figures=figures, text=text, details=details)


def _boxes(target: VisionTarget, items: Sequence[MediaItem], detector: str) -> list[tuple[float, float, float, float]]:
    """Each item's region on the model input: the target's ``input_boxes``, else the whole item."""
    declared = target.input_boxes
    if declared is None:
        return [(0.0, 0.0, float(item.width), float(item.height)) for item in items]
    boxes = [tuple(float(v) for v in box) for box in declared]
    if len(boxes) != len(items) or any(len(box) != 4 for box in boxes):
        raise ComponentError(
            f"{detector}.vision_target gave {len(boxes)} input_boxes for {len(items)} items: give one "
            "(left, top, right, bottom) box per item, or None when each whole item is resized"
        )
    return [(box[0], box[1], box[2], box[3]) for box in boxes]


def _describe_readout(rows: torch.Tensor | None, result: DaamResult) -> str:
    """'[class]', 'patch tokens', or the token indices whose gradients weighted the maps."""
    if rows is None:
        return "[class]"
    chosen = rows.nonzero().flatten().tolist()
    prefix, (grid_h, grid_w) = result.num_prefix_tokens, result.grid
    if chosen == [0]:
        return "[class]"
    if chosen == list(range(prefix, prefix + grid_h * grid_w)):
        return "patch tokens"
    return "tokens " + ", ".join(str(i) for i in chosen)


def build_explainer(settings: DaamSettings, context: BuildContext) -> DaamExplainer:
    return DaamExplainer(settings)
