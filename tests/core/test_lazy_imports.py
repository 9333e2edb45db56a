"""Lazy by contract: discovery and the light commands never import torch or other model libraries.

Runs against every plugin installed in the environment (the first-party ones included), in fresh interpreters.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "timm", "open_clip", "transformers")

PROBE = """
import atexit, json, sys
def report():
    sys.__stdout__.write("\\nHEAVY=" + json.dumps([m for m in {heavy!r} if m in sys.modules]) + "\\n")
atexit.register(report)
sys.argv = ["forensic", *{args!r}]
from forensic_core.cli import main
main()
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["plugins"], ["plugins", "--json"], ["components"], ["schema"], ["run", "--help"]],
    ids=lambda a: " ".join(a),
)
def test_light_commands_do_not_import_model_libraries(args):
    code = PROBE.format(heavy=HEAVY, args=args)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    heavy = json.loads(out.stdout.rsplit("HEAVY=", 1)[1])
    assert heavy == []


def test_validate_does_not_import_model_libraries(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: []\n")
    code = PROBE.format(heavy=HEAVY, args=["validate", str(pipeline)])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.rsplit("HEAVY=", 1)[1]) == []


def test_discovery_does_not_import_model_libraries():
    code = (
        "import sys, json\nfrom forensic_core.registry import Registry\nr = Registry.discover()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []
