"""The dialog over one input's findings: questions in, answers (with the evidence they cite) into the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forensic_core.report import InputResult, MessageRecord
from forensic_core.results import Detection, Findings, Message, RegionScore

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer, FrameFindings


def run_dialog(analyzer: Analyzer, result: InputResult, focus: FrameFindings) -> None:
    entry = analyzer.pipeline.dialog
    assert entry is not None
    built = analyzer.built[("dialog", entry.label)]
    detections = {r.component: Detection.from_score(r.score, r.threshold) for r in result.detections}
    findings = Findings(
        source=result.source,
        detections=detections or focus.detections,
        localizations=focus.localizations,
        faces=focus.faces,
        regions=[RegionScore(r.face_index, r.region, r.component, r.score) for r in focus.record.regions],
        explanations=focus.explanations,
    )
    from forensic_core.analysis import FrameFindings

    holder = FrameFindings(record=focus.record)
    conversation: list[Message] = []
    for question in entry.questions:
        conversation.append(Message("user", question))
        reply = analyzer.call(built, holder, result.timings, lambda: built.instance.reply(findings, list(conversation)))
        if not isinstance(reply, Message):
            break
        conversation.append(reply)
    result.failures.extend(holder.failures)
    result.dialog = [MessageRecord(role=m.role, content=m.content) for m in conversation]
