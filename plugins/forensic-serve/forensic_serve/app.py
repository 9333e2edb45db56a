"""The ASGI application: routes over a :class:`~forensic_serve.service.Service`.

Errors are one line (``{"detail": ...}``) with the status a client can act on: 400 for a body that is not JSON
or multipart, 401 without the token, 404 for what does not exist, 409 for an analysis not finished yet, 413
over a limit, 415 for what is not an image or video, 422 for a malformed request, 429 when the queue is full,
503 when the pipeline cannot run.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator, Callable
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from forensic_serve import __version__
from forensic_serve.limits import BodyLimit, SecurityHeaders
from forensic_serve.routes_analyses import analysis_routes, component_routes
from forensic_serve.routes_sessions import session_routes
from forensic_serve.schemas import (
    BatchStats,
    Health,
)
from forensic_serve.service import Service

STATIC = Path(str(files("forensic_serve") / "static"))
MULTIPART_SLACK = 64 * 1024
# module level: route signatures are resolved in this module's namespace (postponed annotations)
BEARER = HTTPBearer(auto_error=False, description="the token in the server's token variable, when it is set")


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

    app.include_router(component_routes(service, guarded))
    app.include_router(analysis_routes(service, guarded))

    app.include_router(session_routes(service, guarded))

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=service.config.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(SecurityHeaders)
    return app
