"""Server behaviour that needs a special set-up: the bounded queue, the token, restarts, loopback, light imports.

In-process servers here run the built-in weights-free pipeline (``warm=False``: nothing is built unless a test
analyses), on loopback sockets chosen by the OS.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from forensic_serve.app import create_app
from forensic_serve.config import ServeConfig, is_loopback
from forensic_serve.jobs import JobQueue, QueueFull
from forensic_serve.service import Service

from .conftest import RunningServer
from .test_api import png_bytes

STATIC = Path(__file__).resolve().parents[2] / "plugins" / "forensic-serve" / "forensic_serve" / "static"


def test_job_queue_holds_workers_plus_queue_size_then_refuses() -> None:
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def work(analysis_id: str) -> None:
        started.set()
        release.wait(timeout=60)
        ran.append(analysis_id)

    jobs = JobQueue(work, workers=1, queue_size=1)
    first = jobs.submit("a")
    assert started.wait(timeout=60)
    second = jobs.submit("b")
    assert jobs.submit("b") is second  # the same analysis is queued once
    with pytest.raises(QueueFull):
        jobs.submit("c")
    release.set()
    first.result(timeout=60)
    second.result(timeout=60)
    assert ran == ["a", "b"]
    assert jobs.load == 0
    jobs.submit("c").result(timeout=60)  # room again
    jobs.close()


def test_full_queue_answers_429(tmp_path: Path, thread_server: Any) -> None:
    service = Service(ServeConfig(data_dir=tmp_path, workers=1, queue_size=0))
    release, started = threading.Event(), threading.Event()

    def blocked(analysis_id: str) -> None:
        started.set()
        release.wait(timeout=60)

    service.jobs = JobQueue(blocked, workers=1, queue_size=0)
    outcome: dict[str, httpx.Response] = {}
    with thread_server(create_app(service, warm=False)) as running:

        def first() -> None:
            with httpx.Client(base_url=running.url, timeout=120) as client:
                outcome["first"] = client.post("/v1/analyze", files={"file": ("a.png", png_bytes(32, 32), "image/png")})

        thread = threading.Thread(target=first)
        thread.start()
        assert started.wait(timeout=60)
        with httpx.Client(base_url=running.url, timeout=120) as client:
            refused = client.post("/v1/analyze", files={"file": ("b.png", png_bytes(32, 32, 1), "image/png")})
        release.set()
        thread.join(timeout=120)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    assert refused.json()["detail"].startswith("busy: ")
    assert outcome["first"].status_code == 503  # the stand-in job wrote no result
    assert len(list((tmp_path / "analyses").iterdir())) == 1  # the refused upload was not kept


def test_bearer_token(tmp_path: Path, thread_server: Any) -> None:
    service = Service(ServeConfig(data_dir=tmp_path, token="s3cret"))
    with thread_server(create_app(service, warm=False)) as running, httpx.Client(base_url=running.url) as client:
        missing = client.get("/v1/components")
        wrong = client.get("/v1/components", headers={"Authorization": "Bearer s3cre"})
        right = client.get("/v1/components", headers={"Authorization": "Bearer s3cret"})
        health = client.get("/healthz")
        schema = client.get("/openapi.json").json()
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "FORENSIC_SERVE_TOKEN" in missing.json()["detail"]
    assert right.status_code == 200 and health.status_code == 200
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_without_token_the_schema_declares_no_security(tmp_path: Path, thread_server: Any) -> None:
    service = Service(ServeConfig(data_dir=tmp_path))
    with thread_server(create_app(service, warm=False)) as running, httpx.Client(base_url=running.url) as client:
        schema = client.get("/openapi.json").json()
    assert "securitySchemes" not in schema.get("components", {})


def test_a_restarted_server_serves_earlier_results(
    server: RunningServer, analysed: dict[str, Any], tmp_path: Path, thread_server: Any
) -> None:
    data = tmp_path / "data"
    shutil.copytree(server.data_dir, data)  # what the first server left on disk, served by a new process's app
    service = Service(ServeConfig(data_dir=data))
    with (
        thread_server(create_app(service, warm=False)) as running,
        httpx.Client(base_url=running.url, timeout=300) as client,
    ):
        again = client.get(f"/v1/analyses/{analysed['id']}")
        heatmap = client.get(analysed["localizations"][0]["heatmap"])
        session = client.post("/v1/sessions", json={"analysis": analysed["id"]}).json()["id"]
        answer = client.post(f"/v1/sessions/{session}/messages", json={"content": "Is it fake?"}).json()
    assert again.status_code == 200 and again.json() == analysed
    assert heatmap.status_code == 200
    assert answer["evidence"][0]["component"] == "kfd"  # the dialog reads the stored findings


def test_unfinished_analyses_are_resumed_at_start(tmp_path: Path) -> None:
    import io

    service = Service(ServeConfig(data_dir=tmp_path))
    meta = service.store.receive(io.BytesIO(png_bytes(64, 48, 2)), "left.png", max_bytes=2**20, max_pixels=10**6)
    assert service.store.result(meta.id) is None
    queued = service.resume_unfinished()
    assert queued == [meta.id]
    service.jobs.submit(meta.id).result(timeout=300)
    result = service.store.result(meta.id)
    service.close()
    assert result is not None and result.status == "ok", result
    assert service.store.unfinished() == []


def test_a_video_upload_is_analysed_frame_by_frame(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    clip = tmp_path / "clip.bin"  # the name says nothing: the container is detected from the bytes
    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for index in range(6):
        frame = np.full((48, 64, 3), 40 * index, dtype=np.uint8)
        frame[10:30, 10 + index : 30 + index] = 255
        writer.write(frame)
    writer.release()
    (tmp_path / "clip.mp4").rename(clip)
    service = Service(ServeConfig(data_dir=tmp_path / "data"))
    with open(clip, "rb") as handle:
        meta = service.store.receive(handle, "clip.bin", max_bytes=2**20, max_pixels=10**6)
    assert meta.media == "video" and meta.upload.endswith(".mp4")
    service.jobs.submit(meta.id).result(timeout=300)
    result = service.store.result(meta.id)
    service.close()
    assert result is not None and result.status == "ok", result
    assert result.media == "video" and len(result.frames) > 1


def test_loopback_only_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")
    forensic = str(Path(sys.executable).with_name("forensic"))
    refused = subprocess.run(
        [forensic, "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    import forensic_serve.command as command

    class Bound(Exception):
        pass

    def no_bind(host: str, port: int) -> Any:
        raise Bound(host)

    monkeypatch.setattr(command, "bind", no_bind)
    monkeypatch.delenv("FORENSIC_SERVE_TOKEN", raising=False)
    with pytest.raises(Bound):
        command.serve.main(["--host", "0.0.0.0", "--allow-remote", "--data-dir", str(tmp_path)], standalone_mode=False)
    warning = capsys.readouterr().err
    assert "warning: binding 0.0.0.0" in warning and "no token is set" in warning


def test_the_command_definition_is_light() -> None:
    probe = (
        "import sys; from forensic_core.cli.base import cli; import forensic_serve.plugin as p; "
        "p.forensic_add_commands(cli); assert 'serve' in cli.commands; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'fastapi', 'uvicorn', 'starlette', 'torch'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_page_never_writes_html_from_strings() -> None:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script>[^<]", page), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"
