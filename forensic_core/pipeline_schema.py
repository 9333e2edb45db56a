"""The pydantic model of pipeline files, composed from the registry (one job: what a pipeline may say).

For every role (detectors, localizers, ...) a discriminated union on ``name`` whose variants are the installed
components, each with its ``settings`` typed by that plugin's own Settings model: errors get a YAML path and
did-you-mean hints, and ``forensic schema`` gets a JSON Schema of every installed plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from forensic_core.components import ComponentKind, RegisteredComponent
from forensic_core.pipeline import InputSettings, VideoSettings
from forensic_core.registry import Registry

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
