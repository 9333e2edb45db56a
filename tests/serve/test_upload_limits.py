"""Oversized bodies: every client gets its 413, also when it sends the whole body before reading (raw sockets).

A server that answers and closes while the client is still sending resets the connection, and the client's
send fails before it reads the answer; the server reads the rest of the body first (within bounds).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forensic_serve.app import create_app
from forensic_serve.config import ServeConfig
from forensic_serve.service import Service

LIMIT = 256 * 1024
BODY = 24 * 2**20  # far more than the loopback socket buffers hold: the client is still sending at the answer


@pytest.fixture
def port(tmp_path: Path, thread_server: Any) -> Iterator[int]:
    service = Service(ServeConfig(data_dir=tmp_path, max_upload_bytes=LIMIT))
    with thread_server(create_app(service, warm=False)) as running:
        yield int(running.url.rsplit(":", 1)[1])


def send_then_read(port: int, *, chunked: bool = False, expect: bool = False) -> str:
    """POST an oversized multipart body with ``Connection: close``, all of it before reading: the status line,
    or what went wrong."""
    head = "POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "Content-Type: multipart/form-data; boundary=XyZ\r\n"
    part = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(part) + BODY}\r\n"
    head += "Expect: 100-continue\r\n" if expect else ""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head.encode() + b"\r\n")
            if expect:
                return sock.makefile("rb").readline().decode().strip()
            chunk = b"\x89" * 65536
            frames = [part, *[chunk] * (BODY // len(chunk))]
            for frame in frames:
                sock.sendall(b"%x\r\n%s\r\n" % (len(frame), frame) if chunked else frame)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError as exc:
            return f"send failed: {exc!r}"
        return sock.makefile("rb").readline().decode().strip()


def test_a_client_sending_everything_first_reads_its_413(port: int) -> None:
    assert send_then_read(port) == "HTTP/1.1 413 Request Entity Too Large"


def test_a_chunked_body_over_the_limit_is_read_out_then_refused(port: int) -> None:
    assert send_then_read(port, chunked=True) == "HTTP/1.1 413 Request Entity Too Large"


def test_a_client_waiting_for_100_continue_is_refused_at_once(port: int) -> None:
    assert send_then_read(port, expect=True) == "HTTP/1.1 413 Request Entity Too Large"


def test_concurrent_oversized_uploads_each_get_413(port: int) -> None:
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(send_then_read(port))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == ["HTTP/1.1 413 Request Entity Too Large"] * 5
