"""The session over one input's findings, and how the runner and the CLI start one."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core.api import member
from forensic_core.report import InputResult, MessageRecord
from forensic_core.results import Detection, Findings, MediaItem, Message, RegionScore

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer, Built, FrameFindings

from forensic_core.analysis import jsonable
from forensic_core.dialog.evidence import cite_findings, evidence_prompt, parse_question, relevant_evidence
from forensic_core.dialog.guards import guard_notes
from forensic_core.dialog.refine import Refiner


class DialogSession:
    """One conversation about one input: its findings, a backend, the history and follow-up analysis.

    ``backend`` implements :class:`forensic_core.protocols.DialogBackend`; ``refiner`` (optional) lets questions
    trigger extra analysis. :meth:`ask` returns the assistant's message with its citations, actions and backend.
    """

    def __init__(
        self,
        findings: Findings,
        backend: Any,
        *,
        backend_name: str | None = None,
        refiner: Refiner | None = None,
        session_id: str | None = None,
    ) -> None:
        self.id = session_id or uuid.uuid4().hex[:12]
        self.findings = findings
        self.backend = backend
        self.backend_name = backend_name or type(backend).__name__
        self.refiner = refiner
        self.history: list[Message] = []

    def region_names(self) -> set[str]:
        return {name for face in self.findings.faces for name in face.regions}

    def ask(self, question: str, *, on_text: Callable[[str], None] | None = None) -> Message:
        """Answer one question: refine if asked, let the backend write (streamed), guard, cite, remember."""
        parsed = parse_question(question, self.region_names())
        actions: list[str] = []
        if self.refiner is not None:
            observations, actions = self.refiner.run(parsed, self.findings)
            if observations:
                merged = [*self.findings.observations, *observations]
                self.findings = dataclasses.replace(self.findings, observations=tuple(merged))
        evidence = cite_findings(self.findings)
        cited = relevant_evidence(evidence, parsed)
        conversation = [
            Message("system", evidence_prompt(evidence, actions)),
            *self.history,
            Message("user", question),
        ]
        text = self._generate(conversation, on_text)
        notes = guard_notes(text, self.findings, evidence, question)
        if notes:
            addition = "\n" + "\n".join(notes)
            if on_text is not None:
                on_text(addition)
            text = text.rstrip() + addition
        answer = Message("assistant", text, evidence=tuple(cited), actions=tuple(actions), backend=self.backend_name)
        self.history += [Message("user", question), answer]
        return answer

    def _generate(self, conversation: Sequence[Message], on_text: Callable[[str], None] | None) -> str:
        reply = self.backend.reply(self.findings, conversation)
        if isinstance(reply, Message):
            if on_text is not None:
                on_text(reply.content)
            return reply.content
        if isinstance(reply, str):
            reply = [reply]
        parts = []
        for chunk in reply:
            parts.append(chunk)
            if on_text is not None:
                on_text(chunk)
        return "".join(parts).strip() or "(the backend returned no text)"

    def records(self) -> list[MessageRecord]:
        """The transcript for report.json (answers with their evidence, actions and backend)."""
        return [to_record(message) for message in self.history]


def to_record(message: Message) -> MessageRecord:
    return MessageRecord(
        role=message.role,
        content=message.content,
        evidence=[jsonable(dict(item)) for item in message.evidence],
        actions=list(message.actions),
        backend=message.backend,
    )


def findings_of(result: InputResult, focus: FrameFindings, image: np.ndarray | None = None) -> Findings:
    """The dialog's findings: the input's detections (video-level for videos, with details), the focus frame's
    maps, faces, region scores and explanations."""
    detections = {
        r.component: Detection.from_score(r.score, r.threshold, details=dict(r.details)) for r in result.detections
    }
    return Findings(
        source=result.source,
        detections=detections or dict(focus.detections),
        localizations=dict(focus.localizations),
        faces=list(focus.faces),
        regions=[RegionScore(r.face_index, r.region, r.component, r.score) for r in focus.record.regions],
        explanations=dict(focus.explanations),
        image=image,
    )


def frame_loader(analyzer: Analyzer, source: str, frame_index: int | None) -> Callable[[], MediaItem]:
    """Re-open the focus frame of an input on demand (the runner does not keep frames in memory)."""
    cache: list[MediaItem] = []

    def load() -> MediaItem:
        if not cache:
            from pathlib import Path

            from forensic_core.errors import InputError
            from forensic_core.registry import get_registry

            pipeline = analyzer.pipeline
            items = get_registry().open_media(
                path=Path(source), frames=pipeline.video.frames, max_pixels=pipeline.inputs.max_pixels
            )
            chosen = next((i for i in items if i.frame_index == frame_index), None)
            if chosen is None:
                raise InputError(f"{source}: cannot re-open frame {frame_index} for the dialog")
            cache.append(chosen)
        return cache[0]

    return load


def run_dialog(analyzer: Analyzer, result: InputResult, focus: FrameFindings) -> None:
    """The runner's entry point: ask the pipeline's dialog questions about one input, transcript into ``result``."""
    entry = analyzer.pipeline.dialog
    assert entry is not None
    built = analyzer.built[("dialog", entry.label)]
    load = frame_loader(analyzer, result.source, focus.record.index)
    image = None
    if member(built.instance, "accepts_embeddings", "dialog"):
        image = _safe_image(analyzer, built, result, load)
    session = DialogSession(
        findings_of(result, focus, image),
        built.instance,
        backend_name=entry.label,
        refiner=Refiner(analyzer, load, timings=result.timings),
    )
    from forensic_core.analysis import FrameFindings

    for question in entry.questions:
        holder = FrameFindings(record=focus.record)
        answer = analyzer.call(built, holder, result.timings, partial(session.ask, question))
        result.failures.extend(holder.failures)
        if answer is None:
            break
    assert session.refiner is not None
    result.failures.extend(session.refiner.failures)
    result.dialog = session.records()


def _safe_image(analyzer: Analyzer, built: Built, result: InputResult, load: Callable[[], MediaItem]) -> Any:
    from forensic_core.analysis import FrameFindings
    from forensic_core.report import FrameResult

    holder = FrameFindings(record=FrameResult())
    item = analyzer.call(built, holder, result.timings, load)
    result.failures.extend(holder.failures)
    return item.image if item is not None else None
