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
from forensic_core.paths import BASE_DIR_KEY
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
