"""Typed component inputs and outputs.

Components exchange frozen dataclasses holding numpy arrays. Each validates itself on construction, so a
plugin bug (a score of 1.3, a NaN heatmap, a heatmap of the wrong size) is caught at the component boundary
with a message naming the problem, instead of surfacing later as a broken report.

The types that hold arrays (:class:`Face`, :class:`MediaItem`, :class:`Localization`, :class:`Explanation`) are
``eq=False``: they compare and hash by identity. A generated ``__eq__`` would compare arrays, which raises
("truth value of an array is ambiguous") as soon as two faces share a box, and which would be the wrong
question anyway: two detections of the same box are still two faces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Box:
    """Axis-aligned pixel box ``[x0, x1) x [y0, y1)`` in the coordinates of the parent image."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"empty box {self}")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def clip(self, width: int, height: int) -> Box:
        return Box(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face.

    ``regions`` maps facial region names (``left_eye``, ``nose``, ``mouth``, ``jaw`` ...) to polygons
    (K x 2 float arrays of x, y in full-image pixels); the pipeline uses them to say *where* evidence lies.
    ``left``/``right`` are the subject's own sides, as in the 68-point landmark convention.
    """

    box: Box
    crop_box: Box
    score: float = 1.0
    landmarks: np.ndarray | None = None
    regions: Mapping[str, np.ndarray] = field(default_factory=dict)
    region_source: str = "box-geometry"


@dataclass(frozen=True, eq=False)
class MediaItem:
    """One image handed to components: a still, a video frame, or a face crop of either.

    ``image`` is H x W x 3 uint8 RGB. ``crop_box`` is set for face crops (the crop's place in the parent frame)
    so results can be mapped back; ``face`` is the face the crop was made for.
    """

    image: np.ndarray
    source: str
    frame_index: int | None = None
    timestamp: float | None = None
    crop_box: Box | None = None
    face: Face | None = None

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError("MediaItem.image must be an H x W x 3 uint8 RGB array")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True)
class Figure:
    """An encoded picture a component wants in the report (PNG, JPEG or GIF bytes)."""

    data: bytes
    suffix: str = ".png"
    caption: str = ""

    def __post_init__(self) -> None:
        if self.suffix not in (".png", ".jpg", ".gif", ".webp", ".mp4"):
            raise ValueError(f"unsupported figure type {self.suffix!r}")


def _check_unit_map(name: str, array: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got [{arr.min():.3g}, {arr.max():.3g}]")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    return arr


@dataclass(frozen=True)
class Detection:
    """A forgery score for one item: ``score`` is P(fake) in [0, 1]; ``label`` is ``"fake"`` or ``"real"``.

    ``details`` is JSON-serialisable extra information (per-face scores, the rule behind a heuristic score).
    """

    score: float
    label: str
    threshold: float = 0.5
    details: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.score, (int, float)) or not math.isfinite(self.score) or not 0 <= self.score <= 1:
            raise ValueError(f"Detection.score must be a finite number in [0, 1], got {self.score!r}")
        if self.label not in ("fake", "real"):
            raise ValueError(f"Detection.label must be 'fake' or 'real', got {self.label!r}")

    @classmethod
    def from_score(cls, score: float, threshold: float = 0.5, **kwargs: Any) -> Detection:
        """Build a detection with the label implied by ``score >= threshold``."""
        score = float(score)
        return cls(score=score, label="fake" if score >= threshold else "real", threshold=threshold, **kwargs)


@dataclass(frozen=True, eq=False)
class Localization:
    """Where the evidence is: ``heatmap`` is H x W float in [0, 1] at the item's resolution.

    ``mask`` (optional) is a binary decision at the same size; ``layers`` holds extra named maps in [0, 1]
    (e.g. per-layer correlation maps) of any size, shown as figures.
    """

    heatmap: np.ndarray
    mask: np.ndarray | None = None
    layers: Mapping[str, np.ndarray] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        heat = _check_unit_map("Localization.heatmap", self.heatmap)
        if self.mask is not None and np.asarray(self.mask).shape != heat.shape:
            raise ValueError(f"Localization.mask shape {np.asarray(self.mask).shape} != heatmap {heat.shape}")
        for key, layer in self.layers.items():
            _check_unit_map(f"Localization.layers[{key!r}]", layer)


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why a detector decided: named maps in [0, 1], figures, and an optional text."""

    maps: Mapping[str, np.ndarray] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    text: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.maps.items():
            _check_unit_map(f"Explanation.maps[{key!r}]", value)


@dataclass(frozen=True)
class Message:
    """One turn of a dialog.

    Assistant turns may carry what backs them: ``evidence`` (citations, each a JSON-like dict with at least
    ``component`` and ``text``, plus ``value``, ``region``, ``block`` where they apply), ``actions`` (the extra
    analysis run to answer, in words) and ``backend`` (the dialog backend that wrote the text).
    """

    role: str
    content: str
    evidence: tuple[Mapping[str, Any], ...] = ()
    actions: tuple[str, ...] = ()
    backend: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant", "system"):
            raise ValueError(f"Message.role must be user, assistant or system, not {self.role!r}")
        for citation in self.evidence:
            if not isinstance(citation.get("component"), str) or not isinstance(citation.get("text"), str):
                raise ValueError(f"Message.evidence entries need a 'component' and a 'text', got {citation!r}")


@dataclass(frozen=True)
class RegionScore:
    """Mean localization heat inside a named facial region of one face."""

    face_index: int
    region: str
    component: str
    score: float


@dataclass(frozen=True)
class Findings:
    """Everything a dialog backend may reason over for one input.

    ``image`` is the analysed frame (H x W x 3 uint8) for backends that look at pixels themselves (forgery
    prompt embeddings); ``observations`` are citations produced by follow-up analysis during the dialog
    (zoomed re-runs, per-region scores, explainer blocks), in the same dict form as :attr:`Message.evidence`.
    """

    source: str
    detections: Mapping[str, Detection]
    localizations: Mapping[str, Localization]
    faces: Sequence[Face] = ()
    regions: Sequence[RegionScore] = ()
    explanations: Mapping[str, Explanation] = field(default_factory=dict)
    image: np.ndarray | None = None
    observations: Sequence[Mapping[str, Any]] = ()
