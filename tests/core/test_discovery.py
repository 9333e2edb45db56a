"""Discovery through real entry points of (fake) installed distributions, isolated per plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from forensic_core.components import ComponentKind
from forensic_core.errors import AmbiguousComponentError, UnknownComponentError
from forensic_core.registry import Registry

GOOD = """
from forensic_core import ComponentSpec, hookimpl

@hookimpl
def forensic_register_detectors():
    return [ComponentSpec("shared-name", "good detector", factory="{module}:build")]

@hookimpl
def forensic_register_localizers():
    return [ComponentSpec("good-map", "good localizer", factory="{module}:build")]

def build(settings, context):
    return None
"""
BROKEN_IMPORT = "import this_module_does_not_exist_anywhere\n"
BROKEN_REGISTRATION = """
from forensic_core import hookimpl

@hookimpl
def forensic_register_detectors():
    raise RuntimeError("registry exploded")
"""
DUPLICATE = """
from forensic_core import ComponentSpec, hookimpl

@hookimpl
def forensic_register_detectors():
    return [ComponentSpec("shared-name", "same name, other plugin", factory="{module}:build")]

def build(settings, context):
    return None
"""


def install(site: Path, dist: str, version: str, source: str) -> str:
    """Write a module and a .dist-info with an entry point: an installed distribution as importlib sees it."""
    module = f"{dist.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    (site / f"{module}.py").write_text(textwrap.dedent(source.replace("{module}", module)))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[forensic.plugins]\n{dist} = {module}\n")
    return module


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "fx-good", "1.0", GOOD)
    install(site, "fx-broken-import", "0.3", BROKEN_IMPORT)
    install(site, "fx-broken-registration", "0.4", BROKEN_REGISTRATION)
    install(site, "fx-duplicate", "2.0", DUPLICATE)
    monkeypatch.syspath_prepend(str(site))
    return site


def discover(**env):
    return Registry.discover(
        env={"FORENSIC_PLUGINS": "fx-good,fx-broken-import,fx-broken-registration,fx-duplicate", **env}
    )


def test_broken_plugins_are_reported_and_others_keep_working(site):
    registry = discover()
    plugins = registry.plugins
    assert plugins["fx-good"].status == "loaded"
    assert plugins["fx-good"].components == {"detector": ["shared-name"], "localizer": ["good-map"]}
    broken = plugins["fx-broken-import"]
    assert (broken.status, broken.version) == ("failed", "0.3")
    assert broken.error == "import failed: ModuleNotFoundError: No module named 'this_module_does_not_exist_anywhere'"
    assert plugins["fx-broken-registration"].error == "registration failed: RuntimeError: registry exploded"
    assert registry.resolve(ComponentKind.LOCALIZER, "good-map").plugin == "fx-good"
    # The failed plugin left nothing registered behind.
    assert all(c.plugin != "fx-broken-registration" for c in registry.components())


def test_unknown_component_names_the_plugins_that_failed(site):
    registry = discover()
    with pytest.raises(UnknownComponentError) as info:
        registry.resolve(ComponentKind.DETECTOR, "from-broken")
    message = str(info.value)
    assert message.startswith("unknown detector 'from-broken' (plugins that failed to load and may provide it:")
    assert "fx-broken-import 0.3: import failed" in message and "\n" not in message


def test_duplicate_names_name_both_plugins_and_qualified_names_resolve(site):
    registry = discover()
    with pytest.raises(AmbiguousComponentError, match="registered by both 'fx-duplicate' and 'fx-good'"):
        registry.resolve(ComponentKind.DETECTOR, "shared-name")
    assert registry.resolve(ComponentKind.DETECTOR, "fx-good:shared-name").plugin == "fx-good"
    assert registry.duplicates() == {(ComponentKind.DETECTOR, "shared-name"): ["fx-duplicate", "fx-good"]}


def test_disable_and_only_switches(site):
    registry = discover(FORENSIC_DISABLE_PLUGINS="fx-duplicate")
    assert registry.plugins["fx-duplicate"].status == "disabled"
    assert registry.resolve(ComponentKind.DETECTOR, "shared-name").plugin == "fx-good"
    only = Registry.discover(env={"FORENSIC_PLUGINS": "fx-good"})
    assert {name for name, info in only.plugins.items() if info.status == "loaded"} == {"forensic-core", "fx-good"}


def test_raise_errors_switch_reraises(site):
    with pytest.raises(ModuleNotFoundError):
        discover(FORENSIC_RAISE_PLUGIN_ERRORS="1")


def test_forensic_plugins_cli_survives_broken_plugins(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env["FORENSIC_PLUGINS"] = "fx-good,fx-broken-import,fx-broken-registration,fx-duplicate"
    code = "from forensic_core.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "plugins", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    statuses = {p["name"]: p["status"] for p in payload["plugins"]}
    assert statuses["fx-good"] == "loaded" and statuses["fx-broken-import"] == "failed"
    assert payload["duplicates"] == [
        {"kind": "detector", "name": "shared-name", "plugins": ["fx-duplicate", "fx-good"]}
    ]
    text = subprocess.run([sys.executable, "-c", code, "plugins"], env=env, capture_output=True, text=True, timeout=120)
    assert "fx-broken-import 0.3 [FAILED]" in text.stdout
    assert "conflict: detector 'shared-name' is registered by fx-duplicate and fx-good" in text.stdout


def test_invalid_spec_type_fails_that_plugin_only(forensic_registry):
    from forensic_core import hookimpl

    class Bad:
        @hookimpl
        def forensic_register_detectors(self):
            return ["not a spec"]

    info = forensic_registry.register(Bad(), "bad")
    assert info.status == "failed" and "returned str, not ComponentSpec" in info.error
