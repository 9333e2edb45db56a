"""Display mapping (sigmoid / global / minmax) and the pictures people look at."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from forensic_daam import animation, normalize_maps, strip, upsample
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


def test_global_display_shares_one_scale_across_blocks(accumulated):
    shown = normalize_maps(accumulated, "global")
    assert shown[0].min() == 0 and shown[0].max() == 1
    assert shown[0, 0].max() < 1  # the first block's map is not stretched on its own
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
