"""Declarative pipelines: YAML in, a validated :class:`Pipeline` out.

The pydantic model of a pipeline file is *composed from the registry*: for every role (detectors, localizers, ...)
a discriminated union on ``name`` whose variants are the installed components, each with its ``settings`` typed by
that plugin's own Settings model. This gives errors with a YAML path (``detectors[0].kfd.settings.threshold: ...``),
did-you-mean hints, and a JSON Schema of every installed plugin (``forensic schema``). Config values are only ever
names of registered components, never import paths, and YAML is loaded with ``safe_load``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from forensic_core.components import ComponentKind, RegisteredComponent
from forensic_core.errors import ConfigError, ForensicError, RequirementError
from forensic_core.pipeline import ComponentEntry, InputSettings, Pipeline, VideoSettings
from forensic_core.registry import Registry

__all__ = ["ComponentEntry", "InputSettings", "Pipeline", "VideoSettings", "load_pipeline", "pipeline_model"]

ROLES: Mapping[str, ComponentKind] = {
    "faces": ComponentKind.FACE_DETECTOR,
    "detectors": ComponentKind.DETECTOR,
    "localizers": ComponentKind.LOCALIZER,
    "explainers": ComponentKind.EXPLAINER,
    "dialog": ComponentKind.DIALOG,
    "engine": ComponentKind.ENGINE,
}
LIST_ROLES = ("detectors", "localizers", "explainers")
SINGULAR_ALIASES = {
    "detector": "detectors",
    "localizer": "localizers",
    "explainer": "explainers",
    "face_detector": "faces",
}
DEFAULT_QUESTIONS = ("Is this image a deepfake?", "Where is the manipulation?", "How sure are you?")
_SENTINEL_TAG = "\x00none"


def _entry_model(role: str, component: RegisteredComponent, tags: list[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "name": (Literal[tuple(tags)], Field(description=component.spec.summary)),
        "settings": (
            component.spec.settings,
            Field(default_factory=component.spec.settings, description="settings of this component"),
        ),
    }
    if role != "engine":
        fields["scope"] = (
            Literal["image", "faces"] | None,
            Field(None, description=f"'image' or 'faces' (default for this component: {component.spec.scope})"),
        )
    if role == "explainers":
        fields["detector"] = (
            str | None,
            Field(None, description="name of the pipeline detector whose decision to explain (default: the first)"),
        )
    if role == "dialog":
        fields["questions"] = (
            list[str],
            Field(list(DEFAULT_QUESTIONS), description="questions asked about each input; answers go in the report"),
        )
    model_name = f"{role}_{component.plugin}_{component.name}".replace("-", "_").replace(":", "_")
    return create_model(model_name, __config__=ConfigDict(extra="forbid", frozen=True), **fields)


class _NoComponent(BaseModel):
    name: Literal[_SENTINEL_TAG]  # type: ignore[valid-type]


def _name_to_entry(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


def _role_type(registry: Registry, role: str, kind: ComponentKind) -> Any:
    counts: dict[str, int] = {}
    for component in registry.components(kind):
        counts[component.name] = counts.get(component.name, 0) + 1
    variants = []
    for component in registry.components(kind):
        tags = [component.qualified_name]
        if counts[component.name] == 1:
            tags.insert(0, component.name)
        variants.append(_entry_model(role, component, tags))
    union: Any = Union[tuple([*variants, _NoComponent])]  # noqa: UP007 - a runtime-built union needs Union[]
    names = sorted(set(registry.names(kind))) or [_SENTINEL_TAG]
    input_type: Any = Union[Literal[tuple(names)], union]  # noqa: UP007
    return Annotated[
        union, Field(discriminator="name"), BeforeValidator(_name_to_entry, json_schema_input_type=input_type)
    ]


def pipeline_model(registry: Registry) -> type[BaseModel]:
    """The pydantic model of pipeline files for the installed plugins (also the source of ``forensic schema``)."""
    fields: dict[str, Any] = {
        "requires": (
            list[str],
            Field(default_factory=list, description="plugin requirements, e.g. 'forensic-kfd>=0.1'"),
        ),
        "video": (VideoSettings, Field(default_factory=VideoSettings, description="video sampling")),
        "inputs": (InputSettings, Field(default_factory=InputSettings, description="input limits")),
    }
    for role, kind in ROLES.items():
        entry = _role_type(registry, role, kind)
        if role in LIST_ROLES:
            entries: Any = list[entry]  # type: ignore[valid-type]  # a type composed at run time
            fields[role] = (entries, Field(default_factory=list, description=f"{kind.plural} to run"))
        else:
            fields[role] = (entry | None, Field(None, description=f"optional {kind.value.replace('_', ' ')}"))
    return create_model(
        "PipelineFile",
        __config__=ConfigDict(
            extra="forbid", title="forensic pipeline", json_schema_extra={"$id": "forensic-pipeline"}
        ),
        **fields,
    )


def pipeline_schema(registry: Registry) -> dict[str, Any]:
    """JSON Schema of pipeline files covering every installed plugin."""
    return pipeline_model(registry).model_json_schema()


def read_pipeline_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML pipeline file safely into a mapping (one-line errors for missing/invalid files)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read pipeline file ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a pipeline file must be a mapping of keys (detectors:, localizers:, ...)")
    return data


def load_pipeline(source: str | Path | Mapping[str, Any], registry: Registry) -> Pipeline:
    """Validate a pipeline (a YAML path or an already-parsed mapping) against the installed plugins.

    Raises :class:`ConfigError` whose ``problems`` are ``path: message`` lines.
    """
    if isinstance(source, Mapping):
        data, label = dict(source), "<pipeline>"
    else:
        data, label = read_pipeline_file(source), str(source)
    data, singular = _normalise_aliases(data, label)
    check_requirements(data.get("requires") or [], registry, label)
    model = pipeline_model(registry)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, registry, model, singular) for error in exc.errors()]
        raise ConfigError(
            f"{label}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""), problems
        ) from None
    return _to_pipeline(parsed, registry, label)


def _normalise_aliases(data: dict[str, Any], label: str) -> tuple[dict[str, Any], set[str]]:
    singular: set[str] = set()
    for alias, role in SINGULAR_ALIASES.items():
        if alias in data:
            if role in data:
                raise ConfigError(
                    f"{label}: use either '{alias}' or '{role}', not both", [f"{alias}: duplicate of {role}"]
                )
            value = data.pop(alias)
            if role == "faces":
                data[role] = value
                singular.add("face_detector")
            elif isinstance(value, list):
                data[role] = value
            else:
                data[role] = [value]
                singular.add(role)
    return data, singular


def check_requirements(requires: Any, registry: Registry, label: str = "<pipeline>") -> None:
    """Check ``requires:`` specifiers against the loaded plugins before anything is built."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(requires, list):
        raise RequirementError(f"{label}: requires must be a list of requirement strings", ["requires: not a list"])
    problems: list[str] = []
    for index, text in enumerate(requires):
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement as exc:
            problems.append(f"requires[{index}]: invalid requirement {text!r}: {exc}")
            continue
        infos = registry.distribution(requirement.name)
        broken = next((info for info in infos if info.status != "loaded"), None)
        info = infos[0] if infos else None
        if info is None:
            problems.append(f"requires[{index}]: plugin {requirement.name!r} is not installed; pip install '{text}'")
        elif broken is not None:
            where = f" (entry point {broken.entry_point.split(' = ')[0]})" if len(infos) > 1 else ""
            problems.append(
                f"requires[{index}]: plugin {broken.name!r} is installed but {broken.status}: {broken.error}{where}"
            )
        elif requirement.specifier and not requirement.specifier.contains(info.version, prereleases=True):
            problems.append(
                f"requires[{index}]: {info.name} {info.version} is installed but {text!r} is required; "
                f"pip install '{text}'"
            )
    if problems:
        raise RequirementError(f"{label}: {problems[0]}", problems)


def _format_loc(loc: tuple[Any, ...], singular: set[str]) -> str:
    parts: list[str] = []
    for index, item in enumerate(loc):
        if isinstance(item, int):
            if index == 1 and loc[0] in singular:
                continue
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            text = str(item)
            if index == 0 and (text in singular or (text == "faces" and "face_detector" in singular)):
                text = {v: k for k, v in SINGULAR_ALIASES.items()}[text]
            parts.append(text)
    return ".".join(parts) or "(top level)"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (for did-you-mean on unknown keys)."""
    current: Any = model
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field_info = current.model_fields.get(item)
            if field_info is not None:
                current = _unwrap(field_info.annotation, None)
                continue
        current = _unwrap(current, item)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, tag: Any) -> Any:
    import typing

    args = typing.get_args(annotation)
    if not args:
        return annotation
    if tag is not None:
        for arg in args:
            found = _unwrap(arg, tag)
            if isinstance(found, type) and issubclass(found, BaseModel) and "name" in found.model_fields:
                literal_values = typing.get_args(found.model_fields["name"].annotation)
                if tag in literal_values:
                    return found
        return None
    for arg in args:
        inner = _unwrap(arg, None)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return args[0]


def _describe(error: Mapping[str, Any], registry: Registry, model: type[BaseModel], singular: set[str]) -> str:
    loc = tuple(error.get("loc", ()))
    path = _format_loc(loc, singular)
    kind = error.get("type")
    if kind == "union_tag_invalid":
        role = next((item for item in loc if isinstance(item, str) and item in ROLES), None)
        tag = str(error.get("ctx", {}).get("tag", ""))
        if role is not None:
            try:
                registry.resolve(ROLES[role], tag)
            except ForensicError as exc:
                return f"{path}: {exc}"
    if kind == "union_tag_not_found":
        return f"{path}: each entry needs a 'name' (a registered component name)"
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        key = str(loc[-1])
        message = f"{path}: unknown key {key!r}"
        if owner is not None:
            close = difflib.get_close_matches(key, list(owner.model_fields), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
            else:
                message += f"; allowed: {', '.join(owner.model_fields) or '(none)'}"
        return message
    return f"{path}: {error.get('msg', 'invalid value')}"


def _to_pipeline(parsed: Any, registry: Registry, label: str) -> Pipeline:
    def entry(role: str, value: Any) -> ComponentEntry:
        component = registry.resolve(ROLES[role], value.name)
        return ComponentEntry(
            role=role,
            component=component,
            settings=value.settings,
            scope=getattr(value, "scope", None) or component.spec.scope,
            detector=getattr(value, "detector", None),
            questions=tuple(getattr(value, "questions", ()) or ()),
        )

    lists = {role: tuple(entry(role, value) for value in getattr(parsed, role)) for role in LIST_ROLES}
    pipeline = Pipeline(
        **lists,
        faces=entry("faces", parsed.faces) if parsed.faces else None,
        dialog=entry("dialog", parsed.dialog) if parsed.dialog else None,
        engine=entry("engine", parsed.engine) if parsed.engine else None,
        document=parsed.model_dump(mode="json"),
        video=parsed.video,
        inputs=parsed.inputs,
        requires=tuple(parsed.requires),
        source=label,
    )
    _check_cross_references(pipeline, label)
    return pipeline


def _check_cross_references(pipeline: Pipeline, label: str) -> None:
    problems: list[str] = []
    labels = [entry.label for entry in pipeline.detectors]
    for role in LIST_ROLES:
        seen: set[str] = set()
        for index, entry in enumerate(getattr(pipeline, role)):
            if entry.label in seen:
                problems.append(f"{role}[{index}]: {entry.label!r} is listed twice")
            seen.add(entry.label)
    for index, entry in enumerate(pipeline.explainers):
        if (
            entry.detector is not None
            and entry.detector not in labels
            and entry.detector not in {e.component.qualified_name for e in pipeline.detectors}
        ):
            hint = difflib.get_close_matches(entry.detector, labels, n=1)
            problems.append(
                f"explainers[{index}].detector: {entry.detector!r} is not a detector of this pipeline"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; detectors: {', '.join(labels) or 'none'}")
            )
    if problems:
        raise ConfigError(f"{label}: {problems[0]}", problems)
