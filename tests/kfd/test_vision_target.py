"""The KFD detector's vision target declares what its decision reads and how its input was prepared."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_core import BuildContext
from forensic_core.testing import build_component
from forensic_kfd import plugin

from .conftest import face_items, tiny_settings


def _detector(**changes: object) -> object:
    return build_component(plugin.forensic_register_detectors()[0], tiny_settings(**changes), BuildContext())


def test_the_target_declares_a_patch_readout_and_whole_item_boxes() -> None:
    items = face_items(3)
    target = _detector().vision_target(items)
    assert target.readout == "patches"
    assert target.input_boxes == tuple((0.0, 0.0, float(item.width), float(item.height)) for item in items)


def test_the_score_reads_patch_tokens_of_the_last_block_not_the_class_token() -> None:
    """What the declaration says, checked on the network: the last block's [class] row gets no gradient."""
    torch = pytest.importorskip("torch")
    detector = _detector()
    target = detector.vision_target(face_items(2))
    resblocks = target.model.transformer.resblocks
    outputs: list[torch.Tensor] = []

    def keep(module: object, args: tuple[object, ...], output: torch.Tensor) -> None:
        output.retain_grad()
        outputs.append(output)

    handle = resblocks[-1].register_forward_hook(keep)
    try:
        with torch.enable_grad():
            inputs = target.inputs.clone().requires_grad_(True)
            target.forward(inputs).sum().backward()
    finally:
        handle.remove()
    tokens = outputs[0] if outputs[0].shape[0] == 2 else outputs[0].transpose(0, 1)
    gradient = outputs[0].grad if outputs[0].shape[0] == 2 else outputs[0].grad.transpose(0, 1)
    grid = detector.runtime.model.grid_size
    assert tokens.shape[1] == 1 + grid[0] * grid[1]
    assert torch.count_nonzero(gradient[:, 0]) == 0
    assert bool((gradient[:, 1:].abs().sum(dim=-1) > 0).all())


@pytest.mark.parametrize("visual_prompts", [None, 3], ids=["no-prompts", "3-visual-prompts"])
def test_daam_through_the_explainer_explains_the_last_block_too(visual_prompts: int | None) -> None:
    daam_plugin = pytest.importorskip("forensic_daam.plugin")
    context = BuildContext()
    detector = build_component(
        plugin.forensic_register_detectors()[0], tiny_settings(visual_prompts=visual_prompts), context
    )
    spec = daam_plugin.forensic_register_explainers()[0]
    items = face_items(2)
    explanations = build_component(spec, spec.settings(), context).explain(items, detector=detector, detections=None)
    for item, explanation in zip(items, explanations, strict=True):
        share = explanation.details["block_share"]
        assert explanation.details["readout"] == "patch tokens"
        assert share[-1] > 0 and np.isclose(sum(share), 1.0, atol=1e-3)
        assert explanation.maps["daam"].shape == (item.height, item.width) and explanation.maps["daam"].max() > 0
    # the authors' [class] readout on the same decision: the last block has nothing to show
    explainer = build_component(spec, spec.settings(readout="class"), context)
    wrong = explainer.explain(items, detector=detector, detections=None)
    assert all(explanation.details["block_share"][-1] == 0.0 for explanation in wrong)
