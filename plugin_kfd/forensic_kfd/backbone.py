"""Loading the open_clip backbone: model names + pretrained tags, ``hf-hub:`` ids, local folders and files.

Loading never hangs on an unreachable hub: weights already in the cache are loaded from their local path (no
network call at all), and a missing download fails at once with a :class:`MissingWeightsError` that says what to
do, instead of letting huggingface_hub retry for ~47 s.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import open_clip
import torch

from forensic_core import errors
from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_kfd.towers import vision_tower

TINY_MODEL = "kfd-tiny"
_CONFIG_DIR = Path(__file__).with_name("model_configs")
_HUB_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")
_registered = False


@dataclass
class Backbone:
    """A loaded open_clip model with what KFD needs to know about it."""

    clip: torch.nn.Module
    tokenizer: Any
    identity: str
    preprocess: dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> tuple[int, int]:
        size: int | tuple[int, int] = vision_tower(self.clip).image_size
        return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def register_model_configs() -> None:
    """Make the plugin's own open_clip configs (``kfd-tiny``) known to open_clip, once per process."""
    global _registered
    if not _registered:
        open_clip.add_model_config(_CONFIG_DIR)
        _registered = True


def load_backbone(name: str, pretrained: str | None, *, seed: int = 0, cache_dir: str | None = None) -> Backbone:
    """Build the open_clip model named by the settings, on CPU in fp32, in eval mode and frozen."""
    register_model_configs()
    local_dir = _local_dir(name)
    if local_dir is not None:
        return _create(f"local-dir:{local_dir}", None, identity=f"local-dir:{local_dir}", seed=seed)
    if name.startswith("hf-hub:"):
        return _load_from_hub_id(name, seed=seed, cache_dir=cache_dir)

    name = name.replace("/", "-")  # open_clip accepts "ViT-B/16" for "ViT-B-16"
    if open_clip.get_model_config(name) is None:
        hint = difflib.get_close_matches(name, open_clip.list_models(), n=3)
        suggestion = f" (did you mean {', '.join(hint)}?)" if hint else ""
        raise ConfigError(
            f"kfd: backbone {name!r} is neither an open_clip model name{suggestion} nor an existing folder; "
            "see open_clip.list_models()"
        )
    if pretrained is None:
        return _create(name, None, identity=f"{name}/random(seed={seed})", seed=seed)
    if Path(pretrained).expanduser().is_file():
        path = str(Path(pretrained).expanduser().resolve())
        return _create(name, path, identity=f"{name}/{path}", seed=seed)
    if _looks_like_path(pretrained):
        raise MissingWeightsError(
            f"kfd: backbone checkpoint {pretrained!r} does not exist: fix the path in 'pretrained' or use a tag"
        )
    return _load_tagged(name, pretrained, seed=seed, cache_dir=cache_dir)


def backbone_sha256(module: torch.nn.Module) -> str:
    """SHA-256 of a model's state (names, dtypes, shapes, bytes): identifies the weights whatever file held them."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        shape = tuple(tensor.shape)
        tensor = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}|{tensor.dtype}|{shape}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy().data if tensor.numel() else b"")
    return digest.hexdigest()


def hub_offline() -> bool:
    """True when huggingface_hub must not use the network (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in ("1", "true", "yes", "on") for flag in flags)


def _create(model_name: str, pretrained: str | None, *, identity: str, seed: int, **kwargs: Any) -> Backbone:
    # Random initialisation draws from the global RNG: fork it so that the seed makes the weights reproducible
    # without changing the caller's random state.
    intended_random = pretrained is None and not model_name.startswith(("hf-hub:", "local-dir:"))
    try:
        with torch.random.fork_rng(devices=[]), _quiet_open_clip(intended_random):
            torch.manual_seed(seed)
            clip = open_clip.create_model(model_name, pretrained=pretrained, device="cpu", **kwargs)
        tokenizer = _tokenizer(model_name)
    except (OSError, RuntimeError, ValueError) as error:
        raise MissingWeightsError(f"kfd: could not load backbone {identity}: {one_line(error)}") from error
    clip.eval()
    clip.requires_grad_(False)
    preprocess = dict(getattr(clip.visual, "preprocess_cfg", {}) or {})
    preprocess.setdefault("mean", list(open_clip.OPENAI_DATASET_MEAN))
    preprocess.setdefault("std", list(open_clip.OPENAI_DATASET_STD))
    return Backbone(clip=clip, tokenizer=tokenizer, identity=identity, preprocess=preprocess)


class _OpenClipBelowError(logging.Filter):
    """Drops open_clip's records below ERROR (it logs through the root logger, not a logger of its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or f"{os.sep}open_clip{os.sep}" not in record.pathname


@contextlib.contextmanager
def _quiet_open_clip(quiet: bool) -> Iterator[None]:
    # open_clip warns "initialized randomly" on the root logger; for pretrained: null that is the request itself.
    # A filter for the duration of the call, removed after: the root logger's level and other records untouched.
    if not quiet:
        yield
        return
    root, only_open_clip = logging.getLogger(), _OpenClipBelowError()
    root.addFilter(only_open_clip)
    try:
        yield
    finally:
        root.removeFilter(only_open_clip)


@functools.lru_cache(maxsize=8)
def _tokenizer(model_name: str) -> Any:
    # Tokenizers are stateless and slow to build (the BPE table): one per model name and process.
    return open_clip.get_tokenizer(model_name)


def _load_tagged(name: str, tag: str, *, seed: int, cache_dir: str | None) -> Backbone:
    tag_cfg = open_clip.get_pretrained_cfg(name, tag)
    if not tag_cfg:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise ConfigError(f"kfd: {name} has no pretrained tag {tag!r}; known tags: {', '.join(tags) or 'none'}")
    identity = f"{name}/{tag}"
    # Loading a cached file by path keeps the tag's preprocessing and activation, without touching the network.
    overrides: dict[str, Any] = {"force_preprocess_cfg": {k: tag_cfg[k] for k in _PREPROCESS_KEYS if k in tag_cfg}}
    if tag_cfg.get("quick_gelu"):
        overrides["force_quick_gelu"] = True
    cached = _cached_tag_file(tag_cfg, cache_dir)
    if cached is not None:
        return _create(name, cached, identity=identity, seed=seed, **overrides)
    require_network(identity, "set 'pretrained' to a local checkpoint file")
    return _create(name, tag, identity=identity, seed=seed, cache_dir=cache_dir, **overrides)


def _load_from_hub_id(name: str, *, seed: int, cache_dir: str | None) -> Backbone:
    repo_id = name.removeprefix("hf-hub:")
    snapshot = _cached_hub_snapshot(repo_id, cache_dir)
    if snapshot is not None:
        return _create(f"local-dir:{snapshot}", None, identity=name, seed=seed)
    require_network(name, "set 'backbone' to a local folder with open_clip_config.json and weights")
    return _create(name, None, identity=name, seed=seed, cache_dir=cache_dir)


def _cached_tag_file(tag_cfg: dict[str, Any], cache_dir: str | None) -> str | None:
    if tag_cfg.get("file"):
        return str(tag_cfg["file"])
    hub = tag_cfg.get("hf_hub", "")
    if hub:
        repo_id, _, filename = hub.rpartition("/") if not hub.endswith("/") else (hub.rstrip("/"), "", "")
        candidates = [filename] if filename else list(_HUB_WEIGHT_FILES)
        if filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for candidate in candidates:
            found = _try_cache(repo_id, candidate, cache_dir)
            if found:
                return found
    url = tag_cfg.get("url", "")
    if url:
        local = Path(cache_dir or Path.home() / ".cache" / "clip") / os.path.basename(urlparse(url).path)
        if local.is_file():
            return str(local)
    return None


def _cached_hub_snapshot(repo_id: str, cache_dir: str | None) -> Path | None:
    config = _try_cache(repo_id, "open_clip_config.json", cache_dir)
    if config is None:
        return None
    folder = Path(config).parent
    return folder if any((folder / f).exists() for f in _HUB_WEIGHT_FILES) else None


def _try_cache(repo_id: str, filename: str, cache_dir: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
    except Exception:  # a malformed repo id is "not cached", the download attempt will say why
        return None
    return found if isinstance(found, str) else None


def require_network(identity: str, alternative: str, *, what: str = "backbone") -> None:
    """Fail fast when the weights would have to be downloaded but cannot be (``what`` names them)."""
    if hub_offline():
        raise MissingWeightsError(
            f"kfd: {what} {identity} is not in the local cache and HF_HUB_OFFLINE is set: "
            f"run once with network access to cache it, or {alternative}"
        )
    from huggingface_hub import constants

    endpoint = urlparse(constants.ENDPOINT)
    host, port = endpoint.hostname or "huggingface.co", endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as error:
        raise MissingWeightsError(
            f"kfd: {what} {identity} is not cached and {host} cannot be reached ({one_line(error)}): "
            f"connect to the network once, or {alternative}"
        ) from error


def _local_dir(name: str) -> Path | None:
    if name.startswith("local-dir:"):
        path = Path(name.removeprefix("local-dir:")).expanduser()
        if not path.is_dir():
            raise MissingWeightsError(f"kfd: backbone folder {path} does not exist: fix 'backbone'")
    elif name.startswith("hf-hub:") or not Path(name).expanduser().is_dir():
        return None
    else:
        path = Path(name).expanduser()
    if not (path / "open_clip_config.json").is_file():
        raise MissingWeightsError(f"kfd: backbone folder {path} has no open_clip_config.json: fix 'backbone'")
    return path.resolve()


def _looks_like_path(value: str) -> bool:
    return os.sep in value or value.startswith((".", "~")) or value.endswith((".pt", ".pth", ".bin", ".safetensors"))


def one_line(error: BaseException) -> str:
    """The message alone on one line of at most 300 characters (the core's shortener)."""
    return errors.one_line(error, limit=300, bare=(BaseException,))
