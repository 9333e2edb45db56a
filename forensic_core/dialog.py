"""The dialog over one input's findings: a :class:`DialogSession` holds the findings, a backend and the history.

Every answer cites the evidence it rests on (component, value, facial region, transformer block), whichever
backend wrote the text, because the citations are chosen here from the findings, not by the model. A follow-up
may need more analysis than the pipeline ran (a detector on a zoomed facial region, scores per region, the
explainer's blocks): a :class:`Refiner` runs it with the pipeline's own built components and adds the results to
the findings as observations, and the answer lists what was run. Guard rails check the text a backend returns:
numbers must come from the findings, and an answer that contradicts the detector gets the detector's verdict.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core.report import InputResult, MessageRecord
from forensic_core.results import Box, Detection, Findings, MediaItem, Message, RegionScore

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer, Built, FrameFindings
    from forensic_core.report import ComponentFailure

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
                "text": f"{score.component}: mean heat {score.score:.2f} in the {_words(score.region)} of face "
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
        evidence.extend(_explanation_citations(name, explanation.details, explanation.text))
    evidence.extend(dict(observation) for observation in findings.observations)
    return evidence


def _explanation_citations(name: str, details: Mapping[str, Any], text: str) -> list[Evidence]:
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


@dataclass
class Refiner:
    """Runs follow-up analysis on the input's frame with the pipeline's built components.

    ``frame`` returns the analysed frame (called only when a question needs more analysis, so the runner need
    not keep images in memory); failures are collected like those of the main analysis.
    """

    analyzer: Analyzer
    frame: Callable[[], MediaItem]
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[ComponentFailure] = field(default_factory=list)
    margin: float = 0.5
    max_regions: int = 12

    def run(self, question: Question, findings: Findings) -> tuple[list[Evidence], list[str]]:
        """The observations and action descriptions this question calls for (nothing for plain questions)."""
        observations: list[Evidence] = []
        actions: list[str] = []
        targets: list[tuple[str, int | None, Box]] = []
        if question.asks("per_region"):
            targets = list(_region_boxes(findings))[: self.max_regions]
        elif question.regions:
            targets = [t for t in _region_boxes(findings) if t[0] in question.regions]
        elif question.asks("zoom"):
            targets = _most_suspicious_box(findings)
        if targets:
            observations, actions = self._rerun_detectors(targets)
        if question.asks("explain", "why") and self.analyzer.pipeline.explainers:
            missing = [e for e in self.analyzer.pipeline.explainers if e.label not in findings.explanations]
            if question.regions or question.asks("explain") or missing:
                explained, ran = self._run_explainers(targets[:1] or _face_box(findings))
                observations += explained
                actions += ran
        return observations, actions

    def _rerun_detectors(self, targets: Sequence[tuple[str, int | None, Box]]) -> tuple[list[Evidence], list[str]]:
        item = self.frame()
        observations: list[Evidence] = []
        actions: list[str] = []
        for entry in self.analyzer.pipeline.detectors:
            built = self.analyzer.built[("detectors", entry.label)]
            for region, face_index, box in targets:
                crop = _zoomed_item(item, box, self.margin, region)
                results = self._call(built, partial(_detect, built.instance, crop))
                where = f"the {_words(region)}" + (f" of face {face_index}" if face_index is not None else "")
                if not results:
                    actions.append(f"re-ran detector {entry.label} on a zoomed crop of {where}: failed")
                    continue
                detection = results[0]
                shown = crop.crop_box.as_list() if crop.crop_box is not None else []
                actions.append(f"re-ran detector {entry.label} on a zoomed crop of {where} {shown}")
                observations.append(
                    {
                        "kind": "refinement",
                        "component": entry.label,
                        "value": round(detection.score, 4),
                        "label": detection.label,
                        "region": region,
                        "face": face_index,
                        "text": f"{entry.label} on a zoomed crop of {where}: forgery score {detection.score:.2f} "
                        f"({detection.label})",
                    }
                )
        return observations, actions

    def _run_explainers(self, targets: Sequence[tuple[str, int | None, Box]]) -> tuple[list[Evidence], list[str]]:
        item = self.frame()
        observations: list[Evidence] = []
        actions: list[str] = []
        region, face_index, box = targets[0] if targets else ("image", None, Box(0, 0, item.width, item.height))
        crop = _zoomed_item(item, box, self.margin if region != "face" else 0.0, region)
        for entry in self.analyzer.pipeline.explainers:
            built = self.analyzer.built[("explainers", entry.label)]
            detector_label = entry.detector or (
                self.analyzer.pipeline.detectors[0].label if self.analyzer.pipeline.detectors else None
            )
            detector = self.analyzer.built.get(("detectors", detector_label)) if detector_label else None
            instance = detector.instance if detector is not None else None
            detections = self._call(detector, partial(_detect, instance, crop)) if detector is not None else None
            results = self._call(built, partial(_explain, built.instance, crop, instance, detections))
            where = f"the {_words(region)}" + (f" of face {face_index}" if face_index is not None else "")
            if not results:
                actions.append(f"ran explainer {entry.label} on {where}: failed")
                continue
            actions.append(f"ran explainer {entry.label} on {where} for detector {detector_label}")
            for citation in _explanation_citations(entry.label, results[0].details, results[0].text):
                citation.update({"kind": "refinement", "region": region, "face": face_index})
                citation["text"] = f"{citation['text']} (on {where})"
                observations.append(citation)
        return observations, actions

    def _call(self, built: Built | None, fn: Callable[[], Any]) -> Any:
        from forensic_core.analysis import FrameFindings
        from forensic_core.report import FrameResult

        if built is None:
            return None
        holder = FrameFindings(record=FrameResult())
        result = self.analyzer.call(built, holder, self.timings, fn)
        self.failures.extend(holder.failures)
        return result


def _detect(detector: Any, item: MediaItem) -> list[Detection]:
    return list(detector.detect([item]))


def _explain(explainer: Any, item: MediaItem, detector: Any, detections: Any) -> list[Any]:
    return list(explainer.explain([item], detector=detector, detections=detections))


def _words(region: str) -> str:
    return region.replace("_", " ")


def _region_boxes(findings: Findings) -> Iterable[tuple[str, int | None, Box]]:
    for face_index, face in enumerate(findings.faces):
        for name, polygon in sorted(face.regions.items()):
            points = np.asarray(polygon, dtype=np.float64)
            if points.size == 0:
                continue
            x0, y0 = int(np.floor(points[:, 0].min())), int(np.floor(points[:, 1].min()))
            x1, y1 = int(np.ceil(points[:, 0].max())) + 1, int(np.ceil(points[:, 1].max())) + 1
            if x1 > x0 and y1 > y0:
                yield name, face_index, Box(x0, y0, x1, y1)


def _face_box(findings: Findings) -> list[tuple[str, int | None, Box]]:
    return [("face", 0, findings.faces[0].crop_box)] if findings.faces else []


def _most_suspicious_box(findings: Findings) -> list[tuple[str, int | None, Box]]:
    """The named region with the most heat, else a box around the strongest heat of the first localization."""
    if findings.regions:
        top = max(findings.regions, key=lambda s: s.score)
        return [t for t in _region_boxes(findings) if (t[0], t[1]) == (top.region, top.face_index)][:1]
    for localization in findings.localizations.values():
        heat = np.asarray(localization.heatmap)
        if heat.size:
            _, (x, y) = place_of(heat)
            half = max(8, min(heat.shape) // 6)
            return [("area of strongest heat", None, Box(x - half, y - half, x + half, y + half))]
    return []


def _zoomed_item(item: MediaItem, box: Box, margin: float, region: str) -> MediaItem:
    pad_x, pad_y = int(box.width * margin / 2), int(box.height * margin / 2)
    grown = Box(box.x0 - pad_x, box.y0 - pad_y, box.x1 + pad_x, box.y1 + pad_y).clip(item.width, item.height)
    image = np.ascontiguousarray(item.image[grown.y0 : grown.y1, grown.x0 : grown.x1])
    return MediaItem(
        image=image,
        source=f"{item.source}#zoom={region}",
        frame_index=item.frame_index,
        timestamp=item.timestamp,
        crop_box=grown,
    )


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
        evidence=[_jsonable(dict(item)) for item in message.evidence],
        actions=list(message.actions),
        backend=message.backend,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    if getattr(built.instance, "accepts_embeddings", False):
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
