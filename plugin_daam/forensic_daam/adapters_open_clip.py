"""The open_clip Vision Transformer adapter (split from :mod:`forensic_daam.adapters`, which picks it).

open_clip's default blocks use ``nn.MultiheadAttention``, which computes its projections functionally: there is
no qkv module to hook. For those, the attention's ``forward`` is overridden on the instance for the duration of
the call with an equivalent computation that exposes q, k, v and z (removed in ``finally``; the class is untouched).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from forensic_daam.adapters import Handle, Recorder, TimmAdapter, VitAdapter, _grid_hook, _split_qkv
from forensic_daam.errors import UnsupportedModelError


class OpenClipTransformer(Protocol):
    resblocks: nn.ModuleList


class OpenClipVit(Protocol):
    """open_clip ``VisionTransformer``."""

    transformer: OpenClipTransformer
    conv1: nn.Conv2d


class OpenClipAttention(Protocol):
    """open_clip's own ``Attention`` (functional in-projection)."""

    in_proj_weight: torch.Tensor
    in_proj_bias: torch.Tensor | None
    num_heads: int
    scale: float
    ln_q: nn.Module
    ln_k: nn.Module
    ln_inner: nn.Module
    head_scale: torch.Tensor | None


class OpenClipAdapter(VitAdapter):
    """open_clip ``VisionTransformer`` (``clip.visual``): resblocks with nn.MultiheadAttention or its Attention."""

    family = "open_clip"

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        if getattr(model, "attn_pool", None) is not None or getattr(model, "pool_type", "tok") != "tok":
            raise UnsupportedModelError(
                "this open_clip visual tower pools without its [class] token (attentional or average pooling); "
                "DAAM needs pool_type='tok'"
            )
        for index, block in enumerate(self.blocks):
            attn = getattr(block, "attn", None)
            if isinstance(attn, nn.MultiheadAttention):
                if not attn._qkv_same_embed_dim or attn.bias_k is not None or attn.add_zero_attn:
                    raise UnsupportedModelError(f"block {index}: nn.MultiheadAttention with separate k/v sizes")
            elif not hasattr(attn, "in_proj_weight") or not hasattr(attn, "ln_inner"):
                raise UnsupportedModelError(f"block {index}: unknown open_clip attention {type(attn).__name__}")
            elif getattr(attn, "logit_scale", None) is not None:
                raise UnsupportedModelError(f"block {index}: scaled-cosine attention is not supported")

    @property
    def blocks(self) -> nn.ModuleList:
        return cast(OpenClipVit, self.model).transformer.resblocks

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def num_prefix_tokens(self) -> int:
        return 1

    def features(self, images: torch.Tensor) -> torch.Tensor:
        out = self.model(images)
        return out[0] if isinstance(out, tuple) else out

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)

    def install(self, recorder: Recorder) -> list[Handle]:
        conv1 = cast(OpenClipVit, self.model).conv1
        handles: list[Handle] = [conv1.register_forward_hook(_grid_hook(recorder))]
        for index, block in enumerate(self.blocks):
            attn = cast(nn.Module, block.attn)
            if isinstance(attn, nn.MultiheadAttention):
                handles.append(_override_forward(attn, _mha_forward(attn, recorder, index)))
            else:
                custom = cast(OpenClipAttention, attn)
                handles.append(attn.register_forward_pre_hook(_custom_attention_input_hook(custom, recorder, index)))
                handles.append(custom.ln_inner.register_forward_pre_hook(TimmAdapter._output_hook(recorder, index)))
        return handles


class _ForwardOverride:
    """Removable instance-level ``forward`` override (same interface as a hook handle)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def remove(self) -> None:
        self.module.__dict__.pop("forward", None)


def _override_forward(module: nn.Module, forward: Callable[..., Any]) -> _ForwardOverride:
    if "forward" in module.__dict__:
        raise UnsupportedModelError(f"{type(module).__name__}.forward is already overridden on the instance")
    module.forward = forward
    return _ForwardOverride(module)


def _mha_forward(attn: nn.MultiheadAttention, recorder: Recorder, index: int) -> Callable[..., Any]:
    """Self-attention equal to ``attn.forward`` for open_clip's use, exposing q, k, v and z."""

    def forward(
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, None]:
        if key is not query or value is not query:
            raise UnsupportedModelError(f"block {index}: cross-attention is not a ViT block")
        if key_padding_mask is not None or attn_mask is not None or is_causal:
            raise UnsupportedModelError(f"block {index}: masked attention is not supported in a vision tower")
        x = query if attn.batch_first else query.transpose(0, 1)
        batch, tokens, width = x.shape
        heads = attn.num_heads
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)
        recorder.record_projections(index, *_split_qkv(qkv, heads), scale=(width // heads) ** -0.5)
        q, k, v = qkv.reshape(batch, tokens, 3, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
        dropout = attn.dropout if attn.training else 0.0
        z = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout).transpose(1, 2).reshape(batch, tokens, width)
        z = recorder.record_output(index, z)
        out = F.linear(z, attn.out_proj.weight, attn.out_proj.bias)
        return (out if attn.batch_first else out.transpose(0, 1)), None

    return forward


def _custom_attention_input_hook(attn: OpenClipAttention, recorder: Recorder, index: int) -> Callable[..., None]:
    """open_clip's own Attention: in_proj is functional, so q, k, v are re-projected from the block input."""

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        with torch.no_grad():
            qkv = F.linear(args[0], attn.in_proj_weight, attn.in_proj_bias)
            queries, keys, values = _split_qkv(qkv, attn.num_heads)
            keys = attn.ln_k(keys)
            if attn.head_scale is not None:
                # head_scale multiplies each head's output before concatenation: fold it into V.
                values = values * attn.head_scale.reshape(1, 1, -1, 1)
        norm = None if isinstance(attn.ln_q, nn.Identity) else attn.ln_q
        recorder.record_projections(index, queries, keys, values, attn.scale, norm)

    return hook
