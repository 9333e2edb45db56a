"""Reference saliency methods used in the faithfulness comparison."""

from __future__ import annotations

import torch

from forensic_daam import attention_rollout, daam, grad_cam


def test_rollout_of_one_block_is_half_the_head_mean_class_attention(kit, images):
    model = kit.tiny_vit(depth=1, reg_tokens=1)
    attention = daam(model, images, keep_internals=True).attention  # (B, 1, H, N) class rows
    expected = attention[:, 0].mean(dim=1)[:, 2:].reshape(3, 4, 4) / 2
    assert torch.allclose(attention_rollout(model, images), expected, atol=1e-6)


def test_grad_cam_is_a_non_negative_map_per_image_that_depends_on_the_target(vit, images):
    first, other = grad_cam(vit, images, 0), grad_cam(vit, images, 3)
    assert first.shape == (3, 4, 4) and (first >= 0).all()
    assert not torch.allclose(first, other)
    assert all(p.grad is None for p in vit.parameters())
    assert not any(m._forward_hooks for m in vit.modules())


def test_patch_rollout_of_one_block_averages_the_patch_rows(kit, images):
    model = kit.tiny_vit(depth=1, global_pool="avg")
    inputs = []
    handle = model.blocks[0].attn.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    attn = model.blocks[0].attn
    batch, tokens, _ = inputs[0].shape
    qkv = attn.qkv(inputs[0]).reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    mixed = ((qkv[0] @ qkv[1].transpose(-2, -1)) * attn.scale).softmax(dim=-1).mean(dim=1) + torch.eye(tokens)
    expected = (mixed / 2)[:, 1:, 1:].mean(dim=1).reshape(3, 4, 4)
    assert torch.allclose(attention_rollout(model, images, readout="patches"), expected, atol=1e-6)
