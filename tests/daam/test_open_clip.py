"""DAAM through open_clip's visual tower (the KFD detector's ViT): module names and attention variants differ."""

from __future__ import annotations

import pytest
import torch
from open_clip.transformer import Transformer

from forensic_daam import UnsupportedModelError, daam


def _score(visual):
    def forward(x):
        return visual(x)[:, :3].sum(dim=-1)

    return forward


@pytest.fixture
def images():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def test_multihead_attention_tower_matches_the_reference_path(kit, images):
    visual = kit.tiny_clip().visual
    assert isinstance(visual.transformer.resblocks[0].attn, torch.nn.MultiheadAttention)
    result = daam(visual, images, forward=_score(visual))
    reference = kit.reference_open_clip_daam(visual, images, _score(visual))
    assert result.grid == (4, 4) and result.num_prefix_tokens == 1
    assert torch.allclose(result.block_maps, reference, atol=1e-5 * max(1.0, float(reference.abs().max())))


def test_overridden_attention_computes_what_the_model_computes(kit, images):
    visual = kit.tiny_clip().visual
    with torch.no_grad():
        expected = _score(visual)(images)
    assert torch.allclose(daam(visual, images, forward=_score(visual)).scores, expected, atol=1e-6)
    for module in visual.modules():
        assert "forward" not in module.__dict__ and not module._forward_hooks and not module._forward_pre_hooks


def test_sequence_first_transformer_gives_the_same_maps(kit, images):
    visual = kit.tiny_clip().visual
    batch_first = daam(visual, images, forward=_score(visual)).block_maps
    seq_first = Transformer(width=32, layers=3, heads=2, batch_first=False)
    seq_first.load_state_dict(visual.transformer.state_dict())
    visual.transformer = seq_first.eval()
    assert torch.allclose(daam(visual, images, forward=_score(visual)).block_maps, batch_first, atol=1e-6)


@pytest.mark.parametrize("variant", [{"qk_norm": True}, {"scale_heads": True, "scale_attn_inner": True}])
def test_open_clip_custom_attention_satisfies_the_class_token_identity(kit, images, variant):
    visual = kit.tiny_clip(**variant).visual
    assert not isinstance(visual.transformer.resblocks[0].attn, torch.nn.MultiheadAttention)
    result = daam(visual, images, forward=_score(visual), keep_internals=True)
    spatial = result.attention[..., None] * result.values.permute(0, 1, 3, 2, 4)
    token_sum = spatial.sum(dim=3).reshape(*result.class_outputs.shape)
    assert torch.allclose(token_sum, result.class_outputs, atol=1e-5)
    assert result.block_maps.shape == (2, 3, 4, 4) and (result.block_maps.sum(dim=(-2, -1)) > 0).any()


def test_custom_and_multihead_attention_agree_on_the_same_weights(kit, images):
    plain = kit.tiny_clip().visual
    custom = kit.tiny_clip(block_type="custom").visual
    custom.load_state_dict(plain.state_dict())
    expected = daam(plain, images, forward=_score(plain)).block_maps
    assert torch.allclose(daam(custom, images, forward=_score(custom)).block_maps, expected, atol=1e-5)


def test_attention_pooled_tower_is_rejected(kit):
    visual = kit.tiny_clip(pool_type="avg").visual
    with pytest.raises(UnsupportedModelError, match="pool"):
        daam(visual, torch.randn(1, 3, 32, 32))
