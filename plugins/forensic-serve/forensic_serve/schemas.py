"""Request and response bodies of the API (they make the OpenAPI schema at /openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from forensic_core.report import InputResult, MessageRecord


class Problem(BaseModel):
    """Every error: one line saying what is wrong and what to do."""

    detail: str = Field(description="what went wrong, in one line")


class Health(BaseModel):
    status: str = Field(description="'ok' once the components are built")
    version: str = Field(description="forensic-serve version")
    pipeline: str = Field(description="the pipeline file the server analyses with, or (default)")
    queue: int = Field(description="analyses running or waiting")
    capacity: int = Field(description="analyses that may run or wait before new ones get 429")
    dialog: bool = Field(description="whether /v1/sessions is available")
    batches: dict[str, BatchStats] = Field(description="per pooled component (role:label): calls and items")


class BatchStats(BaseModel):
    calls: int = Field(description="calls made to the component since start-up")
    items: int = Field(description="items those calls held (items / calls: the mean batch)")


class ComponentInfo(BaseModel):
    kind: str = Field(description="detector, localizer, explainer, dialog, face_detector, engine, dataset")
    name: str = Field(description="the name pipelines use")
    qualified_name: str = Field(description="plugin-distribution:name")
    plugin: str = Field(description="distribution that registered it")
    version: str = Field(description="version of that distribution")
    summary: str = Field(description="one line")
    scope: str = Field(description="image or faces")
    requires: str = Field(description="heavy dependencies it imports when built")
    settings: dict[str, Any] = Field(description="JSON Schema of its settings")


class UploadInfo(BaseModel):
    filename: str = Field(description="the client's file name (data, never a path)")
    media: str = Field(description="image or video, detected from the bytes")
    bytes: int = Field(description="size of the upload")
    created: str = Field(description="when it was received (UTC)")


class AnalysisRecord(InputResult):
    """The input's record of report.json; ``id`` is the analysis id, artifact paths are URLs."""

    model_config = ConfigDict(extra="forbid")
    input_id: str | None = Field(None, description="the journal's stable input id")
    upload: UploadInfo = Field(description="what was uploaded")


class Pending(BaseModel):
    id: str = Field(description="analysis id")
    status: str = Field(description="'pending': queued or running")


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    analysis: str = Field(description="id of a finished analysis", min_length=1, max_length=64)


class SessionInfo(BaseModel):
    id: str = Field(description="session id, for /v1/sessions/{id}/messages")
    analysis: str = Field(description="the analysis the session talks about")
    created: str | None = Field(None, description="when the session was opened (UTC, ISO 8601)")
    updated: str | None = Field(None, description="when it was last used (UTC, ISO 8601)")
    turns: int = Field(0, description="questions answered so far")


class SessionDetail(SessionInfo):
    """A stored session with its conversation (questions and answers in order)."""

    messages: list[MessageRecord] = Field(description="the conversation, oldest first")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(description="the question", min_length=1, max_length=4000)


class MessageOut(MessageRecord):
    """The assistant's answer with its citations, the follow-up analysis run for it and the backend."""
