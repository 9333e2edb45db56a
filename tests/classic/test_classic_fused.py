"""The adaptive-evidence ``fused`` localizer: each map counts as much as its anomaly is concentrated."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from forensic_classic import components
from forensic_classic.ela import CellMap
from forensic_classic.plugin import ClassicDetectorSettings, FusedSettings
from forensic_classic.synthetic import SyntheticCase, pixel_auc, splice
from forensic_core import BuildContext, Localization, MediaItem

skimage_data = pytest.importorskip("skimage.data")


def fused(image: np.ndarray, context: BuildContext | None = None, **settings: object) -> Localization:
    localizer = components.build_fused(FusedSettings(**settings), context)
    return localizer.localize([MediaItem(image=image, source="splice.jpg")])[0]


def make_splice(host_quality: int, donor_quality: int, final_quality: int, scale: float = 1.0) -> SyntheticCase:
    qualities = {"host_quality": host_quality, "donor_quality": donor_quality, "final_quality": final_quality}
    host, donor = skimage_data.astronaut(), skimage_data.coffee()
    return splice(host, donor, np.random.default_rng(0), area=0.08, scale=scale, **qualities)


def test_fused_finds_a_paste_that_only_nadjpg_sees() -> None:
    # Host saved finer than the final save: dq's histograms barely change; the donor's shifted lattice remains.
    case = make_splice(95, 60, 80)
    context = BuildContext()
    fused_auc = pixel_auc(fused(case.image, context).heatmap, case.mask)
    dq_auc = pixel_auc(fused(case.image, context, evidence=("dq",)).heatmap, case.mask)
    assert fused_auc > 0.9
    assert fused_auc > dq_auc + 0.2


def test_a_map_that_sees_nothing_gets_little_weight_and_dq_carries_the_map() -> None:
    # A rescaled donor has lost its JPEG lattice, so nadjpg is diffuse; dq sees the paste (host 85 < final 95).
    case = make_splice(85, 70, 95, scale=1.3)
    result = fused(case.image)
    assert result.details["weights"]["nadjpg"] < 0.15
    assert result.details["confidence"]["dq"] > 0.5 > result.details["confidence"]["nadjpg"]
    assert pixel_auc(result.heatmap, case.mask) > 0.98


class _FixedCache:
    """Stands in for the evidence cache: returns preset cell maps."""

    def __init__(self, maps: dict[str, np.ndarray]) -> None:
        self.maps = maps

    def cells(self, name: str, image: np.ndarray, settings: object) -> CellMap:
        return CellMap(z=self.maps[name], block=8, details={})


def test_weights_follow_concentration_a_compact_anomaly_dominates_a_scattered_one() -> None:
    rng = np.random.default_rng(0)
    compact = rng.normal(0, 1, (40, 60))
    compact[8:18, 30:42] += 6.0  # a strong, compact anomaly
    scattered = np.abs(rng.normal(0, 1, (40, 60))) * 3.0  # strong cells everywhere: nothing concentrated
    cache = _FixedCache({"nadjpg": compact, "blindnoise": scattered})
    localizer = components.FusedLocalizer(FusedSettings(evidence=("nadjpg", "blindnoise"), anchor=None), cache)
    result = localizer.localize([MediaItem(image=np.zeros((320, 480, 3), np.uint8), source="x.png")])[0]
    weights = result.details["weights"]
    assert weights["nadjpg"] > 0.95 and weights["blindnoise"] < 0.05
    assert result.details["most_confident"] == "nadjpg"
    truth = np.zeros((320, 480), dtype=bool)
    truth[64:144, 240:336] = True
    assert pixel_auc(result.heatmap, truth) > 0.99


def test_the_anchor_map_takes_part_with_weight_one_whatever_its_confidence() -> None:
    dq = np.zeros((40, 60))
    dq[10:20, 10:20] = 1.0  # a weak anomaly: concentration 1, far below dq's reference 3
    nadjpg = np.zeros((40, 60))
    nadjpg[25:35, 40:50] = 2.4  # at nadjpg's reference: confidence about one half
    cache = _FixedCache({"dq": dq, "nadjpg": nadjpg})
    item = MediaItem(image=np.zeros((320, 480, 3), np.uint8), source="x")
    anchored = components.FusedLocalizer(FusedSettings(), cache).localize([item])[0].details
    free = components.FusedLocalizer(FusedSettings(anchor=None), cache).localize([item])[0].details
    confidence = anchored["confidence"]
    assert confidence["dq"] < 0.1 and 0.3 < confidence["nadjpg"] < 0.7
    assert anchored["weights"]["dq"] == pytest.approx(1 / (1 + confidence["nadjpg"]), abs=1e-3)
    assert free["weights"]["dq"] == pytest.approx(confidence["dq"] / sum(confidence.values()), abs=1e-3)
    assert anchored["weights"]["dq"] > 0.6 > 0.2 > free["weights"]["dq"]


def test_heat_is_the_weighted_average_of_the_maps_heats() -> None:
    rng = np.random.default_rng(1)
    maps = {"dq": rng.normal(0, 1, (12, 16)), "nadjpg": rng.normal(0, 1, (12, 16))}
    maps["nadjpg"][2:6, 3:8] += 8.0
    localizer = components.FusedLocalizer(FusedSettings(), _FixedCache(maps))
    result = localizer.localize([MediaItem(image=np.zeros((96, 128, 3), np.uint8), source="x")])[0]
    weights = result.details["weights"]
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    from forensic_classic.imaging import squash, upsample

    expected = sum(weights[name] * squash(z, center=2.0) for name, z in maps.items())
    np.testing.assert_allclose(result.heatmap, upsample(expected, (96, 128), 8), atol=1e-3)
    assert weights["nadjpg"] > 0.45  # the compact anomaly counts about as much as the anchor


def test_fused_reuses_the_maps_its_siblings_computed(map_computations: list[str]) -> None:
    context = BuildContext()
    item = MediaItem(image=skimage_data.chelsea(), source="x.png")
    components.build_dq(components.DEFAULT_SETTINGS["dq"](), context).localize([item])
    components.build_fused(FusedSettings(), context).localize([item])
    components.build_classic_detector(ClassicDetectorSettings(evidence=("dq", "nadjpg")), context).detect([item])
    assert sorted(map_computations) == ["dq", "nadjpg"]


@pytest.mark.parametrize("shape", [(37, 53), (5, 7), (130, 9)])
def test_heatmap_is_float_in_unit_range_at_exactly_the_input_size(shape: tuple[int, int]) -> None:
    image = np.random.default_rng(2).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    result = fused(image, evidence=("dq", "nadjpg", "blindnoise", "ghost"))
    assert result.heatmap.shape == shape and result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
    assert result.mask is not None and result.mask.shape == shape


def test_settings_reject_an_anchor_outside_the_evidence_and_repeated_maps() -> None:
    with pytest.raises(ValidationError, match="anchor"):
        FusedSettings(evidence=("nadjpg", "ghost"))
    with pytest.raises(ValidationError, match="repeat"):
        FusedSettings(evidence=("dq", "dq"))
    with pytest.raises(ValidationError):
        FusedSettings(evidence=("noise",), anchor=None)
    assert FusedSettings(evidence=("nadjpg", "ghost"), anchor=None).anchor is None
