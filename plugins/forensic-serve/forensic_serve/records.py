"""An analysis as the API returns it: the report.json record of the input, with artifact paths as URLs.

The record is the journal's, so the API, report.json and ``forensic verify`` agree on every value. Only what
names the server's own disk is changed: ``source`` is the client's file name, ``custody.path`` the generated
upload name, and every artifact path (anywhere in the record) becomes ``/v1/artifacts/{id}/{path}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from forensic_core.report import InputResult
from forensic_serve.store import AnalysisMeta


def artifact_url(analysis_id: str, relative: str) -> str:
    return f"/v1/artifacts/{analysis_id}/{quote(relative, safe='/')}"


def public_record(meta: AnalysisMeta, result: InputResult) -> dict[str, Any]:
    """The API's view of a finished analysis (``id`` is the analysis id; ``input_id`` the journal's id)."""
    data = result.model_dump(mode="json")
    urls = {relative: artifact_url(meta.id, relative) for relative in result.artifacts}
    data = _replace_paths(data, urls)
    data["artifacts"] = {urls[relative]: digest for relative, digest in result.artifacts.items()}
    data["input_id"] = result.id
    data["id"] = meta.id
    data["source"] = meta.filename
    if isinstance(data.get("custody"), dict):
        data["custody"]["path"] = f"uploads/{meta.upload}"
    data["upload"] = {"filename": meta.filename, "media": meta.media, "bytes": meta.bytes, "created": meta.created}
    return data


def _replace_paths(value: Any, urls: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _replace_paths(item, urls) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_paths(item, urls) for item in value]
    if isinstance(value, str):
        return urls.get(value, value)
    return value
