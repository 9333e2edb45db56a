"""The engine seam, the component pool, per-input isolation and what plugin authors get (extensions)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import Field

from forensic_core import Box, ComponentSettings, ComponentSpec, Detection, Face, MediaItem, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.engine import InputRef, current_input
from forensic_core.engine.worker import InputWorker
from forensic_core.errors import ConfigError
from forensic_core.pool import ComponentPool
from forensic_core.runner import run_pipeline


def images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for index in range(count):
        path = folder / f"{index}.png"
        Image.fromarray(np.full((6, 6, 3), 30 * index, np.uint8)).save(path)
        out.append(path)
    return out


class ReverseSettings(ComponentSettings):
    label: str = Field("reverse", description="written into each result's extensions")


class ReverseEngine:
    """Runs the plan backwards with its own worker: the report must still be in plan order."""

    def __init__(self, settings: ReverseSettings, context: object) -> None:
        self.settings = settings

    def run(self, plan, sink, observer, stop) -> None:
        worker = InputWorker(plan.pipeline, plan.registry, plan.options)
        sink.provenance(worker.start())
        try:
            for ref in reversed(list(plan.inputs)):
                result, files = worker.process(InputRef.from_dict(ref.as_dict()))
                result.extensions["reverse-engine"] = {"label": self.settings.label}
                sink.write(result, files)
                observer.input_finished(result)
        finally:
            worker.close()


class EnginePlugin:
    @hookimpl
    def forensic_register_engines(self) -> list[ComponentSpec]:
        return [ComponentSpec("reverse", "runs inputs backwards", ReverseSettings, ReverseEngine)]


def test_a_registered_engine_runs_the_plan_and_the_report_keeps_plan_order(fake_registry, tmp_path):
    fake_registry.register(EnginePlugin(), "engine-plugin")
    paths = images(tmp_path / "in", 3)
    pipeline = load_pipeline(
        {"detectors": ["brightness"], "engine": {"name": "reverse", "settings": {"label": "x"}}}, fake_registry
    )
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    journal = [json.loads(line)["source"] for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert journal == [str(p) for p in reversed(paths)]
    assert [r.source for r in outcome.results] == [str(p) for p in paths]
    assert outcome.results[0].extensions == {"reverse-engine": {"label": "x"}}
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["engine"] == "reverse"


def test_engine_choice_does_not_change_the_pipeline_digest(fake_registry, tmp_path):
    fake_registry.register(EnginePlugin(), "engine-plugin")
    local = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    other = load_pipeline({"detectors": ["brightness"], "engine": "reverse"}, fake_registry)
    assert local.digest() == other.digest()
    assert (
        local.digest()
        != load_pipeline({"detectors": ["bright-map"][:0] or ["face-brightness"]}, fake_registry).digest()
    )


def test_engine_option_and_settings_errors(forensic_cli, fake_registry, tmp_path):
    fake_registry.register(EnginePlugin(), "engine-plugin")
    images(tmp_path / "in", 1)
    (tmp_path / "p.yaml").write_text("detectors: [brightness]\n")
    ran = forensic_cli(
        "run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--engine", "reverse"
    )
    assert ran.exit_code == 0, ran.output
    unknown = forensic_cli(
        "run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--engine", "revers"
    )
    assert unknown.exit_code == 2 and "did you mean 'reverse'" in unknown.stderr
    with pytest.raises(ConfigError, match=r"engine\.reverse\.settings\.labl"):
        load_pipeline(
            {"detectors": ["brightness"], "engine": {"name": "reverse", "settings": {"labl": 1}}}, fake_registry
        )


class CountingDetector:
    """Counts its builds and records whether its pool lock was held during each call."""

    builds = 0
    lock: threading.Lock | None = None

    def __init__(self) -> None:
        type(self).builds += 1
        self.lock_held: list[bool] = []

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        self.lock_held.append(self.lock is not None and self.lock.locked())
        return [Detection.from_score(0.5) for _ in items]


class CountingPlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("counting", "counts builds", factory=lambda s, ctx: CountingDetector()),
            ComponentSpec("safe", "thread-safe", factory=lambda s, ctx: CountingDetector(), thread_safe=True),
        ]


def test_the_pool_builds_each_component_once_across_runs(fake_registry, tmp_path):
    fake_registry.register(CountingPlugin(), "counting-plugin")
    CountingDetector.builds = 0
    images(tmp_path / "in", 2)
    pipeline = load_pipeline({"detectors": ["counting"]}, fake_registry)
    pool = ComponentPool()
    for name in ("a", "b"):
        run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / name, pool=pool)
    assert CountingDetector.builds == 1
    pool.close()


def test_calls_to_components_that_are_not_thread_safe_hold_their_lock(fake_registry, tmp_path):
    from forensic_core.analysis import Analyzer, FrameFindings
    from forensic_core.report import FrameResult

    fake_registry.register(CountingPlugin(), "counting-plugin")
    pipeline = load_pipeline({"detectors": ["counting", "safe"]}, fake_registry)
    analyzer = Analyzer(pipeline)
    analyzer.build()
    item = MediaItem(image=np.zeros((4, 4, 3), np.uint8), source="x")
    unsafe, safe = analyzer.built[("detectors", "counting")], analyzer.built[("detectors", "safe")]
    assert unsafe.lock is not None and safe.lock is None
    for built in (unsafe, safe):
        built.instance.lock = unsafe.lock
        analyzer.call(built, FrameFindings(record=FrameResult()), {}, lambda b=built: b.instance.detect([item]))
    assert unsafe.instance.lock_held == [True] and safe.instance.lock_held == [False]
    analyzer.close()


class ExitingDetector:
    def detect(self, items):
        raise SystemExit(3)


class MutatingDetector:
    def detect(self, items):
        detection = Detection.from_score(0.4)
        object.__setattr__(detection, "score", 7.5)
        return [detection for _ in items]


class TwinFaces:
    def detect_faces(self, image):
        box = Box(0, 0, 4, 4)
        return [Face(box=box, crop_box=box), Face(box=box, crop_box=box)]


class ExtensionDetector:
    def detect(self, items):
        context = current_input()
        assert context is not None
        context.extensions["ext-plugin"] = {"seen": context.ref.relpath}
        return [Detection.from_score(0.1) for _ in items]


class BadPlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("exits", "raises SystemExit", factory=lambda s, ctx: ExitingDetector()),
            ComponentSpec("mutates", "breaks a frozen result", factory=lambda s, ctx: MutatingDetector()),
            ComponentSpec("extends", "writes extensions", factory=lambda s, ctx: ExtensionDetector()),
        ]

    @hookimpl
    def forensic_register_face_detectors(self) -> list[ComponentSpec]:
        return [ComponentSpec("twins", "two equal faces", factory=lambda s, ctx: TwinFaces())]


def test_system_exit_in_detect_is_that_components_failure(fake_registry, tmp_path):
    fake_registry.register(BadPlugin(), "bad-plugin")
    images(tmp_path / "in", 2)
    pipeline = load_pipeline({"detectors": ["exits", "brightness"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    assert [r.error for r in outcome.results] == ["detector 'exits' failed: SystemExit: 3"] * 2
    assert all(r.detections[0].component == "brightness" for r in outcome.results)


def test_results_changed_after_construction_are_caught_where_serialised(fake_registry, tmp_path):
    fake_registry.register(BadPlugin(), "bad-plugin")
    images(tmp_path / "in", 1)
    outcome = run_pipeline(
        load_pipeline({"detectors": ["mutates"]}, fake_registry), fake_registry, [tmp_path / "in"], tmp_path / "out"
    )
    result = outcome.results[0]
    assert result.status == "error" and "Detection.score must be a finite number in [0, 1]" in (result.error or "")
    assert result.detections == []


def test_two_faces_with_equal_boxes_are_analysed(fake_registry, tmp_path):
    fake_registry.register(BadPlugin(), "bad-plugin")
    images(tmp_path / "in", 1)
    pipeline = load_pipeline(
        {"faces": "twins", "detectors": ["face-brightness"], "explainers": ["saliency"]}, fake_registry
    )
    result = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out").results[0]
    assert result.status == "ok", result.error
    assert [e.face_index for e in result.explanations] == [0, 1]


class WrapperPlugin:
    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on

    @hookimpl(wrapper=True)
    def forensic_analyze_input(self, source, analyze, context):
        result = yield
        if Path(source).name == self.fail_on:
            raise RuntimeError("custody log unavailable")
        context.extensions["wrapper-plugin"] = {"id": context.ref.id}
        return result

    @hookimpl
    def forensic_render_report(self, report, outdir):
        raise ValueError("PDF engine missing")


def test_failing_wrapper_and_renderer_are_isolated_and_extensions_survive(fake_registry, tmp_path):
    fake_registry.register(BadPlugin(), "bad-plugin")
    fake_registry.register(WrapperPlugin("1.png"), "wrapper-plugin")
    images(tmp_path / "in", 3)
    pipeline = load_pipeline({"detectors": ["extends"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    first, failed, last = outcome.results
    assert failed.status == "error" and failed.error == "analysis wrapper failed: RuntimeError: custody log unavailable"
    assert first.status == last.status == "ok"
    assert first.extensions == {"ext-plugin": {"seen": "0.png"}, "wrapper-plugin": {"id": first.id}}
    assert outcome.problems == ["report renderer of wrapper-plugin failed: ValueError: PDF engine missing"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["results"][2]["extensions"]["ext-plugin"] == {"seen": "2.png"}
    html = (tmp_path / "out" / "report.html").read_text()
    assert "wrapper-plugin" in html and "Plugin data" in html


def test_renderer_failure_is_printed_by_the_cli(forensic_cli, fake_registry, tmp_path):
    fake_registry.register(WrapperPlugin("none"), "wrapper-plugin")
    images(tmp_path / "in", 1)
    (tmp_path / "p.yaml").write_text("detectors: [brightness]\n")
    result = forensic_cli("run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0
    assert "warning: report renderer of wrapper-plugin failed: ValueError: PDF engine missing" in result.stderr
    assert (tmp_path / "o" / "report.html").exists() and (tmp_path / "o" / "report.json").exists()
