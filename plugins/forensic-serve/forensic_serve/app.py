"""The ASGI application: routes over a :class:`~forensic_serve.service.Service`.

Errors are one line (``{"detail": ...}``) with the status a client can act on: 400 for a body that is not JSON
or multipart, 401 without the token, 404 for what does not exist, 409 for an analysis not finished yet, 413
over a limit, 415 for what is not an image or video, 422 for a malformed request, 429 when the queue is full,
503 when the pipeline cannot run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import mimetypes
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, format_sse_event
from fastapi.staticfiles import StaticFiles

from forensic_core.dialog import to_record
from forensic_core.pool import one_line
from forensic_core.report import MessageRecord
from forensic_serve import __version__
from forensic_serve.jobs import QueueFull
from forensic_serve.limits import BodyLimit, SecurityHeaders
from forensic_serve.records import public_record
from forensic_serve.schemas import (
    AnalysisRecord,
    BatchStats,
    ComponentInfo,
    Health,
    MessageIn,
    MessageOut,
    Pending,
    Problem,
    SessionCreate,
    SessionDetail,
    SessionInfo,
)
from forensic_serve.service import Service
from forensic_serve.sessiondb import StoredSession
from forensic_serve.sessions import SessionError
from forensic_serve.uploads import UploadRejected

STATIC = Path(str(files("forensic_serve") / "static"))
MULTIPART_SLACK = 64 * 1024
# module level: route signatures are resolved in this module's namespace (postponed annotations)
BEARER = HTTPBearer(auto_error=False, description="the token in the server's token variable, when it is set")


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem} for code in codes}


def create_app(
    service: Service,
    *,
    warm: bool = True,
    on_ready: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> FastAPI:
    """The app over ``service``. At start-up ``warm`` builds the components; unfinished analyses are queued again;
    then ``on_ready`` is called (the command prints the address). ``on_stop`` runs after the service is closed
    (the command releases the data folder's lock: uvicorn ends the process by re-raising SIGTERM afterwards)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm:
            await run_in_threadpool(service.warm_up)
        service.resume_unfinished()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await run_in_threadpool(service.close)
            if on_stop is not None:
                on_stop()

    app = FastAPI(
        title="forensic",
        version=__version__,
        summary="Explainable deepfake forensics: analyse an image or video, see the evidence, ask about it.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their code from a CDN: the page policy allows only 'self'
        redoc_url=None,
    )
    token = service.config.token

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            detail = f"missing or wrong bearer token (the one in ${service.config.token_env})"
            raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})

    # without a token the schema declares no security scheme: the API really is open then
    guarded = [Depends(require_token)] if token is not None else []

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
        message = str(first.get("msg", "invalid request"))
        hint = "; send the image or video as multipart field 'file'" if where == "file" else ""
        return JSONResponse({"detail": f"{where}: {message}{hint}"}, status_code=422)

    @app.get("/healthz", response_model=Health, tags=["server"])
    def healthz() -> Health:
        """Liveness and load."""
        return Health(
            status="ok",
            version=__version__,
            pipeline=service.pipeline.source,
            queue=service.jobs.load,
            capacity=service.jobs.capacity,
            dialog=service.sessions.pipeline is not None,
            batches={label: BatchStats(calls=b.batches, items=b.items) for label, b in service.pool.batchers()},
        )

    @app.get("/v1/components", response_model=list[ComponentInfo], dependencies=guarded, responses=_problems(401))
    def components() -> list[ComponentInfo]:
        """Every registered component (what pipelines can name)."""
        return [
            ComponentInfo(
                kind=c.kind.value,
                name=c.name,
                qualified_name=c.qualified_name,
                plugin=c.plugin,
                version=c.version,
                summary=c.spec.summary,
                scope=c.spec.scope,
                requires=c.spec.requires,
                settings=c.spec.settings.model_json_schema(),
            )
            for c in service.registry.components()
        ]

    @app.post(
        "/v1/analyze",
        response_model=AnalysisRecord,
        dependencies=guarded,
        responses=_problems(400, 401, 413, 415, 422, 429, 503),
    )
    async def analyze(file: Annotated[UploadFile, File(description="an image or a video")]) -> dict[str, Any]:
        """Analyse one upload with the server's pipeline; answers when the analysis is finished."""
        try:
            meta = await run_in_threadpool(
                service.store.receive,
                file.file,
                file.filename,
                max_bytes=service.config.max_upload_bytes,
                max_pixels=service.max_pixels,
            )
        except UploadRejected as exc:
            raise HTTPException(exc.status, str(exc)) from None
        try:
            job = service.jobs.submit(meta.id)
        except QueueFull as exc:
            service.store.discard(meta)
            raise HTTPException(429, f"busy: {exc}", {"Retry-After": "5"}) from None
        try:
            await asyncio.wrap_future(job)
        except Exception as exc:
            raise HTTPException(503, f"the analysis could not run: {one_line(exc)}") from None
        result = service.store.result(meta.id)
        if result is None:
            raise HTTPException(503, "the analysis stopped before it finished (server shutting down?); try again")
        return public_record(meta, result)

    @app.get(
        "/v1/analyses/{analysis_id}",
        response_model=AnalysisRecord,
        dependencies=guarded,
        responses={202: {"model": Pending}, **_problems(401, 404)},
    )
    def analysis(analysis_id: str) -> Any:
        """A finished analysis (202 while it is queued or running), also one made before a restart."""
        meta = service.store.meta(analysis_id)
        if meta is None:
            raise HTTPException(404, f"analysis {analysis_id!r} not found")
        result = service.store.result(analysis_id)
        if result is None:
            return JSONResponse(Pending(id=analysis_id, status="pending").model_dump(), status_code=202)
        return public_record(meta, result)

    @app.get(
        "/v1/artifacts/{analysis_id}/{path:path}",
        dependencies=guarded,
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}, "image/gif": {}, "image/jpeg": {}}}, **_problems(401, 404)},
    )
    def artifact(analysis_id: str, path: str) -> FileResponse:
        """A file of one analysis: only those its record lists."""
        found = service.store.artifact(analysis_id, path)
        if found is None:
            raise HTTPException(404, "no such artifact of this analysis")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return FileResponse(found, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @app.post(
        "/v1/sessions",
        response_model=SessionInfo,
        status_code=201,
        dependencies=guarded,
        responses=_problems(400, 401, 404, 409, 422, 503),
    )
    async def open_session(body: SessionCreate) -> SessionInfo:
        """Open a dialog about a finished analysis."""
        try:
            session = await run_in_threadpool(service.sessions.open, body.analysis)
        except SessionError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        stored = service.session_db.get(session.id)
        return _session_info(stored) if stored is not None else SessionInfo(id=session.id, analysis=session.analysis)

    @app.get("/v1/sessions", response_model=list[SessionInfo], dependencies=guarded, responses=_problems(401, 422))
    def sessions(
        analysis: Annotated[str | None, Query(max_length=64, description="only sessions about this analysis")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    ) -> list[SessionInfo]:
        """Stored dialog sessions, the most recently used first (also those opened before a restart)."""
        return [_session_info(s) for s in service.session_db.sessions(limit, analysis)]

    @app.get(
        "/v1/sessions/{session_id}",
        response_model=SessionDetail,
        dependencies=guarded,
        responses=_problems(401, 404),
    )
    def session_detail(session_id: str) -> SessionDetail:
        """One stored session and its conversation."""
        stored = service.session_db.get(session_id)
        if stored is None:
            raise HTTPException(404, f"session {session_id!r} not found (never opened, or expired); open a new one")
        messages = [MessageRecord(**dataclasses.asdict(m)) for m in service.session_db.messages(session_id)]
        return SessionDetail(**_session_info(stored).model_dump(), messages=messages)

    @app.post(
        "/v1/sessions/{session_id}/messages",
        response_model=MessageOut,
        dependencies=guarded,
        responses={
            200: {
                "description": "the answer as JSON, or streamed when the client accepts text/event-stream: "
                "'token' events ({\"text\": ...}) then one 'message' event (the answer) or one 'error' event",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **_problems(400, 401, 404, 422, 500),
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

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=service.config.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(SecurityHeaders)
    return app


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
