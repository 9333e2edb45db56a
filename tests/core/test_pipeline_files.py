"""Pipeline files that cannot hurt: bounded loading, duplicate keys, short echoes, the right unknown-key hint."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tracemalloc

import pytest
from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl
from forensic_core.config import MAX_PIPELINE_BYTES, load_pipeline
from forensic_core.errors import ConfigError

# 296 bytes: nine levels of nine items each, 9**9 (387 million) strings once the aliases are expanded.
LEVELS = "abcdefgh"
ALIAS_BOMB = (
    "requires: [&a [x,x,x,x,x,x,x,x,x], "
    + ", ".join(f"&{b} [{','.join([f'*{a}'] * 9)}]" for a, b in itertools.pairwise(LEVELS))
    + ", ["
    + ",".join(["*h"] * 9)
    + "]]\n"
)


def refusal(path, registry) -> str:
    """Load ``path`` and return the one-line refusal, checking that refusing it took little memory."""
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as info:
            load_pipeline(path, registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"refusing {path.name} took {peak / 2**20:.0f} MiB"
    message = str(info.value)
    assert "\n" not in message and len(info.value.problems) == 1
    return message


def test_the_alias_bomb_is_small(tmp_path):
    assert len(ALIAS_BOMB) < 330 and ALIAS_BOMB.count("*") == 8 * 9


def test_alias_bomb_is_refused_in_bounded_memory(tmp_path, fake_registry):
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    message = refusal(path, fake_registry)
    assert message.startswith(f"{path}: refused at line 1, column ")
    assert message.endswith("expands to more than 20,000 values (nested aliases?)")


def test_recursive_alias_is_refused(tmp_path, fake_registry):
    path = tmp_path / "loop.yaml"
    path.write_text("requires: &a [x, *a]\n")
    assert refusal(path, fake_registry).endswith("recursive alias (an anchor used inside itself)")


@pytest.mark.parametrize(
    "body",
    ["detectors: " + "[" * 30_000 + "]" * 30_000, "detectors:\n" + "".join("  " * i + "a:\n" for i in range(1, 200))],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused(tmp_path, fake_registry, body):
    path = tmp_path / "deep.yaml"
    path.write_text(body + "\n")
    assert refusal(path, fake_registry).endswith("nested deeper than 32 levels")


def test_non_utf8_file_is_refused(tmp_path, fake_registry):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("detectors: [brightness]  # caf\u00e9\n".encode("latin-1"))
    assert refusal(path, fake_registry) == f"{path}: not UTF-8 text (byte 0xe9 at offset 30); save it as UTF-8"


def test_utf8_with_byte_order_mark_is_read(tmp_path, fake_registry):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfdetectors: [brightness]\n")
    assert load_pipeline(path, fake_registry).detectors[0].name == "brightness"


def test_oversized_file_is_refused_before_parsing(tmp_path, fake_registry):
    path = tmp_path / "huge.yaml"
    path.write_text("detectors: [brightness]\n" + "#" * MAX_PIPELINE_BYTES + "\n")
    assert refusal(path, fake_registry) == (
        f"{path}: refused: larger than 64 KiB (pipeline files are a few hundred bytes)"
    )


def test_a_fifo_as_pipeline_file_is_refused_without_blocking(tmp_path, fake_registry):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    assert refusal(path, fake_registry) == f"{path}: cannot read pipeline file (not a regular file)"


@pytest.mark.parametrize(
    ("body", "where", "key", "first"),
    [
        ("detectors: [brightness]\ndetectors: [bright-map]\n", "line 2, column 1", "detectors", 1),
        (
            "detectors:\n  - name: brightness\n    settings:\n      threshold: 0.2\n      threshold: 0.9\n",
            "line 5, column 7",
            "threshold",
            4,
        ),
    ],
)
def test_duplicate_keys_are_refused(tmp_path, fake_registry, body, where, key, first):
    path = tmp_path / "dup.yaml"
    path.write_text(body)
    assert refusal(path, fake_registry) == f"{path}: refused at {where}: duplicate key '{key}' (first at line {first})"


def test_merge_keys_still_override(tmp_path, fake_registry):
    path = tmp_path / "merge.yaml"
    path.write_text(
        "detectors:\n"
        "  - {name: brightness, settings: &common {threshold: 0.3}}\n"
        "  - {name: face-brightness, settings: {<<: *common, threshold: 0.4}}\n"
    )
    pipeline = load_pipeline(path, fake_registry)
    assert [entry.settings.threshold for entry in pipeline.detectors] == [0.3, 0.4]


def test_values_echoed_in_messages_are_cut_short(tmp_path, fake_registry):
    long_key, long_name, long_requirement = "k" * 1000, "n" * 5000, "forensic-kfd>=" + "9" * 5000 + "!!"
    cases = {
        "key": f"detectors:\n  - name: brightness\n    settings: {{{long_key}: 1}}\n",
        "name": f"detectors: [{long_name}]\n",
        "requirement": f"requires: ['{long_requirement}']\n",
    }
    for case, body in cases.items():
        path = tmp_path / f"{case}.yaml"
        path.write_text(body)
        with pytest.raises(ConfigError) as info:
            load_pipeline(path, fake_registry)
        for problem in info.value.problems:
            assert len(problem) < 400, (case, problem)
        assert "characters)" in info.value.problems[0], case


def test_non_string_requirements_are_refused_without_rendering_them(fake_registry):
    with pytest.raises(ConfigError) as info:
        load_pipeline({"requires": [["forensic-kfd"] * 1000]}, fake_registry)
    assert info.value.problems == ["requires[0]: must be a requirement string like 'forensic-kfd>=0.1', not list"]


def test_many_problems_are_capped(fake_registry):
    with pytest.raises(ConfigError) as info:
        load_pipeline({"detectors": [f"nope-{i}" for i in range(500)]}, fake_registry)
    assert len(info.value.problems) == 21 and info.value.problems[-1] == "... and 480 more problems"


class BlockSettings(ComponentSettings):
    block_size: int = Field(8, description="block edge in pixels")
    quality: int = Field(90, description="recompression quality")


class BlockPlugin:
    @hookimpl
    def forensic_register_detectors(self):
        return [ComponentSpec("blocky", "block artefacts", BlockSettings, factory=lambda s, ctx: None)]

    @hookimpl
    def forensic_register_localizers(self):
        return [ComponentSpec("blockmap", "block artefacts map", BlockSettings, factory=lambda s, ctx: None)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"detectors": [{"name": "blocky", "settings": {"blok": 8}}]},
            "detectors[0].blocky.settings.blok: unknown key 'blok'; allowed: block_size, quality",
        ),
        (
            {"detectors": ["brightness", {"name": "blocky", "settings": {"qualty": 8}}]},
            "detectors[1].blocky.settings.qualty: unknown key 'qualty'; did you mean 'quality'?",
        ),
        (
            {"localizers": [{"name": "blockmap", "settings": {"threshold": 1}}]},
            "localizers[0].blockmap.settings.threshold: unknown key 'threshold'; allowed: block_size, quality",
        ),
        (
            {"detector": {"name": "brightness", "settings": {"block_size": 8}}},
            "detector.brightness.settings.block_size: unknown key 'block_size'; allowed: threshold",
        ),
        (
            {"detectors": [{"name": "blocky", "sattings": {}}]},
            "detectors[0].blocky.sattings: unknown key 'sattings'; did you mean 'settings'?",
        ),
    ],
)
def test_unknown_key_hint_lists_the_keys_of_the_named_component(fake_registry, register_plugin, data, expected):
    register_plugin(BlockPlugin(), "block-plugin")
    with pytest.raises(ConfigError) as info:
        load_pipeline(data, fake_registry)
    assert info.value.problems == [expected]


def test_validate_refuses_the_bomb_with_exit_2_and_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    code = "from forensic_core.cli import main; main()"
    env = {**os.environ, "FORENSIC_PLUGINS": ""}
    env.pop("FORENSIC_DEBUG", None)
    out = subprocess.run(
        [sys.executable, "-c", code, "validate", str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"error: {path}: refused at line 1, column {out.stderr.split('column ')[1].split(':')[0]}: "
        "expands to more than 20,000 values (nested aliases?)"
    ]
