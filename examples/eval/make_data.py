"""Write the leaderboard's data: generated splices and self-blended pseudo-fakes, with masks, and one manifest.

* splices, copy-moves and pristine twins of the held-out photo set of benchmarks/splices.py (seed 2), as PNGs
  (the exact pixels after their JPEG saves);
* pseudo-fakes (forensic_eval.pseudofake) of the two portraits that ship with scikit-image and matplotlib
  (astronaut, grace_hopper), each re-saved at JPEG q75/q85/q95 as a real and blended twice per quality
  (seeds 0 and 1) inside its face box, saved at the same quality.

Everything comes from installed packages; nothing is downloaded.

    python examples/eval/make_data.py out/eval-data     # then: forensic eval out/eval-data/manifest.csv ...
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from splices import HELD_OUT_PHOTOS, generate, load_photos, write_set  # noqa: E402

# Face boxes (x0, y0, x1, y1) of the two portraits, read off the images once.
FACES = {"astronaut": (165, 50, 290, 200), "grace_hopper": (170, 110, 370, 370)}
QUALITIES = (75, 85, 95)


def jpeg(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def pseudo_rows(folder: Path) -> list[list[str]]:
    from forensic_eval.pseudofake import make_pseudo_fake

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, photo in load_photos(tuple(FACES)).items():
        for quality in QUALITIES:
            real = folder / f"{name}-q{quality}.jpg"
            real.write_bytes(jpeg(photo, quality))
            host = np.asarray(Image.open(real).convert("RGB"))
            rows.append([f"pseudo/{real.name}", "real", "", ""])
            for seed in (0, 1):
                fake = make_pseudo_fake(host, seed, face_box=FACES[name])
                stem = f"{name}-q{quality}-pf{seed}"
                (folder / f"{stem}.jpg").write_bytes(jpeg(fake.image, quality))
                Image.fromarray(((fake.mask >= 0.5) * 255).astype(np.uint8)).save(folder / f"{stem}-mask.png")
                rows.append([f"pseudo/{stem}.jpg", "fake", f"pseudo/{stem}-mask.png", f"pseudo {fake.recipe.type}"])
    return rows


def main(outdir: Path) -> Path:
    splices = write_set(outdir / "splices", generate(2, photos=HELD_OUT_PHOTOS))
    rows = []
    with splices.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            method = row["method"].split(" ")[0]  # the kind (splice, copy-move), across scenarios
            rows.append([f"splices/{row['path']}", row["label"], row["mask"] and f"splices/{row['mask']}", method])
    rows += pseudo_rows(outdir / "pseudo")
    manifest = outdir / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "mask", "method"])
        writer.writerows(rows)
    return manifest


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/eval-data")))
