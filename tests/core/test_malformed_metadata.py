"""One installed package with a malformed entry_points.txt must not break the ``forensic`` command.

pydantic reads every distribution's entry points the first time a model class is created (at ``import
forensic_core``); without :mod:`forensic_core.pydantic_guard` that raised before the host's own discovery ran. These
tests start fresh interpreters, because the crash happens once per process, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _broken_site(root: Path) -> Path:
    site = root / "site"
    for name, text in (
        ("fx_unrelated_broken", "[console_scripts]\nthis line has no equals sign\n"),
        ("fx_forensic_broken", "[forensic.plugins]\nneither has this one\n"),
    ):
        info = site / f"{name}-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(text)
    return site


def _forensic(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "FORENSIC_PLUGIN_LOAD_WARN_S": "0"}
    code = "from forensic_core.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_pydantic_alone_crashes_on_such_a_file(tmp_path):
    """The failure this guards against is real: pydantic's first model class reads every entry_points.txt."""
    site = _broken_site(tmp_path)
    code = "import pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0\n"
    env = {**os.environ, "PYTHONPATH": str(site)}
    bare = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert bare.returncode != 0 and "Pair" in bare.stderr


@pytest.mark.slow
def test_forensic_names_the_broken_distributions_and_goes_on(tmp_path):
    site = _broken_site(tmp_path)
    listed = _forensic(site, "plugins", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)
    assert [entry["name"] for entry in payload["unreadable_distributions"]] == ["fx-unrelated-broken"]
    failed = next(p for p in payload["plugins"] if p["name"] == "fx-forensic-broken")
    assert failed["status"] == "failed" and "reading entry points" in failed["error"]
    text = _forensic(site, "plugins", cwd=tmp_path)
    assert any(
        line.startswith("warning: fx-unrelated-broken 0.1: its entry_points.txt cannot be read")
        for line in text.stdout.splitlines()
    )
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((48, 64, 3), 128, dtype=np.uint8)).save(image)
    ran = _forensic(site, "run", str(image), "-o", "out", "--no-progress", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads((tmp_path / "out" / "report.json").read_text())["results"][0]["status"] == "ok"
