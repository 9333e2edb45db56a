"""Building a pipeline's components and analysing the frames of one input with them.

Faces: when the pipeline has a face detector, components of scope ``"faces"`` run on the face crops (batched) and
their results are mapped back onto the full frame (heatmaps pasted into the crop boxes, the frame score is the most
suspicious face); with no face found they fall back to the whole frame. Components of scope ``"image"`` always see
the whole frame. A failing component is recorded for that input and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from forensic_core.artifacts import ArtifactWriter
from forensic_core.context import BuildContext
from forensic_core.errors import ComponentError
from forensic_core.pipeline import ComponentEntry, Pipeline
from forensic_core.pool import Built, ComponentPool, one_line
from forensic_core.regions import region_scores
from forensic_core.report import (
    ComponentFailure,
    ComponentProvenance,
    DetectionRecord,
    ExplanationRecord,
    FaceRecord,
    FrameResult,
    LocalizationRecord,
    RegionRecord,
)
from forensic_core.results import Detection, Explanation, Face, Localization, MediaItem


@dataclass
class FrameFindings:
    """In-memory results of one frame, kept until the input's dialog is done."""

    record: FrameResult
    faces: list[Face] = field(default_factory=list)
    detections: dict[str, Detection] = field(default_factory=dict)
    localizations: dict[str, Localization] = field(default_factory=dict)
    explanations: dict[str, Explanation] = field(default_factory=dict)
    failures: list[ComponentFailure] = field(default_factory=list)


class Analyzer:
    """Analyses frames with a pipeline's components, taken from a :class:`ComponentPool`.

    Without a pool of its own it makes one and closes it in :meth:`close`; given a pool (a server, a worker
    that outlives runs), it leaves the pool open.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        fail_fast: bool = False,
        save_npy: bool = False,
        pool: ComponentPool | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.fail_fast = fail_fast
        self.save_npy = save_npy
        self.pool = pool or ComponentPool()
        self._owns_pool = pool is None
        self.built: dict[tuple[str, str], Built] = {}

    @property
    def context(self) -> BuildContext:
        return self.pool.context

    def build(self) -> None:
        """Get every component from the pool (lazy factories import heavy libraries on first build)."""
        for entry in self.pipeline.entries():
            self.built[(entry.role, entry.label)] = self.pool.get(entry)

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    def provenance(self) -> list[ComponentProvenance]:
        return [
            ComponentProvenance(
                role=built.entry.role,
                component=built.entry.label,
                plugin=built.entry.component.plugin,
                version=built.entry.component.version,
                settings=built.settings(),
                weights=built.weights(),
                seconds=round(built.seconds, 4),
            )
            for built in self.built.values()
        ]

    def call(self, built: Built, findings: FrameFindings, timings: dict[str, float], fn: Callable[[], Any]) -> Any:
        """Run one component call; any failure of the component (even ``SystemExit`` from a plugin) becomes that
        component's failure for this input. Only Ctrl-C (``KeyboardInterrupt``) goes through."""
        start = time.perf_counter()
        try:
            if built.lock is None:
                return fn()
            with built.lock:
                return fn()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if self.fail_fast:
                raise
            findings.failures.append(
                ComponentFailure(component=built.entry.label, role=built.entry.role, error=one_line(exc))
            )
            return None
        finally:
            elapsed = time.perf_counter() - start
            built.seconds += elapsed
            key = f"{built.entry.role}:{built.entry.label}"
            timings[key] = round(timings.get(key, 0.0) + elapsed, 4)

    def analyze_frame(
        self, item: MediaItem, writer: ArtifactWriter, prefix: str, timings: dict[str, float]
    ) -> FrameFindings:
        """Run faces, detectors, localizers and explainers on one frame and write its artifacts."""
        record = FrameResult(index=item.frame_index, timestamp=item.timestamp, width=item.width, height=item.height)
        record.preview = writer.preview(f"{prefix}input", item.image)
        findings = FrameFindings(record=record)
        crops: list[MediaItem] = []
        if self.pipeline.faces is not None:
            built = self.built[("faces", self.pipeline.faces.label)]
            faces = self.call(built, findings, timings, lambda: list(built.instance.detect_faces(item.image)))
            findings.faces = faces or []
            crops = [_crop(item, face) for face in findings.faces]
            record.faces = [
                FaceRecord(
                    index=i,
                    box=f.box.as_list(),
                    crop_box=f.crop_box.as_list(),
                    score=float(f.score),
                    region_source=f.region_source,
                    regions=sorted(f.regions),
                )
                for i, f in enumerate(findings.faces)
            ]

        def targets_for(entry: ComponentEntry) -> list[MediaItem]:
            return crops if entry.scope == "faces" and crops else [item]

        detector_targets: dict[str, list[MediaItem]] = {}
        per_target_detections: dict[str, list[Detection]] = {}
        for entry in self.pipeline.detectors:
            built = self.built[("detectors", entry.label)]
            targets = targets_for(entry)
            detector_targets[entry.label] = targets
            results = self.call(built, findings, timings, partial(_checked_detect, built, targets))
            if results is None:
                continue
            per_target_detections[entry.label] = results
            detection, record_ = _combine_detections(entry.label, results, targets, writer, prefix)
            findings.detections[entry.label] = detection
            record.detections.append(record_)

        heatmaps: dict[str, np.ndarray] = {}
        for entry in self.pipeline.localizers:
            built = self.built[("localizers", entry.label)]
            targets = targets_for(entry)
            results = self.call(built, findings, timings, partial(_checked_localize, built, targets))
            if results is None:
                continue
            localization = _combine_localizations(results, targets, item)
            findings.localizations[entry.label] = localization
            heatmaps[entry.label] = localization.heatmap
            record.localizations.append(
                _localization_record(entry.label, localization, results, targets, writer, prefix, self.save_npy)
            )

        if findings.faces and heatmaps:
            scores = region_scores(findings.faces, heatmaps)
            record.regions = [
                RegionRecord(face_index=s.face_index, region=s.region, component=s.component, score=round(s.score, 4))
                for s in scores
            ]

        for entry in self.pipeline.explainers:
            built = self.built[("explainers", entry.label)]
            detector_label = entry.detector or (self.pipeline.detectors[0].label if self.pipeline.detectors else None)
            detector_built = self.built.get(("detectors", detector_label)) if detector_label else None
            targets = detector_targets.get(detector_label, targets_for(entry)) if detector_label else targets_for(entry)
            detections = per_target_detections.get(detector_label) if detector_label else None
            detector = _unwrapped(detector_built.instance) if detector_built else None
            results = self.call(
                built, findings, timings, partial(_checked_explain, built, targets, detector, detections)
            )
            if results is None:
                continue
            for index, (explanation, target) in enumerate(zip(results, targets, strict=True)):
                findings.explanations.setdefault(entry.label, explanation)
                face_index = _face_index(findings.faces, target.face)
                name = f"{prefix}{entry.label}" + (f"-face{face_index}" if face_index is not None else f"-{index}")
                record.explanations.append(
                    ExplanationRecord(
                        component=entry.label,
                        detector=detector_label,
                        face_index=face_index,
                        maps={
                            key: writer.unit_map_png(f"{name}-{key}", value) for key, value in explanation.maps.items()
                        },
                        figures=[writer.figure(f"{name}-{key}", fig) for key, fig in explanation.figures.items()],
                        text=explanation.text,
                        details=jsonable(explanation.details),
                    )
                )
        return findings


def _unwrapped(instance: Any) -> Any:
    """The component itself, not the batching proxy around it: an explainer gets the detector it was written for."""
    from forensic_core.engine.batching import Batcher

    return instance.inner if isinstance(instance, Batcher) else instance


def _face_index(faces: Sequence[Face], face: Face | None) -> int | None:
    """Which face a crop was made for, by identity: two faces may have equal boxes (and arrays do not compare)."""
    if face is None:
        return None
    return next(index for index, candidate in enumerate(faces) if candidate is face)


def _revalidate(results: Sequence[Any]) -> None:
    """Run the result types' own checks again where results are serialised: a plugin that changed a frozen
    result after construction (``object.__setattr__``) fails here with the same clear message."""
    for result in results:
        result.__post_init__()


def _crop(item: MediaItem, face: Face) -> MediaItem:
    box = face.crop_box.clip(item.width, item.height)
    image = np.ascontiguousarray(item.image[box.y0 : box.y1, box.x0 : box.x1])
    return MediaItem(
        image=image, source=item.source, frame_index=item.frame_index, timestamp=item.timestamp, crop_box=box, face=face
    )


def _checked_detect(built: Built, targets: Sequence[MediaItem]) -> list[Detection]:
    results = list(built.instance.detect(targets))
    if len(results) != len(targets) or not all(isinstance(r, Detection) for r in results):
        raise ComponentError(f"detector {built.entry.label!r} returned {len(results)} results for {len(targets)} items")
    _revalidate(results)
    return results


def _checked_localize(built: Built, targets: Sequence[MediaItem]) -> list[Localization]:
    results = list(built.instance.localize(targets))
    if len(results) != len(targets) or not all(isinstance(r, Localization) for r in results):
        raise ComponentError(
            f"localizer {built.entry.label!r} returned {len(results)} results for {len(targets)} items"
        )
    for result, target in zip(results, targets, strict=True):
        if result.heatmap.shape != (target.height, target.width):
            raise ComponentError(
                f"localizer {built.entry.label!r} returned a {result.heatmap.shape} heatmap for a "
                f"{(target.height, target.width)} image"
            )
    _revalidate(results)
    return results


def _checked_explain(built: Built, targets: Sequence[MediaItem], detector: Any, detections: Any) -> list[Explanation]:
    results = list(built.instance.explain(targets, detector=detector, detections=detections))
    if len(results) != len(targets) or not all(isinstance(r, Explanation) for r in results):
        raise ComponentError(
            f"explainer {built.entry.label!r} returned {len(results)} results for {len(targets)} items"
        )
    _revalidate(results)
    return results


def jsonable(value: Any) -> Any:
    """Details must survive JSON: numpy scalars/arrays become Python values (large arrays a placeholder)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array {value.shape}>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _combine_detections(
    label: str, results: list[Detection], targets: list[MediaItem], writer: ArtifactWriter, prefix: str
) -> tuple[Detection, DetectionRecord]:
    """One detection per frame: the most suspicious face decides (a single forged face makes a forged image)."""
    best = max(range(len(results)), key=lambda i: results[i].score)
    chosen = results[best]
    faces = [
        {"face_index": i, "score": round(r.score, 6), "label": r.label}
        for i, (r, t) in enumerate(zip(results, targets, strict=True))
        if t.face is not None
    ]
    figures = [writer.figure(f"{prefix}{label}-{key}", fig) for key, fig in chosen.figures.items()]
    record = DetectionRecord(
        component=label,
        score=chosen.score,
        label=chosen.label,
        threshold=chosen.threshold,
        details=jsonable(dict(chosen.details)),
        figures=figures,
        faces=faces,
    )
    return chosen, record


def _combine_localizations(results: list[Localization], targets: list[MediaItem], item: MediaItem) -> Localization:
    """Paste crop heatmaps back into a full-frame map (maximum where crops overlap)."""
    if len(targets) == 1 and targets[0].crop_box is None:
        return results[0]
    heat = np.zeros((item.height, item.width), dtype=np.float32)
    mask = np.zeros((item.height, item.width), dtype=bool) if any(r.mask is not None for r in results) else None
    for result, target in zip(results, targets, strict=True):
        box = target.crop_box
        assert box is not None
        region = heat[box.y0 : box.y1, box.x0 : box.x1]
        np.maximum(region, result.heatmap.astype(np.float32), out=region)
        if mask is not None and result.mask is not None:
            mask[box.y0 : box.y1, box.x0 : box.x1] |= np.asarray(result.mask, dtype=bool)
    best = max(results, key=lambda r: float(r.heatmap.max()))
    return Localization(heatmap=heat, mask=mask, details=best.details)


def _localization_record(
    label: str,
    combined: Localization,
    results: list[Localization],
    targets: list[MediaItem],
    writer: ArtifactWriter,
    prefix: str,
    save_npy: bool,
) -> LocalizationRecord:
    record = LocalizationRecord(
        component=label,
        heatmap=writer.unit_map_png(f"{prefix}{label}-heatmap", combined.heatmap),
        heatmap_npy=writer.npy(f"{prefix}{label}-heatmap", combined.heatmap) if save_npy else None,
        mask=writer.mask_png(f"{prefix}{label}-mask", combined.mask) if combined.mask is not None else None,
        max=round(float(combined.heatmap.max()), 4) if combined.heatmap.size else 0.0,
        mean=round(float(combined.heatmap.mean()), 4) if combined.heatmap.size else 0.0,
        details=jsonable(dict(combined.details)),
    )
    for index, (result, target) in enumerate(zip(results, targets, strict=True)):
        where = f"face {index}: " if target.face is not None else ""
        for key, layer in result.layers.items():
            fig_name = f"{prefix}{label}-{index}-{key}"
            record.layers.append(writer.figure(fig_name, _layer_figure(layer, f"{where}{key}")))
        for key, figure in result.figures.items():
            record.figures.append(writer.figure(f"{prefix}{label}-{index}-{key}", figure))
    return record


def _layer_figure(layer: np.ndarray, caption: str) -> Any:
    from forensic_core.imaging import colorize, encode, resize_map
    from forensic_core.results import Figure

    arr = np.asarray(layer, dtype=np.float32)
    height, width = arr.shape
    scale = max(1, 128 // max(1, max(height, width)))
    if scale > 1:
        arr = resize_map(arr, (width * scale, height * scale))
    return Figure(data=encode(colorize(arr)), suffix=".png", caption=caption)
