"""A metadata detector: cheap, weak, but complementary to pixel evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image

from forensic_core import BuildContext, Detection, MediaItem

SOFTWARE_TAG = 0x0131
MAKE_TAG = 0x010F
MODEL_TAG = 0x0110

EDITED_SCORE = 0.85
CAMERA_SCORE = 0.2
UNKNOWN_SCORE = 0.4


class ExifDetector:
    """Scores the file behind each item: 0.85 when an editor is named, 0.2 with camera tags, 0.4 otherwise.

    The rule is a heuristic and says so in its details; frames of videos and unreadable files get the
    'unknown' score rather than an error, since missing metadata is not evidence of anything.
    """

    def __init__(self, settings: Any, context: BuildContext | None = None) -> None:
        self.settings = settings

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        cache: dict[str, tuple[float, dict[str, Any]]] = {}
        results = []
        for item in items:
            if item.source not in cache:
                cache[item.source] = self._score(item.source)
            score, details = cache[item.source]
            results.append(Detection.from_score(score, self.settings.threshold, details=details))
        return results

    def _score(self, source: str) -> tuple[float, dict[str, Any]]:
        try:
            with Image.open(source) as img:
                exif = img.getexif()
        except Exception:
            return UNKNOWN_SCORE, {"heuristic": True, "reason": "no readable metadata"}
        software = str(exif.get(SOFTWARE_TAG, "")).strip()
        camera = " ".join(str(exif.get(tag, "")).strip() for tag in (MAKE_TAG, MODEL_TAG)).strip()
        details: dict[str, Any] = {"heuristic": True, "software": software or None, "camera": camera or None}
        if software and any(editor in software.lower() for editor in self.settings.editors):
            return EDITED_SCORE, details | {"reason": f"edited with {software}"}
        if camera:
            return CAMERA_SCORE, details | {"reason": "camera tags present, no editor named"}
        return UNKNOWN_SCORE, details | {"reason": "no camera or software tags"}
