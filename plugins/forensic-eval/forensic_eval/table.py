"""The table ``forensic eval`` prints: every number with the level (frame, video, pixel) it was measured at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ci(block: dict[str, Any]) -> str:
    interval = block.get("auc_ci95")
    return f"{_num(block['auc'])} [{_num(interval[0])}, {_num(interval[1])}]" if interval else _num(block["auc"])


def _render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def format_table(metrics: dict[str, Any]) -> str:
    """Detectors (frame and video levels), per-method AUCs, and localizers (pixel level)."""
    lines: list[str] = []
    rows = []
    for name, blocks in metrics["detectors"].items():
        for level in ("frame", "video"):
            block = blocks[level]
            if block["n"]:
                rows.append(
                    [
                        name,
                        level,
                        str(block["n"]),
                        _ci(block),
                        _num(block["ap"]),
                        _num(block["eer"]),
                        _num(block["acc"]),
                        _num(block["tpr"]),
                        _num(block["fpr"]),
                        _num(block["threshold"], 2),
                    ]
                )
    if rows:
        lines += _render(
            ["detector", "level", "n", "AUC [95% CI]", "AP", "EER", "ACC@thr", "TPR@thr", "FPR@thr", "thr"], rows
        )
    method_rows = [
        [name, method, level, str(block[level]["n_fake"]), _ci(block[level])]
        for name, blocks in metrics["detectors"].items()
        for method, block in blocks["methods"].items()
        for level in ("frame", "video")
        if block[level]["n_fake"]
    ]
    if method_rows:
        lines += ["", *_render(["detector", "method (vs reals)", "level", "n fake", "AUC [95% CI]"], method_rows)]
    loc_rows = [
        [name, "pixel", str(block["n"]), _num(block["pixel_auc"]), _num(block["iou"])]
        for name, block in metrics["localizers"].items()
    ]
    if loc_rows:
        lines += ["", *_render(["localizer", "level", "n masks", "pixel AUC", "IoU@0.5"], loc_rows)]
    lines += ["", *(f"{level}: {meaning}" for level, meaning in metrics["levels"].items())]
    lines.append(f"ACC/TPR/FPR@thr: accuracy, true- and false-positive rates at {metrics['accuracy_threshold']}")
    return "\n".join(lines)
