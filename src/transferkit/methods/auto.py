"""``auto``: choose method, cut point and shared learning rate from cheap signals, then train.

Only the labelled target examples (x_i, y_i), i = 1..n = k·C, and the source model are
read; nothing is fine-tuned to decide. With phi_c the source's features after c shared
blocks (c = 1..B), rho_c the same architecture's features with random weights (what
``scratch`` starts from) and rho_0 the (normalised, pooled) input itself:

    0. sanity   the source model must beat chance on its own held-out validation split
                (binomial z >= source_z); otherwise its features hold no learned signal
                (not for a pretrained encoder tuned on source data: its features are the
                pretrained ones whatever its source head learnt; the guard judges them)
    1. cut      c* = argmax_c s(phi_c); the reference r* = argmax s(r), r in {rho_0..rho_B}
    2. shift    if ``adaptation_method`` (default ``self_training+mcc``) is not null, the
                classes match, unlabelled target examples exist and the source head's
                accuracy drops from its validation split to the labelled target
                (two-proportion z >= shift_z) but not below chance there (binomial z >
                -below_chance_z, one-sided 1 %: a head wrong in a systematic way says the same
                names mean other classes), the domain shifted (Ben-David et al., Machine
                Learning 2010): train ``adaptation_method`` (default: FixMatch pseudo-labels,
                Sohn et al., NeurIPS 2020, on top of minimum class confusion, Jin et al., ECCV
                2020; ``name+base`` names a self-training method on a base DA method). The
                frozen-feature checks below cannot judge a method that re-learns the features
                from the target, so they are only reported
    3. guard    transfer iff every check passes:
                k >= 2: leave-one-out nearest-class-mean accuracy (s), paired sign test of
                        phi_c* against r*: z >= evidence_z (McNemar, Psychometrika 1947), AND
                        log Bayes factor n·C·(LogME(phi) - LogME(rho)) of the LogME-best
                        source and reference features >= evidence_log_bf (You et al., ICML
                        2021; Kass & Raftery, JASA 1995: > 3 is "strong"); OR, same classes,
                        the source model itself classifies the labelled examples above chance
                        (binomial z >= evidence_z), it passed step 0 on its own validation split
                        (not merely too small to judge) and the sign test is not against phi_c*
                        (z > -evidence_z): on a small target that both feature sets separate,
                        the checks above cannot see a difference that scratch still pays for
                a pretrained text encoder (one reference, its own random weights, which LogME
                        favours on few examples): refused only when the sign test is
                        against it (z < -evidence_z), never at k = 1
                k = 1:  no held-out estimate exists; s = LogME, and the source is refused
                        only on strong evidence against it (log Bayes factor < one_shot_log_bf
                        < 0): at one shot a sound source's features nearly always beat none
                        (Tian et al., ECCV 2020, "Rethinking Few-Shot Image Classification");
                        OR, same classes, the source model's own check as at k >= 2 (there is
                        no sign test): n·C makes the factor swing by tens at one shot
    4. method   no transfer  -> scratch (the reason starts "negative-transfer guard:"), else
                new classes (a new head) and c* = B: new_task_method (gradual unfreezing,
                Howard & Ruder, ACL 2018: the random head is trained before the shared
                blocks are opened to its gradients), else
                transfer_method (k >= 2) or one_shot_method (k = 1; L2-SP's pull to the
                source weights, Li et al., ICML 2018) with, when c* < B, freeze = c* and
                shared_lr_mult = retrain_lr_mult (keep the general blocks, re-learn the
                source-specific ones; Yosinski et al., NeurIPS 2014); when c* = B the
                method's own LP-FT schedule (Kumar et al., ICLR 2022)

The chosen method is trained with min(its default steps, max_steps) for each of its
``*steps`` budgets (``gradual``'s ``stage_steps``: at most max_steps / its stages, at least
1, so that its stages together stay within max_steps when it has no more stages than that;
:func:`step_caps`), from the same seed
as if it had been run on its own, so ``auto`` reproduces that method exactly. The
decision and every signal are stored in ``model.config["auto_decision"]`` and
``task.extras["auto_decision"]``; see :mod:`transferkit.ranking.evidence` and docs/auto.md.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from pydantic import NonNegativeFloat, PositiveInt

from transferkit.errors import TransferkitError, TransferkitWarning, did_you_mean, user_stacklevel
from transferkit.methods._pretrained_rate import for_task
from transferkit.methods.base import METHODS, Method, Params, TransferTask, get_method, register_method
from transferkit.models import TransferModel
from transferkit.ranking.candidates import pretrained_text_encoder


class AutoParams(Params):
    max_steps: PositiveInt = 1000  # cap on every *steps budget of the chosen method (gradual: its stages together)
    evidence_z: float = 1.64  # >= 2 examples per class: sign-test z the source must reach (one-sided 5 %) ...
    evidence_log_bf: float = 3.0  # ... and LogME log Bayes factor ("strong" evidence, Kass & Raftery)
    one_shot_log_bf: float = -3.0  # 1 example per class: refuse only on strong evidence against the source
    source_z: float = 3.0  # the source model must beat chance on its own validation split by this z
    transfer_method: str = "finetune"  # trains the transfer choice; needs `freeze`, `shared_lr_mult`
    one_shot_method: str = "l2sp"  # the same at 1 example per class, where the pull to the source matters most
    retrain_lr_mult: NonNegativeFloat = 1.0  # shared-layer rate when the cut is inside the model
    new_task_method: str = "gradual"  # new classes, cut at the last block: the new head first, then the blocks
    adaptation_method: str | None = "self_training+mcc"  # same classes + a domain shift; "name+base" or "name"
    shift_z: float = 3.0  # the source head must lose this much (two-proportion z) from source to target
    below_chance_z: float = 2.33  # ... and not fall below chance by this z (one-sided 1 %): labels named otherwise


def _features(model: TransferModel, x: torch.Tensor, cut: int) -> np.ndarray:
    from transferkit.ranking.candidates import cut_features

    return cut_features(model, x, cut).cpu().numpy()


def measure(task: TransferTask) -> dict:
    """Signals for every feature set: LogME and leave-one-out prototype accuracy (per example)."""
    from transferkit.ranking.candidates import can_cut, random_reference
    from transferkit.ranking.evidence import feature_report

    src = task.source_model
    x, y = task.target.x_labelled, task.target.y_labelled.cpu().numpy()
    ref = random_reference(src, seed=task.seed)
    # An encoder that cannot be cut (a transformer) has one feature set: its output. Its
    # no-transfer reference is then the same architecture with random weights only (its
    # "input", token ids, are not features).
    cuts = range(1, src.num_blocks + 1) if can_cut(src) else [src.num_blocks]
    feats = {"input": _features(src, x, 0)} if can_cut(src) else {}
    for c in cuts:
        feats[f"source@{c}"] = _features(src, x, c)
        feats[f"random@{c}"] = _features(ref, x, c)
    reports = {name: feature_report(f, y) for name, f in feats.items()}
    sources = [f"source@{c}" for c in cuts]
    references = [*(["input"] if "input" in feats else []), *(f"random@{c}" for c in cuts)]
    return {"features": feats, "reports": reports, "labels": y, "sources": sources, "references": references}


@torch.no_grad()
def source_sanity(task: TransferTask) -> dict | None:
    """Accuracy of the source model on its held-out validation split, against chance (binomial z).

    Chance is the rate of always predicting the split's most frequent class (1/C when the
    classes are balanced), as in the run's weak-source warning: on an imbalanced source,
    1/C would let a model that learnt only the class frequencies pass."""
    xv, yv = task.source_val_x, task.source_val_y
    if xv is None or yv is None or len(yv) == 0:
        return None
    model = task.source_model.eval()
    pred = torch.cat([model(xv[i : i + 512]).argmax(1) for i in range(0, len(xv), 512)])
    n = len(yv)
    acc, chance = float((pred == yv).float().mean()), float(torch.bincount(yv).max()) / n
    sd = np.sqrt(chance * (1 - chance) / n)
    z = (acc - chance) / sd if chance < 1 else float("inf")  # one class: not judged
    # a perfect model's z: below the threshold, the split is too small to tell a source from chance
    best_z = (1 - chance) / sd if chance < 1 else float("inf")
    return {"accuracy": acc, "chance": chance, "examples": n, "z": float(z), "best_z": float(best_z)}


def _best(reports: dict, names: list[str], by_loo: bool) -> str:
    """Highest LOO accuracy (ties: LogME), or highest LogME; deeper cut points win exact ties."""
    key = (lambda n: (reports[n]["loo_accuracy"], reports[n]["logme"])) if by_loo else (lambda n: reports[n]["logme"])
    return max(reversed(names), key=key)


def decide(task: TransferTask, p: AutoParams) -> dict:
    """The choice (method, params) and the signals and reasons behind it; JSON-ready."""
    from transferkit.ranking.evidence import logme_log_bayes_factor, paired_sign_test

    start = time.perf_counter()
    if task.source_model is None:
        return _choice("scratch", {}, "no source model: nothing to transfer", {}, start, p)
    src = task.source_model
    sanity = source_sanity(task)
    # A pretrained encoder tuned on source data keeps its pretrained features whether or not its
    # source head learnt the source task (a trial's MiniLM, 1 epoch on movie snippets: 0.63 on its
    # validation split, so `auto` trained scratch, where `head` on that encoder beat scratch by
    # 10-15 points): step 0 judges networks trained here from random weights; the guard judges the rest.
    from_pretrained = src.config.get("architecture") == "pretrained"
    if sanity is not None and sanity["z"] < p.source_z <= sanity["best_z"] and not from_pretrained:  # too few: not refused
        # (the run's weak-source warning asks only z >= 2: "clearly" alone read as a contradiction beside its silence)
        from transferkit.evaluate.source_check import Z_MIN
        reason = (f"negative-transfer guard: the source model is not clearly enough better than chance on its own "
                  f"held-out data for `auto` to transfer from it (accuracy {sanity['accuracy']:.2f} on "
                  f"{sanity['examples']} examples against {sanity['chance']:.2f} for always predicting the most "
                  f"frequent class; z {sanity['z']:.2f} < {p.source_z:.1f}"
                  + (f", its bar, stricter than the z {Z_MIN:g} of the run's weak-source warning" if p.source_z > Z_MIN
                     else "") + "): too little evidence that its features carry a learned signal; training from scratch")  # fmt: skip
        return _choice("scratch", {}, reason, {"source_validation": sanity}, start, p)
    m = measure(task)
    reports, feats, y = m["reports"], m["features"], m["labels"]
    by_loo = all(r["loo_accuracy"] is not None for r in reports.values())
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    counts = counts[counts > 0]
    # without a held-out estimate (fewer than 2 classes of 2 or more examples): said as it is
    one = "one example per class" if counts.max() < 2 else "one example in every class but one"
    sources, refs = m["sources"], m["references"]
    best_src, best_ref = _best(reports, sources, by_loo), _best(reports, refs, by_loo)
    src_l, ref_l = _best(reports, sources, False), _best(reports, refs, False)
    lbf = logme_log_bayes_factor(feats[src_l], feats[ref_l], y)
    lbf_detail = f"LogME {src_l} {reports[src_l]['logme']:.3f} vs {ref_l} {reports[ref_l]['logme']:.3f}"
    if by_loo:
        test = paired_sign_test(reports[best_src]["_correct"], reports[best_ref]["_correct"])
        acc = (
            f"{best_src} {reports[best_src]['loo_accuracy']:.2f} vs {best_ref} {reports[best_ref]['loo_accuracy']:.2f}"
            f"; {test['wins']} wins, {test['losses']} losses, exact one-sided p {test['p_exact']:.3f}"
        )
        # The source can win only where the reference is wrong: with the reference right on all but m of
        # the held-out examples, z is at most sqrt(m) (a trial: 23 of 25 right, so at most 1.41 < 1.64,
        # and `auto` refused each of three sources there on both seeds)
        ref_correct = reports[best_ref]["_correct"]
        missed = int(len(ref_correct) - ref_correct.sum())
        best_z = float(np.sqrt(missed))
        bound = (f"; at most z {best_z:.2f} here: {best_ref} misses only {missed} of {len(ref_correct)}, all the source "
                 "can win, so this check cannot pass at this size") if best_z < p.evidence_z else ""  # fmt: skip
        sign = {**_check("held-out prototype accuracy, sign-test z", test["z"], p.evidence_z, acc + bound),
                "best_possible": best_z}  # fmt: skip
        checks = [sign, _check("LogME log Bayes factor", lbf, p.evidence_log_bf, lbf_detail)]
    else:  # one example per class: no held-out estimate exists; refuse only on strong evidence against
        checks = [_check(f"LogME log Bayes factor ({one})", lbf, p.one_shot_log_bf, lbf_detail)]
    unused: list[dict] = []
    text_encoder = pretrained_text_encoder(src)  # (ranking/candidates.py)
    if text_encoder:
        # A pretrained text encoder (a transformer, read whole) has one reference, itself with
        # random weights, which is not what `scratch` trains, and LogME favours it on a few dozen
        # examples (mean-pooled random token embeddings are a low-rank random projection of the
        # words: MiniLM's random copy scored the higher LogME in 13 of 16 draws of 5 and 20 Amazon
        # and movie snippets per class, where knn (11 of 16) and linear_cv (12) ranked MiniLM first;
        # benchmarks/diagnostics/auto_text_reference.py). Its published weights are then refused
        # only on evidence against them, as at one shot: the sign test, when it can run.
        unused = [{**c, "not_used": "a pretrained text encoder's only reference is its own random weights, which "
                   "LogME favours on few examples"} for c in checks if c["name"].startswith("LogME")]  # fmt: skip
        checks = [_check("held-out prototype accuracy, sign-test z, only against (a pretrained text encoder)", test["z"],
                         -p.evidence_z, acc)] if by_loo else []  # fmt: skip
    signals: dict = {
        "shots": task.target.shots, "fewest_per_class": int(counts.min()),
        "criterion": ("pretrained_text_encoder_not_against" if unused else "sign_test_and_logme" if by_loo
                      else "logme_one_shot"),
        "features": {n: {"logme": r["logme"], "loo_accuracy": r["loo_accuracy"]} for n, r in reports.items()},
        "best_source": best_src, "best_reference": best_ref, "source_validation": sanity, "checks": checks,
        **({"unused_checks": unused} if unused else {}),
    }  # fmt: skip
    head = None
    if task.same_label_space:
        with torch.no_grad():
            pred = src.eval()(task.target.x_labelled).argmax(1)
        signals["source_only_agreement"] = float((pred == task.target.y_labelled).float().mean())
        head = source_head_check(signals["source_only_agreement"], task.target.y_labelled, p.evidence_z,
                                 exact=not by_loo)  # fmt: skip
        signals["source_head_check"] = head
    said = "; ".join(_said(c) for c in checks + unused) or f"no check runs at {one}"
    shift = domain_shift(task, sanity, signals.get("source_only_agreement"))
    signals["domain_shift"] = shift
    ada = p.adaptation_method
    ada_method, ada_params = adaptation_choice(ada)
    # A head clearly *below* chance on the labelled target examples is wrong in a systematic
    # way: the same class names most likely mean other classes (labels shifted or permuted),
    # which adaptation, starting from the head's predictions, would reinforce. At chance it
    # may still be a large shift (optdigits -> MNIST-5k: the head at 0.10-0.31, where
    # self_training+mcc gains 10-33 points over scratch), so only below chance stops it.
    below_chance = head is not None and head["value"] <= -p.below_chance_z  # 1 %: a head at chance is rarely blocked
    if (ada_method is not None and shift is not None and shift["z"] >= p.shift_z and not below_chance
            and len(task.target.x_unlabelled)):  # fmt: skip
        # Frozen-feature checks cannot judge adaptation, which changes the features with the
        # unlabelled target examples; they are reported, not used.
        reason = (f"same classes, but the source head drops from {shift['source']:.2f} on its validation split to "
                  f"{shift['target']:.2f} on the labelled target examples (z {shift['z']:.2f} >= {p.shift_z:.1f}): "
                  f"a domain shift, which {ada} corrects with the unlabelled target examples "
                  f"(frozen-feature checks, for the record: {said})")  # fmt: skip
        decided = _check("source head, validation vs labelled target: two-proportion z", shift["z"], p.shift_z,
                         f"{shift['source']:.2f} vs {shift['target']:.2f}")  # fmt: skip
        signals = {**signals, "criterion": "domain_shift", "checks": [decided], "frozen_feature_checks": checks}
        return _choice(ada_method, ada_params, reason, signals, start, p)
    no_shift = ""
    if ada_method is not None and shift is not None:  # the shift test ran and did not decide: say so, with its numbers
        signals["shift_check"] = _check("source head, validation vs labelled target: two-proportion z", shift["z"],
                                        p.shift_z, f"{shift['source']:.2f} vs {shift['target']:.2f}")  # fmt: skip
        if shift["z"] < p.shift_z:
            no_shift = (f" (no adaptation: the source head scores {shift['source']:.2f} on its validation split and "
                        f"{shift['target']:.2f} on the labelled target examples, z {shift['z']:.2f} < shift_z "
                        f"{p.shift_z:.1f}, not a clear domain shift)")  # fmt: skip
        elif below_chance:
            signals["shift_check"]["not_used"] = "the source head is below chance on the labelled target examples"
            no_shift = (f" (no adaptation: the source head drops to {shift['target']:.2f} on the labelled target "
                        f"examples, below chance (binomial z {head['value']:.2f} <= -{p.below_chance_z:.2f}): the same "
                        "class names most likely mean other classes in the two data sets, which adaptation would "
                        "reinforce; check the labels)")  # fmt: skip
        elif not len(task.target.x_unlabelled):  # every target input labelled: nothing left to adapt with
            signals["shift_check"]["not_used"] = "no unlabelled target examples to adapt with"
            no_shift = (f" (no adaptation: the source head drops from {shift['source']:.2f} on its validation split to "
                        f"{shift['target']:.2f} on the labelled target examples, z {shift['z']:.2f} >= shift_z "
                        f"{p.shift_z:.1f}, a domain shift, but every target input is labelled: none is left for "
                        f"{ada} to adapt with; give unlabelled target inputs)")  # fmt: skip
    # The source model itself, unchanged, right about the labelled target examples: direct
    # evidence of transfer where the frozen-feature checks see none because both feature sets
    # already separate those few examples (both 100 % leave-one-out), though scratch must still
    # learn a network from them. Two lines of evidence, as above: the source model also clearly
    # beat chance on its own validation split (step 0 judged it). Not when the sign test speaks
    # against the source's features. At one shot too, where the LogME factor alone swings by tens
    # (n C times a difference of means: a trial's 62 fonts at k = 1 read -21.7 from LogME 0.652 vs
    # 0.657, and `auto` trained scratch, 48.4 %, beside a source head right on 81 % of the labelled
    # examples, chance 2 %; source_only scored 85.1 %).
    judged = sanity is not None and sanity["z"] >= p.source_z
    head_decides = (judged and head is not None and head["passed"]
                    and (not by_loo or test["z"] > -p.evidence_z))  # fmt: skip
    if head is not None and head["passed"] and not head_decides:  # passed, but not evidence enough here: why
        head["not_used"] = ("the source was not judged on its own validation split (step 0)" if not judged
                            else "the sign test is against the source's features")  # fmt: skip
    if not all(c["passed"] for c in checks) and not head_decides:
        head_said = f"; {_said(head)}" if head is not None else ""
        reason = (f"negative-transfer guard: the source's features do not clearly beat no-transfer features: {said}"
                  f"{head_said}; training from scratch{no_shift}")  # fmt: skip
        return _choice("scratch", {}, reason, signals, start, p)
    cut = int(best_src.split("@")[1])
    method = p.transfer_method if by_loo else p.one_shot_method
    params: dict = {}
    where = f"cut after block {cut} of {src.num_blocks}"
    if not task.same_label_space and cut == src.num_blocks:
        method = p.new_task_method
        where += ": new classes, so a new head is trained first and the blocks are unfrozen one by one"
    elif cut < src.num_blocks:
        params = {"freeze": cut, "shared_lr_mult": p.retrain_lr_mult}
        where += f": blocks 1..{cut} frozen, the rest re-trained at {p.retrain_lr_mult}x the head's rate"
    # with one example per class only the LogME check runs, and it rules out clear harm only
    verdict = ("the source's features beat the no-transfer reference" if by_loo else
               f"no strong evidence against the source ({one}: only strong evidence refuses a source, "
               "which one example rarely gives, so this transfers by default; list scratch beside auto to check it, "
               "docs/auto.md)")  # fmt: skip
    if text_encoder:
        verdict = ("a pretrained text encoder, refused only on evidence against it, and the sign test gives none" if by_loo
                   else f"a pretrained text encoder, refused only on evidence against it, which {one} "
                        "cannot give (the LogME factor that follows is recorded, not used)")  # fmt: skip
    if not all(c["passed"] for c in checks):  # the source head decided
        verdict = (f"the source model, unchanged, classifies the labelled target examples above chance ({_said(head)}), "
                   "though the frozen-feature checks do not both pass")  # fmt: skip
    reason = f"{verdict}: {said}; {where}; {method}{no_shift}"
    return _choice(method, params, reason, signals, start, p, cut=cut, stages=src.num_blocks)


def _settings_hint(message, decision: dict) -> str:
    """Where a relayed fix names the chosen method's own parameters (the probe guard's "Lower
    shared_lr_mult ... or lr"), which auto refuses: how to set them through auto, or beside it."""
    if "probed model" not in str(message):
        return ""
    method = decision["method"]
    own = "set auto's retrain_lr_mult (its shared_lr_mult here), or " if "shared_lr_mult" in decision["params"] else ""
    return (f" auto chose {method}'s settings itself: {own}list {method} with the parameters named above beside auto "
            f"(methods: [auto, {{{method}: {{...}}}}] in an experiment file; in Python, "
            f"TransferClassifier({method!r}, method_params={{...}})).")


def da_methods() -> list[str]:
    """Registered methods that adapt with unlabelled target inputs: what adaptation_method may name."""
    return sorted(n for n, c in METHODS.items() if c.uses_unlabelled and n != "auto")


def adaptation_choice(name: str | None) -> tuple[str | None, dict]:
    """``"self_training+mcc"`` -> ("self_training", {"base": "mcc"}); ``"im"`` -> ("im", {}).

    (None, {}) when ``name`` is None, a part of it is not registered, or the method does not
    adapt with unlabelled target inputs (the branch is skipped; a name the user gave is refused).
    """
    if name is None:
        return None, {}
    method, plus, base = name.partition("+")
    if plus and not base:  # "self_training+": a base named by nothing (it ran plain self_training, said as "+")
        return None, {}
    if method not in METHODS or method == "auto" or not METHODS[method].uses_unlabelled or (base and (
        base not in METHODS or "base" not in METHODS[method].Params.model_fields
        or not hasattr(METHODS[base], "terms") or base == method  # a base must be an adaptation term (dann, mcc, ...)
    )):
        return None, {}
    return method, ({"base": base} if base else {})


def domain_shift(task: TransferTask, sanity: dict | None, agreement: float | None) -> dict | None:
    """Two-proportion z of the source head's accuracy, source validation split vs labelled target."""
    if sanity is None or agreement is None or task.source_x is None:
        return None
    n_s, n_t = sanity["examples"], len(task.target.y_labelled)
    pooled = (sanity["accuracy"] * n_s + agreement * n_t) / (n_s + n_t)
    se = float(np.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_s + 1 / n_t)))
    return {"source": sanity["accuracy"], "target": agreement, "z": (sanity["accuracy"] - agreement) / se}


def source_head_check(agreement: float, y: torch.Tensor, evidence_z: float, exact: bool = False) -> dict:
    """Binomial z of the source head's accuracy on the labelled target examples against chance.

    Chance is the rate of always predicting their most frequent class (1/C for k per class).
    ``exact``: the exact binomial tail's probability (so many right or more; so few or fewer below
    chance) read as a normal deviate, for one shot, where the head decides alone: with about one
    right expected (62 classes at k = 1) the normal approximation passed 3 right of 62 at z >= 1.64,
    which a head at chance does 7.9 % of the time (a review); exact, 4 are needed (1.9 %). At k >= 2 the
    sign test must also not speak against the source, and the approximation stays (4 of 4 at chance
    0.5 is z 2.0; exact, p = 1/16, it would never pass on 2 examples of 2 classes)."""
    from transferkit.evaluate.source_check import chance_z

    n = len(y)
    chance, z = chance_z(agreement, y.cpu().numpy()) or (1.0, 0.0)  # one class: nothing to judge
    if exact and chance < 1.0:
        from scipy import stats

        right = int(round(agreement * n))
        tail = stats.binom.sf(right - 1, n, chance) if right >= n * chance else stats.binom.cdf(right, n, chance)
        z = float(np.clip(stats.norm.isf(tail) if right >= n * chance else stats.norm.ppf(tail), -10.0, 10.0))
    return _check(f"source head on the labelled target examples, {'exact ' if exact else ''}binomial z vs chance", z, evidence_z,
                  f"{agreement:.2f} vs chance {chance:.2f} on {n} examples")  # fmt: skip


def _said(c: dict) -> str:
    """``name value >= threshold (detail)``, with as many decimals as tell the two apart (2 to 6):
    "z 1.64 < 1.64" said nothing."""
    unused = f", not used: {c['not_used']}" if c.get("not_used") else ""
    v, t, d = c["value"], c["threshold"], 2
    while d < 6 and v != t and f"{v:.{d}f}" == f"{t:.{d}f}":
        d += 1
    return f"{c['name']} {v:.{d}f} {'>=' if c['passed'] else '<'} {t:.{d}f} ({c['detail']}{unused})"


def _check(name: str, value: float, threshold: float, detail: str) -> dict:
    return {
        "name": name,
        "value": float(value),
        "threshold": threshold,
        "passed": bool(value >= threshold),
        "detail": detail,
    }


def step_caps(method: str, max_steps: int, stages: int = 1, given: dict | None = None) -> dict[str, int]:
    """The chosen method's ``*steps`` budgets not in ``given``: each its default, capped at
    ``max_steps``; ``stage_steps``, which runs once per stage (one per shared block, at most
    ``max_stages``), at ``max_steps // stages`` (at least 1), so that its stages together stay
    within ``max_steps`` too: gradual on MiniLM (7 stages) at ``max_steps`` 20 had trained
    20 + 7 x 20 steps (a review)."""
    given = given or {}
    fields = METHODS[method].Params.model_fields
    limit = given.get("max_stages", fields["max_stages"].default if "max_stages" in fields else None)
    runs = min(stages, limit or stages)
    return {name: min(field.default, max(1, max_steps // runs) if name == "stage_steps" else max_steps)
            for name, field in fields.items()
            if name.endswith("steps") and isinstance(field.default, int) and name not in given}  # fmt: skip


def _choice(
    method: str, params: dict, reason: str, signals: dict, start: float, p: AutoParams, cut: int | None = None,
    stages: int = 1,
) -> dict:
    params.update(step_caps(method, p.max_steps, stages, params))  # every *steps budget: the default, capped
    return {"method": method, "params": params, "cut": cut, "reason": reason, "signals": signals,
            "seconds": time.perf_counter() - start}  # fmt: skip


@register_method
class Auto(Method):
    name = "auto"
    uses_unlabelled = True
    description = "Choose scratch or transfer, the cut point and shared learning rate from cheap signals, then train"
    Params = AutoParams
    uses_source = False  # without a source it trains from scratch
    optional_source = True  # with one, the source is trained/loaded even if no other method needs it

    def __init__(self, **params) -> None:
        super().__init__(**params)
        for field in ("transfer_method", "one_shot_method"):
            name = getattr(self.params, field)
            cls = METHODS.get(name)
            if cls is None or not {"freeze", "shared_lr_mult"} <= set(cls.Params.model_fields):
                raise TransferkitError(
                    f"method 'auto': {field}={name!r} must be a registered method with `freeze` and "
                    "`shared_lr_mult` parameters.", "use finetune or l2sp.")  # fmt: skip
        if self.params.new_task_method not in METHODS:
            name = self.params.new_task_method
            raise TransferkitError(f"method 'auto': new_task_method={name!r} is not a registered method.",
                                   f"use one of: {did_you_mean(name, sorted(METHODS))}.")  # fmt: skip
        ada = self.params.adaptation_method
        if ada is not None and "adaptation_method" in self.params.model_fields_set and adaptation_choice(ada)[0] is None:
            raise TransferkitError(
                f"method 'auto': adaptation_method={ada!r} is not a registered domain-adaptation method (one that "
                f"adapts with unlabelled target inputs), or 'self_training+BASE' with BASE one of "
                f"{', '.join(sorted(n for n, c in METHODS.items() if hasattr(c, 'terms') and n != 'self_training'))}.",
                f"use one of: {did_you_mean(ada.partition('+')[0], da_methods())}, or null.",
            )  # fmt: skip

    def fit(self, task: TransferTask) -> TransferModel:
        decision = decide(task, self.params)
        task.extras["auto_decision"] = decision
        torch.manual_seed(task.seed)  # train exactly as the chosen method would on its own
        chosen, rate = for_task(get_method(decision["method"], **decision["params"]), task)
        if rate:  # pretrained shared layers: a lower default rate, said
            warnings.warn(rate, TransferkitWarning, stacklevel=user_stacklevel())
        said: list = []
        try:  # the chosen method's words, said as auto's ("l2sp (seed 0 ...)": a row of its own may say the same)
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always", TransferkitWarning)
                model = chosen.fit(task)
        finally:  # also when the fit fails: what it said before is not lost
            for w in said:
                ours = issubclass(w.category, TransferkitWarning)
                message = f"auto (which trained {decision['method']}): {w.message}{_settings_hint(w.message, decision)}" \
                    if ours else w.message  # fmt: skip
                warnings.warn_explicit(message, w.category, w.filename, w.lineno, source=w.source)  # others as raised
        model.config["auto_decision"] = decision
        return model
