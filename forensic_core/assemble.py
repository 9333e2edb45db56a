"""report.json from the journal, streamed and written atomically; then every renderer, each on its own.

Only one result is in memory at a time, so assembling a report of a million inputs needs no more memory than
one of ten. A crash or a full disk while writing leaves the previous report.json in place.
"""

from __future__ import annotations

import json
from pathlib import Path

from forensic_core.atomic import atomic_writer
from forensic_core.journal import REPORT_JSON, StoredReport
from forensic_core.registry import Registry

_PLACEHOLDER = "\x00results\x00"


def write_report_json(report: StoredReport, outdir: Path) -> Path:
    """Write ``outdir/report.json``: the header, then the results one by one (same layout as ``Report``)."""
    header = report.header()
    header["results"] = _PLACEHOLDER
    text = json.dumps(header, indent=2)
    before, _, after = text.partition(json.dumps(_PLACEHOLDER))
    path = outdir / REPORT_JSON
    with atomic_writer(path) as handle:
        handle.write(before)
        handle.write("[")
        for index, result in enumerate(report.results):
            body = json.dumps(result.model_dump(mode="json"), indent=2).replace("\n", "\n    ")
            handle.write(("," if index else "") + "\n    " + body)
        handle.write("\n  ]" if len(report.results) else "]")
        handle.write(after)
    return path


def assemble(report: StoredReport, registry: Registry, outdir: Path) -> tuple[list[Path], list[str]]:
    """report.json, then the renderers (the core's HTML among them). Returns (files written, problems): a
    renderer that fails is named in ``problems`` and costs nothing else."""
    written = [write_report_json(report, outdir)]
    rendered, problems = registry.render_report(report, outdir)
    return written + rendered, problems
