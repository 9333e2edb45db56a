"""The user-facing settings of the KFD detector and localizer (light: pydantic and the core only).

The same model settings serve both components: a pipeline that names ``kfd`` as detector and as localizer with
equal model settings shares one loaded model (see :func:`model_key`). Settings that only change how results are
reported (``threshold``, ``mask_threshold``, ``batch_size``) are not part of that key.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from forensic_core import ComponentSettings, PathOrNameSetting, PathSetting

UNTRAINED_NOTE = (
    "no KFD weights file given: the projections and heads are untrained (random, seeded), so scores and masks "
    "are meaningless; set 'weights' to a trained .safetensors file"
)


class ClassDescriptions(BaseModel):
    """Sentences describing each class; the text encoder turns them into the class embeddings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pristine: tuple[str, ...] = Field((), description="sentences describing a genuine, unmanipulated face")
    deepfake: tuple[str, ...] = Field((), description="sentences describing a manipulated face or its artifacts")


class KfdSettings(ComponentSettings):
    """Settings of the Knowledge-guided Forgery Detector (detector and localizer ``kfd``).

    Without ``weights`` the trainable parts (per-layer projections, context vectors, heads) are random: the output
    has the right shape and range but no meaning. Use that only to test a pipeline; the report says
    ``heads: untrained``.
    """

    backbone: PathOrNameSetting = Field(
        "ViT-B-16",
        description=(
            "open_clip backbone: a model name (ViT-B-16, ViT-L-14, ...), 'hf-hub:ORG/REPO', a local folder holding "
            "open_clip_config.json and weights (a path or 'local-dir:PATH'), or 'kfd-tiny' (a tiny random test "
            "model shipped with this plugin); with 'weights' the default is the backbone its sidecar names"
        ),
    )
    pretrained: PathOrNameSetting | None = Field(
        "openai",
        description=(
            "backbone weights for a model name: an open_clip pretrained tag (openai, laion2b_s34b_b88k, ...) or a "
            "local checkpoint file (.safetensors, .pt, .bin); null builds the backbone with random weights from "
            "'seed' (tests only); ignored for hf-hub: ids and local folders; with 'weights' the default is the "
            "sidecar's"
        ),
    )
    weights: PathSetting | None = Field(
        None,
        description=(
            "trained KFD parts: a .safetensors file with its .json sidecar beside it, a model folder holding "
            "kfd.safetensors + kfd.json ('forensic kfd export'), or 'hf-hub:ORG/NAME' with that layout; the "
            "sidecar names the backbone, so this setting alone is enough; null leaves the heads untrained "
            "(meaningless scores, reported as heads: untrained)"
        ),
    )
    cache_dir: PathSetting | None = Field(
        None, description="download cache for backbone and hf-hub: weights; null uses the hub default"
    )
    layers: tuple[int, ...] | None = Field(
        None,
        description=(
            "vision blocks whose patch tokens are correlated with the class embeddings, numbered from 1; null "
            "takes them from the weights file, else three blocks over the second half (6, 9, 12 for ViT-B-16)"
        ),
    )
    descriptions: ClassDescriptions | None = Field(
        None,
        description="class descriptions replacing the built-in knowledge base (or the one in the weights file)",
    )
    extra_descriptions: ClassDescriptions = Field(
        default_factory=ClassDescriptions,
        description="class descriptions appended to the built-in (or replaced) ones: extend the knowledge base here",
    )
    context_tokens: int | None = Field(
        None,
        ge=0,
        le=32,
        description="learnable context vectors per class (CoOp) for untrained heads; null: 4, or the weights file's",
    )
    visual_prompts: int | None = Field(
        None,
        ge=0,
        le=64,
        description="learnable visual prompt tokens appended to the ViT token sequence; null: 0 (off) or the file's",
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$",
        description="'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'",
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="'auto' uses bf16 (or fp16) autocast on CUDA and fp32 on CPU; fp16 needs CUDA",
    )
    batch_size: int = Field(
        32,
        ge=1,
        le=1024,
        description="images per forward pass; on CUDA also the batch the host gathers across inputs by default",
    )
    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the label is 'fake'")
    mask_threshold: float = Field(0.5, ge=0, le=1, description="mask value at or above which a pixel is 'forged'")
    seed: int = Field(
        0,
        ge=0,
        description="seed for random backbone weights (pretrained: null) and untrained heads; with 'weights' the "
        "default is the sidecar's",
    )

    def model_key(self) -> str:
        """The settings that determine the loaded model, as a stable string (the BuildContext share key)."""
        relevant = self.model_dump(mode="json", exclude={"threshold", "mask_threshold", "batch_size"})
        return "forensic_kfd.runtime:" + json.dumps(relevant, sort_keys=True)
