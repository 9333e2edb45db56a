"""Registration module of forensic-daam (the ``forensic.plugins`` entry point).

Light on purpose: it imports the core, pydantic and the standard library only; torch and timm are imported by
the explainer's factory and inside the CLI command's body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl
from forensic_daam.options import DisplayMode, ReadoutMode

if TYPE_CHECKING:
    import click


class DaamSettings(ComponentSettings):
    """Settings of the ``daam`` explainer."""

    display: DisplayMode = Field(
        "sigmoid",
        description="how accumulated maps become [0, 1] maps: 'sigmoid' (the authors' default), 'global' "
        "(the authors' linear mapping: every map on the final map's scale) or 'minmax' (per map)",
    )
    readout: ReadoutMode | None = Field(
        None,
        description="tokens whose gradients weight the maps: None follows the detector's vision_target "
        "declaration; 'auto' finds the tokens the decision reads; 'class' is the authors' [class]-token DAAM; "
        "'patches' the patch tokens (a patch-token readout such as KFD's)",
    )
    block_norm: bool = Field(
        False,
        description="min-max normalise each block's map before accumulating (the authors' 'norm' option; off "
        "in their scripts): every block then weighs the same in the accumulated maps",
    )
    target: int | None = Field(
        None,
        ge=0,
        description="class index to explain when the detector's forward returns logits; None explains the top "
        "class, or the single score of a one-score detector",
    )
    all_blocks: bool = Field(
        False, description="also return every accumulated map D^b as maps 'daam block b' (else only the final one)"
    )
    animation: bool = Field(True, description="add an animated GIF of the attention flow through the blocks")
    mp4: bool = Field(
        False, description="also add the attention flow as an MP4 video (needs OpenCV: opencv-python-headless)"
    )
    figure_height: int = Field(160, ge=32, le=1024, description="height in pixels of each panel of the strip figure")
    overlay_alpha: float = Field(0.5, ge=0, le=1, description="opacity of the heat colours over the image in figures")


@hookimpl
def forensic_register_explainers() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="daam",
            summary="DAAM: block-by-block accumulated attention maps of a ViT-based detector's decision",
            settings=DaamSettings,
            factory="forensic_daam.explainer:build_explainer",
            requires="torch",
            tags=("vit", "attention", "gradient"),
        )
    ]


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    from forensic_daam.cli import daam_command

    cli.add_command(daam_command)
