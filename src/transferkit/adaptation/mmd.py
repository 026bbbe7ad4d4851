"""Multi-kernel maximum mean discrepancy (MK-MMD), the alignment loss of DAN.

For source features ``x_1..x_m`` and target features ``y_1..y_n`` (m and n may
differ) and a kernel ``k``, the squared MMD is estimated by the quadratic-time

* biased (V-statistic) estimator, the default, always >= 0 and exactly 0 when the two
  batches are equal::

      MMD_b^2 = 1/m^2 sum_ij k(x_i, x_j) + 1/n^2 sum_ij k(y_i, y_j) - 2/(mn) sum_ij k(x_i, y_j)

* unbiased (U-statistic) estimator (``unbiased=True``; needs m, n >= 2, can be < 0)::

      MMD_u^2 = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
                - 2/(mn) sum_ij k(x_i, y_j)

(Gretton et al., JMLR 2012, Eqs. 3 and 5). DAN's linear-time estimator is not provided:
with batches of a few hundred the quadratic one is cheap and has lower variance.

The kernel is the mean of Gaussian kernels over a family of bandwidths::

    k(a, b) = 1/U * sum_u exp(-||a - b||^2 / (mult_u * base)),   mult_u in {1/4, 1/2, 1, 2, 4}

where ``base`` is the **median heuristic**: the median of the squared pairwise
distances ``||a - b||^2`` over all distinct pairs of the pooled batch (source and
target together); their mean when over half the pairs coincide (median 0). ``base`` is detached, i.e. treated as a constant of the batch, as DAN
implementations do: no gradient flows through the median. (The loss's value does not
change when every feature is scaled by one factor; with ``base`` detached its gradient
still has a small component along that scaling, which a ``base`` left in the graph would
cancel.) DAN learns the kernel
weights ``beta_u`` by maximising test power; like most implementations we use equal
weights (the mean, so the loss stays in [0, 2] whatever the number of kernels).

References:
    Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep Adaptation
    Networks", ICML 2015.
    Gretton, Borgwardt, Rasch, Schoelkopf & Smola, "A Kernel Two-Sample Test", JMLR 13, 2012.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from transferkit.errors import TransferkitError


def _median_of_distinct_pairs(sq_dist: torch.Tensor) -> torch.Tensor:
    n = sq_dist.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=sq_dist.device)
    values = sq_dist[i, j].sort().values
    k = values.numel()
    # Average of the two middle values (the usual median), unlike torch.median's lower one.
    return 0.5 * (values[(k - 1) // 2] + values[k // 2])


def _mean_of_distinct_pairs(sq_dist: torch.Tensor) -> torch.Tensor:
    n = sq_dist.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=sq_dist.device)
    return sq_dist[i, j].mean()


def mk_mmd(
    f_s: torch.Tensor,
    f_t: torch.Tensor,
    kernel_mults: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
    unbiased: bool = False,
) -> torch.Tensor:
    """Squared multi-kernel MMD between source and target features.

    Args:
        f_s: Source features (m, D).
        f_t: Target features (n, D); n may differ from m.
        kernel_mults: Bandwidth multipliers of the median-heuristic base.
        unbiased: Use the unbiased U-statistic instead of the biased V-statistic.

    Returns:
        Scalar float32 estimate of MMD^2 (computed in float64 even under autocast:
        differences of kernel means lose too much precision in half precision, and squared
        distances of near points far from 0 cancel in float32).
    """
    if f_s.dim() != 2 or f_t.dim() != 2 or f_s.shape[1] != f_t.shape[1]:
        raise TransferkitError(
            f"f_s and f_t must be (batch, D) with the same D, got {tuple(f_s.shape)} and {tuple(f_t.shape)}.",
            "pass 2-D feature batches from the same shared layers.",
        )
    m, n = f_s.shape[0], f_t.shape[0]
    min_batch = 2 if unbiased else 1
    if m < min_batch or n < min_batch:
        raise TransferkitError(
            f"mk_mmd(unbiased={unbiased}) needs at least {min_batch} examples per domain, got {m} and {n}.",
            "use bigger batches" + ("" if not unbiased else " or unbiased=False") + ".",
        )
    if len(kernel_mults) == 0 or min(kernel_mults) <= 0:
        raise TransferkitError(
            f"kernel_mults must be a non-empty list of positive numbers, got {tuple(kernel_mults)}.",
            "use e.g. (0.5, 1, 2).",
        )

    with torch.autocast(device_type=f_s.device.type, enabled=False):
        # float64: ||a||^2 + ||b||^2 - 2ab cancels in float32 for near points far from 0 (confident softmax
        # outputs: half the distinct pairs of a review's batch read as 0 apart, the median 0 for 3e-8, and
        # gradients of 5e28). It avoids the (m+n, m+n, D) tensor of explicit differences.
        x = torch.cat([f_s, f_t]).double()  # (m + n, D)
        sq_norm = x.pow(2).sum(1)
        # clamp the rounding negatives, and zero the diagonal exactly.
        sq_dist = (sq_norm[:, None] + sq_norm[None, :] - 2.0 * x @ x.T).clamp_min(0.0)
        eye = torch.eye(m + n, dtype=torch.bool, device=x.device)
        sq_dist = sq_dist.masked_fill(eye, 0.0)
        # base is 0 only when most points coincide: then the mean of the distinct pairs' distances (a kernel of
        # width ~0 reads every pair as 'same' or 'apart'); all coinciding, the clamp turns 0/0 into 0, not NaN.
        base = _median_of_distinct_pairs(sq_dist.detach())
        if base <= 0:
            base = _mean_of_distinct_pairs(sq_dist.detach())
        base = base.clamp_min(torch.finfo(torch.float64).tiny)
        kernel = torch.stack([torch.exp(-sq_dist / (mult * base)) for mult in kernel_mults]).mean(0)

        k_ss, k_tt, k_st = kernel[:m, :m], kernel[m:, m:], kernel[:m, m:]
        if unbiased:
            within_s = (k_ss.sum() - k_ss.diagonal().sum()) / (m * (m - 1))
            within_t = (k_tt.sum() - k_tt.diagonal().sum()) / (n * (n - 1))
        else:
            within_s, within_t = k_ss.mean(), k_tt.mean()
        return (within_s + within_t - 2.0 * k_st.mean()).float()
