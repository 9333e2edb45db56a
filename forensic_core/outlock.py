"""One owner per output folder: an OS file lock on ``OUTDIR/.forensic.lock`` held for the whole run.

Two runs writing one journal would interleave their lines and each --overwrite the other's files, so a run takes
an exclusive ``flock`` on the lock file before it touches anything in the folder and keeps it until the report is
written. The file holds the holder's PID, start time and command, so a refused run can say whom it waits for.

The kernel drops a ``flock`` when its process ends, however it ends (SIGKILL, crash, power loss on a local file
system): a lock file left behind by a killed run is therefore stale exactly when it can be locked again, and is
taken over (a note names the dead holder). PIDs are never trusted on their own, so a reused PID cannot keep a
folder busy. ``fcntl`` exists on Linux and macOS only; on other systems :func:`locked_outdir` raises a clear
error instead of running unguarded. ``flock`` over NFS depends on the server (Linux emulates it with POSIX locks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from forensic_core.errors import OutputError
from forensic_core.journal import LOCK, check_outdir, remove_run

log = logging.getLogger("forensic_core.outlock")
_ATTEMPTS = 20


@dataclass
class OutdirLock:
    """A held lock on one output folder; ``took_over`` describes a stale holder it replaced (or is None)."""

    outdir: Path
    handle: IO[str] | None
    took_over: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.outdir / LOCK

    def release(self) -> None:
        """Remove the lock file, then drop the lock (unlinking first: a waiter that opened the old file sees it
        is gone and retries on a fresh one instead of sharing a lock with a newcomer)."""
        if self.handle is None:
            return
        with contextlib.suppress(OSError):
            if _same_file(self.handle, self.path):
                self.path.unlink()
        self.handle.close()
        self.handle = None

    def __enter__(self) -> OutdirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_info(command: str | None = None) -> dict[str, Any]:
    """What the lock file says about this process."""
    return {
        "pid": os.getpid(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]),
    }


def acquire(outdir: Path, *, command: str | None = None) -> OutdirLock:
    """Lock the existing folder ``outdir`` or raise :class:`OutputError` (exit 2, one line) naming the live holder."""
    import fcntl

    path = Path(outdir) / LOCK
    for _attempt in range(_ATTEMPTS):
        try:
            handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run, closed in release()
        except OSError as exc:
            raise OutputError(f"{path}: cannot create the output folder's lock: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle)
            handle.close()
            raise OutputError(busy_message(Path(outdir), holder)) from None
        if not _same_file(handle, path):  # the holder released (and removed) it between our open and flock
            handle.close()
            time.sleep(0.001)
            continue
        previous = _read(handle)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_info(command)) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        lock = OutdirLock(Path(outdir), handle, took_over=previous or None)
        if previous:
            log.warning(
                "note: %s: took over a stale lock of PID %s (started %s), which ended without releasing it",
                outdir,
                previous.get("pid", "?"),
                previous.get("started", "?"),
            )
        return lock
    raise OutputError(f"{path}: the lock keeps changing hands; another run is starting in this folder, try again")


def busy_message(outdir: Path, holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "unknown")
    since = f" since {holder['started']}" if holder.get("started") else ""
    what = f" ({holder['command']})" if holder.get("command") else ""
    return (
        f"{outdir}: another run is writing into this folder (PID {pid}{what}{since}); wait for it to finish, "
        "stop it, or choose another -o"
    )


@contextlib.contextmanager
def locked_outdir(outdir: Path, *, resume: bool, overwrite: bool, command: str | None = None) -> Iterator[OutdirLock]:
    """Check the output folder, lock it, then (``overwrite``) clear the earlier run: all while no one else can
    write there. The lock is held until the block ends."""
    if sys.platform == "win32":  # pragma: no cover - the project supports Linux and macOS
        raise OutputError(f"{outdir}: output folder locks need fcntl (Linux or macOS); this system has none")
    check_outdir(outdir, resume=True, overwrite=False)  # the folder exists and is writable: it can be locked
    with acquire(outdir, command=command) as lock:
        check_outdir(outdir, resume=resume, overwrite=overwrite)  # what is in it, now that no one else writes
        if overwrite:
            remove_run(outdir)
        yield lock


@contextlib.contextmanager
def held(outdir: Path, *, command: str | None = None) -> Iterator[OutdirLock]:
    """Create ``outdir`` if needed and hold its lock for the block (commands that write more than a run's
    journal into a folder, e.g. ``forensic eval``)."""
    try:
        Path(outdir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{outdir}: cannot create the output folder: {exc.strerror or exc}; choose another -o"
        ) from None
    with acquire(outdir, command=command) as lock:
        yield lock


def _read(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {"pid": "unknown (unreadable lock file)"}
    return data if isinstance(data, dict) else {}


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        mine, named = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)
