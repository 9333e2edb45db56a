"""The engine's parts without a Ray instance: the ledger's bookkeeping, the row encoding, the pool's size."""

from __future__ import annotations

from typing import Any

import pytest

from forensic_core.engine import InputRef
from forensic_ray import cluster
from forensic_ray.ledger import Admission, Ledger, LedgerStats
from forensic_ray.rows import input_rows, output_rows, output_table, pack_files, ref_of, unpack_files
from forensic_ray.settings import RaySettings


def test_the_ledger_bounds_attempts_keeps_timeouts_and_stops_new_inputs():
    ledger = Ledger(retries=1)
    assert ledger.begin("a") == Admission("go", 1)
    assert ledger.begin("a") == Admission("go", 2)  # its actor died once: retried
    assert ledger.begin("a") == Admission("abandon", 2)  # died again: no third attempt
    assert ledger.begin("b") == Admission("go", 1)
    ledger.record_timeout("b", 3.0)
    assert ledger.begin("b") == Admission("timed-out", 1, 3.0)  # the re-run batch does not analyse it again
    assert ledger.begin("c") == Admission("go", 1)
    assert ledger.begin("c") == Admission("go", 2)
    ledger.stop()
    assert ledger.begin("d") == Admission("skip", 0)
    assert ledger.begin("b").verdict == "timed-out"  # already abandoned: its error is still delivered
    assert ledger.stats() == LedgerStats(retried=1, timed_out=1, abandoned=1)


def test_rows_carry_refs_results_files_and_provenance_unchanged():
    ref = InputRef(id="x1", source="in/é.jpg", path="/data/in/é.jpg", relpath="é.jpg", size=3, mtime_ns=7)
    assert ref_of(input_rows([ref])[0]["ref"]) == ref
    files = {"x1/heat map.png": b"\x89PNG\x00\xff" * 100, "x1/empty.npy": b"", "x1/ü.txt": b"\n"}
    assert unpack_files(pack_files(files)) == files
    table = output_table(
        [("result", {"id": "x1", "status": "ok"}, files), ("skipped", {"id": "x2"}, {})], provenance='[{"a": 1}]'
    )
    first, second = output_rows(table)
    assert (first.kind, first.record, first.files, first.provenance) == (
        "result",
        {"id": "x1", "status": "ok"},
        files,
        [{"a": 1}],
    )
    assert (second.kind, second.files, second.provenance) == ("skipped", {}, None)


def nodes(*resources: dict[str, float], dead: int = 0) -> Any:
    alive = [{"Alive": True, "Resources": r} for r in resources]
    return lambda: alive + [{"Alive": False, "Resources": {"CPU": 64.0}}] * dead


@pytest.mark.parametrize(
    ("settings", "resources", "inputs", "expected"),
    [
        ({}, [{"CPU": 2.0}], 100, 2),  # half of 2 CPUs at 0.5 per actor
        ({}, [{"CPU": 16.0}, {"CPU": 8.0}], 100, 16 + 8),
        ({"cpus_per_actor": 2}, [{"CPU": 16.0}], 100, 4),
        ({"actors_per_node": 3}, [{"CPU": 2.0}, {"CPU": 2.0}], 100, 6),
        ({"gpus_per_actor": 0.5}, [{"CPU": 16.0, "GPU": 2.0}, {"CPU": 8.0}], 100, 4),  # CPU-only nodes get none
        ({"max_actors": 5}, [{"CPU": 64.0}], 100, 5),
        ({}, [{"CPU": 64.0}], 3, 3),  # never more actors than inputs
    ],
)
def test_the_pool_is_sized_from_the_alive_nodes(monkeypatch, settings, resources, inputs, expected):
    monkeypatch.setattr(cluster.ray, "nodes", nodes(*resources, dead=2))
    size = cluster.pool_size(RaySettings(**settings), inputs)
    assert size.actors == expected and size.nodes == len(resources)
