"""The classic components: factories named by :mod:`forensic_classic.plugin`, loaded on first use.

The localizers and the detector of one pipeline share an :class:`EvidenceCache` (through the build context),
so a pipeline that shows the ELA heatmap *and* scores with the classic detector computes ELA once per image.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from forensic_classic.blindnoise import blindnoise_cells
from forensic_classic.dq import dq_cells
from forensic_classic.ela import CellMap, ela_cells
from forensic_classic.ghost import ghost_cells
from forensic_classic.imaging import JPEG_BLOCK, squash, upsample
from forensic_classic.nadjpg import nadjpg_cells
from forensic_classic.noise import noise_cells
from forensic_classic.plugin import (
    BlindNoiseSettings,
    ClassicDetectorSettings,
    DqSettings,
    ElaSettings,
    FusedSettings,
    GhostSettings,
    NadjpgSettings,
    NoiseSettings,
)
from forensic_classic.scoring import REFERENCE, RULE, combine, concentration, logistic
from forensic_core import BuildContext, Detection, Localization, MediaItem

MapSettings = ElaSettings | NoiseSettings | GhostSettings | DqSettings | NadjpgSettings | BlindNoiseSettings


def compute_cells(name: str, image: np.ndarray, settings: Any) -> CellMap:
    """Run evidence map ``name`` (see ``DEFAULT_SETTINGS``) on an H x W x 3 uint8 image."""
    if name == "ela":
        return ela_cells(image, settings.qualities, smoothing=settings.smoothing, two_sided=settings.two_sided)
    if name == "noise":
        return noise_cells(
            image, block=settings.block, edge_quantile=settings.edge_quantile, smoothing=settings.smoothing
        )
    if name == "ghost":
        return ghost_cells(image, settings.qualities, smoothing=settings.smoothing)
    if name == "dq":
        return dq_cells(image, smoothing=settings.smoothing, frequencies=settings.frequencies)
    if name == "nadjpg":
        return nadjpg_cells(
            image,
            smoothing=settings.smoothing,
            window=settings.window,
            min_z=settings.min_z,
            max_blocks=settings.max_blocks,
        )
    if name == "blindnoise":
        return blindnoise_cells(image, window=settings.window)
    raise ValueError(f"unknown evidence map {name!r}")


DEFAULT_SETTINGS: dict[str, Callable[[], Any]] = {
    "ela": ElaSettings,
    "noise": NoiseSettings,
    "ghost": GhostSettings,
    "dq": DqSettings,
    "nadjpg": NadjpgSettings,
    "blindnoise": BlindNoiseSettings,
}


class EvidenceCache:
    """A small LRU of cell maps keyed by (map, settings, image digest), safe to share between components."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, str], CellMap] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(image: np.ndarray) -> str:
        return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).hexdigest() + str(image.shape)

    def cells(self, name: str, image: np.ndarray, settings: Any) -> CellMap:
        key = (name, settings.model_dump_json(), self.digest(image))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        result = compute_cells(name, image, settings)
        with self._lock:
            self._entries[key] = result
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return result


def shared_cache(context: BuildContext | None) -> EvidenceCache:
    if context is None:
        return EvidenceCache()
    return context.shared("forensic_classic.evidence", EvidenceCache)


def heatmap_from_cells(cells: CellMap, shape: tuple[int, int], z_half: float) -> np.ndarray:
    """Cell z-scores -> H x W heat in [0, 1]: the logistic of :func:`squash` per cell, then bilinear upsampling.

    Squashing the cell map (~1/64 of the pixels) before upsampling costs almost nothing on a 12-megapixel photo,
    and a bilinear blend of values in [0, 1] stays in [0, 1].
    """
    heat = upsample(squash(cells.z, center=z_half, width=1.0), shape, cells.block)
    return np.clip(heat, 0.0, 1.0)


class MapLocalizer:
    """A localizer showing one evidence map as a heatmap (heat 0.5 = ``z_half`` robust z-units)."""

    def __init__(self, name: str, settings: MapSettings, cache: EvidenceCache) -> None:
        self.name = name
        self.settings = settings
        self.cache = cache

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        results = []
        for item in items:
            cells = self.cache.cells(self.name, item.image, self.settings)
            heat = heatmap_from_cells(cells, (item.height, item.width), self.settings.z_half)
            mask = heat >= 0.5
            details = {
                "method": self.name,
                **cells.details,
                "cell_size": cells.block,
                "z_half": self.settings.z_half,
                "max_z": round(float(cells.z.max()), 3),
                "flagged_fraction": round(float(mask.mean()), 4),
            }
            results.append(Localization(heatmap=heat, mask=mask, details=details))
        return results


class FusedLocalizer:
    """Adaptive evidence: per image, each map counts as much as it "believes" it found something.

    A map's confidence is the classic detector's per-map score, ``logistic((concentration - reference) /
    (slope * reference))`` with concentration = the most anomalous window's mean robust z minus the median (see
    scoring.py): a map whose scenario does not apply is diffuse and gets a weight near 0, one showing a compact
    strong anomaly gets a weight near 1. The ``anchor`` map always has weight 1. The heatmap is the weighted
    average of the maps' heats (each ``logistic(z - z_half)``), so it stays in [0, 1]; the maps come from the
    shared evidence cache, so sibling localizers and the detector do not recompute them.
    """

    def __init__(self, settings: FusedSettings, cache: EvidenceCache) -> None:
        self.settings = settings
        self.cache = cache

    def evidence(self, image: np.ndarray) -> tuple[dict[str, CellMap], dict[str, float], dict[str, float]]:
        """Cell maps, concentrations and confidences (the detector's per-map scores) for one image."""
        s = self.settings
        maps: dict[str, CellMap] = {
            name: self.cache.cells(name, image, DEFAULT_SETTINGS[name]()) for name in s.evidence
        }
        stats: dict[str, float] = {name: concentration(cells.z, s.window) for name, cells in maps.items()}
        confidence: dict[str, float] = {
            name: logistic(value, REFERENCE[name], s.slope * REFERENCE[name]) for name, value in stats.items()
        }
        return maps, stats, confidence

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        return [self._localize_one(item) for item in items]

    def _localize_one(self, item: MediaItem) -> Localization:
        s = self.settings
        maps, stats, confidence = self.evidence(item.image)
        weights = {name: 1.0 if name == s.anchor else value for name, value in confidence.items()}
        rows = min(cells.z.shape[0] for cells in maps.values())
        cols = min(cells.z.shape[1] for cells in maps.values())
        total = sum(weights.values())
        if total <= 1e-9:  # every map is flat: average them evenly rather than divide by ~0
            weights, total = dict.fromkeys(weights, 1.0), float(len(weights))
        cell_heat = np.zeros((rows, cols), dtype=np.float64)
        for name, cells in maps.items():
            cell_heat += (weights[name] / total) * squash(cells.z[:rows, :cols], center=s.z_half, width=1.0)
        heat = np.clip(upsample(cell_heat, (item.height, item.width), JPEG_BLOCK), 0.0, 1.0)
        mask = heat >= 0.5
        details: dict[str, Any] = {
            "method": "fused",
            "evidence": list(s.evidence),
            "anchor": s.anchor,
            "rule": "heat = sum over maps of weight * logistic(z - z_half) / sum of weights; weight = 1 for the "
            "anchor, else logistic((concentration - reference) / (slope * reference))",
            "concentration": {name: round(value, 4) for name, value in stats.items()},
            "confidence": {name: round(value, 4) for name, value in confidence.items()},
            "weights": {name: round(value / total, 4) for name, value in weights.items()},
            "most_confident": max(confidence, key=confidence.__getitem__),
            "cell_size": JPEG_BLOCK,
            "z_half": s.z_half,
            "flagged_fraction": round(float(mask.mean()), 4),
        }
        return Localization(heatmap=heat, mask=mask, details=details)


class ClassicDetector:
    """Heuristic splice score from the concentration of anomaly in the chosen evidence maps (see scoring.py)."""

    def __init__(self, settings: ClassicDetectorSettings, cache: EvidenceCache) -> None:
        self.settings = settings
        self.cache = cache

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [self._detect_one(item) for item in items]

    def _detect_one(self, item: MediaItem) -> Detection:
        s = self.settings
        stats: dict[str, float] = {}
        for name in s.evidence:
            cells = self.cache.cells(name, item.image, DEFAULT_SETTINGS[name]())
            stats[name] = concentration(cells.z, s.window)
        score, per_map = combine(stats, s.slope)
        details = {
            "heuristic": True,
            "rule": RULE,
            "evidence": list(s.evidence),
            "window": s.window,
            "slope": s.slope,
            "reference": {name: REFERENCE[name] for name in s.evidence},
            "concentration": {name: round(value, 4) for name, value in stats.items()},
            "map_scores": {name: round(value, 4) for name, value in per_map.items()},
            "strongest": max(per_map, key=per_map.__getitem__),
        }
        return Detection.from_score(score, s.threshold, details=details)


def build_ela(settings: ElaSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("ela", settings, shared_cache(context))


def build_noise(settings: NoiseSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("noise", settings, shared_cache(context))


def build_dq(settings: DqSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("dq", settings, shared_cache(context))


def build_ghost(settings: GhostSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("ghost", settings, shared_cache(context))


def build_nadjpg(settings: NadjpgSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("nadjpg", settings, shared_cache(context))


def build_blindnoise(settings: BlindNoiseSettings, context: BuildContext | None = None) -> MapLocalizer:
    return MapLocalizer("blindnoise", settings, shared_cache(context))


def build_fused(settings: FusedSettings, context: BuildContext | None = None) -> FusedLocalizer:
    return FusedLocalizer(settings, shared_cache(context))


def build_classic_detector(settings: ClassicDetectorSettings, context: BuildContext | None = None) -> ClassicDetector:
    return ClassicDetector(settings, shared_cache(context))
