"""From what the user named (files, folders) to an ordered list of input references with stable ids.

The plan is listed completely before anything is analysed: that is cheap (one ``stat`` per file), gives the
progress bar its total, and lets ``--resume`` subtract what the journal already holds.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from forensic_core.engine.base import InputRef
from forensic_core.media import InputProblem, iter_input_paths


@dataclass(frozen=True)
class PlannedProblem:
    """An input that cannot be analysed at all (missing, not a regular file): recorded as an error result."""

    id: str
    source: str
    reason: str


def input_id(relpath: str, size: int, mtime_ns: int) -> str:
    """Stable id of an input: relative path, size and modification time (what ``--resume`` matches)."""
    digest = hashlib.sha256(f"{relpath}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


def problem_id(source: str) -> str:
    return "x" + hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:23]


def plan_inputs(
    inputs: Iterable[str | Path | InputRef],
    *,
    exclude: Iterable[Path] = (),
    extra_suffixes: Iterable[str] = (),
) -> list[InputRef | PlannedProblem]:
    """List every input, in order, once: folders walked (sorted), ``exclude`` folders (the run's own output)
    skipped, a file named twice analysed once, and distinct files that would share an id disambiguated."""
    excluded = [_resolved(Path(p)) for p in exclude]
    suffixes = tuple(extra_suffixes)
    seen_paths: set[str] = set()
    seen_ids: dict[str, str] = {}
    planned: list[InputRef | PlannedProblem] = []
    for item in _listed(inputs, excluded, suffixes):
        if isinstance(item, InputRef):
            if item.path in seen_paths:
                continue
            seen_paths.add(item.path)
            if item.id in seen_ids:
                item = InputRef(**{**item.as_dict(), "id": _next_free(item.id, seen_ids)})
            seen_ids[item.id] = item.path
        elif item.id in seen_ids:
            continue
        else:
            seen_ids[item.id] = item.source
        planned.append(item)
    return planned


def _next_free(base: str, used: dict[str, str]) -> str:
    counter = 2
    while f"{base}-{counter}" in used:
        counter += 1
    return f"{base}-{counter}"


def _listed(
    inputs: Iterable[str | Path | InputRef], excluded: list[Path], suffixes: tuple[str, ...]
) -> Iterator[InputRef | PlannedProblem]:
    for given in inputs:
        if isinstance(given, InputRef):
            yield given
            continue
        root = Path(given)
        is_folder = root.is_dir()
        for found in _walk(root, excluded, suffixes):
            if isinstance(found, InputProblem):
                yield PlannedProblem(problem_id(found.source), found.source, found.reason)
                continue
            if _inside(_resolved(found), excluded):
                continue
            relpath = found.relative_to(root).as_posix() if is_folder else found.name
            yield _reference(found, relpath)


def _walk(root: Path, excluded: list[Path], suffixes: tuple[str, ...]) -> Iterator[Path | InputProblem]:
    yield from iter_input_paths([root], exclude=excluded, extra_suffixes=suffixes)


def _reference(path: Path, relpath: str) -> InputRef | PlannedProblem:
    source = str(path)
    try:
        info = path.stat()
    except OSError as exc:
        return PlannedProblem(problem_id(source), source, f"cannot read: {exc.strerror or exc}")
    if not stat_module.S_ISREG(info.st_mode):
        return PlannedProblem(problem_id(source), source, "not a regular file; refused without opening it")
    return InputRef(
        id=input_id(relpath, info.st_size, info.st_mtime_ns),
        source=source,
        path=os.fspath(_resolved(path)),
        relpath=relpath,
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
    )


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)
