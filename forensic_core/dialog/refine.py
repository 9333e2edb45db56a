"""Follow-up analysis a question can trigger, run with the pipeline's own built components."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core.results import Box, Detection, Findings, MediaItem

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer, Built
    from forensic_core.report import ComponentFailure

from forensic_core.dialog.evidence import Evidence, Question, explanation_citations, place_of, region_words


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
                where = f"the {region_words(region)}" + (f" of face {face_index}" if face_index is not None else "")
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
            where = f"the {region_words(region)}" + (f" of face {face_index}" if face_index is not None else "")
            if not results:
                actions.append(f"ran explainer {entry.label} on {where}: failed")
                continue
            actions.append(f"ran explainer {entry.label} on {where} for detector {detector_label}")
            for citation in explanation_citations(entry.label, results[0].details, results[0].text):
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
