"""The HTML report: self-contained, pictures embedded, untrusted text escaped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from forensic_core import ComponentSpec, Message, hookimpl
from forensic_core.config import load_pipeline
from forensic_core.runner import run_pipeline

EVIL = "<script>alert(1)</script>"


class EvilDialog:
    def reply(self, findings, conversation: Sequence[Message]) -> Message:
        return Message("assistant", f"{EVIL} & <b>bold</b>")


class EvilPlugin:
    @hookimpl
    def forensic_register_dialog_backends(self):
        return [ComponentSpec("evil", "returns markup", factory=lambda s, ctx: EvilDialog())]


def test_untrusted_text_is_escaped_and_images_embedded(fake_registry, tmp_path):
    fake_registry.register(EvilPlugin(), "evil-plugin")
    name = tmp_path / "<img src=x onerror=alert(2)>.png"
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(name)
    pipeline = load_pipeline(
        {
            "faces": "fixed-faces",
            "detectors": ["brightness"],
            "localizers": ["bright-map"],
            "explainers": ["saliency"],
            "dialog": "evil",
        },
        fake_registry,
    )
    run_pipeline(pipeline, fake_registry, [str(name)], tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;.png" in html
    # Self-contained: every picture is a data URI, none refers to a file.
    assert html.count("src='data:image/") >= 4
    assert "src='artifacts/" not in html
    assert "<svg viewBox='0 0 30 20'" in html  # face boxes drawn over the picture in image coordinates


def test_report_lists_errors(fake_registry, tmp_path):
    pipeline = load_pipeline({"detectors": ["brightness"]}, fake_registry)
    run_pipeline(pipeline, fake_registry, [str(tmp_path / "gone.png")], tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "no such file or directory" in html and "badge err" in html
