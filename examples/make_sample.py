"""Make the demo inputs: a real portrait with a manipulated eye, and its pristine twin.

The photo ships inside scikit-image (``astronaut``: NASA, public domain), so the demo needs no download and the
repository carries no binary images. The manipulation imitates a local face edit: the subject's right eye is taken
from a differently compressed copy (JPEG q70), mirrored, enlarged by 10 %, and blended with a soft-edged ellipse over
the subject's left eye; the result is saved at q92. The pristine twin goes through the same saves (host q85, final
q92) without the edit. ``astronaut_edited_mask.png`` is the ground truth (blend weight above one half).

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


if __name__ == "__main__":
    for path in make(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/inputs")):
        print(path)
