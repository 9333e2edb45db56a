"""The Knowledge-guided Forgery Detector as a torch module (model definition only: no I/O, no devices).

One pass through the frozen open_clip visual tower gives the pooled image embedding (exactly
``clip.encode_image``) and, through forward hooks on the chosen blocks, their patch tokens. Each layer's patch
tokens go through the backbone's final norm and a per-layer linear map into the joint space (initialised from
the backbone's own projection, so untrained maps are CLIP's dense zero-shot maps); their logit-scaled cosine
similarity with the class embeddings gives one (pristine, deepfake) correlation map per layer. The localizer
head turns the upsampled maps into a forgery mask at the input size, the classifier head turns them into p(fake).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from forensic_kfd.descriptions import CLASS_NAMES, default_descriptions
from forensic_kfd.heads import ClassifierHead, LocalizerHead
from forensic_kfd.text import ClassPrompts
from forensic_kfd.towers import Tokenizer, vision_tower

FAKE = CLASS_NAMES.index("deepfake")


def default_layers(depth: int) -> tuple[int, ...]:
    """Three blocks spread over the second half of a ``depth``-block ViT, numbered from 1 (12 -> 6, 9, 12)."""
    return tuple(sorted({max(1, round(depth / 2)), max(1, round(3 * depth / 4)), depth}))


@dataclass(frozen=True)
class KfdConfig:
    """Architecture of the trainable KFD parts; saved in the weights file's JSON sidecar."""

    layers: tuple[int, ...]
    descriptions: Mapping[str, Sequence[str]] = field(default_factory=default_descriptions)
    context_tokens: int = 4
    visual_prompts: int = 0
    logit_scale: float = 100.0
    localizer_channels: int = 16
    localizer_stride: int = 4
    classifier_channels: int = 32
    classifier_hidden: int = 64

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layers"] = list(self.layers)
        data["descriptions"] = {name: list(self.descriptions[name]) for name in CLASS_NAMES}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KfdConfig:
        values = dict(data)
        values["layers"] = tuple(int(layer) for layer in values["layers"])
        values["descriptions"] = {name: list(values["descriptions"][name]) for name in CLASS_NAMES}
        return cls(**values)


@dataclass
class KfdOutput:
    """Everything one forward pass produces, as tensors on the model's device.

    Attributes:
        score_logits: (B,) forgery logit; ``scores`` is its sigmoid, p(fake).
        mask_logits_low: (B, 2, H/s, W/s) per-pixel (pristine, deepfake) logits at the localizer head's resolution
            (``localizer_stride`` s); ``mask_logits`` upsamples them to the input size on demand, so inference can
            resize the small mask straight to each item's size instead.
        correlation: (B, L, 2, h, w) logit-scaled cosine maps at patch-grid resolution, layer order of the config.
        image_features: (B, D) L2-normalised pooled image embedding (``encode_image(normalize=True)``).
        input_size: (H, W) of the model input.
        adapted_embedding: (B, D) L2-normalised mean of the last KFD layer's projected (normalised) patch
            embeddings: the image's embedding *after* the trained projection, which the knowledge-guided
            contrastive term pulls toward its manipulation type's text embedding.
    """

    score_logits: torch.Tensor
    mask_logits_low: torch.Tensor
    correlation: torch.Tensor
    image_features: torch.Tensor
    input_size: tuple[int, int]
    adapted_embedding: torch.Tensor

    @property
    def scores(self) -> torch.Tensor:
        return torch.sigmoid(self.score_logits.float())

    @property
    def mask_logits(self) -> torch.Tensor:
        """(B, 2, H, W) mask logits at the input size (bilinear from the head's resolution)."""
        if tuple(self.mask_logits_low.shape[-2:]) == tuple(self.input_size):
            return self.mask_logits_low
        return F.interpolate(self.mask_logits_low, size=self.input_size, mode="bilinear", align_corners=False)

    @property
    def fake_mask(self) -> torch.Tensor:
        """(B, H, W) forgery mask in [0, 1] at the input size."""
        return torch.softmax(self.mask_logits.float(), dim=1)[:, FAKE]

    @property
    def fake_mask_low(self) -> torch.Tensor:
        """(B, H/s, W/s) forgery mask in [0, 1] at the localizer head's resolution."""
        return torch.softmax(self.mask_logits_low.float(), dim=1)[:, FAKE]

    @property
    def fake_correlation(self) -> torch.Tensor:
        """(B, L, h, w) per-layer probability in [0, 1] that a patch matches the deepfake class."""
        return torch.softmax(self.correlation.float(), dim=2)[:, :, FAKE]


class KfdModel(nn.Module):
    """Frozen open_clip backbone + trainable KFD parts (projections, context, visual prompts, heads)."""

    def __init__(self, clip: nn.Module, tokenizer: Tokenizer, config: KfdConfig) -> None:
        super().__init__()
        visual = vision_tower(clip)
        blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
        if blocks is None or not hasattr(visual, "class_embedding"):
            raise ValueError("KFD needs an open_clip VisionTransformer visual tower (not timm or ResNet towers)")
        depth = len(blocks)
        if not config.layers or len(set(config.layers)) != len(config.layers):
            raise ValueError(f"layers must be distinct block numbers, got {list(config.layers)}")
        if not all(1 <= layer <= depth for layer in config.layers):
            raise ValueError(f"layers must lie in 1..{depth} for this backbone, got {list(config.layers)}")
        self.config = config
        self.clip = clip
        self.block_indices = tuple(layer - 1 for layer in config.layers)
        width = int(visual.transformer.width)
        projection = getattr(visual, "proj", None)
        embed_dim = int(projection.shape[1]) if projection is not None else width
        self.projections = nn.ModuleList(nn.Linear(width, embed_dim) for _ in config.layers)
        with torch.no_grad():
            for linear in self._linear_projections():
                linear.weight.copy_(projection.t() if projection is not None else torch.eye(width))
                linear.bias.zero_()
        self.prompts = ClassPrompts(clip, tokenizer, config.descriptions, config.context_tokens)
        if config.visual_prompts:
            self.visual_prompts = nn.Parameter(torch.randn(config.visual_prompts, width) * width**-0.5)
        else:
            self.register_parameter("visual_prompts", None)
        layers = len(config.layers)
        self.localizer = LocalizerHead(layers, config.localizer_channels)
        self.classifier = ClassifierHead(layers, config.classifier_channels, config.classifier_hidden)

    def _linear_projections(self) -> list[nn.Linear]:
        return [cast(nn.Linear, projection) for projection in self.projections]

    @property
    def grid_size(self) -> tuple[int, int]:
        grid = vision_tower(self.clip).grid_size
        return int(grid[0]), int(grid[1])

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The KFD parts' state (everything but the backbone): what a weights file holds."""
        return {key: value for key, value in self.state_dict().items() if not key.startswith("clip.")}

    def class_embeddings(self) -> torch.Tensor:
        """(2, D) normalised class embeddings; constant at inference, so callers compute them once."""
        return self.prompts()

    def forward(self, images: torch.Tensor, class_embeddings: torch.Tensor | None = None) -> KfdOutput:
        """Run KFD on a normalised batch (B, 3, H, W) at the backbone's input size."""
        pooled, patch_tokens = self.extract(images)
        return self.from_tokens(patch_tokens, pooled, class_embeddings, image_size=(images.shape[-2], images.shape[-1]))

    def extract(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One pass through ``clip.visual``: pooled embedding (B, D) and each chosen layer's patch tokens (B, P, C).

        With a frozen backbone and no visual prompts this is all that depends on the backbone, so training can
        cache it once and run :meth:`from_tokens` on the cache.
        """
        tokens: dict[int, torch.Tensor] = {}
        with self._capture_blocks(tokens):
            pooled = vision_tower(self.clip)(images)
        if isinstance(pooled, tuple):
            pooled = pooled[0]
        patches = self.grid_size[0] * self.grid_size[1]
        # drop the class token (first) and any visual prompts (appended after the patches)
        return pooled, [tokens[position][:, 1 : 1 + patches] for position in range(len(self.block_indices))]

    def from_tokens(
        self,
        patch_tokens: Sequence[torch.Tensor],
        pooled: torch.Tensor,
        class_embeddings: torch.Tensor | None = None,
        *,
        image_size: tuple[int, int] | None = None,
    ) -> KfdOutput:
        """Correlation maps and both heads from :meth:`extract`'s output."""
        if class_embeddings is None:
            class_embeddings = self.class_embeddings()
        visual = vision_tower(self.clip)
        height, width = image_size or visual.image_size
        grid_h, grid_w = self.grid_size
        layers, batch = len(patch_tokens), patch_tokens[0].shape[0]
        # All layers in one batched matmul (same result as applying each nn.Linear in turn, fewer kernel launches).
        normed = visual.ln_post(torch.stack(list(patch_tokens))).flatten(1, 2)  # (L, B*P, C)
        linears = self._linear_projections()
        weights = torch.stack([projection.weight for projection in linears]).to(normed.dtype)
        biases = torch.stack([projection.bias for projection in linears]).to(normed.dtype)
        embedded = F.normalize(torch.baddbmm(biases.unsqueeze(1), normed, weights.transpose(1, 2)), dim=-1)
        adapted = F.normalize(embedded[-1].reshape(batch, grid_h * grid_w, -1).float().mean(dim=1), dim=-1)
        correlation = self.config.logit_scale * embedded @ class_embeddings.to(embedded.dtype).t()  # (L, B*P, 2)
        correlation = correlation.reshape(layers, batch, grid_h, grid_w, len(CLASS_NAMES)).permute(1, 0, 4, 2, 3)
        grid_maps = correlation.flatten(1, 2)
        # The localizer runs at 1/stride of the input size: the maps are bilinear upsamplings of a patch grid, so
        # full resolution would only multiply the convolution cost (stride**2 times), not the information.
        stride = self.config.localizer_stride
        head_size = (max(1, height // stride), max(1, width // stride))
        upsampled = F.interpolate(grid_maps, size=head_size, mode="bilinear", align_corners=False)
        return KfdOutput(
            score_logits=self.classifier(grid_maps),
            mask_logits_low=self.localizer(upsampled),
            correlation=correlation,
            image_features=F.normalize(pooled, dim=-1),
            input_size=(int(height), int(width)),
            adapted_embedding=adapted,
        )

    @contextmanager
    def _capture_blocks(self, store: dict[int, torch.Tensor]) -> Iterator[None]:
        """Collect the chosen blocks' outputs (batch-first) and insert visual prompts, for one forward call.

        Hooks rather than a re-implemented forward: the pass *is* ``clip.visual(images)``, so the pooled output
        equals ``encode_image`` and an explainer's hooks on the same blocks see the same computation.
        """
        visual = vision_tower(self.clip)
        batch_first = getattr(visual.transformer, "batch_first", False)
        blocks = visual.transformer.resblocks
        handles = []

        def keep(position: int) -> Any:
            def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
                store[position] = output if batch_first else output.transpose(0, 1)

            return hook

        for position, index in enumerate(self.block_indices):
            handles.append(blocks[index].register_forward_hook(keep(position)))
        if self.visual_prompts is not None:
            handles.append(visual.ln_pre.register_forward_hook(self._append_visual_prompts))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _append_visual_prompts(self, module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        # Appended after the patch tokens so that token 0 stays the class token and tokens 1..P the patches.
        prompts = self.visual_prompts.to(output.dtype).unsqueeze(0).expand(output.shape[0], -1, -1)
        return torch.cat([output, prompts], dim=1)
