"""Registration: the entry point names the registration module, which registers every classic component."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np
import pytest
from pydantic import ValidationError

from forensic_classic import plugin
from forensic_classic.synthetic import copy_move, pristine, rank_auc, splice


def test_entry_point_names_the_registration_module() -> None:
    targets = {
        ep.value for ep in entry_points(group="forensic.plugins") if ep.dist and ep.dist.name == "forensic-classic"
    }
    assert targets == {"forensic_classic.plugin"}


def test_registers_the_classic_localizers_and_detector() -> None:
    assert {spec.name for spec in plugin.forensic_register_localizers()} == {
        "ela",
        "noise",
        "ghost",
        "dq",
        "nadjpg",
        "blindnoise",
        "fused",
    }
    assert [spec.name for spec in plugin.forensic_register_detectors()] == ["classic", "learned"]


def test_settings_reject_out_of_range_qualities_and_unknown_evidence() -> None:
    with pytest.raises(ValidationError):
        plugin.ElaSettings(qualities=(101,))
    with pytest.raises(ValidationError):
        plugin.ClassicDetectorSettings(evidence=("kfd",))


def test_generated_cases_carry_exact_ground_truth() -> None:
    rng = np.random.default_rng(0)
    host = rng.integers(0, 256, size=(64, 96, 3), dtype=np.uint8)
    donor = rng.integers(0, 256, size=(80, 80, 3), dtype=np.uint8)
    spliced = splice(host, donor, rng, area=0.1, host_quality=None, donor_quality=None, final_quality=None)
    assert spliced.is_forged and 0.05 < spliced.mask.mean() < 0.15
    assert np.array_equal(spliced.image[~spliced.mask], host[~spliced.mask])
    assert copy_move(host, rng, host_quality=80, final_quality=90).is_forged
    assert not pristine(host).is_forged


def test_rank_auc_counts_ties_as_half() -> None:
    assert rank_auc(np.array([0.1, 0.9, 0.5, 0.5]), np.array([False, True, True, False])) == pytest.approx(0.875)
