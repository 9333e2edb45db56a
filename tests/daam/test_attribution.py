"""DAAM on supervised timm ViTs: the correctness checks of daam.md that need no pretrained weights."""

from __future__ import annotations

import copy

import pytest
import torch

from forensic_daam import UnsupportedModelError, class_token_contributions, daam

ATOL = 1e-5


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = ATOL) -> bool:
    scale = max(1.0, float(b.abs().max()))
    return torch.allclose(a.float(), b.float(), atol=atol * scale, rtol=1e-4)


MODELS = {
    "plain": lambda kit: (kit.tiny_vit(), (32, 32)),
    "qk_norm": lambda kit: (kit.tiny_vit(qk_norm=True), (32, 32)),
    "registers": lambda kit: (kit.tiny_vit(reg_tokens=3), (32, 32)),
    "no_embed_class": lambda kit: (kit.tiny_vit(no_embed_class=True, reg_tokens=1), (32, 32)),
    "distilled": lambda kit: (kit.tiny_distilled_vit(), (32, 32)),
    "non_square": lambda kit: (kit.tiny_vit(img_size=(24, 40)), (24, 40)),
    "dynamic_size": lambda kit: (kit.tiny_vit(dynamic_img_size=True), (40, 16)),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_maps_equal_the_authors_compute_path(kit, name):
    model, size = MODELS[name](kit)
    images = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(3))
    targets = torch.tensor([1, 4])
    result = daam(model, images, targets, readout="class")
    reference = kit.reference_timm_daam(model, images, targets)
    grid = (size[0] // 8, size[1] // 8)
    assert result.grid == grid and result.block_maps.shape == (2, 3, *grid)
    assert result.num_prefix_tokens == model.num_prefix_tokens
    assert _close(result.block_maps, reference["block_maps"])
    assert _close(result.gradients, reference["gradients"])
    assert _close(result.coefficients, reference["gradients"].clamp_min(0))


def test_token_sum_of_spatial_features_equals_class_token_output(kit, images):
    model = kit.tiny_vit(reg_tokens=2)
    result = daam(model, images, keep_internals=True)
    spatial = result.attention[..., None] * result.values.permute(0, 1, 3, 2, 4)  # (B, L, H, N, d)
    token_sum = spatial.sum(dim=3).reshape(*result.class_outputs.shape)
    assert _close(token_sum, result.class_outputs)
    reference = kit.reference_timm_daam(model, images, result.targets)
    assert _close(reference["spatial"].sum(dim=2), reference["class_outputs"])
    assert _close(result.class_outputs, reference["class_outputs"])


def test_signed_map_summed_over_all_tokens_equals_gradient_dot_class_output(vit, images):
    result = daam(vit, images, keep_internals=True)
    signed = class_token_contributions(result.attention, result.values, result.gradients)
    expected = (result.gradients * result.class_outputs).sum(dim=-1)
    assert _close(signed.sum(dim=-1), expected)
    rectified = (result.coefficients * result.class_outputs).sum(dim=-1)
    assert _close(result.token_contributions.sum(dim=-1), rectified)


def test_depth_one_linear_toy_contributions_sum_to_score_difference(kit, images):
    model = kit.tiny_vit(depth=1)
    model.norm = torch.nn.Identity()
    with torch.no_grad():
        model.blocks[0].mlp.fc2.weight.zero_()
        model.blocks[0].mlp.fc2.bias.zero_()
    result = daam(model, images, 2, keep_internals=True)
    signed = class_token_contributions(result.attention, result.values, result.gradients).sum(dim=(1, 2))

    def zero_class_row(module, args):
        z = args[0].clone()
        z[:, 0] = 0
        return (z,)

    handle = model.blocks[0].attn.proj.register_forward_pre_hook(zero_class_row)
    try:
        with torch.no_grad():
            ablated = model(images)[:, 2]
    finally:
        handle.remove()
    assert _close(signed, result.scores - ablated)


def test_batch_equals_per_image(vit, images):
    batched = daam(vit, images, [0, 3, 1])
    for index, target in enumerate([0, 3, 1]):
        single = daam(vit, images[index : index + 1], target)
        assert _close(batched.block_maps[index], single.block_maps[0])
        assert _close(batched.coefficients[index], single.coefficients[0])


def test_fused_attention_equals_unfused(vit, images):
    fused_model = copy.deepcopy(vit)
    for block in fused_model.blocks:
        block.attn.fused_attn = True
    unfused_model = copy.deepcopy(vit)
    for block in unfused_model.blocks:
        block.attn.fused_attn = False
    fused, unfused = daam(fused_model, images), daam(unfused_model, images)
    assert torch.equal(fused.targets, unfused.targets)
    assert _close(fused.block_maps, unfused.block_maps)


def test_repeated_calls_are_identical(vit, images):
    first, second = daam(vit, images), daam(vit, images)
    assert torch.equal(first.block_maps, second.block_maps)
    assert torch.equal(first.coefficients, second.coefficients)


def test_accumulation_starts_with_first_block_grows_and_ends_with_the_sum(vit, images):
    result = daam(vit, images)
    assert (result.block_maps >= 0).all()
    assert torch.equal(result.accumulated[:, 0], result.block_maps[:, 0])
    assert (result.accumulated[:, 1:] >= result.accumulated[:, :-1] - 1e-7).all()
    assert _close(result.accumulated[:, -1], result.block_maps.sum(dim=1))


def test_target_forms_select_the_same_scores(vit, images):
    logits = vit(images).detach()
    top = daam(vit, images)
    assert torch.equal(top.targets, logits.argmax(dim=-1))
    assert _close(top.scores, logits.max(dim=-1).values)
    by_int = daam(vit, images, 2)
    assert by_int.targets.tolist() == [2, 2, 2] and _close(by_int.scores, logits[:, 2])
    by_list = daam(vit, images, [4, 0, 1])
    by_tensor = daam(vit, images, torch.tensor([4, 0, 1]))
    assert by_list.targets.tolist() == [4, 0, 1]
    assert torch.equal(by_list.block_maps, by_tensor.block_maps)
    assert _close(by_list.scores, logits[torch.arange(3), torch.tensor([4, 0, 1])])


@pytest.mark.parametrize("target", [5, -1, [0, 1, 7], [0, 1]])
def test_invalid_targets_raise(vit, images, target):
    with pytest.raises(ValueError):
        daam(vit, images, target)


def test_no_side_effects_on_the_model(vit, images):
    vit.train()
    vit.blocks[1].attn.qkv.weight.requires_grad_(False)
    state = copy.deepcopy(vit.state_dict())
    flags = {name: p.requires_grad for name, p in vit.named_parameters()}
    daam(vit, images)
    assert vit.training and all(m.training for m in vit.modules())
    assert {name: p.requires_grad for name, p in vit.named_parameters()} == flags
    assert all(p.grad is None for p in vit.parameters())
    for module in vit.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and "forward" not in module.__dict__
    assert all(torch.equal(state[k], v) for k, v in vit.state_dict().items())


def test_hooks_are_removed_when_the_forward_fails(vit, images):
    with pytest.raises(AssertionError, match="Input height"):
        daam(vit, images[:, :, :20], 0)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in vit.modules())


def test_works_inside_no_grad_inference_mode_and_with_frozen_parameters(vit, images):
    expected = daam(vit, images).block_maps
    for parameter in vit.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        assert _close(daam(vit, images).block_maps, expected)
    with torch.inference_mode():
        frozen_input = images.clone()
        assert _close(daam(vit, frozen_input).block_maps, expected)


def test_custom_forward_explains_a_score_computed_through_the_vit(vit, images):
    def fake_probability(x):
        return vit(x)[:, 3].sigmoid()

    result = daam(vit, images, forward=fake_probability)
    assert _close(result.scores, vit(images)[:, 3].sigmoid().detach())
    assert result.targets.tolist() == [-1, -1, -1]
    plain = daam(vit, images, 3)
    # d sigmoid(y)/dz = sigmoid'(y) dy/dz: same direction per image, so the maps are proportional.
    slope = (result.scores * (1 - result.scores))[:, None, None, None]
    assert _close(result.block_maps, plain.block_maps * slope)
    with pytest.raises(ValueError, match="target must be None"):
        daam(vit, images, 1, forward=fake_probability)


def test_forward_that_bypasses_the_model_is_reported(vit, images):
    with pytest.raises(UnsupportedModelError, match="did not run"):
        daam(vit, images, forward=lambda x: x.flatten(1)[:, :4])


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda kit: kit.tiny_vit(global_pool="map"), "global_pool='map'"),
        (lambda kit: torch.nn.Linear(3, 3), "not a supported Vision Transformer"),
        (lambda kit: kit.tiny_clip(), "whole CLIP model"),
    ],
)
def test_unsupported_models_raise_clear_errors(kit, build, match):
    with pytest.raises(UnsupportedModelError, match=match):
        daam(build(kit), torch.randn(1, 3, 32, 32))


def test_display_maps_are_in_unit_range_at_the_requested_size(vit, images):
    result = daam(vit, images)
    shown = result.display("sigmoid", size=(32, 32))
    assert shown.shape == (3, 3, 32, 32)
    assert torch.isfinite(shown).all() and shown.min() >= 0 and shown.max() <= 1
