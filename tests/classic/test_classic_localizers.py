"""Each classic localizer ranks the pasted pixels of a generated splice above the rest of the photo.

Every case is built for the trace its localizer looks for (double-JPEG host and misaligned donor for dq/ghost,
a donor with another noise level for noise, a lossless region in a JPEG for ela), from real photos that ship
with scikit-image; the pixel AUC of the heatmap against the paste mask must clear a wide margin.
"""

from __future__ import annotations

import numpy as np
import pytest

from forensic_classic import components
from forensic_classic.synthetic import SyntheticCase, pixel_auc, splice
from forensic_core import Localization, MediaItem

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def host() -> np.ndarray:
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def donor() -> np.ndarray:
    return skimage_data.coffee()


def localize(name: str, image: np.ndarray, **settings: object) -> Localization:
    localizer = getattr(components, f"build_{name}")(components.DEFAULT_SETTINGS[name](**settings), None)
    return localizer.localize([MediaItem(image=image, source="splice.jpg")])[0]


def make_splice(host: np.ndarray, donor: np.ndarray, **qualities: int | None) -> SyntheticCase:
    return splice(host, donor, np.random.default_rng(0), area=0.08, **qualities)


def test_dq_flags_a_misaligned_paste_in_a_double_compressed_photo(host: np.ndarray, donor: np.ndarray) -> None:
    case = make_splice(host, donor, host_quality=85, donor_quality=70, final_quality=95)
    assert pixel_auc(localize("dq", case.image).heatmap, case.mask) > 0.95


def test_ghost_flags_a_paste_without_the_hosts_earlier_quality(host: np.ndarray, donor: np.ndarray) -> None:
    case = make_splice(host, donor, host_quality=75, donor_quality=90, final_quality=90)
    assert pixel_auc(localize("ghost", case.image).heatmap, case.mask) > 0.85


def test_noise_flags_a_paste_with_another_noise_level(host: np.ndarray, donor: np.ndarray) -> None:
    grainy = np.clip(donor + np.random.default_rng(1).normal(0, 8, donor.shape), 0, 255).astype(np.uint8)
    case = make_splice(host, grainy, host_quality=90, donor_quality=None, final_quality=90)
    assert pixel_auc(localize("noise", case.image).heatmap, case.mask) > 0.85


def test_nadjpg_flags_a_paste_that_keeps_its_donors_jpeg_grid(host: np.ndarray, donor: np.ndarray) -> None:
    # Host quality above the final one: dq sees almost nothing here, the donor's shifted lattice remains.
    case = make_splice(host, donor, host_quality=95, donor_quality=60, final_quality=80)
    result = localize("nadjpg", case.image)
    assert pixel_auc(result.heatmap, case.mask) > 0.9
    assert result.details["shift"] != [0, 0]


def test_nadjpg_finds_the_grid_shift_of_the_pasted_region(host: np.ndarray, donor: np.ndarray) -> None:
    from forensic_classic.imaging import jpeg_roundtrip

    pasted = host.copy()
    # Donor grid at (3, 5) relative to the final save's grid.
    pasted[96:320, 96:320] = jpeg_roundtrip(donor, 70)[93:317, 91:315]
    final = jpeg_roundtrip(pasted, 95)
    assert localize("nadjpg", final).details["shift"] == [3, 5]


def test_blindnoise_flags_a_paste_with_another_noise_level(host: np.ndarray, donor: np.ndarray) -> None:
    grainy = np.clip(donor + np.random.default_rng(1).normal(0, 8, donor.shape), 0, 255).astype(np.uint8)
    case = make_splice(host, grainy, host_quality=None, donor_quality=None, final_quality=None)
    assert pixel_auc(localize("blindnoise", case.image).heatmap, case.mask) > 0.85


def test_blindnoise_recovers_the_variance_of_added_white_noise() -> None:
    from forensic_classic.blindnoise import local_noise_variance
    from forensic_classic.dq import block_dct

    clean = skimage_data.camera().astype(np.float32)
    noisy = clean + np.random.default_rng(4).normal(0, 10, clean.shape).astype(np.float32)
    estimate = np.median(local_noise_variance(block_dct(noisy), 8))
    assert 60 < estimate < 160  # true variance 100; camera's own noise is small


def test_ela_flags_a_never_compressed_region_in_a_jpeg(host: np.ndarray, donor: np.ndarray) -> None:
    case = make_splice(host, donor, host_quality=75, donor_quality=None, final_quality=None)
    assert pixel_auc(localize("ela", case.image, qualities=(75,)).heatmap, case.mask) > 0.9


@pytest.mark.parametrize("name", ["ela", "noise", "ghost", "dq", "nadjpg", "blindnoise"])
@pytest.mark.parametrize("shape", [(37, 53), (5, 7), (130, 9)])
def test_heatmap_is_float_in_unit_range_at_exactly_the_input_size(name: str, shape: tuple[int, int]) -> None:
    image = np.random.default_rng(2).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    result = localize(name, image)
    assert result.heatmap.shape == shape
    assert result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
    assert result.mask is not None and result.mask.shape == shape


def test_details_name_the_method_and_its_parameters(host: np.ndarray) -> None:
    details = localize("ela", host, qualities=(70, 90)).details
    assert details["method"] == "ela" and details["qualities"] == [70, 90]
    assert 0.0 <= details["flagged_fraction"] <= 1.0


def test_heatmap_is_monotonic_in_the_evidence_so_it_keeps_the_ranking(host: np.ndarray) -> None:
    # A logistic, not a clip: a heatmap with large flat regions at 0 or 1 would throw ranking information away.
    heat = localize("noise", host).heatmap
    assert np.unique(heat).size > 0.2 * heat.size / (16 * 16)
    assert heat.min() > 0.0 and heat.max() < 1.0


@pytest.mark.parametrize("shape", [(24, 40), (21, 34)])
def test_block_mean_matches_a_per_block_mean_with_edge_padding(shape: tuple[int, int]) -> None:
    from forensic_classic.imaging import block_mean

    array = np.random.default_rng(3).integers(0, 256, size=shape).astype(np.float32)
    padded = np.pad(array, [(0, (-shape[0]) % 8), (0, (-shape[1]) % 8)], mode="edge")
    expected = np.array(
        [
            [padded[r : r + 8, c : c + 8].mean() for c in range(0, padded.shape[1], 8)]
            for r in range(0, padded.shape[0], 8)
        ]
    )
    np.testing.assert_allclose(block_mean(array, 8), expected, rtol=1e-5)
