"""Dialog sessions that outlive the server: the SQLite store, its retention, concurrent writers, restarts.

In-process servers run the built-in weights-free pipeline with the ``grounded`` dialog backend.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from forensic_serve.app import create_app
from forensic_serve.config import ServeConfig
from forensic_serve.service import Service
from forensic_serve.sessiondb import SessionDB, SessionGone, StoredMessage

from .test_api import png_bytes


def turn(index: int, who: str = "") -> list[StoredMessage]:
    return [
        StoredMessage("user", f"question {who}{index}", [], []),
        StoredMessage("assistant", f"answer {who}{index}", [{"component": "kfd", "text": "0.9"}], ["zoom"], "b"),
    ]


def test_turns_are_stored_in_order_and_read_back(tmp_path: Path) -> None:
    db = SessionDB(tmp_path / "s.sqlite3")
    db.create("a", "analysis-1")
    db.append("a", turn(0))
    db.append("a", turn(1))
    assert [m.content for m in db.messages("a")] == ["question 0", "answer 0", "question 1", "answer 1"]
    assert db.messages("a")[1] == turn(0)[1]
    stored = db.get("a")
    assert stored is not None and stored.analysis == "analysis-1" and stored.turns == 2
    assert db.connection_mode() == ("wal", 2)  # write-ahead log, synchronous=FULL
    with pytest.raises(SessionGone):
        db.append("never-opened", turn(0))


def test_retention_keeps_the_most_recently_used_sessions(tmp_path: Path) -> None:
    db = SessionDB(tmp_path / "s.sqlite3", max_sessions=3)
    for name in "abc":
        db.create(name, "x")
    db.append("a", turn(0))  # 'a' is used again: 'b' is now the least recently used
    db.create("d", "x")
    assert sorted(s.id for s in db.sessions()) == ["a", "c", "d"]
    assert db.messages("b") == []  # its messages went with it
    with pytest.raises(SessionGone):
        db.append("b", turn(1))


def test_retention_removes_sessions_idle_past_the_age_limit(tmp_path: Path) -> None:
    db = SessionDB(tmp_path / "s.sqlite3", max_age_s=3600)
    db.create("old", "x")
    db.create("new", "x")
    with sqlite3.connect(tmp_path / "s.sqlite3") as raw:
        raw.execute("UPDATE sessions SET updated = updated - 7200 WHERE id = 'old'")
    assert db.evict() == 1
    assert [s.id for s in db.sessions()] == ["new"]


def test_concurrent_threads_lose_no_turn(tmp_path: Path) -> None:
    db = SessionDB(tmp_path / "s.sqlite3")
    db.create("shared", "x")
    errors: list[BaseException] = []

    def writer(who: str) -> None:
        try:
            for index in range(20):
                db.append("shared", turn(index, who))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{n}-",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert_whole_turns(db.messages("shared"), 8 * 20)


WRITER = """
import sys
from forensic_serve.sessiondb import SessionDB, StoredMessage
db = SessionDB(sys.argv[1])
who = sys.argv[2]
for index in range(40):
    db.append("shared", [StoredMessage("user", f"question {who}{index}", [], []),
                         StoredMessage("assistant", f"answer {who}{index}", [], [])])
"""


def test_two_processes_write_one_database(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SessionDB(path).create("shared", "x")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{n}-"]) for n in range(2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert_whole_turns(SessionDB(path).messages("shared"), 2 * 40)


def assert_whole_turns(messages: list[StoredMessage], turns: int) -> None:
    """Every turn stored once, its question right before its answer (no interleaving inside a turn)."""
    assert len(messages) == 2 * turns
    questions = [m.content for m in messages[0::2]]
    assert all(m.role == "user" for m in messages[0::2]) and all(m.role == "assistant" for m in messages[1::2])
    assert [m.content for m in messages[1::2]] == [q.replace("question", "answer") for q in questions]
    assert len(set(questions)) == turns


def analysed_service(data: Path) -> tuple[Service, str]:
    service = Service(ServeConfig(data_dir=data))
    meta = service.store.receive(io.BytesIO(png_bytes(64, 48, 3)), "face.png", max_bytes=2**20, max_pixels=10**6)
    service.jobs.submit(meta.id).result(timeout=300)
    return service, meta.id


def test_a_conversation_continues_after_a_restart(tmp_path: Path, thread_server: Any) -> None:
    service, analysis = analysed_service(tmp_path)
    with thread_server(create_app(service, warm=False)) as running, httpx.Client(base_url=running.url) as client:
        opened = client.post("/v1/sessions", json={"analysis": analysis})
        assert opened.status_code == 201, opened.text
        session = opened.json()["id"]
        first = client.post(f"/v1/sessions/{session}/messages", json={"content": "Is it fake?"})
        assert first.status_code == 200, first.text

    restarted = Service(ServeConfig(data_dir=tmp_path))  # a new process's service over the same folder
    with thread_server(create_app(restarted, warm=False)) as running, httpx.Client(base_url=running.url) as client:
        listed = client.get("/v1/sessions").json()
        detail = client.get(f"/v1/sessions/{session}").json()
        second = client.post(f"/v1/sessions/{session}/messages", json={"content": "Which region?"})
        after = client.get(f"/v1/sessions/{session}").json()
        unknown = client.get("/v1/sessions/" + "0" * 32)
    assert [(s["id"], s["analysis"], s["turns"]) for s in listed] == [(session, analysis, 1)]
    assert [m["content"] for m in detail["messages"]] == ["Is it fake?", first.json()["content"]]
    assert second.status_code == 200, second.text
    history = restarted.sessions.get(session).dialog.history
    assert [m.content for m in history[:2]] == ["Is it fake?", first.json()["content"]]  # reloaded, then continued
    assert len(history) == 4 and after["turns"] == 2
    assert unknown.status_code == 404


def test_an_answer_that_cannot_be_stored_is_not_acknowledged(
    tmp_path: Path, thread_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, analysis = analysed_service(tmp_path)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with thread_server(create_app(service, warm=False)) as running, httpx.Client(base_url=running.url) as client:
        session = client.post("/v1/sessions", json={"analysis": analysis}).json()["id"]
        monkeypatch.setattr(service.session_db, "append", disk_full)
        refused = client.post(f"/v1/sessions/{session}/messages", json={"content": "Is it fake?"})
        monkeypatch.undo()
        stored = client.get(f"/v1/sessions/{session}").json()
    assert refused.status_code == 500 and "disk is full" in refused.json()["detail"]
    assert stored["turns"] == 0 and service.sessions.get(session).dialog.history == []
