"""Make the demo inputs: a real portrait with a region spliced in from another photo, and its pristine twin.

The photos ship inside scikit-image (``astronaut``: NASA, public domain; ``coffee``: public domain), so the demo
needs no download and the repository carries no binary images. The splice has a realistic compression history:
host JPEG q85, donor JPEG q70 pasted at a position off the host's 8x8 grid, final save q92; the pristine twin goes
through the same saves without the paste.

    python examples/make_sample.py examples/inputs
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def make(outdir: Path) -> list[Path]:
    from skimage import data

    host = jpeg(data.astronaut(), 85)
    donor = jpeg(data.coffee(), 70)
    height, width = 40, 64
    yy, xx = np.mgrid[0:height, 0:width]
    ellipse = ((yy - height / 2) / (height / 2)) ** 2 + ((xx - width / 2) / (width / 2)) ** 2 <= 1
    top, left = 121, 195  # over the subject's mouth and chin, off the 8x8 grid
    spliced = host.copy()
    region = spliced[top : top + height, left : left + width]
    region[ellipse] = donor[200 : 200 + height, 250 : 250 + width][ellipse]
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, image in (("astronaut_spliced.jpg", spliced), ("astronaut_pristine.jpg", host)):
        path = outdir / name
        Image.fromarray(image).save(path, format="JPEG", quality=92)
        written.append(path)
    mask = np.zeros(host.shape[:2], dtype=np.uint8)
    mask[top : top + height, left : left + width][ellipse] = 255
    Image.fromarray(mask).save(outdir / "astronaut_spliced_mask.png")
    return written


if __name__ == "__main__":
    for path in make(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/inputs")):
        print(path)
