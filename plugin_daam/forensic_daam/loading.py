"""Loading a timm classifier and an image for ``forensic daam`` (weights loading kept apart from the method).

Pretrained weights come from the Hugging Face hub through timm; a local checkpoint (safetensors preferred,
``torch.load(weights_only=True)`` otherwise) replaces them. When the hub is unreachable the command must fail at
once, not after ~47 s of retries, so the hub is probed once and, when it does not answer, the weights are looked
up in the local hub cache only (``local_files_only``) and handed to timm as a file: cached weights still load,
missing ones fail immediately. The process environment is left as it was (other components in the same process
decide about the network for themselves).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from forensic_core.errors import ConfigError, InputError, MissingWeightsError, one_line


def hub_reachable(timeout: float = 1.5) -> bool:
    """Whether the Hugging Face endpoint accepts a TCP connection (False when HF_HUB_OFFLINE is set)."""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def hub_cache_dir() -> Path:
    """The hub cache huggingface_hub uses (HF_HUB_CACHE, else HF_HOME/hub), read now rather than at its import."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def cached_pretrained_file(name: str) -> str | None:
    """The local cache's copy of timm model ``name``'s hub weights (no network), or None when it has none."""
    import timm.models
    from huggingface_hub import hf_hub_download

    config = timm.models.get_pretrained_cfg(name)
    repo_id = getattr(config, "hf_hub_id", None)
    if not repo_id:
        return None
    names = (
        [config.hf_hub_filename]
        if config is not None and config.hf_hub_filename
        else ["model.safetensors", "pytorch_model.bin"]
    )
    repo_id, _, revision = repo_id.partition("@")
    for filename in names:
        try:
            return str(
                hf_hub_download(
                    repo_id, filename, revision=revision or None, cache_dir=hub_cache_dir(), local_files_only=True
                )
            )
        except Exception:  # not cached (or a broken cache entry): try the next name, then report missing weights
            continue
    return None


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or a torch file (unwrapping 'model' / 'state_dict', 'module.')."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InputError(
                f"cannot read checkpoint {path}: {one_line(exc, limit=300, bare=(BaseException,))}"
            ) from exc
    for key in ("model", "state_dict", "model_ema"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise InputError(f"checkpoint {path} holds no state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_timm_model(name: str, checkpoint: Path | None = None, **model_args: Any) -> Any:
    """``timm.create_model(name)`` in eval mode: pretrained without ``checkpoint``, else its weights."""
    offline = checkpoint is None and not hub_reachable()
    import timm

    if not timm.is_model(name):
        raise ConfigError(f"unknown timm model {name!r}; see timm.list_models('vit*') for ViT names")
    if checkpoint is None:
        try:
            if offline:
                local = cached_pretrained_file(name)
                if local is None:
                    raise FileNotFoundError(f"{name!r} is not in the local hub cache")
                model_args = {**model_args, "pretrained_cfg_overlay": {"file": local}}
            model = timm.create_model(name, pretrained=True, **model_args)
        except Exception as exc:
            where = "the model hub is unreachable" if offline else str(exc).splitlines()[0]
            raise MissingWeightsError(
                f"no pretrained weights for {name!r} ({where}); pass --checkpoint PATH with a local .safetensors/.pt "
                "state dict"
            ) from exc
        return model.eval()
    state = read_state_dict(checkpoint)
    head = state.get("head.weight")
    if head is not None and "num_classes" not in model_args:
        model_args["num_classes"] = int(head.shape[0])
    model = timm.create_model(name, pretrained=False, **model_args)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = one_line(exc, limit=300, bare=(BaseException,))
        raise ConfigError(f"checkpoint {checkpoint} does not fit timm model {name!r}: {detail}") from exc
    return model.eval()


def image_tensor(path: Path, model: Any) -> tuple[np.ndarray, Any]:
    """The image as H x W x 3 uint8 and as the model's normalised (1, 3, h, w) input (whole image resized)."""
    import torch
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            rgb = np.asarray(picture.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    config = getattr(model, "pretrained_cfg", {}) or {}
    size = tuple(getattr(model.patch_embed, "img_size", None) or config.get("input_size", (3, 224, 224))[1:])
    mean = torch.tensor(config.get("mean", (0.485, 0.456, 0.406))).view(1, 3, 1, 1)
    std = torch.tensor(config.get("std", (0.229, 0.224, 0.225))).view(1, 3, 1, 1)
    resized = (
        np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
    )
    tensor = torch.from_numpy(resized).permute(2, 0, 1)[None]
    return rgb, (tensor - mean) / std
