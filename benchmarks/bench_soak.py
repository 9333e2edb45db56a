"""Soak test of ``forensic serve`` on loopback: 8 clients for a bounded time, the server restarted halfway.

Each client uploads a scene, opens a dialog session on its analysis and asks questions, now and then reading its
session back, listing sessions or starting over with a new upload, until the time is up (bounded loops: every
client stops by itself at the deadline). Halfway the server is stopped (SIGTERM, or SIGKILL with
``--restart kill``) and started again on the same port and data folder; clients that meet the closed port wait
and retry. At the end every session whose creation was acknowledged before the restart must still be listed,
with at least the turns acknowledged for it, and every acknowledged turn must be stored.

Printed: requests served (2xx), errors (any other answer while the server was up), connection failures (all
during the restart), sessions created before the restart and kept, acknowledged turns and stored turns, and the
restart's downtime.

    python benchmarks/bench_soak.py                 # 60 s, 8 clients, weights-free default pipeline
    python benchmarks/bench_soak.py --duration 20 --restart kill
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import scene  # a sibling benchmark's scene generator

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Is this image a deepfake?", "Which region looks edited?", "How sure is the detector?", "Why?"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(port: int, data_dir: Path, pipeline: str | None) -> subprocess.Popen[str]:
    """``forensic serve`` on 127.0.0.1:port; returns once it printed its address."""
    forensic = str(Path(sys.executable).with_name("forensic"))
    command = [forensic, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    command += ["--workers", "2", "--queue-size", "16"] + (["-p", pipeline] if pipeline else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("forensic serve: http://"):
            threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
            return process
    raise SystemExit(f"the server did not start (exit {process.wait()})")


@dataclass
class Tally:
    """What the clients saw (shared, under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    served: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    connection_failures: int = 0
    refused_while_stopping: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    sessions: dict[str, int] = field(default_factory=dict)  # session id -> acknowledged turns
    before_restart: set[str] = field(default_factory=set)


class Client:
    """One client's bounded loop."""

    def __init__(self, number: int, url: str, deadline: float, tally: Tally, restarted: threading.Event) -> None:
        self.number, self.url, self.deadline, self.tally, self.restarted = number, url, deadline, tally, restarted
        self.session: str | None = None
        self.step = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as http:
            while time.monotonic() < self.deadline:
                self.step += 1
                try:
                    self.once(http)
                except httpx.TransportError as exc:
                    with self.tally.lock:
                        if self.tally.stopping.is_set():
                            self.tally.connection_failures += 1
                        else:
                            self.tally.errors.append(f"connection failed while the server was up: {exc!r}")
                    time.sleep(0.2)

    def once(self, http: httpx.Client) -> None:
        if self.session is None or self.step % 12 == 0:
            body = scene(self.number * 100_000 + self.step, 96)
            analysis = self.call(http, "POST", "/v1/analyze", "analyze", files={"file": ("s.jpg", body, "image/jpeg")})
            if analysis is None:
                return
            opened = self.call(http, "POST", "/v1/sessions", "open", json={"analysis": analysis["id"]})
            if opened is not None:
                self.session = opened["id"]
                with self.tally.lock:
                    self.tally.sessions[self.session] = 0
                    if not self.restarted.is_set():
                        self.tally.before_restart.add(self.session)
            return
        if self.step % 5 == 0:
            self.call(http, "GET", f"/v1/sessions/{self.session}", "read")
        elif self.step % 7 == 0:
            self.call(http, "GET", "/v1/sessions", "list", params={"limit": 20})
        question = QUESTIONS[self.step % len(QUESTIONS)]
        answer = self.call(http, "POST", f"/v1/sessions/{self.session}/messages", "ask", json={"content": question})
        if answer is not None:
            with self.tally.lock:
                self.tally.sessions[self.session] += 1

    def call(self, http: httpx.Client, method: str, path: str, kind: str, **kwargs: object) -> dict | None:
        response = http.request(method, path, **kwargs)  # type: ignore[arg-type]
        with self.tally.lock:
            if response.is_success:
                self.tally.served[kind] += 1
            elif response.status_code == 503 and self.tally.stopping.is_set():
                self.tally.refused_while_stopping += 1  # "shutting down, try again": an answer, not a loss
            else:
                self.tally.errors.append(f"{kind} {response.status_code}: {response.text[:120]}")
        return response.json() if response.is_success else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load in all (default 60)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--restart", choices=["term", "kill"], default="term", help="how the server is stopped")
    parser.add_argument("-p", "--pipeline", help="pipeline YAML (default: the built-in weights-free one)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="forensic-soak-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(port, data_dir, args.pipeline)
    tally, restarted = Tally(), threading.Event()
    began = time.monotonic()
    deadline = began + args.duration
    clients = [Client(n, url, deadline, tally, restarted) for n in range(args.clients)]
    threads = [threading.Thread(target=c.run) for c in clients]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, began + args.duration / 2 - time.monotonic()))

    stopped = time.monotonic()
    tally.stopping.set()
    server.send_signal(signal.SIGKILL if args.restart == "kill" else signal.SIGTERM)
    server.wait(timeout=120)
    with tally.lock:  # from here on sessions count as created after the restart
        restarted.set()
    server = start(port, data_dir, args.pipeline)
    downtime = time.monotonic() - stopped
    time.sleep(0.5)  # connections refused just before the port opened are still being counted
    tally.stopping.clear()
    for thread in threads:
        thread.join(timeout=args.duration + 300)

    with httpx.Client(base_url=url, timeout=120) as http:
        stored = {s["id"]: s["turns"] for s in http.get("/v1/sessions", params={"limit": 1000}).json()}
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)

    kept = [s for s in tally.before_restart if s in stored]
    short = {s: (acked, stored.get(s, 0)) for s, acked in tally.sessions.items() if stored.get(s, 0) < acked}
    served = sum(tally.served.values())
    print(f"soak: {args.clients} clients, {args.duration:g} s, server restarted once ({args.restart}) at half time")
    print(f"requests served: {served} ({', '.join(f'{k} {v}' for k, v in sorted(tally.served.items()))})")
    print(f"errors: {len(tally.errors)}" + (f" (first: {tally.errors[0]})" if tally.errors else ""))
    print(
        f"while restarting: {tally.connection_failures} connection failures, {tally.refused_while_stopping} "
        f"answered 503 (shutting down); downtime {downtime:.1f} s"
    )
    print(f"sessions created before the restart kept: {len(kept)}/{len(tally.before_restart)}")
    acked = sum(tally.sessions.values())
    print(f"acknowledged turns: {acked}; stored: {sum(stored.get(s, 0) for s in tally.sessions)}; short: {len(short)}")
    lost = len(kept) != len(tally.before_restart) or short or tally.errors
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
