"""Dialog sessions over stored analyses: a :class:`~forensic_core.dialog.DialogSession` per session id.

A session is opened from an analysis's journal record, not from memory, so it works for analyses finished
before a restart. The findings are rebuilt from the record: detections and region scores as recorded, heatmaps
read back from their PNGs, explanation details (DAAM's block shares) from the record; the face detector runs
again on the frame (it is deterministic) to recover the region polygons that follow-up questions zoom into.
Follow-up analysis uses the server's pooled components. Each session answers one question at a time.

With a :class:`~forensic_serve.sessiondb.SessionDB` every turn is committed before the answer is returned, and a
session not in memory (evicted from the cache, or opened before a restart) is rebuilt the same way with its
stored history, so the conversation continues where it was. Observations of follow-up analysis are not stored:
asked again, they are computed again.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core.pool import ComponentPool
from forensic_core.registry import Registry, use_registry
from forensic_core.report import FrameResult, InputResult
from forensic_core.results import Box, Detection, Explanation, Face, Localization
from forensic_serve.sessiondb import SessionDB, SessionGone, from_stored, to_stored
from forensic_serve.store import AnalysisMeta, AnalysisStore

if TYPE_CHECKING:
    from forensic_core.analysis import Analyzer, FrameFindings
    from forensic_core.dialog import DialogSession
    from forensic_core.pipeline import Pipeline
    from forensic_core.results import Message


class SessionError(Exception):
    """A session that cannot be opened or used; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ServedSession:
    """A dialog session and the lock that keeps its turns in order."""

    id: str
    analysis: str
    dialog: DialogSession
    registry: Registry
    lock: threading.Lock = field(default_factory=threading.Lock)
    db: SessionDB | None = None

    def ask(self, question: str, on_text: Callable[[str], None] | None = None) -> Message:
        """One turn (follow-up analysis opens media through the registry, so it is made current here), stored
        before it is returned; a turn that cannot be stored is forgotten and raised."""
        with self.lock, use_registry(self.registry):
            answer = self.dialog.ask(question, on_text=on_text)
            if self.db is None:
                return answer
            try:
                self.db.append(self.id, [to_stored(m) for m in self.dialog.history[-2:]])
            except SessionGone:
                del self.dialog.history[-2:]
                raise SessionError(404, f"session {self.id!r} expired (retention); open a new one") from None
            except BaseException:
                del self.dialog.history[-2:]
                raise
            return answer


class SessionManager:
    """Opens sessions on analyses and keeps the ``limit`` most recent ones."""

    def __init__(
        self,
        pipeline: Pipeline | None,
        registry: Registry,
        pool: ComponentPool,
        store: AnalysisStore,
        *,
        limit: int = 256,
        unavailable: str = "",
        db: SessionDB | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.registry = registry
        self.pool = pool
        self.store = store
        self.limit = limit
        self.unavailable = unavailable
        self.db = db
        self._sessions: OrderedDict[str, ServedSession] = OrderedDict()
        self._lock = threading.Lock()
        self._analyzer: Analyzer | None = None

    def analyzer(self) -> Analyzer:
        """The dialog pipeline's components, from the server's pool (built once)."""
        from forensic_core.analysis import Analyzer

        assert self.pipeline is not None
        with self._lock:
            if self._analyzer is None:
                with use_registry(self.registry):
                    analyzer = Analyzer(self.pipeline, pool=self.pool)
                    analyzer.build()
                self._analyzer = analyzer
            return self._analyzer

    def open(self, analysis_id: str) -> ServedSession:
        if self.pipeline is None:
            raise SessionError(503, self.unavailable or "this server has no dialog backend")
        meta = self.store.meta(analysis_id)
        if meta is None:
            raise SessionError(404, f"analysis {analysis_id!r} not found; POST an upload to /v1/analyze first")
        result = self.store.result(analysis_id)
        if result is None:
            raise SessionError(409, f"analysis {analysis_id} is not finished yet; open the session when it is")
        if not result.detections and not result.localizations and not result.frames:
            why = result.error or "no results"
            raise SessionError(409, f"analysis {analysis_id} found nothing to talk about: {why}")
        with use_registry(self.registry):
            dialog = self._dialog(meta, result)
        session = ServedSession(uuid.uuid4().hex, analysis_id, dialog, self.registry, db=self.db)
        if self.db is not None:
            self.db.create(session.id, analysis_id)
        return self._keep(session)

    def _keep(self, session: ServedSession) -> ServedSession:
        """Cache ``session`` (the first one built wins when two requests rebuilt it at once)."""
        with self._lock:
            session = self._sessions.setdefault(session.id, session)
            self._sessions.move_to_end(session.id)
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str) -> ServedSession:
        """The session, from memory or rebuilt from the store with its history (slow: call it off the loop)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions.move_to_end(session_id)
                return session
        stored = self.db.get(session_id) if self.db is not None and self.pipeline is not None else None
        if stored is None:
            raise SessionError(404, f"session {session_id!r} not found (never opened, or expired); open a new one")
        meta, result = self.store.meta(stored.analysis), self.store.result(stored.analysis)
        if meta is None or result is None:
            assert self.db is not None
            self.db.delete(session_id)
            raise SessionError(404, f"session {session_id!r}: its analysis {stored.analysis} is gone; upload again")
        with use_registry(self.registry):
            dialog = self._dialog(meta, result)
        assert self.db is not None
        dialog.history = [from_stored(m) for m in self.db.messages(session_id)]
        return self._keep(ServedSession(session_id, stored.analysis, dialog, self.registry, db=self.db))

    def _dialog(self, meta: AnalysisMeta, result: InputResult) -> DialogSession:
        from forensic_core.dialog import DialogSession, Refiner, findings_of, frame_loader

        analyzer = self.analyzer()
        assert self.pipeline is not None and self.pipeline.dialog is not None
        entry = self.pipeline.dialog
        backend = analyzer.built[("dialog", entry.label)].instance
        upload = str(self.store.upload_path(meta))
        folder = self.store.analyses / meta.id
        record = focus_frame(result)
        load = frame_loader(analyzer, upload, record.index)
        focus = stored_findings(record, folder, analyzer, load)
        shown = result.model_copy(update={"source": meta.filename})
        image = load().image if getattr(backend, "accepts_embeddings", False) else None
        refiner = Refiner(analyzer, load)
        findings = findings_of(shown, focus, image)
        return DialogSession(findings, backend, backend_name=entry.label, refiner=refiner)


def focus_frame(result: InputResult) -> FrameResult:
    """The frame a dialog talks about: the image itself, or a video's most suspicious frame."""
    if not result.frames:
        return result
    return max(result.frames, key=lambda f: max((d.score for d in f.detections), default=0.0))


def stored_findings(record: FrameResult, folder: Path, analyzer: Analyzer, load: Callable[[], Any]) -> FrameFindings:
    """In-memory findings of one frame rebuilt from its record and the heatmap PNGs beside the journal."""
    from forensic_core.analysis import FrameFindings

    findings = FrameFindings(record=record)
    findings.detections = {
        d.component: Detection.from_score(d.score, d.threshold, details=dict(d.details)) for d in record.detections
    }
    for localization in record.localizations:
        heat = read_unit_map(folder / localization.heatmap)
        if heat is not None:
            findings.localizations[localization.component] = Localization(heatmap=heat)
    for explanation in record.explanations:
        findings.explanations.setdefault(
            explanation.component, Explanation(text=explanation.text, details=dict(explanation.details))
        )
    findings.faces = recorded_faces(record, analyzer, load)
    return findings


def read_unit_map(path: Path) -> np.ndarray | None:
    """A heatmap PNG written by the core (8-bit grey) as floats in [0, 1] (float32: sessions keep it in memory);
    None when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)
    except (OSError, ValueError):
        return None


def recorded_faces(record: FrameResult, analyzer: Analyzer, load: Callable[[], Any]) -> list[Face]:
    """The record's faces; with their region polygons when the face detector finds the same boxes again."""
    faces = [
        Face(box=Box(*f.box), crop_box=Box(*f.crop_box), score=f.score, region_source=f.region_source)
        for f in record.faces
    ]
    pipeline = analyzer.pipeline
    if not faces or pipeline.faces is None:
        return faces
    built = analyzer.built.get(("faces", pipeline.faces.label))
    if built is None:
        return faces
    try:
        image = load().image
        if built.lock is None:
            found = list(built.instance.detect_faces(image))
        else:
            with built.lock:
                found = list(built.instance.detect_faces(image))
    except Exception:  # the regions only refine follow-up answers: the recorded faces still stand
        return faces
    by_box = {tuple(f.box.as_list()): f for f in found}
    return [by_box.get(tuple(face.box.as_list()), face) for face in faces]
