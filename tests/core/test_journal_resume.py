"""Runs that lose nothing: the journal, resume after SIGKILL, SIGINT/SIGTERM, output folder rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensic_core.config import load_pipeline
from forensic_core.errors import OutputError
from forensic_core.runner import run_pipeline

GATED = Path(__file__).with_name("gated_cli.py")


def make_images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"img{index}.png"
        Image.fromarray(np.full((6, 8, 3), 20 + 40 * index, np.uint8)).save(path)
        paths.append(path)
    return paths


def gated(args: list[str], gate_dir: Path, gate_at: str | None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "GATE_DIR": str(gate_dir)}
    env.pop("GATE_AT", None)
    if gate_at:
        env["GATE_AT"] = gate_at
    command = [sys.executable, str(GATED), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"run ended early: {process.communicate()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def comparable(outdir: Path) -> list[dict]:
    results = json.loads((outdir / "report.json").read_text())["results"]
    for result in results:
        result.pop("timings")
    return results


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text("detectors: [gated]\n")
    return path


def test_each_input_is_journaled_with_the_report_record(fake_registry, tmp_path):
    images = make_images(tmp_path / "in", 3)
    pipeline = load_pipeline({"detectors": ["brightness"], "localizers": ["bright-map"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [json.loads(line) for line in lines] == report["results"]
    assert [r["source"] for r in report["results"]] == [str(p) for p in images]
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["pipeline_digest"] == pipeline.digest()
    for result in report["results"]:
        for relative in result["artifacts"]:
            assert (tmp_path / "out" / relative).is_file()
        assert result["localizations"][0]["heatmap"] in result["artifacts"]
    assert outcome.summary.ok == 3 and len(outcome.results) == 3


def test_sigkill_then_resume_gives_the_uninterrupted_report(tmp_path, pipeline_file):
    make_images(tmp_path / "in", 5)
    full, cut = tmp_path / "full", tmp_path / "cut"
    done = gated(["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(full)], tmp_path, None)
    assert done.wait(120) == 0, done.communicate()

    killed = gated(["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(cut)], tmp_path, "img3.png")
    wait_for(tmp_path / "reached", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    journal = (cut / "results.jsonl").read_text().splitlines()
    assert len(journal) == 3 and not (cut / "report.json").exists()

    resumed = gated(["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(cut), "--resume"], tmp_path, None)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "3 from the earlier run" in out
    assert comparable(cut) == comparable(full)
    ids = [json.loads(line)["id"] for line in (cut / "results.jsonl").read_text().splitlines()]
    assert len(ids) == 5 == len(set(ids))
    assert json.loads((cut / "report.json").read_text())["summary"]["resumed"] == 3


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_stops_after_the_input_in_flight_with_a_partial_report(tmp_path, pipeline_file, signum, code, name):
    make_images(tmp_path / "in", 5)
    out = tmp_path / "out"
    process = gated(["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(out)], tmp_path, "img1.png")
    wait_for(tmp_path / "reached", process)
    process.send_signal(signum)
    assert process.stderr is not None
    first = process.stderr.readline() + process.stderr.readline()  # the handler's notice: the signal was seen
    assert "stopping after the input in flight" in first
    (tmp_path / "go").write_text("1")  # only now may the input in flight finish
    _stdout, stderr = process.communicate(timeout=60)
    stderr = first + stderr
    assert process.returncode == code, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["interrupted"] is True
    assert [Path(r["source"]).name for r in report["results"]] == ["img0.png", "img1.png"]
    assert report["summary"]["not_started"] == 3
    assert f"interrupted by {name}" in stderr and "--resume" in stderr
    assert "interrupted" in (out / "report.html").read_text()


def test_resume_refuses_a_journal_of_another_pipeline(forensic_cli, fake_registry, tmp_path):
    make_images(tmp_path / "in", 1)
    (tmp_path / "a.yaml").write_text("detectors: [brightness]\n")
    (tmp_path / "b.yaml").write_text("detectors: [{name: brightness, settings: {threshold: 0.9}}]\n")
    out = str(tmp_path / "out")
    assert forensic_cli("run", "-p", str(tmp_path / "a.yaml"), str(tmp_path / "in"), "-o", out).exit_code == 0
    refused = forensic_cli("run", "-p", str(tmp_path / "b.yaml"), str(tmp_path / "in"), "-o", out, "--resume")
    assert refused.exit_code == 2
    assert len(refused.stderr.splitlines()) == 1 and "different pipeline" in refused.stderr


def test_an_earlier_run_is_refused_without_resume_or_overwrite(forensic_cli, fake_registry, tmp_path):
    make_images(tmp_path / "in", 2)
    (tmp_path / "p.yaml").write_text("detectors: [brightness]\nlocalizers: [bright-map]\n")
    out = tmp_path / "out"
    args = ["run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(out)]
    assert forensic_cli(*args).exit_code == 0
    (out / "notes.txt").write_text("mine")
    (out / "artifacts" / "keep.txt").write_text("mine too")
    refused = forensic_cli(*args)
    assert refused.exit_code == 2 and "--resume" in refused.stderr and "--overwrite" in refused.stderr
    again = forensic_cli(*args, "--overwrite")
    assert again.exit_code == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "artifacts" / "keep.txt").exists()
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    assert forensic_cli(*args, "--resume", "--overwrite").exit_code == 2


def test_bad_output_locations_fail_before_any_input_is_analysed(forensic_cli, fake_registry, tmp_path):
    make_images(tmp_path / "in", 1)
    (tmp_path / "p.yaml").write_text("detectors: [brightness]\n")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for outdir in (a_file, a_file / "under", Path("/proc/forensic-out")):
        result = forensic_cli("run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(outdir))
        assert result.exit_code == 2, (outdir, result.output)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


def test_output_folder_inside_an_input_folder_is_not_analysed(fake_registry, tmp_path):
    make_images(tmp_path / "in", 2)
    pipeline = load_pipeline({"detectors": ["brightness"], "localizers": ["bright-map"]}, fake_registry)
    first = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "in" / "out")
    again = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "in" / "out", overwrite=True)
    assert first.summary.inputs == again.summary.inputs == 2


def test_resume_with_nothing_left_rewrites_the_same_report(fake_registry, tmp_path):
    make_images(tmp_path / "in", 2)
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    before = comparable(tmp_path / "out")
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", resume=True)
    assert outcome.summary.resumed == 2 and comparable(tmp_path / "out") == before


def test_a_failed_report_write_keeps_the_old_report(fake_registry, tmp_path, monkeypatch):
    make_images(tmp_path / "in", 2)
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    old = (tmp_path / "out" / "report.json").read_text()
    import forensic_core.assemble as assemble

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(assemble.json, "dumps", disk_full)
    with pytest.raises(OSError):
        run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out", resume=True)
    assert (tmp_path / "out" / "report.json").read_text() == old
    assert not list((tmp_path / "out").glob(".report.json.tmp*"))


def test_library_callers_get_one_line_errors_for_outdir(fake_registry, tmp_path):
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        run_pipeline(pipeline, fake_registry, [], tmp_path / "f")
