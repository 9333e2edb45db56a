"""Faults on Ray: a worker that dies is replaced and its input retried (a bounded number of times), an input
over the per-input timeout is abandoned with an error, an interrupted run resumes without redoing inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forensic_core.config import load_pipeline
from forensic_core.engine import StopToken
from forensic_core.errors import ComponentError, MissingWeightsError
from forensic_core.events import NullObserver
from forensic_core.report import InputResult
from forensic_core.runner import run_pipeline

from .conftest import comparable, journal_records, write_images

pytestmark = pytest.mark.usefixtures("ray_session")

NAMES = ["a.jpg", "b.jpg", "target.jpg", "c.jpg", "d.jpg"]


def fault_pipeline(registry: Any, name: str, **settings: Any) -> Any:
    return load_pipeline({"detectors": [{"name": name, "settings": {"word": "target", **settings}}]}, registry)


def summary(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("engine ray:")]
    assert len(lines) == 1, stderr
    return lines[0]


def by_name(outdir: Path) -> dict[str, dict[str, Any]]:
    records = journal_records(outdir)
    names = [Path(record["source"]).name for record in records]
    assert len(names) == len(set(names)), f"an input was journaled twice: {names}"
    return dict(zip(names, records, strict=True))


def test_an_actor_killed_mid_input_is_replaced_and_its_input_retried(registry, tmp_path, capfd):
    write_images(tmp_path / "in", NAMES)
    marker = tmp_path / "crashed"
    pipeline = fault_pipeline(registry, "crash-once", marker=str(marker))
    settings = {"actors_per_node": 2, "retries": 2}
    outcome = run_pipeline(
        pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=settings
    )

    assert marker.exists(), "the targeted input did not kill its actor"
    assert summary(capfd.readouterr().err).startswith("engine ray: 5 ok, 0 failed, 1 retried after a worker died")
    records = by_name(tmp_path / "ray")
    assert sorted(records) == sorted(NAMES) and all(r["status"] == "ok" for r in records.values())
    assert outcome.summary.ok == 5
    # The retried input's result is the one a run without the crash gives.
    local = run_pipeline(pipeline, registry, [tmp_path / "in"], tmp_path / "local")
    assert local.summary.ok == 5
    assert comparable(records["target.jpg"]) == comparable(by_name(tmp_path / "local")["target.jpg"])


def test_an_input_that_kills_every_actor_is_abandoned_after_the_retries(registry, tmp_path, capfd):
    write_images(tmp_path / "in", NAMES)
    pipeline = fault_pipeline(registry, "crash-always")
    settings = {"actors_per_node": 1, "retries": 1}
    outcome = run_pipeline(
        pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=settings
    )

    line = summary(capfd.readouterr().err)
    assert line.startswith("engine ray: 4 ok, 1 failed") and "1 abandoned after retries" in line
    target = by_name(tmp_path / "ray")["target.jpg"]
    assert target["status"] == "error"
    assert "abandoned after 2 attempts" in target["error"] and "target.jpg" in target["error"]
    assert outcome.summary.ok == 4 and outcome.summary.errors == 1


def test_an_input_over_the_timeout_is_abandoned_with_an_error_and_the_run_goes_on(registry, tmp_path, capfd):
    write_images(tmp_path / "in", NAMES)
    pipeline = fault_pipeline(registry, "hang")
    settings = {"actors_per_node": 2, "input_timeout_s": 3}
    outcome = run_pipeline(
        pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=settings
    )

    line = summary(capfd.readouterr().err)
    assert line.startswith("engine ray: 4 ok, 1 failed") and "1 timed out" in line
    records = by_name(tmp_path / "ray")
    assert "per-input timeout of 3 s" in records["target.jpg"]["error"]
    assert all(records[name]["status"] == "ok" for name in NAMES if name != "target.jpg")
    assert outcome.summary.ok == 4


class StopAfterFirst(NullObserver):
    """Sets the stop token at the first finished input, as the CLI's Ctrl-C handler does."""

    def __init__(self, stop: StopToken) -> None:
        self.stop = stop
        self.seen: list[str] = []

    def input_finished(self, result: InputResult) -> None:
        self.seen.append(result.source)
        self.stop.stop("SIGINT")


def test_an_interrupted_run_resumes_without_redoing_finished_inputs(registry, tmp_path, capfd):
    names = [f"{index:02d}.jpg" for index in range(8)]
    write_images(tmp_path / "in", names)
    pipeline = load_pipeline({"detectors": ["classic"], "localizers": ["dq"]}, registry)
    settings = {"actors_per_node": 1, "max_in_flight": 1}
    stop = StopToken()
    observer = StopAfterFirst(stop)
    first = run_pipeline(
        pipeline,
        registry,
        [tmp_path / "in"],
        tmp_path / "ray",
        engine="ray",
        engine_settings=settings,
        observer=observer,
        stop=stop,
    )
    assert first.stopped_by == "SIGINT" and first.interrupted
    done_first = {record["id"] for record in journal_records(tmp_path / "ray")}
    assert 1 <= len(done_first) < len(names)
    assert "not started (stopped)" in summary(capfd.readouterr().err)

    resumed = run_pipeline(
        pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=settings, resume=True
    )
    assert resumed.summary.resumed == len(done_first) and resumed.summary.ok == len(names)
    records = journal_records(tmp_path / "ray")
    assert len(records) == len(names) and len({r["id"] for r in records}) == len(names)
    assert f"engine ray: {len(names) - len(done_first)} ok" in summary(capfd.readouterr().err)
    local = run_pipeline(pipeline, registry, [tmp_path / "in"], tmp_path / "local")
    expected = {record["id"]: comparable(record) for record in journal_records(tmp_path / "local")}
    assert {record["id"]: comparable(record) for record in records} == expected
    assert local.summary.ok == len(names)

    # Nothing left: the engine records the components without starting a stream, and analyses nothing.
    again = run_pipeline(
        pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray", engine_settings=settings, resume=True
    )
    assert again.summary.resumed == len(names) and len(journal_records(tmp_path / "ray")) == len(names)
    assert "engine ray:" not in capfd.readouterr().err
    assert [c.component for c in again.components] == [c.component for c in local.components]


def test_fail_fast_ends_the_run_with_the_component_error_as_the_local_engine_does(registry, tmp_path):
    write_images(tmp_path / "in", NAMES)
    pipeline = fault_pipeline(registry, "raises")
    with pytest.raises(ValueError, match="this targeted input is refused"):
        run_pipeline(pipeline, registry, [tmp_path / "in"], tmp_path / "local", fail_fast=True)
    settings = {"actors_per_node": 1, "max_in_flight": 1}
    with pytest.raises(ComponentError, match="this targeted input is refused"):
        run_pipeline(
            pipeline,
            registry,
            [tmp_path / "in"],
            tmp_path / "ray",
            engine="ray",
            engine_settings=settings,
            fail_fast=True,
        )
    # Which other inputs were already in flight when the failure reached the driver depends on Ray's timing;
    # what is certain: the failing input is not journaled, and the report (written anyway) agrees with the journal.
    ray_done = set(by_name(tmp_path / "ray"))
    assert "target.jpg" not in ray_done
    summary = json.loads((tmp_path / "ray" / "report.json").read_text())["summary"]  # written despite the error
    assert summary["ok"] == len(ray_done) and summary["errors"] == 0


def test_a_component_that_cannot_be_built_on_the_workers_fails_the_run_with_its_reason(registry, tmp_path):
    write_images(tmp_path / "in", ["a.jpg"])
    pipeline = load_pipeline({"detectors": ["unbuildable"]}, registry)
    with pytest.raises(MissingWeightsError, match=r"fault-weights\.bin is missing"):
        run_pipeline(pipeline, registry, [tmp_path / "in"], tmp_path / "ray", engine="ray")
    assert journal_records(tmp_path / "ray") == []
