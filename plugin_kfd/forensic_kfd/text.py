"""Class embeddings from the CLIP text encoder: descriptions plus learnable per-class context (CoOp style).

Each description of class c is tokenised as ``[SOT] X..X <description> [EOT]``; the token embeddings of the
``X`` placeholders are replaced by the class's context vectors before the text transformer runs. A class
embedding is the normalised mean of its descriptions' normalised embeddings, so adding descriptions in the
pipeline file refines a class without retraining anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from open_clip.transformer import text_global_pool
from torch import nn

from forensic_kfd.descriptions import CLASS_NAMES, CONTEXT_INIT
from forensic_kfd.towers import Tokenizer, text_source

_PLACEHOLDER = "X"


class TextTower:
    """Runs an open_clip text encoder on token *embeddings* instead of token ids.

    Works for ``CLIP`` (text modules on the model itself) and ``CustomTextCLIP`` with a ``TextTransformer``.
    It reads the backbone's modules at call time and owns no weights, so the backbone stays the single owner
    of its (frozen) parameters and device moves of the backbone apply here too.
    """

    def __init__(self, clip: nn.Module) -> None:
        source = text_source(clip)
        if not hasattr(source, "token_embedding") or getattr(source, "cls_emb", None) is not None:
            raise ValueError("this open_clip text tower cannot take learnable context (set context_tokens: 0)")
        self.source = source
        self.pool_type = getattr(source, "text_pool_type", getattr(source, "pool_type", "argmax"))
        self.eos_id = getattr(source, "text_eos_id", getattr(source, "eos_id", None))

    @property
    def token_embedding(self) -> nn.Embedding:
        return self.source.token_embedding

    @property
    def width(self) -> int:
        return int(self.source.token_embedding.weight.shape[1])

    def __call__(self, embeddings: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """Mirror of ``CLIP.encode_text`` from the embedding step on (unnormalised features).

        With a causal mask and end-of-text pooling, the positions after the longest text's end token cannot
        influence the pooled features, so the sequences are cut there: the same result (up to float rounding)
        for a fraction of the cost (13 descriptions use ~20 of 77 positions). Training runs this every step.
        """
        source = self.source
        mask = source.attn_mask
        length = embeddings.shape[1]
        if mask is not None and self.pool_type == "argmax":
            length = min(length, int(token_ids.argmax(dim=-1).max()) + 1)
            embeddings, token_ids, mask = embeddings[:, :length], token_ids[:, :length], mask[:length, :length]
        x = embeddings + source.positional_embedding[:length].to(embeddings.dtype)
        x = source.transformer(x, attn_mask=mask)
        x = source.ln_final(x)
        x = text_global_pool(x, token_ids, self.pool_type, eos_token_id=self.eos_id)
        projection = source.text_projection
        if projection is None:
            return x
        return projection(x) if isinstance(projection, nn.Linear) else x @ projection


class ClassPrompts(nn.Module):
    """Learnable context vectors per class and the tokenised descriptions they are prepended to."""

    token_ids: torch.Tensor
    classes: torch.Tensor
    context: nn.Parameter | None

    def __init__(
        self,
        clip: nn.Module,
        tokenizer: Tokenizer,
        descriptions: Mapping[str, Sequence[str]],
        context_tokens: int,
    ) -> None:
        super().__init__()
        missing = [name for name in CLASS_NAMES if not descriptions.get(name)]
        if missing:
            raise ValueError(f"descriptions missing or empty for class(es): {', '.join(missing)}")
        self.context_tokens = context_tokens
        self.tower = TextTower(clip) if context_tokens else None
        self.clip = [clip]  # a list keeps the backbone out of this module's parameters and state
        prefix = " ".join([_PLACEHOLDER] * context_tokens)
        texts: list[str] = []
        classes: list[int] = []
        for index, name in enumerate(CLASS_NAMES):
            for sentence in descriptions[name]:
                texts.append(f"{prefix} {sentence}".strip())
                classes.append(index)
        self.register_buffer("token_ids", tokenizer(texts), persistent=False)
        self.register_buffer("classes", torch.tensor(classes), persistent=False)
        if context_tokens:
            self.context = nn.Parameter(self._initial_context(tokenizer, context_tokens))
        else:
            self.register_parameter("context", None)

    def _initial_context(self, tokenizer: Tokenizer, count: int) -> torch.Tensor:
        """Start every class from the embeddings of CONTEXT_INIT, so that untrained prompts still read as text."""
        assert self.tower is not None
        ids = tokenizer([CONTEXT_INIT])[0]
        words = ids[1 : int(ids.argmax())][:count]  # between SOT and EOT
        with torch.no_grad():
            init = self.tower.token_embedding(words).float()
        if init.shape[0] < count:
            extra = torch.randn(count - init.shape[0], self.tower.width) * 0.02
            init = torch.cat([init, extra])
        return init.unsqueeze(0).repeat(len(CLASS_NAMES), 1, 1).clone()

    def forward(self) -> torch.Tensor:
        """Class embeddings (n_classes, embed_dim), L2-normalised, class order CLASS_NAMES."""
        if self.tower is None:
            encode_text = cast("Callable[[torch.Tensor], torch.Tensor]", self.clip[0].encode_text)
            features = encode_text(self.token_ids)
        else:
            assert self.context is not None  # registered whenever there is a tower (context_tokens > 0)
            embeddings = self.tower.token_embedding(self.token_ids)
            context = self.context[self.classes].to(embeddings.dtype)
            embeddings = torch.cat(
                [embeddings[:, :1], context, embeddings[:, 1 + self.context_tokens :]],
                dim=1,
            )
            features = self.tower(embeddings, self.token_ids)
        features = F.normalize(features.float(), dim=-1)
        sums = torch.zeros(len(CLASS_NAMES), features.shape[1], device=features.device, dtype=features.dtype)
        sums = sums.index_add(0, self.classes, features)
        return F.normalize(sums, dim=-1)
