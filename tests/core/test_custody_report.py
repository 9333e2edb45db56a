"""Chain of custody (hashes, forensic verify), the HTML index for large runs, progress, and odd inputs."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from forensic_core import MediaItem, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.events import TerminalObserver
from forensic_core.runner import run_pipeline


def images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{index:02d}.png"
        Image.fromarray(np.full((6, 6, 3), 10 * index, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_results_record_the_input_and_artifact_hashes(fake_registry, tmp_path):
    (path,) = images(tmp_path / "in", 1)
    pipeline = load_pipeline({"detectors": ["brightness"], "localizers": ["bright-map"]}, fake_registry)
    result = run_pipeline(pipeline, fake_registry, [path], tmp_path / "out").results[0]
    assert result.custody is not None
    assert result.custody.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (result.custody.relpath, result.custody.size) == ("00.png", path.stat().st_size)
    assert result.artifacts and all(
        hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() == digest
        for name, digest in result.artifacts.items()
    )


def test_verify_reports_changed_and_missing_files(forensic_cli, fake_registry, tmp_path):
    first, second = images(tmp_path / "in", 2)
    (tmp_path / "p.yaml").write_text("detectors: [brightness]\nlocalizers: [bright-map]\n")
    out = tmp_path / "out"
    assert forensic_cli("run", "-p", str(tmp_path / "p.yaml"), str(tmp_path / "in"), "-o", str(out)).exit_code == 0
    clean = forensic_cli("verify", str(out))
    assert clean.exit_code == 0 and "changed" not in clean.output and "verified" in clean.output
    report = json.loads((out / "report.json").read_text())
    heatmap = out / report["results"][0]["localizations"][0]["heatmap"]
    heatmap.write_bytes(heatmap.read_bytes() + b"tampered")
    second.unlink()
    checked = forensic_cli("verify", str(out))
    assert checked.exit_code == 1
    assert f"changed: artifact {heatmap.relative_to(out).as_posix()}" in checked.output
    assert "absent: input" in checked.output and second.name in checked.output
    first.write_bytes(first.read_bytes() + b"x")
    assert f"changed: input {first.resolve()}" in forensic_cli("verify", str(out)).output
    nothing = forensic_cli("verify", str(tmp_path))
    assert nothing.exit_code == 2 and "no run to verify" in nothing.stderr


def test_large_runs_get_an_index_page_linking_one_page_per_input(fake_registry, tmp_path, monkeypatch):
    import forensic_core.html_report as html_report

    monkeypatch.setattr(html_report, "SINGLE_PAGE_MAX_INPUTS", 2)
    images(tmp_path / "in", 3)
    pipeline = load_pipeline({"detectors": ["brightness"], "localizers": ["bright-map"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    index = (tmp_path / "out" / "report.html").read_text()
    pages = sorted((tmp_path / "out" / "pages").glob("*.html"))
    assert len(pages) == 3
    for page in pages:
        assert f"href='pages/{page.name}'" in index
        assert "data:image/" in page.read_text()
    assert "data:image/" not in index and "id='filter'" in index and "data-sort" in index
    assert index.count("<tr data-label=") == 3
    assert all(f"{r.detections[0].score:.6f}" in index for r in outcome.results)


def test_explainer_maps_are_shown_in_the_html(fake_registry, tmp_path):
    images(tmp_path / "in", 1)
    pipeline = load_pipeline({"detectors": ["brightness"], "explainers": ["saliency"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "saliency: saliency" in html


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_silence_on_a_pipe(fake_registry, tmp_path):
    images(tmp_path / "in", 3)
    (tmp_path / "in" / "broken.png").write_bytes(b"not an image")
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    tty, pipe, lines = FakeTTY(), io.StringIO(), []
    run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "a", observer=TerminalObserver(stream=tty))
    run_pipeline(
        pipeline,
        fake_registry,
        [tmp_path / "in"],
        tmp_path / "b",
        observer=TerminalObserver(stream=pipe, echo=lines.append),
    )
    drawn = tty.getvalue()
    assert "4/4" in drawn and "errors=1" in drawn and "input/s" in drawn
    assert pipe.getvalue() == "" and len(lines) == 4 and any("broken.png: error:" in line for line in lines)


def test_a_fifo_in_a_folder_is_refused_and_the_batch_goes_on(fake_registry, tmp_path):
    images(tmp_path / "in", 1)
    os.mkfifo(tmp_path / "in" / "pipe.png")
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in", tmp_path / "in" / "pipe.png"], tmp_path / "out")
    errors = [r for r in outcome.results if r.status == "error"]
    assert outcome.summary.ok == 1 and len(errors) == 1
    assert "FIFO" in (errors[0].error or "") and "without opening" in (errors[0].error or "")


class NpyOpener:
    @hookimpl
    def forensic_media_suffixes(self):
        return [".npy"]

    @hookimpl
    def forensic_open_media(self, path, frames, max_pixels):
        if path.suffix != ".npy":
            return None
        return [MediaItem(image=np.load(path).astype(np.uint8), source=str(path))]

    @hookimpl
    def forensic_register_detectors(self):
        return []


def test_a_plugin_media_suffix_is_analysed_inside_a_folder(fake_registry, tmp_path):
    fake_registry.register(NpyOpener(), "npy-plugin")
    images(tmp_path / "in", 1)
    np.save(tmp_path / "in" / "array.npy", np.full((5, 5, 3), 200, np.uint8))
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    outcome = run_pipeline(pipeline, fake_registry, [tmp_path / "in"], tmp_path / "out")
    assert sorted(Path(r.source).name for r in outcome.results) == ["00.png", "array.npy"]
    assert all(r.status == "ok" for r in outcome.results)
