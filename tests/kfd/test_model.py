"""KFD model: shapes, ranges, and equality of every stage with an independent computation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

import torch.nn.functional as F  # noqa: E402

from forensic_kfd.backbone import load_backbone  # noqa: E402
from forensic_kfd.descriptions import CLASS_NAMES  # noqa: E402
from forensic_kfd.model import KfdConfig, KfdModel, default_layers  # noqa: E402

DESCRIPTIONS = {"pristine": ["a real face", "a genuine photo"], "deepfake": ["a fake face", "a blended face"]}


def build(layers: tuple[int, ...] = (2, 4), context_tokens: int = 2, visual_prompts: int = 0, seed: int = 0):
    backbone = load_backbone("kfd-tiny", None, seed=seed)
    config = KfdConfig(
        layers=layers, descriptions=DESCRIPTIONS, context_tokens=context_tokens, visual_prompts=visual_prompts
    )
    torch.manual_seed(seed)
    return KfdModel(backbone.clip, backbone.tokenizer, config).eval(), backbone


def images(batch: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def randomise_heads(model: KfdModel, seed: int = 7) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if not name.startswith("clip."):
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)


def test_output_shapes_and_value_ranges() -> None:
    model, _ = build(layers=(2, 3, 4))
    with torch.no_grad():
        out = model(images(3))
    assert out.score_logits.shape == (3,)
    assert out.mask_logits.shape == (3, 2, 32, 32)
    assert out.mask_logits_low.shape == (3, 2, 8, 8)  # the localizer head runs at 1/4 of the input size
    assert out.correlation.shape == (3, 3, 2, 4, 4)  # 32 px / 8 px patches = 4 x 4 grid
    assert out.image_features.shape == (3, 32)
    for probabilities in (out.scores, out.fake_mask, out.fake_mask_low, out.fake_correlation):
        assert torch.isfinite(probabilities).all()
        assert probabilities.min() >= 0 and probabilities.max() <= 1
    assert out.correlation.abs().max() <= model.config.logit_scale + 1e-3  # cosine x 100
    torch.testing.assert_close(out.image_features.norm(dim=-1), torch.ones(3))


def test_pooled_features_are_encode_image_of_the_same_pass() -> None:
    model, backbone = build()
    batch = images(2)
    with torch.no_grad():
        out = model(batch)
        expected = backbone.clip.encode_image(batch, normalize=True)
    torch.testing.assert_close(out.image_features, expected)


def test_correlation_maps_equal_an_independent_computation() -> None:
    model, backbone = build(layers=(1, 3))
    randomise_heads(model)
    batch = images(2)
    classes = F.normalize(torch.randn(2, 32, generator=torch.Generator().manual_seed(3)), dim=-1)
    visual = backbone.clip.visual
    with torch.no_grad():
        out = model(batch, classes)
        # independent path: open_clip's own forward_intermediates, then projection and cosine by hand
        tokens = visual.forward_intermediates(batch, indices=[0, 2], output_fmt="NLC", intermediates_only=True)
        for position, patch_tokens in enumerate(tokens["image_intermediates"]):
            linear = model.projections[position]
            projected = visual.ln_post(patch_tokens) @ linear.weight.t() + linear.bias
            cosine = torch.einsum("bpd,cd->bcp", F.normalize(projected, dim=-1), classes)
            expected = (100.0 * cosine).reshape(2, 2, 4, 4)
            torch.testing.assert_close(out.correlation[:, position], expected, rtol=1e-4, atol=1e-4)


def test_untrained_projections_start_from_the_backbone_projection() -> None:
    model, backbone = build(layers=(4,))
    batch = images(1)
    with torch.no_grad():
        out = model(batch)
        tokens = backbone.clip.visual.forward_intermediates(batch, indices=[3], output_fmt="NLC")
        dense = F.normalize(
            backbone.clip.visual.ln_post(tokens["image_intermediates"][0]) @ backbone.clip.visual.proj, dim=-1
        )
        expected = 100.0 * dense @ model.class_embeddings().t()
    torch.testing.assert_close(out.correlation[0, 0].flatten(1).t(), expected[0], rtol=1e-4, atol=1e-4)


def test_class_embeddings_without_context_average_encode_text() -> None:
    model, backbone = build(context_tokens=0)
    with torch.no_grad():
        embeddings = model.class_embeddings()
        for index, name in enumerate(CLASS_NAMES):
            features = backbone.clip.encode_text(backbone.tokenizer(DESCRIPTIONS[name]), normalize=True)
            torch.testing.assert_close(embeddings[index], F.normalize(features.mean(0), dim=0))


def test_context_vectors_are_injected_in_place_of_the_placeholders() -> None:
    model, backbone = build(context_tokens=3)
    placeholder = backbone.tokenizer(["X"])[0, 1]
    with torch.no_grad():
        model.prompts.context.copy_(backbone.clip.token_embedding.weight[placeholder].expand(2, 3, -1))
        embeddings = model.class_embeddings()
        for index, name in enumerate(CLASS_NAMES):
            texts = [f"X X X {sentence}" for sentence in DESCRIPTIONS[name]]
            features = backbone.clip.encode_text(backbone.tokenizer(texts), normalize=True)
            torch.testing.assert_close(embeddings[index], F.normalize(features.mean(0), dim=0), rtol=1e-5, atol=1e-5)


def test_each_class_has_its_own_context() -> None:
    model, _ = build(context_tokens=2)
    with torch.no_grad():
        before = model.class_embeddings()
        model.prompts.context[1].add_(0.5)
        after = model.class_embeddings()
    torch.testing.assert_close(after[0], before[0])
    assert not torch.allclose(after[1], before[1])


def test_visual_prompts_join_the_token_sequence_only_during_the_forward() -> None:
    model, backbone = build(visual_prompts=3)
    plain, _ = build(visual_prompts=0)
    seen = []
    block = backbone.clip.visual.transformer.resblocks[0]
    handle = block.register_forward_hook(lambda module, args, output: seen.append(output.shape[1]))
    try:
        with torch.no_grad():
            out = model(images(1))
            reference = plain(images(1))
    finally:
        handle.remove()
    assert seen == [1 + 16 + 3]  # class token, 4 x 4 patches, 3 prompts
    assert out.correlation.shape == reference.correlation.shape
    assert not torch.allclose(out.correlation, reference.correlation)
    assert not block._forward_hooks and not backbone.clip.visual.ln_pre._forward_hooks


def test_forward_is_differentiable_through_the_visual_tower() -> None:
    model, backbone = build()
    batch = images(2).requires_grad_(True)
    fired = []
    handle = backbone.clip.visual.transformer.resblocks[1].register_forward_hook(lambda *args: fired.append(1))
    try:
        model(batch).score_logits.sum().backward()
    finally:
        handle.remove()
    assert fired == [1]
    assert batch.grad is not None and batch.grad.abs().sum() > 0


def test_batch_results_equal_single_image_results() -> None:
    model, _ = build()
    randomise_heads(model)
    batch = images(3)
    with torch.no_grad():
        together = model(batch)
        alone = [model(batch[i : i + 1]) for i in range(3)]
    torch.testing.assert_close(together.score_logits, torch.cat([o.score_logits for o in alone]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(together.mask_logits, torch.cat([o.mask_logits for o in alone]), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("depth", "expected"), [(12, (6, 9, 12)), (24, (12, 18, 24)), (4, (2, 3, 4)), (1, (1,))])
def test_default_layers_spread_over_the_second_half(depth: int, expected: tuple[int, ...]) -> None:
    assert default_layers(depth) == expected


@pytest.mark.parametrize("layers", [(0, 2), (2, 5), (3, 3), ()])
def test_layers_outside_the_backbone_are_rejected(layers: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="layers"):
        build(layers=layers)


def test_config_round_trips_through_its_dict() -> None:
    config = KfdConfig(layers=(2, 4), descriptions=DESCRIPTIONS, context_tokens=2, visual_prompts=1)
    assert KfdConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
