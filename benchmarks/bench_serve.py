"""Load test of ``forensic serve`` on loopback: throughput and latency of POST /v1/analyze with 1 and 4 clients.

Starts the server (its models load once), sends one warm-up request, then for each client count a fixed number
of analyses (bounded: every client sends ``--requests / clients`` uploads, one after the other), and prints
requests per second, median and 95th-percentile latency, the mean items per component call (above 1 where
concurrent analyses were batched), and the 4-client throughput as a ratio of the 1-client one. Uploads are
generated scenes (distinct bytes each, so no two analyses are the same file).

    python benchmarks/bench_serve.py                      # default (weights-free) pipeline, 2 workers
    python benchmarks/bench_serve.py -p tests/serve/serve-daam.yaml --requests 8 --workers 1
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def scene(index: int, size: int) -> bytes:
    """A JPEG of a smooth gradient with a bright square: some structure for the localizers, unique bytes."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:size, 0:size]
    image = np.stack([(x * 255 // size), (y * 255 // size), np.full_like(x, 128)], axis=-1).astype(np.uint8)
    top, left = rng.integers(0, size // 2, 2)
    image[top : top + size // 4, left : left + size // 4] = rng.integers(150, 255, 3, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=90)
    return out.getvalue()


def start(pipeline: str | None, workers: int, data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    forensic = str(Path(sys.executable).with_name("forensic"))
    command = [forensic, "serve", "--port", "0", "--data-dir", str(data_dir), "--workers", str(workers)]
    command += ["--queue-size", "16"] + (["-p", pipeline] if pipeline else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("forensic serve: http://"):
            return process, line.split()[2].rstrip("/")
    raise SystemExit(f"the server did not start (exit {process.wait()})")


def load(url: str, clients: int, requests: int, size: int, offset: int) -> tuple[float, list[float], int]:
    """Wall seconds, per-request latencies and the number of non-200 answers for ``requests`` uploads."""
    per_client = max(1, requests // clients)
    latencies: queue.Queue[tuple[float, int]] = queue.Queue()

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            for step in range(per_client):
                body = scene(offset + number * per_client + step, size)
                began = time.perf_counter()
                response = http.post("/v1/analyze", files={"file": ("scene.jpg", body, "image/jpeg")})
                latencies.put((time.perf_counter() - began, response.status_code))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    results = [latencies.get() for _ in range(latencies.qsize())]
    return wall, [seconds for seconds, _ in results], sum(status != 200 for _, status in results)


def batch_stats(url: str) -> dict[str, dict[str, int]]:
    with httpx.Client(base_url=url, timeout=60) as http:
        return dict(http.get("/healthz").json()["batches"])


def batch_sizes(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean items per component call during one phase (above 1: concurrent analyses were batched)."""
    sizes = {}
    for label, now in after.items():
        then = before.get(label, {"calls": 0, "items": 0})
        calls = now["calls"] - then["calls"]
        if calls:
            sizes[label] = (now["items"] - then["items"]) / calls
    return sizes


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-p", "--pipeline", help="pipeline YAML (default: the built-in weights-free pipeline)")
    parser.add_argument("--requests", type=int, default=12, help="analyses per client count (split over clients)")
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers (analyses at once)")
    parser.add_argument("--size", type=int, default=384, help="side of the generated square images in pixels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        process, url = start(args.pipeline, args.workers, Path(folder))
        try:
            with httpx.Client(base_url=url, timeout=600) as http:  # warm-up (first call paths, caches)
                http.post("/v1/analyze", files={"file": ("warm.jpg", scene(10_000, args.size), "image/jpeg")})
            rows = []
            for number, clients in enumerate((1, 4)):
                before = batch_stats(url)
                wall, latencies, failed = load(url, clients, args.requests, args.size, offset=1000 * number)
                mean_batch = batch_sizes(before, batch_stats(url))
                rows.append((clients, len(latencies), failed, len(latencies) / wall, latencies, mean_batch))
        finally:
            process.terminate()
            process.wait(timeout=60)
    pipeline = args.pipeline or "(default)"
    print(f"forensic serve on loopback: pipeline {pipeline}, --workers {args.workers}, {args.size}px JPEG uploads")
    print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 s':>7} {'p95 s':>7}  items per call")
    for clients, count, failed, rate, latencies, mean_batch in rows:
        median = statistics.median(latencies)
        batches = ", ".join(f"{label} {size:.2f}" for label, size in mean_batch.items())
        print(f"{clients:>7} {count:>8} {failed:>6} {rate:>7.2f} {median:>7.2f} {p95(latencies):>7.2f}  {batches}")
    print(f"throughput with 4 clients / 1 client: {rows[1][3] / rows[0][3]:.2f}x")


if __name__ == "__main__":
    main()
