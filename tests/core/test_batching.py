"""Cross-input batching: components see batches joined across inputs, results do not change, bad items fail alone."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from forensic_core import ComponentSpec, Detection, Localization, MediaItem, current_input, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.engine.batching import Batcher, Crew, plan_batches, preferred_batch_size
from forensic_core.engine.pipelined import run_concurrently
from forensic_core.runner import run_pipeline

BAD = 255  # an image of (mostly) this value makes the probe fail the whole call it is in


class Probe:
    """Brightness detector that records each call's size and the input each call runs for."""

    def __init__(self, preferred: int | None = None) -> None:
        self.sizes: list[int] = []
        self.inputs: list[str | None] = []
        self.lock = threading.Lock()
        if preferred is not None:
            self.preferred_batch_size = preferred

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        with self.lock:
            self.sizes.append(len(items))
            context = current_input()
            self.inputs.append(context.ref.source if context else None)
        if any(float(item.image.mean()) > 200 for item in items):
            raise ValueError("a bad item in this call")
        return [Detection.from_score(float(item.image.mean()) / 255.0) for item in items]


class ProbeMap:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        self.sizes.append(len(items))
        return [Localization(heatmap=item.image.mean(axis=2).astype(np.float32) / 255.0) for item in items]


class ProbePlugin:
    def __init__(self, preferred: int | None = None) -> None:
        self.detector = Probe(preferred)
        self.localizer = ProbeMap()

    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [ComponentSpec("probe", "records batch sizes", factory=lambda s, ctx: self.detector)]

    @hookimpl
    def forensic_register_localizers(self) -> list[ComponentSpec]:
        return [ComponentSpec("probe-map", "records batch sizes", factory=lambda s, ctx: self.localizer)]


def images(folder: Path, values: Sequence[int], size: int = 8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, value in enumerate(values):
        array = np.full((size, size, 3), value, np.uint8)
        array[0, : index % size] = (value + 7) % 250  # distinct images, none uniformly BAD by accident
        path = folder / f"img{index:02d}.png"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def probe(fake_registry: Any, register_plugin: Any) -> ProbePlugin:
    plugin = ProbePlugin()
    register_plugin(plugin, "probe-plugin")
    return plugin


def comparable(outdir: Path) -> list[dict[str, Any]]:
    """report.json's results without what legitimately differs between two runs (timings)."""
    results = json.loads((outdir / "report.json").read_text())["results"]
    for result in results:
        result.pop("timings", None)
    return results


def artifact_bytes(outdir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(outdir).as_posix(): p.read_bytes()
        for p in sorted((outdir / "artifacts").rglob("*"))
        if p.is_file()
    }


def test_a_probe_sees_batches_of_the_requested_size_across_inputs(fake_registry, probe, tmp_path):
    images(tmp_path / "in", [10 * i for i in range(10)])
    pipeline = load_pipeline({"detectors": ["probe"], "localizers": ["probe-map"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", batch_size=4)
    assert outcome.summary.ok == 10
    assert probe.detector.sizes == [4, 4, 2]
    assert probe.localizer.sizes == [4, 4, 2]
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 10


def test_more_workers_than_the_batch_still_gives_full_batches(fake_registry, probe, tmp_path):
    images(tmp_path / "in", [10 * i for i in range(9)])
    pipeline = load_pipeline({"detectors": ["probe"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", batch_size=3, workers=5)
    assert sum(probe.detector.sizes) == 9 and max(probe.detector.sizes) == 3


def test_the_default_is_one_input_at_a_time_and_a_component_may_prefer_a_batch(
    fake_registry, register_plugin, tmp_path
):
    plugin = ProbePlugin(preferred=5)
    register_plugin(plugin, "probe-plugin")
    images(tmp_path / "in", [10 * i for i in range(7)])
    pipeline = load_pipeline({"detectors": ["probe"], "localizers": ["probe-map"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    assert plugin.detector.sizes == [5, 2]  # it asked for 5
    assert plugin.localizer.sizes == [1] * 7  # the host's default for a component that does not ask


@pytest.mark.parametrize(
    "pipeline_doc",
    [
        {"detectors": ["brightness"], "localizers": ["bright-map"], "explainers": ["saliency"]},
        {"faces": "fixed-faces", "detectors": ["face-brightness"], "localizers": ["face-bright-map"]},
    ],
)
def test_batch_16_gives_the_report_and_maps_of_batch_1(fake_registry, tmp_path, pipeline_doc):
    images(tmp_path / "in", [7 * i for i in range(20)], size=12)
    pipeline = load_pipeline(pipeline_doc, fake_registry)
    one = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "one", batch_size=1, save_npy=True)
    many = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "many", batch_size=16, save_npy=True)
    assert one.summary.ok == many.summary.ok == 20
    assert comparable(tmp_path / "one") == comparable(tmp_path / "many")
    assert artifact_bytes(tmp_path / "one") == artifact_bytes(tmp_path / "many")
    assert artifact_bytes(tmp_path / "one")  # maps were written at all


def test_a_failing_item_in_a_batch_fails_alone(fake_registry, probe, tmp_path):
    paths = images(tmp_path / "in", [10, 20, BAD, 40])
    pipeline = load_pipeline({"detectors": ["probe"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", batch_size=4)
    status = {Path(r.source).name: r.status for r in outcome.results}
    assert status == {p.name: ("error" if p == paths[2] else "ok") for p in paths}
    bad = next(r for r in outcome.results if r.status == "error")
    assert "a bad item in this call" in (bad.error or "")
    assert probe.detector.sizes == [4, 1, 1, 1, 1]  # the batch, then each call again on its own


def test_a_call_run_alone_sees_its_input_and_a_joined_batch_none(fake_registry, probe, tmp_path):
    paths = images(tmp_path / "in", [10, 20, BAD])
    pipeline = load_pipeline({"detectors": ["probe"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", batch_size=3)
    assert probe.detector.inputs[0] is None  # items of three inputs: no single current input
    assert sorted(probe.detector.inputs[1:]) == sorted(str(p) for p in paths)


def test_an_unbatched_run_calls_components_once_per_input(fake_registry, probe, tmp_path):
    images(tmp_path / "in", [10, 20, 30])
    pipeline = load_pipeline({"detectors": ["probe"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    assert probe.detector.sizes == [1, 1, 1]
    assert [Path(s or "").name for s in probe.detector.inputs] == ["img00.png", "img01.png", "img02.png"]


def test_the_cli_options_reach_the_engine(forensic_cli, fake_registry, probe, tmp_path):
    images(tmp_path / "in", [10 * i for i in range(6)])
    (tmp_path / "p.yaml").write_text("detectors: [probe]\n")
    result = forensic_cli(
        "run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--batch-size", "3"
    )
    assert result.exit_code == 0, result.output
    assert probe.detector.sizes == [3, 3]
    result = forensic_cli("run", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--batch-size", "0")
    assert result.exit_code == 2 and "--batch-size" in result.output


def test_a_fail_fast_error_in_a_worker_thread_reaches_the_caller():
    crew = Crew()

    def work(value: int) -> int:
        if value == 3:
            raise RuntimeError("three")
        return value

    with pytest.raises(RuntimeError, match="three"):
        list(run_concurrently(work, range(100), workers=2, crew=crew))
    assert crew.live == 0


def test_two_components_waiting_at_once_do_not_deadlock():
    """Half the workers wait on one batcher, half on another: the oldest call's batch runs first."""
    crew = Crew()
    seen: dict[str, list[int]] = {"a": [], "b": []}

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def detect(self, items: list[int]) -> list[int]:
            seen[self.name].append(len(items))
            return [item * 2 for item in items]

    a, b = Batcher(Recorder("a"), "detect", 8, crew), Batcher(Recorder("b"), "detect", 8, crew)

    def work(value: int) -> int:
        return (a if value % 2 else b).detect([value])[0]

    results = sorted(run_concurrently(work, range(6), workers=6, crew=crew))
    assert results == [0, 2, 4, 6, 8, 10]
    assert sorted(seen["a"] + seen["b"]) == [3, 3]


def test_a_video_call_is_never_split():
    crew = Crew()
    sizes: list[int] = []

    class Recorder:
        def detect(self, items: list[int]) -> list[int]:
            sizes.append(len(items))
            return list(items)

    batcher = Batcher(Recorder(), "detect", 4, crew)
    calls = {0: list(range(6)), 1: [10], 2: [11]}
    out = dict(run_concurrently(lambda n: (n, batcher.detect(calls[n])), range(3), workers=3, crew=crew))
    assert out == calls
    assert sorted(sizes) == [2, 6]  # six frames in one call; the two single items together


def test_wrapping_shares_one_batcher_per_instance_and_respects_preferences(fake_registry):
    from forensic_core.analysis import Analyzer

    pipeline = load_pipeline(
        {"detectors": ["brightness", "face-brightness"], "localizers": ["bright-map"]}, fake_registry
    )
    analyzer = Analyzer(pipeline)
    analyzer.build()
    wrapped, plan = plan_batches(analyzer.built, None, None)
    assert plan.workers == 1 and wrapped == analyzer.built  # nothing asks for batches: nothing changes
    wrapped, plan = plan_batches(analyzer.built, 8, None)
    assert plan.workers == 8 and set(plan.sizes.values()) == {8}
    assert all(isinstance(b.instance, Batcher) and b.lock is None for b in wrapped.values())
    assert preferred_batch_size(object()) == 1
    analyzer.close()


def test_a_stop_during_a_batched_run_journals_every_input_started_and_starts_no_other(
    fake_registry, register_plugin, tmp_path
):
    from forensic_core.engine import StopToken

    images(tmp_path / "in", [10 * i for i in range(12)])
    stop = StopToken()
    sizes: list[int] = []

    class StopsOnFirstCall:  # as SIGINT arriving while the first batch runs
        def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
            sizes.append(len(items))
            stop.stop("SIGINT")
            return [Detection.from_score(0.5) for _ in items]

    class Plugin:
        @hookimpl
        def forensic_register_detectors(self) -> list[ComponentSpec]:
            return [ComponentSpec("stopper", "stops the run", factory=lambda s, ctx: StopsOnFirstCall())]

    register_plugin(Plugin(), "stopper-plugin")
    pipeline = load_pipeline({"detectors": ["stopper"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", batch_size=4, stop=stop)
    journal = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert sizes == [4]  # the first batch's inputs were in flight; none started after the stop
    assert len(journal) == 4 and outcome.summary.not_started == 8 and outcome.summary.interrupted
