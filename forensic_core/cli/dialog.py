"""``forensic ask`` and ``forensic chat``: questions about one input, answered from its analysis.

Both run the pipeline's analysis of the input once (faces, detectors, localizers, explainers), then hand the
findings to a :class:`~forensic_core.dialog.DialogSession` with the pipeline's dialog backend (``grounded`` when
the pipeline names none and it is installed). Follow-up questions may run more analysis with the same built
components. Model libraries are imported inside the command bodies only.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from forensic_core.cli.base import cli
from forensic_core.cli.options import outdir_option, pipeline_option
from forensic_core.errors import ConfigError, InputError
from forensic_core.registry import get_registry

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer
    from forensic_core.dialog import DialogSession
    from forensic_core.pipeline import Pipeline
    from forensic_core.report import InputResult
    from forensic_core.results import Message

DEFAULT_BACKEND = "grounded"


@dataclass
class Conversation:
    """A session over one analysed input and what is needed to save it into a report."""

    session: DialogSession
    result: InputResult
    analyzer: Analyzer
    pipeline: Pipeline


def load_dialog_pipeline(pipeline_path: Path | None) -> Pipeline:
    """The pipeline to analyse with, with a dialog backend (``grounded`` is added when the file names none)."""
    from forensic_core.components import ComponentKind
    from forensic_core.config import load_pipeline, read_pipeline_file
    from forensic_core.defaults import default_pipeline

    registry = get_registry()
    data: Any = default_pipeline(registry) if pipeline_path is None else read_pipeline_file(pipeline_path)
    if not data.get("dialog"):
        if DEFAULT_BACKEND not in registry.names(ComponentKind.DIALOG):
            raise ConfigError(
                "the pipeline names no dialog backend and 'grounded' is not installed: "
                "pip install ./plugin_llm_dialog, or add 'dialog: NAME' to the pipeline"
            )
        data = {**data, "dialog": DEFAULT_BACKEND}
    base_dir = pipeline_path.resolve().parent if pipeline_path is not None else None
    pipeline = load_pipeline(data, registry, base_dir=base_dir)
    source = str(pipeline_path) if pipeline_path is not None else "(default)"
    return type(pipeline)(**{**pipeline.__dict__, "source": source})


def start_conversation(pipeline: Pipeline, input_path: str, outdir: Path) -> Conversation:
    """Build the pipeline, analyse the input (the most suspicious frame of a video leads) and open a session."""
    from forensic_core.analysis import Analyzer
    from forensic_core.artifacts import ArtifactWriter
    from forensic_core.dialog import DialogSession, Refiner, findings_of
    from forensic_core.report import InputResult

    registry = get_registry()
    path = Path(input_path)
    if not path.exists():
        raise InputError(f"{input_path}: no such file: give an image or video to ask about")
    registry.configure(pipeline)
    analyzer = Analyzer(pipeline)
    analyzer.build()
    items = list(registry.open_media(path=path, frames=pipeline.video.frames, max_pixels=pipeline.inputs.max_pixels))
    if not items:
        raise InputError(f"{input_path}: no frames could be read")
    result = InputResult(source=str(path), media="video" if items[0].frame_index is not None else "image")
    writer = ArtifactWriter(outdir, 0, str(path))
    analysed = []
    for item in items:
        prefix = f"frame{item.frame_index:06d}-" if item.frame_index is not None else ""
        findings = analyzer.analyze_frame(item, writer, prefix, result.timings)
        result.failures.extend(findings.failures)
        analysed.append((item, findings))
    item, focus = max(analysed, key=lambda pair: max((d.score for d in pair[1].detections.values()), default=0.0))
    for name in type(focus.record).model_fields:
        setattr(result, name, getattr(focus.record, name))
    entry = pipeline.dialog
    assert entry is not None
    backend = analyzer.built[("dialog", entry.label)].instance
    refiner = Refiner(analyzer, lambda: item, timings=result.timings, failures=result.failures)
    session = DialogSession(findings_of(result, focus, item.image), backend, backend_name=entry.label, refiner=refiner)
    return Conversation(session=session, result=result, analyzer=analyzer, pipeline=pipeline)


def verdict_of(conversation: Conversation) -> dict[str, Any] | None:
    from forensic_core.dialog import primary_detection

    primary = primary_detection(conversation.session.findings)
    if primary is None:
        return None
    name, detection = primary
    return {"component": name, "score": round(detection.score, 6), "label": detection.label}


def print_answer(answer: Message, streamed: bool, out: TextIO) -> None:
    if not streamed:
        out.write(answer.content + "\n")
    for index, item in enumerate(answer.evidence, 1):
        out.write(f"  [{index}] {item['text']}\n")
    for action in answer.actions:
        out.write(f"  ran: {action}\n")
    out.flush()


def save_transcript(conversation: Conversation, outdir: Path) -> Path:
    """Write the input's result with the transcript into OUTDIR/report.json (replacing an earlier result for the
    same input) and render the report files."""
    from forensic_core import __version__
    from forensic_core.report import Report, Summary

    outdir.mkdir(parents=True, exist_ok=True)
    conversation.result.dialog = conversation.session.records()
    path = outdir / "report.json"
    report = Report(core_version=__version__, pipeline=conversation.pipeline.source)
    if path.exists():
        with contextlib.suppress(ValueError):  # an unreadable or foreign report is replaced, not merged
            report = Report.model_validate_json(path.read_text(encoding="utf-8"))
    report.results = [r for r in report.results if r.source != conversation.result.source] + [conversation.result]
    report.components = conversation.analyzer.provenance()
    report.summary = Summary(
        inputs=len(report.results),
        ok=sum(r.status == "ok" for r in report.results),
        errors=sum(r.status != "ok" for r in report.results),
    )
    written = report.write_json(outdir)
    get_registry().render_report(report, outdir)  # type: ignore[arg-type]
    return written


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.argument("question")
@pipeline_option()
@click.option("--json", "as_json", is_flag=True, help="Print the answer, verdict and evidence as JSON.")
@outdir_option("forensic-report", "Where the analysis writes its artifacts.")
def ask(input_path: str, question: str, pipeline_path: Path | None, as_json: bool, outdir: Path) -> None:
    """Answer one question about INPUT from its analysis; the answer cites its evidence.

    \b
    Examples:
      forensic ask photo.jpg "Is this image a deepfake?"
      forensic ask photo.jpg "What about the mouth?" --json
      forensic ask -p examples/pipelines/dialog-smollm2.yaml photo.jpg "Why?"
    """
    conversation = start_conversation(load_dialog_pipeline(pipeline_path), input_path, outdir)
    try:
        streaming = not as_json and sys.stdout.isatty()
        answer = conversation.session.ask(question, on_text=_writer(sys.stdout) if streaming else None)
        if streaming:
            sys.stdout.write("\n")
        if as_json:
            payload = {
                "question": question,
                "answer": answer.content,
                "backend": answer.backend,
                "verdict": verdict_of(conversation),
                "evidence": [dict(item) for item in conversation.session.records()[-1].evidence],
                "actions": list(answer.actions),
            }
            click.echo(json.dumps(payload, indent=2))
        else:
            print_answer(answer, streaming, sys.stdout)
    finally:
        conversation.analyzer.close()


@cli.command()
@click.argument("input_path", metavar="INPUT")
@pipeline_option()
@outdir_option("forensic-report", "Where artifacts go and where /save writes report.json and report.html.")
def chat(input_path: str, pipeline_path: Path | None, outdir: Path) -> None:
    """A conversation about INPUT: one question per line; /save adds the transcript to OUTDIR's report.

    On a terminal answers stream as they are written; otherwise questions are read from stdin, one per line.
    /quit (or end of input) ends the conversation.

    \b
    Examples:
      forensic chat photo.jpg
      printf 'Is it fake?\\nWhere?\\n/save\\n' | forensic chat photo.jpg -o out
    """
    conversation = start_conversation(load_dialog_pipeline(pipeline_path), input_path, outdir)
    interactive = sys.stdin.isatty()
    streaming = sys.stdout.isatty()
    try:
        verdict = verdict_of(conversation)
        if interactive:
            summary = f"{verdict['component']} {verdict['score']:.2f} {verdict['label']}" if verdict else "no detector"
            click.echo(f"{input_path}: {summary}. Ask a question; /save writes the transcript, /quit ends.")
        while True:
            if interactive:
                click.echo("> ", nl=False)
            line = sys.stdin.readline()
            if not line:
                break
            question = line.strip()
            if not question:
                continue
            if question in ("/quit", "/exit"):
                break
            if question == "/save":
                click.echo(f"saved: {save_transcript(conversation, outdir)}")
                continue
            if not interactive:
                click.echo(f"> {question}")
            answer = conversation.session.ask(question, on_text=_writer(sys.stdout) if streaming else None)
            if streaming:
                sys.stdout.write("\n")
            print_answer(answer, streaming, sys.stdout)
    finally:
        conversation.analyzer.close()


def _writer(stream: TextIO) -> Any:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write
