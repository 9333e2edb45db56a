"""The runtime shared by KFD's detector and localizer guards its cache and model against concurrent calls."""

from __future__ import annotations

import threading

from .conftest import face_items


def test_inference_holds_the_shared_runtime_lock(tiny_runtime, monkeypatch):
    held_elsewhere: list[bool] = []
    original = tiny_runtime._run

    def probing_run(items):
        acquired: list[bool] = []
        probe = threading.Thread(target=lambda: acquired.append(tiny_runtime.lock.acquire(blocking=False)))
        probe.start()
        probe.join()
        if acquired[0]:
            tiny_runtime.lock.release()
        held_elsewhere.append(not acquired[0])
        return original(items)

    monkeypatch.setattr(tiny_runtime, "_run", probing_run)
    results = tiny_runtime.analyse(face_items(2), use_cache=False)
    assert len(results) == 2 and held_elsewhere == [True]
