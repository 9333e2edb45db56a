"""The KFD training losses: focal + Dice on the forgery mask, BCE on the score, knowledge-guided InfoNCE.

Every term is a mean over images (the Dice term per image first), so that a batch split into micro-batches or
over processes gives the same gradient as the whole batch: gradient accumulation and DDP stay exact.

The knowledge-guided contrastive term (our definition; the paper gives only its idea): for image i with
manipulation type t_i, z_i is its *adapted embedding* (the L2-normalised mean of the projected, normalised patch
embeddings of the last KFD layer, ``KfdOutput.adapted_embedding``) and k_t the text embedding of type t (the
normalised mean of the frozen CLIP text encoder's normalised embeddings of that type's knowledge sentences).
Then ``L = -log softmax_t(z_i . k_t / tau)[t_i]`` averaged over the batch: the positive is the image's own type,
the negatives are all other types of the knowledge base (real included), and tau is learnable, starting at 0.07
(as CLIP), kept at or above 0.01.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MIN_TEMPERATURE = 0.01


def mask_focal_loss(fake_logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Per-pixel focal loss on the "fake" logit, mean over pixels and images.

    ``fake_logits`` (B, h, w) is logit(p_fake) (deepfake minus pristine logit), ``target`` (B, h, w) in [0, 1]
    (soft blend masks allowed): BCE weighted by |target - p| ** gamma, which is the usual focal loss for 0/1
    targets and stays well defined for soft ones.
    """
    bce = F.binary_cross_entropy_with_logits(fake_logits, target, reduction="none")
    weight = (target - torch.sigmoid(fake_logits)).abs().pow(gamma)
    return (weight * bce).mean()


def mask_dice_loss(fake_probability: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice per image, averaged; ``smooth`` makes an all-zero target (a real) pull p toward 0."""
    p, t = fake_probability.flatten(1), target.flatten(1)
    dice = (2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)
    return (1 - dice).mean()


def score_bce_loss(score_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(score_logits, labels)


class KnowledgeContrast(nn.Module):
    """InfoNCE between adapted image embeddings and the knowledge base's per-type text embeddings."""

    type_embeddings: torch.Tensor

    def __init__(self, type_embeddings: torch.Tensor, temperature: float = 0.07) -> None:
        super().__init__()
        self.register_buffer("type_embeddings", F.normalize(type_embeddings.float(), dim=-1))
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))

    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp().clamp(min=MIN_TEMPERATURE)

    def forward(self, embeddings: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        logits = F.normalize(embeddings.float(), dim=-1) @ self.type_embeddings.t() / self.temperature
        return F.cross_entropy(logits, types)
