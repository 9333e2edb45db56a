"""The ``forensic`` command line.

Light by contract: this module and everything ``--help``, ``plugins``, ``components``, ``schema`` and ``validate``
touch import neither torch nor any model library (a test asserts it). Errors print as one line; ``--debug`` (or
``FORENSIC_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from forensic_core import __version__
from forensic_core.components import ComponentKind
from forensic_core.errors import ConfigError, ForensicError
from forensic_core.registry import Registry, get_registry

KIND_CHOICES = [kind.value for kind in ComponentKind]


def _debug() -> bool:
    return os.environ.get("FORENSIC_DEBUG", "") not in ("", "0", "false", "no")


class ForensicGroup(click.Group):
    """Renders :class:`ForensicError` as one line with its exit code, unless debugging."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            if _debug():
                raise
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(exc.exit_code)
        except ForensicError as exc:
            if _debug():
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=ForensicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forensic")
@click.option("--debug", is_flag=True, help="Show tracebacks and re-raise plugin errors (also FORENSIC_DEBUG=1).")
def cli(debug: bool) -> None:
    """Explainable deepfake forensics with plugins.

    \b
    Examples:
      forensic run photo.jpg                      # default offline pipeline
      forensic run -p examples/pipelines/kfd-tiny.yaml photos/ -o out
      forensic plugins                            # what is installed
      forensic components --kind detector
      forensic validate my-pipeline.yaml
    """
    if debug:
        os.environ["FORENSIC_DEBUG"] = "1"
        os.environ["FORENSIC_RAISE_PLUGIN_ERRORS"] = "1"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List installed plugins, their versions, components per kind, and failures.

    \b
    Examples:
      forensic plugins
      forensic plugins --json
      FORENSIC_DISABLE_PLUGINS=forensic-kfd forensic plugins
    """
    registry = get_registry()
    infos = list(registry.plugins.values())
    duplicates = registry.duplicates()
    if as_json:
        payload = {
            "plugins": [info.as_dict() for info in infos],
            "duplicates": [
                {"kind": kind.value, "name": name, "plugins": owners} for (kind, name), owners in duplicates.items()
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    for info in infos:
        mark = {"loaded": "ok", "failed": "FAILED", "disabled": "disabled"}[info.status]
        click.echo(f"{info.name} {info.version} [{mark}]")
        for kind, names in info.components.items():
            click.echo(f"    {kind}: {', '.join(names)}")
        if info.error:
            click.echo(f"    error: {info.error}")
    for (kind, name), owners in duplicates.items():
        choices = " or ".join(f"'{owner}:{name}'" for owner in owners)
        click.echo(
            f"conflict: {kind.value} {name!r} is registered by {' and '.join(owners)}; pipelines must write {choices}"
        )


@cli.command()
@click.argument("name", required=False)
@click.option("--kind", type=click.Choice(KIND_CHOICES), help="Only components of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with NAME: the settings JSON Schema).")
def components(name: str | None, kind: str | None, as_json: bool) -> None:
    """List registered components, or show the settings of one (NAME).

    \b
    Examples:
      forensic components
      forensic components --kind localizer
      forensic components ela                 # settings of one component
      forensic components kfd --kind detector --json
    """
    registry = get_registry()
    selected = registry.components(ComponentKind(kind) if kind else None)
    if name is not None:
        matches = [c for c in selected if name in (c.name, c.qualified_name)]
        if not matches:
            kinds = [ComponentKind(kind)] if kind else list(ComponentKind)
            raise ForensicError(
                "; ".join(registry.unknown_message(k, name) for k in kinds if registry.components(k))
                or f"unknown component {name!r}"
            )
        for component in matches:
            schema = component.spec.settings.model_json_schema()
            if as_json:
                click.echo(
                    json.dumps(
                        {"kind": component.kind.value, "name": component.qualified_name, "settings": schema}, indent=2
                    )
                )
                continue
            click.echo(f"{component.kind.value} {component.name} ({component.plugin} {component.version})")
            click.echo(f"  {component.spec.summary}")
            if component.spec.requires:
                click.echo(f"  requires: {component.spec.requires}")
            click.echo(f"  runs on: {component.spec.scope}")
            click.echo("  settings:")
            for field_name, field in component.spec.settings.model_fields.items():
                default = field.get_default(call_default_factory=True)
                click.echo(f"    {field_name} (default {json.dumps(default, default=str)}): {field.description}")
        return
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "kind": c.kind.value,
                        "name": c.name,
                        "qualified_name": c.qualified_name,
                        "plugin": c.plugin,
                        "version": c.version,
                        "summary": c.spec.summary,
                        "scope": c.spec.scope,
                        "requires": c.spec.requires,
                    }
                    for c in selected
                ],
                indent=2,
            )
        )
        return
    widths = [
        max((len(text) for text in column), default=0) + 2
        for column in ([c.kind.value for c in selected], [c.name for c in selected], [c.plugin for c in selected])
    ]
    for component in selected:
        kind, name, plugin = component.kind.value, component.name, component.plugin
        click.echo(f"{kind:<{widths[0]}}{name:<{widths[1]}}{plugin:<{widths[2]}}{component.spec.summary}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of pipeline files, covering every installed plugin.

    \b
    Example:
      forensic schema > pipeline.schema.json
    """
    from forensic_core.config import pipeline_schema

    click.echo(json.dumps(pipeline_schema(get_registry()), indent=2))


@cli.command()
@click.argument("pipeline", type=click.Path(path_type=Path))
def validate(pipeline: Path) -> None:
    """Check a pipeline file: exit 0, or exit 2 with 'path: message' lines.

    \b
    Example:
      forensic validate examples/pipelines/kfd-tiny.yaml
    """
    from forensic_core.config import load_pipeline

    loaded = load_pipeline(pipeline, get_registry())
    click.echo(f"{pipeline}: ok ({', '.join(_describe_pipeline(loaded)) or 'no components'})")


def _describe_pipeline(pipeline: Any) -> list[str]:
    return [
        f"{entry.role[:-1] if entry.role.endswith('s') else entry.role} {entry.label}" for entry in pipeline.entries()
    ]


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-p",
    "--pipeline",
    "pipeline_path",
    type=click.Path(path_type=Path),
    help="Pipeline YAML; default: the built-in offline pipeline.",
)
@click.option(
    "-o",
    "--outdir",
    type=click.Path(path_type=Path),
    default=Path("forensic-report"),
    show_default=True,
    help="Where report.json, report.html and the artifacts go.",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing input or component.")
@click.option("--save-npy", is_flag=True, help="Also save heatmaps as float NPY arrays.")
def run(inputs: tuple[str, ...], pipeline_path: Path | None, outdir: Path, fail_fast: bool, save_npy: bool) -> None:
    """Analyse images, videos and folders; write OUTDIR/report.json and report.html.

    Exit 0 when every input was analysed, 1 when some failed (the report is still written), 2 on a usage or
    configuration error.

    \b
    Examples:
      forensic run photo.jpg
      forensic run -p examples/pipelines/kfd-tiny.yaml faces/ clip.mp4 -o out
    """
    from forensic_core.config import load_pipeline
    from forensic_core.defaults import default_pipeline
    from forensic_core.runner import Progress, run_pipeline

    registry = get_registry()
    source: Any = pipeline_path if pipeline_path is not None else default_pipeline(registry)
    pipeline = load_pipeline(source, registry)
    if pipeline_path is None:
        pipeline = type(pipeline)(**{**pipeline.__dict__, "source": "(default)"})
    report = run_pipeline(
        pipeline, registry, inputs, outdir, fail_fast=fail_fast, save_npy=save_npy, progress=Progress()
    )
    for result in report.results:
        verdict = ", ".join(f"{d.component} {d.score:.2f} {d.label}" for d in result.detections) or "-"
        line = f"{result.source}: {verdict}" if result.status == "ok" else f"{result.source}: error: {result.error}"
        click.echo(line)
    click.echo(f"report: {outdir / 'report.html'} ({report.summary.ok}/{report.summary.inputs} inputs analysed)")
    if report.summary.errors:
        sys.exit(1)


def build_cli(registry: Registry | None = None) -> click.Group:
    """A fresh CLI group: the core commands plus the plugins' commands (``forensic_add_commands``)."""
    group = ForensicGroup(
        name="forensic",
        commands=dict(cli.commands),
        params=list(cli.params),
        callback=cli.callback,
        help=cli.help,
        context_settings=cli.context_settings,
    )
    (registry or get_registry()).add_commands(group)
    return group


def main() -> None:
    """Console-script entry point."""
    try:
        group = build_cli()
    except ForensicError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    group(prog_name="forensic")
