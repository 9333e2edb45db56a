"""Guard rails on a backend's text: numbers must come from the findings; contradictions of the detector are flagged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from forensic_core.results import Findings

if TYPE_CHECKING:
    pass

from forensic_core.dialog.evidence import Evidence, primary_detection

_NEGATED_FAKE = re.compile(
    r"\b(not (a |an )?(deep ?fake|fake|forged|manipulated|forgery)|no (sign|evidence) of (manipulation|forgery)|"
    r"(is|looks|appears) (real|genuine|authentic|pristine)|unmanipulated)\b"
)
_FAKE = re.compile(
    r"\b((is|looks|appears|likely) (a |an )?(deep ?fake|fake|forged|manipulated|forgery)|this is a deep ?fake)\b"
)
_ASKS_FAKE = re.compile(r"\b(deep ?fake|fake|manipulated|forged|edited|tampered|altered)\b")
_ASKS_REAL = re.compile(r"\b(real|genuine|authentic|pristine|original)\b")
_YES_NO = re.compile(r"^(yes|no)\b")
_NUMBER = re.compile(r"(?<![\w.\[])(\d+(?:\.\d+)?)(\s*%)?")


def stance(text: str, question: str = "") -> str | None:
    """``"fake"``, ``"real"`` or None: what a free-text answer claims about the input.

    A bare "Yes"/"No" is read against the question ("Is it fake?" vs "Is it real?")."""
    lowered = " ".join(text.lower().split())
    if _NEGATED_FAKE.search(lowered):
        return "real"
    if _FAKE.search(lowered):
        return "fake"
    answer = _YES_NO.match(lowered)
    asked = question.lower()
    if answer is not None:
        if _ASKS_FAKE.search(asked):
            return "fake" if answer.group(1) == "yes" else "real"
        if _ASKS_REAL.search(asked):
            return "real" if answer.group(1) == "yes" else "fake"
    return None


def unsupported_numbers(text: str, evidence: Sequence[Evidence], question: str = "") -> list[str]:
    """Numbers in ``text`` that neither the evidence nor the question contains (scores may appear as percents)."""
    allowed: set[float] = set(range(13))  # counts, face and block indices in prose
    for source in [question, *(str(item["text"]) for item in evidence)]:
        allowed.update(float(match.group(1)) for match in _NUMBER.finditer(source))
    for item in evidence:
        for key in ("value", "threshold", "margin"):
            value = item.get(key)
            if isinstance(value, (int, float)):
                allowed.update({round(float(value), 2), round(100 * float(value)), round(100 * float(value), 1)})
    missing = []
    for match in _NUMBER.finditer(text):
        number = float(match.group(1))
        tolerance = 0.51 if match.group(2) else 0.006
        if not any(abs(number - value) <= tolerance for value in allowed):
            missing.append(match.group(0).strip())
    return missing


def guard_notes(text: str, findings: Findings, evidence: Sequence[Evidence], question: str) -> list[str]:
    """Guard rails: where the answer contradicts the detector or quotes numbers the findings do not hold."""
    notes = []
    primary = primary_detection(findings)
    claimed = stance(text, question)
    if primary is not None and claimed is not None and claimed != primary[1].label:
        name, detection = primary
        notes.append(
            f"Note: this answer contradicts the detector. The detector's verdict: {name} says {detection.label} "
            f"(forgery score {detection.score:.2f}, threshold {detection.threshold:.2f})."
        )
    missing = unsupported_numbers(text, evidence, question)
    if missing:
        notes.append(f"Note: the number(s) {', '.join(missing)} do not come from the findings; rely on the evidence.")
    return notes
