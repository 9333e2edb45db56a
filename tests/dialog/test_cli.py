"""``forensic ask`` (one turn, --json) and ``forensic chat`` (stdin questions, /save into the report)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("forensic_classic")


@pytest.fixture
def cli(forensic_registry, register_plugin, tmp_path):
    import forensic_classic.plugin as classic
    import forensic_llm_dialog.plugin as dialog

    register_plugin(classic, "forensic-classic")
    register_plugin(dialog, "forensic-llm-dialog")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [classic]\nlocalizers: [dq]\n")  # no dialog: grounded is added
    image = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(image, quality=90)
    return pipeline, image


def test_ask_json_has_the_verdict_and_evidence(cli, forensic_cli, tmp_path):
    pipeline, image = cli
    result = forensic_cli(
        "ask", "-p", str(pipeline), str(image), "How sure are you?", "--json", "-o", str(tmp_path / "o")
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"question", "answer", "backend", "verdict", "evidence"}
    assert data["backend"] == "grounded" and data["verdict"]["component"] == "classic"
    assert data["answer"].startswith("The forgery score is") and data["evidence"][0]["component"] == "classic"


def test_ask_a_missing_input_is_a_one_line_error(cli, forensic_cli, tmp_path):
    pipeline, _ = cli
    from click.testing import CliRunner

    from forensic_core.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["ask", "-p", str(pipeline), str(tmp_path / "gone.jpg"), "Fake?"])
    assert result.exit_code != 0 and "gone.jpg: no such file" in result.output


def test_chat_reads_questions_from_stdin_and_saves_the_transcript(cli, forensic_registry, tmp_path):
    from click.testing import CliRunner

    from forensic_core.cli import build_cli

    pipeline, image = cli
    out = tmp_path / "out"
    result = CliRunner().invoke(
        build_cli(forensic_registry),
        ["chat", "-p", str(pipeline), str(image), "-o", str(out)],
        input="Is it fake?\nWhere is the manipulation?\n/save\n",
    )
    assert result.exit_code == 0, result.output
    assert "> Is it fake?" in result.output and "  [1] classic: forgery score" in result.output
    report = json.loads((out / "report.json").read_text())
    dialog = report["results"][0]["dialog"]
    assert [m["role"] for m in dialog] == ["user", "assistant", "user", "assistant"]
    assert dialog[1]["backend"] == "grounded" and dialog[1]["evidence"][0]["component"] == "classic"
    assert (out / "report.html").is_file()
