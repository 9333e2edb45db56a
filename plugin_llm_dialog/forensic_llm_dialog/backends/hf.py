"""The ``hf`` backend: a local transformers causal LM, the evidence in its chat template, tokens streamed.

The model is loaded once per process (:mod:`forensic_llm_dialog.models`). With an FPL (``fpl`` setting) the
backend also runs KFD on the input's face and feeds the forgery prompt embeddings through ``inputs_embeds``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from forensic_core import BuildContext, Findings, Message
from forensic_llm_dialog import models
from forensic_llm_dialog.fpl import load_fpl
from forensic_llm_dialog.fpl_files import check_kfd_model, read_sidecar
from forensic_llm_dialog.kfd_inputs import analyse, face_image, kfd_runtime
from forensic_llm_dialog.prompting import chat_messages, embed_with_slots, render, with_forgery_slots
from forensic_llm_dialog.settings import HfSettings


def build(settings: HfSettings, context: BuildContext) -> HfBackend:
    return HfBackend(settings, context)


def with_lora(model: Any, config: Any, state: dict[str, torch.Tensor]) -> Any:
    """A private copy of the LM with the FPL file's LoRA adapters (the shared model stays unchanged)."""
    import copy

    from forensic_llm_dialog.lora import add_lora, load_lora

    private = copy.deepcopy(model)
    load_lora(add_lora(private, config.lora_rank, config.lora_alpha, config.lora_targets), state)
    return private.eval().requires_grad_(False)


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Sample from ``seed`` on a forked RNG: the process's random state is the same afterwards (other components
    and the caller's own seeding are not disturbed). ``None``: greedy decoding, nothing to fork."""
    if seed is None:
        yield
        return
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class HfBackend:
    """Messages -> the LM's chat template -> streamed tokens (optionally with forgery prompt embeddings)."""

    def __init__(self, settings: HfSettings, context: BuildContext | None = None) -> None:
        self.settings = settings
        self.lm = models.load(settings.model, settings.gguf_file, settings.device, settings.cache_dir)
        self.model: Any = self.lm.model
        self.fpl: Any = None
        self.kfd: Any = None
        if settings.fpl is not None:
            self.fpl, identity, lora = load_fpl(settings.fpl, self.lm.model, settings.model)
            self.fpl.to(self.lm.model.device)
            self.kfd = kfd_runtime(identity.kfd, context)
            check_kfd_model(Path(settings.fpl), read_sidecar(Path(settings.fpl)), self.kfd)
            if lora:
                self.model = with_lora(self.lm.model, self.fpl.config, lora)
        self.accepts_embeddings = self.fpl is not None
        self.last_inputs_embeds: torch.Tensor | None = None

    def weights_identity(self) -> str | None:
        return self.lm.identity + (f"; fpl {self.settings.fpl}" if self.settings.fpl else "")

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Iterator[str]:
        messages = chat_messages(conversation)
        image = face_image(findings) if self.fpl is not None else None
        if image is not None:
            embeds = self.forgery_prompt_embeds(messages, image)
            return self.stream(inputs_embeds=embeds)
        ids = self.lm.tokenizer(render(self.lm.tokenizer, messages), add_special_tokens=False, return_tensors="pt")
        return self.stream(input_ids=ids["input_ids"].to(self.model.device))

    def forgery_prompt_embeds(self, messages: list[dict[str, str]], image: Any) -> torch.Tensor:
        kfd = analyse(self.kfd, [image])
        device = self.model.device
        with torch.no_grad():
            prompts, image_token = self.fpl(
                kfd.correlation.to(device), kfd.mask.to(device), kfd.probs.to(device), kfd.image_features.to(device)
            )
        text = render(self.lm.tokenizer, with_forgery_slots(messages, kfd.scores[0]))
        embeds = embed_with_slots(self.model, self.lm.tokenizer, text, image_token[0], prompts[0])
        self.last_inputs_embeds = embeds
        return embeds

    def stream(self, **inputs: torch.Tensor) -> Iterator[str]:
        """Generate in a worker thread and yield text as the streamer decodes it (errors re-raised here)."""
        from transformers import TextIteratorStreamer

        tokenizer = self.lm.tokenizer
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        first = next(iter(inputs.values()))
        kwargs: dict[str, Any] = {
            **inputs,
            "attention_mask": torch.ones(first.shape[:2], dtype=torch.long, device=first.device),
            "max_new_tokens": self.settings.max_new_tokens,
            "streamer": streamer,
            "pad_token_id": tokenizer.pad_token_id,
        }
        sampled = self.settings.temperature > 0
        if sampled:
            kwargs.update(do_sample=True, temperature=self.settings.temperature)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.no_grad(), seeded(self.settings.seed if sampled else None, first.device):
                    self.model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        yield from streamer
        worker.join()
        if failure:
            raise failure[0]
