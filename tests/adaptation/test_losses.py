"""Tests for the domain adaptation losses: hand-computed values, signs, shapes, finiteness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from transferkit.adaptation import (
    MAX_MULTILINEAR_DIM,
    CDANLoss,
    DomainDiscriminator,
    coral_loss,
    dann_loss,
    domain_adversarial_loss,
    entropy,
    entropy_loss,
    entropy_weights,
    grad_reverse,
    mcc_loss,
    mk_mmd,
    multilinear_map,
    warmup_coeff,
)
from transferkit.errors import TransferkitError


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# --- gradient reversal -------------------------------------------------------------------


@pytest.mark.parametrize("coeff", [0.0, 0.3, 1.0, 2.5])
def test_grad_reverse_is_identity_forward_and_negated_scaled_backward(coeff: float) -> None:
    x = torch.randn(4, 3, requires_grad=True)
    y = grad_reverse(x, coeff)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -coeff))


def test_grad_reverse_rejects_negative_coeff() -> None:
    with pytest.raises(TransferkitError, match="coeff"):
        grad_reverse(torch.zeros(2), -1.0)


def test_warmup_coeff_starts_at_zero_increases_and_approaches_max() -> None:
    assert warmup_coeff(0.0) == 0.0
    values = [warmup_coeff(p, max_coeff=0.5) for p in np.linspace(0, 1, 11)]
    assert (np.diff(values) > 0).all()
    assert warmup_coeff(1.0, max_coeff=0.5) == pytest.approx(0.5, abs=1e-4)
    assert warmup_coeff(0.5, gamma=10.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    with pytest.raises(TransferkitError, match="progress"):
        warmup_coeff(1.5)


# --- entropy -------------------------------------------------------------------------------


def test_entropy_of_uniform_one_hot_and_logits() -> None:
    probs = torch.tensor([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(entropy(probs), torch.tensor([math.log(4), 0.0]))
    logits = torch.tensor(
        [[0.0, 0.0], [1000.0, -1000.0]]
    )  # the second would overflow a naive softmax
    assert torch.allclose(entropy_loss(logits), torch.tensor(math.log(2) / 2))


def test_entropy_weights_sum_to_batch_size_and_favour_confident_examples() -> None:
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.99, 0.01]])
    w = entropy_weights(probs)
    assert w.sum().item() == pytest.approx(3.0)
    assert w[0] < w[1] < w[2]
    h = -(probs * probs.log()).sum(1).numpy()
    raw = 1 + np.exp(-h)
    assert np.allclose(w.numpy(), 3 * raw / raw.sum(), atol=1e-6)


# --- domain discriminator / DANN -----------------------------------------------------------


def test_discriminator_outputs_one_logit_per_example_and_loss_is_log2_at_chance() -> None:
    disc = DomainDiscriminator(in_dim=6, hidden=16)
    f_s, f_t = 0.01 * torch.randn(8, 6), 0.01 * torch.randn(5, 6)
    assert disc(f_s).shape == (8,)
    loss = domain_adversarial_loss(disc, f_s, f_t, coeff=1.0)
    assert loss.item() == pytest.approx(math.log(2), abs=0.05)
    assert torch.allclose(dann_loss(disc, f_s, f_t, 1.0), loss)


def test_discriminator_learns_separable_domains() -> None:
    disc = DomainDiscriminator(in_dim=4, hidden=16)
    f_s, f_t = torch.randn(32, 4) + 2.0, torch.randn(32, 4) - 2.0
    first = dann_loss(disc, f_s, f_t, coeff=1.0).item()
    # Plain gradient descent by hand: torch.optim's first use costs seconds of lazy imports.
    for _ in range(30):
        disc.zero_grad()
        loss = dann_loss(disc, f_s, f_t, coeff=1.0)
        loss.backward()
        with torch.no_grad():
            for p in disc.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 0.1 < first


def test_features_receive_reversed_scaled_gradient() -> None:
    disc = DomainDiscriminator(in_dim=3, hidden=8)
    f_s = torch.randn(4, 3, requires_grad=True)
    f_t = torch.randn(6, 3, requires_grad=True)
    domain_adversarial_loss(disc, f_s, f_t, coeff=0.7).backward()
    # The same loss computed without reversal, by hand.
    plain_s, plain_t = f_s.detach().clone().requires_grad_(), f_t.detach().clone().requires_grad_()
    plain = 0.5 * (
        F.binary_cross_entropy_with_logits(disc(plain_s), torch.ones(4))
        + F.binary_cross_entropy_with_logits(disc(plain_t), torch.zeros(6))
    )
    plain.backward()
    assert torch.allclose(f_s.grad, -0.7 * plain_s.grad, atol=1e-6)
    assert torch.allclose(f_t.grad, -0.7 * plain_t.grad, atol=1e-6)


def test_weighted_loss_is_per_domain_weighted_mean() -> None:
    disc = DomainDiscriminator(in_dim=3, hidden=8)
    f_s, f_t = torch.randn(4, 3), torch.randn(2, 3)
    w_s, w_t = torch.tensor([1.0, 2.0, 0.0, 1.0]), torch.tensor([3.0, 1.0])
    with torch.no_grad():
        bce_s = F.binary_cross_entropy_with_logits(disc(f_s), torch.ones(4), reduction="none")
        bce_t = F.binary_cross_entropy_with_logits(disc(f_t), torch.zeros(2), reduction="none")
        expected = 0.5 * ((w_s * bce_s).sum() / 4 + (w_t * bce_t).sum() / 4)
        got = domain_adversarial_loss(disc, f_s, f_t, 1.0, w_s, w_t)
        ones = domain_adversarial_loss(disc, f_s, f_t, 1.0, torch.ones(4), torch.ones(2))
    assert torch.allclose(got, expected)
    assert torch.allclose(ones, domain_adversarial_loss(disc, f_s, f_t, 1.0))
    with pytest.raises(TransferkitError, match="weights_source"):
        domain_adversarial_loss(disc, f_s, f_t, 1.0, torch.ones(3))


# --- CDAN ----------------------------------------------------------------------------------


def test_multilinear_map_is_flattened_outer_product() -> None:
    f, g = torch.randn(5, 3), torch.softmax(torch.randn(5, 4), 1)
    h = multilinear_map(f, g)
    assert h.shape == (5, 12)
    assert torch.allclose(h[2].view(3, 4), torch.outer(f[2], g[2]))


def test_cdan_picks_randomized_map_above_threshold() -> None:
    small = CDANLoss(feature_dim=8, num_classes=4, hidden=16)
    assert not small.randomized and small.discriminator.in_dim == 32
    big = CDANLoss(feature_dim=MAX_MULTILINEAR_DIM // 2 + 1, num_classes=2, out_dim=64, hidden=16)
    assert big.randomized and big.discriminator.in_dim == 64
    assert CDANLoss(8, 4, randomized=True, out_dim=16, hidden=8).discriminator.in_dim == 16


@pytest.mark.parametrize("randomized", [False, True])
def test_cdan_loss_is_finite_reverses_feature_gradients_and_detaches_predictions(
    randomized: bool,
) -> None:
    cdan = CDANLoss(feature_dim=6, num_classes=3, randomized=randomized, out_dim=32, hidden=16)
    f_s, f_t = torch.randn(5, 6, requires_grad=True), torch.randn(7, 6, requires_grad=True)
    logits_s = torch.randn(5, 3, requires_grad=True)
    g_s, g_t = torch.softmax(logits_s, 1), torch.softmax(torch.randn(7, 3), 1)
    loss = cdan(f_s, g_s, f_t, g_t, coeff=1.0)
    assert loss.shape == () and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(f_s.grad).all() and f_s.grad.abs().sum() > 0
    assert logits_s.grad is None  # predictions are detached, as in the paper
    assert all(p.grad is not None for p in cdan.discriminator.parameters())
    if randomized:  # the random matrices are fixed buffers, not parameters
        assert len(list(cdan.random_map.parameters())) == 0
        assert set(dict(cdan.named_buffers())) == {"random_map.r_f", "random_map.r_g"}


def test_cdan_entropy_conditioning_uses_normalised_weights() -> None:
    cdan = CDANLoss(feature_dim=4, num_classes=3, hidden=8)
    f_s, f_t = torch.randn(4, 4), torch.randn(3, 4)
    g_s, g_t = torch.softmax(3 * torch.randn(4, 3), 1), torch.softmax(3 * torch.randn(3, 3), 1)
    h_s, h_t = multilinear_map(f_s, g_s), multilinear_map(f_t, g_t)
    expected = domain_adversarial_loss(
        cdan.discriminator, h_s, h_t, 1.0, entropy_weights(g_s), entropy_weights(g_t)
    )
    assert torch.allclose(cdan(f_s, g_s, f_t, g_t), expected)
    cdan.entropy_conditioning = False
    plain = domain_adversarial_loss(cdan.discriminator, h_s, h_t)
    assert torch.allclose(cdan(f_s, g_s, f_t, g_t), plain)


def test_cdan_rejects_logits_and_wrong_shapes() -> None:
    cdan = CDANLoss(feature_dim=4, num_classes=3, hidden=8)
    f, logits = torch.randn(2, 4), torch.randn(2, 3) * 5
    with pytest.raises(TransferkitError, match="softmax"):
        cdan(f, logits, f, torch.softmax(logits, 1))
    with pytest.raises(TransferkitError, match="features"):
        cdan(torch.randn(2, 5), torch.softmax(logits, 1), f, torch.softmax(logits, 1))


# --- MK-MMD --------------------------------------------------------------------------------


def test_mmd_one_point_vs_one_point_by_hand() -> None:
    # ||x - y||^2 = 25 is also the median squared distance, so k(x, y) = exp(-25 / (mult * 25)).
    x, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    assert mk_mmd(x, y, kernel_mults=(1.0,)).item() == pytest.approx(2 - 2 * math.exp(-1), rel=1e-6)
    assert mk_mmd(x, y, kernel_mults=(0.5,)).item() == pytest.approx(2 - 2 * math.exp(-2), rel=1e-6)


def test_mmd_is_zero_for_same_batch_and_grows_with_shift() -> None:
    x = torch.randn(40, 8)
    assert abs(mk_mmd(x, x).item()) < 1e-6
    near = mk_mmd(x, torch.randn(40, 8) + 0.5).item()
    far = mk_mmd(x, torch.randn(40, 8) + 3.0).item()
    assert 0 < near < far


def numpy_mmd(xs: np.ndarray, xt: np.ndarray, mults: tuple[float, ...], unbiased: bool) -> float:
    x = np.concatenate([xs, xt]).astype(np.float64)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    base = np.median(d2[np.triu_indices(len(x), k=1)])
    k = np.mean([np.exp(-d2 / (m * base)) for m in mults], axis=0)
    m = len(xs)
    kss, ktt, kst = k[:m, :m], k[m:, m:], k[:m, m:]
    if unbiased:
        return (
            (kss.sum() - np.trace(kss)) / (m * (m - 1))
            + (ktt.sum() - np.trace(ktt)) / (len(xt) * (len(xt) - 1))
            - 2 * kst.mean()
        )
    return kss.mean() + ktt.mean() - 2 * kst.mean()


@pytest.mark.parametrize("unbiased", [False, True])
def test_mmd_matches_numpy_reference_with_unequal_batches(unbiased: bool) -> None:
    xs, xt = torch.randn(6, 3), torch.randn(4, 3) + 1.0
    mults = (0.25, 0.5, 1.0, 2.0, 4.0)
    expected = numpy_mmd(xs.numpy(), xt.numpy(), mults, unbiased)
    assert mk_mmd(xs, xt, mults, unbiased=unbiased).item() == pytest.approx(
        expected, rel=1e-4, abs=1e-6
    )


def test_mmd_of_confident_predictions_keeps_its_bandwidth_and_gradients() -> None:
    """Near points far from 0 (softmax outputs of one class): float32's ||a||^2 + ||b||^2 - 2ab read half the
    pairs as 0 apart, the median bandwidth 0 for 3e-8, and gave gradients of 5e28 (a review)."""
    torch.manual_seed(0)
    z = ((torch.randn(128, 3) + torch.tensor([3.0, 0, 0])) * 5).requires_grad_()
    p = torch.softmax(z, 1)
    loss = mk_mmd(p[:64], p[64:])
    loss.backward()
    exact = numpy_mmd(p[:64].detach().double().numpy(), p[64:].detach().double().numpy(),
                      (0.25, 0.5, 1.0, 2.0, 4.0), False)  # fmt: skip
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(exact, rel=1e-4)
    assert float(z.grad.abs().max()) < 1.0
    mostly = torch.zeros(10, 4)
    mostly[0] = 1.0  # over half the pairs coincide: the median is 0, the mean of the distances is the bandwidth
    assert 0.0 < mk_mmd(mostly[:5], mostly[5:], kernel_mults=(1.0,)).item() < 1.0
    assert mk_mmd(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0.0  # all coincide: 0, not NaN


def test_mmd_rejects_too_small_batches_for_unbiased() -> None:
    with pytest.raises(TransferkitError, match="at least 2"):
        mk_mmd(torch.randn(1, 3), torch.randn(3, 3), unbiased=True)


# --- CORAL ---------------------------------------------------------------------------------


def test_coral_zero_for_identical_batches() -> None:
    x = torch.randn(10, 5)
    assert coral_loss(x, x).item() == pytest.approx(0.0, abs=1e-10)


def test_coral_hand_computed_2d() -> None:
    # C_s = diag(2, 0), C_t = diag(0, 2): ||C_s - C_t||_F^2 = 8, divided by 4 * 2^2.
    f_s, f_t = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, -1.0]])
    assert coral_loss(f_s, f_t).item() == pytest.approx(0.5)

    xs = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 3.0]])
    xt = np.array([[1.0, 1.0], [0.0, -1.0], [2.0, 2.0], [1.0, 0.0]])
    cs = (xs - xs.mean(0)).T @ (xs - xs.mean(0)) / (len(xs) - 1)
    ct = (xt - xt.mean(0)).T @ (xt - xt.mean(0)) / (len(xt) - 1)
    assert np.allclose(cs, np.cov(xs, rowvar=False))
    expected = ((cs - ct) ** 2).sum() / (4 * 2**2)
    got = coral_loss(torch.tensor(xs, dtype=torch.float32), torch.tensor(xt, dtype=torch.float32))
    assert got.item() == pytest.approx(expected, rel=1e-5)


# --- MCC -----------------------------------------------------------------------------------


def test_mcc_step_by_step() -> None:
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-1.0, 3.0, 1.0], [0.0, 0.0, 4.0]])
    t = 2.5
    z = logits / t
    y = np.exp(z - z.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)  # (4, 3) tempered softmax
    h = -(y * np.log(y)).sum(1)
    w = 1 + np.exp(-h)
    w = len(y) * w / w.sum()  # sums to the batch size
    c = y.T @ np.diag(w) @ y  # (3, 3) class confusion
    c = c / c.sum(0, keepdims=True)  # category normalisation
    expected = (c.sum() - np.trace(c)) / 3
    got = mcc_loss(torch.tensor(logits, dtype=torch.float32), temperature=t)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_mcc_near_zero_for_confident_distinct_predictions() -> None:
    logits = 100 * torch.eye(3)
    assert mcc_loss(logits).item() < 1e-6
    assert mcc_loss(torch.zeros(4, 3)).item() == pytest.approx(2 / 3)  # total confusion


# --- everything finite in float32 ----------------------------------------------------------


def test_all_losses_finite_with_gradients_in_float32() -> None:
    f_s = torch.randn(8, 5, requires_grad=True)
    f_t = (3 * torch.randn(6, 5)).requires_grad_()
    logits_t = (20 * torch.randn(6, 4)).requires_grad_()
    disc, cdan = DomainDiscriminator(5, 8), CDANLoss(5, 4, hidden=8)
    losses = [
        dann_loss(disc, f_s, f_t, 1.0),
        cdan(f_s, torch.softmax(torch.randn(8, 4), 1), f_t, torch.softmax(logits_t, 1), 1.0),
        mk_mmd(f_s, f_t),
        mk_mmd(f_s, f_t, unbiased=True),
        coral_loss(f_s, f_t),
        mcc_loss(logits_t),
        entropy_loss(logits_t),
    ]
    for loss in losses:
        assert loss.dtype == torch.float32 and loss.shape == () and torch.isfinite(loss)
    sum(losses).backward()
    for t in (f_s, f_t, logits_t):
        assert torch.isfinite(t.grad).all()


def test_statistics_losses_stay_float32_under_autocast() -> None:
    f_s, f_t, logits = torch.randn(8, 5), torch.randn(6, 5) + 1.0, torch.randn(6, 4)
    exact = [mk_mmd(f_s, f_t), coral_loss(f_s, f_t), mcc_loss(logits)]
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        under_amp = [mk_mmd(f_s, f_t), coral_loss(f_s, f_t), mcc_loss(logits)]
    for a, b in zip(exact, under_amp, strict=True):
        assert b.dtype == torch.float32 and torch.allclose(a, b)
