"""The components, built by the factories the specs name (``factory(settings, context)``)."""

import io

import numpy as np
from PIL import Image

from forensic_core import Box, Detection, Explanation, Face, Figure, Localization, Message


class MeanDetector:
    def __init__(self, settings, context):
        self.settings = settings

    def detect(self, items):
        return [Detection.from_score(float(i.image.mean()) / 255.0, self.settings.threshold) for i in items]


class ContrastLocalizer:
    def __init__(self, settings, context):
        self.settings = settings

    def localize(self, items):
        return [Localization(heatmap=self._contrast(i.image)) for i in items]

    def _contrast(self, image):
        grey = image.astype(np.float64).mean(axis=2)
        pad = self.settings.window // 2
        padded = np.pad(grey, pad, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (self.settings.window, self.settings.window))
        spread = windows.max(axis=(2, 3)) - windows.min(axis=(2, 3))
        return (spread / 255.0).astype(np.float32)


class OcclusionExplainer:
    def __init__(self, settings, context):
        self.settings = settings

    def explain(self, items, *, detector, detections):
        return [self._one(item, detector) for item in items]

    def _one(self, item, detector):
        height, width = item.image.shape[:2]
        heat = np.zeros((height, width), dtype=np.float64)
        if detector is not None:
            base = detector.detect([item])[0].score
            size = self.settings.patch
            for top in range(0, height, size):
                for left in range(0, width, size):
                    occluded = item.image.copy()
                    occluded[top : top + size, left : left + size] = 128
                    changed = type(item)(image=occluded, source=item.source)
                    heat[top : top + size, left : left + size] = abs(base - detector.detect([changed])[0].score)
        if heat.max() > 0:
            heat = heat / heat.max()
        buffer = io.BytesIO()
        Image.fromarray((heat * 255).astype(np.uint8)).save(buffer, format="PNG")
        return Explanation(
            maps={"occlusion": heat.astype(np.float32)},
            figures={"occlusion": Figure(data=buffer.getvalue(), suffix=".png", caption="score drop")},
            text="brighter squares changed the score more when hidden",
        )


class EchoBackend:
    def __init__(self, settings, context):
        self.settings = settings

    def reply(self, findings, conversation):
        name, detection = next(iter(findings.detections.items()))
        text = f"{self.settings.prefix} {detection.label} ({name} scored {detection.score:.2f})."
        return Message("assistant", text)


class CentreFaces:
    def __init__(self, settings, context):
        self.settings = settings

    def detect_faces(self, image):
        height, width = image.shape[:2]
        half_w = max(1, int(width * self.settings.fraction / 2))
        half_h = max(1, int(height * self.settings.fraction / 2))
        box = Box(width // 2 - half_w, height // 2 - half_h, width // 2 + half_w, height // 2 + half_h)
        return [Face(box=box, crop_box=box, score=1.0)]
