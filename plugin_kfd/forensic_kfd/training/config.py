"""The training configuration (``forensic kfd train CONFIG.yaml``): one pydantic model, YAML in, ``--set`` overrides.

Light on purpose (pydantic, yaml and the standard library): the CLI validates a config before torch is imported.
Defaults and the reasons for them are in each field's description; ``docs`` of the plugin README repeat them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forensic_core.errors import ConfigError

# The manipulation-knowledge base of the knowledge-guided contrastive term: one or more sentences per type.
# Keys are the types labels name: "real", the pseudo-fake recipe types, FF++ / Celeb-DF method names, and "fake"
# (the fallback for a fake whose method is unknown or not listed here).
DEFAULT_KNOWLEDGE: dict[str, list[str]] = {
    "real": ["a genuine photo of a face", "an unedited photograph of a person"],
    "colour": [
        "a face whose colour does not match the neck and forehead",
        "a face pasted in with a colour and brightness mismatch",
    ],
    "resample": ["a face with blurry, resampled regions", "a face region that was downscaled and upsampled"],
    "sharpen": ["a face with over-sharpened, high-frequency edges", "a face with unnaturally crisp texture"],
    "Deepfakes": ["a face swapped onto another head by an autoencoder", "a face with blending boundaries"],
    "FaceSwap": ["a face swapped onto another head by a graphics model", "a face with blending boundaries"],
    "FaceShifter": ["a face swapped onto another head by a generative network"],
    "Face2Face": ["a face with manipulated expression and mouth movement"],
    "NeuralTextures": ["a face with re-rendered mouth texture", "a face with manipulated mouth movement"],
    "DeepFakeDetection": ["a face swapped onto another head"],
    "Celeb-synthesis": ["a face swapped onto another head with improved blending"],
    "fake": ["a deepfake photo of a face", "a face with GAN texture artifacts"],
}

# settings that may change between a run and its --resume without changing its result (plus data.workers)
RESUMABLE_CHANGES = frozenset({"log_every", "val_every", "checkpoint_every", "keep_checkpoints", "progress"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(_Section):
    """The KFD model to train (the same names as the ``kfd`` components' settings)."""

    backbone: str = Field("ViT-B-16", description="open_clip backbone, as in the kfd detector's settings")
    pretrained: str | None = Field(
        "openai", description="backbone weights (tag or file); null: random weights from 'seed' (tests only)"
    )
    cache_dir: str | None = Field(None, description="download cache for backbone weights")
    layers: tuple[int, ...] | None = Field(None, description="vision blocks (from 1); null: three over the 2nd half")
    context_tokens: int = Field(4, ge=0, le=32, description="learnable context vectors per class (CoOp)")
    visual_prompts: int = Field(0, ge=0, le=64, description="learnable visual prompt tokens (0: off)")
    descriptions: dict[str, list[str]] | None = Field(
        None, description="class descriptions {pristine: [...], deepfake: [...]}; null: the built-in ones"
    )
    seed: int = Field(0, ge=0, description="seed of random backbone weights and of the heads' initialisation")


class BackboneTraining(_Section):
    """How much of the backbone trains: frozen (default), the last N blocks, or LoRA on their MLPs."""

    mode: Literal["frozen", "last_blocks", "lora"] = Field(
        "frozen", description="'frozen' (default; allows the token cache), 'last_blocks' or 'lora'"
    )
    blocks: int = Field(1, ge=1, description="how many of the last vision blocks train (last_blocks, lora)")
    lora_rank: int = Field(4, ge=1, le=256, description="rank of the LoRA update of each MLP linear layer")
    lora_alpha: float = Field(8.0, gt=0, description="LoRA scale numerator (update scaled by alpha / rank)")


class TrainParts(_Section):
    """Which KFD parts receive gradients (every part switchable)."""

    context: bool = Field(True, description="the per-class context vectors (CoOp)")
    projections: bool = Field(True, description="the per-layer projections into the joint space")
    localizer: bool = Field(True, description="the localizer head")
    classifier: bool = Field(True, description="the classifier head")
    visual_prompts: bool = Field(True, description="the visual prompt tokens (when model.visual_prompts > 0)")
    temperature: bool = Field(True, description="the contrastive term's temperature")
    backbone: BackboneTraining = Field(default_factory=BackboneTraining, description="backbone fine-tuning")


class LossWeights(_Section):
    """Weights of the loss terms; total = sum of weight * term."""

    mask_focal: float = Field(1.0, ge=0, description="focal loss on the forgery mask (all-zero for reals)")
    mask_dice: float = Field(1.0, ge=0, description="soft Dice loss on the forgery mask, per image")
    score_bce: float = Field(1.0, ge=0, description="binary cross-entropy on the forgery score")
    knowledge: float = Field(0.1, ge=0, description="knowledge-guided InfoNCE (image embedding vs type texts)")
    focal_gamma: float = Field(2.0, ge=0, description="focusing exponent of the focal loss")
    temperature: float = Field(0.07, gt=0, description="initial InfoNCE temperature (learnable, kept >= 0.01)")


class Optimiser(_Section):
    """AdamW with linear warm-up and cosine decay."""

    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases, norms, prompts)")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas")
    warmup_steps: int = Field(50, ge=0, description="linear warm-up from 0 to lr over this many steps")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine floor as a fraction of lr")
    clip_grad: float | None = Field(1.0, gt=0, description="global gradient-norm clip; null: no clipping")


class Augment(_Section):
    """Augmentation of real faces before the pseudo-fake is made (both classes see it)."""

    flip: bool = Field(True, description="random horizontal flip")
    crop: float = Field(0.1, ge=0, le=0.5, description="random crop removing up to this fraction of each side")
    colour: float = Field(0.1, ge=0, le=0.5, description="random brightness/contrast jitter of this magnitude")


class PseudoFakes(_Section):
    """The pseudo-fake distribution (see forensic_eval.pseudofake.PseudoFakeConfig)."""

    types: tuple[str, ...] = Field(("colour", "resample", "sharpen"), description="perturbation families used")
    blend_ratios: tuple[float, ...] = Field((0.25, 0.5, 0.75, 1.0, 1.0, 1.0), description="blend ratio choices")
    jpeg_quality: tuple[int, int] | None = Field((70, 100), description="JPEG quality range; null: no JPEG")
    jitter: float = Field(0.03, ge=0, le=0.2, description="source misalignment (fraction of the face size)")
    elastic: float = Field(0.03, ge=0, le=0.2, description="elastic mask deformation (fraction of the face size)")


class Source(_Section):
    """Where samples come from: a folder/list of real faces (+ pseudo-fakes) or a registered dataset."""

    reals: list[str] | None = Field(
        None,
        description=(
            "real face images: files, folders, or builtin:lfw / builtin:astronaut / builtin:grace_hopper (photos "
            "that ship in scikit-image and matplotlib); each gets an on-the-fly pseudo-fake twin"
        ),
    )
    dataset: str | None = Field(None, description="a registered dataset reader (forensic components --kind dataset)")
    settings: dict[str, Any] = Field(default_factory=dict, description="the dataset reader's settings")
    split: str | None = Field(None, description="keep only samples of this split (train/val/test); null: all")
    pseudo_fakes: bool = Field(True, description="make a pseudo-fake twin of every real image")
    faces: Literal["full", "detect"] = Field(
        "full", description="'full': images are face crops; 'detect': crop the largest face found by 'face_detector'"
    )
    face_detector: str = Field("haar", description="registered face detector for faces: detect")
    margin: float = Field(0.3, ge=0, le=1, description="crop margin around a detected face (fraction of its size)")
    start: int = Field(0, ge=0, description="use images [start:stop] of the sorted list (hold-out splits)")
    stop: int | None = Field(None, ge=1, description="end of that slice; null: to the end")
    frames_per_video: int = Field(8, ge=1, description="frames sampled from each video sample")

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.reals is None) == (self.dataset is None):
            raise ValueError("a data source names exactly one of 'reals' (images) or 'dataset' (a registered reader)")
        return self


class Data(_Section):
    """Training and validation data."""

    train: Source = Field(description="training samples")
    val: Source | None = Field(None, description="validation samples (pseudo-fakes with other seeds); null: none")
    pseudo: PseudoFakes = Field(default_factory=PseudoFakes, description="pseudo-fake distribution")
    augment: Augment = Field(default_factory=Augment, description="augmentation of training reals")
    workers: int = Field(0, ge=0, le=64, description="data-loader worker processes (0: in the training process)")


class TokenCache(_Section):
    """Cache of the backbone's multi-layer patch tokens (frozen backbone, no visual prompts only)."""

    enabled: Literal["auto", "on", "off"] = Field(
        "auto", description="'auto': use it whenever the backbone is frozen and visual prompts are off"
    )
    epochs: int = Field(4, ge=1, description="distinct realisations (augmentations, pseudo-fakes) of each sample")
    dtype: Literal["float16", "float32"] = Field("float16", description="storage type of the cached tokens")
    dir: str | None = Field(None, description="cache folder; null: RUN/cache")

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML reads a bare on/off as true/false
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class TrainConfig(_Section):
    """Everything ``forensic kfd train`` needs; ``steps`` is the training length."""

    model: ModelSection = Field(default_factory=ModelSection, description="the KFD model")
    train: TrainParts = Field(default_factory=TrainParts, description="which parts train")
    loss: LossWeights = Field(default_factory=LossWeights, description="loss terms and weights")
    optim: Optimiser = Field(default_factory=Optimiser, description="optimiser and schedule")
    data: Data = Field(description="training and validation data")
    knowledge: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_KNOWLEDGE.items()},
        description="manipulation-knowledge base: sentences per type (real, pseudo-fake types, FF++ methods, fake)",
    )
    cache: TokenCache = Field(default_factory=TokenCache, description="token cache")
    steps: int = Field(1000, ge=1, description="optimiser steps")
    batch_size: int = Field(32, ge=1, description="samples per micro-batch and process")
    accumulate: int = Field(1, ge=1, description="micro-batches per optimiser step (gradient accumulation)")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda|cuda:\d+)$", description="'auto', 'cpu', 'cuda[:N]'")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="'auto': bf16 (else fp16) autocast on CUDA, fp32 on CPU"
    )
    seed: int = Field(0, ge=0, description="seed of the data order, augmentation and pseudo-fakes")
    threads: int | None = Field(
        None,
        ge=1,
        le=512,
        description="CPU threads of torch (torch.set_num_threads); null: torch's default. On a shared or small "
        "CPU, 1 is often several times faster for tiny models (no OpenMP spinning)",
    )
    log_every: int = Field(10, ge=1, description="write RUN/metrics.jsonl every N steps")
    val_every: int = Field(200, ge=1, description="validate every N steps (and at the end)")
    checkpoint_every: int = Field(200, ge=1, description="write a resumable checkpoint every N steps")
    keep_checkpoints: int = Field(2, ge=1, description="how many recent checkpoints to keep")
    progress: bool = Field(True, description="show a progress bar with running losses")

    @model_validator(mode="after")
    def _knowledge_has_real(self) -> TrainConfig:
        for required in ("real", "fake"):
            if not self.knowledge.get(required):
                raise ValueError(f"knowledge must have sentences for {required!r}")
        return self

    def training_identity(self) -> dict[str, Any]:
        """The config minus what may differ on --resume (see RESUMABLE_CHANGES)."""
        data = self.model_dump(mode="json")
        data["data"].pop("workers", None)
        return {key: value for key, value in data.items() if key not in RESUMABLE_CHANGES}


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config, apply ``key.sub=value`` overrides (values parsed as YAML), validate."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"kfd train: cannot read config {path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"kfd train: {path} is not valid YAML: {' '.join(str(error).split())[:200]}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"kfd train: {path} must hold a mapping (model:, data:, steps: ...)")
    for override in overrides:
        apply_override(raw, override)
    return validate_config(raw, str(path))


def validate_config(raw: Mapping[str, Any], name: str = "config") -> TrainConfig:
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(
            f"kfd train: {name}: {where}: {first['msg']} ({error.error_count()} error(s); see the README)"
        ) from error


def apply_override(raw: dict[str, Any], override: str) -> None:
    """``optim.lr=3e-4`` -> raw["optim"]["lr"] = 3e-4 (the value is YAML: numbers, lists, null)."""
    import yaml

    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"kfd train: --set {override!r} must look like key.sub=value")
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"kfd train: --set {override!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = yaml.safe_load(value)


def config_digest(config: TrainConfig) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(config.training_identity(), sort_keys=True).encode()).hexdigest()[:16]
