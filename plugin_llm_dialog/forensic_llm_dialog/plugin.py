"""Registration module of forensic-llm-dialog (the ``forensic.plugins`` entry point).

Light on purpose: the core, pydantic and the standard library only. Each backend's module (and torch,
transformers or llm) is imported by its factory when a pipeline uses it; ``forensic dialog train-fpl`` imports
torch inside the command body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forensic_core import ComponentSpec, hookimpl
from forensic_llm_dialog.settings import GroundedSettings, HfSettings, LlmSettings, OpenAISettings

if TYPE_CHECKING:
    import click


@hookimpl
def forensic_register_dialog_backends() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="grounded",
            summary="deterministic answers from the evidence, each citing it; no model, always available",
            settings=GroundedSettings,
            factory="forensic_llm_dialog.backends.grounded:build",
        ),
        ComponentSpec(
            name="hf",
            summary="a local transformers causal LM (folder, GGUF, hub id; SmolLM2 by default), optional forgery "
            "prompt embeddings",
            settings=HfSettings,
            factory="forensic_llm_dialog.backends.hf:build",
            requires="torch, transformers (extra [hf])",
        ),
        ComponentSpec(
            name="openai",
            summary="any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server) by base URL",
            settings=OpenAISettings,
            factory="forensic_llm_dialog.backends.openai:build",
        ),
        ComponentSpec(
            name="llm",
            summary="any model of the llm library and its plugins (OpenAI, Anthropic, Gemini, Ollama, gguf)",
            settings=LlmSettings,
            factory="forensic_llm_dialog.backends.llm:build",
            requires="llm (extra [llm])",
        ),
    ]


@hookimpl
def forensic_add_commands(cli: click.Group) -> None:
    from forensic_llm_dialog.cli import dialog_group

    cli.add_command(dialog_group)
