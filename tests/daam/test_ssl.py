"""Self-supervised DAAM: importance weights from a kNN vote (or a reference set) replace the class logit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from forensic_daam import KnnImportance, ReferenceImportance, daam_ssl, knn_vote


@pytest.fixture
def headless(kit):
    return kit.tiny_vit(num_classes=0)


@pytest.fixture
def bank():
    generator = torch.Generator().manual_seed(7)
    features = F.normalize(torch.randn(200, 32, generator=generator), dim=-1)
    labels = torch.randint(0, 6, (200,), generator=generator)
    return features, labels


def _dino_vote(features, bank, labels, k, temperature, num_classes):
    """DINO's eval_knn.py weighted vote, verbatim in spirit (one-hot scatter, exp(sim / T), sort)."""
    batch = features.shape[0]
    similarity = torch.mm(features, bank.T)
    distances, indices = similarity.topk(k, largest=True, sorted=True)
    candidates = labels.view(1, -1).expand(batch, -1)
    retrieved = torch.gather(candidates, 1, indices)
    one_hot = torch.zeros(batch * k, num_classes).scatter_(1, retrieved.view(-1, 1), 1)
    transform = distances.clone().div_(temperature).exp_()
    probs = torch.sum(one_hot.view(batch, -1, num_classes) * transform.view(batch, -1, 1), 1)
    return probs.sort(1, True)[1][:, 0], indices


def _looped_weights(features, bank, labels, predicted, indices):
    rows = []
    for query, cls, neighbours in zip(F.normalize(features, dim=-1), predicted, indices, strict=True):
        chosen = [bank[i] for i in neighbours if labels[i] == cls]
        p = torch.stack([query * b for b in chosen]).mean(dim=0)
        w = p / p.sum().abs()
        rows.append((w - w.min()) / (w.max() - w.min()))
    return torch.stack(rows)


def test_knn_weights_match_a_dino_style_vote_on_a_synthetic_bank(bank):
    features, labels = bank
    queries = torch.randn(5, 32, generator=torch.Generator().manual_seed(8))
    predicted, neighbours, _ = knn_vote(queries, features, labels, k=20, temperature=0.07, num_classes=6)
    dino_predicted, dino_indices = _dino_vote(F.normalize(queries, dim=-1), features, labels, 20, 0.07, 6)
    assert torch.equal(predicted, dino_predicted)
    assert torch.equal(neighbours, dino_indices)
    weights = KnnImportance(features, labels, k=20, temperature=0.07)(queries)
    expected = _looped_weights(queries, features, labels, dino_predicted, dino_indices)
    assert torch.allclose(weights, expected, atol=1e-6)
    assert weights.min() == 0 and weights.max() == 1


def test_constant_importance_becomes_all_ones():
    reference = torch.ones(1, 8)
    assert torch.equal(ReferenceImportance(reference)(torch.ones(2, 8)), torch.ones(2, 8))


def test_reference_set_extension_equals_the_vote_when_the_references_are_the_voted_neighbours(bank):
    features, labels = bank
    query = torch.randn(1, 32, generator=torch.Generator().manual_seed(9))
    predicted, neighbours, _ = knn_vote(query, features, labels, k=20)
    same_class = neighbours[0][labels[neighbours[0]] == predicted[0]]
    from_references = ReferenceImportance(features[same_class])(query)
    assert torch.allclose(from_references, KnnImportance(features, labels)(query), atol=1e-6)
    single = ReferenceImportance(features[0])(query)
    assert single.shape == (1, 32) and torch.isfinite(single).all()


def test_ssl_maps_are_linear_in_the_weights(headless, images):
    generator = torch.Generator().manual_seed(11)
    w1, w2 = torch.rand(32, generator=generator), torch.rand(32, generator=generator)
    one, two, both = daam_ssl(headless, images, w1), daam_ssl(headless, images, w2), daam_ssl(headless, images, w1 + w2)
    assert torch.allclose(both.coefficients, one.coefficients + two.coefficients, atol=1e-5, rtol=1e-5)
    assert torch.allclose(both.token_contributions, one.token_contributions + two.token_contributions, atol=1e-5)
    doubled = daam_ssl(headless, images, 2.5 * w1)
    assert torch.allclose(doubled.block_maps, 2.5 * one.block_maps, atol=1e-5)


def test_ssl_coefficients_are_raw_gradients_and_the_score_is_the_weighted_feature(headless, images):
    weights = torch.rand(32, generator=torch.Generator().manual_seed(12))
    result = daam_ssl(headless, images, weights)
    assert torch.equal(result.coefficients, result.gradients) and (result.coefficients < 0).any()
    with torch.no_grad():
        assert torch.allclose(result.scores, (headless(images) * weights).sum(dim=-1), atol=1e-5)


def test_callable_weights_are_computed_from_the_explained_forward(headless, images, bank):
    features, labels = bank
    importance = KnnImportance(features, labels, k=10)
    with torch.no_grad():
        precomputed = importance(headless(images))
    one_pass = daam_ssl(headless, images, importance)
    assert torch.allclose(one_pass.block_maps, daam_ssl(headless, images, precomputed).block_maps, atol=1e-6)


def test_weights_of_the_wrong_size_raise(headless, images):
    with pytest.raises(ValueError, match="dimensions"):
        daam_ssl(headless, images, torch.ones(7))
