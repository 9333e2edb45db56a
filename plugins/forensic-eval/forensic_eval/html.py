"""``metrics.html``: the metrics table, ROC curves and score histograms in one self-contained file.

Figures are matplotlib PNGs embedded as data URIs, so the file can be mailed or archived alone (like report.html).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forensic_eval.evaluate import Prediction, video_scores

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}th{background:#f3f3f3}"
    "td:first-child,th:first-child{text-align:left}img{max-width:48%;margin:.5em 1%}.note{color:#555}"
)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _series(rows: Sequence[Prediction], component: str, level: str) -> tuple[list[int], list[float]]:
    mine = [row for row in rows if row.component == component]
    if level == "video":
        videos = video_scores(mine)
        return [label for label, _, _ in videos.values()], [score for _, score, _ in videos.values()]
    return [int(row.label == "fake") for row in mine], [row.score for row in mine]


def roc_figure(rows: Sequence[Prediction], components: Sequence[str], level: str) -> str | None:
    """Every detector's ROC curve at one level, on one plot (None when no detector has both classes there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axes = plt.subplots(figsize=(5, 5))
    drawn = False
    for component in components:
        labels, scores = _series(rows, component, level)
        if 0 < sum(labels) < len(labels):
            fpr, tpr, _ = roc_curve(labels, scores)
            axes.plot(fpr, tpr, label=f"{component} (AUC {roc_auc_score(labels, scores):.3f})")
            drawn = True
    if not drawn:
        plt.close(figure)
        return None
    axes.plot([0, 1], [0, 1], color="#aaa", linestyle=":", linewidth=1)
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"ROC, {level} level")
    axes.legend(loc="lower right")
    return _png(figure)


def histogram_figure(rows: Sequence[Prediction], component: str, threshold: float) -> str | None:
    """Frame-level score histograms of the reals and the fakes, with the detector's threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, scores = _series(rows, component, "frame")
    if not scores:
        return None
    figure, axes = plt.subplots(figsize=(5, 3.2))
    bins = [i / 40 for i in range(41)] if min(scores) >= 0 and max(scores) <= 1 else 40
    for value, name, color in ((0, "real", "#2a7"), (1, "fake", "#c33")):
        picked = [s for s, y in zip(scores, labels, strict=True) if y == value]
        if picked:
            axes.hist(picked, bins=bins, alpha=0.55, color=color, label=f"{name} ({len(picked)})")
    axes.axvline(threshold, color="#333", linestyle="--", linewidth=1, label=f"threshold {threshold:.2f}")
    axes.set(xlabel="score", ylabel="frames / images", title=f"{component}: scores, frame level")
    axes.legend()
    return _png(figure)


def write_html(metrics: dict[str, Any], rows: Sequence[Prediction], path: Path) -> Path:
    detectors: dict[str, Any] = metrics["detectors"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation ({metrics['samples']} samples)</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation</h1><p class='note'>data {html.escape(metrics['data'])}; pipeline "
        f"{html.escape(metrics['pipeline'])}; {metrics['samples']} samples, {metrics['videos']} videos, "
        f"{metrics['errors']} failed</p>",
    ]
    if detectors:
        parts.append(
            "<h2>Detectors</h2><table><tr><th>detector</th><th>level</th><th>n</th><th>AUC</th><th>95% CI</th>"
            "<th>AP</th><th>EER</th><th>ACC@thr</th><th>TPR@thr</th><th>FPR@thr</th><th>thr</th></tr>"
        )
        for name, blocks in detectors.items():
            for level in ("frame", "video"):
                block = blocks[level]
                if not block["n"]:
                    continue
                ci = block["auc_ci95"]
                parts.append(
                    f"<tr><td>{html.escape(name)}</td><td>{level}</td><td>{block['n']}</td><td>{_fmt(block['auc'])}"
                    f"</td><td>{'&ndash;' if not ci else f'{ci[0]:.3f}&ndash;{ci[1]:.3f}'}</td>"
                    f"<td>{_fmt(block['ap'])}</td><td>{_fmt(block['eer'])}</td><td>{_fmt(block['acc'])}</td>"
                    f"<td>{_fmt(block['tpr'])}</td><td>{_fmt(block['fpr'])}</td>"
                    f"<td>{_fmt(block['threshold'], 2)}</td></tr>"
                )
        parts.append("</table>")
        method_rows = [
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(method)}</td><td>{level}</td>"
            f"<td>{block[level]['n_fake']}</td><td>{_fmt(block[level]['auc'])}</td></tr>"
            for name, blocks in detectors.items()
            for method, block in blocks["methods"].items()
            for level in ("frame", "video")
            if block[level]["n_fake"]
        ]
        if method_rows:
            parts.append(
                "<h3>Per method (reals against that method's fakes)</h3><table><tr><th>detector</th><th>method</th>"
                "<th>level</th><th>n fake</th><th>AUC</th></tr>" + "".join(method_rows) + "</table>"
            )
    if metrics["localizers"]:
        parts.append(
            "<h2>Localizers</h2><table><tr><th>localizer</th><th>level</th><th>n masks</th><th>pixel AUC</th>"
            "<th>IoU@0.5</th></tr>"
        )
        for name, block in metrics["localizers"].items():
            parts.append(
                f"<tr><td>{html.escape(name)}</td><td>pixel</td><td>{block['n']}</td>"
                f"<td>{_fmt(block['pixel_auc'])}</td><td>{_fmt(block['iou'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<p class='note'>"
        + "<br>".join(f"<b>{level}</b>: {html.escape(text)}" for level, text in metrics["levels"].items())
        + "<br><b>ACC/TPR/FPR@thr</b>: accuracy, true- and false-positive rates at "
        + f"{html.escape(metrics['accuracy_threshold'])}</p>"
    )
    if detectors:
        parts.append("<h2>ROC curves</h2>")
        for level in ("frame", "video"):
            uri = roc_figure(rows, list(detectors), level)
            if uri:
                parts.append(f"<img alt='ROC {level} level' src='{uri}'>")
        parts.append("<h2>Score histograms</h2>")
        for name, blocks in detectors.items():
            uri = histogram_figure(rows, name, blocks["frame"]["threshold"])
            if uri:
                parts.append(f"<img alt='{html.escape(name)} scores' src='{uri}'>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
