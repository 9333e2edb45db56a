"""The dialog over one input's findings: a :class:`DialogSession` holds the findings, a backend and the history.

Every answer cites the evidence it rests on (component, value, facial region, transformer block), whichever
backend wrote the text, because the citations are chosen here from the findings, not by the model
(:mod:`~forensic_core.dialog.evidence`). A follow-up may need more analysis than the pipeline ran (a detector on a
zoomed facial region, scores per region, the explainer's blocks): a :class:`Refiner` runs it with the pipeline's
own built components (:mod:`~forensic_core.dialog.refine`) and the answer lists what was run. Guard rails check
the text a backend returns (:mod:`~forensic_core.dialog.guards`): numbers must come from the findings, and an
answer that contradicts the detector gets the detector's verdict. :mod:`~forensic_core.dialog.session` holds the
session and the runner's entry point :func:`run_dialog`.
"""

from __future__ import annotations

from forensic_core.dialog.evidence import (
    SYSTEM_PROMPT,
    Evidence,
    Question,
    cite_findings,
    evidence_prompt,
    parse_question,
    place_of,
    primary_detection,
    relevant_evidence,
)
from forensic_core.dialog.guards import guard_notes, stance, unsupported_numbers
from forensic_core.dialog.refine import Refiner
from forensic_core.dialog.session import DialogSession, findings_of, frame_loader, run_dialog, to_record

__all__ = [
    "SYSTEM_PROMPT",
    "DialogSession",
    "Evidence",
    "Question",
    "Refiner",
    "cite_findings",
    "evidence_prompt",
    "findings_of",
    "frame_loader",
    "guard_notes",
    "parse_question",
    "place_of",
    "primary_detection",
    "relevant_evidence",
    "run_dialog",
    "stance",
    "to_record",
    "unsupported_numbers",
]
