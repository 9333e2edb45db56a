"""Dialog sessions on disk: ``DATA/sessions.sqlite3`` (the standard library's SQLite, write-ahead log).

An analyst's questions and answers must outlive the server process like the analyses do. Every turn (the
question and its answer) is one transaction, committed with ``synchronous=FULL`` before the reply is sent: an
acknowledged answer is on disk, an answer lost in a crash was never acknowledged. WAL lets readers go on while a
writer commits and several writers (threads, or two server processes on one data folder) queue on SQLite's
lock (``busy_timeout``) instead of failing.

Retention (the operator's bound on disk and on what is kept about people's questions): at most ``max_sessions``
sessions and none idle longer than ``max_age_s``; the least recently used go first. Eviction runs when a session
is opened and when the server starts. A session whose analysis was removed is dropped when it is next used.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forensic_core.results import Message

FILENAME = "sessions.sqlite3"
BUSY_TIMEOUT_MS = 30_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    analysis TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated);
CREATE TABLE IF NOT EXISTS messages (
    session TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '[]',
    actions TEXT NOT NULL DEFAULT '[]',
    backend TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (session, seq)
);
"""


class SessionGone(Exception):
    """The session is not (or no longer) stored: never opened, evicted by retention, or its analysis removed."""


@dataclass(frozen=True)
class StoredSession:
    id: str
    analysis: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class StoredMessage:
    """One message as stored; ``evidence`` and ``actions`` are JSON data."""

    role: str
    content: str
    evidence: list[dict[str, Any]]
    actions: list[str]
    backend: str | None = None


class SessionDB:
    """The session store of one data folder; safe to use from many threads (one connection per thread)."""

    def __init__(self, path: Path, *, max_sessions: int = 10_000, max_age_s: float | None = None) -> None:
        self.path = Path(path)
        self.max_sessions = max_sessions
        self.max_age_s = max_age_s
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript(SCHEMA)  # idempotent; executescript commits on its own

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so two writers never both read the same
        next message number."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def create(self, session_id: str, analysis: str) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (session_id, analysis, now, now))
            self._evict(db, now, keep=session_id)

    def append(self, session_id: str, messages: Sequence[StoredMessage]) -> None:
        """Store one turn, all or nothing; raise :class:`SessionGone` when the session is not stored."""
        now = time.time()
        with self._transaction() as db:
            touched = db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id)).rowcount
            if not touched:
                raise SessionGone(session_id)
            (last,) = db.execute(
                "SELECT COALESCE(MAX(seq), -1) FROM messages WHERE session = ?", (session_id,)
            ).fetchone()
            db.executemany(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        session_id,
                        last + 1 + index,
                        m.role,
                        m.content,
                        json.dumps(m.evidence),
                        json.dumps(m.actions),
                        m.backend,
                        now,
                    )
                    for index, m in enumerate(messages)
                ],
            )

    def get(self, session_id: str) -> StoredSession | None:
        row = self._connection().execute(_SELECT + " WHERE s.id = ? GROUP BY s.id", (session_id,)).fetchone()
        return StoredSession(*row) if row is not None else None

    def sessions(self, limit: int = 100, analysis: str | None = None) -> list[StoredSession]:
        """The most recently used sessions first (of one analysis when ``analysis`` is given)."""
        where, args = (" WHERE s.analysis = ?", (analysis,)) if analysis else ("", ())
        query = _SELECT + where + " GROUP BY s.id ORDER BY s.updated DESC, s.id LIMIT ?"
        return [StoredSession(*row) for row in self._connection().execute(query, (*args, limit))]

    def messages(self, session_id: str) -> list[StoredMessage]:
        rows = self._connection().execute(
            "SELECT role, content, evidence, actions, backend FROM messages WHERE session = ? ORDER BY seq",
            (session_id,),
        )
        return [StoredMessage(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4]) for r in rows]

    def delete(self, session_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def evict(self) -> int:
        """Apply the retention policy now; the number of sessions removed."""
        with self._transaction() as db:
            return self._evict(db, time.time())

    def _evict(self, db: sqlite3.Connection, now: float, keep: str = "") -> int:
        removed = 0
        if self.max_age_s is not None:
            cut = now - self.max_age_s
            removed += db.execute("DELETE FROM sessions WHERE updated < ? AND id != ?", (cut, keep)).rowcount
        (count,) = db.execute("SELECT COUNT(*) FROM sessions").fetchone()
        if count > self.max_sessions:
            removed += db.execute(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE id != ? ORDER BY updated, id LIMIT ?)",
                (keep, count - self.max_sessions),
            ).rowcount
        return removed

    def connection_mode(self) -> tuple[str, int]:
        """(journal mode, synchronous level) of this thread's connection: ('wal', 2) as configured."""
        db = self._connection()
        return str(db.execute("PRAGMA journal_mode").fetchone()[0]), int(db.execute("PRAGMA synchronous").fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def to_stored(message: Message) -> StoredMessage:
    from forensic_core.dialog import to_record

    record = to_record(message)
    return StoredMessage(record.role, record.content, list(record.evidence), list(record.actions), record.backend)


def from_stored(message: StoredMessage) -> Message:
    """The message as the dialog's history holds it (what the backend sees as the conversation so far)."""
    from forensic_core.results import Message

    return Message(
        message.role,
        message.content,
        evidence=tuple(message.evidence),
        actions=tuple(message.actions),
        backend=message.backend,
    )


_SELECT = (
    "SELECT s.id, s.analysis, s.created, s.updated, COUNT(m.seq) / 2 FROM sessions s "
    "LEFT JOIN messages m ON m.session = s.id"
)
