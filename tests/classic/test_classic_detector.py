"""The heuristic classic detector: scores spliced photos above pristine ones and documents its rule."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_classic import components
from forensic_classic.plugin import ClassicDetectorSettings
from forensic_classic.synthetic import pristine, splice
from forensic_core import BuildContext, MediaItem

skimage_data = pytest.importorskip("skimage.data")


def detect(image: np.ndarray, **settings: object) -> object:
    detector = components.build_classic_detector(ClassicDetectorSettings(**settings), None)
    return detector.detect([MediaItem(image=image, source="x.jpg")])[0]


@pytest.mark.parametrize(("host_name", "donor_name"), [("chelsea", "coffee"), ("rocket", "astronaut")])
def test_spliced_photo_scores_higher_than_the_same_photo_untouched(host_name: str, donor_name: str) -> None:
    host, donor = getattr(skimage_data, host_name)(), getattr(skimage_data, donor_name)()
    qualities = {"host_quality": 85, "final_quality": 95}
    forged = splice(host, donor, np.random.default_rng(0), area=0.08, donor_quality=70, **qualities)
    untouched = pristine(host, **qualities)
    forged_score, untouched_score = detect(forged.image).score, detect(untouched.image).score
    assert forged_score > untouched_score + 0.3
    assert forged_score >= 0.5 > untouched_score


def test_details_say_the_score_is_heuristic_and_give_the_rule_and_statistics() -> None:
    image = skimage_data.chelsea()
    details = detect(image, evidence=("dq", "noise")).details
    assert details["heuristic"] is True
    assert "concentration" in details["rule"]
    assert set(details["concentration"]) == set(details["map_scores"]) == {"dq", "noise"}
    assert details["strongest"] in {"dq", "noise"}


def test_score_is_the_largest_per_map_score() -> None:
    result = detect(skimage_data.coffee(), evidence=("dq", "ghost", "noise", "ela"))
    assert result.score == pytest.approx(max(result.details["map_scores"].values()), abs=1e-4)


def test_detector_reuses_maps_its_sibling_localizer_computed(map_computations: list[str]) -> None:
    context = BuildContext()
    item = MediaItem(image=skimage_data.chelsea(), source="x.png")
    components.build_dq(components.DEFAULT_SETTINGS["dq"](), context).localize([item])
    components.build_classic_detector(ClassicDetectorSettings(evidence=("dq",)), context).detect([item])
    assert map_computations == ["dq"]


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_untouched_shipped_photos_are_labelled_real(name: str) -> None:
    # astronaut ships as a lossless PNG, grace_hopper as a camera JPEG: neither was ever spliced.
    if name == "grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as img:
            image = np.asarray(img.convert("RGB"))
    else:
        image = skimage_data.astronaut()
    result = detect(image)
    assert set(result.details["evidence"]) == {"dq", "ghost"}
    assert result.label == "real" and result.score < 0.5
