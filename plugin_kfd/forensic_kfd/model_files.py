"""Self-describing KFD model files: where ``weights`` points, and which backbone its sidecar asks for.

``weights`` names a ``.safetensors`` file (its ``.json`` sidecar beside it), a model folder holding
``kfd.safetensors`` + ``kfd.json`` (+ the ``README.md`` model card ``forensic kfd export`` writes), or
``hf-hub:ORG/NAME``, a hub repository with that layout (downloaded once with ``snapshot_download``, then read
from the cache; offline and uncached it fails at once).

The sidecar names the backbone the parts were trained on, so ``weights:`` alone rebuilds the model: the
``backbone``, ``pretrained`` and ``seed`` settings the user did not set (pydantic's ``model_fields_set``) come
from the sidecar, the ones the user set win. An explicit setting that names another backbone than the sidecar's
is refused before any backbone is loaded, naming both; one that may name the same weights in another way (a
local checkpoint of the same tag, a folder) is loaded and its SHA-256 compared with the sidecar's.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import open_clip

from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_kfd.backbone import hub_offline, one_line, register_model_configs, require_network
from forensic_kfd.persistence import (
    BackboneMismatchError,
    WeightsInfo,
    file_sha256,
    read_weights_info,
    sidecar_path,
)
from forensic_kfd.settings import KfdSettings

WEIGHTS_FILE = "kfd.safetensors"
SIDECAR_FILE = "kfd.json"
CARD_FILE = "README.md"
MODEL_FOLDER_FILES = (WEIGHTS_FILE, SIDECAR_FILE, CARD_FILE)
_FOLDER_PREFIXES = ("hf-hub:", "local-dir:")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class BackboneChoice:
    """The backbone settings a runtime loads: the user's where given, else the sidecar's."""

    name: str
    pretrained: str | None
    seed: int


def open_weights(reference: str, *, cache_dir: str | None = None) -> WeightsInfo:
    """Find the weights ``reference`` names, read its sidecar and check that the tensors are the ones it describes."""
    path = locate_weights(reference, cache_dir=cache_dir)
    info = read_weights_info(path)
    actual = file_sha256(info.path)
    if info.tensors_sha256 is not None and info.tensors_sha256 != actual:
        raise ConfigError(
            f"kfd: weights {info.path.name} have sha256 {actual[:12]}, but their sidecar "
            f"{sidecar_path(info.path).name} describes sha256 {str(info.tensors_sha256)[:12]}: the two files do "
            "not belong together; restore the matching pair (or export the run again with 'forensic kfd export')"
        )
    return replace(info, tensors_sha256=actual)


def locate_weights(reference: str, *, cache_dir: str | None = None) -> Path:
    """The ``.safetensors`` file a ``weights`` setting names (a file, a model folder or ``hf-hub:ORG/NAME``)."""
    if reference.startswith("hf-hub:"):
        return folder_weights(hub_model_folder(reference.removeprefix("hf-hub:"), cache_dir), reference)
    path = Path(reference).expanduser()
    return folder_weights(path, reference) if path.is_dir() else path


def folder_weights(folder: Path, reference: str) -> Path:
    """``FOLDER/kfd.safetensors``, or the one ``.safetensors`` file of the folder that has a sidecar."""
    if (folder / WEIGHTS_FILE).is_file():
        return folder / WEIGHTS_FILE
    candidates = sorted(p for p in folder.glob("*.safetensors") if sidecar_path(p).is_file())
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(p.name for p in candidates) or "none"
    raise MissingWeightsError(
        f"kfd: model folder {reference} holds no {WEIGHTS_FILE} with its {SIDECAR_FILE} (weights files with a "
        f"sidecar: {found}): point 'weights' at one .safetensors file, or write the folder with 'forensic kfd export'"
    )


def hub_model_folder(repo_id: str, cache_dir: str | None) -> Path:
    """The local snapshot of a hub model repository: from the cache when there, else downloaded (online only)."""
    from huggingface_hub import snapshot_download

    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise ConfigError(f"kfd: weights 'hf-hub:{repo_id}' is not a hub id: write it as hf-hub:ORG/NAME")
    patterns = list(MODEL_FOLDER_FILES)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache_dir, local_files_only=True))
    except Exception:  # not cached (or a partial cache): download it below, when the hub can be reached
        pass
    if hub_offline():
        raise MissingWeightsError(
            f"kfd: weights hf-hub:{repo_id} are not in the local cache and HF_HUB_OFFLINE is set: run once with "
            "network access to cache them, or set 'weights' to a local model folder or .safetensors file"
        )
    require_network(f"hf-hub:{repo_id}", "set 'weights' to a local model folder or .safetensors file", what="weights")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache_dir))
    except Exception as error:
        raise MissingWeightsError(
            f"kfd: could not download weights hf-hub:{repo_id}: {one_line(error)}: check the id and your access, "
            "or set 'weights' to a local model folder"
        ) from error


def choose_backbone(settings: KfdSettings, info: WeightsInfo | None) -> BackboneChoice:
    """The backbone to load: settings the user set, else the sidecar's; contradictions are refused here."""
    own = BackboneChoice(settings.backbone, settings.pretrained, settings.seed)
    if info is None or "name" not in info.backbone:  # untrained, or a format-1 identity that could not be read
        return own
    trained = info.backbone
    given = settings.model_fields_set
    choice = BackboneChoice(
        name=settings.backbone if "backbone" in given else str(trained["name"]),
        pretrained=settings.pretrained if "pretrained" in given else trained.get("pretrained"),
        seed=settings.seed if "seed" in given else int(trained.get("seed", settings.seed)),
    )
    register_model_configs()
    if "backbone" not in given:
        ensure_model_config(str(trained["name"]), trained.get("config"))
    elif _model_name(choice.name) and _model_name(str(trained["name"])) and not _same_name(choice.name, trained):
        raise _conflict(info, "backbone", choice.name, trained["name"])
    if not _model_name(choice.name) or not _same_name(choice.name, trained):
        return choice  # another kind of source (a folder, a hub id): the backbone hash decides
    trained_pretrained = trained.get("pretrained")
    tags = _tag(choice.pretrained) and _tag(trained_pretrained)
    if "pretrained" in given and tags and choice.pretrained != trained_pretrained:
        raise _conflict(info, "pretrained", choice.pretrained, trained_pretrained)
    random_weights = choice.pretrained is None and trained_pretrained is None and "seed" in trained
    if "seed" in given and random_weights and choice.seed != int(trained["seed"]):
        raise _conflict(info, "seed", choice.seed, trained["seed"])
    return choice


def backbone_record(source: BackboneChoice, identity: str, sha256: str) -> dict[str, Any]:
    """The sidecar's ``backbone`` section: what rebuilds the backbone (name, pretrained, seed, config), its hash.

    ``source`` is what was asked for, ``identity`` how :func:`~forensic_kfd.backbone.load_backbone` named what it
    loaded (``Backbone.identity``); folders and hub ids are recorded by their identity (an absolute path).
    """
    name, pretrained = source.name, source.pretrained
    if identity.startswith(_FOLDER_PREFIXES):
        name, pretrained = identity, None
        config = _folder_model_config(name)
    else:
        name = name.replace("/", "-")
        if pretrained is not None and Path(pretrained).expanduser().is_file():
            pretrained = str(Path(pretrained).expanduser().resolve())
        config = open_clip.get_model_config(name)
    return {
        "name": name,
        "pretrained": pretrained,
        "seed": source.seed,
        "config": config,
        "identity": identity,
        "sha256": sha256,
    }


def ensure_model_config(name: str, config: Any) -> None:
    """Make a sidecar's open_clip model config known when this open_clip does not know the name (a custom one)."""
    if not isinstance(config, dict) or not _SAFE_NAME.match(name) or open_clip.get_model_config(name) is not None:
        return
    folder = Path(tempfile.mkdtemp(prefix="kfd-model-config-"))
    (folder / f"{name}.json").write_text(json.dumps(config), encoding="utf-8")
    open_clip.add_model_config(folder)


def _folder_model_config(identity: str) -> dict[str, Any] | None:
    if not identity.startswith("local-dir:"):
        return None  # an hf-hub: id names its config itself
    try:
        data = json.loads((Path(identity.removeprefix("local-dir:")) / "open_clip_config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    config = data.get("model_cfg") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else None


def _model_name(value: str) -> bool:
    """An open_clip model name (not a folder, a hub id or a path)."""
    if value.startswith(_FOLDER_PREFIXES) or os.path.isdir(os.path.expanduser(value)):
        return False
    return open_clip.get_model_config(value.replace("/", "-")) is not None


def _same_name(name: str, trained: dict[str, Any]) -> bool:
    return name.replace("/", "-") == str(trained["name"]).replace("/", "-")


def _tag(value: Any) -> bool:
    """A pretrained tag or null (random weights), as opposed to a checkpoint file."""
    if value is None:
        return True
    text = str(value)
    checkpoint = Path(text).suffix in (".pt", ".pth", ".bin", ".safetensors")
    return not (checkpoint or os.sep in text or text.startswith((".", "~")))


def _conflict(info: WeightsInfo, key: str, value: Any, trained: Any) -> BackboneMismatchError:
    return BackboneMismatchError(
        f"kfd: {key}={value!r} in the settings conflicts with {key}={trained!r} in {sidecar_path(info.path).name} "
        f"(weights {info.path.name} were trained on backbone {info.backbone_identity}): remove '{key}' from the "
        "settings to use the sidecar's, or use weights trained on that backbone"
    )
