"""Reading a pipeline file safely (one job: bytes to a plain mapping, within limits).

A bounded ``SafeLoader``: size, nesting depth, alias expansion and duplicate keys are limited, and every refusal
is one ``ConfigError`` line naming where in the file it happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from forensic_core.errors import ConfigError

MAX_PIPELINE_BYTES = 64 * 1024
"""Largest pipeline file read. Real pipelines are a few hundred bytes; the limit bounds parsing time and memory."""
MAX_YAML_DEPTH = 32
"""Deepest nesting of mappings and sequences accepted (real pipelines nest four or five levels)."""
MAX_YAML_NODES = 20_000
"""Most YAML nodes a pipeline may expand to, every alias counted as a full copy of what it names.

A 330-byte "billion laughs" file of nested aliases expands to billions of nodes; composing is cheap (aliases are
shared), but anything that walks the value (validation, ``str()``, a requirement check) pays for every copy.
"""
MAX_PROBLEMS = 20
_ECHO_MAX = 40


def clip(value: Any, limit: int = _ECHO_MAX) -> str:
    """``repr`` of a value from a pipeline file, cut to a short prefix: messages echo input, never all of it."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    shown = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{shown}... ({len(text):,} characters)"


class _Refused(Exception):
    """A pipeline file over one of the loader's limits (turned into a one-line ConfigError)."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses deep nesting, alias expansion past :data:`MAX_YAML_NODES` and duplicate keys.

    Sizes are counted while composing, each node once, with an alias counted as the expanded size of the node it
    names: the refusal comes after work proportional to the file, not to its expansion. An alias to a node that
    is still being composed (``&a [*a]``) is refused as recursive.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise _Refused("recursive alias (an anchor used inside itself)", mark)
            return node
        mark = self.peek_event().start_mark
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(key)] + self._sizes[id(value)] for key, value in node.value)
        else:
            size = 1
        if size > MAX_YAML_NODES:
            raise _Refused(f"expands to more than {MAX_YAML_NODES:,} values (nested aliases?)", mark)
        self._sizes[id(node)] = size
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    first = seen[key].line + 1
                    raise _Refused(f"duplicate key {clip(key_node.value)} (first at line {first})", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_pipeline_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML pipeline file safely into a mapping; every refusal is one :class:`ConfigError` line.

    Bounded: only a regular file of at most :data:`MAX_PIPELINE_BYTES`, valid UTF-8, nested at most
    :data:`MAX_YAML_DEPTH` levels, expanding to at most :data:`MAX_YAML_NODES` values, without duplicate keys
    (YAML says the later one silently wins, which hides typos). Only plain data types are constructed.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass: plain data types only
    except _Refused as exc:
        raise ConfigError(f"{path}: refused{_where(exc.mark)}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{_where(mark)}: {_cut(problem)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: refused: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a pipeline file must be a mapping of keys (detectors:, localizers:, ...)")
    return data


def _read_text(path: Path) -> str:
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path}: cannot read pipeline file (not a regular file)")
        with open(path, "rb") as stream:
            raw = stream.read(MAX_PIPELINE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read pipeline file ({exc.strerror or exc})") from exc
    if len(raw) > MAX_PIPELINE_BYTES:
        raise ConfigError(
            f"{path}: refused: larger than {MAX_PIPELINE_BYTES // 1024} KiB (pipeline files are a few hundred bytes)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _cut(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
