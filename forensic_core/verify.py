"""Chain of custody: re-hash what a run analysed and wrote, and say what changed since.

Each journal record holds the input's sha256 (computed from the bytes read for the analysis) and the sha256 of
every artifact written for it. ``forensic verify OUTDIR`` recomputes them: an analyst can show that the evidence
they hold is the evidence analysed, and that the heatmaps in the report are the ones the run produced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from forensic_core.errors import OutputError
from forensic_core.journal import JOURNAL, StoredReport, read_manifest

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    """One checked file: ``status`` is ok, changed, missing (artifact gone) or absent (input not held here)."""

    kind: str
    path: str
    status: str
    source: str
    detail: str = ""

    @property
    def problem(self) -> bool:
        return self.status in ("changed", "missing")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(partial(handle.read, _CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_run(outdir: Path) -> Iterator[Finding]:
    """Check every input that is still present and every artifact of the run in ``outdir``."""
    manifest = read_manifest(outdir)
    if manifest is None or not (outdir / JOURNAL).exists():
        raise OutputError(f"{outdir}: no run to verify here (no run.json and results.jsonl); give a run's -o folder")
    report = StoredReport.load(outdir, manifest)
    for result in report.results:
        custody = result.custody
        if custody is not None and custody.sha256:
            yield _check(Path(custody.path), custody.sha256, "input", result.source)
        for relative, expected in result.artifacts.items():
            yield _check(outdir / relative, expected, "artifact", result.source, relative)


def _check(path: Path, expected: str, kind: str, source: str, shown: str | None = None) -> Finding:
    name = shown or str(path)
    if not path.is_file():
        return Finding(kind, name, "absent" if kind == "input" else "missing", source, "not found")
    try:
        actual = sha256_file(path)
    except OSError as exc:
        return Finding(kind, name, "missing", source, f"cannot read: {exc.strerror or exc}")
    if actual != expected:
        return Finding(kind, name, "changed", source, f"sha256 {actual[:16]}... != recorded {expected[:16]}...")
    return Finding(kind, name, "ok", source)
