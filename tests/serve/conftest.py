"""Fixtures for the server tests: one real ``forensic serve`` process per test session (the KFD-tiny + DAAM
pipeline, offline), an analysis of the bundled edited portrait made once, in-process servers on loopback for the
cases that need a special set-up (token, full queue), and one headless Chromium per session."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = Path(__file__).with_name("serve-daam.yaml")
PORTRAIT = ROOT / "examples" / "inputs" / "astronaut_edited.jpg"
START_TIMEOUT_S = 600
MAX_UPLOAD_MB = 1.0
MAX_PIXELS = 1_000_000


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[str] | None = None

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=300, **kwargs)


def portrait() -> Path:
    if not PORTRAIT.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "make_sample.py"), str(PORTRAIT.parent)], check=True, cwd=ROOT
        )
    return PORTRAIT


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> RunningServer:
    """``forensic serve`` on a free loopback port; returns once it printed its address (models loaded)."""
    forensic = str(Path(sys.executable).with_name("forensic"))
    command = [forensic, "serve", "--port", "0", "--data-dir", str(data_dir), *args]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    while True:
        line = lines.get(timeout=START_TIMEOUT_S)
        if line is None:
            raise RuntimeError(f"forensic serve exited ({process.wait()}): {''.join(seen)[-2000:]}")
        seen.append(line)
        if line.startswith("forensic serve: http://"):
            url = line.split()[2].rstrip("/")
            return RunningServer(url=url, data_dir=data_dir, process=process)


def stop_server(server: RunningServer) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The session's server: KFD-tiny + DAAM (every block map), a 1 MiB upload and 1 MP pixel limit."""
    data_dir = tmp_path_factory.mktemp("serve-data")
    running = start_server(
        data_dir,
        "-p",
        str(PIPELINE),
        "--max-upload-mb",
        str(MAX_UPLOAD_MB),
        "--max-pixels",
        str(MAX_PIXELS),
        "--workers",
        "2",
    )
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="session")
def analysed(server: RunningServer) -> dict[str, Any]:
    """The record of one analysis of the edited portrait (made once per session)."""
    with server.client() as client, open(portrait(), "rb") as handle:
        response = client.post("/v1/analyze", files={"file": ("astronaut_edited.jpg", handle, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()


class ThreadServer:
    """A uvicorn server for an app in this process, on a loopback socket chosen by the OS."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        started = self.started = threading.Event()

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                started.set()

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        assert self.started.wait(timeout=START_TIMEOUT_S), "the in-process server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        with contextlib.suppress(OSError):
            self.socket.close()


@pytest.fixture
def thread_server() -> Any:
    """Start an in-process server for an app: ``with thread_server(app) as running: running.url``."""
    return ThreadServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session (Playwright drives it; no browser download), with a fresh
    profile folder."""
    import shutil
    import tempfile

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="forensic-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            viewport={"width": 1280, "height": 1100},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
