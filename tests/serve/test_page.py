"""The web page end to end in real headless Chromium (Debian's, driven by Playwright): upload, heatmap, the
DAAM block slider, a streamed answer, and that names from the client stay text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import RunningServer, portrait

WAIT_MS = 300_000


@pytest.fixture
def page(browser: Any, server: RunningServer) -> Any:
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.url + "/")
    yield tab
    tab.close()
    assert errors == []


def test_upload_heatmap_block_slider_and_chat(page: Any, tmp_path: Path) -> None:
    page.set_input_files("#file", str(portrait()))
    page.wait_for_selector("#viewer[data-ready=yes]", timeout=WAIT_MS)
    assert page.get_attribute("#viewer", "data-localizer") == "kfd"
    assert "REAL" in page.text_content("#verdict").upper() or "FAKE" in page.text_content("#verdict").upper()
    heat = page.evaluate("() => { const c = document.getElementById('heat'); return [c.width, c.height]; }")
    assert heat == [512, 512]
    painted = page.evaluate(
        "() => { const c = document.getElementById('heat'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) "
        "if (d[i] > 128) n++; return n; }"
    )
    assert painted > 0  # the overlay holds the heatmap's colours

    kfd_overlay = page.evaluate("() => document.getElementById('heat').toDataURL()")
    assert page.locator("#localizer option").all_text_contents() == ["kfd", "ela"]
    page.select_option("#localizer", label="ela")
    page.wait_for_selector("#viewer[data-localizer=ela][data-ready=yes]", timeout=WAIT_MS)
    assert page.evaluate("() => document.getElementById('heat').toDataURL()") != kfd_overlay

    page.fill("#opacity", "20")
    page.dispatch_event("#opacity", "input")
    assert page.evaluate("() => document.getElementById('heat').style.opacity") == "0.2"

    page.wait_for_selector("#daam-viewer[data-ready=yes]", timeout=WAIT_MS)
    assert page.get_attribute("#block", "max") == "4"
    assert page.get_attribute("#daam-viewer", "data-block") == "4"
    last = page.evaluate("() => document.getElementById('daam-heat').toDataURL()")
    page.fill("#block", "2")
    page.dispatch_event("#block", "input")
    page.wait_for_selector("#daam-viewer[data-block='2'][data-ready=yes]", timeout=WAIT_MS)
    assert page.text_content("#block-label").startswith("D2 of 4")
    assert page.evaluate("() => document.getElementById('daam-heat').toDataURL()") != last  # another block's map

    page.fill("#question", "Is this image a deepfake?")
    page.click("#ask")
    page.wait_for_selector(".turn.assistant[data-state=done]", timeout=WAIT_MS)
    answer = page.text_content(".turn.assistant")
    assert "kfd" in answer and "forgery score" in answer
    assert page.locator(".turn.assistant .evidence li").count() >= 1

    shot = tmp_path / "forensic-serve-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("FORENSIC_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_names_from_the_client_are_shown_as_text(page: Any, tmp_path: Path) -> None:
    hostile = tmp_path / "<img src=x onerror=window.pwned=1>.png"
    shutil.copyfile(Path(__file__).with_name("serve-daam.yaml"), hostile)  # not an image: a 415 with the name
    page.set_input_files("#file", str(hostile))
    page.wait_for_selector("#status.error", timeout=WAIT_MS)
    assert page.text_content("#status").startswith("<img src=x onerror=window.pwned=1>.png: not an image")
    assert page.locator("#status img").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
