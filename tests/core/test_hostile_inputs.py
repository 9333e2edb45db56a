"""Hostile inputs through ``forensic run``: special files, plugin formats in folders, the output folder itself."""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image

from forensic_core import MediaItem, hookimpl


def write_png(path, value=200):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)
    return path


def pipeline(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("detectors: [brightness]\n")
    return path


def results_by_source(outdir):
    return {r["source"]: r for r in json.loads((outdir / "report.json").read_text())["results"]}


def test_a_fifo_among_the_inputs_is_refused_and_the_good_results_are_kept(forensic_cli, fake_registry, tmp_path):
    fifo = tmp_path / "stuck.png"
    os.mkfifo(fifo)
    good = write_png(tmp_path / "good.png")
    folder = tmp_path / "folder"
    write_png(folder / "a.png")
    os.mkfifo(folder / "b.png")
    out = tmp_path / "out"
    result = forensic_cli("run", "-p", str(pipeline(tmp_path)), str(fifo), str(good), str(folder), "-o", str(out))
    assert result.exit_code == 1, result.output
    results = results_by_source(out)
    reason = "not a regular file but a named pipe (FIFO); refused without opening it"
    assert results[str(fifo)]["status"] == "error" and reason in results[str(fifo)]["error"]
    assert results[str(folder / "b.png")]["status"] == "error"
    assert results[str(good)]["status"] == "ok" and results[str(folder / "a.png")]["status"] == "ok"


class NumpyOpener:
    """A third-party format: ``.npy`` arrays, declared through ``forensic_media_suffixes``."""

    @hookimpl
    def forensic_media_suffixes(self):
        return [".npy"]

    @hookimpl
    def forensic_open_media(self, path, frames, max_pixels):
        if path.suffix.lower() != ".npy":
            return None
        return [MediaItem(np.load(path).astype(np.uint8), str(path))]


def test_a_plugin_format_inside_a_folder_is_analysed(forensic_cli, fake_registry, register_plugin, tmp_path):
    assert register_plugin(NumpyOpener(), "numpy-opener").status == "loaded"
    folder = tmp_path / "evidence"
    write_png(folder / "a.png")
    folder.mkdir(exist_ok=True)
    np.save(folder / "b.npy", np.full((8, 8, 3), 51, np.uint8))
    out = tmp_path / "out"
    result = forensic_cli("run", "-p", str(pipeline(tmp_path)), str(folder), "-o", str(out))
    assert result.exit_code == 0, result.output
    results = results_by_source(out)
    assert set(results) == {str(folder / "a.png"), str(folder / "b.npy")}
    assert results[str(folder / "b.npy")]["detections"][0]["score"] == 0.2


def test_a_hostile_file_name_cannot_forge_output_lines(forensic_cli, fake_registry, tmp_path):
    folder = tmp_path / "in"
    write_png(folder / "x.png\nforged.png: brightness 0.01 real\x1b[2K.png")
    out = tmp_path / "out"
    result = forensic_cli("run", "-p", str(pipeline(tmp_path)), str(folder), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert not any(line.startswith("forged.png") for line in result.output.splitlines())
    assert "x.png\\nforged.png: brightness 0.01 real\\x1b[2K.png" in result.output
