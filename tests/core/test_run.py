"""Running pipelines: faces mapped back, failures isolated, streaming, videos, dialog, report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensic_core import MediaItem, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.errors import ComponentError
from forensic_core.imaging import load_gray
from forensic_core.runner import run_pipeline


def run(registry, data, inputs, outdir, **kwargs):
    return run_pipeline(load_pipeline(data, registry), registry, [str(i) for i in inputs], Path(outdir), **kwargs)


def test_report_has_contract_fields(fake_registry, gradient_image, tmp_path):
    report = run(
        fake_registry, {"detectors": ["brightness"], "localizers": ["bright-map"]}, [gradient_image], tmp_path / "out"
    )
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    result = data["results"][0]
    assert (result["source"], result["status"], result["error"]) == (str(gradient_image), "ok", None)
    detection = result["detections"][0]
    assert detection["component"] == "brightness" and detection["label"] in ("fake", "real")
    assert detection["score"] == pytest.approx(report.results[0].detections[0].score)
    heatmap = load_gray(str(tmp_path / "out" / result["localizations"][0]["heatmap"]))
    assert heatmap.shape == (60, 80)
    np.testing.assert_allclose(heatmap[:, 0], np.linspace(0, 1, 60), atol=1 / 255 + 1e-6)
    assert result["explanations"] == [] and result["dialog"] == []
    provenance = data["components"]
    assert {(c["component"], c["plugin"], c["version"]) for c in provenance} == {
        ("brightness", "fake-plugin", "1.2.0"),
        ("bright-map", "fake-plugin", "1.2.0"),
    }
    assert provenance[0]["settings"] == {"threshold": 0.5}
    assert (tmp_path / "out" / "report.html").exists()


def test_face_scoped_components_run_on_crops_and_map_back(fake_registry, gradient_image, tmp_path):
    report = run(
        fake_registry,
        {"faces": "fixed-faces", "detectors": ["face-brightness", "brightness"], "localizers": ["face-bright-map"]},
        [gradient_image],
        tmp_path / "out",
    )
    result = report.results[0]
    assert result.faces[0].box == [20, 15, 60, 45]
    face_det, whole_det = result.detections
    # The crop covers rows 15..44 only, so its mean brightness differs from the whole image's.
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(gradient_image))
    assert face_det.score == pytest.approx(image[15:45, 20:60].mean() / 255, abs=1e-6)
    assert whole_det.score == pytest.approx(image.mean() / 255, abs=1e-6)
    assert face_det.faces == [
        {"face_index": 0, "score": pytest.approx(face_det.score, abs=1e-5), "label": face_det.label}
    ]
    heat = load_gray(str(tmp_path / "out" / result.localizations[0].heatmap))
    assert heat.shape == (60, 80)
    assert heat[:15].max() == 0 and heat[:, :20].max() == 0  # outside the crop: nothing
    assert heat[40, 40] > 0.5  # inside: the crop's own map pasted back
    # Regions: the mouth (lower part of the face, brighter rows) has more heat than the forehead.
    assert [r.region for r in result.regions] == ["mouth", "forehead"]
    assert result.localizations[0].layers[0].caption == "face 0: coarse"


def test_no_face_falls_back_to_whole_frame(fake_registry, tmp_path):
    class NoFaces:
        def detect_faces(self, image):
            return []

    from forensic_core import ComponentSpec

    class Plugin:
        @hookimpl
        def forensic_register_face_detectors(self):
            return [ComponentSpec("none", "finds nothing", factory=lambda s, ctx: NoFaces())]

    fake_registry.register(Plugin(), "nofaces")
    from PIL import Image

    Image.fromarray(np.full((10, 12, 3), 51, np.uint8)).save(tmp_path / "flat.png")
    report = run(
        fake_registry, {"faces": "none", "detectors": ["face-brightness"]}, [tmp_path / "flat.png"], tmp_path / "out"
    )
    assert report.results[0].detections[0].score == pytest.approx(0.2)
    assert report.results[0].faces == []


def test_failing_component_is_recorded_and_others_go_on(fake_registry, gradient_image, tmp_path):
    copy = tmp_path / "copy.png"
    copy.write_bytes(gradient_image.read_bytes())
    report = run(fake_registry, {"detectors": ["failing", "brightness"]}, [gradient_image, copy], tmp_path / "out")
    for result in report.results:
        assert result.status == "error"
        assert result.error == "detector 'failing' failed: weights are corrupt"
        assert [d.component for d in result.detections] == ["brightness"]
    assert report.summary.errors == 2


def test_bad_inputs_do_not_stop_the_batch(fake_registry, gradient_image, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8not really a jpeg")
    report = run(
        fake_registry,
        {"detectors": ["brightness"]},
        [corrupt, tmp_path / "missing.png", gradient_image],
        tmp_path / "out",
    )
    statuses = [(Path(r.source).name, r.status) for r in report.results]
    assert statuses == [("corrupt.jpg", "error"), ("missing.png", "error"), ("gradient.png", "ok")]
    assert all(r.error and "\n" not in r.error for r in report.results[:2])
    assert "corrupt.jpg" in report.results[0].error


def test_fail_fast_stops_at_first_failure(fake_registry, gradient_image, tmp_path):
    with pytest.raises(ComponentError):
        run(
            fake_registry,
            {"detectors": ["failing"]},
            [gradient_image, gradient_image],
            tmp_path / "out",
            fail_fast=True,
        )
    # The report of what was done before the failure is still written.
    assert json.loads((tmp_path / "out" / "report.json").read_text())["summary"]["inputs"] == 0


def test_detector_and_localizer_share_via_context(fake_registry, gradient_image, tmp_path):
    from forensic_core.analysis import Analyzer

    pipeline = load_pipeline({"detectors": ["brightness"], "localizers": ["bright-map"]}, fake_registry)
    analyzer = Analyzer(pipeline)
    analyzer.build()
    analyzer.build()
    shared = [v for k, v in analyzer.context.cache.items() if k[0] == "bright"]
    assert len(shared) == 1


def test_explainer_gets_the_detector_and_its_detections(fake_registry, gradient_image, tmp_path):
    report = run(
        fake_registry,
        {"faces": "fixed-faces", "detectors": ["face-brightness"], "explainers": ["saliency"]},
        [gradient_image],
        tmp_path / "out",
    )
    explanation = report.results[0].explanations[0]
    assert explanation.detector == "face-brightness" and explanation.face_index == 0
    assert explanation.text.startswith("explained BrightnessDetector score")
    assert (tmp_path / "out" / explanation.figures[0].path).read_bytes().startswith(b"\x89PNG")


def test_dialog_answers_questions_from_findings(fake_registry, gradient_image, tmp_path):
    report = run(
        fake_registry,
        {
            "faces": "fixed-faces",
            "localizers": ["bright-map"],
            "detectors": ["brightness"],
            "dialog": {"name": "echo", "questions": ["Fake?", "Where?"]},
        },
        [gradient_image],
        tmp_path / "out",
    )
    dialog = report.results[0].dialog
    assert [m.role for m in dialog] == ["user", "assistant", "user", "assistant"]
    assert dialog[3].content.startswith("Where? -> brightness=") and dialog[3].content.endswith("at mouth")


class VideoOpener:
    """Opens '.fakevideo' files as 4 frames of increasing brightness (tests the opener hook too)."""

    @hookimpl
    def forensic_open_media(self, path, frames, max_pixels):
        if path.suffix != ".fakevideo":
            return None
        return [
            MediaItem(np.full((8, 8, 3), v, np.uint8), str(path), frame_index=i, timestamp=i / 10)
            for i, v in enumerate((0, 51, 102, 255))
        ]


@pytest.mark.parametrize(("aggregate", "expected"), [("mean", (0 + 0.2 + 0.4 + 1) / 4), ("max", 1.0), ("median", 0.3)])
def test_video_score_aggregates_frame_scores(fake_registry, tmp_path, aggregate, expected):
    fake_registry.register(VideoOpener(), "video-opener")
    clip = tmp_path / "clip.fakevideo"
    clip.write_bytes(b"")
    report = run(
        fake_registry,
        {"detectors": ["brightness"], "localizers": ["bright-map"], "video": {"aggregate": aggregate}},
        [clip],
        tmp_path / "out",
    )
    result = report.results[0]
    assert result.media == "video" and len(result.frames) == 4
    assert [f.index for f in result.frames] == [0, 1, 2, 3]
    assert result.detections[0].score == pytest.approx(expected, abs=1e-6)
    assert result.detections[0].details["frame_scores"] == pytest.approx([0, 0.2, 0.4, 1], abs=1e-6)
    assert all(f.localizations for f in result.frames)


def test_wrapper_hook_sees_each_input(fake_registry, gradient_image, tmp_path):
    seen = []

    class Custody:
        @hookimpl(wrapper=True)
        def forensic_analyze_input(self, source, analyze):
            seen.append(source)
            result = yield
            result.timings["custody"] = 0.0
            return result

    fake_registry.register(Custody(), "custody")
    report = run(fake_registry, {"detectors": ["brightness"]}, [gradient_image], tmp_path / "out")
    assert seen == [str(gradient_image)] and "custody" in report.results[0].timings


def test_inputs_are_listed_before_analysis_so_progress_has_a_total(fake_registry, tmp_path):
    listed: list[int] = []
    started: list[tuple[int, int]] = []

    def inputs():
        for i in range(3):
            path = tmp_path / f"{i}.png"
            Image.fromarray(np.full((4, 4, 3), i * 40, np.uint8)).save(path)
            listed.append(i)
            yield str(path)

    class Observer:
        def run_started(self, total, resumed):
            started.append((total, len(listed)))

        def input_finished(self, result):
            pass

        def run_finished(self, summary):
            pass

    report = run_pipeline(
        load_pipeline({"detectors": ["brightness"]}, fake_registry),
        fake_registry,
        inputs(),
        tmp_path / "out",
        observer=Observer(),
    )
    assert report.summary.ok == 3
    assert started == [(3, 3)]


def test_real_video_file_is_sampled_and_aggregated(fake_registry, tmp_path):
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for value in range(0, 250, 25):  # 10 frames, brightness 0, 25, ..., 225
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    report = run(
        fake_registry,
        {"detectors": ["brightness"], "video": {"frames": 4, "aggregate": "max"}},
        [path],
        tmp_path / "out",
    )
    result = report.results[0]
    assert result.status == "ok" and result.media == "video"
    assert [f.index for f in result.frames] == [0, 3, 6, 9]
    assert [f.timestamp for f in result.frames] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert result.detections[0].score == pytest.approx(225 / 255, abs=0.02)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<h3>Frame ") == 4
