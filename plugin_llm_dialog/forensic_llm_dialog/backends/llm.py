"""The ``llm`` backend: any model of Simon Willison's ``llm`` library and its plugins, through its Python API.

``llm.get_model(name)`` resolves ids and aliases of every installed llm plugin (OpenAI, Anthropic, Gemini,
Ollama, gguf, ...); keys come from ``llm keys`` or the model's environment variable unless the settings give
one. The session's evidence (system message) and earlier turns go in the system prompt, the question is the
prompt; the response is streamed chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from forensic_core import BuildContext, Findings, Message
from forensic_core.errors import ComponentError, ConfigError, one_line
from forensic_llm_dialog.settings import LlmSettings


def build(settings: LlmSettings, context: BuildContext) -> LlmBackend:
    return LlmBackend(settings)


def get_model(name: str) -> Any:
    try:
        import llm
    except ImportError as exc:
        raise ConfigError("dialog backend 'llm' needs the llm library: pip install 'forensic-llm-dialog[llm]'") from exc
    try:
        return llm.get_model(name)
    except llm.UnknownModelError as exc:
        raise ConfigError(
            f"llm: unknown model {name!r}: 'llm models' lists the installed ones; install the llm plugin that "
            "provides it"
        ) from exc
    except ImportError as exc:  # a broken llm plugin aborts llm's plugin loading
        raise ComponentError(
            f"llm: an llm plugin failed to import ({exc}): set LLM_LOAD_PLUGINS to the plugins you use, "
            "e.g. LLM_LOAD_PLUGINS=llm-ollama"
        ) from exc


class LlmBackend:
    """One llm model; answers streamed when the model supports it."""

    accepts_embeddings = False

    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        self.model = get_model(settings.model)

    def weights_identity(self) -> str | None:
        return f"llm:{self.model.model_id}"

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Iterator[str]:
        system = [m.content for m in conversation if m.role == "system"]
        turns = [m for m in conversation if m.role != "system"]
        question = turns[-1].content if turns else ""
        earlier = [f"{m.role}: {m.content}" for m in turns[:-1]]
        if earlier:
            system.append("Conversation so far:\n" + "\n".join(earlier))
        kwargs: dict[str, Any] = dict(self.settings.options)
        if self.settings.key is not None:
            kwargs["key"] = self.settings.key
        response = self.model.prompt(question, system="\n\n".join(system), stream=self.settings.stream, **kwargs)
        try:
            yield from (str(chunk) for chunk in response)
        except Exception as exc:
            raise ComponentError(
                f"llm: model {self.model.model_id} failed: {one_line(exc, bare=(BaseException,))}"
            ) from exc
