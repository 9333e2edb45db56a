"""The plugin from the outside: the CLI (--engine ray, --address), the install hint, settings, lazy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forensic_core.config import load_pipeline
from forensic_core.errors import ConfigError

from .conftest import ROOT, journal_records, write_images


def test_without_the_plugin_engine_ray_says_how_to_install_it(forensic_cli, register_plugin, tmp_path):
    from forensic_classic import plugin

    assert register_plugin(plugin, "forensic-classic", "0.1").status == "loaded"
    write_images(tmp_path / "in", ["a.jpg"])
    result = forensic_cli("run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--engine", "ray")
    assert result.exit_code == 2
    assert "unknown engine 'ray'" in result.stderr and "pip install forensic-ray" in result.stderr


def test_discovery_and_the_cli_do_not_import_ray():
    code = (
        "import sys; from forensic_core.registry import Registry; from forensic_core.cli import build_cli; "
        "registry = Registry.discover(); build_cli(registry); "
        "assert 'forensic-ray' in {i.name for i in registry.plugins.values()}, registry.plugins; "
        "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_settings_are_validated_in_the_pipeline(installed_registry):
    pipeline = load_pipeline(
        {"detectors": ["classic"], "engine": {"name": "ray", "settings": {"actors_per_node": 3, "retries": 0}}},
        installed_registry,
    )
    assert pipeline.engine is not None and pipeline.engine.settings.actors_per_node == 3
    with pytest.raises(ConfigError, match=r"engine\.ray\.settings\.actor_per_node"):
        load_pipeline(
            {"detectors": ["classic"], "engine": {"name": "ray", "settings": {"actor_per_node": 3}}}, installed_registry
        )
    with pytest.raises(ConfigError, match=r"cpus_per_actor"):
        load_pipeline(
            {"detectors": ["classic"], "engine": {"name": "ray", "settings": {"cpus_per_actor": 0}}}, installed_registry
        )


def test_run_and_eval_take_an_address(installed_registry):
    from click.testing import CliRunner

    from forensic_core.cli import build_cli

    group = build_cli(installed_registry)
    for command in ("run", "eval"):
        help_text = CliRunner().invoke(group, [command, "--help"]).output
        assert "--address ADDR" in help_text and "RAY_ADDRESS" in help_text, command


@pytest.mark.usefixtures("ray_session")
def test_forensic_run_engine_ray_with_address_on_the_command_line(installed_registry, tmp_path, monkeypatch):
    import ray
    from click.testing import CliRunner

    from forensic_core.cli import build_cli
    from forensic_core.registry import use_registry

    address = ray.get_runtime_context().gcs_address
    monkeypatch.setenv("RAY_ADDRESS", "unset-by-test")
    write_images(tmp_path / "in", ["a.jpg", "b.jpg"])
    (tmp_path / "p.yaml").write_text("detectors: [classic]\nengine: {name: ray, settings: {actors_per_node: 1}}\n")
    with use_registry(installed_registry):
        result = CliRunner().invoke(
            build_cli(installed_registry),
            [
                "run",
                "-p",
                str(tmp_path / "p.yaml"),
                str(tmp_path / "in"),
                "-o",
                str(tmp_path / "out"),
                "--address",
                address,
                "--no-progress",
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert os.environ["RAY_ADDRESS"] == "unset-by-test"  # the option is an engine setting, not the environment
    assert "engine ray: 2 ok, 0 failed, 0 retried" in result.stderr
    assert "(2/2 inputs analysed)" in result.output
    assert [record["status"] for record in journal_records(tmp_path / "out")] == ["ok", "ok"]


@pytest.mark.slow
def test_a_fresh_process_starts_its_own_local_ray(tmp_path):
    """Without an address (and outside the test session's Ray) `forensic run --engine ray` starts a local Ray
    instance for the run (Ray's start-up is most of this test's time)."""
    write_images(tmp_path / "in", ["a.jpg"])
    (tmp_path / "p.yaml").write_text("detectors: [classic]\n")
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    forensic = str(Path(sys.executable).with_name("forensic"))
    command = [forensic, "run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in")]
    command += ["-o", str(tmp_path / "out"), "--engine", "ray", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "engine ray: 1 ok, 0 failed" in done.stderr
    assert journal_records(tmp_path / "out")[0]["status"] == "ok"
