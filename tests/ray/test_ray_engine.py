"""The ray engine against the local engine: same results, faults isolated, interrupted runs resumed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from forensic_core.config import load_pipeline
from forensic_core.runner import run_pipeline

from .conftest import CLASSIC_AND_KFD, comparable, journal_records, write_images

pytestmark = pytest.mark.usefixtures("ray_session")

RAY_2_ACTORS = {"actors_per_node": 2, "cpus_per_actor": 0.5}


def run(pipeline: Any, registry: Any, inputs: list[Path], outdir: Path, **options: Any) -> Any:
    return run_pipeline(pipeline, registry, inputs, outdir, **options)


def summary_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("engine ray:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_results_equal_the_local_engine_and_a_corrupt_input_is_recorded(registry, tmp_path, capfd):
    inputs = write_images(tmp_path / "in", ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
    (tmp_path / "in" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    pipeline = load_pipeline(CLASSIC_AND_KFD, registry)
    # Ray starts each actor with OMP_NUM_THREADS at its CPU share (1 here); float32 reductions depend on the
    # thread count, so the local run gets the same single intra-op thread to be comparable bit for bit.
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = run(pipeline, registry, [tmp_path / "in"], tmp_path / "local")
    finally:
        torch.set_num_threads(threads)
    capfd.readouterr()
    remote = run(pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=RAY_2_ACTORS)

    assert summary_line(capfd.readouterr().err).startswith("engine ray: 4 ok, 1 failed, 0 retried")
    by_id = {record["id"]: comparable(record) for record in journal_records(tmp_path / "local")}
    ray_records = journal_records(tmp_path / "ray")
    assert len(ray_records) == len(by_id) == len(inputs) + 1
    for record in ray_records:
        assert comparable(record) == by_id[record["id"]], record["source"]
    corrupt = next(record for record in ray_records if record["source"].endswith("corrupt.jpg"))
    assert corrupt["status"] == "error" and "corrupt.jpg" in corrupt["error"]
    # The artifacts the actors collected are written by the driver, byte for byte what the local run wrote.
    for record in ray_records:
        for relative in record["artifacts"]:
            assert (tmp_path / "ray" / relative).read_bytes() == (tmp_path / "local" / relative).read_bytes()
    assert any(record["artifacts"] for record in ray_records)
    assert [r.source for r in remote.results] == [r.source for r in local.results]
    assert remote.summary.ok == local.summary.ok == 4 and remote.summary.errors == local.summary.errors == 1
    assert [c.model_dump(exclude={"seconds"}) for c in remote.components] == [
        c.model_dump(exclude={"seconds"}) for c in local.components
    ]
    assert remote.report.header()["components"]
    assert re.search(r'"engine": "ray"', (tmp_path / "ray" / "run.json").read_text())
