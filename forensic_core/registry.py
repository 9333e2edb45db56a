"""The component registry: plugins, their components, and a typed facade over the pipeline-level hooks.

Finding and importing installed plugins is :mod:`forensic_core.discovery`'s job; this module holds what they
registered. A plugin that fails to register (an exception of any kind from a registration hook, a component
spec of the wrong type, a hook name that no hookspec declares) is unregistered and recorded with a one-line
reason, and every other plugin keeps working.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, TextIO

import pluggy

from forensic_core import hookspecs
from forensic_core.api import ApiRangeError, check_api_range
from forensic_core.components import ComponentKind, ComponentSpec, RegisteredComponent
from forensic_core.discovery import (
    CORE_PLUGIN,
    ENTRY_POINT_GROUP,
    ENV_DISABLE,
    ENV_ONLY,
    ENV_RAISE,
    is_true,
    normalize_name,
    one_line,
)
from forensic_core.errors import AmbiguousComponentError, UnknownComponentError
from forensic_core.registry_facade import HookFacade

if TYPE_CHECKING:
    pass

__all__ = [
    "CORE_PLUGIN",
    "ENTRY_POINT_GROUP",
    "ENV_DISABLE",
    "ENV_ONLY",
    "ENV_RAISE",
    "PluginInfo",
    "Registry",
    "get_registry",
    "normalize_name",
    "use_registry",
]

REGISTRATION_HOOKS: Mapping[ComponentKind, str] = {
    ComponentKind.DETECTOR: "forensic_register_detectors",
    ComponentKind.LOCALIZER: "forensic_register_localizers",
    ComponentKind.EXPLAINER: "forensic_register_explainers",
    ComponentKind.DIALOG: "forensic_register_dialog_backends",
    ComponentKind.FACE_DETECTOR: "forensic_register_face_detectors",
    ComponentKind.ENGINE: "forensic_register_engines",
    ComponentKind.DATASET: "forensic_register_datasets",
}
_HOOK_NAMES = frozenset(name for name in dir(hookspecs) if name.startswith("forensic_"))


@dataclass
class PluginInfo:
    """What ``forensic plugins`` shows about one plugin (one entry point of a distribution)."""

    name: str
    version: str
    entry_point: str = ""
    status: str = "loaded"
    error: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)
    api: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "entry_point": self.entry_point,
            "status": self.status,
            "error": self.error,
            "components": self.components,
            "api": self.api,
        }


class Registry(HookFacade):
    """Plugins, their components, and a typed facade over the pipeline-level hooks.

    The rest of the code never calls ``pm.hook`` directly: it calls the methods of
    :class:`~forensic_core.registry_facade.HookFacade`.
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
        raise_errors: bool | None = None,
        stderr: TextIO | None = None,
    ) -> Registry:
        """Load the core's built-in plugin and every installed plugin of ``group``, isolating failures.

        ``raise_errors`` (``--debug``) re-raises plugin errors; None reads ``FORENSIC_RAISE_PLUGIN_ERRORS``.
        See :mod:`forensic_core.discovery` for the environment switches.
        """
        from forensic_core.discovery import discover

        env = os.environ if env is None else env
        registry = cls(raise_errors=is_true(env.get(ENV_RAISE)) if raise_errors is None else raise_errors)
        return discover(registry, group=group, env=env, builtins=builtins, stderr=stderr)

    def load_entry_point(self, entry_point: metadata.EntryPoint, dist_name: str, version: str) -> PluginInfo:
        """Import one entry point and register it; a failure is recorded, not raised (unless debugging)."""
        from forensic_core.discovery import load_entry_point

        return load_entry_point(self, entry_point, dist_name, version)

    def record_disabled(self, key: str, name: str, version: str, entry_point: str) -> PluginInfo:
        """Note a plugin the environment switched off (listed by ``forensic plugins``, never imported)."""
        info = PluginInfo(name, version, entry_point, status="disabled", error="disabled by environment")
        self.plugins[key] = info
        return info

    def record_failure(
        self, key: str, name: str, version: str, entry_point: str, stage: str, exc: BaseException
    ) -> PluginInfo:
        """Note a plugin that failed at ``stage`` ("import", "registration") with a one-line reason."""
        info = PluginInfo(name, version, entry_point, status="failed", error=f"{stage} failed: {one_line(exc)}")
        self.plugins[key] = info
        return info

    def register(
        self, plugin: object, name: str, version: str = "0", *, entry_point: str = "", key: str | None = None
    ) -> PluginInfo:
        """Register a plugin object and collect its components; on error unregister it and record why.

        ``name`` is the distribution (what ``dist:component`` and ``requires:`` name); ``key`` identifies this
        entry point among the distribution's (default: the normalised ``name``). Any exception but
        ``KeyboardInterrupt`` from the plugin's registration hooks fails this plugin only.
        """
        key = key or normalize_name(name)
        try:
            api = self._api_range(plugin, name)
        except ApiRangeError as exc:
            if self.raise_errors:
                raise
            info = PluginInfo(name, version, entry_point, status="incompatible", error=str(exc))
            info.api = str(getattr(plugin, "forensic_api", None))
            self.plugins[key] = info
            return info
        try:
            self.pm.register(plugin, name=key)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if self.raise_errors:
                raise
            return self.record_failure(key, name, version, entry_point, "registration", exc)
        try:
            self._check_hooks(plugin, key)
            collected = self._collect(key, name, version)
        except KeyboardInterrupt:
            self.pm.unregister(name=key)
            raise
        except BaseException as exc:
            self.pm.unregister(name=key)
            if self.raise_errors:
                raise
            return self.record_failure(key, name, version, entry_point, "registration", exc)
        info = PluginInfo(name, version, entry_point, api=api)
        for component in collected:
            self._components[component.kind].append(component)
            info.components.setdefault(component.kind.value, []).append(component.name)
        self.plugins[key] = info
        return info

    @staticmethod
    def _api_range(plugin: object, name: str) -> str | None:
        """The plugin API range the plugin declares (``forensic_api = ">=1.0,<2"`` in its entry-point module).

        A plugin that declares none was written for the 1.0 surface, which every 1.x host keeps: it loads.
        """
        required = getattr(plugin, "forensic_api", None)
        return None if required is None else check_api_range(required, name)

    def _check_hooks(self, plugin: object, key: str) -> None:
        """A misspelled hook is a load failure, not a silently empty plugin (``pm.check_pending``).

        Also refused: a function named like a hook but not marked with ``@hookimpl``, which pluggy ignores.
        """
        for hook_name in dir(self.pm.hook):
            if hook_name.startswith("_"):
                continue
            caller = getattr(self.pm.hook, hook_name)
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin_name == key and not impl.optionalhook:
                    close = difflib.get_close_matches(hook_name, sorted(_HOOK_NAMES), n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise pluggy.PluginValidationError(plugin, f"unknown hook {hook_name!r}{hint}")
        for hook_name in sorted(_HOOK_NAMES):
            candidate = getattr(plugin, hook_name, None)
            if callable(candidate) and not any(
                impl.plugin_name == key for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
            ):
                raise pluggy.PluginValidationError(plugin, f"{hook_name} is not marked with @hookimpl")
        self.pm.check_pending()

    def _collect(self, key: str, name: str, version: str) -> list[RegisteredComponent]:
        collected: list[RegisteredComponent] = []
        for kind, hook_name in REGISTRATION_HOOKS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name != key:
                    continue
                for spec in impl.function() or []:
                    if not isinstance(spec, ComponentSpec):
                        raise TypeError(f"{hook_name} returned {type(spec).__name__}, not ComponentSpec")
                    collected.append(RegisteredComponent(kind, spec, name, version))
        seen: set[tuple[ComponentKind, str]] = set()
        for component in collected:
            if (component.kind, component.name) in seen:
                raise ValueError(f"registers {component.kind.value} {component.name!r} twice")
            seen.add((component.kind, component.name))
        return collected

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
        return [info for info in self.plugins.values() if info.status in ("failed", "incompatible")]

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
        from forensic_core.engine.hints import install_hint

        message = f"unknown {kind.value} {name!r}"
        hint = install_hint(kind.value, name)
        if hint:
            message += f"; {hint}"
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

    def distribution(self, name: str) -> list[PluginInfo]:
        """Every entry point recorded for distribution ``name`` (any spelling), first one first."""
        key = normalize_name(name)
        return [info for plugin_key, info in self.plugins.items() if plugin_key.split(":", 1)[0] == key]


def dist_version(name: str) -> str:
    """The installed version of distribution ``name`` (the core's own version when running from a checkout)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        from forensic_core import __version__

        return __version__


_current: contextvars.ContextVar[Registry | None] = contextvars.ContextVar("forensic_registry", default=None)


@functools.cache
def installed_registry() -> Registry:
    """The installed plugins, discovered on first use (a memo of the environment, not a setting: the registry a
    run uses is chosen by :func:`use_registry` and travels in its plan)."""
    return Registry.discover()


def get_registry() -> Registry:
    """The registry in use: one set by :func:`use_registry`, else :func:`installed_registry`."""
    current = _current.get()
    return current if current is not None else installed_registry()


@contextlib.contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the one :func:`get_registry` returns inside the block (tests, embedding)."""
    token = _current.set(registry)
    try:
        yield registry
    finally:
        _current.reset(token)
