"""Prompts for causal LMs: the session's messages through the model's chat template, with forgery prompt slots.

Without an FPL the evidence travels as text (the session's system message). With one, the system message also
holds an image slot and, after the sentence "According to the detector, the forgery score is X%.", a slot for the
k forgery prompt embeddings (kfd.md section 4). The rendered template is split at the slots, each text piece
embedded by the LM's own embedding table, and the soft tokens spliced in: the result is fed as ``inputs_embeds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from forensic_core import Message

IMAGE_SLOT = "<|forensic-image|>"
FORGERY_SLOT = "<|forensic-forgery|>"


def chat_messages(conversation: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in conversation]


def with_forgery_slots(messages: list[dict[str, str]], score: float) -> list[dict[str, str]]:
    """Add the image token and the forgery prompt slots to the system message (one is made if missing)."""
    addition = (
        f"Image: {IMAGE_SLOT}\nAccording to the detector, the forgery score is {100 * score:.0f}%. "
        f"Forgery evidence: {FORGERY_SLOT}"
    )
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n" + addition}, *messages[1:]]
    return [{"role": "system", "content": addition}, *messages]


def render(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool = True) -> str:
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt))


def token_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def embed_with_slots(
    model: Any, tokenizer: Any, text: str, image_token: torch.Tensor, prompts: torch.Tensor
) -> torch.Tensor:
    """(1, T, H) embeddings of ``text`` with the image token (1, H) and forgery prompts (k, H) at their slots."""
    if text.count(IMAGE_SLOT) != 1 or text.count(FORGERY_SLOT) != 1:
        raise ValueError("the prompt must hold exactly one image slot and one forgery slot")
    before, rest = text.split(IMAGE_SLOT)
    middle, after = rest.split(FORGERY_SLOT)
    embed = model.get_input_embeddings()
    device = embed.weight.device

    def embedded(piece: str) -> torch.Tensor:
        ids = torch.tensor(token_ids(tokenizer, piece), dtype=torch.long, device=device)
        return embed(ids)

    parts = [embedded(before), image_token.to(device, embed.weight.dtype), embedded(middle)]
    parts += [prompts.to(device, embed.weight.dtype), embedded(after)]
    return torch.cat(parts, dim=0)[None]
