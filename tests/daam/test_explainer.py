"""The ``daam`` explainer as a framework component: contract, open_clip and timm detectors, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from forensic_core import ComponentError, Detection, VisionTarget
from forensic_core.testing import ExplainerContract, build_component, random_items
from forensic_daam.plugin import DaamSettings, forensic_register_explainers


def _batch(items, size=32):
    tensors = [torch.from_numpy(item.image).permute(2, 0, 1).float()[None] / 255 for item in items]
    return torch.cat([F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False) for t in tensors])


class ClipDetector:
    """Stands in for the KFD detector: a score computed through an open_clip visual tower."""

    def __init__(self, clip):
        torch.manual_seed(1)
        self.clip = clip
        self.head = torch.nn.Linear(16, 1)

    def score_logits(self, inputs):
        return self.head(self.clip.visual(inputs))[:, 0]

    def detect(self, items):
        with torch.no_grad():
            scores = self.score_logits(_batch(items)).sigmoid()
        return [Detection.from_score(float(s)) for s in scores]

    def vision_target(self, items):
        with torch.no_grad():  # as the KFD runtime prepares its inputs
            inputs = _batch(items)
        return VisionTarget(model=self.clip.visual, inputs=inputs, forward=self.score_logits, family="open_clip")


class TimmDetector:
    """A two-class timm ViT detector returning logits with class names."""

    def __init__(self, vit):
        self.vit = vit

    def detect(self, items):
        with torch.no_grad():
            probs = self.vit(_batch(items)).softmax(-1)[:, 1]
        return [Detection.from_score(float(p)) for p in probs]

    def vision_target(self, items):
        return VisionTarget(
            model=self.vit, inputs=_batch(items), forward=self.vit, family="timm", class_names=("real", "fake")
        )


class NotExplainable:
    def detect(self, items):
        return [Detection.from_score(0.5) for _ in items]


@pytest.fixture
def spec():
    return forensic_register_explainers()[0]


class TestDaamExplainerContract(ExplainerContract):
    @pytest.fixture
    def spec(self):
        return forensic_register_explainers()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_daam.plugin"

    @pytest.fixture
    def detector(self, kit):
        return ClipDetector(kit.tiny_clip())


def test_explanations_carry_unit_maps_at_item_size_and_figures(spec, kit):
    items = random_items()
    detector = ClipDetector(kit.tiny_clip())
    explainer = build_component(spec, DaamSettings(all_blocks=True))
    results = explainer.explain(items, detector=detector, detections=detector.detect(items))
    for item, explanation in zip(items, results, strict=True):
        assert set(explanation.maps) == {"daam", "daam block 1", "daam block 2", "daam block 3"}
        for heat in explanation.maps.values():
            assert heat.shape == (item.height, item.width) and heat.min() >= 0 and heat.max() <= 1
        assert np.array_equal(explanation.maps["daam"], explanation.maps["daam block 3"])
        assert explanation.figures["daam_strip"].suffix == ".png"
        assert explanation.figures["daam_flow"].suffix == ".gif"
        assert explanation.details["blocks"] == 3 and explanation.details["explained"] == "score"
        assert "3 transformer blocks" in explanation.text and "The detector said" in explanation.text


def test_explains_the_detector_score_not_another_output(spec, kit):
    items = random_items()
    detector = ClipDetector(kit.tiny_clip())
    explanation = build_component(spec).explain(items[:1], detector=detector, detections=None)[0]
    with torch.no_grad():
        expected = detector.score_logits(_batch(items[:1]))[0]
    assert explanation.details["score"] == pytest.approx(float(expected), abs=1e-5)


def test_timm_detector_logits_are_explained_for_the_configured_class(spec, kit):
    detector = TimmDetector(kit.tiny_vit(num_classes=2))
    items = random_items()
    explanation = build_component(spec, DaamSettings(target=1, animation=False)).explain(
        items, detector=detector, detections=None
    )[0]
    assert explanation.details["explained"] == "fake" and set(explanation.figures) == {"daam_strip"}
    with pytest.raises(ComponentError, match="out of range"):
        build_component(spec, DaamSettings(target=7)).explain(items, detector=detector, detections=None)


@pytest.mark.parametrize("detector", [None, NotExplainable()])
def test_detectors_without_a_vision_target_are_refused_in_one_line(spec, detector):
    with pytest.raises(ComponentError) as error:
        build_component(spec).explain(random_items(), detector=detector, detections=None)
    assert "vision_target" in str(error.value) and "\n" not in str(error.value)


def test_empty_batch_gives_no_explanations(spec):
    assert build_component(spec).explain([], detector=None, detections=None) == []


class PatchScoreDetector(ClipDetector):
    """A KFD-like detector: the score is read from the patch tokens of the last block, declared as such."""

    def score_logits(self, inputs):
        captured = []
        block = self.clip.visual.transformer.resblocks[-1]
        handle = block.register_forward_hook(lambda module, args, output: captured.append(output))
        try:
            self.clip.visual(inputs)
        finally:
            handle.remove()
        return captured[0][:, 1:17].mean(dim=(1, 2)) * 10

    def vision_target(self, items):
        target = super().vision_target(items)
        return VisionTarget(
            model=target.model, inputs=target.inputs, forward=self.score_logits, family="open_clip", readout="patches"
        )


def test_declared_patch_readout_is_explained_and_a_setting_overrides_it(spec, kit):
    items = random_items()
    detector = PatchScoreDetector(kit.tiny_clip())
    declared = build_component(spec, DaamSettings(animation=False)).explain(items, detector=detector, detections=None)
    assert all(e.details["readout"] == "patch tokens" and e.details["block_share"][-1] > 0 for e in declared)
    overridden = build_component(spec, DaamSettings(animation=False, readout="class")).explain(
        items, detector=detector, detections=None
    )
    assert all(e.details["readout"] == "[class]" and e.details["block_share"][-1] == 0 for e in overridden)


def test_block_norm_and_mp4_settings_reach_the_explanation(spec, kit):
    pytest.importorskip("cv2")
    items = random_items()[:1]
    detector = ClipDetector(kit.tiny_clip())
    plain = build_component(spec, DaamSettings(all_blocks=True)).explain(items, detector=detector, detections=None)[0]
    normed = build_component(spec, DaamSettings(all_blocks=True, block_norm=True, mp4=True)).explain(
        items, detector=detector, detections=None
    )[0]
    assert normed.details["block_norm"] and not plain.details["block_norm"]
    assert normed.details["block_share"] == plain.details["block_share"]  # shares stay the raw block energies
    assert not np.allclose(normed.maps["daam block 1"], plain.maps["daam block 1"])
    assert normed.figures["daam_flow_video"].suffix == ".mp4" and normed.figures["daam_flow_video"].data[4:8] == b"ftyp"
    assert "daam_flow_video" not in plain.figures and plain.figures["daam_flow"].suffix == ".gif"
