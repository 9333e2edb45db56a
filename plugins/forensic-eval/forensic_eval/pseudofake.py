"""Self-blended pseudo-fakes: a forged face, its soft blend mask and its recipe, from ONE real face image.

A reimplementation of the self-blended-image idea (Shiohara & Yamasaki, CVPR 2022) from its description, for
training and testing forgery localizers without a deepfake data set. A perturbed, slightly misaligned copy of
the face (the *source*) is blended into the unchanged image (the *target*) through a blurred face-shaped mask:

    fake = m * source + (1 - m) * target

``m`` is the pixel-level ground truth (a pixel changed only where ``m > 0``) and the recipe records every random
choice; ``recipe.type`` is the perturbation family (``colour``, ``resample`` or ``sharpen``), the label of the
manipulation type. The mask is the filled convex hull of 68-point landmarks when they are given, else an ellipse
in the face box (or the whole image) with a random smooth radial deformation; an elastic warp and two random
blurs soften it. JPEG compression (optional) is applied last, to the fake and, with the same quality, to the
matching real (``PseudoFake.real``), so that a real/fake pair differs by the blend only.

numpy and OpenCV only (cv2 imported on first use); every step works on whole arrays, fast enough to run per
sample in data-loader workers. The same seed gives the same image, mask and recipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

TYPES: tuple[str, ...] = ("colour", "resample", "sharpen")
MASK_SHAPES: tuple[str, ...] = ("hull", "lower_hull", "inner_hull", "ellipse")
BLEND_RATIOS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)

# 68-point landmark subsets (iBUG layout): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.
_HULL_POINTS: dict[str, np.ndarray] = {
    "hull": np.arange(68),
    "lower_hull": np.r_[0:17, 27:36, 48:68],
    "inner_hull": np.r_[17:68],
}


@dataclass(frozen=True)
class PseudoFakeConfig:
    """The distribution recipes are drawn from (defaults follow the SBI description)."""

    types: tuple[str, ...] = TYPES
    blend_ratios: tuple[float, ...] = BLEND_RATIOS
    mask_shapes: tuple[str, ...] = MASK_SHAPES
    jpeg_quality: tuple[int, int] | None = (70, 100)
    jitter: float = 0.03
    elastic: float = 0.03
    ellipse_deform: float = 0.15

    def __post_init__(self) -> None:
        unknown = sorted(set(self.types) - set(TYPES))
        if not self.types or unknown:
            raise ValueError(f"pseudo-fake types must be a non-empty subset of {list(TYPES)}, got {list(self.types)}")
        bad_shapes = sorted(set(self.mask_shapes) - set(MASK_SHAPES))
        if not self.mask_shapes or bad_shapes:
            raise ValueError(f"pseudo-fake mask_shapes must be a non-empty subset of {list(MASK_SHAPES)}")
        if not self.blend_ratios or not all(0 < r <= 1 for r in self.blend_ratios):
            raise ValueError("pseudo-fake blend_ratios must be non-empty values in (0, 1]")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"pseudo-fake jpeg_quality must be (low, high) within 1..100, got {self.jpeg_quality}")


@dataclass(frozen=True)
class Recipe:
    """Every random choice behind one pseudo-fake (JSON data through :meth:`as_dict`).

    Attributes:
        type: perturbation family of the source, the manipulation-type label (colour, resample, sharpen).
        mask_shape: hull / lower_hull / inner_hull (landmarks) or ellipse (face box or whole image).
        blend_ratio: peak value of the mask.
        perturbation: the parameters of the source perturbation.
        jitter: source misalignment (dx, dy in pixels, scale).
        blur: the two Gaussian kernel sizes that soften the mask.
        jpeg_quality: the final JPEG quality, or None.
        seed: the integer seed, when one was given (None for a caller's Generator).
    """

    type: str
    mask_shape: str
    blend_ratio: float
    perturbation: dict[str, float] = field(default_factory=dict)
    jitter: tuple[float, float, float] = (0.0, 0.0, 1.0)
    blur: tuple[int, int] = (1, 1)
    jpeg_quality: int | None = None
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["jitter"] = list(self.jitter)
        data["blur"] = list(self.blur)
        return data


@dataclass(frozen=True)
class PseudoFake:
    """A pseudo-fake: ``image`` (H x W x 3 uint8), ``mask`` (H x W float32 in [0, 1]), its ``recipe``, and
    ``real``: the input after the same JPEG compression (the input itself without compression)."""

    image: np.ndarray
    mask: np.ndarray
    recipe: Recipe
    real: np.ndarray


def make_pseudo_fake(
    image: np.ndarray,
    seed: int | np.random.Generator,
    *,
    face_box: Sequence[float] | None = None,
    landmarks: np.ndarray | None = None,
    config: PseudoFakeConfig | None = None,
) -> PseudoFake:
    """Blend a perturbed copy of the face in ``image`` into itself.

    Args:
        image: H x W x 3 uint8 RGB, usually a face crop.
        seed: an integer (reproducible: same seed, same result) or a numpy Generator.
        face_box: (x0, y0, x1, y1) in pixels; None takes the whole image as the face.
        landmarks: (68, 2) points (x, y) in pixels; None uses an ellipse in the face box.
        config: the recipe distribution; None uses the defaults.
    """
    cv2 = _cv2()
    config = config or PseudoFakeConfig()
    image = _check_image(image)
    height, width = image.shape[:2]
    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    box = _check_box(face_box, width, height)
    face_size = float(max(box[2] - box[0], box[3] - box[1]))

    kind = str(config.types[int(rng.integers(len(config.types)))])
    # landmarks -> the hull variants; no landmarks (or a config with ellipses only) -> the box ellipse
    shapes = [s for s in config.mask_shapes if (s == "ellipse") == (landmarks is None)] or ["ellipse"]
    mask_shape = shapes[int(rng.integers(len(shapes)))]
    if mask_shape != "ellipse":
        polygon = _hull(cv2, _check_landmarks(landmarks), mask_shape)
    else:
        polygon = _deformed_ellipse(rng, box, config.ellipse_deform)
    binary = np.zeros((height, width), np.uint8)
    cv2.fillPoly(binary, [np.round(polygon).astype(np.int32)], 1)
    binary_f = _elastic(cv2, rng, binary.astype(np.float32), config.elastic * face_size)
    mask, blur = _soften(cv2, rng, binary_f, face_size)
    ratio = float(config.blend_ratios[int(rng.integers(len(config.blend_ratios)))])
    mask *= ratio

    source, parameters = _perturb(cv2, rng, image, kind)
    source, jitter = _jitter(cv2, rng, source, config.jitter * face_size, config.jitter)
    blended = mask[..., None] * source + (1.0 - mask[..., None]) * image.astype(np.float32)
    fake = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    real = image
    quality: int | None = None
    if config.jpeg_quality is not None:
        quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        fake, real = _jpeg(cv2, fake, quality), _jpeg(cv2, image, quality)
    recipe = Recipe(
        type=kind,
        mask_shape=mask_shape,
        blend_ratio=ratio,
        perturbation=parameters,
        jitter=jitter,
        blur=blur,
        jpeg_quality=quality,
        seed=int(seed) if not isinstance(seed, np.random.Generator) else None,
    )
    return PseudoFake(image=fake, mask=mask.astype(np.float32), recipe=recipe, real=real)


def _cv2() -> ModuleType:
    import cv2

    return cv2


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("make_pseudo_fake: image must be an H x W x 3 uint8 RGB array")
    if min(image.shape[:2]) < 8:
        raise ValueError(f"make_pseudo_fake: image {image.shape[1]}x{image.shape[0]} is too small (8 px minimum)")
    return np.ascontiguousarray(image)


def _check_box(face_box: Sequence[float] | None, width: int, height: int) -> tuple[float, float, float, float]:
    if face_box is None:
        return (0.0, 0.0, float(width), float(height))
    x0, y0, x1, y1 = (float(v) for v in face_box)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise ValueError(f"make_pseudo_fake: face_box {tuple(face_box)} does not overlap the image enough")
    return (x0, y0, x1, y1)


def _check_landmarks(landmarks: np.ndarray | None) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float32)
    if points.shape != (68, 2):
        raise ValueError(f"make_pseudo_fake: landmarks must be (68, 2) points, got shape {points.shape}")
    return points


def _hull(cv2: ModuleType, landmarks: np.ndarray, shape: str) -> np.ndarray:
    points = landmarks[_HULL_POINTS[shape]]
    return np.asarray(cv2.convexHull(points.astype(np.float32)), dtype=np.float32).reshape(-1, 2)


def _deformed_ellipse(
    rng: np.random.Generator, box: tuple[float, float, float, float], deform: float, points: int = 64
) -> np.ndarray:
    """An ellipse inside the box whose radius wobbles by a few low-order harmonics (a smooth random outline)."""
    x0, y0, x1, y1 = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2 + 0.04 * (y1 - y0)])
    axes = np.array([0.40 * (x1 - x0), 0.47 * (y1 - y0)]) * rng.uniform(0.8, 1.05, size=2)
    angle = np.deg2rad(rng.uniform(-10, 10))
    theta = np.linspace(0, 2 * np.pi, points, endpoint=False)
    orders = np.arange(2, 5)
    amplitude = rng.uniform(-deform, deform, size=orders.size) / orders
    phase = rng.uniform(0, 2 * np.pi, size=orders.size)
    radius = 1.0 + (amplitude[:, None] * np.cos(orders[:, None] * theta + phase[:, None])).sum(0)
    local = np.stack([axes[0] * radius * np.cos(theta), axes[1] * radius * np.sin(theta)], axis=1)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.asarray(local @ rotation.T + centre, dtype=np.float32)


def _elastic(cv2: ModuleType, rng: np.random.Generator, mask: np.ndarray, amplitude: float) -> np.ndarray:
    """Warp the mask by a smooth random displacement field (a coarse 4x4 grid of offsets, cubic-upsampled)."""
    height, width = mask.shape
    if amplitude <= 0:
        return mask
    offsets = rng.uniform(-amplitude, amplitude, size=(2, 4, 4)).astype(np.float32)
    dx = cv2.resize(offsets[0], (width, height), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(offsets[1], (width, height), interpolation=cv2.INTER_CUBIC)
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    warped = cv2.remap(mask, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return np.asarray(warped, dtype=np.float32)


def _odd(value: float) -> int:
    size = max(1, round(value))
    return size if size % 2 else size + 1


def _soften(
    cv2: ModuleType, rng: np.random.Generator, mask: np.ndarray, face_size: float
) -> tuple[np.ndarray, tuple[int, int]]:
    """Two random Gaussian blurs; the first, cut back to where it is still 1, erodes the edge (as in SBI)."""
    first = _odd(face_size * rng.uniform(0.04, 0.16))
    second = _odd(face_size * rng.uniform(0.04, 0.16))
    blurred = cv2.GaussianBlur(mask, (first, first), 0)
    core = np.where(blurred >= 0.999, blurred, 0.0).astype(np.float32)
    if core.max() <= 0:  # a tiny face: keep the unblurred outline rather than an empty mask
        core = mask
    soft = cv2.GaussianBlur(core, (second, second), 0)
    peak = float(soft.max())
    soft = soft / peak if peak > 0 else soft
    soft[soft < 1.0 / 512] = 0.0  # drop the Gaussian's numerical tail: m > 0 means "this pixel may change"
    return np.clip(soft, 0.0, 1.0).astype(np.float32), (first, second)


def _perturb(
    cv2: ModuleType, rng: np.random.Generator, image: np.ndarray, kind: str
) -> tuple[np.ndarray, dict[str, float]]:
    """The source copy (float32, 0..255) and the parameters of its perturbation."""
    pixels = image.astype(np.float32)
    if kind == "colour":
        shift = rng.uniform(-20, 20, size=3)
        hue, saturation = rng.uniform(-10, 10), rng.uniform(0.7, 1.3)
        brightness, contrast = rng.uniform(-0.1, 0.1), rng.uniform(0.85, 1.15)
        hsv = cv2.cvtColor(np.clip(pixels / 255.0, 0, 1), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = np.mod(hsv[..., 0] + hue, 360.0)
        hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 1)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0 + shift
        out = (out - 127.5) * contrast + 127.5 + 255.0 * brightness
        parameters = {
            "shift_r": float(shift[0]),
            "shift_g": float(shift[1]),
            "shift_b": float(shift[2]),
            "hue": float(hue),
            "saturation": float(saturation),
            "brightness": float(brightness),
            "contrast": float(contrast),
        }
    elif kind == "resample":
        scale = rng.uniform(0.25, 0.6)
        height, width = image.shape[:2]
        small = cv2.resize(
            pixels, (max(2, round(width * scale)), max(2, round(height * scale))), interpolation=cv2.INTER_AREA
        )
        cubic = bool(rng.integers(2))
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR)
        parameters = {"scale": float(scale), "cubic": float(cubic)}
    else:  # sharpen: unsharp masking
        sigma, amount = rng.uniform(0.8, 2.0), rng.uniform(0.8, 2.0)
        out = pixels + amount * (pixels - cv2.GaussianBlur(pixels, (0, 0), sigma))
        parameters = {"sigma": float(sigma), "amount": float(amount)}
    return np.clip(out, 0, 255).astype(np.float32), parameters


def _jitter(
    cv2: ModuleType, rng: np.random.Generator, source: np.ndarray, shift: float, scale_range: float
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Misalign the source a little: random translation and scale about the image centre."""
    height, width = source.shape[:2]
    dx, dy = (float(v) for v in rng.uniform(-shift, shift, size=2))
    scale = float(rng.uniform(1 - scale_range, 1 + scale_range))
    matrix = np.array(
        [[scale, 0, (1 - scale) * width / 2 + dx], [0, scale, (1 - scale) * height / 2 + dy]], dtype=np.float32
    )
    moved = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(moved, dtype=np.float32), (dx, dy, scale)


def _jpeg(cv2: ModuleType, image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise RuntimeError("make_pseudo_fake: JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
