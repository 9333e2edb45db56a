"""``forensic dialog ...``: commands of the dialog plugin (defined light; torch is imported in the bodies)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("dialog")
def dialog_group() -> None:
    """Dialog backends: train the Forgery Prompt Learner."""


@dialog_group.command("train-fpl")
@click.argument("config", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True, help="Run folder for fpl.safetensors.")
def train_fpl(config: Path, outdir: Path) -> None:
    """Train the FPL over KFD's outputs on templated QA about pseudo-fakes; save it with the LM's identity.

    \b
    Example:
      forensic dialog train-fpl examples/pipelines/dialog-fpl-train.yaml -o runs/fpl
    Then point the hf backend's 'fpl' setting at RUN/fpl.safetensors.
    """
    from forensic_llm_dialog.training import load_config, train

    summary = train(load_config(config), outdir)
    click.echo(
        f"trained {summary['steps']} steps on {summary['pairs']} pairs: loss {summary['first_loss']:.3f} -> "
        f"{summary['last_loss']:.3f}; saved {summary['fpl']}"
    )
