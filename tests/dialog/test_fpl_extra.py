"""forensic-llm-dialog declares what its FPL needs: an ``fpl`` extra with forensic-kfd (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def test_the_fpl_extra_declares_forensic_kfd_and_the_hf_stack():
    project = tomllib.loads((ROOT / "plugin_llm_dialog" / "pyproject.toml").read_text())["project"]
    names = {Requirement(spec).name for spec in project["optional-dependencies"]["fpl"]}
    assert {"forensic-kfd", "forensic-llm-dialog"} <= names
    assert "fpl" in (ROOT / "Makefile").read_text().split("plugin_llm_dialog[", 1)[1].split("]", 1)[0]
