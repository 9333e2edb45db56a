"""Discovery through real entry points of (fake) installed distributions, isolated per plugin."""

from __future__ import annotations

import json
import os
import select
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


EXITS_AT_IMPORT = "import sys\nsys.exit(3)\n"
RAISES_BASE_AT_IMPORT = "class Fatal(BaseException):\n    pass\n\nraise Fatal('refuses to load')\n"
EXITS_IN_REGISTRATION = """
from forensic_core import hookimpl

@hookimpl
def forensic_register_detectors():
    raise SystemExit("bye")
"""
MISSPELLED_HOOK = """
from forensic_core import ComponentSpec, hookimpl

@hookimpl
def forensic_register_detector():
    return [ComponentSpec("never-seen", "misspelled hook", factory="{module}:build")]
"""
UNMARKED_HOOK = """
from forensic_core import ComponentSpec

def forensic_register_detectors():
    return [ComponentSpec("never-seen", "hook without @hookimpl", factory="{module}:build")]
"""
HANGS_AT_IMPORT = "import sys\nsys.stdin.readline()\n" + GOOD.replace("shared-name", "slow-detector")


def install_entry_points(site: Path, dist: str, version: str, sources: dict[str, str]) -> None:
    """One distribution with several entry points (name -> module source)."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = []
    for name, source in sources.items():
        module = f"{dist.replace('-', '_')}_{name}_{uuid.uuid4().hex[:8]}"
        (site / f"{module}.py").write_text(textwrap.dedent(source.replace("{module}", module)))
        lines.append(f"{name} = {module}")
    (info / "entry_points.txt").write_text("[forensic.plugins]\n" + "\n".join(lines) + "\n")


@pytest.fixture
def hostile_site(tmp_path, monkeypatch):
    site = tmp_path / "hostile"
    site.mkdir()
    install(site, "fx-good", "1.0", GOOD)
    install(site, "fx-exits", "0.1", EXITS_AT_IMPORT)
    install(site, "fx-fatal", "0.2", RAISES_BASE_AT_IMPORT)
    install(site, "fx-exits-later", "0.3", EXITS_IN_REGISTRATION)
    install(site, "fx-misspelled", "0.4", MISSPELLED_HOOK)
    install(site, "fx-unmarked", "0.5", UNMARKED_HOOK)
    monkeypatch.syspath_prepend(str(site))
    return site


HOSTILE = "fx-good,fx-exits,fx-fatal,fx-exits-later,fx-misspelled,fx-unmarked"


def run_cli(site: Path, *args: str, plugins: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path]), "FORENSIC_PLUGINS": plugins}
    full_env.pop("FORENSIC_DEBUG", None)
    code = "from forensic_core.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env={**full_env, **env}, capture_output=True, text=True, timeout=120
    )


def test_system_exit_and_base_exceptions_are_isolated_and_named(hostile_site):
    registry = Registry.discover(env={"FORENSIC_PLUGINS": HOSTILE})
    errors = {name: info.error for name, info in registry.plugins.items() if info.status == "failed"}
    assert errors == {
        "fx-exits": "import failed: SystemExit: 3",
        "fx-fatal": "import failed: Fatal: refuses to load",
        "fx-exits-later": "registration failed: SystemExit: bye",
        "fx-misspelled": "registration failed: PluginValidationError: unknown hook 'forensic_register_detector'; "
        "did you mean 'forensic_register_detectors'?",
        "fx-unmarked": "registration failed: PluginValidationError: forensic_register_detectors is not marked "
        "with @hookimpl",
    }
    assert registry.plugins["fx-good"].status == "loaded"
    assert {c.plugin for c in registry.components()} - {"forensic-core"} == {"fx-good"}
    # Nothing of the failed plugins stays registered with pluggy either.
    assert {name for name, _ in registry.pm.list_name_plugin()} == {"forensic-core", "fx-good"}


def test_every_command_survives_a_plugin_that_exits(hostile_site):
    listing = run_cli(hostile_site, "plugins", plugins=HOSTILE)
    assert listing.returncode == 0, listing.stderr
    assert "fx-exits 0.1 [FAILED]\n    error: import failed: SystemExit: 3\n" in listing.stdout
    help_text = run_cli(hostile_site, "--help", plugins=HOSTILE)
    assert help_text.returncode == 0 and "Explainable deepfake forensics" in help_text.stdout


def test_keyboard_interrupt_at_import_is_not_swallowed(tmp_path, monkeypatch):
    install(tmp_path, "fx-interrupted", "1.0", "raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        Registry.discover(env={"FORENSIC_PLUGINS": "fx-interrupted"})


def test_keyboard_interrupt_in_registration_is_not_swallowed(forensic_registry):
    from forensic_core import hookimpl

    class Interrupted:
        @hookimpl
        def forensic_register_detectors(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        forensic_registry.register(Interrupted(), "interrupted")
    assert forensic_registry.pm.get_plugin("interrupted") is None


def test_every_entry_point_of_a_distribution_is_loaded_and_reported(tmp_path, monkeypatch):
    second = GOOD.replace("shared-name", "second-detector").replace("good-map", "second-map")
    install_entry_points(tmp_path, "fx-multi", "1.5", {"first": GOOD, "second": second, "third": BROKEN_IMPORT})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.discover(env={"FORENSIC_PLUGINS": "fx-multi"})
    plugins = {
        key: (info.status, info.entry_point.split(" = ")[0])
        for key, info in registry.plugins.items()
        if info.status != "disabled"
    }
    assert plugins == {
        "forensic-core": ("loaded", "(built-in)"),
        "fx-multi": ("loaded", "first"),
        "fx-multi:second": ("loaded", "second"),
        "fx-multi:third": ("failed", "third"),
    }
    assert registry.resolve(ComponentKind.DETECTOR, "fx-multi:second-detector").plugin == "fx-multi"
    assert registry.resolve(ComponentKind.LOCALIZER, "good-map").plugin == "fx-multi"
    assert [info.entry_point.split(" = ")[0] for info in registry.distribution("FX_Multi")] == [
        "first",
        "second",
        "third",
    ]
    # One entry point can be switched off on its own.
    partial = Registry.discover(env={"FORENSIC_PLUGINS": "fx-multi", "FORENSIC_DISABLE_PLUGINS": "fx-multi:third"})
    assert partial.plugins["fx-multi:third"].status == "disabled"
    assert partial.plugins["fx-multi:second"].status == "loaded"


def test_a_requirement_on_a_partly_failed_distribution_names_the_failure(tmp_path, monkeypatch):
    from forensic_core.config import check_requirements
    from forensic_core.errors import RequirementError

    install_entry_points(tmp_path, "fx-half", "1.0", {"ok": GOOD, "broken": BROKEN_IMPORT})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.discover(env={"FORENSIC_PLUGINS": "fx-half"})
    with pytest.raises(RequirementError) as info:
        check_requirements(["fx-half>=1"], registry)
    assert info.value.problems == [
        "requires[0]: plugin 'fx-half' is installed but failed: import failed: ModuleNotFoundError: "
        "No module named 'this_module_does_not_exist_anywhere' (entry point broken)"
    ]


HANGS_IN_REGISTRATION = """
import sys
from forensic_core import ComponentSpec, hookimpl

@hookimpl
def forensic_register_detectors():
    sys.stdin.readline()
    return [ComponentSpec("slow-detector", "registers slowly", factory="{module}:build")]

def build(settings, context):
    return None
"""


@pytest.mark.parametrize("source", [HANGS_AT_IMPORT, HANGS_IN_REGISTRATION], ids=["import", "registration"])
def test_a_hanging_plugin_is_named_while_it_still_hangs(tmp_path, source):
    install(tmp_path, "fx-slow", "0.9", source)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
        "FORENSIC_PLUGINS": "fx-slow",
        "FORENSIC_DISABLE_PLUGINS": "fx-other",
        "FORENSIC_PLUGIN_LOAD_WARN_S": "0.2",
    }
    code = "from forensic_core.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "components"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The plugin blocks on stdin until the test closes it: the notice must come while it is blocked.
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        assert ready, "no notice while the plugin import was blocked"
        line = proc.stderr.readline()
        assert line.startswith("forensic: still loading plugin fx-slow (entry point fx-slow = fx_slow_")
        assert line.rstrip().endswith("after 0.2 s; to start without it: FORENSIC_DISABLE_PLUGINS=fx-other,fx-slow")
        assert proc.poll() is None
        out, err = proc.communicate(input="go on\n", timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "slow-detector" in out


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 5.0), ("", 5.0), ("0", 0.0), ("2.5", 2.5), ("soon", 5.0), ("-1", 5.0)]
)
def test_load_notice_delay_setting(value, expected):
    from forensic_core.discovery import _warn_after

    assert _warn_after({} if value is None else {"FORENSIC_PLUGIN_LOAD_WARN_S": value}) == expected


def test_debug_is_read_before_discovery_and_reraises_plugin_errors(site):
    plain = run_cli(site, "plugins", plugins="fx-broken-import")
    assert plain.returncode == 0 and "[FAILED]" in plain.stdout
    debug = run_cli(site, "--debug", "plugins", plugins="fx-broken-import")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "ModuleNotFoundError" in debug.stderr


def test_debug_is_passed_down_not_written_to_the_environment(monkeypatch, tmp_path, capsys):
    from forensic_core.cli import main

    monkeypatch.setenv("FORENSIC_PLUGINS", "")
    for name in ("FORENSIC_DEBUG", "FORENSIC_RAISE_PLUGIN_ERRORS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--debug", "plugins"])
    assert exit_info.value.code == 0 and "forensic-core" in capsys.readouterr().out
    assert "FORENSIC_DEBUG" not in os.environ and "FORENSIC_RAISE_PLUGIN_ERRORS" not in os.environ
    from forensic_core.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "validate", str(tmp_path / "missing.yaml")])
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(tmp_path / "missing.yaml")])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--debug", "plugins"], {}, True),
        (["-h", "--debug"], {}, True),
        (["run", "--debug"], {}, False),
        (["run", "x.png"], {}, False),
        (["--", "--debug"], {}, False),
        (["plugins"], {"FORENSIC_DEBUG": "1"}, True),
        (["plugins"], {"FORENSIC_DEBUG": "0"}, False),
    ],
)
def test_wants_debug(args, env, expected):
    from forensic_core.cli.base import wants_debug

    assert wants_debug(args, env) is expected


def test_a_malformed_entry_points_file_fails_only_that_distribution(tmp_path, monkeypatch):
    install(tmp_path, "fx-good", "1.0", GOOD)
    broken = tmp_path / "fx_malformed-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: fx-malformed\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text("[forensic.plugins]\nthis line has no equals sign\n")
    unrelated = tmp_path / "fx_unrelated-0.2.dist-info"
    unrelated.mkdir()
    (unrelated / "METADATA").write_text("Metadata-Version: 2.1\nName: fx-unrelated\nVersion: 0.2\n")
    (unrelated / "entry_points.txt").write_text("[console_scripts]\nbroken too\n")
    nameless = tmp_path / "nameless-1.0.dist-info"
    nameless.mkdir()
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\n")
    module = install(tmp_path, "fx-donor", "1.0", GOOD.replace("shared-name", "nameless-detector"))
    (nameless / "entry_points.txt").write_text(f"[forensic.plugins]\nfx-nameless = {module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.discover(env={"FORENSIC_PLUGINS": "fx-good,fx-malformed,fx-unrelated,fx-nameless"})
    malformed = registry.plugins["fx-malformed"]
    assert (malformed.status, malformed.version) == ("failed", "0.1")
    assert malformed.error.startswith("reading entry points failed: ")
    assert "fx-unrelated" not in registry.plugins
    assert registry.plugins["fx-good"].status == "loaded"
    assert (registry.plugins["fx-nameless"].status, registry.plugins["fx-nameless"].version) == ("loaded", "unknown")
    quiet = Registry.discover(env={"FORENSIC_PLUGINS": "fx-good"})
    assert quiet.plugins["fx-malformed"].status == "disabled"
