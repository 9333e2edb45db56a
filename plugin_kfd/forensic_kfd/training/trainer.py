"""The training loop: AdamW, warm-up + cosine, clipping, AMP, accumulation, DDP, checkpoints, exact resume.

Multi-GPU (and multi-process CPU) training uses torchrun and DistributedDataParallel: both ship with torch (no new
dependency), and DDP's all-reduce of gradients is all KFD needs (small trainable parts, one model per process).
``torchrun --nproc_per_node N -m forensic_kfd.training CONFIG -o RUN`` (or the ``forensic`` script) starts N
processes; each reads its rank from the environment, NCCL on CUDA, gloo on CPU.

Outputs in RUN: ``metrics.jsonl`` (one JSON object per logged step: step, loss, each term, lr, temperature),
``val.jsonl`` (validation metrics), ``checkpoints/step-N.pt`` (model parts, optimiser, scheduler, RNG states and
step; the data position is the step, see :class:`~forensic_kfd.training.data.StepSampler`), ``config.json``,
and at the end ``kfd.safetensors`` + ``kfd.json``, the weights file the ``kfd`` components load.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from forensic_core.errors import ConfigError
from forensic_kfd.model_files import BackboneChoice, backbone_record
from forensic_kfd.persistence import save_weights
from forensic_kfd.runtime import resolve_precision
from forensic_kfd.towers import vision_tower
from forensic_kfd.training.cache import TokenCache, build_cache, cache_fingerprint
from forensic_kfd.training.config import TrainConfig, config_digest
from forensic_kfd.training.data import VAL_SALT, KfdSamples, StepSampler
from forensic_kfd.training.module import TERMS, ModelSetup, build_setup, parameter_groups
from forensic_kfd.training.validate import evaluate


@dataclass
class Distributed:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


@dataclass
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    weights: Path | None
    steps: int
    final: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    used_cache: bool = False


def init_distributed(device_type: str) -> Distributed:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on CUDA, gloo otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Distributed(world, torch.distributed.get_rank(), int(os.environ.get("LOCAL_RANK", "0")))


def resolve_train_device(name: str, dist: Distributed) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"kfd train: device {name!r} requested but CUDA is not available: use 'auto' or 'cpu'")
        if dist.world > 1 and name == "cuda":
            name = f"cuda:{dist.local_rank}"
    return torch.device(name)


def warmup_cosine(steps: int, warmup: int, floor: float) -> Callable[[int], float]:
    """LR multiplier: linear from 1/(warmup+1) to 1 over ``warmup`` steps, then cosine to ``floor``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class Trainer:
    """One training run in ``run_dir``; :meth:`run` trains to ``config.steps`` and exports the weights."""

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, resume: bool = False) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.resume = resume
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.dist = init_distributed("cuda" if config.device.startswith("cuda") else "cpu")
        self.device = resolve_train_device(config.device, self.dist)
        self.autocast_dtype = resolve_precision(config.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        try:
            self.setup: ModelSetup = build_setup(config)
        except ValueError as error:
            raise ConfigError(f"kfd train: {error}") from error
        # eval mode throughout: KFD has no dropout or batch norm, and the frozen backbone must stay as it infers
        self.module = self.setup.module.to(self.device).eval()
        visual = vision_tower(self.setup.backbone.clip)
        self.input_size = (int(visual.image_size[0]), int(visual.image_size[1]))
        self.mean = list(self.setup.backbone.preprocess["mean"])
        self.std = list(self.setup.backbone.preprocess["std"])
        self.train_samples = self._samples(config.data.train, augment=True)
        self.val_samples = self._samples(config.data.val, augment=False) if config.data.val else None
        self.use_cache = self._cache_wanted()
        self.optimizer = torch.optim.AdamW(
            parameter_groups(self.module, config.optim.weight_decay),
            lr=config.optim.lr,
            betas=config.optim.betas,
        )
        schedule = warmup_cosine(config.steps, config.optim.warmup_steps, config.optim.min_lr_ratio)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.step = 0

    # -- setup -----------------------------------------------------------------------------------------------
    def _samples(self, source: Any, *, augment: bool) -> KfdSamples:
        config = self.config
        return KfdSamples(
            source,
            input_size=self.input_size,
            mean=self.mean,
            std=self.std,
            types=self.setup.types,
            pseudo=config.data.pseudo,
            augment=config.data.augment if augment else None,
            seed=config.seed,
            salt=1 if augment else VAL_SALT,
        )

    def _cache_wanted(self) -> bool:
        possible = not self.module.backbone_trains
        mode = self.config.cache.enabled
        if mode == "on" and not possible:
            raise ConfigError(
                "kfd train: cache.enabled is 'on' but the backbone trains (tuned blocks or visual prompts): "
                "the token cache needs a frozen backbone and visual prompts off (set cache.enabled: auto)"
            )
        return possible and mode != "off"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def training_data(self) -> torch.utils.data.Dataset[dict[str, Any]]:
        """The dataset the loop reads: the token cache (built on rank 0 first) or the samples themselves."""
        if not self.use_cache:
            return self.train_samples
        config = self.config
        folder = Path(config.cache.dir) if config.cache.dir else self.run_dir / "cache"
        fingerprint = cache_fingerprint(
            {
                "model": config.model.model_dump(mode="json"),
                "data": config.data.train.model_dump(mode="json"),
                "pseudo": config.data.pseudo.model_dump(mode="json"),
                "augment": config.data.augment.model_dump(mode="json"),
                "knowledge": list(self.setup.types),
                "seed": config.seed,
                "epochs": config.cache.epochs,
                "dtype": config.cache.dtype,
                "precision": str(self.autocast_dtype),
                "backbone": self.setup.base_sha256,
            }
        )
        if self.dist.main:
            build_cache(
                folder,
                self.train_samples,
                self.module,
                epochs=config.cache.epochs,
                dtype=config.cache.dtype,
                batch_size=config.batch_size,
                device=self.device,
                fingerprint=fingerprint,
                autocast=self.autocast,
                progress=config.progress,
            )
        self.dist.barrier()
        return TokenCache(folder, len(self.train_samples), config.cache.epochs)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def checkpoint_path(self, step: int) -> Path:
        return self.run_dir / "checkpoints" / f"step-{step:08d}.pt"

    def save_checkpoint(self) -> Path:
        path = self.checkpoint_path(self.step)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "step": self.step,
            "config_digest": config_digest(self.config),
            "model": {k: v.detach().cpu() for k, v in self.module.checkpoint_state().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
        }
        temporary = path.with_suffix(".tmp")
        torch.save(state, temporary)
        temporary.replace(path)
        for old in sorted(path.parent.glob("step-*.pt"))[: -self.config.keep_checkpoints]:
            old.unlink()
        return path

    def latest_checkpoint(self) -> Path | None:
        found = sorted((self.run_dir / "checkpoints").glob("step-*.pt"))
        return found[-1] if found else None

    def load_checkpoint(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state["config_digest"] != config_digest(self.config):
            raise ConfigError(
                f"kfd train: --resume: {path.name} was written with a different config (only log_every, "
                "val_every, checkpoint_every, keep_checkpoints, progress and data.workers may change): "
                f"use the run's config.json or a new -o folder"
            )
        missing, unexpected = self.module.load_state_dict(state["model"], strict=False)
        expected = set(self.module.checkpoint_state())
        if unexpected or expected - set(state["model"]):
            raise ConfigError(f"kfd train: --resume: {path.name} does not match the model ({unexpected[:3]})")
        del missing  # the frozen backbone is not in checkpoints; it is rebuilt from the config
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        self.step = int(state["step"])

    # -- the loop --------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        config = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.resume:
            latest = self.latest_checkpoint()
            if latest is None:
                raise ConfigError(f"kfd train: --resume: {self.run_dir}/checkpoints holds no checkpoint to resume")
            self.load_checkpoint(latest)
        elif self.latest_checkpoint() is not None:
            raise ConfigError(
                f"kfd train: {self.run_dir} already holds checkpoints: pass --resume or choose a new -o folder"
            )
        if self.dist.main:
            (self.run_dir / "config.json").write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
            for name in ("metrics.jsonl", "val.jsonl"):
                _truncate_log(self.run_dir / name, self.step)
        data = self.training_data()
        model: nn.Module = self.module
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        sampler = StepSampler(
            len(self.train_samples),
            seed=config.seed,
            steps=config.steps,
            batch=config.batch_size,
            accumulate=config.accumulate,
            world=self.dist.world,
            rank=self.dist.rank,
            start=self.step,
        )
        loader = torch.utils.data.DataLoader(
            data, batch_size=config.batch_size, sampler=sampler, num_workers=config.data.workers
        )
        batches = iter(loader)
        bar = self._progress()
        running: dict[str, float] = {}
        final: dict[str, float] = {}
        validation: dict[str, float] = {}
        started, seen = time.perf_counter(), 0
        while self.step < config.steps:
            totals = self._optimiser_step(model, batches)
            self.step += 1
            seen += config.batch_size * config.accumulate * self.dist.world
            running = {k: v if k not in running else 0.9 * running[k] + 0.1 * v for k, v in totals.items()}
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{running[k]:.3f}" for k in ("loss", *TERMS)})
            if self.step % config.log_every == 0 or self.step == config.steps:
                final = self._log(totals, seen / max(1e-9, time.perf_counter() - started))
            if self.dist.main and (self.step % config.checkpoint_every == 0 or self.step == config.steps):
                self.save_checkpoint()
            if self.val_samples is not None and (self.step % config.val_every == 0 or self.step == config.steps):
                validation = self._validate()
        if bar is not None:
            bar.close()
        weights = self.export() if self.dist.main else None
        self.dist.barrier()
        return TrainResult(self.run_dir, weights, self.step, final, validation, self.use_cache)

    def _optimiser_step(self, model: nn.Module, batches: Iterator[dict[str, Any]]) -> dict[str, float]:
        config = self.config
        sums = torch.zeros(1 + len(TERMS), dtype=torch.float64)
        for micro in range(config.accumulate):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in next(batches).items()}
            last = micro == config.accumulate - 1
            sync = contextlib.nullcontext() if last or self.dist.world == 1 else model.no_sync()  # type: ignore[operator]
            with sync:
                with self.autocast():
                    terms = model(batch)
                loss = terms["loss"] / config.accumulate
                (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            sums += torch.stack([terms[k].detach().double().cpu() for k in ("loss", *TERMS)])
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if config.optim.clip_grad is not None:
            parameters = [p for p in self.module.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(parameters, config.optim.clip_grad)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        means = sums / config.accumulate
        if self.dist.world > 1:
            torch.distributed.all_reduce(means)
            means /= self.dist.world
        return dict(zip(("loss", *TERMS), means.tolist(), strict=True))

    def _progress(self) -> Any:
        if not (self.config.progress and self.dist.main):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.config.steps, initial=self.step, desc="kfd train", unit="step", dynamic_ncols=True)

    def _log(self, totals: dict[str, float], samples_per_s: float) -> dict[str, float]:
        entry = {
            "step": self.step,
            **{k: round(v, 6) for k, v in totals.items()},
            "lr": self.scheduler.get_last_lr()[0],
            "temperature": float(self.module.contrast.temperature.detach()),
            "samples_per_s": round(samples_per_s, 2),
        }
        if self.dist.main:
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        return dict(totals)

    def _validate(self) -> dict[str, float]:
        result: dict[str, float] = {}
        if self.dist.main and self.val_samples is not None:
            result = evaluate(
                self.module,
                self.val_samples,
                device=self.device,
                batch_size=self.config.batch_size,
                autocast=self.autocast,
            )
            with open(self.run_dir / "val.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": self.step, **result}) + "\n")
        self.dist.barrier()
        return result

    def export(self) -> Path:
        """``RUN/kfd.safetensors`` + ``RUN/kfd.json``: the file ``detector: {name: kfd, settings: {weights}}`` reads."""
        path = self.run_dir / "kfd.safetensors"
        spec = self.config.model
        source = BackboneChoice(spec.backbone, spec.pretrained, spec.seed)
        save_weights(
            self.module.kfd,
            path,
            backbone=backbone_record(source, self.setup.backbone.identity, self.setup.base_sha256),
            input_spec={"size": list(self.input_size), "mean": self.mean, "std": self.std},
            backbone_state=self.module.tuned_backbone_state() or None,
            training={"config_digest": config_digest(self.config), "steps": self.step, "config": "config.json"},
        )
        return path


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (a resumed run rewrites them), or start a fresh log at step 0."""
    if not path.is_file():
        return
    if step == 0:
        path.unlink()
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines() if json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False) -> TrainResult:
    """Train KFD as ``config`` says, into ``run_dir`` (see :class:`Trainer`).

    ``config.threads`` sets torch's thread count for the run only: it is process-wide, so the caller's count is
    restored afterwards (a notebook or a test process goes on with the threads it had).
    """
    threads = torch.get_num_threads()
    try:
        return Trainer(config, run_dir, resume=resume).run()
    finally:
        torch.set_num_threads(threads)
