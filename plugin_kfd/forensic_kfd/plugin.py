"""Registration module of forensic-kfd (the ``forensic.plugins`` entry point).

Light on purpose: it imports the core, pydantic, click and the standard library only. torch and open_clip are
imported by :mod:`forensic_kfd.components` when a pipeline builds a ``kfd`` component, and the training package
(``forensic kfd train``) only inside that command's body.
"""

from __future__ import annotations

import json

import click

from forensic_core import ComponentSpec, hookimpl
from forensic_kfd.settings import KfdSettings

REQUIRES = "torch, open_clip"


@hookimpl
def forensic_register_detectors() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="kfd",
            summary="Knowledge-guided Forgery Detector: open_clip patch/text correlation maps -> p(fake)",
            settings=KfdSettings,
            factory="forensic_kfd.components:build_detector",
            scope="faces",
            requires=REQUIRES,
            tags=("deepfake", "clip", "explainable"),
        )
    ]


@hookimpl
def forensic_register_localizers() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="kfd",
            summary="Knowledge-guided Forgery Detector: forgery mask and per-layer correlation maps",
            settings=KfdSettings,
            factory="forensic_kfd.components:build_localizer",
            scope="faces",
            requires=REQUIRES,
            tags=("deepfake", "clip"),
        )
    ]


@click.group("kfd")
def kfd_group() -> None:
    """Knowledge-guided Forgery Detector: training (needs the forensic-kfd[train] extra) and model folders."""


@kfd_group.command("train")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="run folder (RUN)")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config value (YAML value)")
@click.option("--resume", is_flag=True, help="continue exactly from RUN's latest checkpoint")
def kfd_train(config_path: str, output: str, overrides: tuple[str, ...], resume: bool) -> None:
    """Train KFD's prompts, projections and heads; writes RUN/kfd.safetensors + RUN/kfd.json.

    Multi-GPU: torchrun --nproc_per_node N -m forensic_kfd.training CONFIG.yaml -o RUN
    """
    from forensic_kfd.training.cli import run_train

    run_train(config_path, output, overrides, resume)


@kfd_group.command("export")
@click.argument("run", metavar="RUN", type=click.Path(exists=True))
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="replace an earlier export in DIR")
def kfd_export(run: str, folder: str, overwrite: bool) -> None:
    """Write RUN's weights as a model folder DIR: kfd.safetensors, kfd.json and a README.md model card.

    Load it with `weights: DIR` (or `weights: hf-hub:ORG/NAME` after uploading DIR to the hub).
    """
    from forensic_kfd.export import export_run

    result = export_run(run, folder, overwrite=overwrite)
    click.echo(f"model folder: {result.folder} ({result.weights.name}, kfd.json, {result.card.name})")
    if result.validation:
        shown = {k: round(v, 4) for k, v in result.validation.items() if isinstance(v, float)}
        click.echo(f"validation (step {result.validation.get('step')}): " + json.dumps(shown))


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    cli.add_command(kfd_group)
