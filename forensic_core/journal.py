"""The result journal: ``OUTDIR/results.jsonl``, one finished input per line, and the run's manifest.

Every finished input is appended as one JSON object (the record of report.json), after its artifacts are on
disk, then flushed and fsynced: a crash, SIGKILL or full disk loses at most the inputs in flight, and
``--resume`` skips every id already there. ``run.json`` says which pipeline wrote the journal (its digest), so
a resume with another pipeline is refused instead of mixing results. report.json and report.html are built
from the journal at the end (:mod:`forensic_core.assemble`), never from results held in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field

from forensic_core import __version__
from forensic_core.atomic import atomic_write_bytes, atomic_write_text
from forensic_core.errors import OutputError
from forensic_core.pipeline import Pipeline
from forensic_core.report import ComponentProvenance, InputResult, Summary

JOURNAL = "results.jsonl"
MANIFEST = "run.json"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
ARTIFACTS = "artifacts"
PAGES = "pages"
LOCK = ".forensic.lock"


class RunManifest(BaseModel):
    """``OUTDIR/run.json``: what wrote this folder, so a resume can check it and --overwrite can undo it."""

    model_config = ConfigDict(extra="ignore")
    format_version: int = 1
    core_version: str = __version__
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    pipeline_source: str = ""
    pipeline_digest: str
    pipeline: dict[str, Any] = Field(default_factory=dict)
    engine: str = "local"
    components: list[ComponentProvenance] = Field(default_factory=list)
    written: list[str] = Field(default_factory=list, description="other files the run wrote (renderers' output)")


def earlier_run(outdir: Path) -> bool:
    """Whether ``outdir`` holds the output of an earlier run."""
    return any((outdir / name).exists() for name in (MANIFEST, JOURNAL, REPORT_JSON))


def prepare_outdir(outdir: Path, *, resume: bool, overwrite: bool) -> None:
    """Check the output folder, then (``overwrite``) remove the earlier run; runs do this under the folder's lock
    (:func:`forensic_core.outlock.locked_outdir`)."""
    check_outdir(outdir, resume=resume, overwrite=overwrite)
    if overwrite:
        remove_run(outdir)


def check_outdir(outdir: Path, *, resume: bool, overwrite: bool) -> None:
    """Check the output folder before anything is analysed: exit-2 errors of one line, never a late crash."""
    if resume and overwrite:
        raise OutputError("--resume and --overwrite exclude each other: choose one")
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: the output folder is an existing file; choose another -o")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except NotADirectoryError:
        raise OutputError(f"{outdir}: cannot create the output folder under a file; choose another -o") from None
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder: {exc.strerror or exc}") from None
    try:
        with tempfile.NamedTemporaryFile(dir=outdir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot write to the output folder: {exc.strerror or exc}") from None
    if earlier_run(outdir) and not (resume or overwrite):
        raise OutputError(
            f"{outdir} holds an earlier run: add --resume to continue it or --overwrite to replace it "
            "(or choose another -o)"
        )


def remove_run(outdir: Path) -> None:
    """Remove what runs of this tool wrote in ``outdir`` — only that: other files stay."""
    written: list[str] = []
    manifest = read_manifest(outdir)
    if manifest is not None:
        written.extend(manifest.written)
    for record in iter_raw_records(outdir):
        written.extend(record.get("artifacts", {}))
    if manifest is None and (outdir / REPORT_JSON).exists():
        written.extend(_legacy_artifacts(outdir))
    written.extend([JOURNAL, REPORT_JSON, REPORT_HTML, MANIFEST])
    root = outdir.resolve()
    for name in dict.fromkeys(written):
        path = (outdir / name).resolve()
        if root not in path.parents or not path.is_file() or path.name == LOCK:  # a live run's lock stays
            continue
        path.unlink()
    for folder in (ARTIFACTS, PAGES):
        _prune_empty(outdir / folder)


def _legacy_artifacts(outdir: Path) -> list[str]:
    """A report.json of a run before journals: its artifact folders are ``artifacts/NNNN-name``."""
    found: list[str] = []
    for folder in sorted((outdir / ARTIFACTS).glob("[0-9][0-9][0-9][0-9]-*")):
        found.extend(p.relative_to(outdir).as_posix() for p in folder.rglob("*") if p.is_file())
    return found


def _prune_empty(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            with contextlib.suppress(OSError):
                path.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def read_manifest(outdir: Path) -> RunManifest | None:
    path = outdir / MANIFEST
    if not path.exists():
        return None
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable run manifest ({type(exc).__name__}); use --overwrite") from None


def iter_raw_records(outdir: Path) -> Iterator[dict[str, Any]]:
    """Every complete line of the journal as JSON data (a line cut by a crash is skipped)."""
    for _offset, record in _scan(outdir / JOURNAL):
        yield record


def read_results(outdir: Path) -> Iterator[InputResult]:
    """The journal's results in the order they were finished (a later line for an id replaces an earlier one
    only in the assembled report; this yields every line)."""
    for record in iter_raw_records(outdir):
        yield InputResult.model_validate(record)


def _scan(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.exists():
        return
    with open(path, "rb") as handle:
        offset = 0
        for line in handle:
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                return
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield start, record


class Journal:
    """The result sink of a run: appends, fsyncs, and knows which input ids are done."""

    def __init__(self, outdir: Path, manifest: RunManifest, done: Mapping[str, int]) -> None:
        self.outdir = outdir
        self.manifest = manifest
        self.done = dict(done)
        self.resumed = len(self.done)
        self._handle = open(outdir / JOURNAL, "ab")  # noqa: SIM115 - held for the run, closed in close()

    @classmethod
    def open(cls, outdir: Path, pipeline: Pipeline, *, resume: bool, engine: str = "local") -> Journal:
        """Start a journal in a prepared ``outdir``, or continue the one there (``resume``) after checking that
        the same pipeline wrote it."""
        digest = pipeline.digest()
        manifest = read_manifest(outdir) if resume else None
        if resume and manifest is None and (outdir / JOURNAL).exists():
            raise OutputError(f"{outdir}: the journal has no run.json, so its pipeline is unknown; use --overwrite")
        if manifest is not None and manifest.pipeline_digest != digest:
            raise OutputError(
                f"{outdir} was written by a different pipeline ({manifest.pipeline_source}, digest "
                f"{manifest.pipeline_digest[:12]} != {digest[:12]}); resume with that pipeline, or use --overwrite"
            )
        if manifest is None:
            manifest = RunManifest(
                pipeline_source=pipeline.source, pipeline_digest=digest, pipeline=pipeline.resolved(), engine=engine
            )
            atomic_write_text(outdir / MANIFEST, manifest.model_dump_json(indent=2))
        _truncate_partial_line(outdir / JOURNAL)
        done = {str(record["id"]): offset for offset, record in _scan(outdir / JOURNAL) if record.get("id")}
        return cls(outdir, manifest, done)

    def provenance(self, records: Sequence[ComponentProvenance]) -> None:
        """Record what the components are; a resume whose components load other weights is refused."""
        static = [record.model_copy(update={"seconds": 0.0}) for record in records]
        if self.manifest.components and self.resumed:
            before = {(c.role, c.component): c.weights for c in self.manifest.components}
            for record in static:
                old = before.get((record.role, record.component))
                if old is not None and old != record.weights:
                    raise OutputError(
                        f"{record.component}: its weights changed since the earlier run ({old} -> {record.weights}); "
                        "use --overwrite to analyse everything with the new weights"
                    )
        self.manifest = self.manifest.model_copy(update={"components": static})
        atomic_write_text(self.outdir / MANIFEST, self.manifest.model_dump_json(indent=2))

    def write(self, result: InputResult, files: Mapping[str, bytes] | None = None) -> None:
        """Append one finished input: its collected artifacts first, then the line, flushed and fsynced."""
        root = self.outdir.resolve()
        for relative, data in (files or {}).items():
            path = (self.outdir / relative).resolve()
            if root not in path.parents:
                raise OutputError(f"artifact path {relative!r} leaves the output folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        line = result.model_dump_json().encode("utf-8") + b"\n"
        offset = self._handle.tell()
        self._handle.write(line)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        if result.id:
            self.done[result.id] = offset

    def record_written(self, paths: Sequence[Path]) -> None:
        """Remember renderers' files (for --overwrite)."""
        names = [Path(os.path.relpath(p, self.outdir)).as_posix() for p in paths]
        written = list(dict.fromkeys([*self.manifest.written, *names]))
        self.manifest = self.manifest.model_copy(update={"written": written})
        atomic_write_text(self.outdir / MANIFEST, self.manifest.model_dump_json(indent=2))

    def close(self) -> None:
        self._handle.close()

    def stored_report(self, order: Sequence[str], *, interrupted: bool = False, seconds: float = 0.0) -> StoredReport:
        self._handle.flush()
        return StoredReport.load(
            self.outdir, self.manifest, order, interrupted=interrupted, seconds=seconds, resumed=self.resumed
        )


def _truncate_partial_line(path: Path) -> None:
    """A line cut by SIGKILL would glue itself to the next append: cut the file back to its last newline."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        data_end = handle.seek(0, os.SEEK_END)
        position = data_end
        step = 1 << 16
        while position > 0:
            start = max(0, position - step)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            position = start
        handle.truncate(0)


class JournalResults(Sequence[InputResult]):
    """The results of a journal in report order, read from disk one at a time (memory stays flat)."""

    def __init__(self, path: Path, offsets: Sequence[int]) -> None:
        self._path = path
        self._offsets = list(offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> InputResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[InputResult]: ...
    def __getitem__(self, index: int | slice) -> InputResult | list[InputResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        with open(self._path, "rb") as handle:
            handle.seek(self._offsets[index])
            return InputResult.model_validate_json(handle.readline())

    def __iter__(self) -> Iterator[InputResult]:
        with open(self._path, "rb") as handle:
            for offset in self._offsets:
                handle.seek(offset)
                yield InputResult.model_validate_json(handle.readline())


class StoredReport:
    """A report whose results stay in the journal: what renderers get (``forensic_render_report``).

    It has the attributes of :class:`forensic_core.report.Report` (``results`` is a sequence read from disk on
    access, so iterate it once rather than indexing it repeatedly) and :meth:`header` for the rest.
    """

    def __init__(
        self,
        outdir: Path,
        manifest: RunManifest,
        results: JournalResults,
        summary: Summary,
        components: list[ComponentProvenance],
        seconds: float,
    ) -> None:
        self.outdir = outdir
        self.format_version = 1
        self.core_version = __version__
        self.created = manifest.created
        self.pipeline = manifest.pipeline_source
        self.components = components
        self.summary = summary
        self.seconds = seconds
        self.results = results

    def header(self) -> dict[str, Any]:
        """report.json without its results, as JSON data."""
        return {
            "format_version": self.format_version,
            "core_version": self.core_version,
            "created": self.created,
            "pipeline": self.pipeline,
            "components": [c.model_dump(mode="json") for c in self.components],
            "summary": self.summary.model_dump(mode="json"),
            "seconds": self.seconds,
        }

    @classmethod
    def load(
        cls,
        outdir: Path,
        manifest: RunManifest,
        order: Sequence[str] = (),
        *,
        interrupted: bool = False,
        seconds: float = 0.0,
        resumed: int = 0,
    ) -> StoredReport:
        """Index the journal: the last line of each id, in plan order then journal order; summary and per
        component time summed from the records."""
        last: dict[str, int] = {}
        anonymous: list[int] = []
        status: dict[int, str] = {}
        timing: dict[str, float] = {}
        for offset, record in _scan(outdir / JOURNAL):
            key = record.get("id")
            if key:
                last.pop(str(key), None)
                last[str(key)] = offset
            else:
                anonymous.append(offset)
            status[offset] = str(record.get("status", "error"))
            for name, value in (record.get("timings") or {}).items():
                if isinstance(value, (int, float)) and name != "total":
                    timing[name] = timing.get(name, 0.0) + float(value)
        position = {key: index for index, key in enumerate(order)}
        ordered = sorted(last.items(), key=lambda item: (position.get(item[0], len(position)), item[1]))
        offsets = [offset for _key, offset in ordered] + anonymous
        planned_done = sum(1 for key in order if key in last)
        summary = Summary(
            inputs=len(offsets),
            ok=sum(status[o] == "ok" for o in offsets),
            errors=sum(status[o] != "ok" for o in offsets),
            resumed=resumed,
            interrupted=interrupted,
            not_started=max(0, len(order) - planned_done) if interrupted else 0,
        )
        components = [
            c.model_copy(update={"seconds": round(timing.get(f"{c.role}:{c.component}", 0.0), 4)})
            for c in manifest.components
        ]
        return cls(outdir, manifest, JournalResults(outdir / JOURNAL, offsets), summary, components, seconds)
