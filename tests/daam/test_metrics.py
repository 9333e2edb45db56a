"""Faithfulness metrics: batched results equal a per-sample loop, and they rank saliency maps sensibly."""

from __future__ import annotations

import math

import pytest
import torch

from forensic_daam import causal_metric, perturbation_test
from forensic_daam.metrics import gaussian_blur


class RegionModel(torch.nn.Module):
    """Logit of class 1 = mean of the top-left 4 x 4 block of channel 0; class 0 = its negative."""

    def forward(self, x):
        evidence = x[:, 0, :4, :4].mean(dim=(-2, -1)) * 4
        return torch.stack([-evidence, evidence], dim=1)


@pytest.fixture
def images():
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(4)) * 0.1
    x[:, 0, :4, :4] += 1.0
    return x


@pytest.fixture
def good_saliency():
    s = torch.zeros(3, 8, 8)
    s[:, :4, :4] = 1.0
    return s + torch.linspace(0, 0.01, 64).reshape(8, 8)


def _looped(model, images, saliency, targets, mode, step):
    curves = []
    for image, sal, target in zip(images, saliency, targets, strict=True):
        order = torch.argsort(-sal.flatten(), stable=True)
        substrate = torch.zeros_like(image) if mode == "deletion" else gaussian_blur(image[None])[0]
        current = image.clone() if mode == "deletion" else substrate.clone()
        n = math.ceil(64 / step)
        probs = []
        for i in range(n + 1):
            if i:
                chosen = order[(i - 1) * step : i * step]
                rows, cols = chosen // 8, chosen % 8
                source = substrate if mode == "deletion" else image
                current[:, rows, cols] = source[:, rows, cols]
            probs.append(model(current[None]).softmax(-1)[0, target])
        probs = torch.stack(probs)
        curves.append(probs)
    curves = torch.stack(curves)
    auc = (curves.sum(1) - curves[:, 0] / 2 - curves[:, -1] / 2) / (curves.shape[1] - 1)
    return curves, auc


@pytest.mark.parametrize("mode", ["deletion", "insertion"])
def test_batched_causal_metric_equals_a_per_sample_loop(images, good_saliency, mode):
    model = RegionModel()
    saliency = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(6))
    saliency[0, 0, :] = 0.5  # ties are broken by position, stably
    result = causal_metric(model, images, saliency, [1, 1, 0], mode=mode, pixels_per_step=5, batch_size=7)
    curves, auc = _looped(model, images, saliency, [1, 1, 0], mode, 5)
    assert result.probabilities.shape == (3, math.ceil(64 / 5) + 1)
    assert torch.allclose(result.probabilities, curves, atol=1e-6)
    assert torch.allclose(result.auc, auc, atol=1e-6)


def test_default_step_is_one_image_row(images, good_saliency):
    assert causal_metric(RegionModel(), images, good_saliency, [1, 1, 1]).pixels_per_step == 8


def test_evidence_first_saliency_scores_better_than_its_inverse(images, good_saliency):
    model = RegionModel()
    targets = [1, 1, 1]
    good_del = causal_metric(model, images, good_saliency, targets, mode="deletion").auc
    bad_del = causal_metric(model, images, -good_saliency, targets, mode="deletion").auc
    good_ins = causal_metric(model, images, good_saliency, targets, mode="insertion").auc
    bad_ins = causal_metric(model, images, -good_saliency, targets, mode="insertion").auc
    assert (good_del < bad_del).all() and (good_ins > bad_ins).all()


def test_saliency_maps_of_another_size_are_resized(images, good_saliency):
    small = good_saliency[:, ::2, ::2]
    result = causal_metric(RegionModel(), images, small, [1, 1, 1], mode="deletion")
    assert result.auc.shape == (3,) and torch.isfinite(result.auc).all()


def test_positive_perturbation_hurts_more_than_negative(images, good_saliency):
    model = RegionModel()
    positive = perturbation_test(model, images, good_saliency, [1, 1, 1], positive=True)
    negative = perturbation_test(model, images, good_saliency, [1, 1, 1], positive=False)
    assert positive.correct.shape == (3, 10) and positive.accuracy[0] == 1
    assert positive.auc < negative.auc
    assert negative.accuracy[:7].eq(1).all()  # the evidence (25 % of pixels) survives until 75 % are zeroed


def test_unknown_metric_options_raise(images, good_saliency):
    with pytest.raises(ValueError):
        causal_metric(RegionModel(), images, good_saliency, [1, 1, 1], mode="erase")
    with pytest.raises(ValueError):
        causal_metric(RegionModel(), images, good_saliency, [1, 1, 1], probability="logit")
