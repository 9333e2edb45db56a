"""Concurrent calls of a pooled component run as one batch (and a failing batch is retried call by call)."""

from __future__ import annotations

import threading
from typing import Any

from forensic_core import ComponentSpec, Detection
from forensic_core.config import load_pipeline
from forensic_serve.batching import Batcher, BatchingPool

TIMEOUT_S = 60


class RecordingDetector:
    """Scores are the item values; the first call waits for ``release`` so that others queue behind it."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def detect(self, items: list[Any]) -> list[Detection]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(TIMEOUT_S)
        if "bad" in items:
            raise ValueError("bad item")
        return [Detection.from_score(float(item)) for item in items]

    def weights_identity(self) -> str:
        return "sha256:abc"


def concurrently(batcher: Batcher, calls: dict[str, list[Any]], first: str, inner: RecordingDetector) -> dict[str, Any]:
    """Run ``calls`` at once: ``first`` enters the component, the others queue, then the component is released."""
    outcome: dict[str, Any] = {}

    def call(name: str) -> None:
        try:
            outcome[name] = [d.score for d in batcher.detect(calls[name])]
        except Exception as exc:
            outcome[name] = exc

    threads = {name: threading.Thread(target=call, args=(name,)) for name in calls}
    threads[first].start()
    assert inner.entered.wait(TIMEOUT_S)
    for name, thread in threads.items():
        if name != first:
            thread.start()
    assert batcher.wait_until(len(calls) - 1, TIMEOUT_S)
    inner.release.set()
    for thread in threads.values():
        thread.join(TIMEOUT_S)
    return outcome


def test_calls_that_arrive_while_busy_run_as_one_batch() -> None:
    inner = RecordingDetector()
    batcher = Batcher(inner, "detect")
    outcome = concurrently(batcher, {"a": [0.1], "b": [0.2, 0.3], "c": [0.4]}, "a", inner)
    assert outcome == {"a": [0.1], "b": [0.2, 0.3], "c": [0.4]}
    assert inner.calls[0] == [0.1]
    assert len(inner.calls) == 2 and sorted(inner.calls[1]) == [0.2, 0.3, 0.4]
    assert (batcher.batches, batcher.items) == (2, 4)
    assert batcher.weights_identity() == "sha256:abc"  # everything else is the component's own


def test_a_failing_batch_is_retried_call_by_call() -> None:
    inner = RecordingDetector()
    batcher = Batcher(inner, "detect")
    outcome = concurrently(batcher, {"a": [0.1], "b": ["bad"], "c": [0.7]}, "a", inner)
    assert outcome["a"] == [0.1] and outcome["c"] == [0.7]
    assert isinstance(outcome["b"], ValueError)


def test_batches_hold_at_most_max_items() -> None:
    inner = RecordingDetector()
    batcher = Batcher(inner, "detect", max_items=2)
    concurrently(batcher, {"a": [0.1], "b": [0.2], "c": [0.3], "d": [0.4]}, "a", inner)
    assert [len(call) for call in inner.calls] == [1, 2, 1]


def test_explanations_batch_only_for_the_same_detector() -> None:
    seen: list[tuple[int, Any]] = []

    class Explainer:
        def explain(self, items: list[Any], *, detector: Any, detections: Any) -> list[Any]:
            seen.append((len(items), detector))
            return [f"{item}:{detector}" for item in items]

    batcher = Batcher(Explainer(), "explain")
    # one queue holding requests for two detectors: two calls, each with the items of its own detector
    import contextvars

    from forensic_core.engine.batching import _Call

    def request(item: int, detector: str) -> _Call:
        options = {"detector": detector, "detections": None}
        return _Call([item], options, item, False, contextvars.copy_context())

    requests = [request(1, "x"), request(2, "y"), request(3, "x")]
    batcher.queue = list(requests)
    taken = batcher._take()
    assert taken == [requests[0], requests[2]]
    batcher._run(taken)
    assert requests[0].results == ["1:x"] and requests[2].results == ["3:x"] and seen == [(2, "x")]


class OneFace:
    def detect_faces(self, image: Any) -> list[Any]:
        return []


def test_the_pool_wraps_batch_components_only(forensic_registry: Any, register_plugin: Any) -> None:
    from forensic_core import hookimpl

    class Plugin:
        @staticmethod
        @hookimpl
        def forensic_register_detectors() -> list[ComponentSpec]:
            return [ComponentSpec("recording", "records calls", factory=lambda settings, context: RecordingDetector())]

        @staticmethod
        @hookimpl
        def forensic_register_face_detectors() -> list[ComponentSpec]:
            return [ComponentSpec("noface", "finds none", factory=lambda settings, context: OneFace())]

    register_plugin(Plugin, name="recording-plugin")
    pipeline = load_pipeline({"faces": "noface", "detectors": ["recording"]}, forensic_registry)
    pool = BatchingPool(max_items=8)
    detector = pool.get(pipeline.detectors[0])
    assert pipeline.faces is not None
    faces = pool.get(pipeline.faces)
    assert isinstance(detector.instance, Batcher) and detector.lock is None  # the batcher serialises its calls
    assert detector.weights() == "sha256:abc"
    assert detector.instance.max_items == 8
    assert isinstance(faces.instance, OneFace) and faces.lock is not None  # one image per call: not batched
    assert [label for label, _ in pool.batchers()] == ["detectors:recording"]
