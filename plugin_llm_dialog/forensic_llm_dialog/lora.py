"""Low-rank adapters (LoRA) on a causal LM's linear layers, trained together with the FPL (optional).

``W x + (alpha / r) B A x`` with A (r x in) random and B (out x r) zero at the start, so an untrained adapter
leaves the LM unchanged. Adapters are applied to a private copy of the LM: the process-wide loaded model stays
the plain one that other backends and pipelines share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

PREFIX = "lora."


class LoraLinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.down = nn.Parameter(torch.empty(rank, base.in_features))
        self.up = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.down, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.down.t() @ self.up.t()) * self.scale


def add_lora(model: nn.Module, rank: int, alpha: float, targets: Sequence[str]) -> dict[str, LoraLinear]:
    """Replace every ``nn.Linear`` whose name ends with one of ``targets`` (e.g. ``q_proj``) by an adapter."""
    adapters: dict[str, LoraLinear] = {}
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            adapter = LoraLinear(module, rank, alpha).to(module.weight.device)
            setattr(parent, child, adapter)
            adapters[name] = adapter
    if not adapters:
        raise ValueError(f"no linear layer named {list(targets)} in the LM: set lora_targets to its projection names")
    return adapters


def lora_state(adapters: dict[str, LoraLinear]) -> dict[str, torch.Tensor]:
    state = {}
    for name, adapter in adapters.items():
        state[f"{PREFIX}{name}.down"] = adapter.down.detach().cpu().contiguous()
        state[f"{PREFIX}{name}.up"] = adapter.up.detach().cpu().contiguous()
    return state


def load_lora(adapters: dict[str, LoraLinear], state: dict[str, torch.Tensor]) -> None:
    for name, adapter in adapters.items():
        with torch.no_grad():
            adapter.down.copy_(state[f"{PREFIX}{name}.down"])
            adapter.up.copy_(state[f"{PREFIX}{name}.up"])
