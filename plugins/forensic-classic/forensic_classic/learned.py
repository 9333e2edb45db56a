"""The learned detector: a calibrated logistic model over the classic evidence maps, evaluated with numpy.

The model (``learned_model.json`` next to this module, a few KB) was fitted by the project on its own photo kit
(:mod:`forensic_classic.photokit`; refit with ``python benchmarks/fit_classic.py``). At run time it needs
nothing beyond numpy: standardise the image's features (:mod:`forensic_classic.features`), take the linear
decision value, and map it through the Platt calibration fitted on out-of-fold predictions. The score is therefore
a probability: the chance that an image like the kit's (a real photo, at most once locally edited, JPEG-saved once
or twice) is edited, at the prior the model file states. The file also records the measured operating point:
the share of held-out pristine and edited kit images scored at or above 0.5.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from forensic_classic.components import DEFAULT_SETTINGS, EvidenceCache, shared_cache
from forensic_classic.features import feature_names, feature_vector
from forensic_classic.plugin import LearnedDetectorSettings
from forensic_core import BuildContext, Detection, MediaItem
from forensic_core.errors import ConfigError

MODEL_FILE = Path(__file__).with_name("learned_model.json")


@dataclass(frozen=True)
class LearnedModel:
    """Standardised logistic regression + Platt calibration, as written by :mod:`forensic_classic.fitting`."""

    maps: tuple[str, ...]
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    slope: float
    offset: float
    info: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "model") -> LearnedModel:
        try:
            maps = tuple(data["maps"])
            model = cls(
                maps=maps,
                features=tuple(data["features"]),
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=float(data["intercept"]),
                slope=float(data["platt"]["slope"]),
                offset=float(data["platt"]["offset"]),
                info={k: data[k] for k in ("prior", "fit", "held_out") if k in data},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{source}: not a learned-detector model ({exc}); refit with benchmarks/fit_classic.py"
            ) from exc
        unknown = [name for name in maps if name not in DEFAULT_SETTINGS]
        if unknown:
            raise ConfigError(f"{source}: unknown evidence map(s) {unknown}; known: {sorted(DEFAULT_SETTINGS)}")
        expected = feature_names(maps)
        sizes = {model.mean.size, model.scale.size, model.coef.size}
        if list(model.features) != expected or sizes != {len(expected)}:
            raise ConfigError(
                f"{source}: its features do not match this version of forensic-classic's; refit with "
                "benchmarks/fit_classic.py"
            )
        return model

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> LearnedModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the learned-detector model ({exc})") from exc
        return cls.from_json(data, str(path))

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Each feature's share of the decision value (coefficient x standardised feature)."""
        return self.coef * (np.asarray(features, dtype=np.float64) - self.mean) / self.scale

    def probability(self, features: np.ndarray) -> float:
        decision = float(self.contributions(features).sum()) + self.intercept
        value = self.slope * decision + self.offset
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, value))))


@lru_cache(maxsize=4)
def _load(path: str) -> LearnedModel:
    return LearnedModel.load(Path(path))


class LearnedDetector:
    """Calibrated probability of a local edit from the classic maps (by default dq, ghost, blindnoise, noise, ela)
    and the copy-move trace."""

    def __init__(self, settings: LearnedDetectorSettings, cache: EvidenceCache) -> None:
        self.settings = settings
        self.cache = cache
        self.model = _load(str(Path(settings.model) if settings.model else MODEL_FILE))

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [self._detect_one(item) for item in items]

    def _detect_one(self, item: MediaItem) -> Detection:
        model = self.model
        cells = {name: self.cache.cells(name, item.image, DEFAULT_SETTINGS[name]()) for name in model.maps}
        features = feature_vector(item.image, cells, model.maps)
        score = model.probability(features)
        shares = model.contributions(features)
        order = np.argsort(-np.abs(shares))[:5]
        details = {
            "calibrated": True,
            "meaning": "probability that the image is locally edited (splice, copy-move, retouch, inpainting, "
            f"face swap), at a prior of {model.info.get('prior', 0.5)}; fitted on the project's photo kit",
            "evidence": list(model.maps),
            "operating_point": model.info.get("held_out", {}),
            "top_features": {model.features[i]: round(float(shares[i]), 4) for i in order},
        }
        return Detection.from_score(score, self.settings.threshold, details=details)


def build_learned_detector(settings: LearnedDetectorSettings, context: BuildContext | None = None) -> LearnedDetector:
    return LearnedDetector(settings, shared_cache(context))
