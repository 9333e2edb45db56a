"""The model being trained: KFD + the knowledge-guided contrastive term, trainable parts switched by the config.

:class:`TrainingModule` maps a batch (images, or cached backbone tokens) to the loss terms, so one module is what
DDP wraps and what the cached and uncached paths share: both end in :meth:`KfdModel.from_tokens`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from forensic_kfd.backbone import Backbone, backbone_sha256, load_backbone
from forensic_kfd.descriptions import default_descriptions
from forensic_kfd.model import KfdConfig, KfdModel, default_layers
from forensic_kfd.towers import vision_tower
from forensic_kfd.training.config import LossWeights, TrainConfig, TrainParts
from forensic_kfd.training.losses import KnowledgeContrast, mask_dice_loss, mask_focal_loss, score_bce_loss

TERMS = ("mask_focal", "mask_dice", "score_bce", "knowledge")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) * x A^T B^T`` with a frozen base; B starts at zero, so training starts at the base."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.down = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.up = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + F.linear(F.linear(x, self.down.to(x.dtype)), self.up.to(x.dtype)) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * (self.up @ self.down)


@dataclass
class ModelSetup:
    """The training module and what the export needs to know about its backbone."""

    module: TrainingModule
    backbone: Backbone
    base_sha256: str
    types: list[str]


def build_setup(config: TrainConfig) -> ModelSetup:
    """Backbone (frozen), KFD (seeded like the kfd runtime), knowledge embeddings, trainable parts switched on."""
    spec = config.model
    backbone = load_backbone(spec.backbone, spec.pretrained, seed=spec.seed, cache_dir=spec.cache_dir)
    base_sha = backbone_sha256(backbone.clip)
    depth = len(vision_tower(backbone.clip).transformer.resblocks)
    kfd_config = KfdConfig(
        layers=tuple(spec.layers) if spec.layers else default_layers(depth),
        descriptions=spec.descriptions or default_descriptions(),
        context_tokens=spec.context_tokens,
        visual_prompts=spec.visual_prompts,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)  # the kfd runtime's seeding: an untrained run equals untrained components
        kfd = KfdModel(backbone.clip, backbone.tokenizer, kfd_config)
        types = list(config.knowledge)
        contrast = KnowledgeContrast(
            knowledge_embeddings(backbone, [config.knowledge[t] for t in types]), config.loss.temperature
        )
        module = TrainingModule(kfd, contrast, config.loss)
        set_trainable(module, config.train)
    return ModelSetup(module=module, backbone=backbone, base_sha256=base_sha, types=types)


@torch.no_grad()
def knowledge_embeddings(backbone: Backbone, sentences: Sequence[Sequence[str]]) -> torch.Tensor:
    """(T, D) per-type text embeddings: normalised mean of the frozen text encoder's normalised sentence embeddings."""
    rows = []
    encode_text = cast("Callable[[torch.Tensor], torch.Tensor]", backbone.clip.encode_text)
    for group in sentences:
        features = encode_text(backbone.tokenizer(list(group)))
        rows.append(F.normalize(F.normalize(features.float(), dim=-1).mean(0), dim=-1))
    return torch.stack(rows)


def set_trainable(module: TrainingModule, parts: TrainParts) -> None:
    """Freeze everything, then switch on the configured parts (LoRA adapters are inserted here)."""
    kfd = module.kfd
    module.requires_grad_(False)
    if parts.context and kfd.prompts.context is not None:
        kfd.prompts.context.requires_grad_(True)
    kfd.projections.requires_grad_(parts.projections)
    kfd.localizer.requires_grad_(parts.localizer)
    kfd.classifier.requires_grad_(parts.classifier)
    if parts.visual_prompts and kfd.visual_prompts is not None:
        kfd.visual_prompts.requires_grad_(True)
    module.contrast.log_temperature.requires_grad_(parts.temperature and module.weights.knowledge > 0)
    blocks = vision_tower(kfd.clip).transformer.resblocks
    tuned = list(range(len(blocks)))[-parts.backbone.blocks :]
    if parts.backbone.mode == "last_blocks":
        for index in tuned:
            blocks[index].requires_grad_(True)
    elif parts.backbone.mode == "lora":
        for index in tuned:
            mlp = blocks[index].mlp
            for name in ("c_fc", "c_proj"):
                base = getattr(mlp, name)
                if not isinstance(base, nn.Linear):
                    raise ValueError(f"LoRA needs nn.Linear MLP layers; block {index + 1} has {type(base).__name__}")
                setattr(mlp, name, LoRALinear(base, parts.backbone.lora_rank, parts.backbone.lora_alpha))
    module.tuned_blocks = tuned if parts.backbone.mode != "frozen" else []
    if not any(p.requires_grad for p in module.parameters()):
        raise ValueError("nothing to train: every part is switched off in 'train'")


class TrainingModule(nn.Module):
    """KFD plus the contrastive term; ``forward(batch)`` returns the weighted total and each term."""

    def __init__(self, kfd: KfdModel, contrast: KnowledgeContrast, weights: LossWeights) -> None:
        super().__init__()
        self.kfd = kfd
        self.contrast = contrast
        self.weights = weights
        self.tuned_blocks: list[int] = []
        self._fixed_classes: torch.Tensor | None = None

    def class_embeddings(self) -> torch.Tensor | None:
        """None (computed in the pass, with gradients) while the context trains; else computed once and kept.

        The text tower is frozen, so without trainable context the class embeddings are constants: running the
        text transformer every step would cost as much as a batch of images for nothing.
        """
        context = self.kfd.prompts.context
        if context is not None and context.requires_grad:
            return None
        device = self.kfd.projections[0].weight.device
        if self._fixed_classes is None or self._fixed_classes.device != device:
            with torch.no_grad():
                self._fixed_classes = self.kfd.class_embeddings()
        return self._fixed_classes

    @property
    def backbone_trains(self) -> bool:
        """Whether gradients must flow through the backbone (tuned blocks or visual prompts)."""
        prompts = self.kfd.visual_prompts
        return bool(self.tuned_blocks) or (prompts is not None and prompts.requires_grad)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        kfd = self.kfd
        if "images" in batch:
            images = batch["images"]
            if self.backbone_trains:
                pooled, tokens = kfd.extract(images)
            else:
                with torch.no_grad():
                    pooled, tokens = kfd.extract(images)
            size = (images.shape[-2], images.shape[-1])
        else:  # cached tokens (B, L, P, C)
            cached = batch["tokens"].float()
            tokens, pooled = list(cached.unbind(1)), batch["pooled"].float()
            size = vision_tower(kfd.clip).image_size
        output = kfd.from_tokens(tokens, pooled, self.class_embeddings(), image_size=(int(size[0]), int(size[1])))
        low = output.mask_logits_low.float()
        target = head_target(batch["masks"].float(), (low.shape[-2], low.shape[-1]))
        valid = batch["mask_valid"].float().view(-1, 1, 1)
        fake_logit = low[:, 1] - low[:, 0]
        terms = {
            "mask_focal": mask_focal_loss(fake_logit * valid, target * valid, self.weights.focal_gamma),
            "mask_dice": mask_dice_loss(torch.sigmoid(fake_logit) * valid, target * valid),
            "score_bce": score_bce_loss(output.score_logits.float(), batch["labels"].float()),
            "knowledge": self.contrast(output.adapted_embedding, batch["types"].long()),
        }
        total = sum(getattr(self.weights, name) * value for name, value in terms.items())
        return {"loss": torch.as_tensor(total), **terms}

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint holds: everything but the frozen backbone tensors (trained ones included)."""
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        return {
            key: value
            for key, value in self.state_dict().items()
            if not key.startswith("kfd.clip.") or key in trainable
        }

    def tuned_backbone_state(self) -> dict[str, torch.Tensor]:
        """The fine-tuned backbone tensors under their plain ``clip.`` names (LoRA merged), for the weights file."""
        if not self.tuned_blocks:
            return {}
        state: dict[str, torch.Tensor] = {}
        blocks = vision_tower(self.kfd.clip).transformer.resblocks
        for index in self.tuned_blocks:
            prefix = f"clip.visual.transformer.resblocks.{index}."
            for name, module in blocks[index].named_modules():
                if isinstance(module, LoRALinear):
                    state[f"{prefix}{name}.weight"] = module.merged_weight().detach()
                    state[f"{prefix}{name}.bias"] = module.base.bias.detach()
            for name, parameter in blocks[index].named_parameters():
                if parameter.requires_grad and not name.endswith((".down", ".up")):
                    state.setdefault(f"{prefix}{name}", parameter.detach())
        return state


def head_target(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Ground-truth masks (B, H, W) at the localizer head's resolution (area average)."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    return F.interpolate(masks[:, None], size=size, mode="area")[:, 0]


def parameter_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: decay on weight matrices/kernels only (not biases, norms, prompts, context, temperature)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        plain = parameter.ndim < 2 or any(k in name for k in ("context", "visual_prompts", "temperature"))
        (no_decay if plain else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
