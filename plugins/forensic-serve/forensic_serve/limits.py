"""ASGI middleware: a hard cap on request bodies, and security headers on every response.

The cap counts the bytes as they arrive, so a chunked upload without Content-Length is stopped at the limit
too; a declared Content-Length over the limit is refused without storing a byte.

Before it answers 413 the server reads and discards the rest of the body, up to ``drain_bytes`` and
``drain_seconds``: a server that answers and closes while the client is still sending makes the client's next
send fail with a reset, and most clients then report that error instead of reading the 413 waiting for them
(certain with ``Connection: close``, and under load once the keep-alive timer fires). Past either bound the
connection is closed (``Connection: close``): a client sending that much more is not waiting for an answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DRAIN_BYTES = 256 * 2**20
DRAIN_SECONDS = 30.0
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class _TooLarge(HTTPException):
    """Raised from ``receive`` at the limit. An HTTPException, so FastAPI's body parsing passes it on (instead of
    turning it into a 400) and its handler answers 413 with the detail; elsewhere :class:`BodyLimit` answers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


class BodyLimit:
    """Answer 413 (one-line JSON) to a request whose body exceeds ``limit`` bytes."""

    def __init__(
        self, app: ASGIApp, limit: int, drain_bytes: int = DRAIN_BYTES, drain_seconds: float = DRAIN_SECONDS
    ) -> None:
        self.app = app
        self.limit = limit
        self.drain_bytes = drain_bytes
        self.drain_seconds = drain_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            if headers.get(b"expect", b"").lower() == b"100-continue":  # the client waits: nothing to drain
                await _too_large(send, self.limit, complete=False)
            else:
                await _too_large(send, self.limit, await self._drain(receive))
            return
        seen = 0
        started = False
        closing: list[bool] = []

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if message.get("more_body", False):
                        closing.append(not await self._drain(receive))
                    raise _TooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _too_large(send, self.limit, complete=not any(closing))

    async def _drain(self, receive: Receive) -> bool:
        """Read and drop the rest of the body within the bounds; whether it was read to its end."""
        drained = 0
        deadline = time.monotonic() + self.drain_seconds
        while drained <= self.drain_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                message = await asyncio.wait_for(receive(), timeout=left)
            except asyncio.TimeoutError:
                return False
            if message["type"] != "http.request":
                return False  # the client went away
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False


def _detail(limit: int) -> str:
    return f"request body over the limit of {limit} bytes; send a smaller file"


async def _too_large(send: Send, limit: int, complete: bool = True) -> None:
    """The 413; ``complete`` False (the body was not read to its end) closes the connection after it."""
    body = json.dumps({"detail": _detail(limit)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if not complete:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """nosniff, no referrer, no framing on every response; the page's content security policy on the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        policy = "default-src 'none'; sandbox" if path.startswith("/v1/artifacts/") else PAGE_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", policy.encode()),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
