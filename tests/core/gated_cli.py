"""``forensic`` with a test plugin whose detector can be held at one input: for signal and kill tests.

Run as a script: ``python gated_cli.py run ...``. With ``GATE_AT=<file name>`` and ``GATE_DIR=<folder>`` set, the
detector writes ``GATE_DIR/reached`` when it gets that input and waits until ``GATE_DIR/go`` exists, so a test
can signal or kill the run at a known point without timing guesses.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from forensic_core import ComponentSpec, Detection, MediaItem, hookimpl
from forensic_core.builtin import __name__ as _builtin_name
from forensic_core.cli import build_cli
from forensic_core.registry import CORE_PLUGIN, Registry, use_registry


class GatedDetector:
    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        gate_at, gate_dir = os.environ.get("GATE_AT"), os.environ.get("GATE_DIR")
        for item in items:
            if gate_at and gate_dir and Path(item.source).name == gate_at:
                Path(gate_dir, "reached").write_text("1")
                deadline = time.monotonic() + 60
                while not Path(gate_dir, "go").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
        return [Detection.from_score(float(i.image.mean()) / 255.0) for i in items]


class GatedPlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [ComponentSpec("gated", "brightness, held at GATE_AT", factory=lambda s, ctx: GatedDetector())]


def main() -> None:
    import importlib
    import sys

    registry = Registry()
    registry.register(importlib.import_module(_builtin_name), CORE_PLUGIN, "test", entry_point="(built-in)")
    registry.register(GatedPlugin(), "gated-plugin", "1.0")
    with use_registry(registry):
        build_cli(registry)(args=sys.argv[1:], prog_name="forensic")


if __name__ == "__main__":
    main()
