"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp server).

Spoken with the standard library (no SDK): ``POST {base_url}/chat/completions`` with the session's messages,
streamed as server-sent events (``data: {...}`` lines, ``data: [DONE]``) or as one JSON reply. The API key is
read from the environment variable the settings name, never from the pipeline file.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from forensic_core import BuildContext, Findings, Message
from forensic_core.errors import ComponentError
from forensic_llm_dialog.settings import OpenAISettings


def build(settings: OpenAISettings, context: BuildContext) -> OpenAIBackend:
    return OpenAIBackend(settings)


class OpenAIBackend:
    """Chat completions over HTTP; text streamed chunk by chunk when ``stream`` is on."""

    accepts_embeddings = False

    def __init__(self, settings: OpenAISettings) -> None:
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"

    def weights_identity(self) -> str | None:
        return f"{self.settings.model} at {self.settings.base_url}"

    def _request(self, conversation: Sequence[Message]) -> urllib.request.Request:
        body = {
            "model": self.settings.model,
            "messages": [{"role": m.role, "content": m.content} for m in conversation],
            "stream": self.settings.stream,
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
        }
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        key = os.environ.get(self.settings.api_key_env) if self.settings.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Iterator[str]:
        request = self._request(conversation)
        try:
            response = urllib.request.urlopen(request, timeout=self.settings.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            raise ComponentError(f"openai: {self.url} answered HTTP {exc.code}: {' '.join(detail.split())}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ComponentError(
                f"openai: cannot reach {self.url}: {reason} (is the server running? check 'base_url')"
            ) from exc
        with response:
            if self.settings.stream:
                yield from _events(response)
            else:
                yield _content(json.loads(response.read().decode("utf-8")))


def _content(payload: Any) -> str:
    try:
        return str(payload["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError) as exc:
        raise ComponentError(
            f"openai: unexpected reply without choices[0].message.content: {str(payload)[:200]}"
        ) from exc


def _events(response: Any) -> Iterator[str]:
    for raw in response:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        choices = json.loads(data).get("choices") or [{}]
        piece = (choices[0].get("delta") or {}).get("content")
        if piece:
            yield piece
