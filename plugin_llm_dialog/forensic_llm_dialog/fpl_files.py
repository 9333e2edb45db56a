"""The FPL file's JSON sidecar (``fpl.json`` beside ``fpl.safetensors``): what the soft tokens were trained for.

Soft tokens only mean something in the embedding space of the LM they were trained against, reading the outputs
of the KFD model they were trained on. The sidecar says both, readable without loading tensors: the LM (name,
hidden width, vocabulary, SHA-256 of its input embeddings), the FPL's dimensions and LoRA adapters, the KFD
settings and the KFD model they loaded (backbone and heads hashes), the SHA-256 of the tensors file, the
training config's digest, the plugin API version and the format.

Format 1 (round 2) kept the configuration and identity in the safetensors metadata only and had no sidecar; those
files still load (the metadata is still written too, so older readers keep reading new files).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from forensic_core.api import API_VERSION
from forensic_core.errors import ConfigError
from forensic_core.paths import BASE_DIR_KEY

SIDECAR_FORMAT = "forensic-fpl/2"


def sidecar_path(weights: str | Path) -> Path:
    """``fpl.safetensors`` -> ``fpl.json``."""
    return Path(weights).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_sidecar(
    weights: Path,
    config: Any,
    identity: Any,
    *,
    lora_tensors: int = 0,
    kfd_model: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> Path:
    """Write ``fpl.json`` for a saved FPL (``config`` an FplConfig, ``identity`` an FplIdentity)."""
    values = asdict(config)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "api_version": API_VERSION,
        "lm": {
            "name": identity.lm,
            "hidden": values["hidden"],
            "vocab": identity.vocab,
            "embedding_sha256": identity.embedding_sha256,
        },
        "fpl": values,
        "lora": (
            {
                "rank": values["lora_rank"],
                "alpha": values["lora_alpha"],
                "targets": list(values["lora_targets"]),
                "tensors": lora_tensors,
            }
            if lora_tensors
            else None
        ),
        "kfd": {"settings": dict(identity.kfd), "model": kfd_model},
        "tensors_sha256": file_sha256(weights),
        "training": training,
    }
    target = sidecar_path(weights)
    target.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return target


def read_sidecar(weights: Path) -> dict[str, Any] | None:
    """The sidecar of an FPL file, checked against the tensors; None for a format-1 file (no sidecar)."""
    path = sidecar_path(weights)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format is {data.get('format') if isinstance(data, dict) else None!r}")
        for key in ("lm", "fpl", "kfd"):
            if not isinstance(data.get(key), dict):
                raise ValueError(f"'{key}' is missing")
    except ValueError as error:
        message = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"hf: {path} is not a valid FPL sidecar ({message}): delete it (the .safetensors file still loads) "
            "or train again with 'forensic dialog train-fpl'"
        ) from error
    recorded, actual = data.get("tensors_sha256"), file_sha256(weights)
    if recorded is not None and recorded != actual:
        raise ConfigError(
            f"hf: FPL {weights.name} has sha256 {actual[:12]}, but its sidecar {path.name} describes sha256 "
            f"{str(recorded)[:12]}: the two files do not belong together; restore the matching pair"
        )
    return data


def check_kfd_model(weights: Path, sidecar: dict[str, Any] | None, runtime: Any) -> None:
    """Refuse an FPL whose KFD settings now load another KFD model than the one it was trained on."""
    trained = ((sidecar or {}).get("kfd") or {}).get("model")
    if not trained:
        return
    now = kfd_model_record(runtime)
    for key in ("backbone_sha256", "weights_sha256"):
        if trained.get(key) != now.get(key):
            raise ConfigError(
                f"hf: FPL {weights.name} was trained on the outputs of KFD {trained.get('identity')}, but its KFD "
                f"settings now load {now.get('identity')} ({key} differs): restore that KFD model or train an FPL "
                "for this one with 'forensic dialog train-fpl'"
            )


def kfd_model_record(runtime: Any) -> dict[str, Any]:
    """What identifies the KFD model a runtime loaded (a :class:`forensic_kfd.runtime.KfdRuntime`)."""
    return {
        "identity": runtime.identity,
        "backbone_sha256": runtime.backbone_sha256,
        "weights_sha256": runtime.weights_sha256,
        "layers": list(runtime.block_numbers),
    }


def kfd_settings_record(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The KFD settings as given (only those: ``weights`` alone stays alone), file paths made absolute.

    The FPL file is used from other folders than the one training ran in; relative paths in the training config
    mean the folder training ran in.
    """
    from forensic_kfd.settings import KfdSettings

    parsed = KfdSettings.model_validate(dict(settings), context={BASE_DIR_KEY: os.getcwd()})
    return parsed.model_dump(mode="json", include=set(parsed.model_fields_set))


def config_digest(config: Any) -> str:
    """A stable digest of a pydantic training config (its JSON, keys sorted)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
