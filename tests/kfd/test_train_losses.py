"""Each KFD training loss term on inputs with a known answer, and the batch-split invariance accumulation needs."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from forensic_kfd.training.losses import (  # noqa: E402
    MIN_TEMPERATURE,
    KnowledgeContrast,
    mask_dice_loss,
    mask_focal_loss,
    score_bce_loss,
)


def test_focal_loss_known_values() -> None:
    zero_logits = torch.zeros(2, 4, 4)
    ones = torch.ones(2, 4, 4)
    # p = 0.5 against target 1: BCE log 2, weight 0.5 ** gamma
    assert float(mask_focal_loss(zero_logits, ones, gamma=2.0)) == pytest.approx(0.25 * math.log(2), rel=1e-6)
    assert float(mask_focal_loss(zero_logits, ones, gamma=0.0)) == pytest.approx(math.log(2), rel=1e-6)
    # confident and right: almost nothing; confident and wrong: large
    assert float(mask_focal_loss(torch.full((1, 4, 4), -12.0), torch.zeros(1, 4, 4))) < 1e-8
    assert float(mask_focal_loss(torch.full((1, 4, 4), -12.0), torch.ones(1, 4, 4))) > 11.0


def test_dice_loss_known_values() -> None:
    ones = torch.ones(1, 4, 4)
    assert float(mask_dice_loss(ones, ones)) == pytest.approx(0.0, abs=1e-7)
    assert float(mask_dice_loss(torch.zeros(1, 4, 4), ones)) == pytest.approx(16 / 17, rel=1e-6)
    # a real (all-zero target): zero prediction costs nothing, a full one almost everything
    assert float(mask_dice_loss(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4))) == pytest.approx(0.0, abs=1e-7)
    assert float(mask_dice_loss(ones, torch.zeros(1, 4, 4))) == pytest.approx(16 / 17, rel=1e-6)


def test_score_bce_known_value() -> None:
    assert float(score_bce_loss(torch.zeros(3), torch.tensor([0.0, 1.0, 1.0]))) == pytest.approx(math.log(2))


def test_knowledge_contrast_known_value_and_learnable_temperature() -> None:
    types = torch.eye(3, 8)
    assert float(KnowledgeContrast(types).temperature.detach()) == pytest.approx(0.07, rel=1e-6)
    contrast = KnowledgeContrast(types, temperature=0.5)
    embeddings = torch.eye(3, 8)[[0, 2]] * 5.0  # scale is irrelevant: embeddings are normalised
    loss = contrast(embeddings, torch.tensor([0, 2]))
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 2))  # cosine 1 with the positive, 0 with 2 negatives
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    wrong = contrast(embeddings, torch.tensor([1, 1]))
    assert wrong.item() == pytest.approx(2.0 + expected, rel=1e-5)
    wrong.backward()
    assert contrast.log_temperature.grad is not None and float(contrast.log_temperature.grad) != 0.0
    with torch.no_grad():
        contrast.log_temperature.fill_(math.log(1e-4))
    assert float(contrast.temperature.detach()) == pytest.approx(MIN_TEMPERATURE)


def test_every_term_is_a_mean_over_images() -> None:
    """Half-batch losses average to the full-batch loss: accumulation and DDP then give the same gradient."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 6, 6, generator=generator)
    target = (torch.rand(4, 6, 6, generator=generator) > 0.5).float()
    contrast = KnowledgeContrast(torch.randn(5, 8, generator=generator))
    embeddings, types = torch.randn(4, 8, generator=generator), torch.tensor([0, 1, 4, 2])
    scores, labels = torch.randn(4, generator=generator), torch.tensor([0.0, 1.0, 1.0, 0.0])
    terms = [
        lambda s: mask_focal_loss(logits[s], target[s]),
        lambda s: mask_dice_loss(torch.sigmoid(logits[s]), target[s]),
        lambda s: score_bce_loss(scores[s], labels[s]),
        lambda s: contrast(embeddings[s], types[s]),
    ]
    for term in terms:
        whole = term(slice(0, 4)).item()
        halves = (term(slice(0, 2)).item() + term(slice(2, 4)).item()) / 2
        assert whole == pytest.approx(halves, rel=1e-6)
