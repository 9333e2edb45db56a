"""``forensic eval`` owns its output folder (a second eval into it exits 2) and honours ``--input-timeout``."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forensic_core import ComponentSpec, Detection, MediaItem, hookimpl
from forensic_core.outlock import acquire

from .conftest import write_image


class HangsOnDark:
    """Brightness; inputs darker than 50 hang in C with the GIL held (ctypes.PyDLL keeps it)."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        if any(float(item.image.mean()) < 50 for item in items):
            ctypes.PyDLL(None).sleep(ctypes.c_uint(120))
        return [Detection.from_score(float(item.image.mean()) / 255.0, 0.5) for item in items]


class HangPlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [ComponentSpec("hangs-on-dark", "hangs on dark images", factory=lambda s, ctx: HangsOnDark())]


def manifest(folder: Path, values: dict[str, int]) -> Path:
    for name, value in values.items():
        write_image(folder / name, value)
    path = folder / "m.csv"
    labels = {name: "fake" if value > 128 else "real" for name, value in values.items()}
    path.write_text("path,label\n" + "".join(f"{name},{labels[name]}\n" for name in values), encoding="utf-8")
    return path


def test_a_second_eval_into_a_busy_folder_exits_2(eval_registry: Any, forensic_cli: Any, tmp_path: Path) -> None:
    data = manifest(tmp_path / "data", {"a.png": 200, "b.png": 60})
    (tmp_path / "out").mkdir()
    with acquire(tmp_path / "out"):
        result = forensic_cli("eval", str(data), "-p", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and f"PID {os.getpid()}" in result.stderr


def test_eval_abandons_a_hanging_sample_at_the_timeout(
    eval_registry: Any, register_plugin: Any, forensic_cli: Any, tmp_path: Path
) -> None:
    register_plugin(HangPlugin(), "hang-plugin", "1.0")
    data = manifest(tmp_path / "data", {"a.png": 200, "b.png": 60, "dark.png": 10})
    (tmp_path / "p.yaml").write_text("detectors: [hangs-on-dark]\n", encoding="utf-8")
    args = ["eval", str(data), "-p", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out"), "--bootstrap", "0"]
    result = forensic_cli(*args, "--input-timeout", "2")
    assert result.exit_code == 1, result.output
    assert "dark.png" in result.stderr and "timed out after 2 s" in result.stderr
    assert "(3 samples, 1 failed)" in result.output
