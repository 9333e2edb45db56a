"""Plugin discovery: installed entry points into a :class:`~forensic_core.registry.Registry`, one at a time.

Discovery iterates ``importlib.metadata`` entry points itself, so that a plugin that fails to import or to
register is unregistered and *reported* (distribution, entry point, version, one-line reason) while every other
plugin keeps working. pluggy's ``load_setuptools_entrypoints`` would abort on the first broken plugin and leave
half-registered state behind.

What counts as a failure is deliberately wide: any ``BaseException`` a plugin raises while importing or
registering (``SystemExit`` from a stray ``sys.exit()``, a ``GeneratorExit`` subclass, ...) is caught and named,
because a plugin must never be able to end every ``forensic`` command, ``--help`` included. ``KeyboardInterrupt``
is the one exception re-raised, so Ctrl-C still stops a hanging import.

A plugin whose import takes longer than a few seconds is named on stderr while it is still loading, with the
environment setting that skips it: a hung import would otherwise look like a hung tool.

Environment switches (in the style of pytest and llm):

* ``FORENSIC_PLUGINS=a,b``: load only these plugins (distribution or entry-point names; empty loads none);
* ``FORENSIC_DISABLE_PLUGINS=a,b``: skip these (``dist:entry`` names one entry point of a distribution);
* ``FORENSIC_RAISE_PLUGIN_ERRORS=1``: re-raise plugin errors with their traceback (debugging; ``--debug``);
* ``FORENSIC_PLUGIN_LOAD_WARN_S=5``: seconds an import may take before it is named on stderr (0: never).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, TextIO

from forensic_core import errors
from forensic_core.errors import PluginLoadError
from forensic_core.terminal import printable

if TYPE_CHECKING:
    from forensic_core.registry import PluginInfo, Registry

__all__ = [
    "CORE_PLUGIN",
    "DEFAULT_LOAD_WARN_S",
    "ENTRY_POINT_GROUP",
    "ENV_DISABLE",
    "ENV_LOAD_WARN",
    "ENV_ONLY",
    "ENV_RAISE",
    "discover",
    "load_entry_point",
    "one_line",
]

ENTRY_POINT_GROUP = "forensic.plugins"
ENV_ONLY = "FORENSIC_PLUGINS"
ENV_DISABLE = "FORENSIC_DISABLE_PLUGINS"
ENV_RAISE = "FORENSIC_RAISE_PLUGIN_ERRORS"
ENV_LOAD_WARN = "FORENSIC_PLUGIN_LOAD_WARN_S"
CORE_PLUGIN = "forensic-core"
DEFAULT_LOAD_WARN_S = 5.0
_REASON_MAX = 200


def normalize_name(name: str) -> str:
    """PEP 503 normalisation so ``forensic_kfd``, ``Forensic-KFD`` and ``forensic-kfd`` match."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one bounded line for plugin listings (a load error's own message alone)."""
    return errors.one_line(exc, limit=_REASON_MAX, bare=(PluginLoadError,))


def is_true(value: str | None) -> bool:
    """Environment flag semantics shared by every ``FORENSIC_*`` switch."""
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def discover(
    registry: Registry,
    *,
    group: str = ENTRY_POINT_GROUP,
    env: Mapping[str, str],
    builtins: bool = True,
    stderr: TextIO | None = None,
) -> Registry:
    """Load the core's built-in plugin and every entry point of ``group`` into ``registry``, isolating failures.

    Every entry point of a distribution is loaded and reported on its own: the first under the distribution's
    name, the others as ``dist:entry``. ``stderr`` receives the still-loading notices (default: ``sys.stderr``).
    """
    from forensic_core.registry import dist_version

    if builtins:
        from forensic_core import builtin

        registry.register(builtin, CORE_PLUGIN, dist_version(CORE_PLUGIN), entry_point="(built-in)")
    only, disabled = _env_list(env, ENV_ONLY), _env_list(env, ENV_DISABLE)
    warn_after = _warn_after(env)
    entry_points, broken = _entry_points(group)
    for name, version, exc in broken:
        if (only is not None and normalize_name(name) not in only) or (disabled and normalize_name(name) in disabled):
            registry.record_disabled(normalize_name(name), name, version, "(entry_points.txt)")
        elif registry.raise_errors:
            raise exc
        else:
            registry.record_failure(
                normalize_name(name), name, version, "(entry_points.txt)", "reading entry points", exc
            )
    per_dist: dict[str, int] = {}
    for entry_point in entry_points:
        dist = _dist_name(entry_point)
        per_dist[normalize_name(dist)] = per_dist.get(normalize_name(dist), 0) + 1
    seen: set[str] = set()
    for entry_point in entry_points:
        dist = _dist_name(entry_point)
        version = _dist_version(entry_point)
        dist_key, entry_key = normalize_name(dist), f"{normalize_name(dist)}:{normalize_name(entry_point.name)}"
        key = dist_key if dist_key not in seen else entry_key
        seen.add(dist_key)
        if key in registry.plugins:
            continue  # the same distribution found twice on sys.path
        names = {dist_key, normalize_name(entry_point.name), entry_key}
        if (only is not None and not names & only) or (disabled and names & disabled):
            registry.record_disabled(key, dist, version, _label(entry_point))
            continue
        switch = dist_key if per_dist[dist_key] == 1 else entry_key
        load_entry_point(
            registry,
            entry_point,
            dist,
            version,
            key=key,
            warn_after=warn_after,
            hint=_disable_hint(env, switch),
            stderr=stderr,
        )
    return registry


def load_entry_point(
    registry: Registry,
    entry_point: metadata.EntryPoint,
    dist_name: str,
    version: str,
    *,
    key: str | None = None,
    warn_after: float = DEFAULT_LOAD_WARN_S,
    hint: str = "",
    stderr: TextIO | None = None,
) -> PluginInfo:
    """Import one entry point and register it; a failure is recorded, not raised (unless debugging).

    The still-loading notice covers both steps: a registration hook can hang as well as an import.
    """
    label = _label(entry_point)
    with _still_loading_notice(f"{dist_name} (entry point {label})", warn_after, hint, stderr):
        try:
            plugin = entry_point.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if registry.raise_errors:
                raise
            return registry.record_failure(key or normalize_name(dist_name), dist_name, version, label, "import", exc)
        return registry.register(plugin, dist_name, version, entry_point=label, key=key)


@contextmanager
def _still_loading_notice(what: str, after: float, hint: str, stderr: TextIO | None) -> Iterator[None]:
    """Name ``what`` on stderr if the block is still running after ``after`` seconds (the block is not stopped).

    A daemon timer thread writes the notice, so it appears while the import is blocked, and a process that is
    interrupted or exits does not wait for it.
    """
    if after <= 0:
        yield
        return

    def notice() -> None:
        stream = stderr if stderr is not None else sys.stderr
        line = f"forensic: still loading plugin {what} after {after:g} s"
        stream.write(printable(f"{line}; to start without it: {hint}" if hint else line) + "\n")
        stream.flush()

    timer = threading.Timer(after, notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _disable_hint(env: Mapping[str, str], name: str) -> str:
    existing = [part.strip() for part in env.get(ENV_DISABLE, "").split(",") if part.strip()]
    return f"{ENV_DISABLE}={','.join([*existing, name])}"


def _warn_after(env: Mapping[str, str]) -> float:
    text = env.get(ENV_LOAD_WARN, "").strip()
    if not text:
        return DEFAULT_LOAD_WARN_S
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_LOAD_WARN_S
    return value if value == value and value >= 0 else DEFAULT_LOAD_WARN_S  # NaN and negatives: the default


def _env_list(env: Mapping[str, str], key: str) -> set[str] | None:
    if key not in env:
        return None
    return {normalize_name(part) for part in env[key].split(",") if part.strip()}


def _label(entry_point: metadata.EntryPoint) -> str:
    return f"{entry_point.name} = {entry_point.value}"


def _dist_name(entry_point: metadata.EntryPoint) -> str:
    """The distribution's name; a dist-info without a ``Name`` falls back to the entry point's own name."""
    name = entry_point.dist.name if entry_point.dist else None
    return name if isinstance(name, str) and name.strip() else entry_point.name


def _dist_version(entry_point: metadata.EntryPoint) -> str:
    version = entry_point.dist.version if entry_point.dist else None
    return version if isinstance(version, str) and version.strip() else "unknown"


def _entry_points(group: str) -> tuple[list[metadata.EntryPoint], list[tuple[str, str, BaseException]]]:
    """The group's entry points, sorted by distribution and name; one per (distribution, target).

    Read distribution by distribution, so one installed package with a malformed ``entry_points.txt`` cannot
    break discovery: it is returned in the second list (name, version, error) when its file names ``group``,
    and ignored otherwise. The same distribution found twice on ``sys.path`` (an editable install beside a
    wheel) lists its entry points twice; they are loaded once. Distinct entry points of one distribution are
    all kept.
    """
    found: list[metadata.EntryPoint] = []
    broken: list[tuple[str, str, BaseException]] = []
    for dist in metadata.distributions():
        try:
            found.extend(ep for ep in dist.entry_points if ep.group == group)
        except Exception as exc:
            if _declares_group(dist, group):
                name = dist.metadata["Name"] if dist.metadata else None
                broken.append((name or "unknown", dist.version or "unknown", exc))
    unique: dict[tuple[str, str], metadata.EntryPoint] = {}
    for entry_point in sorted(found, key=lambda ep: (normalize_name(_dist_name(ep)), ep.name)):
        unique.setdefault((normalize_name(_dist_name(entry_point)), entry_point.value), entry_point)
    return list(unique.values()), broken


def _declares_group(dist: metadata.Distribution, group: str) -> bool:
    try:
        return f"[{group}]" in (dist.read_text("entry_points.txt") or "")
    except Exception:
        return False
