"""Registration module of forensic-kfd (the ``forensic.plugins`` entry point).

Light on purpose: it imports the core, pydantic, click and the standard library only. torch and open_clip are
imported by :mod:`forensic_kfd.components` when a pipeline builds a ``kfd`` component, and the training package
(``forensic kfd train``) only inside that command's body.
"""

from __future__ import annotations

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
    """Knowledge-guided Forgery Detector: training (needs the forensic-kfd[train] extra)."""


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


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    cli.add_command(kfd_group)
