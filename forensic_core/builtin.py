"""The core's own plugin: built-ins go through the same hooks as third-party code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forensic_core.components import ComponentSpec, NoSettings
from forensic_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from forensic_core.journal import StoredReport
    from forensic_core.report import InputResult
    from forensic_core.results import MediaItem


@hookimpl
def forensic_register_engines() -> Sequence[ComponentSpec]:
    """The local engine: inputs one after another in this process."""
    return [
        ComponentSpec(
            name="local",
            summary="analyse inputs one after another in this process (the default engine)",
            settings=NoSettings,
            factory="forensic_core.engine.local:LocalEngine",
            thread_safe=True,
        )
    ]


@hookimpl(trylast=True)
def forensic_open_media(path: Path, frames: int, max_pixels: int) -> Sequence[MediaItem] | None:
    """Images with Pillow, videos with OpenCV (the fallback opener: plugins' openers run first)."""
    from forensic_core.media import open_media

    return open_media(path, frames=frames, max_pixels=max_pixels)


@hookimpl(trylast=True)
def forensic_analyze_input(source: str, analyze: Callable[[], InputResult]) -> InputResult:
    """The analysis itself; plugins wrap it with ``@hookimpl(wrapper=True)``."""
    return analyze()


@hookimpl
def forensic_render_report(report: StoredReport, outdir: Path) -> Sequence[Path]:
    """The HTML report: one self-contained page, or an index with a page per input for large runs."""
    from forensic_core.html_report import render_html

    return render_html(report, outdir)
