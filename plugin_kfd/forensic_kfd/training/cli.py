"""The body of ``forensic kfd train`` (the command's light definition lives in :mod:`forensic_kfd.plugin`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from forensic_core.errors import ForensicError


def run_train(config_path: str, output: str, overrides: Sequence[str], resume: bool) -> None:
    """Validate the config, train, and print where the weights are and the last metrics."""
    from forensic_kfd.training.config import load_config
    from forensic_kfd.training.trainer import train

    config = load_config(config_path, overrides)
    result = train(config, output, resume=resume)
    if result.weights is None:  # a non-zero DDP rank: rank 0 reports
        return
    click.echo(f"weights: {result.weights} (+ {result.weights.with_suffix('.json').name})")
    click.echo(f"steps: {result.steps}; token cache: {'yes' if result.used_cache else 'no'}")
    click.echo("last step: " + json.dumps({k: round(v, 4) for k, v in result.final.items()}))
    if result.validation:
        click.echo("validation: " + json.dumps({k: round(v, 4) for k, v in result.validation.items()}))
    click.echo(
        f"load it with: detectors: [{{name: kfd, settings: {{weights: {result.weights}}}}}] (the sidecar names the "
        f"backbone); a model folder with a card: forensic kfd export {output} DIR"
    )


@click.command("train")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="run folder")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config value")
@click.option("--resume", is_flag=True, help="continue from the run folder's latest checkpoint")
def train_command(config_path: str, output: str, overrides: tuple[str, ...], resume: bool) -> None:
    """Standalone entry (``python -m forensic_kfd.training``), same options as ``forensic kfd train``."""
    run_train(config_path, output, overrides, resume)


def main() -> None:
    try:
        train_command.main(standalone_mode=False)
    except ForensicError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
