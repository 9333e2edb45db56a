"""Training the Forgery Prompt Learner on templated question-answer pairs over pseudo-fakes.

Data: real face photos that ship with scikit-image (or the configured images), each used as a real sample and,
blended with itself, as a pseudo-fake (forensic-eval's self-blended generator when installed, else a pasted
patch from a shifted, recoloured copy). KFD (frozen) runs once on every sample; questions come from templates
and answers state the truth of the sample (the forgery mask's place for fakes). The LM is frozen; the FPL learns
(and, with ``lora_rank`` > 0, low-rank adapters on the LM's attention projections), with the loss on the
assistant's answer tokens only. The result is saved with the LM's identity.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from forensic_core.dialog import SYSTEM_PROMPT, place_of
from forensic_llm_dialog import models
from forensic_llm_dialog.fpl import ForgeryPromptLearner, FplConfig, FplIdentity, embedding_rms, lm_identity, save_fpl
from forensic_llm_dialog.fpl_files import config_digest, kfd_model_record, kfd_settings_record
from forensic_llm_dialog.kfd_inputs import KfdInputs, analyse, kfd_runtime
from forensic_llm_dialog.prompting import embed_with_slots, render, token_ids, with_forgery_slots

QUESTIONS = {
    "verdict": ["Is this image a deepfake?", "Is this face real or fake?", "Has this photo been manipulated?"],
    "where": ["Where is the manipulation?", "Which part of the face is forged?"],
    "confidence": ["How sure are you?", "What is the forgery score?"],
}


class TrainConfig(BaseModel):
    """``forensic dialog train-fpl CONFIG``: what to train against and how long."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lm: str = Field("smollm2", description="the LM, as the hf backend's 'model' setting")
    gguf_file: str | None = Field(None, description="GGUF file name inside 'lm' when 'lm' is a folder")
    kfd: dict[str, Any] = Field(
        description="KFD settings (as in a pipeline's kfd detector) whose outputs the FPL reads"
    )
    images: list[str] = Field(
        default_factory=list, description="face images to make samples from; empty: scikit-image's astronaut + lfw"
    )
    samples: int = Field(8, ge=2, le=100000, description="images used (each gives one real and one fake sample)")
    size: int = Field(96, ge=16, le=1024, description="side in pixels images are resized to before pseudo-faking")
    tokens: int = Field(9, ge=1, le=64, description="forgery prompt tokens k")
    steps: int = Field(50, ge=1, le=1000000, description="optimisation steps")
    batch_size: int = Field(4, ge=1, le=256, description="question-answer pairs per step")
    lr: float = Field(1e-3, gt=0, le=1, description="AdamW learning rate")
    seed: int = Field(0, ge=0, description="seed for data, templates and initialisation")
    device: str = Field("cpu", description="'cpu' or 'cuda'")
    lora_rank: int = Field(0, ge=0, le=256, description="rank of LoRA adapters trained on the LM with the FPL; 0: off")
    lora_alpha: float = Field(16.0, gt=0, description="LoRA scale numerator (the update is scaled by alpha / rank)")
    lora_targets: tuple[str, ...] = Field(
        ("q_proj", "v_proj"), description="names of the LM's linear layers that get adapters (Llama: q_proj, v_proj)"
    )


@dataclass
class Sample:
    """One templated pair with KFD's outputs for its image."""

    question: str
    answer: str
    index: int


def load_config(path: Path) -> TrainConfig:
    import yaml

    from forensic_core.errors import ConfigError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return TrainConfig.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the training config: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: {' '.join(str(exc).split())[:300]}") from exc


def source_images(config: TrainConfig) -> list[np.ndarray]:
    from PIL import Image

    if config.images:
        pictures = [np.asarray(Image.open(p).convert("RGB")) for p in config.images]
    else:
        from skimage import data

        pictures = [data.astronaut()[:300, 100:360]]
        pictures += list(_lfw_faces(config.samples))
    resized = []
    for picture in (pictures * config.samples)[: config.samples]:
        resized.append(
            np.asarray(Image.fromarray(picture).resize((config.size, config.size), Image.Resampling.BICUBIC))
        )
    return resized


def _lfw_faces(count: int) -> list[np.ndarray]:
    try:
        from skimage.data import lfw_subset

        faces = lfw_subset()[:count]
    except Exception:  # lfw_subset needs pooch data on some versions; the astronaut alone still trains
        return []
    return [np.repeat((face * 255).astype(np.uint8)[..., None], 3, axis=2) for face in faces]


def pseudo_fake(image: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fake image, mask in [0, 1]) from one real image."""
    try:
        from forensic_eval.pseudofake import make_pseudo_fake
    except ImportError:
        return pasted_patch(image, seed)
    fake = make_pseudo_fake(image, seed)
    return fake.image, np.asarray(fake.mask, dtype=np.float64)


def pasted_patch(image: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fallback fake: a box of the image replaced by a shifted, brightened copy of itself."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    h, w = height // 3, width // 3
    y, x = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
    source = np.roll(image, (h // 2, w // 2), axis=(0, 1)).astype(np.int16) + 25
    fake = image.copy()
    fake[y : y + h, x : x + w] = np.clip(source[y : y + h, x : x + w], 0, 255).astype(np.uint8)
    mask = np.zeros((height, width))
    mask[y : y + h, x : x + w] = 1.0
    return fake, mask


def templated_pairs(real: bool, mask: np.ndarray | None, score: float, rng: random.Random, index: int) -> list[Sample]:
    place = place_of(mask)[0] if mask is not None and mask.any() else None
    verdict = (
        "No, this is not a deepfake image."
        if real
        else f"Yes. This is a deepfake image, the artifact is at the {place} of the image."
    )
    where = "There is no manipulation in this image." if real else f"The artifact is at the {place} of the image."
    answers = {"verdict": verdict, "where": where, "confidence": f"The forgery score is {100 * score:.0f}%."}
    return [Sample(rng.choice(QUESTIONS[kind]), answer, index) for kind, answer in answers.items()]


def train(config: TrainConfig, outdir: Path) -> dict[str, Any]:
    """Train, save ``outdir/fpl.safetensors`` and ``outdir/train.json`` (losses, timings); return the summary."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    lm = models.load(config.lm, config.gguf_file, config.device, None)
    runtime = kfd_runtime(config.kfd)
    images: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for index, real in enumerate(source_images(config)):
        fake, mask = pseudo_fake(real, config.seed + index)
        images += [real, fake]
        masks += [None, mask]
    kfd = analyse(runtime, images)
    pairs = [
        pair
        for index, mask in enumerate(masks)
        for pair in templated_pairs(mask is None, mask, kfd.scores[index], rng, index)
    ]
    hidden = int(lm.model.get_input_embeddings().weight.shape[1])
    fpl_config = FplConfig(
        layers=int(kfd.correlation.shape[1]),
        clip_dim=int(kfd.image_features.shape[1]),
        hidden=hidden,
        tokens=config.tokens,
        embed_rms=embedding_rms(lm.model),
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_targets=tuple(config.lora_targets) if config.lora_rank else (),
    )
    fpl = ForgeryPromptLearner(fpl_config).to(lm.model.device).train()
    model, adapters = lm.model, {}
    if config.lora_rank:
        import copy

        from forensic_llm_dialog.lora import add_lora

        model = copy.deepcopy(lm.model)  # the process-wide model stays plain
        adapters = add_lora(model, config.lora_rank, config.lora_alpha, config.lora_targets)
    parameters = list(fpl.parameters()) + [p for adapter in adapters.values() for p in (adapter.down, adapter.up)]
    optimiser = torch.optim.AdamW(parameters, lr=config.lr)
    losses = []
    for _ in range(config.steps):
        batch = rng.sample(pairs, min(config.batch_size, len(pairs)))
        loss = batch_loss(fpl, model, lm.tokenizer, kfd, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(round(float(loss.detach()), 5))
    name, vocab, digest = lm_identity(lm.model, config.lm)
    identity = FplIdentity(lm=name, vocab=vocab, embedding_sha256=digest, kfd=kfd_settings_record(config.kfd))
    outdir.mkdir(parents=True, exist_ok=True)
    from forensic_llm_dialog.lora import lora_state

    path = save_fpl(
        fpl.eval(),
        identity,
        outdir / "fpl.safetensors",
        lora_state(adapters) if adapters else None,
        kfd_model=kfd_model_record(runtime),
        training={"config_digest": config_digest(config), "steps": config.steps},
    )
    window = max(1, len(losses) // 5)
    summary = {
        "fpl": str(path),
        "lm": name,
        "pairs": len(pairs),
        "lora": {"rank": config.lora_rank, "layers": len(adapters)} if adapters else None,
        "steps": config.steps,
        "first_loss": float(np.mean(losses[:window])),
        "last_loss": float(np.mean(losses[-window:])),
        "losses": losses,
        "pseudo_fakes": "forensic_eval.pseudofake" if _has_eval() else "pasted patch (forensic-eval not installed)",
        "seconds": round(time.perf_counter() - started, 2),
    }
    (outdir / "train.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _has_eval() -> bool:
    import importlib.util

    return importlib.util.find_spec("forensic_eval") is not None


def batch_loss(
    fpl: ForgeryPromptLearner, model: Any, tokenizer: Any, kfd: KfdInputs, batch: list[Sample]
) -> torch.Tensor:
    """Mean cross-entropy over the answers' tokens (prompt positions are masked out)."""
    device = model.device
    indices = torch.tensor([s.index for s in batch])
    prompts, image_tokens = fpl(
        kfd.correlation[indices].to(device),
        kfd.mask[indices].to(device),
        kfd.probs[indices].to(device),
        kfd.image_features[indices].to(device),
    )
    embed = model.get_input_embeddings()
    sequences, labels = [], []
    for row, sample in enumerate(batch):
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": sample.question}]
        text = render(tokenizer, with_forgery_slots(messages, kfd.scores[sample.index]))
        prompt = embed_with_slots(model, tokenizer, text, image_tokens[row], prompts[row])[0]
        answer_ids = [*token_ids(tokenizer, sample.answer), tokenizer.eos_token_id]
        answer = embed(torch.tensor(answer_ids, device=device))
        sequences.append(torch.cat([prompt, answer]))
        labels.append(torch.tensor([-100] * prompt.shape[0] + answer_ids, device=device))
    length = max(seq.shape[0] for seq in sequences)
    padded = torch.zeros(len(batch), length, sequences[0].shape[1], device=device)
    target = torch.full((len(batch), length), -100, dtype=torch.long, device=device)
    attention = torch.zeros(len(batch), length, dtype=torch.long, device=device)
    for row, (seq, lab) in enumerate(zip(sequences, labels, strict=True)):
        padded[row, : seq.shape[0]] = seq
        target[row, : lab.shape[0]] = lab
        attention[row, : seq.shape[0]] = 1
    return model(inputs_embeds=padded, attention_mask=attention, labels=target).loss
