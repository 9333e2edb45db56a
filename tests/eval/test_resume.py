"""``forensic eval`` resumes after a kill: SIGKILL mid-run, rerun with --resume, same metrics, no duplicate rows."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_image

# A CLI over an explicit registry: the core, the eval plugin and a detector that kills its own process (SIGKILL,
# nothing can be flushed or cleaned up) when it meets the image whose gray value is $KILL_AT.
SCRIPT = """
import os, signal, sys
from forensic_core import ComponentSpec, Detection, builtin, hookimpl
from forensic_core.cli import build_cli
from forensic_core.registry import CORE_PLUGIN, Registry, use_registry
from forensic_eval import plugin

class Bright:
    def detect(self, items):
        out = []
        for item in items:
            value = float(item.image.mean())
            if os.environ.get("KILL_AT") and round(value) == int(os.environ["KILL_AT"]):
                os.kill(os.getpid(), signal.SIGKILL)
            out.append(Detection.from_score(value / 255.0, 0.5))
        return out

class Killer:
    @hookimpl
    def forensic_register_detectors(self):
        return [ComponentSpec("bright", "mean brightness", factory=lambda s, ctx: Bright())]

registry = Registry()
registry.register(builtin, CORE_PLUGIN, "test")
registry.register(plugin, "forensic-eval", "0.1")
registry.register(Killer(), "killer", "0.1")
with use_registry(registry):
    build_cli(registry)(sys.argv[1:], prog_name="forensic")
"""

VALUES = (10, 200, 60, 230, 120, 90, 30, 180)


def run(tmp_path: Path, outdir: Path, *extra: str, kill_at: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KILL_AT"}
    if kill_at is not None:
        env["KILL_AT"] = str(kill_at)
    command = [sys.executable, str(tmp_path / "cli.py"), "eval", str(tmp_path / "data.csv")]
    command += ["-p", str(tmp_path / "p.yaml"), "-o", str(outdir), "--bootstrap", "20", *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def rows(outdir: Path) -> list[tuple[str, ...]]:
    with (outdir / "predictions.csv").open(newline="", encoding="utf-8") as handle:
        return [tuple(row) for row in csv.reader(handle)]


@pytest.mark.slow  # four CLI processes
def test_eval_resumes_after_a_kill(tmp_path: Path) -> None:
    (tmp_path / "cli.py").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "p.yaml").write_text("detectors: [bright]\n", encoding="utf-8")
    lines = ["path,label"]
    for index, value in enumerate(VALUES):
        write_image(tmp_path / f"img{index}.png", value)
        lines.append(f"img{index}.png,{'fake' if index % 2 else 'real'}")
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    killed = run(tmp_path, tmp_path / "out", kill_at=VALUES[5])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = (tmp_path / "out" / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert 0 < len(journal) < len(VALUES)
    assert not (tmp_path / "out" / "metrics.json").exists()

    refused = run(tmp_path, tmp_path / "out")
    assert refused.returncode == 2 and "--resume" in refused.stderr + refused.stdout

    resumed = run(tmp_path, tmp_path / "out", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    after = (tmp_path / "out" / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert after[: len(journal)] == journal and len(after) == len(VALUES)  # finished inputs were not redone
    clean = run(tmp_path, tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr

    got, expected = rows(tmp_path / "out"), rows(tmp_path / "clean")
    assert len(got) == len(VALUES) + 1 and len(set(got)) == len(got)  # header + one row per image, none twice
    assert got == expected
    metrics = [json.loads((tmp_path / d / "metrics.json").read_text(encoding="utf-8")) for d in ("out", "clean")]
    assert metrics[0]["detectors"] == metrics[1]["detectors"]
    assert metrics[0]["detectors"]["bright"]["frame"]["n"] == len(VALUES)
