"""The protocols selected components implement.

The host never "calls every plugin on this image": a pipeline names components, their factories build
instances, and the host calls these methods on them. All analysis methods take a batch (all face crops of an
image, or all sampled frames of a video) so that model-based components can batch their inference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from forensic_core.results import (
    Detection,
    Explanation,
    Face,
    Findings,
    Localization,
    MediaItem,
    Message,
)


@runtime_checkable
class Detector(Protocol):
    """Media -> forgery score and label, one :class:`Detection` per item, in order."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]: ...


@runtime_checkable
class Localizer(Protocol):
    """Media -> heatmap in [0, 1] at each item's resolution, one :class:`Localization` per item."""

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]: ...


@runtime_checkable
class Explainer(Protocol):
    """Media + the detector that decided -> explanation maps and figures, one per item.

    ``detector`` is the pipeline's detector instance this explainer was pointed at (None when the pipeline has
    none); ``detections`` are that detector's results for the same items.
    """

    def explain(
        self,
        items: Sequence[MediaItem],
        *,
        detector: Detector | None,
        detections: Sequence[Detection] | None,
    ) -> list[Explanation]: ...


@runtime_checkable
class DialogBackend(Protocol):
    """Messages in, streamed text out: the assistant's next answer about one input's findings.

    ``conversation`` starts with a system message that states the evidence as numbered citations (so a text-only
    language model needs nothing else), then the turns so far, and ends with the user's question. ``findings`` is
    the same evidence as data, for backends that answer from it directly or turn it into embeddings.
    ``reply`` returns the answer's text in chunks (an iterator of strings, streamed as they are generated); a
    single :class:`Message` is accepted too.

    Optional member (API 1.1, see :data:`forensic_core.api.OPTIONAL_MEMBERS`): ``accepts_embeddings: bool``, true
    when the backend feeds the findings to its model as embeddings (forgery prompt tokens) besides the text. A
    backend without it is taken as False, so it is not part of the runtime protocol check.
    """

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Iterable[str] | Message: ...


@runtime_checkable
class FaceDetector(Protocol):
    """Full image (H x W x 3 uint8 RGB) -> faces, with crop boxes and named regions."""

    def detect_faces(self, image: np.ndarray) -> list[Face]: ...


@dataclass(frozen=True)
class VisionTarget:
    """What a model-based detector exposes so that an explainer can trace its decision through a ViT.

    Attributes:
        model: the vision transformer whose blocks the explainer hooks: a timm ``VisionTransformer`` or an
            open_clip ``VisionTransformer`` (``clip.visual``).
        inputs: the preprocessed batch the detector feeds it (a float tensor on the model's device).
        forward: ``forward(inputs) -> Tensor`` running the detector's full decision for the batch *through*
            ``model`` (so hooks on ``model`` see it) and returning per-image scores (B,) or logits (B, K).
            It must be differentiable with respect to the transformer's internal activations.
        family: ``"timm"`` or ``"open_clip"``: the module layout of ``model``.
        class_names: names of the K logits when ``forward`` returns logits; empty for a single score.
        suffix_tokens: tokens the detector appends after the patch tokens (e.g. learnable visual prompts); an
            explainer keeps them in the attention but leaves them out of spatial maps.
        readout: the tokens the decision reads, so that an explainer weights the right pathway: ``"auto"`` (the
            explainer finds them from the gradients), ``"class"`` (the [class] token, as a ViT classifier),
            ``"patches"`` (the patch tokens, as a score built from patch-token maps or a patch mean), or explicit
            token indices.
        input_boxes: how each item was prepared, so that maps at the model's input land on the right pixels: per
            item, the region (left, top, right, bottom) in the item's pixel coordinates (pixel edges, so the whole
            item is (0, 0, width, height); it may extend past the item where the detector pads) that was resized
            onto the model input. None means each whole item was resized onto the input, without cropping. A
            resize-then-centre-crop preparation gives its box with :meth:`centre_crop_box`.
    """

    model: Any
    inputs: Any
    forward: Callable[[Any], Any]
    family: str
    class_names: tuple[str, ...] = ()
    suffix_tokens: int = 0
    readout: str | tuple[int, ...] = "auto"
    input_boxes: tuple[tuple[float, float, float, float], ...] | None = None

    @staticmethod
    def centre_crop_box(
        height: int, width: int, *, resize: int | tuple[int, int], crop: int | tuple[int, int]
    ) -> tuple[float, float, float, float]:
        """The item region a torchvision-style ``Resize(resize)`` then ``CenterCrop(crop)`` puts on the input.

        ``resize`` an int scales the shorter side to it (the longer one to ``int(resize * long / short)``), a
        (height, width) pair sets both; ``crop`` is the input's (height, width) or one side of a square. The crop
        offsets are rounded as torchvision rounds them, so the box is exact for that preparation.
        """
        if isinstance(resize, int):
            short, long = (height, width) if height <= width else (width, height)
            scaled = (resize, int(resize * long / short))
            resized = scaled if height <= width else scaled[::-1]
        else:
            resized = (int(resize[0]), int(resize[1]))
        crop_h, crop_w = (crop, crop) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
        top, left = round((resized[0] - crop_h) / 2.0), round((resized[1] - crop_w) / 2.0)
        scale_y, scale_x = height / resized[0], width / resized[1]
        return (left * scale_x, top * scale_y, (left + crop_w) * scale_x, (top + crop_h) * scale_y)


@runtime_checkable
class ExplainableDetector(Protocol):
    """A detector whose decision a ViT explainer (DAAM) can trace block by block."""

    def vision_target(self, items: Sequence[MediaItem]) -> VisionTarget: ...


@runtime_checkable
class Identified(Protocol):
    """Optional: a component that can name the weights it runs (file hash, model tag) for provenance."""

    def weights_identity(self) -> str | None: ...
