"""Component specs: what a plugin's registration hook returns.

A spec is a promise, not an instance: it names the component, documents its settings with a pydantic model,
and carries a *lazy* factory. The factory is an import string (``"pkg.module:attr"``) or a callable, and it is
resolved only when a pipeline actually uses the component, so that discovering plugins never imports torch.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class ComponentKind(str, enum.Enum):
    """The kinds of component a pipeline composes.

    The four analysis kinds of the product plus ``face_detector``, the optional preprocessing step that lets
    face-based detectors run on crops and lets explanations name facial regions. Two more kinds are not pipeline
    roles but are registered, listed and configured the same way: ``engine`` (how a run is executed: locally, on
    a cluster) and ``dataset`` (labelled samples for evaluation and training).
    """

    DETECTOR = "detector"
    LOCALIZER = "localizer"
    EXPLAINER = "explainer"
    DIALOG = "dialog"
    FACE_DETECTOR = "face_detector"
    ENGINE = "engine"
    DATASET = "dataset"

    @property
    def plural(self) -> str:
        return {"dialog": "dialog backends", "face_detector": "face detectors"}.get(self.value, self.value + "s")


class ComponentSettings(BaseModel):
    """Base class for every component's settings.

    ``extra="forbid"`` turns a typo in a YAML file into an error with a path instead of a silently ignored key;
    ``frozen`` lets settings be hashed and shared (e.g. one model for a detector and a localizer).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSettings(ComponentSettings):
    """Settings model for components that take none."""


Factory = Callable[..., Any]


@dataclass(frozen=True)
class ComponentSpec:
    """One component as registered by a plugin.

    Attributes:
        name: registered name used in pipeline files (lowercase, ``[a-z0-9_-]``).
        summary: one line shown by ``forensic components``.
        settings: pydantic model validating the component's ``settings:`` mapping.
        factory: ``"module:attr"`` import string or callable; called as ``factory(settings, context)`` where
            ``context`` is a :class:`forensic_core.context.BuildContext`. Resolved lazily.
        scope: ``"image"`` to run on whole frames, ``"faces"`` to run on face crops when the pipeline has a
            face detector (falling back to the whole frame when no face is found).
        requires: free-text note of heavy dependencies (e.g. ``"torch, open_clip"``) for ``forensic components``.
        thread_safe: whether one instance may be called from several threads at once. The component pool
            serialises calls to components that are not (the default), so a plugin that keeps hooks or caches
            on its model needs no locking of its own for calls through the host.
    """

    name: str
    summary: str
    settings: type[ComponentSettings] = NoSettings
    factory: str | Factory = ""
    scope: str = "image"
    requires: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    thread_safe: bool = False

    def __post_init__(self) -> None:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", self.name):
            raise ValueError(f"component name {self.name!r} must match [a-z0-9][a-z0-9_-]*")
        if self.scope not in ("image", "faces"):
            raise ValueError(f"component {self.name!r}: scope must be 'image' or 'faces', not {self.scope!r}")
        if not (callable(self.factory) or (isinstance(self.factory, str) and ":" in self.factory)):
            raise ValueError(f"component {self.name!r}: factory must be a callable or 'module:attribute'")

    def resolve_factory(self) -> Factory:
        """Import the factory (first use only); this is where heavy imports happen."""
        if callable(self.factory):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


@dataclass(frozen=True)
class RegisteredComponent:
    """A component spec together with the plugin that registered it."""

    kind: ComponentKind
    spec: ComponentSpec
    plugin: str
    version: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.spec.name}"
