"""Maps land on the pixels the detector saw: resize-only and resize-then-centre-crop preparations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forensic_core import ComponentError, VisionTarget
from forensic_core.testing import build_component, random_items
from forensic_daam import daam
from forensic_daam.display import normalize_maps, place, upsample
from forensic_daam.plugin import DaamSettings, forensic_register_explainers


def _ramp(height: int, width: int) -> torch.Tensor:
    """(1, 2, H, W): channel 0 = x of each pixel centre, channel 1 = y, so any resampling is easy to invert."""
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    return torch.stack([xs, ys]).float()[None]


@pytest.mark.parametrize("size, resize, crop", [((60, 90), 40, 32), ((90, 61), 37, (32, 24)), ((50, 50), (48, 40), 32)])
def test_centre_crop_box_and_place_invert_torchvision_resize_and_centre_crop(size, resize, crop):
    transforms = pytest.importorskip("torchvision.transforms.v2")
    height, width = size
    item = _ramp(height, width)
    prepared = transforms.CenterCrop(crop)(transforms.Resize(resize, antialias=False)(item))
    left, top, right, bottom = VisionTarget.centre_crop_box(height, width, resize=resize, crop=crop)
    # every input pixel centre shows the item point the box says it shows
    rows, cols = prepared.shape[-2:]
    expected_x = left + (torch.arange(cols) + 0.5) * (right - left) / cols
    expected_y = top + (torch.arange(rows) + 0.5) * (bottom - top) / rows
    assert torch.allclose(prepared[0, 0, rows // 2], expected_x, atol=0.05 * (right - left) / cols + 1e-4)
    assert torch.allclose(prepared[0, 1, :, cols // 2], expected_y, atol=0.05 * (bottom - top) / rows + 1e-4)
    # and placing the input back onto the item recovers each item pixel's own coordinates inside the box
    placed = place(prepared[0], (left, top, right, bottom), size)
    inner_x = slice(int(np.ceil(left)) + 1, int(right) - 1)
    inner_y = slice(int(np.ceil(top)) + 1, int(bottom) - 1)
    assert torch.allclose(placed[:, inner_y, inner_x], item[0][:, inner_y, inner_x], atol=1e-3)
    outside = torch.ones(height, width, dtype=torch.bool)
    outside[int(np.ceil(top - 0.5)) : int(np.floor(bottom - 0.5)) + 1, int(np.ceil(left - 0.5)) : int(right)] = False
    assert not placed[:, outside].any()


def test_place_with_the_whole_item_box_is_upsample():
    maps = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(place(maps, (0.0, 0.0, 41.0, 30.0), (30, 41)), upsample(maps, (30, 41)))
    with pytest.raises(ValueError, match="empty"):
        place(maps, (5.0, 0.0, 5.0, 30.0), (30, 41))


class CroppingDetector:
    """A timm ViT detector that resizes each item's shorter side to 40 px and centre-crops 32 x 32."""

    def __init__(self, vit, boxes=None):
        self.vit = vit
        self.boxes = boxes

    def inputs(self, items):
        from torchvision.transforms import v2

        prepare = v2.Compose([v2.Resize(40, antialias=False), v2.CenterCrop(32)])
        return torch.cat([prepare(torch.from_numpy(i.image).permute(2, 0, 1).float()[None] / 255) for i in items])

    def detect(self, items):
        raise AssertionError("not needed")

    def vision_target(self, items):
        boxes = self.boxes or tuple(
            VisionTarget.centre_crop_box(item.height, item.width, resize=40, crop=32) for item in items
        )
        return VisionTarget(
            model=self.vit, inputs=self.inputs(items), forward=self.vit, family="timm", input_boxes=boxes
        )


def test_explainer_places_maps_of_a_centre_cropping_detector_on_the_crop(kit):
    pytest.importorskip("torchvision")
    items = random_items(((48, 80), (72, 40)))
    detector = CroppingDetector(kit.tiny_vit(num_classes=2))
    spec = forensic_register_explainers()[0]
    explanations = build_component(spec, DaamSettings(animation=False)).explain(
        items, detector=detector, detections=None
    )
    result = daam(detector.vit, detector.inputs(items))
    shown = normalize_maps(result.accumulated, "sigmoid")
    for index, (item, explanation) in enumerate(zip(items, explanations, strict=True)):
        box = VisionTarget.centre_crop_box(item.height, item.width, resize=40, crop=32)
        expected = place(shown[index, -1], box, (item.height, item.width)).clamp(0, 1).numpy()
        heat = explanation.maps["daam"]
        assert heat.shape == (item.height, item.width)
        np.testing.assert_allclose(heat, expected, atol=1e-6)
        # the crop drops a band on the longer side: nothing is shown where the detector never looked
        band = int(box[0]) - 1 if item.width > item.height else int(box[1]) - 1
        edge = heat[:, :band] if item.width > item.height else heat[:band]
        assert band > 0 and not edge.any() and heat.max() > 0


def test_a_wrong_number_of_input_boxes_is_one_clear_line(kit):
    pytest.importorskip("torchvision")
    detector = CroppingDetector(kit.tiny_vit(num_classes=2), boxes=((0.0, 0.0, 10.0, 10.0),))
    spec = forensic_register_explainers()[0]
    with pytest.raises(ComponentError, match="input_boxes for 2 items") as error:
        build_component(spec).explain(random_items(), detector=detector, detections=None)
    assert "\n" not in str(error.value)
