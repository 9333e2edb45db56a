"""Evaluation set of generated splices from real photos that ship inside installed packages.

Photos: scikit-image's astronaut, coffee, chelsea, rocket, camera and coins, matplotlib's grace_hopper.jpg.
Each photo yields, per compression scenario, a splice (a piece of another photo pasted at a random offset,
sometimes rescaled), a copy-move (a piece of itself) and a pristine counterpart with the same JPEG saves.
The generator itself is :mod:`forensic_classic.synthetic` (shared with the tests).
"""

from __future__ import annotations

from collections.abc import Iterator

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


def load_photos() -> dict[str, np.ndarray]:
    """The RGB uint8 photos of the set (grayscale ones stacked to three channels)."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    photos = {name: getattr(skimage.data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket", "camera")}
    photos["coins"] = skimage.data.coins()
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as img:
        photos["grace_hopper"] = np.asarray(img.convert("RGB"))
    return {k: (np.stack([v] * 3, axis=2) if v.ndim == 2 else v) for k, v in photos.items()}


def scenario_label(scenario: tuple[int | None, int, int]) -> str:
    host, donor, final = scenario
    return f"{'png' if host is None else host}+{donor}>{final}"


def generate(
    seed: int = 0, scenarios: tuple[tuple[int | None, int, int], ...] = SCENARIOS
) -> Iterator[tuple[str, SyntheticCase]]:
    """Yield (scenario label, case) for every photo x scenario x {splice, copy-move, pristine}.

    The label reads host+donor>final qualities; a copy-move of a lossless host copies within the donor-quality
    JPEG (there is no other source).
    """
    rng = np.random.default_rng(seed)
    photos = load_photos()
    names = sorted(photos)
    for index, name in enumerate(names):
        host = photos[name]
        for host_q, donor_q, final_q in scenarios:
            donor = photos[names[(index + 1 + int(rng.integers(0, len(names) - 1))) % len(names)]]
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
