"""Hook specifications: the one place that says what a plugin can provide.

A plugin is a module (or object) listed under the ``forensic.plugins`` entry-point group that implements some
of these hooks with the :data:`forensic_core.hookimpl` marker. Hooks are called with keyword arguments only.

Registration hooks return :class:`~forensic_core.components.ComponentSpec` lists. They must stay *light*: a
plugin's entry-point module imports only the core and pydantic, never torch/timm/open_clip/transformers; the
heavy imports belong in the spec's lazy factory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

PROJECT = "forensic"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    import click

    from forensic_core.components import ComponentSpec
    from forensic_core.engine.base import InputContext
    from forensic_core.journal import StoredReport
    from forensic_core.pipeline import Pipeline
    from forensic_core.report import InputResult
    from forensic_core.results import MediaItem


@hookspec
def forensic_register_detectors() -> Sequence[ComponentSpec]:
    """Return the detector specs this plugin provides (media -> forgery score and label).

    Called once per plugin at discovery; an exception here unregisters the plugin and is reported by
    ``forensic plugins`` without affecting other plugins.
    """


@hookspec
def forensic_register_localizers() -> Sequence[ComponentSpec]:
    """Return the localizer specs this plugin provides (media -> heatmap in [0, 1] at input resolution)."""


@hookspec
def forensic_register_explainers() -> Sequence[ComponentSpec]:
    """Return the explainer specs this plugin provides (media + deciding detector -> explanation)."""


@hookspec
def forensic_register_dialog_backends() -> Sequence[ComponentSpec]:
    """Return the dialog backend specs this plugin provides (findings + conversation -> reply)."""


@hookspec
def forensic_register_face_detectors() -> Sequence[ComponentSpec]:
    """Return the face detector specs this plugin provides (image -> faces with crop boxes and regions)."""


@hookspec
def forensic_register_engines() -> Sequence[ComponentSpec]:
    """Return the execution engine specs this plugin provides (a run plan -> results in the journal).

    The factory is called as ``factory(settings, None)`` (engines hold no pipeline models) and returns an object
    implementing :class:`forensic_core.engine.Engine`. The core registers ``local``; ``forensic run --engine
    NAME`` and the pipeline's ``engine:`` section choose one, its settings validated by the spec's model.
    """


@hookspec
def forensic_register_datasets() -> Sequence[ComponentSpec]:
    """Return the dataset reader specs this plugin provides (settings -> labelled samples).

    The factory is called as ``factory(settings, context)`` and returns an object implementing
    :class:`forensic_core.datasets.Dataset`. Readers are used by evaluation and training, never by ``run``.
    """


@hookspec
def forensic_media_suffixes() -> Sequence[str]:
    """Return the file suffixes (``".npy"``, ``".dcm"``) this plugin's ``forensic_open_media`` reads.

    Folder walks include files with these suffixes besides the core's image and video types, so a plugin's
    format is analysed inside a folder exactly as when the file is named on the command line.
    """


@hookspec
def forensic_add_commands(cli: click.Group) -> None:
    """Add commands to the ``forensic`` CLI group.

    Called when the CLI starts, so the command's *definition* must be light; import heavy modules inside the
    command body.
    """


@hookspec(firstresult=True)
def forensic_open_media(path: Path, frames: int, max_pixels: int) -> Sequence[MediaItem] | None:
    """Open ``path`` as media items, or return None to let the next opener try.

    firstresult: the first non-None answer wins. Plugins implement this for formats the core does not read
    (DICOM, RAW, ...). ``frames`` is the number of frames to sample from a video; ``max_pixels`` the
    decompression-bomb limit. Raise :class:`~forensic_core.errors.InputError` for a file you recognise but
    cannot read.
    """


@hookspec
def forensic_configure(pipeline: Pipeline) -> None:
    """Called once with the validated pipeline before any component is built (e.g. to set up logging)."""


@hookspec(firstresult=True)
def forensic_analyze_input(
    source: str, analyze: Callable[[], InputResult], context: InputContext
) -> InputResult | None:
    """Run the analysis of one input; implement it as a wrapper to time, cache or log it.

    The core's built-in implementation returns ``analyze()``. Plugins add ``@hookimpl(wrapper=True)``
    implementations around it: ``result = yield`` runs the analysis (and inner wrappers) and gives the
    :class:`~forensic_core.report.InputResult`; return it, or a modified copy. ``context`` (take it only if you
    need it) is the input's :class:`~forensic_core.engine.InputContext`: its stable ``ref`` (id, path, size),
    the ``outdir``, and ``extensions``, a dict whose entry under your plugin's name ends up in the result's
    ``extensions`` (JSON data). An exception raised here becomes this input's error; the run goes on.
    """


@hookspec
def forensic_render_report(report: StoredReport, outdir: Path) -> Sequence[Path] | None:
    """Write a rendering of ``report`` into ``outdir`` and return the files written.

    Called after report.json is written, once per run (also for interrupted runs). ``report`` has the
    attributes of :class:`~forensic_core.report.Report`, but its ``results`` are read from the journal as you
    iterate (memory stays flat: iterate once, keep little). The core's own HTML report is implemented through this
    hook; plugins may add formats (PDF, SARIF, ...). Each renderer runs on its own: one that raises is named
    on the terminal and the others, report.json and report.html still stand.
    """
