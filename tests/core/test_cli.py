"""The forensic CLI: exit codes, one-line errors, listing, schema, validate, run."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image


def test_validate_ok_and_errors(forensic_cli, fake_registry, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("detector: brightness\nlocalizers: [bright-map]\n")
    result = forensic_cli("validate", str(good))
    assert result.exit_code == 0 and "ok (detector brightness, localizer bright-map)" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("detector:\n  name: brightness\n  settings: {threshold: 7}\nlocalizers: [brite-map]\n")
    result = forensic_cli("validate", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: detector.brightness.settings.threshold: Input should be less than or equal to 1",
        "error: localizers[0]: unknown localizer 'brite-map'; did you mean 'bright-map'?",
    ]


def test_run_exit_codes_and_report(forensic_cli, fake_registry, tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(image)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [brightness]\n")
    out = tmp_path / "out"
    ok = forensic_cli("run", "-p", str(pipeline), str(image), "-o", str(out))
    assert ok.exit_code == 0, ok.output
    assert f"{image}: brightness 0.78 fake" in ok.output
    some_failed = forensic_cli(
        "run", "-p", str(pipeline), str(image), str(tmp_path / "nope.png"), "-o", str(out), "--overwrite"
    )
    assert some_failed.exit_code == 1
    summary = json.loads((out / "report.json").read_text())["summary"]
    assert (summary["inputs"], summary["ok"], summary["errors"], summary["interrupted"]) == (2, 1, 1, False)
    usage = forensic_cli("run", "-p", str(tmp_path / "missing.yaml"), str(image))
    assert usage.exit_code == 2 and usage.stderr.startswith("error: ") and len(usage.stderr.splitlines()) == 1


def test_run_without_pipeline_needs_classic_plugin(forensic_cli, fake_registry, tmp_path):
    result = forensic_cli("run", str(tmp_path / "x.png"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "default pipeline needs the weights-free classic plugin" in result.stderr


def test_components_listing_and_settings(forensic_cli, fake_registry):
    listing = forensic_cli("components", "--kind", "detector")
    assert "brightness" in listing.output and "bright-map" not in listing.output
    one = forensic_cli("components", "brightness")
    assert "threshold (default 0.5): score at or above which the label is 'fake'" in one.output
    as_json = json.loads(forensic_cli("components", "brightness", "--json").output)
    assert as_json["name"] == "fake-plugin:brightness" and "threshold" in as_json["settings"]["properties"]
    unknown = forensic_cli("components", "brightnes", "--kind", "detector")
    assert unknown.exit_code == 2 and "did you mean 'brightness'?" in unknown.stderr


def test_schema_is_json(forensic_cli, fake_registry):
    schema = json.loads(forensic_cli("schema").output)
    assert schema["title"] == "forensic pipeline"


def test_plugin_commands_are_added(forensic_cli, forensic_registry, register_plugin):
    import click

    from forensic_core import hookimpl

    class Commands:
        @hookimpl
        def forensic_add_commands(self, cli):
            @cli.command("hello")
            def hello():
                click.echo("hello from a plugin")

    register_plugin(Commands(), "commands-plugin")
    assert forensic_cli("hello").output == "hello from a plugin\n"


def test_broken_command_hook_does_not_break_cli(forensic_cli, forensic_registry, register_plugin):
    from forensic_core import hookimpl

    class Broken:
        @hookimpl
        def forensic_add_commands(self, cli):
            raise RuntimeError("boom")

    register_plugin(Broken(), "broken-commands")
    result = forensic_cli("plugins")
    assert result.exit_code == 0
    assert "broken-commands 0.0 [FAILED]" in result.output and "forensic_add_commands failed" in result.output
