"""DAAM for supervised ViTs: one forward, one reverse pass, per-block maps and their accumulation.

The map of block l for one image is ``M^l_j = ReLU(sum_h a^{l,h}_j <v^{l,h}_j, alpha^l_h>)`` over patch tokens j,
with a the [class]-query attention row, v the values and alpha = ReLU(dy/dz^l[cls]) (design note daam.md,
sections 1, 2 and 4). The spatial features S are never materialised: the contraction over channels happens
per head in one einsum for all blocks at once, on the model's device.

Our extension, readout rows: a decision read from other tokens than [class] (patch tokens, as KFD's score, or a
patch-mean pooled ViT) gives the [class] row of the last block no gradient at all. With R the tokens the decision
reads, the map generalises to ``M^l_j = ReLU(sum_{i in R} sum_h sum_k V^l_h[j,k] A^l_h[i,j] ReLU(G^l_h[i,k]))``
with G^l = d score / d z^l (all rows): one extra batched matmul A^T ReLU(G) per block, the attention recomputed one
block at a time from the recorded q and k. R = {[class]} is exactly the authors' DAAM and takes the path above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from forensic_daam.adapters import QueryRecord, Recorder, VitAdapter, resolve_adapter
from forensic_daam.errors import UnsupportedModelError
from forensic_daam.options import READOUTS

Target = int | Sequence[int] | torch.Tensor | None
Readout = str | Sequence[int]


@dataclass(frozen=True)
class DaamResult:
    """DAAM output for a batch; tensors stay on the model's device.

    Attributes:
        block_maps: (B, L, h, w) per-block maps M^l, the maps that are accumulated: raw, or min-max normalised
            per block when the call asked for ``normalize_blocks=True`` (the authors' ``norm`` option).
        accumulated: (B, L, h, w) accumulated maps D^b = sum_{l<=b} M^l.
        coefficients: (B, L, C) channel weights alpha^l used for the maps (ReLU(g) supervised, g for SSL); for a
            readout over several rows, their sum over the readout rows (each row has its own weights).
        gradients: (B, L, C) raw g^l = d score / d z^l at the [class] row; for a readout over several rows, the
            sum of the readout rows' gradients.
        class_outputs: (B, L, C) z^l[cls], the class token's attention output per block (token 0).
        token_contributions: (B, L, N) signed per-token contributions sum_h a_j <v_j, alpha_h> for all tokens,
            prefix tokens included, never normalised (the raw maps are the ReLU of its patch part).
        targets: (B,) explained class per image (-1 where the score is not a class logit).
        scores: (B,) the explained score y_t per image.
        grid: (h, w) patch grid of the input.
        num_prefix_tokens: T, the number of [class]/distillation/register tokens.
        attention, values: the [class] attention rows (B, L, H, N) and values (B, L, N, H, d) when the call asked
            for ``keep_internals=True``, else None.
        readout: (B, N) bool, the token rows R whose gradients weighted the maps (the [class] token alone for the
            authors' DAAM).
    """

    block_maps: torch.Tensor
    accumulated: torch.Tensor
    coefficients: torch.Tensor
    gradients: torch.Tensor
    class_outputs: torch.Tensor
    token_contributions: torch.Tensor
    targets: torch.Tensor
    scores: torch.Tensor
    grid: tuple[int, int]
    num_prefix_tokens: int
    attention: torch.Tensor | None = None
    values: torch.Tensor | None = None
    readout: torch.Tensor | None = None

    @property
    def num_blocks(self) -> int:
        return int(self.block_maps.shape[1])

    def display(self, mode: str = "sigmoid", size: tuple[int, int] | None = None) -> torch.Tensor:
        """Accumulated maps mapped to [0, 1] (see :func:`forensic_daam.display.normalize_maps`), optionally resized."""
        from forensic_daam.display import normalize_maps, upsample

        maps = normalize_maps(self.accumulated, mode=mode)
        return upsample(maps, size).clamp(0, 1) if size is not None else maps


def class_token_contributions(attention: torch.Tensor, values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_h a^h_j <v^h_j, w_h> for every token j: (..., H, N), (..., N, H, d), (..., H*d) -> (..., N).

    This is sum_c w_c S_{j,c} without building S (N x C per block).
    """
    heads, head_dim = values.shape[-2], values.shape[-1]
    weights = weights.reshape(*weights.shape[:-1], heads, head_dim).to(values.dtype)
    per_head = torch.einsum("...nhd,...hd->...hn", values, weights)
    return (attention.to(per_head.dtype) * per_head).sum(dim=-2)


def _host_targets(target: Target, batch: int, classes: int) -> torch.Tensor:
    """Validated (B,) CPU index tensor for an explicit ``target`` (int, sequence or tensor)."""
    if isinstance(target, bool):
        raise TypeError("target must be a class index, not a bool")
    if isinstance(target, int):
        targets = torch.full((batch,), target, dtype=torch.long)
    else:
        targets = torch.as_tensor(target).to(torch.long).flatten().cpu()
        if targets.numel() == 1:
            targets = targets.expand(batch).clone()
        if targets.numel() != batch:
            raise ValueError(f"target has {targets.numel()} entries for a batch of {batch}")
    bad = targets[(targets < 0) | (targets >= classes)]
    if bad.numel():
        raise ValueError(f"target class {int(bad[0])} is out of range for a model with {classes} outputs")
    return targets


def resolve_targets(target: Target, logits: torch.Tensor) -> torch.Tensor:
    """Turn ``target`` (None = predicted class, int, per-image sequence or tensor) into a (B,) index tensor."""
    if target is None:
        return logits.detach().argmax(dim=-1)
    return _host_targets(target, *logits.shape).to(logits.device)


def _select_logit(target: Target, device: torch.device) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    # Explicit targets are read and copied to the device before the forward is queued: doing it afterwards
    # would make the host wait for the GPU to finish the forward before it can launch the reverse pass.
    host: torch.Tensor | None = None
    on_device: torch.Tensor | None = None
    if target is not None and not isinstance(target, int):
        host = torch.as_tensor(target).detach().to(torch.long).flatten().cpu()
        on_device = host.to(device)

    def select(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(output, (tuple, list)):
            output = output[0]
        if output.ndim == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if output.ndim == 1:
            if target is not None:
                raise ValueError("forward returns one score per image; target must be None")
            return output, torch.full_like(output, -1, dtype=torch.long)
        if output.ndim != 2:
            raise ValueError(f"forward must return scores (B,) or logits (B, K), got shape {tuple(output.shape)}")
        batch, classes = output.shape
        if target is None:
            targets = output.detach().argmax(dim=-1)
        elif on_device is None:
            assert isinstance(target, int)  # any other explicit target was moved to on_device above
            _host_targets(target, batch, classes)
            targets = torch.full((batch,), int(target), dtype=torch.long, device=output.device)
        else:
            _host_targets(host, batch, classes)
            targets = on_device.to(output.device).expand(batch)
        return output.gather(1, targets[:, None]).squeeze(1), targets

    return select


def _class_token_readout(
    gradients: Sequence[torch.Tensor | None],
    outputs: Sequence[torch.Tensor],
    attentions: Sequence[torch.Tensor],
    value_list: Sequence[torch.Tensor],
    rectify_coefficients: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The [class]-token readout: dy/dz at the class token (zero for a skipped block) weighs attention x values.
    Returns (raw, coefficients, attention, values, contributions, readout rows)."""
    class_gradients = [
        torch.zeros_like(z[:, 0]) if grad is None else grad[:, 0] for grad, z in zip(gradients, outputs, strict=True)
    ]
    raw = torch.stack(class_gradients, dim=1).float()
    coefficients = raw.clamp_min(0) if rectify_coefficients else raw
    attention = torch.stack(list(attentions), dim=1)
    values = torch.stack(list(value_list), dim=1).float()
    rows = torch.zeros(outputs[0].shape[:2], dtype=torch.bool, device=outputs[0].device)
    rows[:, 0] = True
    return raw, coefficients, attention, values, class_token_contributions(attention, values, coefficients), rows


def trace(
    adapter: VitAdapter,
    inputs: Any,
    forward: Callable[[Any], torch.Tensor],
    select: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    *,
    rectify_coefficients: bool,
    keep_internals: bool = False,
    suffix_tokens: int = 0,
    readout: Readout = "auto",
    normalize_blocks: bool = False,
) -> DaamResult:
    """Run the hooked forward, one ``autograd.grad`` to every block's z, and build the maps.

    ``select(output) -> (scores (B,), targets (B,))`` picks the explained score from the forward's output;
    ``readout`` is described in :func:`daam`.
    """
    _check_readout(readout, adapter)
    recorder = Recorder(adapter.num_blocks, adapter.num_prefix_tokens, suffix_tokens)
    handles = adapter.install(recorder)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            if isinstance(inputs, torch.Tensor) and inputs.is_inference():
                inputs = inputs.clone()
            scores, targets = select(forward(inputs))
            missing = [i for i, z in enumerate(recorder.outputs) if z is None or recorder.attention[i] is None]
            if missing:
                raise UnsupportedModelError(
                    f"the forward did not run block(s) {missing} of the hooked transformer; does forward= go "
                    "through this model?"
                )
            # Every block recorded its output and projections (checked just above): no None is left.
            outputs = cast("list[torch.Tensor]", recorder.outputs)
            attentions = cast("list[torch.Tensor]", recorder.attention)
            value_list = cast("list[torch.Tensor]", recorder.values)
            gradients = list(torch.autograd.grad(scores.sum(), outputs, allow_unused=True))
    finally:
        for handle in handles:
            handle.remove()
    grid = recorder.grid
    assert grid is not None
    prefix = adapter.num_prefix_tokens
    patches = slice(prefix, prefix + grid[0] * grid[1])
    with torch.no_grad():
        rows = readout_rows(readout, gradients, outputs[0], patches, adapter.has_class_token)
        attention: torch.Tensor | None
        values: torch.Tensor | None
        if rows is None:
            raw, coefficients, attention, values, contributions, rows = _class_token_readout(
                gradients, outputs, attentions, value_list, rectify_coefficients
            )
            del gradients
        else:
            queries = cast("list[QueryRecord]", recorder.queries)
            raw, coefficients, contributions = _readout_contributions(
                gradients, queries, value_list, rows, rectify_coefficients
            )
            del gradients
            attention = torch.stack(attentions, dim=1) if keep_internals else None
            values = torch.stack(value_list, dim=1).float() if keep_internals else None
        batch, blocks = contributions.shape[:2]
        block_maps = contributions[:, :, patches].clamp_min(0).reshape(batch, blocks, *grid)
        if normalize_blocks:
            block_maps = normalize_block_maps(block_maps)
        class_outputs = torch.stack([z.detach()[:, 0] for z in outputs], dim=1).float()
        return DaamResult(
            block_maps=block_maps,
            accumulated=block_maps.cumsum(dim=1),
            coefficients=coefficients,
            gradients=raw,
            class_outputs=class_outputs,
            token_contributions=contributions,
            targets=targets.detach(),
            scores=scores.detach(),
            grid=grid,
            num_prefix_tokens=prefix,
            attention=attention if keep_internals else None,
            values=values if keep_internals else None,
            readout=rows,
        )


def normalize_block_maps(block_maps: torch.Tensor) -> torch.Tensor:
    """The authors' per-block normalisation before accumulation (their ``norm``): (M - min) / (max(M - min) + 1e-10).

    Applied per image and block over the patch grid, exactly as their ``max_min_normalize`` computes it.
    """
    shifted = block_maps - block_maps.amin(dim=(-2, -1), keepdim=True)
    return shifted / (shifted.amax(dim=(-2, -1), keepdim=True) + 1e-10)


def _check_readout(readout: Readout, adapter: VitAdapter) -> None:
    if isinstance(readout, str):
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS} or a sequence of token indices, not {readout!r}")
        if readout == "class" and not adapter.has_class_token:
            raise ValueError("readout='class' needs a [class] token and this model has none: use 'auto' or 'patches'")
    elif len(readout) == 0:
        raise ValueError("readout is an empty sequence of token indices: name at least one token, or use 'auto'")


def readout_rows(
    readout: Readout,
    gradients: Sequence[torch.Tensor | None],
    reference: torch.Tensor,
    patches: slice,
    has_class_token: bool,
) -> torch.Tensor | None:
    """(B, N) bool mask of the readout rows R, or None when R is the [class] token alone (the authors' path).

    ``"auto"``: per image, the rows with a non-zero gradient at the last block that has any (the decision reads
    exactly those tokens; token-wise layers after the last attention give every other row an exact zero), with
    all patch tokens as soon as one has (a saturated tanh or a dead ReLU in a patch head can zero a read token's
    gradient exactly). An image whose score has no gradient at all falls back to the [class] token.
    ``reference`` is any (B, N, C) z.
    """
    batch, tokens = reference.shape[:2]
    device = reference.device
    if readout == "class":
        return None
    rows = torch.zeros(batch, tokens, dtype=torch.bool, device=device)
    if readout == "patches":
        rows[:, patches] = True
        return rows
    if not isinstance(readout, str):
        indices = torch.as_tensor(list(readout), dtype=torch.long)
        if indices.ndim != 1 or bool(((indices < 0) | (indices >= tokens)).any()):
            raise ValueError(f"readout token indices must lie in 0..{tokens - 1}, got {indices.tolist()}")
        rows[:, indices.to(device)] = True
    else:
        found = torch.zeros(batch, dtype=torch.bool, device=device)
        for grad in reversed(gradients):
            if grad is None:
                continue
            nonzero = (grad != 0).any(dim=-1)
            # Patch tokens are read as a group: a saturated nonlinearity can zero one read token's gradient exactly.
            nonzero[:, patches] |= nonzero[:, patches].any(dim=-1, keepdim=True)
            new = nonzero.any(dim=-1) & ~found
            rows[new] = nonzero[new]
            found |= new
            if bool(found.all()):
                break
        if has_class_token:
            rows[~found, 0] = True
    if has_class_token and bool(rows[:, 0].all()) and not bool(rows[:, 1:].any()):
        return None
    return rows


def _readout_contributions(
    gradients: Sequence[torch.Tensor | None],
    queries: Sequence[QueryRecord],
    values: Sequence[torch.Tensor],
    rows: torch.Tensor,
    rectify: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Raw and used coefficients summed over R (B, L, C), and signed contributions (B, L, N), block by block.

    Per block: W_h = A_h^T (mask_R * ReLU(G_h)) (one batched matmul over images and heads), then
    contribution_j = sum_h <V_h[j], W_h[j]>. Only one block's N x N attention exists at a time.
    """
    mask = rows[:, :, None].float()
    raw_sums, used_sums, contributions = [], [], []
    for grad, record, value in zip(gradients, queries, values, strict=True):
        batch, tokens, heads, head_dim = value.shape
        if grad is None:
            zeros = torch.zeros(batch, heads * head_dim, device=value.device)
            raw_sums.append(zeros)
            used_sums.append(zeros)
            contributions.append(torch.zeros(batch, tokens, device=value.device))
            continue
        raw = grad.float() * mask
        used = raw.clamp_min(0) if rectify else raw
        raw_sums.append(raw.sum(dim=1))
        used_sums.append(used.sum(dim=1))
        per_head = used.reshape(batch, tokens, heads, head_dim).transpose(1, 2)  # (B, H, N, d)
        pulled = record.attention().transpose(-2, -1) @ per_head  # (B, H, N, d): sum_i A[i, j] w[i, k]
        contributions.append(torch.einsum("bnhd,bhnd->bn", value.float(), pulled))
    return torch.stack(raw_sums, dim=1), torch.stack(used_sums, dim=1), torch.stack(contributions, dim=1)


def daam(
    model: nn.Module,
    images: Any,
    target: Target = None,
    *,
    forward: Callable[[Any], torch.Tensor] | None = None,
    family: str = "auto",
    keep_internals: bool = False,
    suffix_tokens: int = 0,
    readout: Readout = "auto",
    normalize_blocks: bool = False,
) -> DaamResult:
    """Dynamic Accumulated Attention Maps of a supervised ViT's decision.

    Args:
        model: a timm ``VisionTransformer`` with a [class] token or an open_clip ``VisionTransformer``.
        images: the preprocessed batch (B, 3, H, W) on the model's device (any size the model accepts).
        target: class to explain: None (each image's top class), an int, or one index per image.
        forward: ``forward(images) -> scores (B,) or logits (B, K)`` computed *through* ``model``, to explain a
            decision built on top of the ViT (e.g. a detector's score); default: ``model(images)``.
        family: ``"auto"``, ``"timm"`` or ``"open_clip"``.
        keep_internals: also return the [class] attention rows and the values (memory: B*L*N*C floats).
        suffix_tokens: tokens appended after the patch tokens by ``forward`` (e.g. learnable visual prompts): they
            take part in attention but are not spatial, so they are left out of the maps.
        readout: the token rows R whose gradients weight the maps. ``"auto"`` (default): the rows the decision
            reads, found as the rows with gradient at the last block ([class] for a classifier, [class] and
            distillation tokens for distilled DeiT, the patch tokens for a patch-mean or patch-map readout such
            as KFD's); ``"class"``: the authors' DAAM; ``"patches"``; or explicit token indices.
        normalize_blocks: min-max normalise each block's map before accumulation (the authors' ``norm``).

    Works inside ``torch.no_grad()``; leaves the model's hooks, training flag and requires_grad untouched.
    """
    adapter = resolve_adapter(model, family)
    device = next(model.parameters()).device
    return trace(
        adapter,
        images,
        forward or adapter.logits,
        _select_logit(target, device),
        rectify_coefficients=True,
        keep_internals=keep_internals,
        suffix_tokens=suffix_tokens,
        readout=readout,
        normalize_blocks=normalize_blocks,
    )
