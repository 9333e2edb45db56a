"""Settings that name files resolve against the pipeline file that names them, not the current folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, Detection, PathOrNameSetting, PathSetting, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.paths import resolve_setting_path


class ScoreFileSettings(ComponentSettings):
    score_file: PathSetting = Field(description="a text file holding the score to report")
    model: PathOrNameSetting = Field("builtin-model", description="a model name or a model file")


class ScoreFileDetector:
    """Reports the number written in ``score_file``: the test sees which file the setting reached."""

    def __init__(self, settings: ScoreFileSettings, context: object) -> None:
        self.score = float(Path(settings.score_file).read_text())
        self.model = settings.model

    def detect(self, items):
        return [Detection.from_score(self.score, details={"model": self.model}) for _ in items]


class ScoreFilePlugin:
    @hookimpl
    def forensic_register_detectors(self):
        return [
            ComponentSpec(
                name="score-file",
                summary="score read from a file",
                settings=ScoreFileSettings,
                factory=ScoreFileDetector,
            )
        ]


@pytest.fixture
def layout(tmp_path: Path, register_plugin, gradient_image: Path) -> dict[str, Path]:
    """A pipeline folder with its own score file, and a working folder with a decoy of the same name."""
    register_plugin(ScoreFilePlugin(), "score-file-plugin")
    pipelines, work = tmp_path / "pipelines", tmp_path / "work"
    (pipelines / "models").mkdir(parents=True)
    work.mkdir()
    (pipelines / "score.txt").write_text("0.75")
    (pipelines / "models" / "tuned.bin").write_text("weights")
    (work / "score.txt").write_text("0.25")
    pipeline = pipelines / "pipeline.yaml"
    pipeline.write_text(
        "detectors:\n  - name: score-file\n    settings: {score_file: score.txt, model: models/tuned.bin}\n"
    )
    return {"pipeline": pipeline, "pipelines": pipelines, "work": work, "image": gradient_image}


def test_relative_settings_resolve_against_the_pipeline_file_not_the_current_folder(
    layout, forensic_cli, monkeypatch, tmp_path
):
    monkeypatch.chdir(layout["work"])
    result = forensic_cli("run", "-p", str(layout["pipeline"]), str(layout["image"]), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "report.json").read_text())["results"][0]
    detection = record["detections"][0]
    assert detection["score"] == pytest.approx(0.75)
    assert detection["details"]["model"] == str(layout["pipelines"] / "models" / "tuned.bin")


def test_a_pipeline_without_a_file_keeps_paths_relative_to_the_current_folder(layout, forensic_registry, monkeypatch):
    monkeypatch.chdir(layout["work"])
    pipeline = load_pipeline(
        {"detectors": [{"name": "score-file", "settings": {"score_file": "score.txt"}}]}, forensic_registry
    )
    settings = pipeline.detectors[0].settings
    assert settings.score_file == "score.txt" and Path(settings.score_file).resolve() == layout["work"] / "score.txt"


def test_the_validated_document_names_absolute_files_for_remote_workers(layout, forensic_registry, monkeypatch):
    monkeypatch.chdir(layout["work"])
    pipeline = load_pipeline(layout["pipeline"], forensic_registry)
    rebuilt = load_pipeline(pipeline.document, forensic_registry)
    assert rebuilt.detectors[0].settings.score_file == str(layout["pipelines"] / "score.txt")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hf-hub:org/name", "hf-hub:org/name"),
        ("https://example.org/w.bin", "https://example.org/w.bin"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("ViT-B-16", "ViT-B-16"),
        ("./ViT-B-16", "/base/ViT-B-16"),
        ("../shared/model.gguf", "/shared/model.gguf"),
        ("local-dir:clip", "local-dir:/base/clip"),
        ("/abs/model.bin", "/abs/model.bin"),
    ],
)
def test_names_stay_names_and_paths_become_paths(value, expected):
    assert resolve_setting_path(value, "/base", names_allowed=True) == expected


def test_a_path_setting_is_always_a_path():
    assert resolve_setting_path("ViT-B-16", "/base") == "/base/ViT-B-16"
    assert resolve_setting_path("ViT-B-16", None) == "ViT-B-16"
