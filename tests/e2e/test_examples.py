"""End to end with the installed first-party plugins: the default pipeline and the example pipelines."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = sorted((ROOT / "examples" / "pipelines").glob("*.yaml"))


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("skimage")
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "examples" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    outdir = tmp_path_factory.mktemp("inputs")
    edited, pristine = module.make(outdir)
    return {"edited": edited, "pristine": pristine}


def run_cli(*args: str):
    from forensic_core.cli import build_cli

    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


def test_default_pipeline_names_the_edited_region(demo_inputs, tmp_path):
    pytest.importorskip("forensic_classic")
    pytest.importorskip("forensic_faces")
    out = tmp_path / "out"
    result = run_cli("run", str(demo_inputs["edited"]), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["pipeline"] == "(default)"
    entry = report["results"][0]
    assert entry["status"] == "ok"
    assert [d["component"] for d in entry["detections"]] == ["learned"]
    assert entry["detections"][0]["details"]["calibrated"] is True
    assert {loc["component"] for loc in entry["localizations"]} == {"dq", "ghost"}
    assert all((out / loc["heatmap"]).exists() for loc in entry["localizations"])
    assert len(entry["faces"]) == 1
    # The edit replaced the subject's left eye: the localizers' evidence is highest there.
    top = {}
    for region in entry["regions"]:
        top.setdefault(region["component"], region["region"])
    assert top["dq"] == "left_eye"
    html = (out / "report.html").read_text()
    assert "facial regions with most evidence" in html and "left_eye" in html


def test_kfd_pipeline_with_daam_explanation_in_html(demo_inputs, tmp_path):
    pytest.importorskip("forensic_kfd")
    pytest.importorskip("forensic_daam")
    out = tmp_path / "out"
    result = run_cli(
        "run", "-p", str(ROOT / "examples/pipelines/kfd-tiny-daam.yaml"), str(demo_inputs["edited"]), "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    weights = {(c["role"], c["component"]): c["weights"] for c in report["components"]}
    assert "kfd heads untrained" in weights[("detectors", "kfd")]  # provenance names the weights it ran
    entry = report["results"][0]
    assert entry["detections"][0]["component"] == "kfd" and entry["detections"][0]["details"]["heads"] == "untrained"
    assert entry["faces"] and entry["explanations"][0]["face_index"] == 0
    assert entry["localizations"][0]["layers"], "per-layer correlation maps are figures in the report"
    figures = [Path(f["path"]).suffix for f in entry["explanations"][0]["figures"]]
    assert ".png" in figures and ".gif" in figures
    html = (out / "report.html").read_text()
    assert "Explanation: daam of kfd" in html and "data:image/gif;base64," in html


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_example_pipelines_validate_without_importing_model_libraries(pipeline):
    code = (
        "import sys, json\nfrom forensic_core.cli import build_cli\n"
        f"try:\n    build_cli()(['validate', {str(pipeline)!r}])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print(json.dumps([code, [m for m in ('torch', 'timm', 'open_clip', 'transformers') if m in sys.modules]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    code, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0, out.stdout + out.stderr
    assert heavy == []
