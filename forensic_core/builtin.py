"""The core's own plugin: built-ins go through the same hooks as third-party code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forensic_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from forensic_core.report import InputResult, Report
    from forensic_core.results import MediaItem


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
def forensic_render_report(report: Report, outdir: Path) -> Sequence[Path]:
    """The self-contained HTML report."""
    from forensic_core.html_report import render_html

    return [render_html(report, outdir)]
