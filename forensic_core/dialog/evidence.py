"""Findings as citations: what a question asks, which evidence answers it, and the evidence as a prompt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core.results import Detection, Findings, RegionScore

if TYPE_CHECKING:
    pass

Evidence = dict[str, Any]

SYSTEM_PROMPT = (
    "You are a deepfake-forensics assistant. Answer the user's question about one image using only the "
    "evidence below from the forensic detectors; quote its numbers exactly, never invent numbers, and say which "
    "evidence you used. Be brief."
)

_QUESTION_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("per_region", ("each region", "per region", "per-region", "all regions", "every region", "region by region")),
    ("compare", ("compare", "detectors agree", "both detectors", "versus", " vs", "other detector", "disagree")),
    ("change", ("change the verdict", "change your", "flip", "would it take", "what would change", "threshold")),
    ("zoom", ("zoom", "closer", "re-run", "rerun", "look again", "crop")),
    ("explain", ("explainer", "daam", "which block", "blocks", "attention")),
    ("why", ("why", "reason", "explain", "evidence", "how do you know")),
    ("regions", ("which facial region", "which region", "which part of the face", "facial region", "what region")),
    ("where", ("where", "location", "which part", "which area", "localize", "localise")),
    ("confidence", ("how sure", "confident", "certain", "confidence", "probability", "how likely", "score")),
    ("verdict", ("fake", "real", "manipulated", "authentic", "genuine", "edited", "forged", "tampered", "pristine")),
)


@dataclass(frozen=True)
class Question:
    """What a question asks: its kinds (``verdict``, ``where``, ``why``, ...) and the facial regions it names."""

    text: str
    kinds: frozenset[str]
    regions: tuple[str, ...] = ()

    def asks(self, *kinds: str) -> bool:
        return any(kind in self.kinds for kind in kinds)


def parse_question(text: str, region_names: Iterable[str] = ()) -> Question:
    """Classify a question by keywords; a question that matches nothing asks for a summary."""
    lowered = " " + " ".join(text.lower().replace("?", " ").replace("-", " ").split()) + " "
    kinds = {kind for kind, words in _QUESTION_KINDS if any(word.replace("-", " ") in lowered for word in words)}
    regions = []
    for name in sorted(set(region_names)):
        words = name.lower().replace("_", " ")
        base = words.split()[-1]  # "left eye" -> "eye": "the eyes" names both
        bare = f" {base} " in lowered or f" {base}s " in lowered
        sided = any(f" {side} {base}" in lowered for side in ("left", "right"))
        if f" {words} " in lowered or f" {words}s " in lowered or (bare and not sided):
            regions.append(name)
    if regions:
        kinds.add("region")
    if not kinds:
        kinds.add("summary")
    return Question(text=text, kinds=frozenset(kinds), regions=tuple(regions))


def place_of(heat: np.ndarray) -> tuple[str, tuple[int, int]]:
    """Where a map peaks, in words ("upper left", "centre", ...) and pixels (x, y)."""
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    height, width = heat.shape
    row = ("upper", "middle", "lower")[min(2, 3 * int(y) // max(1, height))]
    col = ("left", "centre", "right")[min(2, 3 * int(x) // max(1, width))]
    words = "centre" if (row, col) == ("middle", "centre") else f"{row} {col}".replace("middle ", "")
    return words, (int(x), int(y))


def primary_detection(findings: Findings) -> tuple[str, Detection] | None:
    """The pipeline's first detector decides the verdict the dialog reports."""
    return next(iter(findings.detections.items()), None)


def cite_findings(findings: Findings) -> list[Evidence]:
    """Every piece of evidence in the findings as a citation dict (``kind``, ``component``, ``text``, ...)."""
    evidence: list[Evidence] = []
    for name, detection in findings.detections.items():
        note = detection.details.get("note") if isinstance(detection.details, Mapping) else None
        text = f"{name}: forgery score {detection.score:.2f} ({detection.label}, threshold {detection.threshold:.2f})"
        evidence.append(
            {
                "kind": "detection",
                "component": name,
                "value": round(detection.score, 4),
                "label": detection.label,
                "threshold": detection.threshold,
                "margin": round(abs(detection.score - detection.threshold), 4),
                "text": text + (f"; {note}" if note else ""),
            }
        )
    best_per_region: dict[tuple[int, str], RegionScore] = {}
    for score in findings.regions:
        key = (score.face_index, score.region)
        if key not in best_per_region or score.score > best_per_region[key].score:
            best_per_region[key] = score
    for score in sorted(best_per_region.values(), key=lambda s: -s.score):
        evidence.append(
            {
                "kind": "region",
                "component": score.component,
                "value": round(score.score, 4),
                "region": score.region,
                "face": score.face_index,
                "text": f"{score.component}: mean heat {score.score:.2f} in the {region_words(score.region)} of face "
                f"{score.face_index}",
            }
        )
    for name, localization in findings.localizations.items():
        heat = np.asarray(localization.heatmap)
        if not heat.size:
            continue
        place, (x, y) = place_of(heat)
        evidence.append(
            {
                "kind": "localization",
                "component": name,
                "value": round(float(heat.max()), 4),
                "place": place,
                "text": f"{name}: strongest heat {float(heat.max()):.2f} at x={x}, y={y} ({place} of the image), "
                f"mean {float(heat.mean()):.2f}",
            }
        )
    for name, explanation in findings.explanations.items():
        evidence.extend(explanation_citations(name, explanation.details, explanation.text))
    evidence.extend(dict(observation) for observation in findings.observations)
    return evidence


def explanation_citations(name: str, details: Mapping[str, Any], text: str) -> list[Evidence]:
    shares = details.get("block_share") if isinstance(details, Mapping) else None
    if not isinstance(shares, list) or not shares:
        return [{"kind": "explanation", "component": name, "text": f"{name}: {text}" if text else name}]
    order = sorted(range(len(shares)), key=lambda b: -float(shares[b]))[:3]
    settles = details.get("settling_block")
    citations: list[Evidence] = []
    for block_index in order:
        citations.append(
            {
                "kind": "explanation",
                "component": name,
                "block": block_index + 1,
                "value": round(float(shares[block_index]), 4),
                "text": f"{name}: block {block_index + 1} of {len(shares)} adds {100 * float(shares[block_index]):.0f}%"
                f" of the accumulated evidence" + (f"; the map's layout settles by block {settles}" if settles else ""),
            }
        )
    return citations


def relevant_evidence(evidence: Sequence[Evidence], question: Question) -> list[Evidence]:
    """The citations an answer to ``question`` rests on (what backends are asked to use, and what the report cites).

    The primary detection is always cited: every answer is read against the verdict.
    """
    detections = [e for e in evidence if e["kind"] == "detection"]
    chosen: list[Evidence] = detections[:1]
    regions = [e for e in evidence if e["kind"] == "region"]
    observations = [e for e in evidence if e["kind"] == "refinement"]
    explanations = [e for e in evidence if e["kind"] == "explanation"]

    def add(items: Iterable[Evidence]) -> None:
        chosen.extend(item for item in items if item not in chosen)

    if question.asks("compare", "change"):
        add(detections)
    if question.asks("verdict", "where", "regions", "summary", "change", "why"):
        add(regions[:3] or [e for e in evidence if e["kind"] == "localization"][:2])
    if question.asks("region"):
        add(e for e in regions if e.get("region") in question.regions)
    if question.asks("per_region"):
        add(regions)
    if question.asks("why", "explain"):
        add(explanations)
        add(e for e in evidence if e["kind"] == "localization")
    add(observations if question.asks("zoom", "per_region", "region", "explain", "why") else [])
    return chosen


def evidence_prompt(evidence: Sequence[Evidence], actions: Sequence[str] = ()) -> str:
    """The system message: instructions plus the evidence as numbered lines (what a text-only model reads)."""
    lines = [SYSTEM_PROMPT, "", "Evidence:"]
    lines += [f"[{index}] {item['text']}" for index, item in enumerate(evidence, 1)] or ["(none)"]
    if actions:
        lines += ["", "Extra analysis run for this question:", *(f"- {action}" for action in actions)]
    return "\n".join(lines)


def region_words(region: str) -> str:
    return region.replace("_", " ")
