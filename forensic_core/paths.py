"""Settings that name files: resolved against the pipeline file that names them, not the current folder.

A pipeline file is a document that travels: ``weights: models/kfd.safetensors`` written next to the pipeline
must mean the file next to the pipeline, whether ``forensic run`` starts in the pipeline's folder, in the
repository root or in a job runner's scratch folder. Plugins type such settings with one of two annotated
types, and the host resolves them while it validates the pipeline (it passes the pipeline file's folder in
pydantic's validation context):

* :data:`PathSetting`: the value is always a path. A relative value becomes ``<pipeline folder>/<value>``.
* :data:`PathOrNameSetting`: the value is a path *or a name* (a model tag, a hub id such as
  ``HuggingFaceTB/SmolLM2-135M-Instruct``). A relative value is taken as a path, and resolved, only when it
  starts with ``./`` or ``../``, or when ``<pipeline folder>/<value>`` exists; anything else stays a name.

Both leave alone absolute paths, values with a scheme (``hf-hub:org/name``, ``https://...``) and everything when
there is no pipeline file (the built-in default pipeline, a mapping built in code): then relative paths keep
their meaning relative to the current folder. ``~`` is expanded. ``local-dir:PATH`` keeps its prefix and has its
path resolved. Resolved values are absolute, so the validated pipeline document that a remote worker rebuilds
from names the same files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

__all__ = ["BASE_DIR_KEY", "PathOrNameSetting", "PathSetting", "resolve_setting_path"]

BASE_DIR_KEY = "forensic_base_dir"
"""The key under which the host passes the pipeline file's folder in pydantic's validation context."""

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-_]+:")
_PATH_PREFIXES = ("local-dir:",)


def resolve_setting_path(value: Any, base_dir: str | Path | None, *, names_allowed: bool = False) -> Any:
    """The value a file-naming setting gets when its pipeline file lies in ``base_dir`` (see the module doc)."""
    if not isinstance(value, str | Path):
        return value
    text = str(value)
    for prefix in _PATH_PREFIXES:
        if text.startswith(prefix):
            inner = resolve_setting_path(text[len(prefix) :], base_dir, names_allowed=False)
            return prefix + str(inner)
    if _SCHEME.match(text) and not re.match(r"^[A-Za-z]:[\\/]", text):
        return value
    expanded = os.path.expanduser(text) if text.startswith("~") else text
    path = Path(expanded)
    if path.is_absolute() or base_dir is None:
        return type(value)(expanded) if isinstance(value, Path) else expanded
    candidate = Path(base_dir) / path
    if names_allowed and not (text.startswith(("./", "../", ".\\", "..\\")) or candidate.exists()):
        return value
    resolved = os.path.normpath(candidate)
    return Path(resolved) if isinstance(value, Path) else resolved


def _base_dir(info: ValidationInfo) -> Any:
    context = info.context
    return context.get(BASE_DIR_KEY) if isinstance(context, dict) else None


def _resolve_path(value: Any, info: ValidationInfo) -> Any:
    return resolve_setting_path(value, _base_dir(info))


def _resolve_path_or_name(value: Any, info: ValidationInfo) -> Any:
    return resolve_setting_path(value, _base_dir(info), names_allowed=True)


def _fspath(value: Any) -> Any:
    """``pathlib.Path`` values given in code are accepted as their text."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


PathSetting = Annotated[str, BeforeValidator(_fspath), AfterValidator(_resolve_path)]
"""A setting that names a file or folder; relative values are relative to the pipeline file."""

PathOrNameSetting = Annotated[str, BeforeValidator(_fspath), AfterValidator(_resolve_path_or_name)]
"""A setting that names a file or folder, or a model by name; see the module doc for when it is a path."""
