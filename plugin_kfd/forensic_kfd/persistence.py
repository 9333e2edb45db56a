"""Saving and loading the trained KFD parts: a safetensors file plus a JSON sidecar of the same name.

The sidecar makes the file self-describing: the backbone it was trained on (its open_clip name, pretrained tag
or file, seed, model config and the SHA-256 of its weights), the layers, the class descriptions, the input size
and normalisation, the head architecture, the SHA-256 of the tensors file, the training config's digest and the
plugin API version that wrote it. ``weights:`` alone is therefore enough to rebuild the model
(:mod:`forensic_kfd.model_files`). Loading checks the backbone hash, because heads trained on one backbone
produce confident nonsense on another.

Format 2 (``forensic-kfd/2``) added the backbone's name, pretrained, seed and config, ``tensors_sha256`` checks,
``training`` and ``api_version``. Format-1 sidecars (round 2) still load: the backbone's name, pretrained and
seed are read back from its ``identity`` (``NAME/TAG``, ``NAME/random(seed=N)``, ``NAME//abs/file``, a folder or
an ``hf-hub:`` id), the rest is left empty.

A run that fine-tuned part of the backbone (its last blocks, or LoRA merged into them) stores those tensors too,
under their ``clip.`` names: the sidecar's backbone hash stays the one of the *base* backbone the user configures,
and loading replaces the tuned tensors on top of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from forensic_core.api import API_VERSION
from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_kfd.model import KfdConfig, KfdModel

FORMAT = "forensic-kfd/2"
READABLE_FORMATS = ("forensic-kfd/1", FORMAT)
BACKBONE_PREFIX = "clip."
_RANDOM_IDENTITY = re.compile(r"^(?P<name>[^/]+)/random\(seed=(?P<seed>\d+)\)$")


class BackboneMismatchError(ConfigError):
    """The configured backbone is not the one a KFD weights file was trained on."""


@dataclass(frozen=True)
class WeightsInfo:
    """The parsed sidecar of a KFD weights file."""

    path: Path
    config: KfdConfig
    backbone: dict[str, Any]
    input: dict[str, Any]
    format: str = FORMAT
    tensors_sha256: str | None = None
    training: dict[str, Any] | None = None
    api_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def backbone_sha256(self) -> str:
        return str(self.backbone["sha256"])

    @property
    def backbone_identity(self) -> str:
        return str(self.backbone.get("identity") or self.backbone.get("name") or "an unnamed backbone")


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
    training: dict[str, Any] | None = None,
) -> Path:
    """Write the KFD parts of ``model`` to ``path`` (.safetensors) and its sidecar; return the sidecar path.

    ``backbone`` holds at least ``sha256`` (see :func:`forensic_kfd.backbone.backbone_sha256`) and ``identity``,
    and should hold what rebuilds it (:func:`forensic_kfd.model_files.backbone_record`: name, pretrained, seed,
    config); ``input_spec`` the input ``size`` [H, W], ``mean`` and ``std``; ``backbone_state`` the fine-tuned
    backbone tensors (``clip.`` names), if any; ``training`` what produced the tensors (the training config's
    digest, steps), null for parts saved outside ``forensic kfd train``.
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
        "api_version": API_VERSION,
        "backbone": {**dict(backbone), **({"tuned_tensors": len(tuned)} if tuned else {})},
        "input": dict(input_spec),
        "kfd": model.config.to_dict(),
        "tensors_sha256": file_sha256(path),
        "training": dict(training) if training is not None else None,
    }
    return write_sidecar(path, sidecar)


def write_sidecar(weights: str | Path, sidecar: dict[str, Any]) -> Path:
    """Write a sidecar beside ``weights``; return its path."""
    target = sidecar_path(weights)
    target.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return target


def sidecar_dict(info: WeightsInfo) -> dict[str, Any]:
    """``info`` as a current-format sidecar (how an export upgrades a format-1 sidecar)."""
    return {
        **info.extra,
        "format": FORMAT,
        "api_version": info.api_version,
        "backbone": dict(info.backbone),
        "input": dict(info.input),
        "kfd": info.config.to_dict(),
        "tensors_sha256": info.tensors_sha256,
        "training": info.training,
    }


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
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        if data.get("format") not in READABLE_FORMATS:
            raise ValueError(f"format is {data.get('format')!r}, expected one of {', '.join(READABLE_FORMATS)}")
        known = {"format", "api_version", "backbone", "input", "kfd", "tensors_sha256", "training"}
        return WeightsInfo(
            path=path.resolve(),
            config=KfdConfig.from_dict(data["kfd"]),
            backbone=complete_backbone(dict(data["backbone"])),
            input=dict(data["input"]),
            format=str(data["format"]),
            tensors_sha256=data.get("tensors_sha256"),
            training=data.get("training"),
            api_version=data.get("api_version"),
            extra={key: value for key, value in data.items() if key not in known},
        )
    except (ValueError, KeyError, TypeError) as error:
        message = " ".join(str(error).split())[:200]
        raise ConfigError(f"kfd: sidecar {sidecar} is not a valid KFD sidecar: {message}") from error


def complete_backbone(backbone: dict[str, Any]) -> dict[str, Any]:
    """Fill ``name``, ``pretrained`` and ``seed`` of a format-1 backbone record from its ``identity``.

    Format 1 wrote only ``identity`` (how :func:`forensic_kfd.backbone.load_backbone` names what it loaded) and
    ``sha256``; the identity spells the settings that built it, so they can be read back. An identity that
    cannot be read leaves ``name`` unset: such a file needs ``backbone``/``pretrained`` in the settings.
    """
    if "name" in backbone:
        return backbone
    identity = str(backbone.get("identity", ""))
    random_weights = _RANDOM_IDENTITY.match(identity)
    if random_weights:
        return {**backbone, "name": random_weights["name"], "pretrained": None, "seed": int(random_weights["seed"])}
    if identity.startswith(("hf-hub:", "local-dir:")):
        return {**backbone, "name": identity, "pretrained": None}
    name, slash, pretrained = identity.partition("/")
    if slash and name and pretrained:  # NAME/TAG or NAME//absolute/checkpoint
        return {**backbone, "name": name, "pretrained": pretrained}
    return backbone


def check_backbone(info: WeightsInfo, sha256: str, identity: str) -> None:
    """Refuse to combine heads with a backbone other than the one they were trained on."""
    if info.backbone_sha256 != sha256:
        trained_on = info.backbone_identity
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
