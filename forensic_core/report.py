"""The serialised report: ``report.json`` as pydantic models.

Arrays never go into the JSON: heatmaps, masks and figures are written beside it (PNG/NPY/GIF) and referenced by
paths relative to the report, so the JSON stays small and diffable and the run can stream over many inputs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FigureRecord(_Record):
    """A picture beside the report (relative path) with its caption."""

    path: str
    caption: str = ""


class DetectionRecord(_Record):
    component: str
    score: float = Field(ge=0, le=1)
    label: str
    threshold: float = 0.5
    details: dict[str, Any] = Field(default_factory=dict)
    figures: list[FigureRecord] = Field(default_factory=list)
    faces: list[dict[str, Any]] = Field(default_factory=list, description="per-face scores when run on face crops")


class LocalizationRecord(_Record):
    component: str
    heatmap: str = Field(description="path, relative to the report, of a PNG at the input's resolution")
    heatmap_npy: str | None = None
    mask: str | None = None
    max: float = 0.0
    mean: float = 0.0
    layers: list[FigureRecord] = Field(default_factory=list)
    figures: list[FigureRecord] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class ExplanationRecord(_Record):
    component: str
    detector: str | None = None
    face_index: int | None = None
    maps: dict[str, str] = Field(default_factory=dict)
    figures: list[FigureRecord] = Field(default_factory=list)
    text: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class FaceRecord(_Record):
    index: int
    box: list[int]
    crop_box: list[int]
    score: float
    region_source: str
    regions: list[str] = Field(default_factory=list)


class RegionRecord(_Record):
    face_index: int
    region: str
    component: str
    score: float


class MessageRecord(_Record):
    """One dialog turn in the report; an answer lists the evidence it cites and the analysis run for it."""

    role: str
    content: str
    evidence: list[dict[str, Any]] = Field(
        default_factory=list,
        description="citations: each has 'component' and 'text', plus 'value', 'region', 'block' where they apply",
    )
    actions: list[str] = Field(default_factory=list, description="follow-up analysis run to answer, in words")
    backend: str | None = Field(None, description="the dialog backend that wrote this answer")


class ComponentFailure(_Record):
    component: str
    role: str
    error: str


class FrameResult(_Record):
    """Results for one video frame (or the single frame of a still image)."""

    index: int | None = None
    timestamp: float | None = None
    preview: str | None = None
    width: int = 0
    height: int = 0
    detections: list[DetectionRecord] = Field(default_factory=list)
    localizations: list[LocalizationRecord] = Field(default_factory=list)
    explanations: list[ExplanationRecord] = Field(default_factory=list)
    faces: list[FaceRecord] = Field(default_factory=list)
    regions: list[RegionRecord] = Field(default_factory=list)


class Custody(_Record):
    """Which file was analysed, exactly: enough to show later that the evidence held is the evidence analysed."""

    path: str = Field(description="the file as opened (absolute)")
    relpath: str = Field(description="path relative to the input root (a folder given, or the file's folder)")
    size: int = Field(ge=0, description="bytes")
    mtime_ns: int = Field(description="modification time when listed, in nanoseconds")
    sha256: str | None = Field(None, description="sha256 of the bytes read for the analysis")


class InputResult(FrameResult):
    """Everything found for one input. For a video, ``frames`` holds per-frame results and ``detections`` the
    video-level scores (the configured aggregate of the frame scores).

    ``extensions`` is a namespaced slot for plugins: JSON data keyed by plugin name, written by
    ``forensic_analyze_input`` wrappers or by components (through
    :func:`forensic_core.engine.current_input`); it survives into report.json and is shown in report.html.
    """

    source: str
    id: str | None = Field(None, description="stable input id (relative path, size, mtime): what --resume matches")
    custody: Custody | None = None
    artifacts: dict[str, str] = Field(
        default_factory=dict, description="sha256 of every file written for this input, by path relative to OUTDIR"
    )
    extensions: dict[str, Any] = Field(default_factory=dict, description="plugin data keyed by plugin name")
    media: Literal["image", "video", "unknown"] = "unknown"
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    failures: list[ComponentFailure] = Field(default_factory=list)
    frames: list[FrameResult] = Field(default_factory=list)
    dialog: list[MessageRecord] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per component and in total")


class ComponentProvenance(_Record):
    role: str
    component: str
    plugin: str
    version: str
    settings: dict[str, Any]
    weights: str | None = None
    seconds: float = 0.0


class Summary(_Record):
    inputs: int = 0
    ok: int = 0
    errors: int = 0
    resumed: int = Field(0, description="results that came from an earlier run of the same journal (--resume)")
    interrupted: bool = Field(False, description="the run was stopped (Ctrl-C, SIGTERM) before every input was done")
    not_started: int = Field(0, description="inputs of the plan that an interruption left unanalysed")


class Report(_Record):
    """The whole run: provenance first, then one result per input."""

    format_version: int = 1
    core_version: str
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    pipeline: str
    components: list[ComponentProvenance] = Field(default_factory=list)
    summary: Summary = Field(default_factory=Summary)
    seconds: float = 0.0
    results: list[InputResult] = Field(default_factory=list)

    def write_json(self, outdir: Path) -> Path:
        """Write ``outdir/report.json`` atomically (a temporary file renamed over the old one)."""
        from forensic_core.atomic import atomic_write_text

        path = outdir / "report.json"
        atomic_write_text(path, self.model_dump_json(indent=2))
        return path
