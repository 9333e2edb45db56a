"""The one error shortener (forensic_core.errors.one_line) and the places that use it."""

from __future__ import annotations

from forensic_core import discovery, pool
from forensic_core.errors import ConfigError, PluginLoadError, one_line


def test_collapses_whitespace_and_names_foreign_types():
    assert one_line(ValueError("bad\n  value\tthere")) == "ValueError: bad value there"
    assert one_line(ConfigError("our own  message")) == "our own message"
    assert one_line(RuntimeError()) == "RuntimeError"


def test_limit_and_bare_types():
    text = one_line(ValueError("x" * 500), limit=50, bare=(BaseException,))
    assert len(text) == 50 and text.endswith("...")
    assert one_line(ConfigError("c"), bare=()) == "ConfigError: c"


def test_every_core_shortener_is_this_one():
    assert pool.one_line is one_line
    assert discovery.one_line(PluginLoadError("cannot  load")) == "cannot load"
    assert discovery.one_line(ConfigError("c")) == "ConfigError: c"
    assert len(discovery.one_line(ValueError("y" * 999))) <= len("ValueError: ") + 200
