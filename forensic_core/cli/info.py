"""Commands that describe the installation: ``plugins``, ``components``, ``schema``, ``validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from forensic_core.api import API_VERSION
from forensic_core.cli.base import KIND_CHOICES, cli
from forensic_core.components import ComponentKind
from forensic_core.discovery import normalize_name
from forensic_core.errors import ForensicError
from forensic_core.pydantic_guard import broken_distributions
from forensic_core.registry import get_registry
from forensic_core.terminal import printable


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List installed plugins, their versions, components per kind, and failures, after the plugin API version.

    \b
    Examples:
      forensic plugins
      forensic plugins --json
      FORENSIC_DISABLE_PLUGINS=forensic-kfd forensic plugins
    """
    registry = get_registry()
    infos = list(registry.plugins.values())
    keys = list(registry.plugins)
    duplicates = registry.duplicates()
    unreadable = [
        {"name": name, "version": version, "error": reason}
        for name, version, reason in broken_distributions()
        if normalize_name(name) not in registry.plugins
    ]
    if as_json:
        payload = {
            "api_version": API_VERSION,
            "unreadable_distributions": unreadable,
            "plugins": [info.as_dict() for info in infos],
            "duplicates": [
                {"kind": kind.value, "name": name, "plugins": owners} for (kind, name), owners in duplicates.items()
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"plugin API {API_VERSION}")
    for key, info in zip(keys, infos, strict=True):
        mark = {"loaded": "ok", "failed": "FAILED", "disabled": "disabled", "incompatible": "INCOMPATIBLE"}.get(
            info.status, info.status
        )
        click.echo(printable(f"{info.name} {info.version} [{mark}]"))
        if info.entry_point and ":" in key:
            click.echo(printable(f"    entry point: {info.entry_point}"))
        if info.api:
            click.echo(printable(f"    needs plugin API: {info.api}"))
        for kind, names in info.components.items():
            click.echo(printable(f"    {kind}: {', '.join(names)}"))
        if info.error:
            click.echo(printable(f"    error: {info.error}"))
    for entry in unreadable:
        click.echo(
            printable(
                f"warning: {entry['name']} {entry['version']}: its entry_points.txt cannot be read ({entry['error']}); "
                "its entry points are ignored (reinstall that package to fix it)"
            )
        )
    for (kind, name), owners in duplicates.items():
        choices = " or ".join(f"'{owner}:{name}'" for owner in owners)
        click.echo(
            printable(
                f"conflict: {kind.value} {name!r} is registered by {' and '.join(owners)}; "
                f"pipelines must write {choices}"
            )
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
            click.echo(printable(f"{component.kind.value} {component.name} ({component.plugin} {component.version})"))
            click.echo(printable(f"  {component.spec.summary}"))
            if component.spec.requires:
                click.echo(printable(f"  requires: {component.spec.requires}"))
            click.echo(f"  runs on: {component.spec.scope}")
            click.echo("  settings:")
            for field_name, field in component.spec.settings.model_fields.items():
                default = field.get_default(call_default_factory=True)
                click.echo(
                    printable(f"    {field_name} (default {json.dumps(default, default=str)}): {field.description}")
                )
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
    rows = [(c.kind.value, c.name, printable(c.plugin), printable(c.spec.summary)) for c in selected]
    widths = [max((len(row[column]) for row in rows), default=0) + 2 for column in range(3)]
    for kind, name, plugin, summary in rows:
        click.echo(f"{kind:<{widths[0]}}{name:<{widths[1]}}{plugin:<{widths[2]}}{summary}")


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
    click.echo(printable(f"{pipeline}: ok ({', '.join(_describe_pipeline(loaded)) or 'no components'})"))


def _describe_pipeline(pipeline: Any) -> list[str]:
    return [
        f"{entry.role[:-1] if entry.role.endswith('s') else entry.role} {entry.label}" for entry in pipeline.entries()
    ]
