"""Routes over the analyses: the components a pipeline can name, uploads analysed, their records and files."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from forensic_core.pool import one_line
from forensic_serve.jobs import QueueFull
from forensic_serve.records import public_record
from forensic_serve.schemas import (
    AnalysisRecord,
    ComponentInfo,
    Pending,
    Problem,
)
from forensic_serve.service import Service
from forensic_serve.uploads import UploadRejected


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` naming the one-line problem bodies of ``codes``."""
    return {code: {"model": Problem} for code in codes}


def component_routes(service: Service, guarded: list[Any]) -> APIRouter:
    """``/v1/components``: what pipelines can name."""
    router = APIRouter()

    @router.get("/v1/components", response_model=list[ComponentInfo], dependencies=guarded, responses=problems(401))
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

    return router


def analysis_routes(service: Service, guarded: list[Any]) -> APIRouter:
    """``/v1/analyze``, ``/v1/analyses/{id}`` and ``/v1/artifacts/{id}/{path}``."""
    router = APIRouter()

    @router.post(
        "/v1/analyze",
        response_model=AnalysisRecord,
        dependencies=guarded,
        responses=problems(400, 401, 413, 415, 422, 429, 503),
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

    @router.get(
        "/v1/analyses/{analysis_id}",
        response_model=AnalysisRecord,
        dependencies=guarded,
        responses={202: {"model": Pending}, **problems(401, 404)},
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

    @router.get(
        "/v1/artifacts/{analysis_id}/{path:path}",
        dependencies=guarded,
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}, "image/gif": {}, "image/jpeg": {}}}, **problems(401, 404)},
    )
    def artifact(analysis_id: str, path: str) -> FileResponse:
        """A file of one analysis: only those its record lists."""
        found = service.store.artifact(analysis_id, path)
        if found is None:
            raise HTTPException(404, "no such artifact of this analysis")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return FileResponse(found, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    return router
