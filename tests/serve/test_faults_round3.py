"""Faults of a real ``forensic serve`` process: killed mid-conversation, a second server on the same folder.

The server runs the built-in weights-free pipeline; it is SIGKILLed (no shutdown code runs) and started again
on the same data folder: every acknowledged turn is there and the conversation continues.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, start_server, stop_server
from .test_api import png_bytes


def test_a_conversation_survives_sigkill_of_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    try:
        with first.client() as client:
            analysis = client.post("/v1/analyze", files={"file": ("a.png", png_bytes(64, 48, 5), "image/png")})
            assert analysis.status_code == 200, analysis.text
            session = client.post("/v1/sessions", json={"analysis": analysis.json()["id"]}).json()["id"]
            answers = [
                client.post(f"/v1/sessions/{session}/messages", json={"content": q}).json()["content"]
                for q in ("Is this image a deepfake?", "How sure is the detector?")
            ]
    finally:
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=60)

    second = start_server(data)
    try:
        with second.client() as client:
            listed = client.get("/v1/sessions").json()
            stored = client.get(f"/v1/sessions/{session}").json()
            more = client.post(f"/v1/sessions/{session}/messages", json={"content": "Why?"})
            after = client.get(f"/v1/sessions/{session}").json()
    finally:
        stop_server(second)
    assert [(s["id"], s["turns"]) for s in listed] == [(session, 2)]
    assert [m["content"] for m in stored["messages"][1::2]] == answers
    assert more.status_code == 200, more.text
    assert after["turns"] == 3 and [m["content"] for m in after["messages"][:4:2]] == [
        "Is this image a deepfake?",
        "How sure is the detector?",
    ]


def test_a_second_server_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    running = start_server(data)
    try:
        forensic = str(Path(sys.executable).with_name("forensic"))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        second = subprocess.run(
            [forensic, "serve", "--port", "0", "--data-dir", str(data)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stop_server(running)
    assert running.process is not None
    assert second.returncode == 2, second.stderr
    assert second.stderr.count("\n") == 1 and f"PID {running.process.pid}" in second.stderr
    assert not (data / ".forensic.lock").exists()  # released when the first server stopped
