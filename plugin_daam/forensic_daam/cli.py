"""``forensic daam IMAGE --model NAME``: DAAM of any timm ViT classifier, as in the paper's figures.

The command's definition is light (click only); torch and timm are imported in its body.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import click

from forensic_daam.options import DISPLAY_MODES, READOUTS


def _model_args(pairs: tuple[str, ...]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--model-arg")
        try:
            args[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            args[key] = raw
    return args


@click.command("daam")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_name", required=True, help="timm model name, e.g. deit_small_patch16_224.")
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Local state dict (.safetensors or .pt) instead of downloading pretrained weights.",
)
@click.option("--target", type=int, default=None, help="Class index to explain (default: the top class).")
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("daam-out"),
    show_default=True,
    help="Folder for the strip PNG, the GIF and the NPY maps.",
)
@click.option(
    "--display",
    type=click.Choice(DISPLAY_MODES),
    default="sigmoid",
    show_default=True,
    help="How accumulated maps are mapped to [0, 1].",
)
@click.option(
    "--model-arg",
    "model_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Extra timm.create_model keyword (repeatable), e.g. img_size=384.",
)
@click.option("--device", default="auto", show_default=True, help="torch device: auto, cpu, cuda, cuda:1 ...")
@click.option(
    "--readout",
    type=click.Choice(READOUTS),
    default="auto",
    show_default=True,
    help="Tokens whose gradients weight the maps: auto (those the decision reads), class (the authors' DAAM), patches.",
)
@click.option("--norm", "block_norm", is_flag=True, help="Min-max normalise each block's map before accumulating.")
@click.option("--mp4", is_flag=True, help="Also write the attention flow as an MP4 video (needs OpenCV).")
def daam_command(
    image: Path,
    model_name: str,
    checkpoint: Path | None,
    target: int | None,
    outdir: Path,
    display: str,
    model_args: tuple[str, ...],
    device: str,
    readout: str,
    block_norm: bool,
    mp4: bool,
) -> None:
    """Explain a timm ViT classifier's decision on IMAGE with DAAM (strip, animation and maps)."""
    from forensic_daam.loading import image_tensor, load_timm_model

    model = load_timm_model(model_name, checkpoint, **_model_args(model_args))

    import torch

    from forensic_core.errors import ConfigError
    from forensic_daam.attribution import daam
    from forensic_daam.errors import UnsupportedModelError
    from forensic_daam.render import animation, encode_png, strip, video

    torch_device = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    )
    model = model.to(torch_device)
    rgb, inputs = image_tensor(image, model)
    try:
        result = daam(model, inputs.to(torch_device), target, readout=readout, normalize_blocks=block_norm)
    except (UnsupportedModelError, ValueError) as exc:
        raise ConfigError(f"{model_name}: {exc}") from exc
    maps = result.display(display, size=rgb.shape[:2])[0].cpu().numpy()
    outdir.mkdir(parents=True, exist_ok=True)
    stem = image.stem
    written = {
        "strip": outdir / f"{stem}_daam_strip.png",
        "animation": outdir / f"{stem}_daam_flow.gif",
        "block maps": outdir / f"{stem}_daam_block_maps.npy",
        "accumulated maps": outdir / f"{stem}_daam_accumulated.npy",
    }
    written["strip"].write_bytes(encode_png(strip(rgb, maps)))
    written["animation"].write_bytes(animation(rgb, maps))
    if mp4:
        written["video"] = outdir / f"{stem}_daam_flow.mp4"
        written["video"].write_bytes(video(rgb, maps))
    np_block = result.block_maps[0].cpu().numpy()
    np_acc = result.accumulated[0].cpu().numpy()
    import numpy as np

    np.save(written["block maps"], np_block)
    np.save(written["accumulated maps"], np_acc)
    click.echo(
        f"{model_name}: class {int(result.targets[0])} (logit {float(result.scores[0]):.4g}), "
        f"{result.num_blocks} blocks, {result.grid[0]}x{result.grid[1]} patch grid"
    )
    for what, path in written.items():
        click.echo(f"wrote {what}: {path}")
