"""The ray engine batches across inputs: an actor gets several inputs per call and joins their items."""

from __future__ import annotations

import pytest

from forensic_core.config import load_pipeline
from forensic_core.runner import run_pipeline

from .conftest import comparable, journal_records, write_images

pytestmark = pytest.mark.usefixtures("ray_session")


def test_an_actor_joins_the_items_of_its_inputs_into_batches_of_the_requested_size(registry, tmp_path):
    write_images(tmp_path / "in", [f"{index}.jpg" for index in range(8)])
    pipeline = load_pipeline({"detectors": ["batch-probe"], "localizers": ["dq"]}, registry)
    local = run_pipeline(pipeline, registry, [tmp_path / "in"], tmp_path / "local")
    remote = run_pipeline(
        pipeline,
        registry,
        [tmp_path / "in"],
        tmp_path / "ray",
        engine="ray",
        engine_settings={"actors_per_node": 1, "cpus_per_actor": 0.5},
        batch_size=4,
    )
    assert remote.summary.ok == local.summary.ok == 8
    records = journal_records(tmp_path / "ray")
    assert [r["detections"][0]["details"]["call_items"] for r in records] == [4] * 8
    by_id = {r["id"]: r for r in journal_records(tmp_path / "local")}
    for record in records:
        mine, theirs = comparable(record), comparable(by_id[record["id"]])
        mine["detections"][0]["details"] = theirs["detections"][0]["details"] = {}
        assert mine == theirs
