"""Label shift: the target's class mix estimated without its labels, and the warning when it is
far from the source's.

Black-Box Shift Estimation (Lipton et al., ICML 2018): with ``C[i, j] = P_s(yhat = i | y = j)``,
the source model's confusion on held-out source examples, and ``mu[i] = P_t(yhat = i)``, the mean
predicted class on unlabelled target inputs, the target's class proportions ``q`` solve
``C q = mu`` when only the class mix changes (p(x | y) the same). Solved by least squares,
clipped at 0 and renormalised. Where ``C`` is near singular (smallest singular value below
``MIN_SINGULAR``: two classes the source model confuses), the predicted-class histogram ``mu``
is taken instead. Under a change of inputs too (the usual case here) ``C`` is the source's, not
the target's, so ``q`` is an estimate of the mix, not a measurement.

Why alignment suffers (Zhao et al., ICML 2019, with total variation for their JS distance):
once a method has made the target's features distributed as the source's, any classifier on
them predicts each class as often on the target as on the source, ``P_t(yhat) = P_s(yhat)``;
its target error is then at least ``TV(q, P_s(yhat)) >= TV(q, p) - err_s``, ``p`` the source's
class mix and ``err_s`` its source error. The warning is given when that floor, estimated,
reaches ``FLOOR`` = 1/2: aligned, the model could not get even half the target right. So high a
line because the estimate itself can be off by as much as the source model's error on the target
(each wrong prediction moves one example's mass to another class), unknown without target labels
and tens of points under a change of inputs: a lower one would also fire on balanced targets.
"""

from __future__ import annotations

import numpy as np
import torch

MIN_SINGULAR = 0.2  # below: C is too near singular for its inverse to be trusted (Lipton et al.'s bound ~ 1/sigma_min)
FLOOR = 0.5  # the target error alignment would force, TV(q, p) - err_s, from which it is said


def aligns(method) -> bool:
    """Whether ``method`` trains the target's features toward the source's (dann, cdan, dan, coral, mcc, im,
    self_training: source batches beside unlabelled target ones, methods/_adapt.py)."""
    return bool(getattr(method, "uses_unlabelled", False) and getattr(method, "trains_on_source", False))


def confusion(pred: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) ``P(yhat = i | y = j)`` (column j sums to 1; a class with no example: its unit column)."""
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (pred, y), 1.0)
    n = counts.sum(0)
    counts[:, n == 0] = np.eye(num_classes)[:, n == 0]
    return counts / np.maximum(counts.sum(0), 1.0)


def estimate_mix(pred_val: np.ndarray, y_val: np.ndarray, pred_target: np.ndarray, num_classes: int) -> np.ndarray:
    """(C,) the target's class proportions by BBSE, from the source model's predicted classes on
    held-out source examples (labelled ``y_val``) and on unlabelled target inputs."""
    mu = np.bincount(pred_target, minlength=num_classes) / max(len(pred_target), 1)
    c = confusion(np.asarray(pred_val), np.asarray(y_val), num_classes)
    if np.linalg.svd(c, compute_uv=False).min() < MIN_SINGULAR:
        return mu
    q = np.clip(np.linalg.lstsq(c, mu, rcond=None)[0], 0.0, None)
    return q / q.sum() if q.sum() > 0 else mu


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(np.asarray(a) - np.asarray(b)).sum())


def label_shift_note(q: np.ndarray, p: np.ndarray, source_error: float, classes: list[str], where: str) -> str | None:
    """One sentence when the estimated target mix ``q`` is so far from the source's ``p`` that aligning
    the two domains would force at least ``FLOOR`` target error (``TV(q, p) - source_error``); else None."""
    tv = total_variation(q, p)
    if tv - max(source_error, 0.0) < FLOOR:
        return None
    top = np.argsort(-np.abs(q - p))[:3]
    said = ", ".join(f"{classes[i]!r} {100 * q[i]:.0f} % (source {100 * p[i]:.0f} %)" for i in top)
    return (f"{where}: the target's class mix, estimated from the source model's predictions on its unlabelled "
            f"inputs, differs from the source's by {100 * tv:.0f} % (total variation; largest: {said}); the "
            "alignment methods (dann, cdan, dan, coral, mcc, im, self_training) assume the two mixes match and can "
            "then lose to source_only: label a few target examples per class (k >= 1), or compare them with "
            "source_only.")  # fmt: skip


@torch.no_grad()
def target_mix_note(source_model, x_val: torch.Tensor, y_val: torch.Tensor, x_target: torch.Tensor,
                    classes: list[str], where: str) -> str | None:  # fmt: skip
    """:func:`label_shift_note` for ``source_model`` (its head on the source's classes), its held-out
    source examples ``(x_val, y_val)`` and unlabelled target inputs ``x_target`` (N, *input_shape)."""
    from transferkit.train.supervised import predict_proba

    if len(x_val) == 0 or len(x_target) == 0:
        return None
    y = y_val.cpu().numpy()
    pred_val = predict_proba(source_model, x_val).argmax(1).cpu().numpy()
    pred_t = predict_proba(source_model, x_target).argmax(1).cpu().numpy()
    q = estimate_mix(pred_val, y, pred_t, len(classes))
    p = np.bincount(y, minlength=len(classes)) / len(y)
    return label_shift_note(q, p, float((pred_val != y).mean()), classes, where)
