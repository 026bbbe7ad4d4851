"""Model selection for domain adaptation without target labels.

Every criterion returns a score where **higher is better**. None of them reads a target
label: they use source labels (held-out source validation split), target *inputs*, or
both. The oracle (best checkpoint on target test labels) is deliberately absent here;
the protocol may record target test accuracy through ``TransferTask.monitor`` for the
report, and nothing in this module ever sees it.

* ``source_val`` - accuracy on the held-out source validation split (with source
  BatchNorm statistics). Cheap and robust, but blind to the target: it cannot tell an
  adapted model from the source model.
* ``entropy`` (the default of every DA method) - minus the mean prediction entropy on
  unlabelled target inputs
  (Morerio et al., "Minimal-Entropy Correlation Alignment", ICLR 2018). Rewards
  confident predictions, including confidently wrong or collapsed ones.
* ``snd`` - soft neighbourhood density (Saito et al., "Tune it the Right Way:
  Unsupervised Validation of Domain Adaptation via Soft Neighborhood Density", ICCV
  2021). With ``p_i`` the L2-normalised softmax output of target example ``i``,
  ``S_ij = p_i . p_j`` (i != j) and ``P_i = softmax_j(S_ij / tau)`` (tau = 0.05)::

      SND = mean_i H(P_i)

  A well-clustered target (each example with many close neighbours) has high SND.
* ``bnm`` - the nuclear norm of the target prediction matrix, divided by ``sqrt(N * C)``
  (Batch Nuclear-norm Maximization, Cui et al., CVPR 2020; used as a validator by
  Musgrave et al., "Three New Validators and a Large-Scale Benchmark Ranking for
  Unsupervised Domain Adaptation", 2022). With ``P`` the (N, C) softmax outputs::

      BNM = ||P||_* / sqrt(N * C)

  It grows with confidence *and* with the number of classes predicted: one-hot
  predictions spread evenly over the C classes score 1, all in one class ``1 / sqrt(C)``.
* ``im`` - information maximisation: the entropy of the mean prediction minus the mean
  entropy of the predictions, ``H(mean_i p_i) - mean_i H(p_i)`` (the objective of SHOT-IM,
  Liang et al., ICML 2020). Confident and diverse predictions score high; a collapse to one
  class loses the first term.
* ``dev`` - Deep Embedded Validation (You et al., "Towards Accurate Model Selection in
  Deep Unsupervised Domain Adaptation", ICML 2019). A logistic domain classifier on
  features gives density ratios ``w_i = (n_s / n_t) p(t | x_i) / p(s | x_i)`` for held-
  out source examples; the importance-weighted source risk with a control variate
  estimates the target risk::

      L_i = w_i * CE_i,   eta = -Cov(L, w) / Var(w),   R_dev = mean(L) + eta * mean(w) - eta

  The score is ``-R_dev``. It is the only criterion here that estimates target risk
  (exactly so under covariate shift) and it cannot be fooled by collapsed predictions,
  because it is built on source labels.
* ``last`` - no selection: the final checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from transferkit.adaptation.domain_bn import eval_domain
from transferkit.adaptation.entropy import entropy
from transferkit.errors import TransferkitError

CRITERIA = ("entropy", "snd", "bnm", "im", "dev", "source_val", "last")


def entropy_score(probs_t: torch.Tensor) -> float:
    """Minus the mean entropy of target predictions (N, C)."""
    return -float(entropy(probs_t).mean())


def snd_score(probs_t: torch.Tensor, temperature: float = 0.05) -> float:
    """Soft neighbourhood density of target predictions (N, C), N >= 2."""
    p = F.normalize(probs_t.float(), dim=1)
    sim = p @ p.T  # (N, N)
    sim.fill_diagonal_(-math.inf)  # an example is not its own neighbour
    neighbours = F.softmax(sim / temperature, dim=1)
    return float(entropy(neighbours).mean())


def bnm_score(probs_t: torch.Tensor) -> float:
    """Nuclear norm of target predictions (N, C) over ``sqrt(N * C)``: in (0, 1]."""
    p = probs_t.float()
    return float(torch.linalg.matrix_norm(p, ord="nuc")) / math.sqrt(p.shape[0] * p.shape[1])


def im_score(probs_t: torch.Tensor) -> float:
    """Entropy of the mean target prediction minus the mean entropy of the predictions (N, C)."""
    p = probs_t.float()
    return float(entropy(p.mean(0, keepdim=True))[0] - entropy(p).mean())


def dev_score(
    feat_train_s: np.ndarray,
    feat_t: np.ndarray,
    feat_val_s: np.ndarray,
    loss_val_s: np.ndarray,
    seed: int = 0,
) -> float:
    """Minus the DEV estimate of the target risk.

    Args:
        feat_train_s: Source features (Ns, D) that train the domain classifier.
        feat_t: Target features (Nt, D), unlabelled.
        feat_val_s: Held-out source features (Nv, D).
        loss_val_s: Per-example cross-entropy (Nv,) on the held-out source examples.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([feat_train_s, feat_t])
    d = np.concatenate([np.zeros(len(feat_train_s)), np.ones(len(feat_t))])
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=1.0, max_iter=500, random_state=seed).fit(scaler.transform(x), d)
    p_t = np.clip(clf.predict_proba(scaler.transform(feat_val_s))[:, 1], 1e-6, 1 - 1e-6)
    w = (len(feat_train_s) / len(feat_t)) * p_t / (1 - p_t)  # density ratio p_t(x) / p_s(x)
    weighted = w * loss_val_s
    var_w = w.var(ddof=1) if len(w) > 1 else 0.0
    eta = -np.cov(weighted, w, ddof=1)[0, 1] / var_w if var_w > 0 else 0.0
    return -float(weighted.mean() + eta * w.mean() - eta)


@dataclass
class SelectionData:
    """The label-free evidence every checkpoint is scored on (fixed subsets, no target labels).

    Attributes:
        x_target: Target inputs (Nt, ...): unlabelled pool (and labelled inputs, if any).
        x_source: Source training inputs (Ns, ...) for DEV's domain classifier.
        x_source_val, y_source_val: Held-out source split (Nv, ...), (Nv,).
    """

    x_target: torch.Tensor
    x_source: torch.Tensor | None
    x_source_val: torch.Tensor | None
    y_source_val: torch.Tensor | None


@torch.no_grad()
def _outputs(model, x: torch.Tensor, domain: str, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    feats, logits = [], []
    with eval_domain(model, domain):
        for i in range(0, len(x), batch_size):
            f = model.features(x[i : i + batch_size])
            feats.append(f)
            logits.append(model.specific(f))
    return torch.cat(feats), torch.cat(logits)


def score_checkpoint(model, criterion: str, data: SelectionData, step: int, seed: int = 0) -> float:
    """Score ``model`` (higher is better) by ``criterion`` on ``data``. Leaves it in eval mode."""
    if criterion not in CRITERIA:
        raise TransferkitError(f"unknown selection criterion {criterion!r}.", f"use one of: {', '.join(CRITERIA)}.")
    if criterion == "last":
        return float(step)
    needs_source = criterion in ("dev", "source_val")
    if needs_source and (data.x_source_val is None or len(data.x_source_val) == 0):
        raise TransferkitError(
            f"selection {criterion!r} needs the held-out source validation split, but the task has none.",
            "use selection: entropy, bnm, im or snd (target inputs only), or last.",
        )
    if criterion == "source_val":
        _, logits = _outputs(model, data.x_source_val, "source")
        return float((logits.argmax(1) == data.y_source_val).float().mean())
    f_t, z_t = _outputs(model, data.x_target, "target")
    if criterion == "entropy":
        return entropy_score(F.softmax(z_t, 1))
    if criterion == "snd":
        return snd_score(F.softmax(z_t, 1))
    if criterion == "bnm":
        return bnm_score(F.softmax(z_t, 1))
    if criterion == "im":
        return im_score(F.softmax(z_t, 1))
    f_s, _ = _outputs(model, data.x_source, "source")
    f_v, z_v = _outputs(model, data.x_source_val, "source")
    loss_v = F.cross_entropy(z_v, data.y_source_val, reduction="none")
    return dev_score(f_s.cpu().numpy(), f_t.cpu().numpy(), f_v.cpu().numpy(), loss_v.cpu().numpy(), seed)


# A chosen checkpoint whose most predicted class takes this share of the target inputs, and
# this much more than the model before adaptation gave it, has collapsed (entropy and SND
# reward collapsed predictions: they are confident).
COLLAPSED_SHARE, COLLAPSE_RISE = 0.9, 0.2


def top_share(model, x_target: torch.Tensor) -> tuple[int, float]:
    """(most predicted class, its share of ``x_target``) under ``model`` (target statistics)."""
    _, z = _outputs(model, x_target, "target")
    counts = torch.bincount(z.argmax(1), minlength=z.shape[1])
    top = int(counts.argmax())
    return top, float(counts[top]) / max(1, len(x_target))


def collapsed(share_before: float, share: float, classes: list[str]) -> bool:
    """Most target inputs in one class, far more than before adapting (``COLLAPSED_SHARE``, ``COLLAPSE_RISE``),
    or as many as before where the model before adapting had collapsed too: a source model that sent a blurred
    target to one class, then a `dan` that sent it to another, had risen by nothing and was deployed unsaid (a trial)."""
    return len(classes) >= 2 and share >= COLLAPSED_SHARE and (share >= share_before + COLLAPSE_RISE
                                                                or share_before >= COLLAPSED_SHARE)


def collapse_note(name: str, criterion: str, before: tuple[int, float], after: tuple[int, float],
                  classes: list[str]) -> str | None:  # fmt: skip
    """Says when the chosen checkpoint sends most target inputs to one class, far more than the
    model before adaptation did (the target's classes may be that unbalanced; rarely)."""
    (_, share0), (top, share) = before, after
    if not collapsed(share0, share, classes):
        return None
    other = "dev or source_val (they read source labels)" if criterion in ("entropy", "snd", "bnm", "im") else "another criterion"
    return (f"{name}: the checkpoint chosen by {criterion} predicts {classes[top]!r} for {share:.0%} of the target "
            f"inputs (the model before adaptation: {share0:.0%} for its most predicted class): its predictions "
            f"collapsed, unless the target is that unbalanced. Try selection: {other}, fewer steps, or a lower "
            "shared_lr_mult.")
