"""Text from file names, plugins and models is printed inert: no escape sequence acts, no line is forged."""

from __future__ import annotations

import os

import pytest

from forensic_core.terminal import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("photo.jpg", "photo.jpg"),
        ("été/日本.png", "été/日本.png"),
        ("C:\\path\\x.png", "C:\\path\\x.png"),
        ("\x1b[2Jclear.png", "\\x1b[2Jclear.png"),
        ("a.png\nb.png: real", "a.png\\nb.png: real"),
        ("over\rwrite", "over\\rwrite"),
        ("tab\there", "tab\\there"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("c1\x9bcsi", "c1\\x9bcsi"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("isolate\u2066x\u2069", "isolate\\u2066x\\u2069"),
    ],
)
def test_control_characters_are_escaped(text, shown):
    assert printable(text) == shown


def test_undecodable_file_name_bytes_are_shown_as_bytes():
    name = os.fsdecode(b"caf\xe9-\xff.png")
    assert printable(name) == "caf\\xe9-\\xff.png"
    printable(name).encode("ascii")  # printable on any terminal encoding


def test_escaped_text_has_no_control_characters_left():
    every = "".join(chr(code) for code in range(0x00, 0x250)) + "\u202a\u202b\u202c\u202d\u2066\u2067\u2068"
    shown = printable(every)
    assert all(ch.isprintable() for ch in shown)
    assert "\n" not in shown and "\x1b" not in shown


def test_errors_naming_hostile_files_print_as_one_inert_line(forensic_cli, fake_registry, tmp_path):
    hostile = tmp_path / "\x1b[31mred\nforged: ok.yaml"
    result = forensic_cli("validate", str(hostile))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "\x1b" not in result.stderr
    assert "\\x1b[31mred\\nforged: ok.yaml: cannot read pipeline file" in result.stderr


def test_plugin_metadata_is_printed_inert(forensic_cli, forensic_registry, register_plugin):
    from forensic_core import ComponentSpec, hookimpl

    class Sneaky:
        @hookimpl
        def forensic_register_detectors(self):
            return [ComponentSpec("sneaky", "looks\x1b[2J harmless", factory=lambda s, ctx: None)]

    register_plugin(Sneaky(), "sneaky\x1b]0;title\x07plugin")
    for args in (("plugins",), ("components",), ("components", "sneaky")):
        output = forensic_cli(*args).output
        assert "\x1b" not in output and "\x07" not in output, args
        assert "\\x1b" in output


@pytest.mark.parametrize(
    ("text", "shown"),
    [("zero\u200bwidth", "zero\\u200bwidth"), ("nb\u00a0sp", "nb\\xa0sp"), ("soft\u00adhyphen", "soft\\xadhyphen")],
)
def test_invisible_characters_are_made_visible(text, shown):
    assert printable(text) == shown
