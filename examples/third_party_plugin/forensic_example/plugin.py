"""Registration module named by the entry point: light, imports only the core and pydantic."""

from __future__ import annotations

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl

# The plugin API this plugin is written for: a host outside the range refuses it with one line (see the README).
forensic_api = ">=1.2,<2"


class ExifSettings(ComponentSettings):
    """Settings of the ``exif`` detector."""

    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the label is 'fake'")
    editors: tuple[str, ...] = Field(
        ("photoshop", "gimp", "affinity", "pixelmator", "lightroom", "snapseed", "facetune", "faceapp"),
        description="case-insensitive substrings of the EXIF Software tag that mark an edited image",
    )


class OcclusionSettings(ComponentSettings):
    """Settings of the ``occlusion`` explainer."""

    grid: int = Field(6, ge=2, le=32, description="the image is hidden cell by cell on a grid x grid lattice")
    max_side: int = Field(
        256, ge=32, le=4096, description="images are downscaled to this longest side first (cost is grid^2 detections)"
    )


@hookimpl
def forensic_register_detectors() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="exif",
            summary="heuristic score from EXIF metadata (editing software, camera tags)",
            settings=ExifSettings,
            factory="forensic_example.exif:ExifDetector",
        )
    ]


@hookimpl
def forensic_register_explainers() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="occlusion",
            summary="occlusion sensitivity of any detector: how much its score drops when each cell is hidden",
            settings=OcclusionSettings,
            factory="forensic_example.occlusion:OcclusionExplainer",
        )
    ]
