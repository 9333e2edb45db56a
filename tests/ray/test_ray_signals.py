"""Ctrl-C or SIGTERM on ``forensic run --engine ray``: the inputs in flight finish and are journaled, no new
input starts, exit 130/143; ``--resume`` analyses only the rest. The CLI runs in its own process, joined to the
session's Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import journal_records, write_images

pytestmark = pytest.mark.usefixtures("ray_session")


def forensic(args: list[str], address: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).with_name("forensic")), "run", *args, "--address", address, "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_keeps_what_was_analysed_and_resume_does_only_the_rest(tmp_path, signum, exit_code):
    import ray

    address = ray.get_runtime_context().gcs_address
    names = [f"{index:02d}.jpg" for index in range(12)]
    write_images(tmp_path / "in", names)
    (tmp_path / "p.yaml").write_text(
        "detectors: [classic]\nlocalizers: [dq]\n"
        "engine: {name: ray, settings: {actors_per_node: 1, max_in_flight: 1}}\n"
    )
    args = ["-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    process = forensic(args, address)
    assert process.stdout is not None
    first = process.stdout.readline()  # the first verdict: one input is in the journal
    assert ": classic" in first, first + process.communicate(timeout=300)[1][-2000:]
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == exit_code, stderr[-2000:]
    assert "continue with the same command and --resume" in stderr
    done = journal_records(tmp_path / "out")
    assert 1 <= len(done) < len(names)
    assert len(done) == 1 + stdout.count(": classic")  # every verdict printed is in the journal

    resumed = forensic([*args, "--resume"], address)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-2000:]
    assert f"engine ray: {len(names) - len(done)} ok, 0 failed" in stderr
    records = journal_records(tmp_path / "out")
    assert len(records) == len(names) and len({record["id"] for record in records}) == len(names)
    assert records[: len(done)] == done
