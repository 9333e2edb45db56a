"""The dataset contract: labelled samples for evaluation and training.

A dataset reader is a component (kind ``dataset``, hook ``forensic_register_datasets``) whose factory is called
as ``factory(settings, context)`` and returns an object with a ``samples()`` method. This module is a light leaf
(standard library only) so that readers, the evaluation harness and training code share one type without
importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Label = Literal["real", "fake"]


@dataclass(frozen=True)
class Sample:
    """One labelled image or video.

    Attributes:
        path: absolute path of an image or a video file.
        label: ``"real"`` or ``"fake"``.
        mask: absolute path of a binary mask image (white = manipulated), if the dataset has one.
        video: video key, the path of the video relative to the dataset root (never a bare file name, so the
            same file name under two manipulation methods stays two videos).
        method: manipulation method (FF++ method, pseudo-fake recipe type); None for reals.
        split: ``train``, ``val`` or ``test``, where the dataset defines one.
        meta: JSON data, e.g. the pseudo-fake recipe.
    """

    path: str
    label: Label
    mask: str | None = None
    video: str | None = None
    method: str | None = None
    split: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Dataset(Protocol):
    """What a dataset reader's factory returns."""

    def samples(self) -> Iterator[Sample]:
        """The samples in a deterministic order (the same settings give the same sequence)."""
        ...
