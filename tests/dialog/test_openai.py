"""The ``openai`` backend against a real loopback HTTP server speaking chat completions, a tiny LM behind it."""

from __future__ import annotations

import pytest

from forensic_core.dialog import DialogSession
from forensic_core.errors import ComponentError
from forensic_llm_dialog.backends.openai import OpenAIBackend
from forensic_llm_dialog.settings import OpenAISettings

from .chat_server import serve


@pytest.fixture(scope="module")
def tiny_generate(tiny_lm_folder):
    from forensic_core import Message
    from forensic_llm_dialog.backends.hf import HfBackend
    from forensic_llm_dialog.settings import HfSettings

    def generate(messages, max_tokens):
        hf = HfBackend(HfSettings(model=str(tiny_lm_folder), max_new_tokens=min(max_tokens, 6)))
        return hf.reply(None, [Message(m["role"], m["content"]) for m in messages])  # type: ignore[arg-type]

    return generate


@pytest.fixture
def server(tiny_generate, monkeypatch):
    monkeypatch.setenv("TEST_CHAT_KEY", "sekret")
    server, seen = serve(tiny_generate, api_key="sekret")
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    server.shutdown()


def settings(base_url, **changes):
    return OpenAISettings(base_url=base_url, model="tiny", api_key_env="TEST_CHAT_KEY", max_tokens=5, **changes)


@pytest.mark.parametrize("stream", [True, False])
def test_answers_over_http_streamed_or_not(server, fake_findings, tiny_generate, stream):
    base_url, seen = server
    session = DialogSession(fake_findings, OpenAIBackend(settings(base_url, stream=stream)), backend_name="openai")
    chunks: list[str] = []
    answer = session.ask("Is this image a deepfake?", on_text=chunks.append)
    request = seen[-1]
    assert request["model"] == "tiny" and request["stream"] is stream and request["max_tokens"] == 5
    assert request["messages"][0]["role"] == "system" and "kfd: forgery score 0.93" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "Is this image a deepfake?"}
    expected = "".join(tiny_generate(request["messages"], 5)).strip()
    assert answer.content.split("\nNote:")[0] == expected
    assert len(chunks) >= (2 if stream else 1)
    assert answer.evidence[0]["component"] == "kfd"  # cited whatever the model wrote


def test_a_wrong_key_is_a_one_line_error(server, fake_findings, monkeypatch):
    base_url, _ = server
    monkeypatch.setenv("TEST_CHAT_KEY", "wrong")
    with pytest.raises(ComponentError, match=r"answered HTTP 401"):
        list(OpenAIBackend(settings(base_url)).reply(fake_findings, []))


def test_an_unreachable_server_says_what_to_check(fake_findings):
    backend = OpenAIBackend(OpenAISettings(base_url="http://127.0.0.1:9/v1", timeout=2))
    with pytest.raises(ComponentError, match=r"cannot reach http://127.0.0.1:9/v1/chat/completions.*base_url"):
        list(backend.reply(fake_findings, []))
