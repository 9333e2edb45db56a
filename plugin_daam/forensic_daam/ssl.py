"""DAAM for self-supervised (headless) ViTs: dimension-wise importance weights replace the class logit.

The authors' weights come from a weighted kNN vote over an ImageNet memory bank (design note daam.md, section 3).
:class:`KnnImportance` implements that vote, batched. :class:`ReferenceImportance` is *our extension*: the same
weights computed against a small reference set (or one target embedding) instead of a 2 GB bank, for the case
"which parts of this image make it look like these references".

Both are callables ``features (B, C) -> weights (B, C)`` so that :func:`daam_ssl` computes the weights from the
very forward pass it explains (one pass, not two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from forensic_daam.adapters import resolve_adapter
from forensic_daam.attribution import DaamResult, Readout, trace

Weights = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


def knn_vote(
    features: torch.Tensor,
    bank: torch.Tensor,
    labels: torch.Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted kNN vote (DINO's): returns predicted classes (B,), neighbour indices (B, k), class votes (B, K)."""
    queries = F.normalize(features.float(), dim=-1)
    keys = F.normalize(bank.float(), dim=-1)
    k = min(k, keys.shape[0])
    similarity, neighbours = (queries @ keys.T).topk(k, dim=-1)
    classes = int(num_classes if num_classes is not None else labels.max().item() + 1)
    votes = torch.zeros(queries.shape[0], classes, device=queries.device)
    votes.scatter_add_(1, labels.to(queries.device)[neighbours], (similarity / temperature).exp())
    return votes.argmax(dim=-1), neighbours, votes


def _normalise_importance(products: torch.Tensor) -> torch.Tensor:
    """w = p / |sum p|, then per-sample min-max to [0, 1] (all ones where p is constant)."""
    weights = products / products.sum(dim=-1, keepdim=True).abs().clamp_min(torch.finfo(products.dtype).tiny)
    low = weights.min(dim=-1, keepdim=True).values
    span = weights.max(dim=-1, keepdim=True).values - low
    flat = span <= torch.finfo(weights.dtype).eps * weights.abs().amax(dim=-1, keepdim=True).clamp_min(1.0)
    return torch.where(flat, torch.ones_like(weights), (weights - low) / span.clamp_min(1e-30))


@dataclass
class KnnImportance:
    """Authors' dimension-wise importance: kNN vote, then mean of fhat * b over the neighbours of the voted class."""

    bank: torch.Tensor
    labels: torch.Tensor
    k: int = 20
    temperature: float = 0.07
    num_classes: int | None = None

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        predicted, neighbours, _ = knn_vote(
            features, self.bank, self.labels, k=self.k, temperature=self.temperature, num_classes=self.num_classes
        )
        queries = F.normalize(features.float(), dim=-1)
        keys = F.normalize(self.bank.float().to(queries.device), dim=-1)[neighbours]
        same = (self.labels.to(queries.device)[neighbours] == predicted[:, None]).float()
        products = (same[..., None] * queries[:, None, :] * keys).sum(dim=1) / same.sum(dim=1, keepdim=True)
        return _normalise_importance(products)


@dataclass
class ReferenceImportance:
    """Extension (not in the paper): importance against a small reference set (R, C) or one embedding (C,).

    The ``k`` references nearest to each image (all of them by default) play the voted neighbours' role.
    """

    references: torch.Tensor
    k: int | None = None

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        queries = F.normalize(features.float(), dim=-1)
        keys = F.normalize(self.references.float().to(queries.device).reshape(-1, queries.shape[-1]), dim=-1)
        k = keys.shape[0] if self.k is None else min(self.k, keys.shape[0])
        neighbours = (queries @ keys.T).topk(k, dim=-1).indices
        products = (queries[:, None, :] * keys[neighbours]).mean(dim=1)
        return _normalise_importance(products)


def daam_ssl(
    model: nn.Module,
    images: Any,
    weights: Weights,
    *,
    forward: Callable[[Any], torch.Tensor] | None = None,
    family: str = "auto",
    keep_internals: bool = False,
    readout: Readout = "auto",
) -> DaamResult:
    """DAAM of a self-supervised ViT: explains the surrogate score s' = sum_c w_c f_c of its output feature f.

    Args:
        model: a headless ViT (DINO-style) or any supported ViT; f is its pre-logits [class] feature.
        images: the preprocessed batch (B, 3, H, W).
        weights: (C,) or (B, C) importance weights, or a callable ``features -> weights`` such as
            :class:`KnnImportance` or :class:`ReferenceImportance` (evaluated on the detached features).
        forward: ``forward(images) -> features (B, C)`` through ``model``; default: the model's [class] feature.
        readout: the token rows whose gradients weight the maps, as in :func:`forensic_daam.daam`.

    The coefficients are the raw gradients (no ReLU in this branch), so the maps are linear in ``weights``
    before the final ReLU.
    """
    adapter = resolve_adapter(model, family)

    def select(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = features[0] if isinstance(features, (tuple, list)) else features
        chosen = weights(features.detach()) if callable(weights) else weights
        chosen = torch.as_tensor(chosen, device=features.device, dtype=features.dtype)
        if chosen.shape[-1] != features.shape[-1]:
            raise ValueError(f"weights have {chosen.shape[-1]} dimensions, the features {features.shape[-1]}")
        scores = (features * chosen).sum(dim=-1)
        return scores, torch.full((features.shape[0],), -1, dtype=torch.long, device=features.device)

    return trace(
        adapter,
        images,
        forward or adapter.features,
        select,
        rectify_coefficients=False,
        keep_internals=keep_internals,
        readout=readout,
    )
