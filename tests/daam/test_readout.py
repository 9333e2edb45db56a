"""Readout rows: DAAM explains the tokens the decision actually reads ([class], patch tokens, several rows)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from forensic_daam import daam
from forensic_daam.attribution import normalize_block_maps


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    scale = max(1.0, float(b.abs().max()))
    return torch.allclose(a.float(), b.float(), atol=atol * scale, rtol=1e-4)


def patch_readout(model: nn.Module, layers: tuple[int, ...]) -> Any:
    """A KFD-like score: per chosen block, a nonlinear map of every patch token, averaged over patches."""
    generator = torch.Generator().manual_seed(11)
    weights = [torch.randn(model.embed_dim, generator=generator) for _ in layers]
    prefix = model.num_prefix_tokens

    def forward(images: torch.Tensor) -> torch.Tensor:
        captured: dict[int, torch.Tensor] = {}
        handles = [
            model.blocks[layer].register_forward_hook(lambda m, a, out, layer=layer: captured.__setitem__(layer, out))
            for layer in layers
        ]
        try:
            model.forward_features(images)
        finally:
            for handle in handles:
                handle.remove()
        return sum(
            torch.tanh(captured[layer][:, prefix:] @ w).mean(dim=1) for layer, w in zip(layers, weights, strict=True)
        )

    return forward


def _patch_rows(model: nn.Module, tokens: int) -> torch.Tensor:
    rows = torch.zeros(tokens, dtype=torch.bool)
    rows[model.num_prefix_tokens :] = True
    return rows


SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_patch_readout_maps_equal_the_formula_on_random_vits(kit, seed):
    model = kit.tiny_vit(depth=4)
    torch.manual_seed(seed)
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.15)
    images = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    forward = patch_readout(model, (1, 3))
    result = daam(model, images, forward=forward)
    assert torch.equal(result.readout, _patch_rows(model, 17).expand(3, -1))
    reference = kit.reference_readout_daam(model, images, forward, _patch_rows(model, 17))
    assert _close(result.block_maps, reference)
    # the last block takes part (its rectified map can still be all zero for some random weights: seed 1 is)
    assert (result.token_contributions[:, -1].abs().amax(dim=-1) > 0).all()


@pytest.mark.parametrize("class_token", [True, False])
def test_patch_mean_pooled_vit_reads_its_patch_tokens(kit, class_token):
    model = kit.tiny_vit(global_pool="avg", class_token=class_token, reg_tokens=0 if class_token else 1)
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    targets = torch.tensor([0, 3])
    result = daam(model, images, targets)
    rows = _patch_rows(model, model.num_prefix_tokens + 16)
    assert torch.equal(result.readout, rows.expand(2, -1))

    def score(x: torch.Tensor) -> torch.Tensor:
        return model(x).gather(1, targets[:, None]).squeeze(1)

    assert _close(result.block_maps, kit.reference_readout_daam(model, images, score, rows))
    assert (result.block_maps[:, -1].sum(dim=(-2, -1)) > 0).all()


def test_class_readout_of_a_patch_decision_leaves_the_last_block_empty(kit, images):
    """The failure the readout rows fix: the [class] row of the last block gets no gradient at all."""
    model = kit.tiny_vit()
    forward = patch_readout(model, (1, 2))
    wrong = daam(model, images, forward=forward, readout="class")
    assert torch.equal(wrong.block_maps[:, -1], torch.zeros_like(wrong.block_maps[:, -1]))
    assert (daam(model, images, forward=forward).block_maps[:, -1].sum(dim=(-2, -1)) > 0).all()


def test_class_readout_is_the_authors_path_and_auto_finds_it(kit, images):
    model = kit.tiny_vit(reg_tokens=2)
    auto = daam(model, images)
    explicit = daam(model, images, readout="class")
    assert torch.equal(auto.block_maps, explicit.block_maps) and torch.equal(auto.gradients, explicit.gradients)
    expected_rows = torch.zeros(3, model.num_prefix_tokens + 16, dtype=torch.bool)
    expected_rows[:, 0] = True
    assert torch.equal(auto.readout, expected_rows)
    reference = kit.reference_timm_daam(model, images, auto.targets)
    assert _close(auto.block_maps, reference["block_maps"])
    # the general formula with R = {[class]} is the same thing
    rows = torch.zeros(model.num_prefix_tokens + 16, dtype=torch.bool)
    rows[0] = True

    def score(x: torch.Tensor) -> torch.Tensor:
        return model(x).gather(1, auto.targets[:, None]).squeeze(1)

    assert _close(kit.reference_readout_daam(model, images, score, rows), reference["block_maps"])


def test_distilled_deit_reads_class_and_distillation_tokens(kit, images):
    model = kit.tiny_distilled_vit()
    result = daam(model, images)
    assert result.readout[:, :2].all() and not result.readout[:, 2:].any()
    rows = torch.zeros(18, dtype=torch.bool)
    rows[:2] = True

    def score(x: torch.Tensor) -> torch.Tensor:
        return model(x).gather(1, result.targets[:, None]).squeeze(1)

    assert _close(result.block_maps, kit.reference_readout_daam(model, images, score, rows))


def test_explicit_token_indices_and_patches_match_the_formula(kit, images):
    model = kit.tiny_vit()
    targets = torch.tensor([0, 1, 2])

    def score(x: torch.Tensor) -> torch.Tensor:
        return model(x).gather(1, targets[:, None]).squeeze(1)

    chosen = [0, 3, 7, 16]
    rows = torch.zeros(17, dtype=torch.bool)
    rows[chosen] = True
    result = daam(model, images, targets, readout=chosen)
    assert torch.equal(result.readout, rows.expand(3, -1))
    assert _close(result.block_maps, kit.reference_readout_daam(model, images, score, rows))
    # patch rows of a [class] classifier: the last block's patch rows get no gradient, earlier ones do
    patches = daam(model, images, targets, readout="patches")
    assert _close(patches.block_maps, kit.reference_readout_daam(model, images, score, _patch_rows(model, 17)))
    assert torch.equal(patches.block_maps[:, -1], torch.zeros_like(patches.block_maps[:, -1]))


def test_patch_readout_batch_equals_per_image(kit, images):
    model = kit.tiny_vit()
    forward = patch_readout(model, (0, 2))
    batch = daam(model, images, forward=forward)
    for index in range(images.shape[0]):
        single = daam(model, images[index : index + 1], forward=forward)
        assert _close(single.block_maps[0], batch.block_maps[index])
        assert _close(single.token_contributions[0], batch.token_contributions[index])


def test_readout_contributions_sum_to_gradient_dot_output_over_the_rows(kit, images):
    """Summed over all tokens j, the unrectified contributions give sum_{i in R} <ReLU(G_i), z_i> per block."""
    model = kit.tiny_vit()
    forward = patch_readout(model, (1, 2))
    outputs: list[torch.Tensor] = []
    handles = [
        block.attn.proj.register_forward_pre_hook(lambda m, args: outputs.append(args[0])) for block in model.blocks
    ]
    try:
        with torch.enable_grad():
            score = forward(images).sum()
            grads = torch.autograd.grad(score, outputs)
    finally:
        for handle in handles:
            handle.remove()
    result = daam(model, images, forward=forward)
    expected = torch.stack(
        [(g.clamp_min(0) * z)[:, 1:].sum(dim=(1, 2)) for g, z in zip(grads, outputs, strict=True)], dim=1
    )
    assert _close(result.token_contributions.sum(dim=-1), expected.detach())
    assert _close(result.coefficients, torch.stack([g.clamp_min(0)[:, 1:].sum(dim=1) for g in grads], dim=1))


def test_open_clip_patch_readout_matches_the_formula(kit):
    """The KFD case: open_clip tower (nn.MultiheadAttention), score read from patch tokens of two blocks."""
    visual = kit.tiny_clip().visual
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    weights = torch.randn(32, generator=torch.Generator().manual_seed(7))
    blocks = visual.transformer.resblocks

    def forward(x: torch.Tensor) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        handles = [blocks[i].register_forward_hook(lambda m, a, out: captured.append(out)) for i in (1, 2)]
        try:
            visual(x)
        finally:
            for handle in handles:
                handle.remove()
        return sum(torch.tanh(tokens[:, 1:17] @ weights).mean(dim=1) for tokens in captured)

    result = daam(visual, images, forward=forward)
    rows = torch.zeros(17, dtype=torch.bool)
    rows[1:] = True
    assert torch.equal(result.readout, rows.expand(2, -1))
    reference = kit.reference_open_clip_daam(visual, images, forward, rows=rows)
    assert _close(result.block_maps, reference)
    assert (result.block_maps[:, -1].sum(dim=(-2, -1)) > 0).all()


def test_block_normalisation_is_the_authors_min_max_before_accumulation(kit, images):
    model = kit.tiny_vit()
    raw = daam(model, images)
    normed = daam(model, images, normalize_blocks=True)
    expected = []
    for image in raw.block_maps:
        expected.append(torch.stack([(m - m.min()) / ((m - m.min()).max() + 1e-10) for m in image]))
    assert _close(normed.block_maps, torch.stack(expected))
    assert _close(normed.accumulated, normed.block_maps.cumsum(dim=1))
    assert torch.equal(normed.token_contributions, raw.token_contributions)
    zeros = normalize_block_maps(torch.zeros(1, 2, 3, 3))
    assert torch.isfinite(zeros).all() and not zeros.any()


@pytest.mark.parametrize(
    "readout, match",
    [("cls", "readout must be one of"), ([], "empty"), ([0, 99], "must lie in 0..16")],
)
def test_bad_readouts_raise(vit, images, readout, match):
    with pytest.raises(ValueError, match=match):
        daam(vit, images, readout=readout)


def test_class_readout_needs_a_class_token(kit, images):
    model = kit.tiny_vit(global_pool="avg", class_token=False)
    with pytest.raises(ValueError, match="needs a \\[class\\] token"):
        daam(model, images, readout="class")
