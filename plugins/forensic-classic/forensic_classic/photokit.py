"""The photo kit: real photographs that installable packages carry, edited locally, with ground-truth masks.

The learned detector (:mod:`forensic_classic.learned`) is fitted and measured on this kit, which the project
generates offline from the photos in scikit-image's data, matplotlib's sample data and, when installed, the Debian
package ``opencv-doc`` (``apt-get install opencv-doc``: ~20 more photos; optional, the kit is smaller without it).
Every photo is downscaled to at most ``max_side`` pixels (512) on its long side, which also erases any JPEG history
it came with, and assigned to the ``fit`` or the ``held-out`` half *by source*, so nothing measured on the held-out
half was seen while fitting, not even another edit of the same photo.

Each source yields, per manipulation (:data:`METHODS`) and per compression history (one single JPEG save at
quality 70-95, one double save at 60-95 then 70-95, drawn at random), an edited image and its pristine twin: the
same photo through exactly the same saves without the edit, so compression alone is never the signal. Masks are
the edited pixels (blend weight above one half). Everything is drawn from one seeded generator: the same seed and
photos give the same kit byte for byte.

Heavy imports (scikit-image, matplotlib, OpenCV, scipy) live inside the functions: this module is imported only by
the fitting script and tests.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = ("fit", "held-out")
SKIMAGE_PHOTOS = {
    "fit": ("coffee", "chelsea", "rocket", "camera", "coins", "brick", "moon", "clock", "cell", "page"),
    "held-out": ("astronaut", "grass", "gravel", "immunohistochemistry", "retina", "text", "hubble_deep_field"),
}
MATPLOTLIB_PHOTOS: dict[str, tuple[str, ...]] = {"fit": ("grace_hopper.jpg",), "held-out": ()}
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_PHOTOS = {
    "fit": (
        "aero1.jpg",
        "apple.jpg",
        "board.jpg",
        "butterfly.jpg",
        "home.jpg",
        "messi5.jpg",
        "squirrel_cls.jpg",
        "basketball1.png",
        "graf1.png",
        "smarties.png",
    ),
    "held-out": (
        "aloeL.jpg",
        "baboon.jpg",
        "building.jpg",
        "fruits.jpg",
        "leuvenA.jpg",
        "orange.jpg",
        "stuff.jpg",
        "box_in_scene.png",
        "rubberwhale1.png",
        "licenseplate_motion.jpg",
    ),
}
# Faces (left, top, width, height) at the native size, where the Haar cascade finds them; face swaps go there.
FACES = {"astronaut": (177, 66, 95, 95), "grace_hopper.jpg": (190, 130, 150, 170)}
FACE_SWAPS = 6


@dataclass(frozen=True)
class Photo:
    name: str
    split: str
    image: np.ndarray
    face: tuple[int, int, int, int] | None = None


def _rgb(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def _downscale(photo: Photo, max_side: int) -> Photo:
    height, width = photo.image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return photo
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    image = np.asarray(Image.fromarray(photo.image).resize(size, Image.Resampling.LANCZOS))
    face = None if photo.face is None else (*(round(v * scale) for v in photo.face),)
    return Photo(photo.name, photo.split, image, face)


def load_photos(max_side: int = 512, opencv_doc: Path | None = OPENCV_DOC) -> list[Photo]:
    """Every available source photo, RGB uint8, at most ``max_side`` on the long side, with its split."""
    import matplotlib.cbook
    import skimage.data

    photos: list[Photo] = []
    for split in SPLITS:
        for name in SKIMAGE_PHOTOS[split]:
            image = _rgb(getattr(skimage.data, name)())
            if name == "retina":
                image = image[300:1100, 300:1100]
            photos.append(Photo(name, split, image, FACES.get(name)))
        for name in MATPLOTLIB_PHOTOS[split]:
            with Image.open(Path(str(matplotlib.cbook.get_sample_data(name, asfileobj=False)))) as handle:
                photos.append(Photo(name, split, _rgb(np.asarray(handle.convert("RGB"))), FACES.get(name)))
        if opencv_doc is not None and opencv_doc.is_dir():
            for name in OPENCV_PHOTOS[split]:
                if (opencv_doc / name).is_file():
                    with Image.open(opencv_doc / name) as handle:
                        photos.append(Photo(name, split, _rgb(np.asarray(handle.convert("RGB")))))
    return [_downscale(photo, max_side) for photo in photos]


def lfw_faces(split: str) -> list[np.ndarray]:
    """scikit-image's LFW faces (the first 100 of ``lfw_subset``), even ones for ``fit``, odd for held-out."""
    import skimage.data

    faces = skimage.data.lfw_subset()[:100]
    picked = faces[SPLITS.index(split) :: 2]
    return [_rgb(np.clip(np.rint(face * 255), 0, 255).astype(np.uint8)) for face in picked]


def jpeg(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as handle:
        return np.asarray(handle.convert("RGB"))


def region(shape: tuple[int, int], rng: np.random.Generator, area: float) -> tuple[np.ndarray, np.ndarray]:
    """A feathered, rotated ellipse of about ``area`` of the image at a random place: (alpha in [0, 1], mask)."""
    from scipy.ndimage import gaussian_filter

    height, width = shape
    aspect = rng.uniform(0.6, 1.6)
    semi_b = np.sqrt(area * height * width / (np.pi * aspect))
    semi_a = semi_b * aspect
    reach = max(semi_a, semi_b) + 3
    cy = rng.uniform(min(reach, height / 2), max(height - reach, height / 2))
    cx = rng.uniform(min(reach, width / 2), max(width - reach, width / 2))
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy - cy, xx - cx
    u = (xx * np.cos(angle) + yy * np.sin(angle)) / semi_a
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / semi_b
    hard = ((u * u + v * v) <= 1.0).astype(np.float32)
    alpha = np.clip(gaussian_filter(hard, float(rng.uniform(1.0, 2.5))), 0.0, 1.0)
    return alpha, alpha > 0.5


def _blend(host: np.ndarray, other: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    weight = alpha[..., None]
    return np.clip(np.rint(weight * other.astype(np.float32) + (1 - weight) * host), 0, 255).astype(np.uint8)


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` moved by (dy, dx) with edge padding: pixel (y, x) of the result is (y - dy, x - dx) of the input."""
    height, width = image.shape[:2]
    pad = ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0))
    padded = np.pad(image, pad, mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[top : top + height, left : left + width]


@dataclass(frozen=True)
class Context:
    """What a manipulation may draw on: the other photos of the same split and that split's LFW faces."""

    donors: list[np.ndarray]
    faces: list[np.ndarray]


Edit = tuple[np.ndarray, np.ndarray, dict[str, object]]


def splice(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """A region of another photo (maybe JPEG-saved at 60-95, maybe rescaled 0.7-1.4) pasted at a random place."""
    donor = ctx.donors[int(rng.integers(len(ctx.donors)))]
    quality = int(rng.integers(60, 96)) if rng.random() < 0.6 else None
    if quality is not None:
        donor = decode(jpeg(donor, quality))
    scale = float(rng.uniform(0.7, 1.4)) if rng.random() < 0.5 else 1.0
    height, width = host.shape[:2]
    size = (max(width, round(donor.shape[1] * scale)), max(height, round(donor.shape[0] * scale)))
    donor = np.asarray(Image.fromarray(donor).resize(size, Image.Resampling.BICUBIC))
    top = int(rng.integers(0, donor.shape[0] - height + 1))
    left = int(rng.integers(0, donor.shape[1] - width + 1))
    alpha, mask = region((height, width), rng, float(rng.uniform(0.02, 0.08)))
    edited = _blend(host, donor[top : top + height, left : left + width], alpha)
    return edited, mask, {"donor_quality": quality, "scale": round(scale, 3)}


def copy_move(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """A region of the photo itself, moved by a random offset (not a multiple of 8 in general)."""
    height, width = host.shape[:2]
    dy = int(rng.integers(-height // 3, height // 3 + 1)) or 11
    dx = int(rng.integers(-width // 3, width // 3 + 1)) or 13
    alpha, mask = region((height, width), rng, float(rng.uniform(0.02, 0.08)))
    return _blend(host, _shifted(host, dy, dx), alpha), mask, {"offset": [dy, dx]}


def colour(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """A local brightness, contrast or colour change (per-channel gain and offset)."""
    gain = rng.uniform(0.8, 1.25) * rng.uniform(0.9, 1.1, size=3)
    offset = rng.uniform(-20, 20, size=3)
    changed = np.clip(host.astype(np.float32) * gain + offset, 0, 255)
    alpha, mask = region(host.shape[:2], rng, float(rng.uniform(0.03, 0.12)))
    return _blend(host, changed, alpha), mask, {"gain": np.round(gain, 3).tolist()}


def blur_sharpen(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """A local Gaussian blur (sigma 1-2.5) or unsharp mask (amount 0.6-1.5), as retouching does."""
    from scipy.ndimage import gaussian_filter

    sigma = float(rng.uniform(1.0, 2.5))
    blurred = gaussian_filter(host.astype(np.float32), (sigma, sigma, 0))
    kind = "blur" if rng.random() < 0.5 else "sharpen"
    if kind == "sharpen":
        blurred = host + float(rng.uniform(0.6, 1.5)) * (host - blurred)
    alpha, mask = region(host.shape[:2], rng, float(rng.uniform(0.03, 0.12)))
    edited = _blend(host, np.clip(blurred, 0, 255), alpha)
    return edited, mask, {"kind": kind, "sigma": round(sigma, 3)}


def resample(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """A region enlarged (1.1-1.5) or shrunk (0.7-0.9) about its centre and put back: a local warp."""
    height, width = host.shape[:2]
    alpha, mask = region((height, width), rng, float(rng.uniform(0.03, 0.10)))
    ys, xs = np.nonzero(mask)
    cy, cx = float(ys.mean()), float(xs.mean())
    scale = float(rng.uniform(1.1, 1.5) if rng.random() < 0.6 else rng.uniform(0.7, 0.9))
    # PIL's affine maps output (x, y) to input (a x + b y + c, d x + e y + f): zoom by ``scale`` about (cx, cy).
    inverse = (1 / scale, 0.0, cx - cx / scale, 0.0, 1 / scale, cy - cy / scale)
    warped = Image.fromarray(host).transform((width, height), Image.Transform.AFFINE, inverse, Image.Resampling.BICUBIC)
    return _blend(host, np.asarray(warped), alpha), mask, {"scale": round(scale, 3)}


def inpaint(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """An object removed: OpenCV's inpainting (Telea or Navier-Stokes) fills an elliptical region."""
    import cv2

    _alpha, mask = region(host.shape[:2], rng, float(rng.uniform(0.01, 0.05)))
    method = cv2.INPAINT_TELEA if rng.random() < 0.5 else cv2.INPAINT_NS
    filled = cv2.inpaint(np.ascontiguousarray(host), mask.astype(np.uint8) * 255, 3.0, method)
    return filled, mask, {"method": "telea" if method == cv2.INPAINT_TELEA else "ns"}


def face_swap(host: np.ndarray, rng: np.random.Generator, ctx: Context, face: object = None) -> Edit:
    """Another person's inner face (an LFW face, resized and colour-matched) blended over the host's face."""
    from scipy.ndimage import gaussian_filter

    if not isinstance(face, tuple):
        raise ValueError("face_swap needs the host's face box")
    left, top, width, height = face
    donor = ctx.faces[int(rng.integers(len(ctx.faces)))]
    inner = donor[3:-3, 4:-4]  # LFW crops are centred on the face; keep its inner part
    patch = np.asarray(Image.fromarray(inner).resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    target = host[top : top + height, left : left + width].astype(np.float32)
    patch = (patch - patch.mean((0, 1))) / (patch.std((0, 1)) + 1e-3) * target.std((0, 1)) + target.mean((0, 1))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    inside = (((xx - width / 2) / (0.42 * width)) ** 2 + ((yy - height / 2) / (0.48 * height)) ** 2) <= 1.0
    alpha_box = np.clip(gaussian_filter(inside.astype(np.float32), 3.0), 0, 1)
    alpha = np.zeros(host.shape[:2], dtype=np.float32)
    alpha[top : top + height, left : left + width] = alpha_box
    full = host.astype(np.float32).copy()
    full[top : top + height, left : left + width] = np.clip(patch, 0, 255)
    return _blend(host, full, alpha), alpha > 0.5, {"box": list(face)}


METHODS: dict[str, Callable[..., Edit]] = {
    "splice": splice,
    "copy-move": copy_move,
    "colour": colour,
    "blur-sharpen": blur_sharpen,
    "resample": resample,
    "inpaint": inpaint,
    "face-swap": face_swap,
}


def histories(rng: np.random.Generator) -> list[tuple[int, ...]]:
    """One single save (q 70-95) and one double save (60-95, then 70-95): the qualities before and after the edit."""
    return [(int(rng.integers(70, 96)),), (int(rng.integers(60, 96)), int(rng.integers(70, 96)))]


@dataclass(frozen=True)
class KitImage:
    """One kit image: the final JPEG bytes, its mask (None for a pristine twin) and what was done."""

    name: str
    data: bytes
    mask: np.ndarray | None
    method: str
    split: str
    source: str
    history: tuple[int, ...]


def generate(
    photos: list[Photo], seed: int = 0, methods: tuple[str, ...] = tuple(METHODS), face_swaps: int = FACE_SWAPS
) -> Iterator[KitImage]:
    """Yield every edited image and its pristine twin (see the module docstring), deterministically."""
    rng = np.random.default_rng(seed)
    faces = {split: lfw_faces(split) for split in SPLITS} if "face-swap" in methods else {}
    for index, photo in enumerate(photos):
        donors = [p.image for p in photos if p.split == photo.split and p.name != photo.name]
        ctx = Context(donors=donors or [photo.image[::-1, ::-1]], faces=faces.get(photo.split, []))
        for method in methods:
            if method == "face-swap" and photo.face is None:
                continue
            repeats = max(1, face_swaps // 2) if method == "face-swap" else 1
            for repeat in range(repeats):
                for history in histories(rng):
                    before = photo.image if len(history) == 1 else decode(jpeg(photo.image, history[0]))
                    edited, mask, _params = METHODS[method](before, rng, ctx, photo.face)
                    stem = f"{index:02d}-{photo.name.split('.')[0]}-{method}-{repeat}-{'-'.join(map(str, history))}"
                    final = history[-1]
                    yield KitImage(stem, jpeg(edited, final), mask, method, photo.split, photo.name, history)
                    yield KitImage(stem + "-twin", jpeg(before, final), None, method, photo.split, photo.name, history)


MANIFEST_COLUMNS = ("path", "label", "mask", "method", "split")
KIT_COLUMNS = (*MANIFEST_COLUMNS, "source", "history")


def write_kit(folder: Path, images: Iterator[KitImage]) -> dict[str, Path]:
    """Write JPEGs, mask PNGs, ``kit.csv`` (every image with its source photo and JPEG history) and the manifests.

    ``manifest.csv`` (every image, with its split) and ``manifest-fit.csv`` / ``manifest-held-out.csv`` are what
    ``forensic eval`` reads (``forensic eval KIT/manifest-held-out.csv``); its per-method table has one row per
    manipulation (the twins, method empty, are the pristine class of every method).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for item in images:
        path = f"{item.name}.jpg"
        (folder / path).write_bytes(item.data)
        mask = ""
        if item.mask is not None:
            mask = f"{item.name}-mask.png"
            Image.fromarray(item.mask.astype(np.uint8) * 255).save(folder / mask)
        label = "real" if item.mask is None else "fake"
        history = "+".join(map(str, item.history))
        method = item.method if item.mask is not None else ""
        values = (path, label, mask, method, item.split, item.source, history)
        rows.append(dict(zip(KIT_COLUMNS, values, strict=True)))
    written = {"kit": folder / "kit.csv", "all": folder / "manifest.csv"}
    written |= {split: folder / f"manifest-{split}.csv" for split in SPLITS}
    for key, target in written.items():
        columns = KIT_COLUMNS if key == "kit" else MANIFEST_COLUMNS
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(row for row in rows if key in ("kit", "all") or row["split"] == key)
    return written


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
