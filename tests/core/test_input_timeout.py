"""``--input-timeout``: a hanging input (even one stuck in C code holding the GIL) is abandoned, the run goes on.

The hanging detector calls libc's ``sleep`` through :class:`ctypes.PyDLL`, which keeps the GIL for the whole
call (unlike ``ctypes.CDLL``): no Python thread of that process runs meanwhile, signal handlers included, so
only killing the process can abandon it. The first test checks that this really holds the GIL.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from forensic_core import ComponentSpec, Detection, MediaItem, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.engine.supervised import SupervisedEngine
from forensic_core.errors import ComponentError
from forensic_core.runner import run_pipeline

LIBC = ctypes.PyDLL(None)  # the process's own symbols: libc's sleep, called with the GIL held
HANG_S = 120


def c_sleep(seconds: int, library: Any = LIBC) -> None:
    library.sleep(ctypes.c_uint(seconds))


class HangingDetector:
    """Brightness; hangs in C (GIL held) on inputs named hang*; logs its call sizes to CALLS_LOG when set."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        log = os.environ.get("CALLS_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(f"{len(items)}\n")
        if any(Path(i.source).name.startswith("hang") for i in items):
            c_sleep(HANG_S)
        return [Detection.from_score(float(i.image.mean()) / 255.0) for i in items]


class CrashingDetector:
    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        if any(Path(i.source).name.startswith("crash") for i in items):
            os._exit(3)  # a segfault's effect on the process, without the core dump
        return [Detection.from_score(0.5) for _ in items]


class Plugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("hanging", "hangs in C on hang*", factory=lambda s, ctx: HangingDetector()),
            ComponentSpec("crashing", "exits on crash*", factory=lambda s, ctx: CrashingDetector()),
            ComponentSpec("dies-when-built", "exits in its factory", factory=lambda s, ctx: os._exit(4)),
        ]


@pytest.fixture
def registry(forensic_registry: Any, register_plugin: Any) -> Any:
    register_plugin(Plugin(), "timeout-plugin", "1.0")
    return forensic_registry


def images(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(names):
        path = folder / name
        Image.fromarray(np.full((6, 8, 3), 30 + 40 * index, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_the_c_sleep_holds_the_gil() -> None:
    """While the main thread is in PyDLL's sleep, a busy Python thread gets no turn; with CDLL it runs on."""
    counts: dict[str, int] = {}
    for name, library in (("pydll", LIBC), ("cdll", ctypes.CDLL(None))):
        ticks = [0]
        stop = threading.Event()

        def spin(ticks: list[int] = ticks, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                ticks[0] += 1

        spinner = threading.Thread(target=spin)
        spinner.start()
        before = ticks[0]
        c_sleep(1, library)
        counts[name] = ticks[0] - before
        stop.set()
        spinner.join()
    # PyDLL: only the switch intervals around the call (milliseconds); CDLL: the whole second
    assert counts["pydll"] * 10 < counts["cdll"], counts


def test_a_hanging_input_is_abandoned_and_the_others_finish(registry: Any, tmp_path: Path) -> None:
    paths = images(tmp_path / "in", ["a.png", "hang.png", "c.png", "d.png"])
    pipeline = load_pipeline({"detectors": ["hanging"]}, registry)
    outcome = run_pipeline(pipeline, registry, paths, tmp_path / "out", input_timeout=2)
    by_name = {Path(r.source).name: r for r in outcome.results}
    assert by_name["hang.png"].status == "error"
    assert "timed out after 2 s" in (by_name["hang.png"].error or "")
    assert [by_name[n].status for n in ("a.png", "c.png", "d.png")] == ["ok", "ok", "ok"]
    assert outcome.summary.inputs == 4 and outcome.exit_code == 1
    assert by_name["a.png"].detections[0].score == pytest.approx(30 / 255, abs=1e-6)  # the same result as in-process
    assert by_name["hang.png"].id and by_name["hang.png"].custody is not None


def test_batching_still_applies_inside_the_worker(registry: Any, tmp_path: Path, monkeypatch: Any) -> None:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("CALLS_LOG", str(log))
    paths = images(tmp_path / "in", [f"img{n}.png" for n in range(4)])
    pipeline = load_pipeline({"detectors": ["hanging"]}, registry)
    outcome = run_pipeline(pipeline, registry, paths, tmp_path / "out", input_timeout=60, batch_size=2, workers=2)
    assert outcome.summary.ok == 4
    sizes = [int(line) for line in log.read_text().split()]
    assert sum(sizes) == 4 and max(sizes) == 2, sizes


def test_a_worker_that_dies_is_replaced_and_its_input_failed_after_a_retry(registry: Any, tmp_path: Path) -> None:
    paths = images(tmp_path / "in", ["a.png", "crash.png", "c.png"])
    pipeline = load_pipeline({"detectors": ["crashing"]}, registry)
    outcome = run_pipeline(pipeline, registry, paths, tmp_path / "out", input_timeout=60)
    by_name = {Path(r.source).name: r for r in outcome.results}
    assert by_name["crash.png"].status == "error" and "died while analysing it (exit code 3)" in str(
        by_name["crash.png"].error
    )
    assert by_name["a.png"].status == by_name["c.png"].status == "ok"


def test_a_worker_that_dies_while_building_fails_the_run_at_once(registry: Any, tmp_path: Path) -> None:
    paths = images(tmp_path / "in", ["a.png", "b.png"])
    pipeline = load_pipeline({"detectors": ["dies-when-built"]}, registry)
    with pytest.raises(ComponentError, match=r"died while building the components \(exit code 4\)"):
        run_pipeline(pipeline, registry, paths, tmp_path / "out", input_timeout=60)
    assert (tmp_path / "out" / "report.json").exists()  # the report of what was done is still written


def test_the_cli_option_reaches_the_engine(forensic_cli: Any, registry: Any, tmp_path: Path) -> None:
    images(tmp_path / "in", ["a.png", "hang.png"])
    (tmp_path / "p.yaml").write_text("detectors: [hanging]\n")
    result = forensic_cli(
        "run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--input-timeout", "1"
    )
    assert result.exit_code == 1, result.output
    assert "1/2 inputs analysed" in result.output
    assert "timed out after 1 s" in (tmp_path / "out" / "results.jsonl").read_text()
    assert "engine local: 1 input(s) abandoned after 1 s, 1 worker process(es) replaced" in result.stderr


def test_the_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SupervisedEngine(0)


def test_sigterm_stops_a_supervised_run_after_the_input_in_flight(tmp_path: Path) -> None:
    images(tmp_path / "in", [f"img{n}.png" for n in range(4)])
    (tmp_path / "p.yaml").write_text("detectors: [gated]\n")
    out = tmp_path / "out"
    command = [sys.executable, str(Path(__file__).with_name("gated_cli.py")), "run", "-p", str(tmp_path / "p.yaml")]
    command += [str(tmp_path / "in"), "-o", str(out), "--input-timeout", "60"]
    env = {**os.environ, "GATE_DIR": str(tmp_path), "GATE_AT": "img1.png"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "reached").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    notice = process.stderr.readline() + process.stderr.readline()
    assert "stopping after the input in flight" in notice
    (tmp_path / "go").write_text("1")
    _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    report = json.loads((out / "report.json").read_text())
    assert [Path(r["source"]).name for r in report["results"]] == ["img0.png", "img1.png"]
    assert report["summary"]["interrupted"] is True and report["summary"]["not_started"] == 2
