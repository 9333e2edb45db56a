"""``forensic kfd export RUN DIR``: a training run as a model folder (weights, sidecar, model card).

The folder is what ``weights: DIR`` (or ``weights: hf-hub:ORG/NAME`` once uploaded) loads: ``kfd.safetensors``,
its ``kfd.json`` sidecar (upgraded to the current format) and a ``README.md`` model card that says what the
weights are without the run folder: the data, the recipe (the training config), the validation metrics of
``RUN/val.jsonl``, the hashes, and how to load it. The card is generated from files, never typed by hand, so it
cannot disagree with the weights it describes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensic_core.atomic import atomic_write_text
from forensic_core.errors import InputError, OutputError
from forensic_kfd.model_files import CARD_FILE, MODEL_FOLDER_FILES, SIDECAR_FILE, WEIGHTS_FILE, open_weights
from forensic_kfd.persistence import WeightsInfo, sidecar_dict, write_sidecar

METRIC_COLUMNS = ("n", "frame_auc", "frame_ap", "frame_eer", "frame_acc", "pixel_auc", "iou")


@dataclass(frozen=True)
class Export:
    """What an export wrote."""

    folder: Path
    weights: Path
    card: Path
    validation: dict[str, Any] | None


def export_run(run: str | Path, target: str | Path, *, overwrite: bool = False) -> Export:
    """Write the model folder of ``run`` (a run folder or its weights file) into ``target``."""
    run_path = Path(run).expanduser()
    if not run_path.exists():
        raise InputError(f"kfd export: {run_path} does not exist: give a run folder written by 'forensic kfd train'")
    info = open_weights(str(run_path))
    run_dir = info.path.parent
    folder = Path(target).expanduser()
    _check_target(folder, run_dir, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    shutil.copyfile(info.path, weights)
    write_sidecar(weights, sidecar_dict(info))
    config = _read_json(run_dir / "config.json")
    validation = _read_jsonl(run_dir / "val.jsonl")
    card = folder / CARD_FILE
    atomic_write_text(card, model_card(info, config, validation, folder.name))
    return Export(folder, weights, card, validation[-1] if validation else None)


def model_card(
    info: WeightsInfo, config: dict[str, Any] | None, validation: Sequence[dict[str, Any]], title: str
) -> str:
    """The README.md of a model folder (Hugging Face model-card front matter, then Markdown)."""
    backbone = info.backbone
    lines = [
        "---",
        "library_name: forensic-kfd",
        "tags: [deepfake-detection, image-forensics, open_clip, forensic-kfd]",
        "---",
        f"# KFD model `{title}`",
        "",
        "Trained parts of the Knowledge-guided Forgery Detector (per-layer projections, class context vectors, "
        "visual prompts, localizer and classifier heads) for the open_clip backbone "
        f"`{info.backbone_identity}`. Files: `{WEIGHTS_FILE}` (tensors), `{SIDECAR_FILE}` (what they are: "
        "backbone, layers, class descriptions, input size and normalisation, hashes), this card.",
        "",
        "## How to load",
        "",
        "```yaml",
        "detectors:",
        f"  - {{name: kfd, settings: &kfd {{weights: path/to/{title}}}}}   # or hf-hub:ORG/NAME once uploaded",
        "localizers:",
        "  - {name: kfd, settings: *kfd}",
        "```",
        "",
        "`weights` alone is enough: the backbone comes from the sidecar (its weights must be in the local "
        "open_clip/Hugging Face cache, or downloadable). Settings given explicitly override the sidecar; one that "
        "contradicts it (another backbone, other layers) is an error naming both.",
        "",
        "## Backbone",
        "",
        "| name | pretrained | seed | sha256 of its weights |",
        "|---|---|---|---|",
        f"| `{backbone.get('name', '?')}` | `{json.dumps(backbone.get('pretrained'))}` | {backbone.get('seed', '-')} | "
        f"`{backbone['sha256']}` |",
        "",
        f"Layers {list(info.config.layers)}, {info.config.context_tokens} context tokens per class, "
        f"{info.config.visual_prompts} visual prompts; input {info.input.get('size')} px, mean "
        f"{_numbers(info.input.get('mean'))}, std {_numbers(info.input.get('std'))}."
        + (
            f" {backbone['tuned_tensors']} fine-tuned backbone tensors are included."
            if "tuned_tensors" in backbone
            else ""
        ),
        "",
        *_data_section(config),
        *_recipe_section(config, info),
        *_metrics_section(validation),
        "## Hashes",
        "",
        "| what | value |",
        "|---|---|",
        f"| sha256 of `{WEIGHTS_FILE}` | `{info.tensors_sha256}` |",
        f"| sha256 of the backbone's weights | `{backbone['sha256']}` |",
        f"| training config digest | `{(info.training or {}).get('config_digest', '-')}` |",
        f"| sidecar format, plugin API version | `{info.format}` (exported as current), `{info.api_version or '-'}` |",
        "",
    ]
    return "\n".join(lines)


def _data_section(config: dict[str, Any] | None) -> list[str]:
    if config is None:
        return ["## Data", "", "Not recorded: these parts were not written by `forensic kfd train`.", ""]
    data = config.get("data", {})
    lines = ["## Data", ""]
    for role in ("train", "val"):
        source = data.get(role)
        lines.append(f"- **{role}**: {_describe_source(source)}")
    pseudo = data.get("pseudo", {})
    if pseudo:
        lines.append(
            f"- **pseudo-fakes**: recipes {', '.join(pseudo.get('types', []))}; blend ratios "
            f"{pseudo.get('blend_ratios')}; JPEG quality {pseudo.get('jpeg_quality')}"
        )
    return [*lines, ""]


def _describe_source(source: dict[str, Any] | None) -> str:
    if not source:
        return "none"
    if source.get("reals") is not None:
        what = f"real faces from {', '.join(source['reals'])}"
    else:
        what = f"dataset `{source.get('dataset')}` with settings `{json.dumps(source.get('settings', {}))}`"
    parts = [what]
    if source.get("split"):
        parts.append(f"split {source['split']}")
    if source.get("start") or source.get("stop") is not None:
        parts.append(f"items [{source.get('start', 0)}:{source.get('stop') or ''}]")
    if source.get("pseudo_fakes", True):
        parts.append("each with a pseudo-fake twin")
    parts.append(f"faces: {source.get('faces', 'full')}")
    return "; ".join(parts)


def _recipe_section(config: dict[str, Any] | None, info: WeightsInfo) -> list[str]:
    if config is None:
        return []
    optim, loss, parts = config.get("optim", {}), config.get("loss", {}), config.get("train", {})
    mode = parts.get("backbone", {}).get("mode", "frozen")
    steps = (info.training or {}).get("steps", config.get("steps"))
    return [
        "## Recipe",
        "",
        f"{steps} steps of batch {config.get('batch_size')} x {config.get('accumulate', 1)} accumulated, AdamW lr "
        f"{optim.get('lr')} (warm-up {optim.get('warmup_steps')}, cosine), backbone {mode}, losses "
        + ", ".join(f"{k} {v}" for k, v in loss.items() if k not in ("focal_gamma", "temperature"))
        + f", precision {config.get('precision')}, seed {config.get('seed')}. The full training config "
        "(`forensic kfd train` reads it back as YAML or JSON):",
        "",
        "```json",
        json.dumps(config, indent=2),
        "```",
        "",
    ]


def _metrics_section(validation: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## Validation metrics", ""]
    if not validation:
        return [*lines, "None recorded (the run had no `data.val`).", ""]
    columns = [c for c in METRIC_COLUMNS if any(c in row for row in validation)]
    lines += [
        "From the run's `val.jsonl` (its own validation split, so they say the training worked, not how the model "
        "generalises):",
        "",
        "| step | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in validation:
        cells = [_cell(row.get(c), integer=c == "n") for c in columns]
        lines.append(f"| {row.get('step', '-')} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _cell(value: Any, *, integer: bool) -> str:
    if not isinstance(value, int | float):
        return "-"
    return str(int(value)) if integer else f"{value:.4f}"


def _numbers(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]" if isinstance(values, list) else str(values)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputError(f"kfd export: {path} is not valid JSON ({error}): restore the run's file") from error
    return data if isinstance(data, dict) else None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as error:
                raise InputError(f"kfd export: {path} line {number} is not JSON: restore the run's file") from error
    return rows


def _check_target(folder: Path, run_dir: Path, overwrite: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"kfd export: {folder} is a file: give a folder")
    if folder.resolve() == run_dir.resolve():
        raise OutputError(f"kfd export: {folder} is the run folder itself: give another folder")
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not present:
        return
    foreign = [name for name in present if name not in MODEL_FOLDER_FILES]
    if not overwrite or foreign:
        what = f"files other than a model folder's ({', '.join(foreign[:3])})" if foreign else "a model folder"
        hint = "choose an empty folder" if foreign else "pass --overwrite to replace it, or choose an empty folder"
        raise OutputError(f"kfd export: {folder} already holds {what}: {hint}")
