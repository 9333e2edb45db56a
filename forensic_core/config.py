"""Declarative pipelines: YAML in, a validated :class:`Pipeline` out.

The pydantic model of a pipeline file is *composed from the registry*: for every role (detectors, localizers, ...)
a discriminated union on ``name`` whose variants are the installed components, each with its ``settings`` typed by
that plugin's own Settings model. This gives errors with a YAML path (``detectors[0].kfd.settings.threshold: ...``),
did-you-mean hints, and a JSON Schema of every installed plugin (``forensic schema``). Config values are only ever
names of registered components, never import paths, and YAML is loaded with ``safe_load``.

The work is split by job: :mod:`forensic_core.pipeline_yaml` (reading a file safely),
:mod:`forensic_core.pipeline_schema` (the model composed from the registry) and :mod:`forensic_core.pipeline_checks`
(requirements, error wording, cross-references). This module joins them and keeps every name it always exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from forensic_core.errors import ConfigError
from forensic_core.paths import BASE_DIR_KEY
from forensic_core.pipeline import ComponentEntry, InputSettings, Pipeline, VideoSettings
from forensic_core.pipeline_checks import (
    _check_cross_references,
    _describe,
    _format_loc,
    _model_at,
    _models_in,
    _normalise_aliases,
    _to_pipeline,
    check_requirements,
)
from forensic_core.pipeline_schema import (
    _SENTINEL_TAG,
    DEFAULT_QUESTIONS,
    LIST_ROLES,
    ROLES,
    SINGULAR_ALIASES,
    _entry_model,
    _name_to_entry,
    _NoComponent,
    _role_type,
    pipeline_model,
    pipeline_schema,
)
from forensic_core.pipeline_yaml import (
    _ECHO_MAX,
    MAX_PIPELINE_BYTES,
    MAX_PROBLEMS,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    _BoundedLoader,
    _cut,
    _read_text,
    _Refused,
    _where,
    clip,
    read_pipeline_file,
)
from forensic_core.registry import Registry

__all__ = [
    "DEFAULT_QUESTIONS",
    "LIST_ROLES",
    "MAX_PIPELINE_BYTES",
    "MAX_PROBLEMS",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "ROLES",
    "SINGULAR_ALIASES",
    "ComponentEntry",
    "InputSettings",
    "Pipeline",
    "VideoSettings",
    "check_requirements",
    "clip",
    "load_pipeline",
    "pipeline_model",
    "pipeline_schema",
    "read_pipeline_file",
]
# Private helpers that code written against the single config module imported from here: kept importable.
_INTERNAL = (
    _ECHO_MAX,
    _SENTINEL_TAG,
    _BoundedLoader,
    _Refused,
    _check_cross_references,
    _cut,
    _entry_model,
    _format_loc,
    _model_at,
    _models_in,
    _name_to_entry,
    _NoComponent,
    _read_text,
    _role_type,
    _where,
)


def load_pipeline(
    source: str | Path | Mapping[str, Any], registry: Registry, *, base_dir: str | Path | None = None
) -> Pipeline:
    """Validate a pipeline (a YAML path or an already-parsed mapping) against the installed plugins.

    Settings that name files (:mod:`forensic_core.paths`) resolve against ``base_dir``: by default the folder of
    the pipeline file, or nothing for a mapping (relative paths then keep meaning the current folder); a caller
    that read a file and changed its mapping passes the file's folder. Raises :class:`ConfigError` whose
    ``problems`` are ``path: message`` lines.
    """
    if isinstance(source, Mapping):
        data, label = dict(source), "<pipeline>"
    else:
        data, label = read_pipeline_file(source), str(source)
        base_dir = Path(source).resolve().parent if base_dir is None else base_dir
    data, singular = _normalise_aliases(data, label)
    check_requirements(data.get("requires") or [], registry, label)
    model = pipeline_model(registry)
    context = {BASE_DIR_KEY: str(Path(base_dir).resolve())} if base_dir is not None else None
    try:
        parsed = model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_describe(error, registry, model, singular) for error in errors[:MAX_PROBLEMS]]
        if len(errors) > MAX_PROBLEMS:
            problems.append(f"... and {len(errors) - MAX_PROBLEMS} more problems")
        raise ConfigError(
            f"{label}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""), problems
        ) from None
    return _to_pipeline(parsed, registry, label)
