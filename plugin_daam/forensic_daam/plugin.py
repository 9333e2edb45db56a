"""Registration module of forensic-daam (the ``forensic.plugins`` entry point).

Light on purpose: it imports the core, pydantic and the standard library only; torch and timm are imported by
the explainer's factory and inside the CLI command's body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl
from forensic_daam.options import DisplayMode

if TYPE_CHECKING:
    import click


class DaamSettings(ComponentSettings):
    """Settings of the ``daam`` explainer."""

    display: DisplayMode = Field(
        "sigmoid",
        description="how accumulated maps become [0, 1] maps: 'sigmoid' (the authors' default), 'global' "
        "(min-max over all blocks) or 'minmax' (per map)",
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
