"""Make the demo inputs: a real portrait with a manipulated eye, a face splice, and their pristine twins.

The photo ships inside scikit-image (``astronaut``: NASA, public domain), so the demo needs no download and the
repository carries no binary images. The manipulation imitates a local face edit: the subject's right eye is taken
from a differently compressed copy (JPEG q70), mirrored, enlarged by 10 %, and blended with a soft-edged ellipse over
the subject's left eye; the result is saved at q92. The pristine twin goes through the same saves (host q85, final
q92) without the edit. ``astronaut_edited_mask.png`` is the ground truth (blend weight above one half).

The classic detector, calibrated to flag 10% of pristine photos (benchmarks/calibrate_classic.py), cannot flag the
eye edit: it scores it *below* its twin (the rescaled 40 x 26 patch leaves no JPEG-grid trace in a window of a
fifth of the image), so no threshold separates the two. ``astronaut_face_splice.jpg`` is an edit of the kind it is
calibrated on: the inner face of another photo (matplotlib's grace_hopper, saved at q70; 110 x 130 ellipse, 3.9%
of the image, not rescaled, feathered) pasted over the subject's face at a grid-misaligned offset, with the
compression history of the calibration scenario 85+70>95 (host q85, final q95; its twin
``astronaut_face_splice_pristine.jpg`` likewise). It is flagged, by a small margin (dq concentration 1.05 x its
reference); at a final q92 it would not be (0.57 x).

    python examples/make_sample.py examples/inputs
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RIGHT_EYE = (203, 101)  # centre (x, y) of the subject's right eye (image left) in skimage's astronaut
LEFT_EYE = (247, 104)  # centre of the subject's left eye, where the edited eye goes
PATCH = (40, 26)  # width, height of the blended ellipse


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def soft_ellipse(width: int, height: int) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).ellipse((3, 3, width - 4, height - 4), fill=255)
    return np.asarray(canvas.filter(ImageFilter.GaussianBlur(2.5)), dtype=np.float32) / 255.0


def make(outdir: Path) -> list[Path]:
    from skimage import data

    host = jpeg(data.astronaut(), 85)
    donor = jpeg(data.astronaut(), 70)
    width, height = PATCH
    src_w, src_h = round(width / 1.1), round(height / 1.1)
    x0, y0 = RIGHT_EYE[0] - src_w // 2, RIGHT_EYE[1] - src_h // 2
    eye = Image.fromarray(donor[y0 : y0 + src_h, x0 : x0 + src_w]).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    eye = np.asarray(eye.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    alpha = soft_ellipse(width, height)[..., None]
    top, left = LEFT_EYE[1] - height // 2, LEFT_EYE[0] - width // 2
    edited = host.astype(np.float32).copy()
    region = edited[top : top + height, left : left + width]
    region[...] = alpha * eye + (1 - alpha) * region
    edited = np.clip(np.rint(edited), 0, 255).astype(np.uint8)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, image in (("astronaut_edited.jpg", edited), ("astronaut_pristine.jpg", host)):
        path = outdir / name
        Image.fromarray(image).save(path, format="JPEG", quality=92)
        written.append(path)
    mask = np.zeros(host.shape[:2], dtype=np.uint8)
    mask[top : top + height, left : left + width] = (alpha[..., 0] > 0.5) * 255
    Image.fromarray(mask).save(outdir / "astronaut_edited_mask.png")
    return written


FACE = (205, 150, 110, 130)  # left, top, width, height of the inner face in grace_hopper.jpg
FACE_AT = (173, 61)  # left, top where it goes in the astronaut (offsets not multiples of 8)


def make_face_splice(outdir: Path) -> list[Path]:
    """The face splice, its pristine twin (same saves) and its mask (see the module docstring)."""
    from matplotlib import cbook
    from skimage import data

    host = jpeg(data.astronaut(), 85)
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as image:
        donor = jpeg(np.asarray(image.convert("RGB")), 70)
    x0, y0, width, height = FACE
    face = donor[y0 : y0 + height, x0 : x0 + width].astype(np.float32)
    alpha = soft_ellipse(width, height)[..., None]
    left, top = FACE_AT
    edited = host.astype(np.float32).copy()
    region = edited[top : top + height, left : left + width]
    region[...] = alpha * face + (1 - alpha) * region
    edited = np.clip(np.rint(edited), 0, 255).astype(np.uint8)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, image in (("astronaut_face_splice.jpg", edited), ("astronaut_face_splice_pristine.jpg", host)):
        path = outdir / name
        Image.fromarray(image).save(path, format="JPEG", quality=95)
        written.append(path)
    mask = np.zeros(host.shape[:2], dtype=np.uint8)
    mask[top : top + height, left : left + width] = (alpha[..., 0] > 0.5) * 255
    Image.fromarray(mask).save(outdir / "astronaut_face_splice_mask.png")
    return written


if __name__ == "__main__":
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/inputs")
    for path in [*make(outdir), *make_face_splice(outdir)]:
        print(path)
