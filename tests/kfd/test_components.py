"""The ``kfd`` detector and localizer as registered components: core contracts, sharing, report content."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import yaml

from forensic_core import BuildContext, ComponentSpec
from forensic_core.testing import DetectorContract, LocalizerContract, build_component, imported_heavy_modules
from forensic_kfd import plugin
from forensic_kfd.settings import KfdSettings

from .conftest import face_items, tiny_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pipelines"


class _TinyKfd:
    """Fixtures both KFD contract suites share: the tiny random backbone and the registration module."""

    @pytest.fixture
    def settings(self) -> KfdSettings:
        return tiny_settings()

    @pytest.fixture
    def registration_module(self) -> str:
        return "forensic_kfd.plugin"


class TestKfdDetectorContract(_TinyKfd, DetectorContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return plugin.forensic_register_detectors()[0]


class TestKfdLocalizerContract(_TinyKfd, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return plugin.forensic_register_localizers()[0]


def test_the_entry_point_names_the_registration_module() -> None:
    entry_points = importlib.metadata.entry_points(group="forensic.plugins")
    assert any(ep.name == "kfd" and ep.value == "forensic_kfd.plugin" for ep in entry_points)


def test_registering_imports_neither_torch_nor_open_clip() -> None:
    statement = "import forensic_kfd.plugin as p; p.forensic_register_detectors(); p.forensic_register_localizers()"
    assert imported_heavy_modules(statement) == []


def test_both_components_run_on_face_crops() -> None:
    assert plugin.forensic_register_detectors()[0].scope == plugin.forensic_register_localizers()[0].scope == "faces"


def test_detector_and_localizer_share_one_model_per_model_settings() -> None:
    context = BuildContext()
    detector_spec = plugin.forensic_register_detectors()[0]
    localizer_spec = plugin.forensic_register_localizers()[0]
    detector = build_component(detector_spec, tiny_settings(threshold=0.9), context)
    localizer = build_component(localizer_spec, tiny_settings(mask_threshold=0.2, batch_size=2), context)
    other = build_component(detector_spec, tiny_settings(seed=1), context)
    assert detector.runtime is localizer.runtime
    assert other.runtime is not detector.runtime
    context.close()


def test_a_detection_then_a_localization_of_the_same_items_runs_the_network_once() -> None:
    context = BuildContext()
    detector = build_component(plugin.forensic_register_detectors()[0], tiny_settings(), context)
    localizer = build_component(plugin.forensic_register_localizers()[0], tiny_settings(), context)
    calls = []
    original = detector.runtime._run
    detector.runtime._run = lambda items: calls.append(len(items)) or original(items)
    items = face_items(3)
    scores = [d.score for d in detector.detect(items)]
    localizations = localizer.localize(items)
    assert calls == [3]
    assert [loc.details["score"] for loc in localizations] == scores


def test_untrained_heads_are_reported_as_such() -> None:
    detector = build_component(plugin.forensic_register_detectors()[0], tiny_settings(), BuildContext())
    detection = detector.detect(face_items(1))[0]
    assert detection.details["heads"] == "untrained" and "meaningless" in detection.details["note"]
    assert detection.details["layers"] == [2, 3, 4]
    assert "heads untrained" in detector.weights_identity()


def test_the_threshold_decides_the_label() -> None:
    items = face_items(2)
    context = BuildContext()
    spec = plugin.forensic_register_detectors()[0]
    always = build_component(spec, tiny_settings(threshold=0.0), context).detect(items)
    never = build_component(spec, tiny_settings(threshold=1.0), context).detect(items)
    assert {d.label for d in always} == {"fake"} and {d.label for d in never} == {"real"}


def test_localization_carries_mask_and_named_layer_maps_at_item_resolution() -> None:
    localizer = build_component(plugin.forensic_register_localizers()[0], tiny_settings(), BuildContext())
    items = face_items(2)
    for item, result in zip(items, localizer.localize(items), strict=True):
        assert result.mask.dtype == bool and result.mask.shape == (item.height, item.width)
        np.testing.assert_array_equal(result.mask, result.heatmap >= 0.5)
        assert list(result.layers) == [f"layer {n} fake-correlation" for n in (2, 3, 4)]
        for layer_map in result.layers.values():
            assert layer_map.shape == (item.height, item.width)
            assert 0.0 <= layer_map.min() <= layer_map.max() <= 1.0


def test_vision_target_exposes_the_open_clip_visual_tower_and_the_score() -> None:
    torch = pytest.importorskip("torch")
    detector = build_component(plugin.forensic_register_detectors()[0], tiny_settings(), BuildContext())
    items = face_items(3)
    target = detector.vision_target(items)
    assert target.family == "open_clip" and target.model is detector.runtime.model.clip.visual
    assert tuple(target.inputs.shape) == (3, 3, 32, 32)
    seen = []
    handle = target.model.transformer.resblocks[-1].register_forward_hook(lambda *args: seen.append(1))
    try:
        inputs = target.inputs.clone().requires_grad_(True)
        logits = target.forward(inputs)
        logits.sum().backward()
    finally:
        handle.remove()
    assert seen == [1] and logits.shape == (3,)
    assert inputs.grad is not None and inputs.grad.abs().sum() > 0
    scores = [d.score for d in detector.detect(items)]
    np.testing.assert_allclose(torch.sigmoid(logits).detach().numpy(), scores, atol=1e-5)


def test_descriptions_are_extendable_in_yaml() -> None:
    settings = KfdSettings.model_validate(
        yaml.safe_load(
            """
            backbone: kfd-tiny
            pretrained: null
            descriptions: {pristine: ["a real face"]}
            extra_descriptions: {deepfake: ["a face with a warped jawline"]}
            """
        )
    )
    detector = build_component(plugin.forensic_register_detectors()[0], settings, BuildContext())
    descriptions = detector.runtime.config.descriptions
    assert descriptions["pristine"] == ["a real face"]
    assert descriptions["deepfake"][-1] == "a face with a warped jawline" and len(descriptions["deepfake"]) > 1


def test_model_key_ignores_reporting_settings_only() -> None:
    base = tiny_settings()
    assert base.model_key() == tiny_settings(threshold=0.1, mask_threshold=0.9, batch_size=1).model_key()
    assert base.model_key() != tiny_settings(layers=(1, 2)).model_key()


@pytest.mark.parametrize("name", ["kfd-tiny.yaml", "kfd.yaml"])
def test_example_pipelines_give_detector_and_localizer_the_same_model(name: str) -> None:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    detector = KfdSettings.model_validate(data["detectors"][0]["settings"])
    localizer = KfdSettings.model_validate(data["localizers"][0]["settings"])
    assert detector.model_key() == localizer.model_key()


def test_batched_inference_equals_one_image_at_a_time_without_the_cache() -> None:
    detector = build_component(plugin.forensic_register_detectors()[0], tiny_settings(batch_size=2), BuildContext())
    items = face_items(4)  # two batches, mixed sizes: exercises grouping by shape and chunking
    together = detector.runtime.analyse(items, use_cache=False)
    alone = [detector.runtime.analyse([item], use_cache=False)[0] for item in items]
    np.testing.assert_allclose([a.score for a in together], [a.score for a in alone], atol=1e-5)
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a.mask, b.mask, atol=1e-4)


@pytest.mark.parametrize("visual_prompts", [None, 3], ids=["no-prompts", "3-visual-prompts"])
def test_the_daam_explainer_traces_the_kfd_decision(visual_prompts: int | None) -> None:
    daam_plugin = pytest.importorskip("forensic_daam.plugin")
    context = BuildContext()
    settings = tiny_settings(visual_prompts=visual_prompts)
    detector = build_component(plugin.forensic_register_detectors()[0], settings, context)
    assert detector.vision_target(face_items(1)).suffix_tokens == (visual_prompts or 0)
    spec = daam_plugin.forensic_register_explainers()[0]
    explainer = build_component(spec, spec.settings(), context)
    items = face_items(2)
    explanations = explainer.explain(items, detector=detector, detections=detector.detect(items))
    for item, explanation in zip(items, explanations, strict=True):
        assert explanation.maps["daam"].shape == (item.height, item.width)


def test_an_image_changed_in_place_is_analysed_again() -> None:
    detector = build_component(plugin.forensic_register_detectors()[0], tiny_settings(), BuildContext())
    items = face_items(1)
    before = detector.detect(items)[0].score
    items[0].image[...] = 255 - items[0].image
    assert detector.detect(items)[0].score != before
