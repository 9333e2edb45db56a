"""Checks and wording for a parsed pipeline (one job: what is wrong with it, said in one line per problem).

Singular aliases, ``requires:`` specifiers, validation errors described with YAML paths and did-you-mean hints,
and the cross-references between roles (an explainer's ``detector``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from forensic_core.errors import ConfigError, ForensicError, RequirementError
from forensic_core.pipeline import ComponentEntry, Pipeline
from forensic_core.pipeline_schema import LIST_ROLES, ROLES, SINGULAR_ALIASES
from forensic_core.pipeline_yaml import _ECHO_MAX, _cut, clip
from forensic_core.registry import Registry


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
        if not isinstance(text, str):
            problems.append(
                f"requires[{index}]: must be a requirement string like 'forensic-kfd>=0.1', not {type(text).__name__}"
            )
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"requires[{index}]: invalid requirement {clip(text)}: {_cut(str(exc))}")
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
            text = str(item) if len(str(item)) <= _ECHO_MAX else clip(str(item))
            if index == 0 and (text in singular or (text == "faces" and "face_detector" in singular)):
                text = {v: k for k, v in SINGULAR_ALIASES.items()}[text]
            parts.append(text)
    return ".".join(parts) or "(top level)"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (for did-you-mean on unknown keys).

    A role's entries are a union of one model per component; the tag in ``loc`` (the component name pydantic
    puts after the index) selects the variant, so the hint lists the keys of the component the entry names.
    """
    import typing

    current: Any = model
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        candidates = _models_in(current)
        tagged = [
            m
            for m in candidates
            if "name" in m.model_fields and item in typing.get_args(m.model_fields["name"].annotation)
        ]
        if tagged:
            current = tagged[0]
            continue
        owner = next((m for m in candidates if item in m.model_fields), None)
        if owner is None:
            return None
        current = owner.model_fields[item].annotation
    models = _models_in(current)
    return models[0] if len(models) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold: itself, or the members of its unions, lists, Annotated."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        for inner in _models_in(arg):
            if inner not in found:
                found.append(inner)
    return found


def _describe(error: Mapping[str, Any], registry: Registry, model: type[BaseModel], singular: set[str]) -> str:
    loc = tuple(error.get("loc", ()))
    path = _format_loc(loc, singular)
    kind = error.get("type")
    if kind == "union_tag_invalid":
        role = next((item for item in loc if isinstance(item, str) and item in ROLES), None)
        tag = str(error.get("ctx", {}).get("tag", ""))
        if role is not None and len(tag) > _ECHO_MAX:
            return f"{path}: unknown {ROLES[role].value} {clip(tag)}"
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
        message = f"{path}: unknown key {clip(key)}"
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
        # exclude_unset: a worker rebuilding from the document sees the same settings as explicitly set (a plugin
        # may take what was left out from a model file, e.g. the kfd backbone from its weights' sidecar)
        document=parsed.model_dump(mode="json", exclude_unset=True),
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
