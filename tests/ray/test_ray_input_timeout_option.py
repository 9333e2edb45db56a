"""``--input-timeout`` (``run_pipeline(input_timeout=...)``) maps onto the ray engine's per-input timeout."""

from __future__ import annotations

import pytest

from forensic_core.runner import run_pipeline

from .conftest import write_images
from .test_ray_faults import NAMES, by_name, fault_pipeline, summary

pytestmark = pytest.mark.usefixtures("ray_session")


def test_the_run_option_sets_the_ray_timeout(registry, tmp_path, capfd):
    write_images(tmp_path / "in", NAMES)
    pipeline = fault_pipeline(registry, "hang")
    outcome = run_pipeline(
        pipeline,
        registry,
        [tmp_path / "in"],
        tmp_path / "ray",
        engine="ray",
        engine_settings={"actors_per_node": 2},
        input_timeout=3,
    )
    assert "1 timed out" in summary(capfd.readouterr().err)
    assert "per-input timeout of 3 s" in by_name(tmp_path / "ray")["target.jpg"]["error"]
    assert outcome.summary.ok == 4
