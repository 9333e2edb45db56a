"""The REST API of a running ``forensic serve`` (KFD-tiny + DAAM), exercised with a real HTTP client."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from forensic_core.report import InputResult

from .conftest import MAX_PIXELS, RunningServer, portrait


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def flat_png(width: int, height: int) -> bytes:
    """A one-colour PNG: many pixels in few bytes."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(out, format="PNG")
    return out.getvalue()


def raw_get(server: RunningServer, target: str) -> int:
    """GET ``target`` exactly as written (no client-side normalisation of dots or escapes); the status code."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_healthz_and_openapi(server: RunningServer) -> None:
    with server.client() as client:
        health = client.get("/healthz").json()
        schema = client.get("/openapi.json").json()
    assert health["status"] == "ok" and health["dialog"] is True
    assert health["pipeline"].endswith("serve-daam.yaml")
    paths = set(schema["paths"])
    assert {"/healthz", "/v1/components", "/v1/analyze", "/v1/sessions", "/v1/sessions/{session_id}/messages"} <= paths
    assert "/v1/artifacts/{analysis_id}/{path}" in paths


def test_components_lists_the_registry(server: RunningServer) -> None:
    with server.client() as client:
        components = client.get("/v1/components").json()
    names = {(c["kind"], c["name"]) for c in components}
    assert {("detector", "kfd"), ("localizer", "kfd"), ("explainer", "daam"), ("dialog", "grounded")} <= names
    daam = next(c for c in components if c["name"] == "daam")
    assert "all_blocks" in daam["settings"]["properties"]


def test_analysis_is_the_report_record_with_artifact_urls(server: RunningServer, analysed: dict[str, Any]) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", analysed["id"])
    assert analysed["source"] == "astronaut_edited.jpg"
    assert analysed["status"] == "ok", analysed["error"]
    record_fields = set(InputResult.model_fields)
    assert record_fields <= set(analysed)
    assert analysed["custody"]["sha256"] == hashlib.sha256(portrait().read_bytes()).hexdigest()
    assert analysed["detections"][0]["component"] == "kfd"
    heatmap = analysed["localizations"][0]["heatmap"]
    assert heatmap.startswith(f"/v1/artifacts/{analysed['id']}/")
    blocks = {name for name in analysed["explanations"][0]["maps"] if name.startswith("daam block")}
    assert blocks == {"daam block 1", "daam block 2", "daam block 3", "daam block 4"}
    with server.client() as client:
        for url, digest in analysed["artifacts"].items():
            response = client.get(url)
            assert response.status_code == 200, url
            assert hashlib.sha256(response.content).hexdigest() == digest  # the bytes the journal recorded
        assert client.get(heatmap).headers["content-type"] == "image/png"


def test_healthz_counts_the_pooled_components_calls(server: RunningServer, analysed: dict[str, Any]) -> None:
    with server.client() as client:
        batches = client.get("/healthz").json()["batches"]
    assert {"detectors:kfd", "localizers:kfd", "localizers:ela", "explainers:daam"} <= set(batches)
    assert all(stats["items"] >= stats["calls"] >= 1 for stats in batches.values()), batches


def test_analysis_is_read_back_from_its_journal(server: RunningServer, analysed: dict[str, Any]) -> None:
    with server.client() as client:
        again = client.get(f"/v1/analyses/{analysed['id']}").json()
    assert again == analysed
    journal = server.data_dir / "analyses" / analysed["id"] / "results.jsonl"
    assert json.loads(journal.read_text().splitlines()[-1])["custody"]["sha256"] == analysed["custody"]["sha256"]


def test_forensic_verify_checks_an_analysis_folder(server: RunningServer, analysed: dict[str, Any]) -> None:
    import subprocess
    import sys
    from pathlib import Path

    forensic = str(Path(sys.executable).with_name("forensic"))
    folder = server.data_dir / "analyses" / analysed["id"]
    checked = subprocess.run([forensic, "verify", str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_artifacts_serve_only_files_of_that_analysis(server: RunningServer, analysed: dict[str, Any]) -> None:
    analysis = analysed["id"]
    heatmap = analysed["localizations"][0]["heatmap"]
    inside = heatmap.split(f"/v1/artifacts/{analysis}/", 1)[1]
    folder = inside.rsplit("/", 1)[0]
    attempts = [
        f"/v1/artifacts/{analysis}/meta.json",
        f"/v1/artifacts/{analysis}/results.jsonl",
        f"/v1/artifacts/{analysis}/report.html",
        f"/v1/artifacts/{analysis}/{folder}/../../meta.json",
        f"/v1/artifacts/{analysis}/{folder}/%2e%2e/%2e%2e/meta.json",
        f"/v1/artifacts/{analysis}/{folder}%2f..%2f..%2fmeta.json",
        f"/v1/artifacts/{analysis}/%2e%2e/%2e%2e/uploads",
        f"/v1/artifacts/{analysis}/..%5c..%5cmeta.json",
        f"/v1/artifacts/{analysis}/%252e%252e/meta.json",
        f"/v1/artifacts/{analysis}//etc/passwd",
        f"/v1/artifacts/{analysis}/{inside}%00.png",
        f"/v1/artifacts/../analyses/{analysis}/meta.json",
        f"/v1/artifacts/{'0' * 32}/{inside}",
        f"/v1/artifacts/..%2f{analysis}/{inside}",
    ]
    statuses = {target: raw_get(server, target) for target in attempts}
    assert all(status in (400, 404) for status in statuses.values()), statuses
    assert raw_get(server, heatmap) == 200


def test_non_images_get_415_with_one_line(server: RunningServer) -> None:
    with server.client() as client:
        text = client.post("/v1/analyze", files={"file": ("notes.txt", b"just some text\n", "text/plain")})
        disguised = client.post("/v1/analyze", files={"file": ("photo.jpg", b"%PDF-1.7 not a jpeg", "image/jpeg")})
        empty = client.post("/v1/analyze", files={"file": ("empty.png", b"", "image/png")})
        missing = client.post("/v1/analyze", data={"other": "x"})
    for response, name in ((text, "notes.txt"), (disguised, "photo.jpg"), (empty, "empty.png")):
        assert response.status_code == 415
        detail = response.json()["detail"]
        assert detail.startswith(f"{name}: ") and "\n" not in detail
    assert missing.status_code == 422
    assert missing.json()["detail"] == "file: Field required; send the image or video as multipart field 'file'"


def test_upload_limits_answer_413(server: RunningServer) -> None:
    big = b"\xff\xd8" + bytes(int(1.2 * 2**20))
    chunks = [bytes(2**16)] * 24  # 1.5 MiB sent chunked, without a Content-Length

    def stream() -> Any:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
        yield from chunks
        yield b"\r\n--b--\r\n"

    side = int(MAX_PIXELS**0.5) + 10
    with server.client() as client:
        declared = client.post("/v1/analyze", files={"file": ("big.jpg", big, "image/jpeg")})
        chunked = client.post(
            "/v1/analyze", content=stream(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        pixels = client.post("/v1/analyze", files={"file": ("wide.png", flat_png(side, side), "image/png")})
    assert declared.status_code == 413 and "limit" in declared.json()["detail"]
    assert chunked.status_code == 413
    assert pixels.status_code == 413
    assert pixels.json()["detail"].startswith(f"wide.png: the image has {side}x{side} pixels")


def test_uploads_are_stored_under_generated_names(server: RunningServer) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/analyze",
            files={"file": ("../../evil <img src=x onerror=alert(1)>.png", png_bytes(48, 40), "image/png")},
        )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["source"] == "evil <img src=x onerror=alert(1)>.png"  # the last path part, kept as data
    names = [path.name for path in (server.data_dir / "uploads").iterdir()]
    assert names and all(re.fullmatch(r"[0-9a-f]{32}\.(jpg|png)", name) for name in names), names
    assert record["custody"]["path"] == f"uploads/{record['id']}.png"
    assert not any(server.data_dir.parent.glob("evil*"))


def test_dialog_answers_as_json_with_citations(server: RunningServer, analysed: dict[str, Any]) -> None:
    with server.client() as client:
        opened = client.post("/v1/sessions", json={"analysis": analysed["id"]})
        assert opened.status_code == 201
        session = opened.json()["id"]
        answer = client.post(f"/v1/sessions/{session}/messages", json={"content": "Is this image a deepfake?"})
    body = answer.json()
    assert answer.status_code == 200 and body["role"] == "assistant" and body["backend"] == "grounded"
    verdict = analysed["detections"][0]
    assert body["evidence"][0]["component"] == "kfd" and body["evidence"][0]["label"] == verdict["label"]
    assert f"{verdict['score']:.2f}" in body["content"]


def test_dialog_streams_server_sent_events(server: RunningServer, analysed: dict[str, Any]) -> None:
    with server.client() as client:
        session = client.post("/v1/sessions", json={"analysis": analysed["id"]}).json()["id"]
        events: list[tuple[str, Any]] = []
        with client.stream(
            "POST",
            f"/v1/sessions/{session}/messages",
            json={"content": "Why? Which blocks of the explainer matter?"},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    events.append((str(name), json.loads(line[len("data: ") :])))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "message" and set(kinds[:-1]) == {"token"}, kinds
    final = events[-1][1]
    streamed = "".join(payload["text"] for kind, payload in events if kind == "token")
    assert streamed.strip() == final["content"].strip()
    assert any(item.get("block") for item in final["evidence"])  # DAAM's blocks are cited for "why"


def test_session_errors(server: RunningServer) -> None:
    with server.client() as client:
        unknown_analysis = client.post("/v1/sessions", json={"analysis": "f" * 32})
        extra_key = client.post("/v1/sessions", json={"analysis": "f" * 32, "shell": "rm -rf /"})
        unknown_session = client.post("/v1/sessions/nope/messages", json={"content": "hello"})
    assert unknown_analysis.status_code == 404 and "not found" in unknown_analysis.json()["detail"]
    assert extra_key.status_code == 422
    assert unknown_session.status_code == 404


def test_security_headers(server: RunningServer, analysed: dict[str, Any]) -> None:
    with server.client() as client:
        page = client.get("/")
        artifact = client.get(analysed["localizations"][0]["heatmap"])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert artifact.headers["content-security-policy"].startswith("default-src 'none'")
