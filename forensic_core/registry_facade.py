"""The typed facade over the pipeline-level hooks (one job: calling plugins' hooks so one cannot break the rest).

:class:`HookFacade` is a base of :class:`forensic_core.registry.Registry`: the rest of the code never calls
``pm.hook`` directly but these methods, which isolate each plugin's implementation and record its failures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from forensic_core.errors import one_line

if TYPE_CHECKING:
    import click

    from forensic_core.engine.base import InputContext
    from forensic_core.journal import StoredReport
    from forensic_core.pipeline import Pipeline
    from forensic_core.registry import PluginInfo
    from forensic_core.report import InputResult
    from forensic_core.results import MediaItem


class HookFacade:
    """Hook calls over ``pm`` with failure bookkeeping in ``plugins`` (set up by the registry)."""

    pm: pluggy.PluginManager
    raise_errors: bool
    plugins: dict[str, PluginInfo]

    def add_commands(self, cli: click.Group) -> None:
        self._call_isolated("forensic_add_commands", cli=cli)

    def media_suffixes(self) -> frozenset[str]:
        """Suffixes (lower case, with the dot) that installed ``forensic_open_media`` implementations read.

        Folder walks include these besides the core's image and video types. A plugin whose hook raises or
        returns something other than suffix strings is marked failed and its answer ignored.
        """
        found: set[str] = set()
        for key, answer in self._call_isolated("forensic_media_suffixes"):
            try:
                found |= _suffixes(answer)
            except ValueError as exc:
                self._mark_failed(key, "forensic_media_suffixes", exc)
        return frozenset(found)

    def open_media(self, path: Path, frames: int, max_pixels: int) -> Sequence[MediaItem]:
        """Open one input through the plugins' openers, then the core's; non-regular files are never opened."""
        from forensic_core.media import check_regular_file

        check_regular_file(path)
        return self.pm.hook.forensic_open_media(path=path, frames=frames, max_pixels=max_pixels)

    def configure(self, pipeline: Pipeline) -> None:
        self.pm.hook.forensic_configure(pipeline=pipeline)

    def analyze_input(self, source: str, analyze: Callable[[], InputResult], context: InputContext) -> InputResult:
        return self.pm.hook.forensic_analyze_input(source=source, analyze=analyze, context=context)

    def render_report(self, report: StoredReport, outdir: Path) -> tuple[list[Path], list[str]]:
        """Call every renderer on its own: one that raises is named in the returned problems (one line each)
        and the others, the core's HTML included, still run. Returns (files written, problems)."""
        written: list[Path] = []
        problems: list[str] = []
        for impl in reversed(self.pm.hook.forensic_render_report.get_hookimpls()):
            try:
                paths: Any = impl.function(report=report, outdir=outdir)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                if self.raise_errors:
                    raise
                problems.append(f"report renderer of {impl.plugin_name} failed: {one_line(exc)}")
                continue
            written.extend(Path(p) for p in paths or [])
        return written, problems

    def _call_isolated(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call each plugin's implementation separately so one broken plugin cannot break the CLI.

        Returns ``(plugin key, answer)`` for the implementations that did not raise; one that raised anything
        but ``KeyboardInterrupt`` is marked failed with the hook's name and the reason.
        """
        answers: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                answers.append((impl.plugin_name, impl.function(**kwargs)))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                if self.raise_errors:
                    raise
                self._mark_failed(impl.plugin_name, hook_name, exc)
        return answers

    def _mark_failed(self, key: str, hook_name: str, exc: BaseException) -> None:
        info = self.plugins.get(key)
        if info is not None:
            info.error = f"{hook_name} failed: {one_line(exc)}"
            info.status = "failed"


def _suffixes(answer: Any) -> set[str]:
    """Normalise a ``forensic_media_suffixes`` answer: ``"NPY"``, ``".npy"`` -> ``".npy"``."""
    if answer is None:
        return set()
    if isinstance(answer, str) or not isinstance(answer, (list, tuple, set, frozenset)):
        raise ValueError(f"returned {type(answer).__name__}, not a list of suffixes")
    out: set[str] = set()
    for suffix in answer:
        if not isinstance(suffix, str) or not suffix.strip(".") or any(c in suffix for c in "/\\ \0"):
            raise ValueError(f"invalid suffix {str(suffix)[:20]!r}; expected e.g. '.npy'")
        out.add("." + suffix.lower().lstrip("."))
    return out
