"""The server's data folder: uploads under generated names and one journal folder per analysis.

Layout::

    DATA/uploads/<32 hex><suffix>        the bytes as received (suffix from the detected format)
    DATA/analyses/<id>/meta.json         what was uploaded (client's file name, media, upload name, time)
    DATA/analyses/<id>/results.jsonl     the run's journal (report.json, report.html, artifacts/ beside it)

Everything is on disk, so a restarted server serves every finished analysis and resumes the ones that were
queued or running when it stopped. Artifacts are served only when the analysis's own record lists them.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, Field

from forensic_core.atomic import atomic_write_text
from forensic_core.journal import read_results
from forensic_core.report import InputResult
from forensic_serve.uploads import Sniffed, UploadRejected, sniff

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
META = "meta.json"
_CHUNK = 1 << 20


class AnalysisMeta(BaseModel):
    """``meta.json`` of one analysis."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="the analysis id (32 hex digits)")
    filename: str = Field(description="the file name the client sent (shown, never used as a path)")
    upload: str = Field(description="the stored upload's generated name under DATA/uploads")
    media: str = Field(description="image or video, as detected from the bytes")
    bytes: int = Field(ge=0, description="size of the upload")
    created: str = Field(description="when the upload was received (UTC, ISO 8601)")


def display_name(filename: str | None) -> str:
    """The client's file name reduced to something safe to show: its last path part, printable, at most 120
    characters (it is data, never a path)."""
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch if ch.isprintable() else "?" for ch in name).strip() or "upload"
    return name[:120]


class AnalysisStore:
    """Creates and reads analyses in the data folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.uploads = self.root / "uploads"
        self.analyses = self.root / "analyses"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.analyses.mkdir(parents=True, exist_ok=True)

    def receive(self, source: IO[bytes], filename: str | None, *, max_bytes: int, max_pixels: int) -> AnalysisMeta:
        """Copy an upload into DATA/uploads under a generated name, check what it is, record a new analysis."""
        label = display_name(filename)
        token = uuid.uuid4().hex
        partial = self.uploads / f"{token}.part"
        size = 0
        try:
            with open(partial, "xb") as out:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadRejected(413, f"{label}: the upload is larger than {max_bytes} bytes")
                    out.write(chunk)
            kind: Sniffed = sniff(partial, label, max_pixels)
            stored = self.uploads / f"{token}{kind.suffix}"
            partial.rename(stored)
        finally:
            partial.unlink(missing_ok=True)
        meta = AnalysisMeta(
            id=token,
            filename=label,
            upload=stored.name,
            media=kind.media,
            bytes=size,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        folder = self.analyses / token
        folder.mkdir()
        atomic_write_text(folder / META, meta.model_dump_json(indent=2))
        return meta

    def folder(self, analysis_id: str) -> Path | None:
        """The folder of an analysis id (None for anything that is not a well-formed, existing id)."""
        if not ID_PATTERN.fullmatch(analysis_id):
            return None
        folder = self.analyses / analysis_id
        return folder if (folder / META).is_file() else None

    def meta(self, analysis_id: str) -> AnalysisMeta | None:
        folder = self.folder(analysis_id)
        if folder is None:
            return None
        return AnalysisMeta.model_validate_json((folder / META).read_text(encoding="utf-8"))

    def upload_path(self, meta: AnalysisMeta) -> Path:
        return self.uploads / meta.upload

    def result(self, analysis_id: str) -> InputResult | None:
        """The finished result of an analysis (the journal's last line), or None while it is not finished."""
        folder = self.folder(analysis_id)
        if folder is None:
            return None
        found = None
        for found in read_results(folder):  # noqa: B007 - the last line of the journal wins
            pass
        return found

    def ids(self) -> Iterator[str]:
        for folder in sorted(self.analyses.iterdir()):
            if ID_PATTERN.fullmatch(folder.name) and (folder / META).is_file():
                yield folder.name

    def unfinished(self) -> list[str]:
        """Analyses recorded but without a result: queued or running when the server last stopped."""
        return [analysis_id for analysis_id in self.ids() if self.result(analysis_id) is None]

    def artifact(self, analysis_id: str, relative: str) -> Path | None:
        """The file of ``relative`` if the analysis's record lists it among its artifacts and it lies inside the
        analysis folder; None otherwise (whatever the encoding or spelling of the request)."""
        folder = self.folder(analysis_id)
        result = self.result(analysis_id) if folder is not None else None
        if folder is None or result is None or relative not in result.artifacts:
            return None
        path = (folder / relative).resolve()
        if folder.resolve() not in path.parents or not path.is_file():
            return None
        return path

    def discard(self, meta: AnalysisMeta) -> None:
        """Remove an analysis that was never queued (its upload and folder)."""
        self.upload_path(meta).unlink(missing_ok=True)
        shutil.rmtree(self.analyses / meta.id, ignore_errors=True)
