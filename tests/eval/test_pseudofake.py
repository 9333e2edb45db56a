"""The self-blended pseudo-fake generator: mask = where pixels changed, reproducible recipes, landmark hulls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensic_eval.pseudofake import TYPES, PseudoFakeConfig, make_pseudo_fake

NO_JPEG = PseudoFakeConfig(jpeg_quality=None)


def face(seed: int = 0, size: tuple[int, int] = (96, 80)) -> np.ndarray:
    """A textured test image: smooth gradients plus noise, so every perturbation changes pixels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    base = np.stack([xx * 2.0, yy * 2.0, (xx + yy) * 1.0], axis=-1) % 200 + 30
    return np.clip(base + rng.normal(0, 12, size=(*size, 3)), 0, 255).astype(np.uint8)


def ring_landmarks(box: tuple[float, float, float, float]) -> np.ndarray:
    """68 points on an ellipse in the box: enough to test that the mask follows the landmark hull."""
    x0, y0, x1, y1 = box
    theta = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    return np.stack([(x0 + x1) / 2 + (x1 - x0) / 2 * np.cos(theta), (y0 + y1) / 2 + (y1 - y0) / 2 * np.sin(theta)], 1)


@pytest.mark.parametrize("seed", range(12))
def test_mask_covers_exactly_the_changed_pixels(seed: int) -> None:
    image = face(seed)
    fake = make_pseudo_fake(image, seed, config=NO_JPEG)
    assert fake.image.shape == image.shape and fake.image.dtype == np.uint8
    assert fake.mask.shape == image.shape[:2] and fake.mask.dtype == np.float32
    assert fake.mask.min() >= 0.0 and fake.mask.max() <= 1.0
    changed = (fake.image != image).any(axis=-1)
    assert changed.any()
    # every changed pixel lies inside the mask ...
    assert (fake.mask[changed] > 0).all()
    # ... and every pixel whose blend moves a channel by at least one grey level changed (rounding aside)
    delta = np.abs(fake.image.astype(np.float32) - image.astype(np.float32)).max(axis=-1)
    assert delta.max() > 0
    strong = fake.mask > 0.99 * fake.recipe.blend_ratio
    assert changed[strong].mean() > 0.5
    np.testing.assert_array_equal(fake.real, image)  # no JPEG: the matching real is the input


def test_mask_peak_is_the_blend_ratio_and_lies_in_the_face_box() -> None:
    image = face(1, (120, 120))
    box = (30, 20, 90, 100)
    for seed in range(8):
        fake = make_pseudo_fake(image, seed, face_box=box, config=NO_JPEG)
        assert fake.mask.max() == pytest.approx(fake.recipe.blend_ratio, abs=1e-5)
        outside = np.ones(image.shape[:2], bool)
        outside[box[1] - 12 : box[3] + 12, box[0] - 12 : box[2] + 12] = False
        assert fake.mask[outside].max() == 0.0
        assert (fake.image[outside] == image[outside]).all()


def test_same_seed_same_fake_and_recipe_different_seed_different() -> None:
    image = face(2)
    first, again = make_pseudo_fake(image, 7), make_pseudo_fake(image, 7)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.mask, again.mask)
    assert first.recipe == again.recipe
    assert first.recipe.seed == 7
    recipes = {json.dumps(make_pseudo_fake(image, seed).recipe.as_dict(), sort_keys=True) for seed in range(6)}
    assert len(recipes) == 6
    from_generator = make_pseudo_fake(image, np.random.default_rng(7))
    np.testing.assert_array_equal(from_generator.image, first.image)
    assert from_generator.recipe.seed is None


def test_recipe_is_json_and_types_follow_the_config() -> None:
    image = face(3)
    seen = {make_pseudo_fake(image, seed).recipe.type for seed in range(30)}
    assert seen == set(TYPES)
    only = PseudoFakeConfig(types=("resample",))
    for seed in range(5):
        recipe = make_pseudo_fake(image, seed, config=only).recipe
        assert recipe.type == "resample"
        assert json.loads(json.dumps(recipe.as_dict()))["type"] == "resample"


def test_jpeg_compresses_fake_and_real_alike() -> None:
    image = face(4, (128, 128))
    config = PseudoFakeConfig(jpeg_quality=(50, 50))
    fake = make_pseudo_fake(image, 3, face_box=(40, 56, 88, 112), config=config)
    assert fake.recipe.jpeg_quality == 50
    assert not np.array_equal(fake.real, image)
    assert fake.mask[:32].max() == 0
    # JPEG codes 16 px blocks independently: rows the blend did not touch are the same JPEG in the pair
    np.testing.assert_array_equal(fake.image[:16], fake.real[:16])
    assert not np.array_equal(fake.image[64:96], fake.real[64:96])


def test_landmarks_give_a_hull_mask_inside_the_points() -> None:
    image = face(5, (128, 128))
    box = (32.0, 24.0, 96.0, 104.0)
    points = ring_landmarks(box)
    config = PseudoFakeConfig(jpeg_quality=None, mask_shapes=("hull",), elastic=0.0, jitter=0.0)
    fake = make_pseudo_fake(image, 0, landmarks=points, face_box=box, config=config)
    assert fake.recipe.mask_shape == "hull"
    yy, xx = np.mgrid[0:128, 0:128]
    centre = ((xx - 64) / 32.0) ** 2 + ((yy - 64) / 40.0) ** 2
    assert fake.mask[centre < 0.5].min() > 0  # the hull's interior is blended
    assert fake.mask[centre > 1.1].max() == 0  # nothing outside the landmark outline (blur erodes, never grows)
    no_landmarks = make_pseudo_fake(image, 0, face_box=box, config=config)
    assert no_landmarks.recipe.mask_shape == "ellipse"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((32, 32), np.uint8), "H x W x 3 uint8"),
        (np.zeros((32, 32, 3), np.float32), "H x W x 3 uint8"),
        (np.zeros((4, 32, 3), np.uint8), "too small"),
    ],
)
def test_bad_images_are_named(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_pseudo_fake(image, 0)


def test_bad_landmarks_and_config_are_named() -> None:
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        make_pseudo_fake(face(), 0, landmarks=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="types"):
        PseudoFakeConfig(types=("warp",))
