"""Plugin discovery and the component registry.

Discovery is an explicit call that iterates ``importlib.metadata`` entry points itself, one plugin at a time, so
that a plugin that fails to import or to register is unregistered and *reported* (distribution, version, one-line
reason) while every other plugin keeps working. pluggy's ``load_setuptools_entrypoints`` would abort on the first
broken plugin and leave half-registered state behind.

Environment switches (in the style of pytest and llm):

* ``FORENSIC_PLUGINS=a,b``: load only these plugins (distribution or entry-point names; empty loads none);
* ``FORENSIC_DISABLE_PLUGINS=a,b``: skip these;
* ``FORENSIC_RAISE_PLUGIN_ERRORS=1``: re-raise plugin errors with their traceback (debugging).
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from forensic_core import hookspecs
from forensic_core.components import ComponentKind, ComponentSpec, RegisteredComponent
from forensic_core.errors import AmbiguousComponentError, PluginLoadError, UnknownComponentError

if TYPE_CHECKING:
    import click

    from forensic_core.pipeline import Pipeline
    from forensic_core.report import InputResult, Report
    from forensic_core.results import MediaItem

ENTRY_POINT_GROUP = "forensic.plugins"
ENV_ONLY = "FORENSIC_PLUGINS"
ENV_DISABLE = "FORENSIC_DISABLE_PLUGINS"
ENV_RAISE = "FORENSIC_RAISE_PLUGIN_ERRORS"
CORE_PLUGIN = "forensic-core"

REGISTRATION_HOOKS: Mapping[ComponentKind, str] = {
    ComponentKind.DETECTOR: "forensic_register_detectors",
    ComponentKind.LOCALIZER: "forensic_register_localizers",
    ComponentKind.EXPLAINER: "forensic_register_explainers",
    ComponentKind.DIALOG: "forensic_register_dialog_backends",
    ComponentKind.FACE_DETECTOR: "forensic_register_face_detectors",
    ComponentKind.ENGINE: "forensic_register_engines",
    ComponentKind.DATASET: "forensic_register_datasets",
}


def normalize_name(name: str) -> str:
    """PEP 503 normalisation so ``forensic_kfd``, ``Forensic-KFD`` and ``forensic-kfd`` match."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _env_list(env: Mapping[str, str], key: str) -> set[str] | None:
    if key not in env:
        return None
    return {normalize_name(part) for part in env[key].split(",") if part.strip()}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, PluginLoadError) else text


@dataclass
class PluginInfo:
    """What ``forensic plugins`` shows about one plugin."""

    name: str
    version: str
    entry_point: str = ""
    status: str = "loaded"
    error: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "entry_point": self.entry_point,
            "status": self.status,
            "error": self.error,
            "components": self.components,
        }


class Registry:
    """Plugins, their components, and a typed facade over the pipeline-level hooks.

    The rest of the code never calls ``pm.hook`` directly: it calls the methods at the end of this class.
    """

    def __init__(self, *, raise_errors: bool = False) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.raise_errors = raise_errors
        self.plugins: dict[str, PluginInfo] = {}
        self._components: dict[ComponentKind, list[RegisteredComponent]] = {kind: [] for kind in ComponentKind}

    # discovery

    @classmethod
    def discover(
        cls,
        *,
        group: str = ENTRY_POINT_GROUP,
        env: Mapping[str, str] | None = None,
        builtins: bool = True,
    ) -> Registry:
        """Load the core's built-in plugin and every installed plugin of ``group``, isolating failures."""
        env = os.environ if env is None else env
        registry = cls(raise_errors=env.get(ENV_RAISE, "") not in ("", "0", "false", "no"))
        if builtins:
            from forensic_core import builtin

            registry.register(builtin, CORE_PLUGIN, _dist_version(CORE_PLUGIN), entry_point="(built-in)")
        only, disabled = _env_list(env, ENV_ONLY), _env_list(env, ENV_DISABLE)
        for entry_point in _entry_points(group):
            dist_name = entry_point.dist.name if entry_point.dist else entry_point.name
            version = entry_point.dist.version if entry_point.dist else "unknown"
            names = {normalize_name(dist_name), normalize_name(entry_point.name)}
            if normalize_name(dist_name) in registry.plugins:
                continue
            label = f"{entry_point.name} = {entry_point.value}"
            if (only is not None and not names & only) or (disabled and names & disabled):
                registry.plugins[normalize_name(dist_name)] = PluginInfo(
                    dist_name, version, label, status="disabled", error="disabled by environment"
                )
                continue
            registry.load_entry_point(entry_point, dist_name, version)
        return registry

    def load_entry_point(self, entry_point: metadata.EntryPoint, dist_name: str, version: str) -> PluginInfo:
        """Import one entry point and register it; a failure is recorded, not raised (unless debugging)."""
        label = f"{entry_point.name} = {entry_point.value}"
        try:
            plugin = entry_point.load()
        except Exception as exc:
            if self.raise_errors:
                raise
            info = PluginInfo(dist_name, version, label, status="failed", error=f"import failed: {_one_line(exc)}")
            self.plugins[normalize_name(dist_name)] = info
            return info
        return self.register(plugin, dist_name, version, entry_point=label)

    def register(self, plugin: object, name: str, version: str = "0", *, entry_point: str = "") -> PluginInfo:
        """Register a plugin object and collect its components; on error unregister it and record why."""
        key = normalize_name(name)
        info = PluginInfo(name, version, entry_point)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            if self.raise_errors:
                raise
            info.status, info.error = "failed", f"registration failed: {_one_line(exc)}"
            self.plugins[key] = info
            return info
        collected: list[RegisteredComponent] = []
        try:
            for kind, hook_name in REGISTRATION_HOOKS.items():
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                    if impl.plugin_name != name:
                        continue
                    specs = impl.function() or []
                    for spec in specs:
                        if not isinstance(spec, ComponentSpec):
                            raise TypeError(f"{hook_name} returned {type(spec).__name__}, not ComponentSpec")
                        collected.append(RegisteredComponent(kind, spec, name, version))
            seen: set[tuple[ComponentKind, str]] = set()
            for component in collected:
                if (component.kind, component.name) in seen:
                    raise ValueError(f"registers {component.kind.value} {component.name!r} twice")
                seen.add((component.kind, component.name))
        except Exception as exc:
            if self.raise_errors:
                raise
            self.pm.unregister(name=name)
            info.status, info.error = "failed", f"registration failed: {_one_line(exc)}"
            self.plugins[key] = info
            return info
        for component in collected:
            self._components[component.kind].append(component)
            info.components.setdefault(component.kind.value, []).append(component.name)
        self.plugins[key] = info
        return info

    # queries

    def components(self, kind: ComponentKind | None = None) -> list[RegisteredComponent]:
        """All registered components (of one kind), duplicates included, in registration order."""
        kinds = [kind] if kind else list(ComponentKind)
        return [component for k in kinds for component in self._components[k]]

    def names(self, kind: ComponentKind) -> list[str]:
        """Names a pipeline may use for ``kind``: unique plain names and every qualified ``dist:name``."""
        counts: dict[str, int] = {}
        for component in self._components[kind]:
            counts[component.name] = counts.get(component.name, 0) + 1
        plain = [name for name, count in counts.items() if count == 1]
        return plain + [component.qualified_name for component in self._components[kind]]

    def duplicates(self) -> dict[tuple[ComponentKind, str], list[str]]:
        """Component names registered by more than one plugin, with the plugins that registered them."""
        found: dict[tuple[ComponentKind, str], list[str]] = {}
        for component in self.components():
            found.setdefault((component.kind, component.name), []).append(component.plugin)
        return {key: plugins for key, plugins in found.items() if len(plugins) > 1}

    def failed_plugins(self) -> list[PluginInfo]:
        return [info for info in self.plugins.values() if info.status == "failed"]

    def resolve(self, kind: ComponentKind, name: str) -> RegisteredComponent:
        """Find the component a pipeline names: ``name`` or ``dist:name``.

        Raises a one-line error for an unknown name (with a did-you-mean hint and the plugins that failed to load,
        since the component may be theirs) or for a name two plugins register (naming both).
        """
        candidates = self._components[kind]
        if ":" in name:
            dist, _, plain = name.partition(":")
            matches = [c for c in candidates if c.name == plain and normalize_name(c.plugin) == normalize_name(dist)]
        else:
            matches = [c for c in candidates if c.name == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            choices = " or ".join(repr(c.qualified_name) for c in matches)
            plugins = " and ".join(repr(c.plugin) for c in matches)
            raise AmbiguousComponentError(
                f"{kind.value} {name!r} is registered by both {plugins}; write {choices} to choose"
            )
        raise UnknownComponentError(self.unknown_message(kind, name))

    def unknown_message(self, kind: ComponentKind, name: str) -> str:
        """The one-line message for an unknown component name."""
        message = f"unknown {kind.value} {name!r}"
        close = difflib.get_close_matches(name, self.names(kind), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]!r}?"
        failed = self.failed_plugins()
        if failed:
            reasons = "; ".join(f"{info.name} {info.version}: {info.error}" for info in failed)
            message += f" (plugins that failed to load and may provide it: {reasons})"
        elif not close:
            available = ", ".join(sorted(set(self.names(kind)))) or "none installed"
            message += f"; available: {available}"
        return message

    # typed facade over the pipeline-level hooks

    def add_commands(self, cli: click.Group) -> None:
        self._call_isolated("forensic_add_commands", cli=cli)

    def open_media(self, path: Path, frames: int, max_pixels: int) -> Sequence[MediaItem]:
        return self.pm.hook.forensic_open_media(path=path, frames=frames, max_pixels=max_pixels)

    def configure(self, pipeline: Pipeline) -> None:
        self.pm.hook.forensic_configure(pipeline=pipeline)

    def analyze_input(self, source: str, analyze: Callable[[], InputResult]) -> InputResult:
        return self.pm.hook.forensic_analyze_input(source=source, analyze=analyze)

    def render_report(self, report: Report, outdir: Path) -> list[Path]:
        written: list[Path] = []
        for paths in self.pm.hook.forensic_render_report(report=report, outdir=outdir):
            written.extend(paths or [])
        return written

    def _call_isolated(self, hook_name: str, **kwargs: Any) -> None:
        """Call each plugin's implementation separately so one broken plugin cannot break the CLI."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**kwargs)
            except Exception as exc:
                if self.raise_errors:
                    raise
                info = self.plugins.get(normalize_name(impl.plugin_name))
                if info is not None:
                    info.error = f"{hook_name} failed: {_one_line(exc)}"
                    info.status = "failed"


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    found = metadata.entry_points(group=group)
    unique: dict[tuple[str, str], metadata.EntryPoint] = {}
    for entry_point in sorted(found, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name)):
        unique.setdefault((entry_point.dist.name if entry_point.dist else "", entry_point.value), entry_point)
    return list(unique.values())


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        from forensic_core import __version__

        return __version__


_current: contextvars.ContextVar[Registry | None] = contextvars.ContextVar("forensic_registry", default=None)
_discovered: Registry | None = None


def get_registry() -> Registry:
    """The registry in use: one set by :func:`use_registry`, else the installed plugins (discovered once)."""
    global _discovered
    current = _current.get()
    if current is not None:
        return current
    if _discovered is None:
        _discovered = Registry.discover()
    return _discovered


@contextlib.contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the one :func:`get_registry` returns inside the block (tests, embedding)."""
    token = _current.set(registry)
    try:
        yield registry
    finally:
        _current.reset(token)
