"""Saving and loading the trained KFD parts: a safetensors file plus a JSON sidecar of the same name.

The sidecar says what the tensors mean: the backbone they were trained on (name and SHA-256 of its weights),
the layers, the class descriptions, the input size and normalisation, and the head architecture. Loading
checks the backbone hash first, because heads trained on one backbone produce confident nonsense on another.

A run that fine-tuned part of the backbone (its last blocks, or LoRA merged into them) stores those tensors too,
under their ``clip.`` names: the sidecar's backbone hash stays the one of the *base* backbone the user configures,
and loading replaces the tuned tensors on top of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_kfd.model import KfdConfig, KfdModel

FORMAT = "forensic-kfd/1"
BACKBONE_PREFIX = "clip."


class BackboneMismatchError(ConfigError):
    """The configured backbone is not the one a KFD weights file was trained on."""


@dataclass(frozen=True)
class WeightsInfo:
    """The parsed sidecar of a KFD weights file."""

    path: Path
    config: KfdConfig
    backbone: dict[str, Any]
    input: dict[str, Any]

    @property
    def backbone_sha256(self) -> str:
        return str(self.backbone["sha256"])


def sidecar_path(weights: str | Path) -> Path:
    """``heads.safetensors`` -> ``heads.json``."""
    return Path(weights).with_suffix(".json")


def save_weights(
    model: KfdModel,
    path: str | Path,
    *,
    backbone: dict[str, Any],
    input_spec: dict[str, Any],
    backbone_state: dict[str, Any] | None = None,
) -> Path:
    """Write the KFD parts of ``model`` to ``path`` (.safetensors) and its sidecar; return the sidecar path.

    ``backbone`` holds at least ``sha256`` (see :func:`forensic_kfd.backbone.backbone_sha256`) and ``identity``;
    ``input_spec`` the input ``size`` [H, W], ``mean`` and ``std``; ``backbone_state`` the fine-tuned backbone
    tensors (``clip.`` names), if any.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"KFD weights must be a .safetensors file, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().to("cpu").contiguous() for key, value in model.trainable_state().items()}
    tuned_state = dict(backbone_state or {})
    tuned = sorted(tuned_state)
    if any(not key.startswith(BACKBONE_PREFIX) for key in tuned):
        raise ValueError(f"backbone_state keys must start with {BACKBONE_PREFIX!r}")
    state.update({key: tuned_state[key].detach().to("cpu").contiguous() for key in tuned})
    save_file(state, str(path), metadata={"format": FORMAT})
    sidecar = {
        "format": FORMAT,
        "backbone": {**dict(backbone), **({"tuned_tensors": len(tuned)} if tuned else {})},
        "input": dict(input_spec),
        "kfd": model.config.to_dict(),
        "tensors_sha256": file_sha256(path),
    }
    target = sidecar_path(path)
    target.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return target


def read_weights_info(path: str | Path) -> WeightsInfo:
    """Read and check the sidecar of a KFD weights file (fast: no tensors are loaded)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingWeightsError(f"kfd: weights file {path} does not exist: fix 'weights' or remove it")
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        raise MissingWeightsError(f"kfd: weights file {path.name} has no sidecar {sidecar.name} beside it")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        return WeightsInfo(
            path=path.resolve(),
            config=KfdConfig.from_dict(data["kfd"]),
            backbone=dict(data["backbone"]),
            input=dict(data["input"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"kfd: sidecar {sidecar} is not a valid KFD sidecar: {error}") from error


def check_backbone(info: WeightsInfo, sha256: str, identity: str) -> None:
    """Refuse to combine heads with a backbone other than the one they were trained on."""
    if info.backbone_sha256 != sha256:
        trained_on = info.backbone.get("identity", "an unnamed backbone")
        raise BackboneMismatchError(
            f"kfd: weights {info.path.name} were trained on backbone {trained_on} "
            f"(sha256 {info.backbone_sha256[:12]}), but the configured backbone {identity} has sha256 "
            f"{sha256[:12]}: set 'backbone'/'pretrained' to the backbone named in {sidecar_path(info.path).name}"
        )


def load_weights(model: KfdModel, info: WeightsInfo) -> None:
    """Load the tensors of a weights file into a model built from ``info.config`` (strict: same architecture)."""
    state = load_file(str(info.path))
    expected = set(model.trainable_state())
    backbone_keys = set(model.state_dict()) - expected
    tuned = {key for key in state if key.startswith(BACKBONE_PREFIX) and key in backbone_keys}
    if set(state) - tuned != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - tuned - expected)
        raise ConfigError(
            f"kfd: weights {info.path.name} do not match the KFD architecture of their sidecar "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches: tensors and sidecar disagree
        message = " ".join(str(error).split())[:300]
        raise ConfigError(
            f"kfd: weights {info.path.name} do not fit their sidecar's architecture: {message}"
        ) from error


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
