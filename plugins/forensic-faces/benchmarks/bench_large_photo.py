"""How long face detection takes on a 12-megapixel photo (run on demand, not part of the test suite).

    python plugins/forensic-faces/benchmarks/bench_large_photo.py

The astronaut photo is scaled into a 4000 x 3000 frame; the target is well under a second per photo with the
default ``detection_max_side``.
"""

from __future__ import annotations

import time

import numpy as np
from PIL import Image
from skimage import data

from forensic_core import BuildContext
from forensic_faces.haar import build_haar
from forensic_faces.lbp import build_lbp
from forensic_faces.settings import HaarSettings, LbpSettings


def twelve_megapixel_photo() -> np.ndarray:
    frame = Image.new("RGB", (4000, 3000), (90, 90, 90))
    frame.paste(Image.fromarray(data.astronaut()).resize((3000, 3000), Image.Resampling.BICUBIC), (500, 0))
    return np.asarray(frame)


def main(repeats: int = 3) -> None:
    photo = twelve_megapixel_photo()
    context = BuildContext()
    cases = {
        "haar": build_haar(HaarSettings(landmarks="none"), context),
        "haar + eye check": build_haar(HaarSettings(landmarks="none", require_eyes=True), context),
        "haar + landmarks (auto)": build_haar(HaarSettings(), context),
        "lbp": build_lbp(LbpSettings(landmarks="none"), context),
    }
    print(f"photo: {photo.shape[1]} x {photo.shape[0]}")
    for name, detector in cases.items():
        detector.detect_faces(photo)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            faces = detector.detect_faces(photo)
        seconds = (time.perf_counter() - start) / repeats
        boxes = [face.box.as_list() for face in faces]
        print(f"{name:26s} {seconds:6.3f} s/photo  faces={boxes} regions={faces[0].region_source if faces else '-'}")


if __name__ == "__main__":
    main()
