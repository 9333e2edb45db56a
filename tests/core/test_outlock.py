"""One owner per output folder: a live run's lock refuses a second run; a killed run's lock is taken over."""

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

from forensic_core.errors import OutputError
from forensic_core.journal import LOCK
from forensic_core.outlock import acquire, held

GATED = Path(__file__).with_name("gated_cli.py")


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(np.full((6, 8, 3), 20 + 40 * index, np.uint8)).save(folder / f"img{index}.png")


def gated(args: list[str], gate_dir: Path, gate_at: str | None) -> subprocess.Popen:
    """``forensic`` whose detector holds at ``gate_at`` until GATE_DIR/go exists (see gated_cli.py)."""
    env = {**os.environ, "GATE_DIR": str(gate_dir)}
    env.pop("GATE_AT", None)
    if gate_at:
        env["GATE_AT"] = gate_at
    command = [sys.executable, str(GATED), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"run ended early: {process.communicate()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text("detectors: [gated]\n")
    return path


def test_a_second_lock_on_a_folder_is_refused_until_the_first_is_released(tmp_path):
    first = acquire(tmp_path)
    holder = json.loads((tmp_path / LOCK).read_text())
    with pytest.raises(OutputError, match=rf"PID {holder['pid']}\b.*wait for it to finish"):
        acquire(tmp_path)
    first.release()
    assert not (tmp_path / LOCK).exists()
    with acquire(tmp_path) as again:
        assert again.took_over is None
    assert not (tmp_path / LOCK).exists()


def test_a_lock_file_without_a_holder_is_taken_over(tmp_path, caplog):
    (tmp_path / LOCK).write_text(json.dumps({"pid": 999999, "started": "2026-01-01T00:00:00+00:00"}) + "\n")
    with acquire(tmp_path) as lock:
        assert lock.took_over is not None and lock.took_over["pid"] == 999999
    assert "took over a stale lock of PID 999999" in caplog.text


def test_held_creates_the_folder_and_refuses_a_second_holder(tmp_path):
    with (
        held(tmp_path / "new" / "eval"),
        pytest.raises(OutputError, match="another run is writing into this folder"),
        held(tmp_path / "new" / "eval"),
    ):
        pass


def test_a_second_run_into_a_busy_folder_exits_2_naming_the_holder(
    forensic_cli, fake_registry, tmp_path, pipeline_file
):
    make_images(tmp_path / "in", 3)
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(out)]
    live = gated(args, tmp_path, "img1.png")
    try:
        wait_for(tmp_path / "reached", live)
        (tmp_path / "b.yaml").write_text("detectors: [brightness]\n")
        for extra in ([], ["--resume"], ["--overwrite"]):
            refused = forensic_cli("run", "-p", str(tmp_path / "b.yaml"), str(tmp_path / "in"), "-o", str(out), *extra)
            assert refused.exit_code == 2, refused.output
            assert len(refused.stderr.splitlines()) == 1, refused.stderr
            assert f"PID {live.pid}" in refused.stderr and "choose another -o" in refused.stderr
        # --overwrite removed nothing of the live run: its lock and journal are still there
        assert json.loads((out / LOCK).read_text())["pid"] == live.pid
        assert len((out / "results.jsonl").read_text().splitlines()) == 1
    finally:
        (tmp_path / "go").write_text("1")
    _out, err = live.communicate(timeout=120)
    assert live.returncode == 0, err
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert not (out / LOCK).exists()


def test_the_lock_of_a_killed_run_is_taken_over_by_the_resume(tmp_path, pipeline_file):
    make_images(tmp_path / "in", 3)
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline_file), str(tmp_path / "in"), "-o", str(out)]
    killed = gated(args, tmp_path, "img1.png")
    wait_for(tmp_path / "reached", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    assert json.loads((out / LOCK).read_text())["pid"] == killed.pid  # the file stays; the flock died with it

    resumed = gated([*args, "--resume"], tmp_path / "in", None)
    _stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert f"took over a stale lock of PID {killed.pid}" in stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert not (out / LOCK).exists()


def test_overwrite_keeps_the_lock_even_when_a_manifest_lists_it(fake_registry, tmp_path):
    from forensic_core.config import load_pipeline
    from forensic_core.outlock import locked_outdir
    from forensic_core.runner import run_pipeline

    make_images(tmp_path / "in", 1)
    out = tmp_path / "out"
    run_pipeline(load_pipeline({"detectors": ["brightness"]}, fake_registry), fake_registry, [tmp_path / "in"], out)
    manifest = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**manifest, "written": [LOCK, "report.html"]}))
    with locked_outdir(out, resume=False, overwrite=True):
        assert (out / LOCK).exists() and not (out / "report.html").exists()
        with pytest.raises(OutputError, match="another run is writing"):
            acquire(out)
