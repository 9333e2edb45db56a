"""Routes over the dialog sessions: open one about an analysis, list and show them, ask (JSON or streamed)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, format_sse_event

from forensic_core.dialog import to_record
from forensic_core.pool import one_line
from forensic_core.report import MessageRecord
from forensic_serve.routes_analyses import problems
from forensic_serve.schemas import (
    MessageIn,
    MessageOut,
    SessionCreate,
    SessionDetail,
    SessionInfo,
)
from forensic_serve.service import Service
from forensic_serve.sessiondb import StoredSession
from forensic_serve.sessions import SessionError


def session_routes(service: Service, guarded: list[Any]) -> APIRouter:
    """``/v1/sessions``, ``/v1/sessions/{id}`` and ``/v1/sessions/{id}/messages``."""
    router = APIRouter()

    @router.post(
        "/v1/sessions",
        response_model=SessionInfo,
        status_code=201,
        dependencies=guarded,
        responses=problems(400, 401, 404, 409, 422, 503),
    )
    async def open_session(body: SessionCreate) -> SessionInfo:
        """Open a dialog about a finished analysis."""
        try:
            session = await run_in_threadpool(service.sessions.open, body.analysis)
        except SessionError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        stored = service.session_db.get(session.id)
        return _session_info(stored) if stored is not None else SessionInfo(id=session.id, analysis=session.analysis)

    @router.get("/v1/sessions", response_model=list[SessionInfo], dependencies=guarded, responses=problems(401, 422))
    def sessions(
        analysis: Annotated[str | None, Query(max_length=64, description="only sessions about this analysis")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    ) -> list[SessionInfo]:
        """Stored dialog sessions, the most recently used first (also those opened before a restart)."""
        return [_session_info(s) for s in service.session_db.sessions(limit, analysis)]

    @router.get(
        "/v1/sessions/{session_id}",
        response_model=SessionDetail,
        dependencies=guarded,
        responses=problems(401, 404),
    )
    def session_detail(session_id: str) -> SessionDetail:
        """One stored session and its conversation."""
        stored = service.session_db.get(session_id)
        if stored is None:
            raise HTTPException(404, f"session {session_id!r} not found (never opened, or expired); open a new one")
        messages = [MessageRecord(**dataclasses.asdict(m)) for m in service.session_db.messages(session_id)]
        return SessionDetail(**_session_info(stored).model_dump(), messages=messages)

    @router.post(
        "/v1/sessions/{session_id}/messages",
        response_model=MessageOut,
        dependencies=guarded,
        responses={
            200: {
                "description": "the answer as JSON, or streamed when the client accepts text/event-stream: "
                "'token' events ({\"text\": ...}) then one 'message' event (the answer) or one 'error' event",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **problems(400, 401, 404, 422, 500),
        },
    )
    async def message(session_id: str, body: MessageIn, request: Request) -> Any:
        """Ask a question; the answer cites the evidence it rests on."""
        try:
            session = await run_in_threadpool(service.sessions.get, session_id)
        except SessionError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        if "text/event-stream" in request.headers.get("accept", ""):
            return EventSourceResponse(_stream(session, body.content))
        try:
            answer = await run_in_threadpool(session.ask, body.content)
        except SessionError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except Exception as exc:
            raise HTTPException(500, f"the dialog failed: {one_line(exc)}") from None
        return MessageOut.model_validate(to_record(answer).model_dump())

    return router


def _session_info(stored: StoredSession) -> SessionInfo:
    def iso(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")

    return SessionInfo(
        id=stored.id,
        analysis=stored.analysis,
        created=iso(stored.created),
        updated=iso(stored.updated),
        turns=stored.turns,
    )


async def _stream(session: Any, question: str) -> AsyncIterator[bytes]:
    """Server-sent events of one answer: the backend's text as it is written, then the whole answer."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, payload: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

    def work() -> None:
        try:
            answer = session.ask(question, on_text=lambda text: emit("token", {"text": text}))
        except Exception as exc:
            emit("error", {"detail": f"the dialog failed: {one_line(exc)}"})
            return
        emit("message", to_record(answer).model_dump(mode="json"))

    worker = loop.run_in_executor(None, work)
    try:
        kind = "token"
        while kind == "token":  # ends with the one 'message' or 'error' event work() always sends
            kind, payload = await queue.get()
            yield format_sse_event(data_str=json.dumps(payload), event=kind)
    finally:
        await asyncio.shield(worker)
