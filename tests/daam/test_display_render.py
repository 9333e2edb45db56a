"""Display mapping (sigmoid / global / minmax) and the pictures people look at."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from forensic_daam import animation, normalize_maps, strip, upsample, video
from forensic_daam.render import colorize, encode_png, overlay


@pytest.fixture
def accumulated():
    maps = torch.rand(2, 4, 3, 5, generator=torch.Generator().manual_seed(2))
    return maps.cumsum(dim=1)


@pytest.mark.parametrize("mode", ["sigmoid", "global", "minmax"])
@pytest.mark.parametrize("kind", ["zeros", "constant", "random"])
def test_normalised_maps_are_finite_and_in_unit_range(mode, kind, accumulated):
    maps = {"zeros": torch.zeros(2, 4, 3, 5), "constant": torch.full((2, 4, 3, 5), 3.0), "random": accumulated}[kind]
    shown = normalize_maps(maps, mode)
    assert shown.shape == maps.shape and torch.isfinite(shown).all()
    assert shown.min() >= 0 and shown.max() <= 1


def test_sigmoid_display_follows_the_authors_mapping(accumulated):
    shown = normalize_maps(accumulated, "sigmoid")
    image = accumulated[1]
    expected = torch.sigmoid(5 * image / image[-1].max()) - 0.5
    low = expected.amin(dim=(-2, -1), keepdim=True)
    high = expected.amax(dim=(-2, -1), keepdim=True)
    assert torch.allclose(shown[1], (expected - low) / (high - low), atol=1e-6)


def _authors_global(accumulated: np.ndarray) -> np.ndarray:
    """Their generate_accumul_cam with non_liear_mapping=False for one image, before the uint8 cast (r * img)."""
    accumul = accumulated[-1]
    global_maximum, global_minimum = np.max(accumul.ravel()), np.min(accumul.ravel())
    out = []
    for cam in accumulated:
        cam = np.maximum(cam, 0)
        current_maximum, current_minimum = np.max(cam.ravel()), np.min(cam.ravel())
        img = (cam - global_minimum) / (current_maximum - global_minimum + 1e-10)
        img = np.maximum(img, 0)
        ratio = (current_maximum - current_minimum) / (global_maximum - global_minimum)
        out.append(255 * ratio * img)
    return np.stack(out)


@pytest.mark.parametrize("sparse", [True, False])
def test_global_display_is_the_authors_global_max_min_norm(sparse):
    """Sparse (ReLU'd, as DAAM maps are): their formula stays in [0, 255]. Dense: it can exceed 255, clamped here."""
    blocks = torch.randn(2, 4, 3, 5, generator=torch.Generator().manual_seed(8))
    accumulated = (blocks.clamp_min(0) if sparse else blocks.abs() + 1).cumsum(dim=1)
    shown = normalize_maps(accumulated, "global")
    for index in range(accumulated.shape[0]):
        expected = _authors_global(accumulated[index].double().numpy())
        if sparse:
            assert expected.max() <= 255
            assert np.abs(np.uint8(255 * shown[index].numpy()).astype(int) - np.uint8(expected).astype(int)).max() <= 1
        assert np.allclose(255 * shown[index].double().numpy(), np.clip(expected, 0, 255), atol=1e-3)
    if sparse:
        assert shown[0, -1].max() == 1 and shown[0, 0].max() < shown[0, -1].max()  # early maps stay dim
    per_map = normalize_maps(accumulated, "minmax")
    assert torch.allclose(per_map.amax(dim=(-2, -1)), torch.ones(2, 4))


def test_unknown_display_mode_raises(accumulated):
    with pytest.raises(ValueError, match="display mode"):
        normalize_maps(accumulated, "log")


def test_upsample_keeps_batch_and_block_dimensions(accumulated):
    assert upsample(accumulated, (30, 50)).shape == (2, 4, 30, 50)
    assert upsample(accumulated[:, 0], (6, 10)).shape == (2, 6, 10)


def test_colour_map_runs_from_blue_to_red():
    colours = colorize(np.array([[0.0, 1.0]]))
    assert colours[0, 0, 2] > colours[0, 0, 0] and colours[0, 1, 0] > colours[0, 1, 2]


def test_overlay_strip_and_animation_shapes():
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    maps = np.random.default_rng(1).random((3, 4, 4)).astype(np.float32)
    assert overlay(image, maps[0]).shape == image.shape
    row = strip(image, maps, height=60, gap=2)
    assert row.shape == (60, 4 * 80 + 3 * 2, 3) and row.dtype == np.uint8
    with Image.open(io.BytesIO(encode_png(row))) as decoded:
        assert decoded.size == (row.shape[1], row.shape[0])
    gif = animation(image, maps, height=48)
    with Image.open(io.BytesIO(gif)) as decoded:
        assert decoded.format == "GIF" and decoded.n_frames == 3 and decoded.size == (64, 48)


def test_mp4_flow_has_one_frame_per_map_and_holds_the_last(tmp_path):
    cv2 = pytest.importorskip("cv2")
    image = np.zeros((47, 63, 3), dtype=np.uint8)
    maps = np.stack([np.full((4, 4), value, dtype=np.float32) for value in (0.0, 0.5, 1.0)])
    data = video(image, maps, height=47, frame_ms=250, hold_ms=1000)
    assert data[4:8] == b"ftyp"
    path = tmp_path / "flow.mp4"
    path.write_bytes(data)
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(4.0)
    capture.release()
    assert len(frames) == 3 + 3 and frames[0].shape == (48, 64, 3)
    # jet colours: map 0 -> blue, map 1 -> red (BGR frames), away from the label in the corner
    first, last = frames[0][30:40, 30:50].mean(axis=(0, 1)), frames[-1][30:40, 30:50].mean(axis=(0, 1))
    assert first[0] > first[2] and last[2] > last[0]
