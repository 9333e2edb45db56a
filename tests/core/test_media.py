"""Media input: formats, colour conversions, limits, directory walking and video sampling.

Every fixture is generated in ``tmp_path`` at test time (no binary files in the repository).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile

from forensic_core.errors import InputError
from forensic_core.media import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    InputProblem,
    iter_input_paths,
    load_image,
    load_video_frames,
    open_media,
)
from forensic_core.results import MediaItem


def _pattern(height: int = 24, width: int = 32) -> np.ndarray:
    """A deterministic RGB pattern with distinct values in each channel."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG written by hand, for headers and sample layouts Pillow does not write itself."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


# ----------------------------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".png", {}),
        (".bmp", {}),
        (".tif", {}),
        (".tiff", {"compression": "tiff_lzw"}),
        (".webp", {"lossless": True}),
    ],
)
def test_lossless_formats_round_trip_exactly(tmp_path: Path, suffix: str, options: dict) -> None:
    expected = _pattern()
    path = tmp_path / f"image{suffix}"
    Image.fromarray(expected).save(path, **options)

    image = load_image(path)

    assert image.dtype == np.uint8
    assert image.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(image, expected)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".webp"])
def test_lossy_formats_round_trip_closely(tmp_path: Path, suffix: str) -> None:
    expected = np.zeros((32, 48, 3), np.uint8)
    expected[:, :24] = (200, 30, 60)
    expected[:, 24:] = (20, 180, 90)
    path = tmp_path / f"image{suffix}"
    Image.fromarray(expected).save(path, quality=95)

    image = load_image(path)

    assert image.shape == (32, 48, 3)
    assert np.abs(image.astype(int) - expected.astype(int)).mean() < 4


def test_upper_case_suffix_is_an_image(tmp_path: Path) -> None:
    path = tmp_path / "PHOTO.PNG"
    Image.fromarray(_pattern()).save(path, format="PNG")
    [item] = open_media(path)
    assert item.frame_index is None
    np.testing.assert_array_equal(item.image, _pattern())


def test_multi_picture_camera_jpeg_gives_the_primary_picture(tmp_path: Path) -> None:
    path = tmp_path / "camera.jpg"
    primary, second = Image.new("RGB", (8, 8), (200, 0, 0)), Image.new("RGB", (8, 8), (0, 200, 0))
    primary.save(path, format="MPO", save_all=True, append_images=[second], quality=95)
    with Image.open(path) as check:
        assert check.format == "MPO"
    image = load_image(path)
    assert np.abs(image.astype(int) - [200, 0, 0]).max() < 8


def test_exif_orientation_6_rotates_clockwise(tmp_path: Path) -> None:
    stored = np.zeros((40, 80, 3), np.uint8)  # wide as stored
    stored[:20, :40] = (255, 0, 0)  # red block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)

    image = load_image(path)

    assert image.shape == (80, 40, 3)  # displayed tall
    top_right = image[5:15, 25:35].reshape(-1, 3).mean(axis=0)
    top_left = image[5:15, 5:15].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1] < 40  # the stored top-left is displayed top-right
    assert top_left.max() < 40


def test_palette_image_gives_the_palette_colours(tmp_path: Path) -> None:
    palette_image = Image.new("P", (4, 2))
    palette_image.putpalette([10, 20, 30, 200, 100, 50] + [0] * (3 * 254))
    palette_image.putdata([0, 1, 0, 1, 1, 0, 1, 0])
    path = tmp_path / "palette.png"
    palette_image.save(path)

    image = load_image(path)

    assert image.shape == (2, 4, 3)
    assert image[0, 0].tolist() == [10, 20, 30]
    assert image[0, 1].tolist() == [200, 100, 50]


def test_palette_transparency_is_white(tmp_path: Path) -> None:
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([0, 0, 0, 0, 0, 255] + [0] * (3 * 254))
    palette_image.putdata([0, 1])
    path = tmp_path / "transparent.png"
    palette_image.save(path, transparency=0)

    image = load_image(path)

    assert image[0, 0].tolist() == [255, 255, 255]
    assert image[0, 1].tolist() == [0, 0, 255]


def test_rgba_is_composited_over_white(tmp_path: Path) -> None:
    rgba = np.array([[[255, 0, 0, 0], [0, 0, 255, 255], [0, 0, 0, 128]]], np.uint8)
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)

    image = load_image(path)

    assert image.shape == (1, 3, 3)
    assert image[0, 0].tolist() == [255, 255, 255]  # fully transparent red is not red
    assert image[0, 1].tolist() == [0, 0, 255]
    assert image[0, 2].tolist() == [127, 127, 127]  # half-transparent black over white


def test_grey_alpha_is_composited_over_white(tmp_path: Path) -> None:
    path = tmp_path / "la.png"
    Image.fromarray(np.array([[[0, 0], [0, 255]]], np.uint8), mode="LA").save(path)
    image = load_image(path)
    assert image.tolist() == [[[255, 255, 255], [0, 0, 0]]]


def test_cmyk_is_converted_to_rgb(tmp_path: Path) -> None:
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    path = tmp_path / "cmyk.tif"
    Image.fromarray(cmyk, mode="CMYK").save(path)

    image = load_image(path)

    assert image.tolist() == [[[255, 255, 255], [0, 255, 255], [0, 0, 0]]]


def test_cmyk_jpeg_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    image = load_image(path)
    red = image.reshape(-1, 3).mean(axis=0)
    assert red[0] > 230 and red[1] < 25 and red[2] < 25


@pytest.mark.parametrize(("suffix", "dtype"), [(".png", "<u2"), (".tif", "<u2"), (".tif", ">u2")])
def test_16_bit_grey_is_scaled_by_type_range(tmp_path: Path, suffix: str, dtype: str) -> None:
    samples = np.array([[0, 257, 32768, 65535]], dtype=dtype)
    path = tmp_path / f"deep{suffix}"
    Image.fromarray(samples).save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I;16")  # the fixture really is 16-bit

    image = load_image(path)

    assert image.shape == (1, 4, 3)
    assert image[0, :, 0].tolist() == [0, 1, 128, 255]  # scaled, not clipped at 255
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()


def test_32_bit_integer_image_holding_16_bit_data(tmp_path: Path) -> None:
    path = tmp_path / "int32.tif"
    Image.fromarray(np.array([[0, 32768, 65535]], np.int32)).save(path)
    assert load_image(path)[0, :, 0].tolist() == [0, 128, 255]


def test_32_bit_integer_image_uses_the_full_type_range(tmp_path: Path) -> None:
    path = tmp_path / "int32.tif"
    Image.fromarray(np.array([[-(2**31), 0, 2**31 - 1]], np.int32)).save(path)
    assert load_image(path)[0, :, 0].tolist() == [0, 128, 255]


def test_16_bit_rgb_png_is_read(tmp_path: Path) -> None:
    rows = [np.array([65535, 32768, 0] * 2, dtype=">u2").tobytes()] * 2
    path = tmp_path / "rgb16.png"
    path.write_bytes(_raw_png(2, 2, 16, 2, rows))
    image = load_image(path)
    assert image.shape == (2, 2, 3)
    assert image[0, 0].tolist() == [255, 128, 0]


@pytest.mark.parametrize("mode", ["1", "L"])
def test_bilevel_and_grey_become_rgb(tmp_path: Path, mode: str) -> None:
    grey = np.array([[0, 255, 0, 255]], np.uint8)
    path = tmp_path / f"{mode}.png"
    Image.fromarray(grey).convert(mode).save(path)
    image = load_image(path)
    assert image.shape == (1, 4, 3)
    assert image[0, :, 1].tolist() == [0, 255, 0, 255]


def test_gif_gives_the_first_frame(tmp_path: Path) -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 6), colour) for colour in colours]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    with Image.open(path) as check:
        assert check.n_frames == 3

    image = load_image(path)

    assert image.shape == (6, 8, 3)
    assert (image == np.array(colours[0], np.uint8)).all()


# ------------------------------------------------------------------------------------- limits and errors


def _huge_header_png(path: Path, width: int, height: int) -> None:
    """A tiny PNG that declares a huge canvas (a decompression bomb's header; its data is one short row)."""
    path.write_bytes(_raw_png(width, height, 8, 0, [bytes(width)]))


def test_pixel_limit_is_checked_from_the_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.png"
    _huge_header_png(path, 5000, 4000)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InputError) as caught:
        load_image(path, max_pixels=1_000_000)

    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert "20,000,000" in message and "1,000,000" in message


def test_pillows_own_bomb_error_becomes_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = tmp_path / "bomb.png"
    _huge_header_png(path, 100, 100)  # 10,000 pixels > 2 * Pillow's (patched) limit

    with pytest.raises(InputError, match="decompression bomb") as caught:
        load_image(path, max_pixels=DEFAULT_MAX_PIXELS)
    assert str(path) in str(caught.value)


def test_pillows_bomb_warning_does_not_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = tmp_path / "big.png"
    Image.new("RGB", (12, 12), (1, 2, 3)).save(path)  # 144 pixels: over Pillow's warning, under its error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = load_image(path)
    assert image.shape == (12, 12, 3)


@pytest.mark.parametrize("content", [b"not an image at all", b"\xff\xd8\xff\xe0garbage", b""])
def test_corrupt_file_is_a_one_line_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot read image: ")
    assert "\n" not in message


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_an_input_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"truncated{suffix}"
    Image.fromarray(_pattern(64, 64)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputError, match=r"cannot read image: ") as caught:
        load_image(path)
    assert "\n" not in str(caught.value)


def test_missing_image_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.png"
    with pytest.raises(InputError, match="no such file or directory") as caught:
        open_media(path)
    assert str(path) in str(caught.value)


def test_unknown_suffix_is_tried_as_an_image(tmp_path: Path) -> None:
    path = tmp_path / "misnamed.dat"
    Image.fromarray(_pattern()).save(path, format="PNG")
    [item] = open_media(path)
    np.testing.assert_array_equal(item.image, _pattern())
    assert item.source == str(path)


def test_unknown_suffix_that_is_no_image_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError) as caught:
        open_media(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unsupported file type '.txt'; supported: ")
    assert ".jpg" in message and ".mp4" in message


def test_formats_pillow_could_read_but_we_do_not_allow_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.ppm"
    Image.fromarray(_pattern()).save(path)
    with pytest.raises(InputError, match=r"unsupported file type '\.ppm'"):
        open_media(path)


# ---------------------------------------------------------------------------------------- input walking


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_directory_walk_is_sorted_recursive_and_skips_hidden_and_non_media(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    for name in ["b.png", "a/z.JPG", "a/y/clip.mp4", "c.webm", "notes.txt", ".hidden.png", ".git/x.png", "a/.d/y.jpg"]:
        _touch(root / name)

    found = list(iter_input_paths([root]))

    assert found == [root / "a/y/clip.mp4", root / "a/z.JPG", root / "b.png", root / "c.webm"]


def test_given_files_are_yielded_whatever_their_suffix(tmp_path: Path) -> None:
    notes = _touch(tmp_path / "notes.txt")
    hidden = _touch(tmp_path / ".hidden.png")
    assert list(iter_input_paths([str(notes), hidden])) == [notes, hidden]


def test_missing_path_yields_a_problem_and_the_batch_goes_on(tmp_path: Path) -> None:
    image = _touch(tmp_path / "a.png")
    missing = tmp_path / "missing.png"

    found = list(iter_input_paths([missing, image]))

    assert found == [InputProblem(source=str(missing), reason="no such file or directory"), image]


def test_walk_is_lazy(tmp_path: Path) -> None:
    first = _touch(tmp_path / "first.png")

    def inputs():
        yield first
        raise AssertionError("the second input was requested before the first was consumed")

    walker = iter_input_paths(inputs())
    assert next(walker) == first


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    root = tmp_path / "root"
    image = _touch(root / "a.png")
    (root / "loop").symlink_to(root, target_is_directory=True)
    assert list(iter_input_paths([root])) == [image]


def test_suffix_sets() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"} == IMAGE_SUFFIXES
    assert {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"} == VIDEO_SUFFIXES


# ---------------------------------------------------------------------------------------------- video

FRAME_COUNT = 20
FPS = 10.0


def _colour(index: int) -> np.ndarray:
    """The RGB colour of frame ``index`` (up to 100): red rises and blue falls with the index, green cycles with
    period 4, so a frame off by any offset is told apart, and swapped channels too."""
    return np.array([10 + 2 * index, 20 + 60 * (index % 4), 240 - 2 * index], np.uint8)


def _write_video(path: Path, count: int) -> Path:
    """An MJPG AVI at :data:`FPS` whose frame i is solid :func:`_colour` (i)."""
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    assert writer.isOpened()
    for index in range(count):
        rgb = np.broadcast_to(_colour(index), (48, 64, 3))
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))  # OpenCV writes BGR
    writer.release()
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return _write_video(tmp_path / "clip.avi", FRAME_COUNT)


def _assert_frames(items: list[MediaItem], indices: list[int], path: Path) -> None:
    assert [item.frame_index for item in items] == indices
    assert [item.timestamp for item in items] == pytest.approx([index / FPS for index in indices])
    for item, index in zip(items, indices, strict=True):
        assert item.source == str(path)
        assert item.image.shape == (48, 64, 3)
        mean = item.image.reshape(-1, 3).mean(axis=0)
        assert np.abs(mean - _colour(index)).max() < 5, (index, mean)


def test_video_frames_are_sampled_evenly(video: Path) -> None:
    items = open_media(video, frames=4)
    _assert_frames(items, [0, 6, 13, 19], video)


def test_video_with_fewer_frames_than_asked_gives_each_once(video: Path) -> None:
    items = load_video_frames(video, frames=50, max_pixels=DEFAULT_MAX_PIXELS)
    _assert_frames(items, list(range(FRAME_COUNT)), video)


class _Spy:
    """Wraps cv2.VideoCapture: optionally misreports the frame count (as broken or streaming containers do)
    and counts decoded frames."""

    decoded = 0

    def __init__(self, capture: object, reported_count: float | None) -> None:
        self._capture = capture
        self._reported_count = reported_count

    def get(self, prop: int) -> float:
        import cv2

        if prop == cv2.CAP_PROP_FRAME_COUNT and self._reported_count is not None:
            return self._reported_count
        return self._capture.get(prop)

    def grab(self) -> bool:
        _Spy.decoded += 1
        return self._capture.grab()

    def read(self) -> tuple[bool, np.ndarray | None]:
        _Spy.decoded += 1
        return self._capture.read()

    def __getattr__(self, name: str) -> object:
        return getattr(self._capture, name)


def _spy_on_capture(monkeypatch: pytest.MonkeyPatch, reported_count: float | None = None) -> type[_Spy]:
    import cv2

    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *args: _Spy(real(*args), reported_count))
    monkeypatch.setattr(_Spy, "decoded", 0)
    return _Spy


def test_long_video_is_sampled_by_seeking_not_decoding_every_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_video(tmp_path / "long.avi", 100)
    spy = _spy_on_capture(monkeypatch)

    items = load_video_frames(path, frames=3, max_pixels=DEFAULT_MAX_PIXELS)

    _assert_frames(items, [0, 50, 99], path)
    assert spy.decoded == 3


@pytest.mark.parametrize("reported", [0.0, -1.0, 30.0, 200.0])
def test_video_without_a_true_frame_count_is_read_sequentially(
    video: Path, monkeypatch: pytest.MonkeyPatch, reported: float
) -> None:
    _spy_on_capture(monkeypatch, reported)
    items = load_video_frames(video, frames=4, max_pixels=DEFAULT_MAX_PIXELS)
    _assert_frames(items, [0, 6, 13, 19], video)


def test_video_frame_size_limit(video: Path) -> None:
    with pytest.raises(InputError, match=r"64x48 = 3,072 pixels, over the limit of 1,000") as caught:
        load_video_frames(video, frames=4, max_pixels=1000)
    assert str(video) in str(caught.value)


def test_undecodable_video_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 4)
    with pytest.raises(InputError, match="cannot read video") as caught:
        open_media(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_video_without_opencv_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    path = _touch(tmp_path / "clip.mp4")
    with pytest.raises(InputError) as caught:
        open_media(path)
    assert str(caught.value) == f"{path}: reading videos needs OpenCV; pip install 'forensic-core[video]'"


def test_importing_the_module_loads_neither_opencv_nor_torch() -> None:
    code = "import sys, forensic_core.media; print(sorted({'cv2', 'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# Non-regular inputs: never opened, refused with a reason.


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "evidence.png"
    os.mkfifo(path)
    return path


def test_a_fifo_named_on_the_command_line_is_refused_and_the_batch_goes_on(tmp_path: Path, fifo: Path) -> None:
    image = _touch(tmp_path / "a.png")
    found = list(iter_input_paths([fifo, image]))
    assert found == [
        InputProblem(str(fifo), "not a regular file but a named pipe (FIFO); refused without opening it"),
        image,
    ]


def test_a_fifo_inside_a_folder_is_refused_and_other_special_files_are_skipped(tmp_path: Path) -> None:
    import socket

    root = tmp_path / "batch"
    image = _touch(root / "a.png")
    os.mkfifo(root / "b.jpg")
    os.mkfifo(root / "pipe-without-media-suffix")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "c.png"))
        found = list(iter_input_paths([root]))
    assert found == [
        image,
        InputProblem(str(root / "b.jpg"), "not a regular file but a named pipe (FIFO); refused without opening it"),
        InputProblem(str(root / "c.png"), "not a regular file but a socket; refused without opening it"),
    ]


def test_a_symlink_to_a_fifo_is_refused(tmp_path: Path, fifo: Path) -> None:
    link = tmp_path / "link.png"
    link.symlink_to(fifo)
    [problem] = iter_input_paths([tmp_path / "link.png"])
    assert isinstance(problem, InputProblem) and "named pipe" in problem.reason


@pytest.mark.parametrize("opener", ["open_media", "load_image", "load_video_frames", "registry"])
def test_openers_refuse_a_fifo_without_blocking(fifo: Path, opener: str, forensic_registry: object) -> None:
    # Opening a FIFO for reading blocks until a writer appears: if any opener opened it, this test would hang.
    calls = {
        "open_media": lambda: open_media(fifo),
        "load_image": lambda: load_image(fifo),
        "load_video_frames": lambda: load_video_frames(fifo, 2, DEFAULT_MAX_PIXELS),
        "registry": lambda: forensic_registry.open_media(fifo, 2, DEFAULT_MAX_PIXELS),  # type: ignore[attr-defined]
    }
    with pytest.raises(InputError) as caught:
        calls[opener]()
    assert str(caught.value) == f"{fifo}: not a regular file but a named pipe (FIFO); refused without opening it"


def test_plugin_openers_are_not_asked_about_a_fifo(fifo: Path, forensic_registry: Any, register_plugin: Any) -> None:
    from forensic_core import hookimpl

    asked: list[Path] = []

    class Opener:
        @hookimpl
        def forensic_open_media(self, path: Path, frames: int, max_pixels: int) -> None:
            asked.append(path)

    register_plugin(Opener(), "opener")
    with pytest.raises(InputError, match="named pipe"):
        forensic_registry.open_media(fifo, 2, DEFAULT_MAX_PIXELS)
    assert asked == []


def test_a_character_device_is_refused_without_opening_it() -> None:
    device = Path("/dev/null")
    if not device.exists():
        pytest.skip("no /dev/null here")
    [problem] = iter_input_paths([device])
    assert problem == InputProblem("/dev/null", "not a regular file but a character device; refused without opening it")
    with pytest.raises(InputError, match="character device"):
        open_media(device)


def test_a_fifo_swapped_in_after_the_check_is_refused_on_the_descriptor(
    fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forensic_core import media

    monkeypatch.setattr(media, "check_regular_file", lambda path: None)
    with pytest.raises(InputError, match="named pipe"):
        media.load_image(fifo)


# Plugin suffixes and exclusions in folder walks.


def test_folder_walks_include_the_suffixes_plugins_declare(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    image, array, scan = _touch(root / "a.png"), _touch(root / "b.NPY"), _touch(root / "c.dcm")
    _touch(root / "d.txt")
    assert list(iter_input_paths([root])) == [image]
    assert list(iter_input_paths([root], extra_suffixes=["npy", ".DCM"])) == [image, array, scan]


def test_excluded_folders_are_never_walked_into(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    image = _touch(root / "a.png")
    _touch(root / "out" / "heatmaps" / "a_ela.png")
    _touch(root / "other" / "out" / "kept.png")
    (root / "link-to-out").symlink_to(root / "out", target_is_directory=True)
    found = list(iter_input_paths([root], exclude=[tmp_path / "photos" / "." / "out"]))
    assert found == [image, root / "other" / "out" / "kept.png"]
    assert list(iter_input_paths([root / "out" / "heatmaps"], exclude=[root / "out"])) == [
        InputProblem(str(root / "out" / "heatmaps"), "is the run's output folder; not analysed")
    ]


def test_media_suffixes_of_installed_openers(forensic_registry: Any, register_plugin: Any) -> None:
    from forensic_core import hookimpl

    class Numpy:
        @hookimpl
        def forensic_media_suffixes(self) -> list[str]:
            return [".npy", "NPZ"]

    class Broken:
        @hookimpl
        def forensic_media_suffixes(self) -> list[str]:
            raise SystemExit("no")

    class Wrong:
        @hookimpl
        def forensic_media_suffixes(self) -> str:
            return ".raw"

    for plugin, name in ((Numpy(), "numpy-opener"), (Broken(), "broken-opener"), (Wrong(), "wrong-opener")):
        assert register_plugin(plugin, name).status == "loaded"
    assert forensic_registry.media_suffixes() == frozenset({".npy", ".npz"})
    plugins = forensic_registry.plugins
    assert plugins["broken-opener"].error == "forensic_media_suffixes failed: SystemExit: no"
    assert (
        plugins["wrong-opener"].error
        == "forensic_media_suffixes failed: ValueError: returned str, not a list of suffixes"
    )
