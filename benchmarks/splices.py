"""Evaluation set of generated splices from real photos that ship inside installed packages.

Photos: scikit-image's astronaut, coffee, chelsea, rocket, camera and coins, matplotlib's grace_hopper.jpg
(``PHOTOS``, the set of benchmarks/eval_splices.py). Each photo yields, per compression scenario, a splice (a
piece of another photo pasted at a random offset, sometimes rescaled), a copy-move (a piece of itself) and a
pristine counterpart with the same JPEG saves. The generator itself is :mod:`forensic_classic.synthetic`
(shared with the tests).

The classic detector's calibration (benchmarks/calibrate_classic.py) uses two disjoint photo sets:
``CALIBRATION_PHOTOS`` to set its references and ``HELD_OUT_PHOTOS`` to measure them, with astronaut (the demo's
host photo) held out. :func:`write_set` writes a set as PNG files (the exact decoded pixels, so no further JPEG
save) with masks and a ``forensic eval`` manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from forensic_classic.synthetic import SyntheticCase, copy_move, pristine, splice

# (host quality or None for a lossless host, donor quality, final quality): realistic camera/web qualities.
SCENARIOS: tuple[tuple[int | None, int, int], ...] = (
    (None, 75, 90),
    (85, 70, 95),
    (90, 80, 85),
    (75, 90, 90),
    (95, 60, 80),
)


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "grace_hopper")
CALIBRATION_PHOTOS = (
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "grace_hopper",
    "brick",
    "gravel",
    "moon",
    "clock",
)
HELD_OUT_PHOTOS = ("astronaut", "grass", "immunohistochemistry", "hubble_deep_field", "cell", "retina")
# matplotlib's sample photo (the rest are scikit-image's); hubble_deep_field and retina are cropped to 512 x 640.
_MATPLOTLIB = {"grace_hopper": "grace_hopper.jpg"}


def load_photos(names: tuple[str, ...] = PHOTOS) -> dict[str, np.ndarray]:
    """The RGB uint8 photos of the set (grayscale ones stacked to three channels)."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    photos: dict[str, np.ndarray] = {}
    for name in names:
        if name in _MATPLOTLIB:
            with Image.open(matplotlib.cbook.get_sample_data(_MATPLOTLIB[name])) as img:
                photos[name] = np.asarray(img.convert("RGB"))
        else:
            photos[name] = getattr(skimage.data, name)()
    for name, (top, left) in {"hubble_deep_field": (0, 0), "retina": (450, 380)}.items():
        if name in photos:
            photos[name] = photos[name][top : top + 512, left : left + 640]
    return {k: (np.stack([v] * 3, axis=2) if v.ndim == 2 else v) for k, v in photos.items()}


def scenario_label(scenario: tuple[int | None, int, int]) -> str:
    host, donor, final = scenario
    return f"{'png' if host is None else host}+{donor}>{final}"


def generate(
    seed: int = 0, scenarios: tuple[tuple[int | None, int, int], ...] = SCENARIOS, photos: tuple[str, ...] = PHOTOS
) -> Iterator[tuple[str, SyntheticCase]]:
    """Yield (scenario label, case) for every photo x scenario x {splice, copy-move, pristine}.

    The label reads host+donor>final qualities; a copy-move of a lossless host copies within the donor-quality
    JPEG (there is no other source).
    """
    rng = np.random.default_rng(seed)
    loaded = load_photos(photos)
    names = sorted(loaded)
    for index, name in enumerate(names):
        host = loaded[name]
        for host_q, donor_q, final_q in scenarios:
            donor = loaded[names[(index + 1 + int(rng.integers(0, len(names) - 1))) % len(names)]]
            scale = float(rng.choice([1.0, rng.uniform(0.7, 1.4)]))
            area = float(rng.uniform(0.03, 0.10))
            label = scenario_label((host_q, donor_q, final_q))
            yield (
                label,
                splice(
                    host,
                    donor,
                    rng,
                    area=area,
                    host_quality=host_q,
                    donor_quality=donor_q,
                    final_quality=final_q,
                    scale=scale,
                ),
            )
            yield label, copy_move(host, rng, area=area, host_quality=host_q or donor_q, final_quality=final_q)
            yield label, pristine(host, host_quality=host_q, final_quality=final_q)


def write_set(folder: Path, cases: Iterable[tuple[str, SyntheticCase]], prefix: str = "") -> Path:
    """Write cases as PNGs (forged ones with a mask PNG) and ``manifest.csv`` (path,label,mask,method); the
    method is the kind (splice, copy-move) and the scenario label, e.g. ``splice 85+70>95``."""
    import csv

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "mask", "method"])
        for index, (label, case) in enumerate(cases):
            name = f"{prefix}{index:04d}-{case.kind}"
            Image.fromarray(case.image).save(folder / f"{name}.png", compress_level=1)
            mask = ""
            if case.is_forged:
                mask = f"{name}-mask.png"
                Image.fromarray(case.mask.astype(np.uint8) * 255).save(folder / mask)
            writer.writerow(
                [f"{name}.png", "fake" if case.is_forged else "real", mask, f"{case.kind} {label}" if mask else ""]
            )
    return manifest
