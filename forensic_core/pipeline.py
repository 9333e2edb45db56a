"""The validated pipeline: the types the host hands to engines, workers and plugins.

A leaf module (it imports only the component types and pydantic), so that hook signatures, engines and plugins can
use :class:`Pipeline` without importing the registry or the YAML loader (:mod:`forensic_core.config` builds it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from forensic_core.components import ComponentSettings, RegisteredComponent


class VideoSettings(BaseModel):
    """How videos are sampled and how frame scores become a video score."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    frames: int = Field(8, ge=1, le=1000, description="frames sampled evenly over each video")
    aggregate: Literal["mean", "max", "median"] = Field(
        "mean", description="how a detector's frame scores combine into the video score"
    )


class InputSettings(BaseModel):
    """Limits on inputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_pixels: int = Field(
        100_000_000, ge=1, description="refuse images with more pixels than this (decompression-bomb guard)"
    )


@dataclass(frozen=True)
class ComponentEntry:
    """One component of a validated pipeline: what it is, who provides it, and its validated settings."""

    role: str
    component: RegisteredComponent
    settings: ComponentSettings
    scope: str
    detector: str | None = None
    questions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def label(self) -> str:
        """How results of this entry are keyed in reports (its registered name)."""
        return self.component.name

    def resolved(self) -> dict[str, Any]:
        """This entry as JSON data (part of :meth:`Pipeline.resolved`)."""
        return {
            "role": self.role,
            "component": self.component.qualified_name,
            "version": self.component.version,
            "settings": self.settings.model_dump(mode="json"),
            "scope": self.scope,
            "detector": self.detector,
            "questions": list(self.questions),
        }


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline, ready to be built.

    ``engine`` is how it runs (None: the local engine), not what it computes, so it is neither among
    :meth:`entries` nor in :meth:`digest`. ``document`` is the validated mapping it was built from, which a
    worker in another process turns back into the same pipeline with ``load_pipeline(document, registry)``.
    """

    detectors: tuple[ComponentEntry, ...] = ()
    localizers: tuple[ComponentEntry, ...] = ()
    explainers: tuple[ComponentEntry, ...] = ()
    faces: ComponentEntry | None = None
    dialog: ComponentEntry | None = None
    video: VideoSettings = field(default_factory=VideoSettings)
    inputs: InputSettings = field(default_factory=InputSettings)
    requires: tuple[str, ...] = ()
    source: str = "<pipeline>"
    engine: ComponentEntry | None = None
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    def entries(self) -> list[ComponentEntry]:
        singles = [entry for entry in (self.faces, self.dialog) if entry is not None]
        return [*singles, *self.detectors, *self.localizers, *self.explainers]

    def resolved(self) -> dict[str, Any]:
        """What decides the results, as JSON data: every entry's plugin, version, settings and scope, and the
        video and input settings. The engine and the file the pipeline came from are not part of it: the same
        analysis run locally or on a cluster, from a copy of the file, gives the same results."""
        return {
            "entries": [entry.resolved() for entry in self.entries()],
            "video": self.video.model_dump(mode="json"),
            "inputs": self.inputs.model_dump(mode="json"),
        }

    def digest(self) -> str:
        """sha256 of :meth:`resolved` (canonical JSON): a journal written by another pipeline is refused."""
        canonical = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
