"""What travels between the driver and the analysis actors: Arrow rows, one per input, JSON plus raw bytes.

An input row holds the serialised :class:`~forensic_core.engine.InputRef`. An output row holds what happened
to it (``kind``), the result or error as JSON (``record``), the artifacts the worker collected (``files``:
relative path -> bytes, packed without copying through JSON) and, on the first row of every batch, the
components' provenance (the driver records it before writing the first result).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from forensic_core.engine import InputRef

Kind = Literal["result", "skipped", "start-failed", "fatal"]
OUTPUT_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("record", pa.large_string()),
        ("files", pa.large_binary()),
        ("provenance", pa.large_string()),
    ]
)
_LENGTH = struct.Struct("<II")


def input_rows(refs: Sequence[InputRef]) -> list[dict[str, str]]:
    return [{"ref": json.dumps(ref.as_dict())} for ref in refs]


def ref_of(text: str) -> InputRef:
    return InputRef.from_dict(json.loads(text))


@dataclass(frozen=True)
class OutputRow:
    kind: Kind
    record: dict[str, Any]
    files: dict[str, bytes]
    provenance: list[dict[str, Any]] | None


def pack_files(files: Mapping[str, bytes]) -> bytes:
    """``files`` as one byte string: for each file, two little-endian lengths, the UTF-8 path, the data."""
    parts: list[bytes] = []
    for path, data in files.items():
        name = path.encode("utf-8")
        parts += [_LENGTH.pack(len(name), len(data)), name, data]
    return b"".join(parts)


def unpack_files(packed: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    offset = 0
    view = memoryview(packed)
    while offset < len(packed):
        name_length, data_length = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        name = bytes(view[offset : offset + name_length]).decode("utf-8")
        offset += name_length
        files[name] = bytes(view[offset : offset + data_length])
        offset += data_length
    return files


def output_table(rows: Sequence[tuple[Kind, dict[str, Any], Mapping[str, bytes]]], provenance: str) -> pa.Table:
    """One batch's output; the provenance goes on its first row only."""
    return pa.table(
        {
            "kind": [kind for kind, _, _ in rows],
            "record": [json.dumps(record) for _, record, _ in rows],
            "files": [pack_files(files) for _, _, files in rows],
            "provenance": [provenance if index == 0 else "" for index in range(len(rows))],
        },
        schema=OUTPUT_SCHEMA,
    )


def output_rows(table: pa.Table) -> list[OutputRow]:
    rows = []
    for row in table.to_pylist():
        provenance = json.loads(row["provenance"]) if row["provenance"] else None
        rows.append(OutputRow(row["kind"], json.loads(row["record"]), unpack_files(row["files"]), provenance))
    return rows
