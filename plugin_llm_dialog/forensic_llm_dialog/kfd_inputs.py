"""KFD's outputs as the FPL consumes them: raw correlation maps, forgery mask, class probabilities, CLIP embedding.

Uses the public model API of forensic-kfd (a :class:`forensic_kfd.runtime.KfdRuntime`: ``preprocess`` and the
model's forward); the runtime is the pipeline's shared one when the settings match, so a pipeline with the
``kfd`` detector runs one copy of the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from forensic_core import BuildContext, Findings, MediaItem


@dataclass
class KfdInputs:
    """A batch of KFD outputs on the FPL's device: (B, L, 2, h, w), (B, h', w'), (B, 2), (B, D)."""

    correlation: torch.Tensor
    mask: torch.Tensor
    probs: torch.Tensor
    image_features: torch.Tensor

    @property
    def scores(self) -> list[float]:
        return [float(p) for p in self.probs[:, 1]]


def kfd_runtime(settings: Mapping[str, Any], context: BuildContext | None = None) -> Any:
    from forensic_kfd.components import shared_runtime
    from forensic_kfd.runtime import KfdRuntime
    from forensic_kfd.settings import KfdSettings

    parsed = KfdSettings.model_validate(dict(settings))
    return shared_runtime(parsed, context) if context is not None else KfdRuntime(parsed)


def analyse(runtime: Any, images: Sequence[np.ndarray]) -> KfdInputs:
    """Run KFD (frozen, no gradients) on whole images, e.g. face crops."""
    items = [MediaItem(image=np.ascontiguousarray(image), source="fpl") for image in images]
    with torch.no_grad():
        output = runtime.model(runtime.preprocess(items), runtime.class_embeddings)
        scores = output.scores.float()
        return KfdInputs(
            correlation=output.correlation.float().cpu(),
            mask=output.fake_mask_low.float().cpu(),
            probs=torch.stack([1.0 - scores, scores], dim=1).cpu(),
            image_features=output.image_features.float().cpu(),
        )


def face_image(findings: Findings) -> np.ndarray | None:
    """The image KFD looks at for the dialog: the first face's crop when faces were found, else the frame."""
    if findings.image is None:
        return None
    if findings.faces:
        height, width = findings.image.shape[:2]
        box = findings.faces[0].crop_box.clip(width, height)
        return np.ascontiguousarray(findings.image[box.y0 : box.y1, box.x0 : box.x1])
    return findings.image
