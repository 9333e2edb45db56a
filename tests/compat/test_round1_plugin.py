"""The plugin API promise, held against a plugin written for API 1.0 and against declared API ranges.

The frozen plugin in ``round1_plugin/`` runs here in a pipeline (all five kinds, its 1.0-style wrapper and
renderer), in process and through a real entry point found by discovery in a fresh ``forensic`` process. Plugins
that declare an API range this host is outside of are refused with one line naming both versions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

from forensic_core import API_VERSION, ComponentSpec, NoSettings, hookimpl
from forensic_core.api import OPTIONAL_MEMBERS, member, warn_deprecated

ROUND1 = Path(__file__).parent / "round1_plugin"
PIPELINE = """\
faces: r1-centre
detectors: [r1-mean]
localizers: [r1-contrast]
explainers:
  - name: r1-occlusion
    detector: r1-mean
    settings: {patch: 16}
dialog:
  name: r1-echo
  questions:
    - Is this image a deepfake?
"""


@pytest.fixture
def round1(register_plugin):
    from forensic_round1 import plugin

    plugin.WRAPPED.clear()
    register_plugin(plugin, "forensic-round1-compat", "1.0.0")
    return plugin


def test_the_round1_plugin_runs_in_a_pipeline(round1, forensic_cli, gradient_image, tmp_path):
    pipeline = tmp_path / "round1.yaml"
    pipeline.write_text(PIPELINE)
    result = forensic_cli("run", "-p", str(pipeline), str(gradient_image), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "report.json").read_text())["results"][0]
    assert record["status"] == "ok", record["error"]
    assert [d["component"] for d in record["detections"]] == ["r1-mean"]
    assert [entry["component"] for entry in record["localizations"]] == ["r1-contrast"]
    assert [entry["component"] for entry in record["explanations"]] == ["r1-occlusion"]
    assert record["faces"], "the round-1 face detector's box is in the report"
    answer = record["dialog"][-1]
    assert answer["role"] == "assistant" and answer["content"].startswith("Verdict:")
    wrapped = round1.WRAPPED
    assert wrapped == [str(gradient_image)], "the 1.0 wrapper (source, analyze) ran around the input"
    assert (tmp_path / "out" / "round1-summary.txt").read_text().strip().endswith(": ok")


def _site_with_entry_point(root: Path) -> Path:
    """A folder that makes the frozen plugin an installed distribution: dist-info metadata + its package."""
    site = root / "site"
    info = site / "forensic_round1_compat-1.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: forensic-round1-compat\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[forensic.plugins]\nround1 = forensic_round1.plugin\n")
    return site


def _forensic(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROUND1)]), "FORENSIC_PLUGIN_LOAD_WARN_S": "0"}
    command = [sys.executable, "-c", "from forensic_core.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_the_round1_plugin_is_discovered_through_its_entry_point_and_runs(gradient_image, tmp_path):
    site = _site_with_entry_point(tmp_path)
    listed = _forensic(["plugins", "--json"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)
    assert payload["api_version"] == API_VERSION
    info = next(p for p in payload["plugins"] if p["name"] == "forensic-round1-compat")
    assert info["status"] == "loaded" and info["api"] is None
    assert info["components"] == {
        "detector": ["r1-mean"],
        "localizer": ["r1-contrast"],
        "explainer": ["r1-occlusion"],
        "dialog": ["r1-echo"],
        "face_detector": ["r1-centre"],
    }
    (tmp_path / "round1.yaml").write_text(PIPELINE)
    ran = _forensic(["run", "-p", "round1.yaml", str(gradient_image), "-o", "out", "--no-progress"], site, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    record = json.loads((tmp_path / "out" / "report.json").read_text())["results"][0]
    assert record["status"] == "ok" and record["dialog"][-1]["content"].startswith("Verdict:")


class _Detector:
    def __init__(self, settings, context):
        pass

    def detect(self, items):
        from forensic_core import Detection

        return [Detection.from_score(0.5) for _ in items]


def _plugin_needing(api: object) -> types.ModuleType:
    module = types.ModuleType("needs_api")
    module.forensic_api = api  # type: ignore[attr-defined]

    @hookimpl
    def forensic_register_detectors():
        return [ComponentSpec(name="future-det", summary="s", settings=NoSettings, factory=_Detector)]

    module.forensic_register_detectors = forensic_register_detectors  # type: ignore[attr-defined]
    return module


def test_a_plugin_outside_its_api_range_is_refused_with_both_versions(register_plugin, forensic_registry):
    info = register_plugin(_plugin_needing(">=2.0,<3"), "forensic-future", "3.1")
    assert info.status == "incompatible"
    assert info.error == (
        f"forensic-future needs plugin API >=2.0,<3, but this forensic-core provides plugin API {API_VERSION}: "
        f"install a release of forensic-future made for API 1.x, or a forensic-core whose API is in >=2.0,<3"
    )
    assert "future-det" not in forensic_registry.names(__import__("forensic_core").ComponentKind.DETECTOR)


def test_forensic_plugins_shows_the_api_version_and_the_refusal(register_plugin, forensic_cli):
    register_plugin(_plugin_needing(">=2.0"), "forensic-future", "3.1")
    register_plugin(_plugin_needing(">=1.0,<2"), "forensic-current", "1.4")
    result = forensic_cli("plugins")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"plugin API {API_VERSION}"
    assert "forensic-future 3.1 [INCOMPATIBLE]" in lines
    assert "forensic-current 1.4 [ok]" in lines
    assert "    needs plugin API: >=1.0,<2" in lines


def test_a_pipeline_needing_a_refused_plugin_says_why_in_one_line(
    register_plugin, forensic_cli, gradient_image, tmp_path
):
    register_plugin(_plugin_needing(">=2.0"), "forensic-future", "3.1")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [future-det]\n")
    result = forensic_cli("run", "-p", str(pipeline), str(gradient_image), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    message = [line for line in result.output.splitlines() if line.strip()]
    assert len(message) == 1 and "needs plugin API >=2.0" in message[0] and API_VERSION in message[0]


@pytest.mark.parametrize("api", ["two point oh", "", 2])
def test_an_unreadable_api_range_is_refused(register_plugin, api):
    info = register_plugin(_plugin_needing(api), "forensic-odd", "0.1")
    assert info.status == "incompatible" and "forensic_api" in info.error and "'>=1.0,<2'" in info.error


def test_optional_members_get_their_documented_defaults():
    class Round1Backend:
        def reply(self, findings, conversation):
            raise AssertionError("not called")

    class Declared(Round1Backend):
        accepts_embeddings = True

    assert member(Round1Backend(), "accepts_embeddings", "dialog") is False
    assert member(Declared(), "accepts_embeddings", "dialog") is True
    with pytest.raises(KeyError):
        member(Round1Backend(), "no_such_member", "dialog")


def test_every_optional_member_is_documented_in_the_contract():
    contract = (Path(__file__).parents[2] / "docs" / "plugin-contract.md").read_text()
    for kind, name in OPTIONAL_MEMBERS:
        assert f"`{name}`" in contract, f"{kind} member {name} is missing from docs/plugin-contract.md"


def test_deprecations_warn_with_the_versions_and_the_replacement():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_deprecated("Detector.old_method", since="1.2", removal="2.0", instead="use Detector.detect")
    assert [str(w.message) for w in caught if w.category is FutureWarning] == [
        "Detector.old_method is deprecated since plugin API 1.2 and will be removed in API 2.0; use Detector.detect"
    ]
