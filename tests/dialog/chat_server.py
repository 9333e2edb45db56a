"""A loopback chat-completions server (the OpenAI protocol, streamed and not) with a tiny LM behind it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Generate = Callable[[list[dict[str, str]], int], Iterator[str]]


def serve(generate: Generate, *, api_key: str | None = None) -> tuple[ThreadingHTTPServer, list[dict[str, Any]]]:
    """Start a server on 127.0.0.1 (a free port) in a thread; returns it and the list of request bodies seen."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            if api_key is not None and self.headers.get("Authorization") != f"Bearer {api_key}":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"error": "bad key"}')
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            pieces = generate(body["messages"], int(body.get("max_tokens", 16)))
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in pieces:
                    event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
            else:
                text = "".join(pieces)
                payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen
