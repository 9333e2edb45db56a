"""The self-contained ``report.html``: pictures first, numbers beside them.

Everything is embedded (images as data URIs), so the file can be mailed or archived alone. Every piece of text that
comes from inputs or components (file names, model output, dialog) is escaped: it is untrusted.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from forensic_core.artifacts import safe_stem
from forensic_core.atomic import atomic_writer
from forensic_core.imaging import colorize, encode, load_gray, overlay, resize_map
from forensic_core.journal import PAGES, StoredReport
from forensic_core.report import FigureRecord, FrameResult, InputResult

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c0d0;font-size:13px}main{padding:20px 28px;max-width:1400px}
section.input{background:#fff;border-radius:10px;box-shadow:0 1px 3px #0002;margin:0 0 24px;padding:18px 22px}
h2{font-size:17px;margin:0 0 6px;word-break:break-all}h3{font-size:14px;margin:16px 0 6px;color:#445}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-size:12px;font-weight:600;margin-left:6px}
.fake{background:#fde2e1;color:#a4161a}.real{background:#dcf5e3;color:#17603a}.err{background:#fff0c2;color:#7a5300}
.grid{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;max-width:460px}
figure img,figure video{max-width:100%;border-radius:6px;display:block}
figcaption{font-size:12px;color:#556;margin-top:4px}.thumbs figure{max-width:170px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:left}
.bar{width:140px;height:10px;background:#e8eaf0;border-radius:5px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:10px;border-radius:5px;background:linear-gradient(90deg,#f7b733,#d7263d)}
.dialog p{margin:4px 0;padding:6px 10px;border-radius:8px;max-width:760px;font-size:14px;white-space:pre-wrap}
.user{background:#e8eefc}.assistant{background:#eef7ee}.note{font-size:12px;color:#667}
pre{background:#f6f7f9;padding:8px;border-radius:6px;font-size:11px;overflow:auto;max-height:260px}
.pic{position:relative;display:inline-block}.pic svg{position:absolute;left:0;top:0;width:100%;height:100%}
.evidence{font-size:12px;color:#445;margin:0 0 8px 22px}th[data-sort]{cursor:pointer}
"""


SINGLE_PAGE_MAX_INPUTS = 50
"""Up to this many inputs, report.html is one self-contained page. Beyond it, report.html is an index (sortable by
score, filtered by label) linking one self-contained page per input under ``pages/``: a single page with
pictures of thousands of inputs would not open in a browser, and writing it would hold it all in memory."""

_INDEX_SCRIPT = """
document.querySelectorAll('th[data-sort]').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#index tbody');
    var column = Number(th.dataset.sort), numeric = th.dataset.numeric === '1';
    var down = th.dataset.dir !== 'down'; th.dataset.dir = down ? 'down' : 'up';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
      var c = numeric ? (Number(x) - Number(y)) : (x < y ? -1 : x > y ? 1 : 0);
      return down ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
document.getElementById('filter').addEventListener('change', function (event) {
  var wanted = event.target.value;
  Array.prototype.forEach.call(document.querySelectorAll('#index tbody tr'), function (row) {
    row.style.display = (wanted === 'all' || row.dataset.label.split(' ').indexOf(wanted) >= 0) ? '' : 'none';
  });
});
"""


def render_html(report: StoredReport, outdir: Path) -> list[Path]:
    """Write ``outdir/report.html`` (and ``outdir/pages/*.html`` past :data:`SINGLE_PAGE_MAX_INPUTS` inputs),
    reading one result at a time from ``report.results``; returns the files written."""
    if len(report.results) <= SINGLE_PAGE_MAX_INPUTS:
        path = outdir / "report.html"
        with atomic_writer(path) as handle:
            handle.write(_page_head(report, f"Forensic report ({report.summary.inputs} inputs)"))
            handle.write(_header(report))
            for result in report.results:
                handle.write(_input_section(result, outdir))
            handle.write(_provenance(report))
            handle.write("</main></body></html>")
        return [path]
    return _render_index(report, outdir)


def _page_head(report: StoredReport, title: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
    )


def _header(report: StoredReport) -> str:
    summary = report.summary
    stopped = (
        f" &middot; <b>interrupted</b>: {summary.not_started} inputs not analysed (rerun with --resume)"
        if summary.interrupted
        else ""
    )
    resumed = f" ({summary.resumed} from an earlier run)" if summary.resumed else ""
    return (
        "<header><h1>Forensic report</h1>"
        f"<p>{summary.inputs} inputs{resumed}, {summary.ok} analysed, {summary.errors} with errors{stopped}"
        f" &middot; pipeline {escape(report.pipeline)} &middot; {escape(report.created)}"
        f" &middot; forensic-core {escape(report.core_version)} &middot; {report.seconds:.1f} s</p></header><main>"
    )


def _page_name(result: InputResult, index: int) -> str:
    key = result.id or f"{index:06d}"
    return f"{PAGES}/{safe_stem(key, 32)}-{safe_stem(Path(result.source).name, 40)}.html"


def _render_index(report: StoredReport, outdir: Path) -> list[Path]:
    (outdir / PAGES).mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    detectors = [c.component for c in report.components if c.role == "detectors"]
    rows: list[str] = []
    for index, result in enumerate(report.results):
        name = _page_name(result, index)
        page = outdir / name
        with atomic_writer(page) as handle:
            handle.write(_page_head(report, result.source))
            handle.write(
                _header(report).replace(
                    "<h1>Forensic report</h1>", "<h1><a href='../report.html'>Forensic report</a></h1>"
                )
            )
            handle.write(_input_section(result, outdir))
            handle.write("</main></body></html>")
        written.append(page)
        rows.append(_index_row(result, name, detectors))
    cells = "".join(f"<th data-sort='{i + 2}' data-numeric='1'>{escape(d)} score</th>" for i, d in enumerate(detectors))
    path = outdir / "report.html"
    with atomic_writer(path) as handle:
        handle.write(_page_head(report, f"Forensic report ({report.summary.inputs} inputs)"))
        handle.write(_header(report))
        handle.write(
            "<section class='input'><p>Filter: <select id='filter'><option value='all'>all</option>"
            "<option value='fake'>labelled fake</option><option value='real'>labelled real</option>"
            "<option value='error'>errors</option></select> &middot; click a column to sort</p>"
            "<table id='index'><thead><tr><th data-sort='0'>input</th><th data-sort='1'>status</th>"
            f"{cells}<th data-sort='{len(detectors) + 2}'>top region</th></tr></thead><tbody>"
        )
        handle.write("".join(rows))
        handle.write(f"</tbody></table></section>{_provenance(report)}<script>{_INDEX_SCRIPT}</script>")
        handle.write("</main></body></html>")
    return [path, *written]


def _index_row(result: InputResult, page: str, detectors: list[str]) -> str:
    scores = {d.component: d for d in result.detections}
    labels = {d.label for d in result.detections} | ({"error"} if result.status != "ok" else set())
    cells = []
    for name in detectors:
        detection = scores.get(name)
        value = f"{detection.score:.6f}" if detection else "-1"
        text = f"{detection.score:.3f} {escape(detection.label)}" if detection else "-"
        cells.append(f"<td data-value='{value}'>{text}</td>")
    top = result.regions[0] if result.regions else None
    region = f"face {top.face_index} {top.region} ({top.component})" if top else ""
    return (
        f"<tr data-label='{escape(' '.join(sorted(labels)))}'>"
        f"<td data-value='{escape(result.source)}'><a href='{escape(page)}'>{escape(result.source)}</a></td>"
        f"<td data-value='{escape(result.status)}'>{escape(result.status)}"
        f"{': ' + escape(result.error or '') if result.status != 'ok' else ''}</td>"
        + "".join(cells)
        + f"<td data-value='{escape(region)}'>{escape(region)}</td></tr>"
    )


def _data_uri(data: bytes, suffix: str) -> str:
    return f"data:{_MIME.get(suffix, 'application/octet-stream')};base64,{base64.b64encode(data).decode('ascii')}"


def _file_uri(outdir: Path, relative: str) -> str:
    path = outdir / relative
    return _data_uri(path.read_bytes(), path.suffix.lower())


def _figure(src: str, caption: str, suffix: str = ".png") -> str:
    media = (
        f"<video src='{src}' autoplay loop muted playsinline></video>"
        if suffix == ".mp4"
        else f"<img src='{src}' alt=''>"
    )
    return f"<figure>{media}<figcaption>{escape(caption)}</figcaption></figure>"


def _figure_record(outdir: Path, record: FigureRecord) -> str:
    return _figure(_file_uri(outdir, record.path), record.caption, Path(record.path).suffix.lower())


def _input_section(result: InputResult, outdir: Path) -> str:
    verdicts = "".join(
        f"<span class='badge {'fake' if d.label == 'fake' else 'real'}'>{escape(d.component)}: {d.score:.0%} "
        f"{escape(d.label)}</span>"
        for d in result.detections
    )
    status = "" if result.status == "ok" else "<span class='badge err'>error</span>"
    parts = [f"<section class='input'><h2>{escape(result.source)}{status}{verdicts}</h2>"]
    if result.error:
        parts.append(f"<p class='note'>{escape(result.error)}</p>")
    if result.media == "video":
        parts.append(_detections_table(result))
        for frame in result.frames:
            when = f" at {frame.timestamp:.2f} s" if frame.timestamp is not None else ""
            parts.append(f"<h3>Frame {frame.index}{escape(when)}</h3>")
            parts.append(_frame_body(frame, outdir, with_table=True))
    elif result.preview:
        parts.append(_frame_body(result, outdir, with_table=True))
    if result.dialog:
        parts.append("<h3>Dialog</h3><div class='dialog'>")
        parts.extend(_message(m) for m in result.dialog)
        parts.append("</div>")
    if result.extensions:
        parts.append("<h3>Plugin data</h3>")
        parts.extend(
            f"<details><summary>{escape(name)}</summary><pre>{escape(json.dumps(value, indent=1))}</pre></details>"
            for name, value in result.extensions.items()
        )
    if result.custody is not None:
        custody = result.custody
        parts.append(
            f"<p class='note'>Evidence: {escape(custody.relpath)}, {custody.size:,} bytes, sha256 "
            f"<code>{escape(custody.sha256 or 'not computed')}</code>; {len(result.artifacts)} artifacts hashed"
            " (<code>forensic verify</code> re-checks them)</p>"
        )
    if result.timings:
        timing = ", ".join(f"{escape(k)} {v:.2f}s" for k, v in result.timings.items())
        parts.append(f"<p class='note'>Timings: {timing}</p>")
    parts.append("</section>")
    return "".join(parts)


def _message(message: Any) -> str:
    """One dialog turn, with the evidence the answer cites and the extra analysis it ran."""
    role = escape(message.role)
    backend = getattr(message, "backend", None)
    who = f"{role} ({escape(backend)})" if backend else role
    parts = [f"<p class='{role}'><b>{who}:</b> {escape(message.content)}</p>"]
    evidence = [e for e in getattr(message, "evidence", None) or [] if isinstance(e, dict)]
    actions = [str(a) for a in getattr(message, "actions", None) or []]
    if evidence or actions:
        items = "".join(f"<li>{escape(str(e.get('text') or e.get('component') or e))}</li>" for e in evidence)
        items += "".join(f"<li>ran: {escape(a)}</li>" for a in actions)
        parts.append(f"<ul class='evidence'>{items}</ul>")
    return "".join(parts)


def _detections_table(frame: FrameResult) -> str:
    if not frame.detections:
        return ""
    rows = []
    for d in frame.detections:
        faces = ", ".join(f"face {f['face_index']}: {f['score']:.0%}" for f in d.faces)
        details = json.dumps(d.details, indent=1, default=str)
        rows.append(
            f"<tr><td>{escape(d.component)}</td><td><span class='bar'><span style='width:{d.score * 100:.1f}%'></span>"
            f"</span> {d.score:.3f}</td><td>{escape(d.label)} (threshold {d.threshold:g})</td><td>{escape(faces)}</td>"
            f"<td><details><summary>details</summary><pre>{escape(details)}</pre></details></td></tr>"
        )
    return (
        "<h3>Detection</h3><table><tr><th>detector</th><th>score P(fake)</th><th>label</th><th>faces</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _frame_body(frame: FrameResult, outdir: Path, with_table: bool) -> str:
    parts = [_detections_table(frame)] if with_table else []
    preview_path = outdir / frame.preview if frame.preview else None
    if preview_path is None or not preview_path.exists():
        return "".join(parts)
    with Image.open(preview_path) as img:
        preview = np.asarray(img.convert("RGB"))
    pictures = [_with_faces(_data_uri(preview_path.read_bytes(), ".jpg"), frame, preview.shape, "input")]
    for loc in frame.localizations:
        heat = load_gray(str(outdir / loc.heatmap))
        blended = encode(overlay(preview, heat), "JPEG")
        caption = f"{loc.component}: heatmap (max {loc.max:.2f}, mean {loc.mean:.2f})"
        pictures.append(_with_faces(_data_uri(blended, ".jpg"), frame, preview.shape, caption))
    parts.append("<h3>Evidence</h3><div class='grid'>" + "".join(pictures) + "</div>")
    if frame.regions:
        top = [
            r
            for component in dict.fromkeys(r.component for r in frame.regions)
            for r in [r for r in frame.regions if r.component == component][:3]
        ]
        items = "".join(
            f"<tr><td>face {r.face_index}</td><td>{escape(r.region)}</td><td>{escape(r.component)}</td>"
            f"<td>{r.score:.3f}</td></tr>"
            for r in top
        )
        parts.append(
            "<h3>Where: facial regions with most evidence</h3><table><tr><th>face</th><th>region</th>"
            f"<th>localizer</th><th>mean heat</th></tr>{items}</table>"
        )
    layer_figures = [
        FigureRecord(path=loc.mask, caption=f"{loc.component}: mask") for loc in frame.localizations if loc.mask
    ]
    layer_figures += [fig for loc in frame.localizations for fig in loc.layers + loc.figures]
    layer_figures += [fig for det in frame.detections for fig in det.figures]
    if layer_figures:
        parts.append("<h3>Component figures</h3><div class='grid thumbs'>")
        parts.extend(_figure_record(outdir, fig) for fig in layer_figures)
        parts.append("</div>")
    for exp in frame.explanations:
        who = f" of {exp.detector}" if exp.detector else ""
        face = f" (face {exp.face_index})" if exp.face_index is not None else ""
        parts.append(f"<h3>Explanation: {escape(exp.component)}{escape(who)}{escape(face)}</h3>")
        if exp.text:
            parts.append(f"<p>{escape(exp.text)}</p>")
        maps = [_map_figure(outdir, path, f"{exp.component}: {key}") for key, path in exp.maps.items()]
        figures = [_figure_record(outdir, fig) for fig in exp.figures]
        parts.append("<div class='grid'>" + "".join(figures) + "</div>")
        if maps:
            parts.append("<div class='grid thumbs'>" + "".join(maps) + "</div>")
    return "".join(parts)


def _map_figure(outdir: Path, relative: str, caption: str) -> str:
    """An explainer's [0, 1] map, coloured and enlarged to a visible size (maps are often 14 x 14 patches)."""
    path = outdir / relative
    if not path.exists():
        return ""
    unit_map = load_gray(str(path))
    height, width = unit_map.shape
    scale = max(1, 160 // max(1, max(height, width)))
    if scale > 1:
        unit_map = resize_map(unit_map, (width * scale, height * scale))
    return _figure(_data_uri(encode(colorize(unit_map)), ".png"), caption)


def _with_faces(src: str, frame: FrameResult, shape: tuple[int, ...], caption: str) -> str:
    """The picture with face boxes drawn as an SVG layer in full-image coordinates (scales with the picture)."""
    if not frame.faces or not frame.width:
        return _figure(src, caption, ".jpg")
    boxes = "".join(
        f"<rect x='{f.box[0]}' y='{f.box[1]}' width='{f.box[2] - f.box[0]}' height='{f.box[3] - f.box[1]}' "
        f"fill='none' stroke='#00e5ff' stroke-width='{max(2, frame.width // 300)}'/>"
        f"<text x='{f.box[0]}' y='{max(12, f.box[1] - 4)}' fill='#00e5ff' font-size='{max(12, frame.width // 50)}'>"
        f"face {f.index}</text>"
        for f in frame.faces
    )
    svg = f"<svg viewBox='0 0 {frame.width} {frame.height}' preserveAspectRatio='none'>{boxes}</svg>"
    return (
        f"<figure><div class='pic'><img src='{src}' alt=''>{svg}</div>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _provenance(report: StoredReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.role)}</td><td>{escape(c.component)}</td><td>{escape(c.plugin)} {escape(c.version)}</td>"
        f"<td>{escape(c.weights or '-')}</td><td>{c.seconds:.2f}s</td>"
        f"<td><details><summary>settings</summary><pre>{escape(json.dumps(c.settings, indent=1))}</pre>"
        "</details></td></tr>"
        for c in report.components
    )
    return (
        "<section class='input'><h2>Provenance</h2><table><tr><th>role</th><th>component</th><th>plugin</th>"
        f"<th>weights</th><th>time</th><th></th></tr>{rows}</table></section>"
    )
