"""The Forgery Prompt Learner (FPL): KFD's maps, mask and probabilities -> soft tokens for a causal LM.

Following kfd.md section 4: a CNN over the stacked raw correlation maps gives k tokens, a CNN over the forgery
mask k tokens, a linear layer over the class probabilities one token (broadcast), plus k learnable base tokens;
a 1-D convolution across these four sources mixes them into k forgery prompt embeddings of the LM's hidden
width. The image token is a learned projection of KFD's global CLIP image embedding. Both are placed in the
prompt by :mod:`forensic_llm_dialog.prompting` and fed to the LM through ``inputs_embeds``.

A saved FPL (safetensors, with its configuration and the identity of the LM and KFD it was trained with in the
file's metadata and in the ``fpl.json`` sidecar beside it, see :mod:`forensic_llm_dialog.fpl_files`) refuses to
load against another LM: soft tokens are meaningless in a foreign embedding space.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from forensic_core.errors import ConfigError, MissingWeightsError
from forensic_llm_dialog.fpl_files import read_sidecar, write_sidecar

FORMAT = "forensic-fpl/1"  # of the safetensors metadata (unchanged, so older readers read new files); sidecar: 2


@dataclass(frozen=True)
class FplConfig:
    """Shapes of an FPL: KFD's layer count and embedding width, the LM's hidden width, k tokens."""

    layers: int
    clip_dim: int
    hidden: int
    tokens: int = 9
    channels: int = 32
    grid: int = 3
    embed_rms: float = 1.0
    lora_rank: int = 0
    lora_alpha: float = 16.0
    lora_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class FplIdentity:
    """What the FPL was trained against: the LM (name, vocab, embedding fingerprint) and KFD's settings."""

    lm: str
    vocab: int
    embedding_sha256: str
    kfd: dict[str, Any] = field(default_factory=dict)


def _encoder(in_channels: int, channels: int, grid: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.GELU(),
        nn.AdaptiveAvgPool2d(grid),
    )


class ForgeryPromptLearner(nn.Module):
    """(correlation (B, L, 2, h, w), mask (B, h', w'), probs (B, 2), image features (B, D)) -> (prompts (B, k, H),
    image token (B, 1, H))."""

    def __init__(self, config: FplConfig) -> None:
        super().__init__()
        self.config = config
        cells = config.grid * config.grid
        self.map_encoder = _encoder(2 * config.layers, config.channels, config.grid)
        self.mask_encoder = _encoder(1, config.channels, config.grid)
        self.map_positions = nn.Linear(cells, config.tokens)
        self.mask_positions = nn.Linear(cells, config.tokens)
        self.map_width = nn.Linear(config.channels, config.hidden)
        self.mask_width = nn.Linear(config.channels, config.hidden)
        self.prob_token = nn.Linear(2, config.hidden)
        self.base_tokens = nn.Parameter(torch.randn(config.tokens, config.hidden) * 0.02)
        self.mix = nn.Conv1d(4, 1, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(config.hidden)
        self.image_projection = nn.Sequential(nn.Linear(config.clip_dim, config.hidden), nn.LayerNorm(config.hidden))
        # soft tokens start at the scale of the LM's own token embeddings
        self.scale = nn.Parameter(torch.tensor(float(config.embed_rms) * math.sqrt(config.hidden)))

    def _tokens(self, encoder: nn.Module, positions: nn.Linear, width: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        cells = encoder(x).flatten(2)  # (B, C, g*g)
        return width(positions(cells).transpose(1, 2))  # (B, k, H)

    def forward(
        self, correlation: torch.Tensor, mask: torch.Tensor, probs: torch.Tensor, image_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch = correlation.shape[0]
        maps = correlation.flatten(1, 2).float() / 100.0  # logit-scaled cosines (x100) back to [-1, 1]
        map_tokens = self._tokens(self.map_encoder, self.map_positions, self.map_width, maps)
        mask_tokens = self._tokens(self.mask_encoder, self.mask_positions, self.mask_width, mask[:, None].float())
        prob_tokens = self.prob_token(probs.float())[:, None].expand(-1, self.config.tokens, -1)
        base = self.base_tokens[None].expand(batch, -1, -1)
        sources = torch.stack([map_tokens, mask_tokens, prob_tokens, base], dim=2)  # (B, k, 4, H)
        mixed = self.mix(sources.reshape(-1, 4, self.config.hidden)).reshape(batch, self.config.tokens, -1)
        unit = self.scale / math.sqrt(self.config.hidden)
        prompts = self.norm(mixed) * unit
        image_token = self.image_projection(image_features.float())[:, None] * unit
        return prompts, image_token


def lm_identity(model: Any, name: str) -> tuple[str, int, str]:
    """(name, vocabulary size, sha256 of the input embedding matrix) of a transformers LM."""
    weight = model.get_input_embeddings().weight.detach().float().cpu().contiguous()
    digest = hashlib.sha256(weight.numpy().tobytes()).hexdigest()
    return name, int(weight.shape[0]), digest


def embedding_rms(model: Any) -> float:
    weight = model.get_input_embeddings().weight.detach().float()
    return float(weight.pow(2).mean().sqrt()) / math.sqrt(weight.shape[1])


def save_fpl(
    fpl: ForgeryPromptLearner,
    identity: FplIdentity,
    path: str | Path,
    lora: dict[str, torch.Tensor] | None = None,
    *,
    kfd_model: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> Path:
    """Write the FPL (and the LM's LoRA adapters, when trained) with its configuration and identity, and the
    ``fpl.json`` sidecar (``kfd_model``: the KFD model it read, ``training``: the training config's digest)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().contiguous() for key, value in fpl.state_dict().items()}
    state.update(lora or {})
    metadata = {
        "format": FORMAT,
        "config": json.dumps(asdict(fpl.config)),
        "identity": json.dumps(asdict(identity)),
    }
    save_file(state, str(path), metadata=metadata)
    write_sidecar(path, fpl.config, identity, lora_tensors=len(lora or {}), kfd_model=kfd_model, training=training)
    return path


def read_fpl(path: str | Path) -> tuple[FplConfig, FplIdentity, dict[str, torch.Tensor]]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"hf: FPL file {path} does not exist: train one with 'forensic dialog train-fpl'")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ConfigError(f"hf: {path} is not a Forgery Prompt Learner file (format {metadata.get('format')!r})")
        state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - safe_open has no iterator
    sidecar = read_sidecar(path)
    if sidecar is not None:  # format 2: the sidecar is what the file says it is
        values = dict(sidecar["fpl"])
        lm = sidecar["lm"]
        kfd = dict(sidecar["kfd"].get("settings") or {})
        identity = FplIdentity(lm=lm["name"], vocab=lm["vocab"], embedding_sha256=lm["embedding_sha256"], kfd=kfd)
    else:
        values = json.loads(metadata["config"])
        identity = FplIdentity(**json.loads(metadata["identity"]))
    config = FplConfig(**{**values, "lora_targets": tuple(values.get("lora_targets", ()))})
    return config, identity, state


def load_fpl(
    path: str | Path, model: Any, lm_name: str
) -> tuple[ForgeryPromptLearner, FplIdentity, dict[str, torch.Tensor]]:
    """Load an FPL for ``model``; refuse one trained against another LM. Returns the FPL, its identity and the
    LoRA tensors saved with it (empty when it was trained without LoRA)."""
    from forensic_llm_dialog.lora import PREFIX

    config, identity, state = read_fpl(path)
    lora = {key: value for key, value in state.items() if key.startswith(PREFIX)}
    state = {key: value for key, value in state.items() if not key.startswith(PREFIX)}
    _, vocab, digest = lm_identity(model, lm_name)
    hidden = int(model.get_input_embeddings().weight.shape[1])
    if config.hidden != hidden or identity.vocab != vocab or identity.embedding_sha256 != digest:
        raise ConfigError(
            f"hf: FPL {path} was trained for LM {identity.lm} (hidden {config.hidden}, vocab {identity.vocab}, "
            f"embeddings sha256 {identity.embedding_sha256[:12]}), not for the configured model {lm_name} (hidden "
            f"{hidden}, vocab {vocab}, embeddings sha256 {digest[:12]}): set 'model' to the LM the FPL names, or "
            "train one for this LM with 'forensic dialog train-fpl'"
        )
    fpl = ForgeryPromptLearner(config)
    fpl.load_state_dict(state)
    return fpl.eval(), identity, lora
