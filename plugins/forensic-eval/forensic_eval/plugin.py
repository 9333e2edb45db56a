"""Registration module of forensic-eval (entry point ``forensic.plugins: eval``).

Imports only the core, pydantic and click: the readers live in :mod:`forensic_eval.readers`, named by import
string and loaded only when a dataset is used; the ``eval`` command imports the harness inside its body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl

if TYPE_CHECKING:
    import click

Frames = Field(
    None,
    ge=1,
    le=1000,
    description="frames sampled evenly per video; None keeps the pipeline's video.frames (forensic eval sets the "
    "pipeline's video.frames to this value)",
)


class ManifestSettings(ComponentSettings):
    """A CSV manifest."""

    path: str = Field(description="CSV file with columns path,label and optionally mask,video,method,split")
    frames: int | None = Frames


class FolderSettings(ComponentSettings):
    """A folder with real/ and fake/ (and optional masks/)."""

    root: str = Field(description="folder holding real/ and fake/ (and optionally masks/ mirroring fake/)")
    frames: int | None = Frames


class FfppSettings(ComponentSettings):
    """FaceForensics++."""

    root: str = Field(description="FaceForensics++ root (holding original_sequences/ and manipulated_sequences/)")
    compression: Literal["raw", "c23", "c40"] = Field("c23", description="compression level folder to read")
    methods: list[str] | None = Field(
        None, description="manipulation methods to include (Deepfakes, Face2Face, ...); None: every one present"
    )
    split: Literal["train", "val", "test", "all"] = Field(
        "test", description="official split (from <root>/splits/<split>.json); all: every video"
    )
    frames: int | None = Frames


class CelebDfSettings(ComponentSettings):
    """Celeb-DF v2."""

    root: str = Field(description="Celeb-DF root (holding Celeb-real/, YouTube-real/, Celeb-synthesis/)")
    split: Literal["train", "test", "all"] = Field(
        "test", description="test: the videos of List_of_testing_videos.txt; train: all others; all: both"
    )
    frames: int | None = Frames


class DfdcSettings(ComponentSettings):
    """DFDC / DFDC-preview."""

    root: str = Field(description="folder holding the dfdc_train_part_N/ folders (or DFDC-preview's dataset.json)")
    parts: list[str] | None = Field(None, description="part folders to read; None: every folder with metadata.json")
    split: str = Field("all", description="keep entries whose metadata split/set equals this; all: every entry")
    missing: Literal["error", "skip"] = Field(
        "error", description="what to do with a video listed in the metadata but absent on disk"
    )
    frames: int | None = Frames


class PseudoSettings(ComponentSettings):
    """Self-blended pseudo-fakes."""

    root: str = Field(description="folder of real face images")
    seed: int = Field(0, ge=0, description="seed of the generator (with the image and copy index)")
    per_image: int = Field(1, ge=1, le=100, description="pseudo-fakes made from each real image")
    include_reals: bool = Field(True, description="also yield the real images themselves (label real)")
    cache: str | None = Field(
        None, description="folder the generated images and masks are written to; None: a folder in the temp dir"
    )


@hookimpl
def forensic_register_datasets() -> Sequence[ComponentSpec]:
    """The first-party dataset readers."""
    base = "forensic_eval.readers"
    return [
        ComponentSpec(
            "manifest", "CSV of path,label[,mask,video,method,split]", ManifestSettings, f"{base}.manifest:build"
        ),
        ComponentSpec("folder", "real/ and fake/ folders with optional masks/", FolderSettings, f"{base}.folder:build"),
        ComponentSpec(
            "ffpp", "FaceForensics++ (official splits, every method, keyed by path)", FfppSettings, f"{base}.ffpp:build"
        ),
        ComponentSpec("celebdf", "Celeb-DF v2 (test list flag 1 = real)", CelebDfSettings, f"{base}.celebdf:build"),
        ComponentSpec("dfdc", "DFDC parts / preview with metadata.json labels", DfdcSettings, f"{base}.dfdc:build"),
        ComponentSpec(
            "pseudo",
            "self-blended pseudo-fakes generated from real face images",
            PseudoSettings,
            f"{base}.pseudo:build",
            requires="numpy, pillow, opencv",
        ),
    ]


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    from forensic_eval.command import eval_command

    cli.add_command(eval_command)
