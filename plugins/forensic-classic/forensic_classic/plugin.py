"""Registration module of forensic-classic (entry point ``forensic.plugins: classic``).

Imports only the core and pydantic: numpy/scipy/PIL work lives in :mod:`forensic_classic.components`, which
the factories name by import string and which is loaded only when a pipeline uses one of these components.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from forensic_core import ComponentSettings, ComponentSpec, hookimpl

Quality = Annotated[int, Field(ge=10, le=100)]
EvidenceName = Literal["ela", "noise", "ghost", "dq", "nadjpg", "blindnoise"]
# The maps on the image's own 8 x 8 JPEG grid, which the fused localizer combines cell by cell.
FusableName = Literal["dq", "nadjpg", "blindnoise", "ghost"]


class _MapSettings(ComponentSettings):
    smoothing: int = Field(
        1, ge=0, le=8, description="radius, in analysis cells, of the box filter applied to the anomaly map"
    )
    z_half: float = Field(
        2.0,
        gt=0,
        le=20,
        description="anomaly (robust z-score vs. the whole image) that maps to heat 0.5; the heatmap is a "
        "logistic of (z - z_half), so it stays strictly monotonic in the evidence",
    )


class ElaSettings(_MapSettings):
    """Error level analysis."""

    qualities: tuple[Quality, ...] = Field(
        (75, 90),
        min_length=1,
        max_length=8,
        description="JPEG qualities (10-100) to re-save at; the per-block error ratios are averaged over them",
    )
    two_sided: bool = Field(
        True,
        description="flag blocks whose error per unit of texture is unusually low as well as unusually high "
        "(a pasted region may have been compressed more or less than its host)",
    )


class NoiseSettings(_MapSettings):
    """Noise-residual inconsistency."""

    block: int = Field(16, ge=8, le=128, description="side in pixels of the windows the noise level is estimated in")
    edge_quantile: float = Field(
        0.7,
        gt=0,
        le=1,
        description="pixels whose gradient lies above this image-wide quantile are edges, excluded from the "
        "noise estimate",
    )


class GhostSettings(_MapSettings):
    """JPEG ghosts."""

    qualities: tuple[Quality, ...] = Field(
        (50, 60, 70, 80, 90),
        min_length=3,
        max_length=20,
        description="JPEG qualities (10-100) spanning the range a previous save may have used; each costs "
        "one grayscale JPEG round trip (five steps of 10 measured within 0.03 pixel AUC of ten steps of 5, "
        "at half the time)",
    )


class DqSettings(_MapSettings):
    """Double-quantisation inconsistency."""

    smoothing: int = Field(
        2, ge=0, le=8, description="radius, in 8 x 8 blocks, of the box filter applied to the anomaly map"
    )
    frequencies: int = Field(
        12, ge=1, le=12, description="number of low AC DCT frequencies (zigzag order) whose histograms are analysed"
    )


class NadjpgSettings(_MapSettings):
    """Non-aligned double-JPEG inconsistency."""

    smoothing: int = Field(
        2, ge=0, le=8, description="radius, in 8 x 8 blocks, of the box filter applied to the lattice agreement"
    )
    window: int = Field(
        7, ge=3, le=31, description="side, in blocks, of the windows in which the grid shift and steps are searched"
    )
    min_z: float = Field(
        4.0, ge=0, le=50, description="a frequency enters the map only if its best window reaches this z-score"
    )
    max_blocks: int = Field(
        12000,
        ge=500,
        le=1_000_000,
        description="most blocks per shift the grid search looks at (a strided subset on large photos; the map "
        "itself uses every block)",
    )


class BlindNoiseSettings(_MapSettings):
    """Blind local noise level (kurtosis concentration)."""

    window: int = Field(
        8, ge=2, le=64, description="side, in 8 x 8 blocks, of the windows the local noise level is estimated in"
    )


class FusedSettings(ComponentSettings):
    """Adaptive-evidence localizer: evidence maps weighted per image by how concentrated their anomaly is."""

    evidence: tuple[FusableName, ...] = Field(
        ("dq", "nadjpg"),
        min_length=1,
        description="evidence maps (dq, nadjpg, blindnoise, ghost; each with its localizer's default settings) "
        "to combine; dq + nadjpg measured best on generated splices (ghost and blindnoise are often confident "
        "about the wrong place, so they lower the fused map)",
    )
    anchor: FusableName | None = Field(
        "dq",
        description="map that always takes part with weight 1 whatever its confidence (dq: it ranks the paste "
        "above chance even when its anomaly is diffuse); None weights every map by its confidence alone",
    )
    window: float = Field(
        0.2,
        gt=0,
        le=1,
        description="side of the square window, as a fraction of the image's shorter side, of the confidence "
        "statistic (the classic detector's concentration)",
    )
    slope: float = Field(
        0.25,
        gt=0,
        le=10,
        description="width of the logistic that turns a map's concentration into its weight, as a fraction of "
        "the map's reference concentration (the classic detector's per-map score)",
    )
    z_half: float = Field(
        2.0,
        gt=0,
        le=20,
        description="anomaly (robust z-score) that maps to heat 0.5 in each map before the weighted average",
    )

    @model_validator(mode="after")
    def _anchor_is_evidence(self) -> FusedSettings:
        if self.anchor is not None and self.anchor not in self.evidence:
            raise ValueError(
                f"anchor {self.anchor!r} is not among the evidence maps {list(self.evidence)}: add it, or set anchor "
                "to null"
            )
        if len(set(self.evidence)) != len(self.evidence):
            raise ValueError(f"evidence maps repeat: {list(self.evidence)}")
        return self


class ClassicDetectorSettings(ComponentSettings):
    """Heuristic detector over the classic evidence maps."""

    evidence: tuple[EvidenceName, ...] = Field(
        ("dq", "ghost"),
        min_length=1,
        description="evidence maps (ela, noise, ghost, dq, nadjpg, blindnoise; each with its localizer's default "
        "settings) the score is computed from; the image score is the largest per-map score. dq + ghost "
        "separate best on generated splices (ghost catches pastes into a host saved at a lower quality than the "
        "final one)",
    )
    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the label is 'fake'")
    window: float = Field(
        0.2,
        gt=0,
        le=1,
        description="side of the square window, as a fraction of the image's shorter side, over which "
        "anomaly is averaged when looking for its most concentrated place",
    )
    slope: float = Field(
        0.25,
        gt=0,
        le=10,
        description="width of the logistic, as a fraction of the map's reference concentration: smaller makes "
        "scores more decisive",
    )


class LearnedDetectorSettings(ComponentSettings):
    """Learned, calibrated detector over the classic evidence maps."""

    threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="probability at or above which the label is 'fake'; at 0.5 the shipped model flags the share "
        "of held-out pristine photos stated in its file and in the plugin README",
    )
    model: str | None = Field(
        None,
        description="path of a model JSON written by benchmarks/fit_classic.py; default: the model shipped with "
        "the plugin (fitted on the project's photo kit)",
    )


@hookimpl
def forensic_register_localizers() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="ela",
            summary="Error level analysis: re-save error per unit of texture, vs. the whole image (no weights)",
            settings=ElaSettings,
            factory="forensic_classic.components:build_ela",
            requires="numpy, pillow, scipy",
            tags=("weights-free", "jpeg"),
        ),
        ComponentSpec(
            name="noise",
            summary="Noise-residual inconsistency: local noise level vs. the whole image (no weights)",
            settings=NoiseSettings,
            factory="forensic_classic.components:build_noise",
            requires="numpy, scipy",
            tags=("weights-free",),
        ),
        ComponentSpec(
            name="dq",
            summary="Double quantisation: blocks off the image's double-JPEG DCT histogram pattern (no weights)",
            settings=DqSettings,
            factory="forensic_classic.components:build_dq",
            requires="numpy, scipy",
            tags=("weights-free", "jpeg"),
        ),
        ComponentSpec(
            name="nadjpg",
            summary="Non-aligned double JPEG: a region keeping a JPEG lattice on a shifted 8 x 8 grid (no weights)",
            settings=NadjpgSettings,
            factory="forensic_classic.components:build_nadjpg",
            requires="numpy, scipy",
            tags=("weights-free", "jpeg"),
        ),
        ComponentSpec(
            name="blindnoise",
            summary="Blind local noise level from band-pass kurtosis (Lyu et al. 2014) vs. the image (no weights)",
            settings=BlindNoiseSettings,
            factory="forensic_classic.components:build_blindnoise",
            requires="numpy, scipy",
            tags=("weights-free",),
        ),
        ComponentSpec(
            name="ghost",
            summary="JPEG ghosts: blocks whose re-save error curve differs from the image's (no weights)",
            settings=GhostSettings,
            factory="forensic_classic.components:build_ghost",
            requires="numpy, pillow, scipy",
            tags=("weights-free", "jpeg"),
        ),
        ComponentSpec(
            name="fused",
            summary="Adaptive evidence: dq/nadjpg/... maps weighted per image by the concentration of their "
            "anomaly (no weights)",
            settings=FusedSettings,
            factory="forensic_classic.components:build_fused",
            requires="numpy, pillow, scipy",
            tags=("weights-free", "jpeg"),
        ),
    ]


@hookimpl
def forensic_register_detectors() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="classic",
            summary="Heuristic splice score: concentration of DQ/ghost/noise/ELA anomaly (no weights)",
            settings=ClassicDetectorSettings,
            factory="forensic_classic.components:build_classic_detector",
            requires="numpy, pillow, scipy",
            tags=("weights-free", "heuristic"),
        ),
        ComponentSpec(
            name="learned",
            summary="Calibrated probability of a local edit: a logistic model over all classic maps, fitted on "
            "the project's photo kit (no downloaded weights)",
            settings=LearnedDetectorSettings,
            factory="forensic_classic.learned:build_learned_detector",
            requires="numpy, pillow, scipy",
            tags=("weights-free", "calibrated"),
        ),
    ]
