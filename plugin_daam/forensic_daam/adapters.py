"""Where DAAM taps a Vision Transformer: one adapter per module layout (timm, open_clip).

Each adapter installs, for every block, what the method needs and nothing more:

* the [class]-query row of the attention and the values V, read from the qkv projection's output (no attention
  recompute; q_norm / k_norm are applied to the one query row and the keys), kept detached;
* the queries of every token and the keys (views of the same qkv output, so no extra memory where q_norm is the
  identity), from which a patch-token readout recomputes one block's full attention at a time;
* z, the concatenated head outputs entering the output projection, kept *in* the graph so that one
  ``torch.autograd.grad`` call yields dy/dz for every block without parameter gradients.

open_clip's default blocks use ``nn.MultiheadAttention``, which computes its projections functionally: there is
no qkv module to hook. For those, the attention's ``forward`` is overridden on the instance for the duration of
the call with an equivalent computation that exposes q, k, v and z (removed in ``finally``; the class is untouched).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import torch
from torch import nn

from forensic_daam.errors import UnsupportedModelError


@dataclass(frozen=True)
class QueryRecord:
    """One block's queries (before their norm) and keys: enough to recompute its full attention on demand."""

    queries: torch.Tensor
    keys: torch.Tensor
    scale: float | torch.Tensor
    query_norm: Callable[[torch.Tensor], torch.Tensor] | None

    def attention(self) -> torch.Tensor:
        """(B, H, N, N) float32 softmax attention, rows = queries (the same logits as the [class] row's)."""
        with torch.no_grad():
            queries = self.queries if self.query_norm is None else self.query_norm(self.queries)
            logits = (queries.float() @ self.keys.float().transpose(-2, -1)) * self.scale
            return logits.softmax(dim=-1)


@dataclass
class Recorder:
    """Per-call store of what the hooks saw, indexed by block."""

    num_blocks: int
    num_prefix_tokens: int
    num_suffix_tokens: int = 0
    attention: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)
    outputs: list[torch.Tensor | None] = field(default_factory=list)
    queries: list[QueryRecord | None] = field(default_factory=list)
    grid: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.attention = [None] * self.num_blocks
        self.values = [None] * self.num_blocks
        self.outputs = [None] * self.num_blocks
        self.queries = [None] * self.num_blocks

    def record_projections(
        self,
        index: int,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        scale: float | torch.Tensor,
        query_norm: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """Keep the [class] attention row (B, H, N), V (B, N, H, d) and what recomputes the full attention.

        ``queries`` (B, H, N, d) are taken *before* ``query_norm`` (q_norm / ln_q, applied per token): the
        [class] row is normalised here, all rows only if a readout over several tokens needs them; ``keys``
        (B, H, N, d) are already normalised.
        """
        with torch.no_grad():
            query_cls = queries[:, :, :1]
            if query_norm is not None:
                query_cls = query_norm(query_cls)
            logits = (query_cls.float() @ keys.float().transpose(-2, -1)) * scale
            self.attention[index] = logits.softmax(dim=-1).squeeze(-2)
            self.values[index] = values.detach()
            self.queries[index] = QueryRecord(queries.detach(), keys.detach(), scale, query_norm)

    def record_output(self, index: int, z: torch.Tensor) -> torch.Tensor:
        """Keep z (B, N, C) in the graph; returns the tensor the model must continue with."""
        expected = self.num_prefix_tokens + (self.grid[0] * self.grid[1] if self.grid else 0) + self.num_suffix_tokens
        if self.grid is not None and z.shape[1] != expected:
            raise UnsupportedModelError(
                f"block {index} sees {z.shape[1]} tokens, expected {self.num_prefix_tokens} prefix + "
                f"{self.grid[0]}x{self.grid[1]} patch + {self.num_suffix_tokens} suffix tokens "
                "(token dropping or pooling inside the blocks, or appended prompt tokens not declared?)"
            )
        if not z.requires_grad:
            # Frozen parameters and a constant input leave no graph; a leaf here starts one. Nothing upstream of
            # the first block's z can matter for dy/dz of this or any later block, so this changes no gradient.
            z = z.detach().requires_grad_(True)
        self.outputs[index] = z
        return z


Handle = Any


# Static types of the duck-typed modules the adapters read (timm and open_clip ship no usable type information,
# and torch types every sub-module attribute as ``Tensor | Module``). Applied with ``cast``: no runtime effect.


class ModuleSequence(Protocol):
    """``nn.Sequential`` or ``nn.ModuleList`` of blocks."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[nn.Module]: ...

    def __getitem__(self, index: int) -> nn.Module: ...


class TimmPatchEmbed(Protocol):
    """timm ``PatchEmbed``."""

    grid_size: tuple[int, int]


class TimmVit(Protocol):
    """timm ``VisionTransformer``."""

    blocks: ModuleSequence
    num_prefix_tokens: int
    patch_embed: TimmPatchEmbed

    def forward_features(self, images: torch.Tensor) -> torch.Tensor: ...

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor: ...


class TimmAttention(Protocol):
    """timm ``Attention`` (fused qkv Linear)."""

    qkv: nn.Linear
    proj: nn.Module
    num_heads: int
    scale: float
    q_norm: nn.Module
    k_norm: nn.Module


def _split_qkv(qkv: torch.Tensor, num_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, N, 3*H*d) -> queries (B, H, N, d), keys (B, H, N, d), values (B, N, H, d): views, no copies."""
    batch, tokens, width = qkv.shape
    head_dim = width // (3 * num_heads)
    parts = qkv.detach().reshape(batch, tokens, 3, num_heads, head_dim)
    queries = parts[:, :, 0].transpose(1, 2)
    keys = parts[:, :, 1].transpose(1, 2)
    return queries, keys, parts[:, :, 2]


def _grid_hook(recorder: Recorder) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
        recorder.grid = (int(output.shape[-2]), int(output.shape[-1]))

    return hook


class VitAdapter:
    """Common interface: blocks, prefix tokens, default score/feature functions, hook installation."""

    family = ""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    @property
    def num_blocks(self) -> int:
        raise NotImplementedError

    @property
    def num_prefix_tokens(self) -> int:
        raise NotImplementedError

    @property
    def has_class_token(self) -> bool:
        """Whether token 0 is a [class] token (the authors' DAAM reads its row)."""
        return True

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def install(self, recorder: Recorder) -> list[Handle]:
        raise NotImplementedError


POOLS = ("token", "avg", "max", "avgmax")


class TimmAdapter(VitAdapter):
    """timm ``VisionTransformer`` (ViT, DeiT, distilled DeiT, register tokens, dynamic image size).

    [class]-token models and patch-pooling ones (``global_pool='avg'`` etc., with or without a [class] token):
    the latter's decision reads the patch tokens, which :func:`forensic_daam.daam` detects (readout rows).
    """

    family = "timm"

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        pool = getattr(model, "global_pool", "token")
        if pool not in POOLS:
            raise UnsupportedModelError(
                f"{type(model).__name__} pools with global_pool={pool!r}; supported: {', '.join(POOLS)} (attention "
                "pooling reads the tokens through a module outside the blocks)"
            )
        if pool == "token" and getattr(model, "cls_token", None) is None:
            raise UnsupportedModelError(f"{type(model).__name__} pools the [class] token but has none")
        for index, block in enumerate(cast(TimmVit, model).blocks):
            attn = getattr(block, "attn", None)
            qkv = getattr(attn, "qkv", None)
            if not isinstance(qkv, nn.Linear) or not hasattr(attn, "proj") or not hasattr(attn, "num_heads"):
                raise UnsupportedModelError(
                    f"block {index} ({type(block).__name__}) has no fused qkv Linear + proj attention; "
                    "supported: timm Attention (ViT/DeiT) and open_clip attention"
                )

    @property
    def vit(self) -> TimmVit:
        return cast(TimmVit, self.model)

    @property
    def num_blocks(self) -> int:
        return len(self.vit.blocks)

    @property
    def num_prefix_tokens(self) -> int:
        return int(self.vit.num_prefix_tokens)

    @property
    def has_class_token(self) -> bool:
        return getattr(self.model, "cls_token", None) is not None

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.vit.forward_head(self.vit.forward_features(images), pre_logits=True)

    def install(self, recorder: Recorder) -> list[Handle]:
        handles: list[Handle] = []
        patch_embed = self.vit.patch_embed
        conv = getattr(patch_embed, "proj", None)
        if isinstance(conv, nn.Conv2d):
            handles.append(conv.register_forward_hook(_grid_hook(recorder)))
        else:
            grid = patch_embed.grid_size
            recorder.grid = (grid[0], grid[1])
        for index, block in enumerate(self.vit.blocks):
            attn = cast(TimmAttention, block.attn)
            handles.append(attn.qkv.register_forward_hook(self._qkv_hook(recorder, index, attn)))
            # attn.norm (Identity unless scale_norm) is called on exactly the concatenated heads, before any
            # gate; the projection's input is the same tensor in plain ViTs.
            norm = getattr(attn, "norm", None)
            entry = norm if isinstance(norm, nn.Module) else attn.proj
            handles.append(entry.register_forward_pre_hook(self._output_hook(recorder, index)))
        return handles

    @staticmethod
    def _qkv_hook(recorder: Recorder, index: int, attn: TimmAttention) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            with torch.no_grad():
                queries, keys, values = _split_qkv(output, attn.num_heads)
                keys = attn.k_norm(keys)
            norm = None if isinstance(attn.q_norm, nn.Identity) else attn.q_norm
            recorder.record_projections(index, queries, keys, values, attn.scale, norm)

        return hook

    @staticmethod
    def _output_hook(recorder: Recorder, index: int) -> Callable[..., tuple[Any, ...]]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
            return (recorder.record_output(index, args[0]), *args[1:])

        return hook


def resolve_adapter(model: nn.Module, family: str = "auto") -> VitAdapter:
    """Pick the adapter for ``model``; ``family`` is ``"auto"``, ``"timm"`` or ``"open_clip"``."""
    if family not in ("auto", "timm", "open_clip"):
        raise ValueError(f"family must be 'auto', 'timm' or 'open_clip', not {family!r}")
    is_timm = hasattr(model, "blocks") and hasattr(model, "patch_embed")
    is_open_clip = hasattr(model, "transformer") and hasattr(model, "class_embedding") and hasattr(model, "conv1")
    if family == "timm" or (family == "auto" and is_timm):
        if not is_timm:
            raise UnsupportedModelError(f"{type(model).__name__} is not a timm VisionTransformer (no blocks)")
        return TimmAdapter(model)
    if family == "open_clip" or (family == "auto" and is_open_clip):
        if not is_open_clip:
            raise UnsupportedModelError(f"{type(model).__name__} is not an open_clip VisionTransformer")
        from forensic_daam.adapters_open_clip import OpenClipAdapter  # builds on this module's VitAdapter

        return OpenClipAdapter(model)
    if hasattr(model, "visual"):
        raise UnsupportedModelError(
            f"{type(model).__name__} is a whole CLIP model: pass its vision tower (model.visual) and a forward= "
            "that computes your score through it"
        )
    if hasattr(getattr(model, "trunk", None), "blocks"):
        raise UnsupportedModelError("open_clip timm-tower: pass model.trunk (the timm ViT) and a forward= callable")
    raise UnsupportedModelError(
        f"{type(model).__name__} is not a supported Vision Transformer (timm VisionTransformer with a [class] "
        "token, or an open_clip VisionTransformer)"
    )
