"""``auto``: refuses a useless source (scratch), transfers from a useful one, records why."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.data.splits import TargetData
from transferkit.errors import TransferkitError
from transferkit.methods import TransferTask, get_method
from transferkit.methods.auto import AutoParams, decide
from transferkit.models import TransferModel
from transferkit.ranking.evidence import loo_prototype_correct, paired_sign_test, sign_test_p
from transferkit.train.source import pretrain_source
from transferkit.train.supervised import predict_proba

SIZE, CLASSES = 12, ["a", "b", "c"]
QUICK = {"max_steps": 20}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch and BLAS thread: on a shared, busy machine extra threads spin-wait."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)


def patterns(n_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, 12, 12) images: class c is a fixed 3x3 pattern at a random place, in noise.

    The class is *where the pattern's pixels sit relative to each other*, not where it is,
    so class means in pixel space blur together while a trained CNN separates them easily.
    """
    rng = np.random.default_rng(seed)
    shapes = np.random.default_rng(99).integers(0, 2, size=(len(CLASSES), 3, 3)).astype(np.float32)
    shapes[:, 1, 1] = 1.0
    y = np.repeat(np.arange(len(CLASSES)), n_per_class)
    x = rng.normal(0, 0.15, size=(len(y), 1, SIZE, SIZE)).astype(np.float32)
    for i, c in enumerate(y):
        r, q = rng.integers(0, SIZE - 3, size=2)
        x[i, 0, r : r + 3, q : q + 3] += shapes[c]
    return torch.from_numpy(x), torch.from_numpy(y)


def source_model(shuffle: bool) -> TransferModel:
    x, y = patterns(100, seed=1)
    if shuffle:  # labels carry nothing: a source whose features should not help
        y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    res = pretrain_source(
        x, y, CLASSES, architecture="cnn", arch_kwargs={"width": 8, "feature_dim": 24},
        settings={"epochs": 10, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
        seed=0, identity={"shuffle": shuffle}, use_cache=False,
    )  # fmt: skip
    return res.model


@pytest.fixture(scope="module")
def models() -> dict[str, TransferModel]:
    torch.manual_seed(0)
    return {"useful": source_model(False), "shuffled": source_model(True)}


def make_task(model: TransferModel | None, shots: int = 8, seed: int = 0) -> TransferTask:
    x, y = patterns(shots, seed=10 + seed)
    xu, _ = patterns(4, seed=20 + seed)
    ref = model or TransferModel.build("cnn", (1, SIZE, SIZE), CLASSES, width=8, feature_dim=24)
    mean, std = ref.input_mean, ref.input_std

    def new_model() -> TransferModel:
        return TransferModel.build("cnn", (1, SIZE, SIZE), CLASSES, mean, std, width=8, feature_dim=24)

    return TransferTask(TargetData(x, y, xu, len(CLASSES)), CLASSES, seed, new_model, model,
                        source_classes=CLASSES if model is not None else None)  # fmt: skip


def test_auto_refuses_a_source_trained_on_shuffled_labels(models):
    task = make_task(models["shuffled"])
    model = get_method("auto", **QUICK).fit(task)
    d = model.config["auto_decision"]
    assert d["method"] == "scratch", d["reason"]
    assert "negative-transfer guard" in d["reason"] and not all(c["passed"] for c in d["signals"]["checks"])
    assert task.extras["auto_decision"] is d
    # auto reproduces the method it chose, exactly (same seed, same budget)
    torch.manual_seed(0)
    alone = get_method("scratch", steps=20).fit(make_task(models["shuffled"]))
    x_eval = patterns(4, seed=50)[0]
    assert torch.allclose(predict_proba(model, x_eval), predict_proba(alone, x_eval), atol=1e-6)


def test_auto_refuses_a_source_with_random_weights():
    torch.manual_seed(3)
    noise = TransferModel.build("cnn", (1, SIZE, SIZE), CLASSES, width=8, feature_dim=24)
    d = decide(make_task(noise), AutoParams(**QUICK))
    assert d["method"] == "scratch", d["reason"]


def test_auto_transfers_from_a_useful_source(models):
    task = make_task(models["useful"])
    d = decide(task, AutoParams(**QUICK))
    assert d["method"] == "finetune", d["reason"]
    assert all(c["passed"] for c in d["signals"]["checks"]) and len(d["signals"]["checks"]) == 2 and 1 <= d["cut"] <= 3
    assert d["params"]["steps"] == 20 and d["params"]["probe_steps"] == 20  # budgets capped by max_steps
    assert d["signals"]["source_only_agreement"] > 0.8
    model = get_method("auto", **QUICK).fit(task)
    assert model.config["auto_decision"]["method"] == "finetune"


def test_new_classes_with_the_cut_at_the_last_block_choose_gradual_unfreezing(models):
    task = make_task(models["useful"])
    task.source_classes = ["x", "y", "z"]  # the same images, but a new label space: a new head
    d = decide(task, AutoParams(**QUICK))
    if d["cut"] == models["useful"].num_blocks:
        assert d["method"] == "gradual" and "new classes" in d["reason"], d["reason"]
        stages = models["useful"].num_blocks  # one per block: together within max_steps
        assert d["params"]["stage_steps"] == 20 // stages and d["params"]["probe_steps"] == 20
        assert d["reason"].startswith("the source's features beat the no-transfer reference"), d["reason"]  # several shots: a sign test said so
    else:  # a cut inside the model keeps the freeze / re-train recipe of transfer_method
        assert d["method"] == "finetune" and d["params"]["freeze"] == d["cut"], d["reason"]
    assert d["method"] == decide(task, AutoParams(**QUICK, new_task_method="gradual"))["method"]
    same = decide(make_task(models["useful"]), AutoParams(**QUICK))
    assert same["method"] == "finetune" and same["cut"] == d["cut"]  # same signals, same classes: no gradual
    forced = decide(task, AutoParams(**QUICK, new_task_method="l2sp"))
    assert forced["method"] == ("l2sp" if d["cut"] == models["useful"].num_blocks else "finetune")


def with_source_validation(task: TransferTask, shuffle: bool) -> TransferTask:
    xv, yv = patterns(20, seed=7)
    if shuffle:
        yv = yv[torch.randperm(len(yv), generator=torch.Generator().manual_seed(1))]
    task.source_val_x, task.source_val_y = xv, yv
    return task


def test_a_pretrained_text_encoder_is_refused_only_on_evidence_against_it(models, monkeypatch):
    """Its one reference is its own random weights, which LogME favours on few texts (MiniLM's random
    copy won 13 of 16 draws; auto then trained a near-chance scratch, 20 points under head): LogME
    is recorded, not used, and the sign test only refuses when it is clearly against."""
    import transferkit.methods.auto as auto
    import transferkit.ranking.evidence as evidence

    monkeypatch.setattr(auto, "pretrained_text_encoder", lambda model: True)
    task = make_task(models["shuffled"])  # features no better than random ones; no source data, as a published encoder
    plain = decide(task, AutoParams(**QUICK))
    assert plain["method"] != "scratch" and plain["signals"]["criterion"] == "pretrained_text_encoder_not_against", plain
    (check,) = plain["signals"]["checks"]
    assert check["threshold"] == -1.64 and check["passed"] and "only against" in check["name"]
    (logme,) = plain["signals"]["unused_checks"]
    assert logme["name"].startswith("LogME") and "own random weights" in logme["not_used"]
    assert plain["reason"].startswith("a pretrained text encoder, refused only on evidence against it")
    real = evidence.paired_sign_test
    monkeypatch.setattr(evidence, "paired_sign_test", lambda a, b: {**real(a, b), "z": -2.5})  # clearly worse
    against = decide(task, AutoParams(**QUICK))
    assert against["method"] == "scratch" and against["reason"].startswith("negative-transfer guard"), against
    one = decide(make_task(models["shuffled"], shots=1), AutoParams(**QUICK))
    assert one["method"] != "scratch" and one["signals"]["checks"] == []  # one shot: nothing can speak against it
    # a trial's reason read "... and there is none: LogME log Bayes factor -9.64 < -3.00", a verdict against it
    assert one["reason"].startswith("a pretrained text encoder, refused only on evidence against it, which one example "
                                    "per class cannot give (the LogME factor that follows is recorded, not used)")  # fmt: skip


def test_a_pretrained_encoder_tuned_on_source_data_is_not_refused_at_step_0(models, monkeypatch):
    """Its features are the pretrained ones whatever its source head learnt: a weak head (a
    trial's MiniLM after 1 epoch, 0.63 on its validation split) sent `auto` to scratch at step 0."""
    task = with_source_validation(make_task(models["shuffled"]), True)  # a source head at chance on its own split
    reason = decide(task, AutoParams(**QUICK))["reason"]
    assert reason.startswith("negative-transfer guard: the source model is not clearly enough better than chance")
    assert "its bar, stricter than the z 2 of the run's weak-source warning" in reason  # not a contradiction of it
    task.source_model = models["shuffled"].copy()
    task.source_model.config["architecture"] = "pretrained"  # as `source: {pretrained: ..., data: ...}` builds it
    d = decide(task, AutoParams(**QUICK))
    assert "not clearly enough better than chance on its own held-out data" not in d["reason"], d["reason"]
    assert d["signals"]["source_validation"]["z"] < 3 and d["signals"]["checks"]  # recorded; the guard decided


def test_one_class_of_a_single_example_does_not_make_the_target_one_shot(models):
    """A review: 1 labelled example of one class beside 8 of the others sent auto to its one-shot rule,
    saying 'one example per class'."""
    task = with_source_validation(make_task(models["useful"]), False)
    t = task.target
    keep = torch.cat([torch.nonzero(t.y_labelled == 0)[:1, 0], torch.nonzero(t.y_labelled != 0)[:, 0]])
    task.target = TargetData(t.x_labelled[keep], t.y_labelled[keep], t.x_unlabelled, len(CLASSES))
    d = decide(task, AutoParams(**QUICK))
    assert d["signals"]["criterion"] == "sign_test_and_logme" and d["signals"]["fewest_per_class"] == 1, d["reason"]
    keep = torch.cat([torch.nonzero(t.y_labelled == c)[:1, 0] for c in (0, 1)] + [torch.nonzero(t.y_labelled == 2)[:, 0]])
    task.target = TargetData(t.x_labelled[keep], t.y_labelled[keep], t.x_unlabelled, len(CLASSES))
    d = decide(task, AutoParams(**QUICK))
    assert d["signals"]["criterion"] == "logme_one_shot", d["reason"]
    assert "(one example in every class but one: only strong evidence refuses a source" in d["reason"]


def test_one_shot_uses_the_logme_bayes_factor(models):
    d = decide(with_source_validation(make_task(models["useful"], shots=1), False), AutoParams(**QUICK))
    assert d["signals"]["criterion"] == "logme_one_shot" and d["method"] == "l2sp", d["reason"]
    assert d["signals"]["source_validation"]["z"] > 3
    assert d["reason"].startswith("no strong evidence against the source (one example per class: only strong evidence")  # not "helps"


def test_a_source_at_chance_on_its_own_validation_split_is_refused(models):
    d = decide(with_source_validation(make_task(models["shuffled"], shots=1), True), AutoParams(**QUICK))
    assert d["method"] == "scratch" and "not clearly enough better than chance" in d["reason"], d["reason"]
    n = d["signals"]["source_validation"]["examples"]  # the evidence is said with its size, not as "no signal"
    assert f"on {n} examples against" in d["reason"] and "too little evidence" in d["reason"]


def test_an_encoder_without_cut_points_is_judged_on_its_output_against_random_weights(models):
    from transferkit.methods.auto import measure
    from transferkit.ranking.candidates import model_cuts

    src = models["useful"].copy()
    src.shared.is_text = True  # what a transformer encoder reports: its layers are not one chain
    n = src.num_blocks
    m = measure(make_task(src))
    assert m["sources"] == [f"source@{n}"] and m["references"] == [f"random@{n}"] and "input" not in m["features"]
    d = decide(make_task(src), AutoParams(**QUICK))
    assert d["method"] != "scratch" and d["signals"]["best_source"] == f"source@{n}"  # a useful source still transfers
    assert model_cuts(src, None, "minilm") == [n] and model_cuts(src, "all", "minilm") == [n]
    with pytest.raises(TransferkitError, match="no cut point but the whole model"):
        model_cuts(src, "1", "minilm")
    assert model_cuts(models["useful"], None, "cnn") == list(range(1, n + 1))


def test_no_source_means_scratch_and_bad_params_are_refused():
    d = decide(make_task(None), AutoParams(**QUICK))
    assert d["method"] == "scratch" and "no source" in d["reason"]
    with pytest.raises(TransferkitError, match="one_shot_method='head'"):
        get_method("auto", one_shot_method="head")
    with pytest.raises(TransferkitError, match="transfer_method='head'"):
        get_method("auto", transfer_method="head")
    with pytest.raises(TransferkitError, match="adaptation_method='nope' is not a registered domain-adaptation method"):
        get_method("auto", adaptation_method="nope")
    for not_da in ("finetune", "scratch", "auto"):  # registered, but they do not adapt with unlabelled inputs
        with pytest.raises(TransferkitError, match=f"adaptation_method='{not_da}' is not a registered domain-adapt") as e:
            get_method("auto", adaptation_method=not_da)
        assert "dann" in e.value.fix and "finetune" not in e.value.fix
    get_method("auto", adaptation_method="coral")  # a plain DA method
    with pytest.raises(TransferkitError, match="adaptation_method='self_training\\+nope'"):
        get_method("auto", adaptation_method="self_training+nope")
    with pytest.raises(TransferkitError, match="adaptation_method='self_training\\+'"):  # a base of nothing (ran plain)
        get_method("auto", adaptation_method="self_training+")
    with pytest.raises(TransferkitError, match="adaptation_method='mcc\\+im'"):  # mcc has no base
        get_method("auto", adaptation_method="mcc+im")
    with pytest.raises(TransferkitError, match="with BASE one of cdan, coral, dan, dann, im, mcc"):
        get_method("auto", adaptation_method="self_training+finetune")  # was accepted, then failed mid-run
    with pytest.raises(TransferkitError, match="new_task_method='nope'"):
        get_method("auto", new_task_method="nope")
    with pytest.raises(TransferkitError, match="max_steps"):
        get_method("auto", max_steps=0)


def test_prototype_loo_and_sign_test_by_hand():
    f = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.8, 0.3]])
    y = np.array([0, 0, 1, 1, 1])  # the last example sits with class 0: wrong when held out
    assert loo_prototype_correct(f, y).tolist() == [True, True, True, True, False]
    assert loo_prototype_correct(f[:3], y[:3]) is None  # class 1 has one example
    # a class of a single example is not held out, but stays a prototype to be mistaken for
    f3, y3 = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.95, 0.05]]), np.array([0, 0, 1, 1, 2])
    assert loo_prototype_correct(f3, y3).tolist() == [True, False, True, True]  # 4 held out; the 2nd nearer class 2
    assert loo_prototype_correct(f3[[0, 1, 2, 4]], y3[[0, 1, 2, 4]]) is None  # one class of 2: no held-out estimate
    a, b = np.array([1, 1, 1, 0], bool), np.array([0, 0, 1, 1], bool)
    assert paired_sign_test(a, b) == {"wins": 2, "losses": 1, "z": pytest.approx(1 / np.sqrt(3)), "p_exact": 0.5}
    # the normal approximation passes 3 wins, 0 losses (z 1.73 >= 1.64), which a coin gives 1 time in 8: the
    # decision's detail says so (a trial's auto transferred on it and lost 5.5 points to scratch)
    three = paired_sign_test(np.array([1, 1, 1, 1], bool), np.array([0, 0, 0, 1], bool))
    assert three["z"] == pytest.approx(np.sqrt(3)) and three["p_exact"] == pytest.approx(0.125)
    assert sign_test_p(7, 2) == pytest.approx(46 / 512) and sign_test_p(0, 0) == 1.0


def test_report_section_lists_each_decision():
    from types import SimpleNamespace

    from transferkit.report.auto import auto_decisions, auto_section

    model = SimpleNamespace(config={"auto_decision": {
        "method": "scratch", "params": {"steps": 300}, "cut": None, "seconds": 0.5,
        "reason": "negative-transfer guard: ...; training from scratch",
        "signals": {"criterion": "sign_test_and_logme",
                    "checks": [{"name": "sign-test z", "value": 0.5, "threshold": 1.64, "passed": False}]},
    }})  # fmt: skip
    records = [SimpleNamespace(model=model, shots=5, seed=0), SimpleNamespace(model=None, shots=5, seed=1)]
    decisions = auto_decisions(SimpleNamespace(records=records))
    assert decisions == [{
        "shots": 5, "seed": 0, "method": "scratch", "params": {"steps": 300}, "cut": None,
        "reason": "negative-transfer guard: ...; training from scratch", "criterion": "sign_test_and_logme",
        "checks": model.config["auto_decision"]["signals"]["checks"], "decision_seconds": 0.5,
    }]  # fmt: skip
    text = "\n".join(auto_section({"auto_decisions": decisions}))
    assert "What `auto` chose" in text and "sign-test z: 0.50 < 1.64" in text and "Negative-transfer guard" in text
    assert "found no clear evidence that the source helps" in text  # not "found that it does not help"
    assert "steps=300" not in text  # summary.json keeps the budgets; the table stays brief
    capped = [{**decisions[0], "params": {"steps": 100}}]  # max_steps cut scratch's default 300
    assert "`scratch` (steps=100, capped from 300)" in "\n".join(auto_section({"auto_decisions": capped}))
    # an audit: auto chose scratch (100 steps) beside the run's scratch row (80 steps); its "gain" was the budget
    beside = "\n".join(auto_section({"auto_decisions": capped, "methods": ["scratch", "auto"],
                                     "method_params": {"scratch": {"steps": 80}}}))  # fmt: skip
    assert ("**`auto` at k = 5 trained `scratch`** (on 1 seed) with its own settings (steps=100), where the run's "
            "`scratch` row used steps=80") in beside
    same = "\n".join(auto_section({"auto_decisions": capped, "methods": ["scratch", "auto"],
                                   "method_params": {"scratch": {"steps": 100}}}))  # fmt: skip
    assert "with its own settings" not in same and "with its own settings" not in text  # same settings; no scratch row
    assert auto_section({"auto_decisions": []}) == []
    no_source = [{**decisions[0], "reason": "no source model: nothing to transfer", "checks": []}]
    assert "Negative-transfer guard" not in "\n".join(auto_section({"auto_decisions": no_source}))
    head = {"name": "source head on the labelled target examples, binomial z vs chance", "value": 2.0,
            "threshold": 1.64, "passed": True}  # fmt: skip
    model.config["auto_decision"]["signals"]["source_head_check"] = head  # same classes: it decides too
    with_head = auto_decisions(SimpleNamespace(records=records[:1]))[0]
    assert with_head["checks"][-1] == head and "binomial z vs chance: 2.00 >= 1.64" in "\n".join(
        auto_section({"auto_decisions": [with_head]}))


@pytest.mark.slow
def test_auto_gets_the_source_when_no_other_listed_method_needs_it(tmp_path, image_npz):
    from tests.conftest import tiny_experiment
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol

    raw = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "scratch", "params": {"steps": 5}},
                                                       {"name": "auto", "params": {"max_steps": 5}}])  # fmt: skip
    raw["target"]["shots"] = [5]
    result = run_protocol(validate(raw))
    assert 0 in result.sources  # the docs/auto.md example: `methods: [scratch, auto]`
    (rec,) = [r for r in result.records if r.method == "auto"]
    assert "no source model" not in rec.model.config["auto_decision"]["reason"]
    from transferkit.report.summary import build_summary

    raw["save_models"] = False  # the models go; what auto chose and why stays in the summary
    result = run_protocol(validate(raw))
    assert all(r.model is None for r in result.records)
    (decision,) = build_summary(result)["auto_decisions"]
    assert decision["shots"] == 5 and decision["reason"]


def test_same_classes_with_a_domain_shift_choose_adaptation(models):
    from transferkit.methods import METHODS

    if not {"self_training", "mcc", "im"} <= set(METHODS):
        pytest.skip("the adaptation methods are not registered")
    task = with_source_validation(make_task(models["useful"]), False)
    inverted = 1.0 - task.target.x_labelled  # same classes, another domain: the source head fails
    task.target = TargetData(inverted, task.target.y_labelled, 1.0 - task.target.x_unlabelled, len(CLASSES))
    task.source_x, task.source_y = patterns(10, seed=8)
    d = decide(task, AutoParams(**QUICK))
    assert d["method"] == "self_training" and d["params"]["base"] == "mcc", d
    assert abs(d["signals"]["source_head_check"]["value"]) < 1.64  # at chance, not below: still a shift
    assert "domain shift" in d["reason"] and "self_training+mcc" in d["reason"]
    assert d["signals"]["domain_shift"]["z"] >= 3 and d["params"]["steps"] == 20
    (check,) = d["signals"]["checks"]  # the check that decided, as the report's table shows it; not the frozen ones
    assert d["signals"]["criterion"] == "domain_shift" and check["passed"] and check["value"] == d["signals"]["domain_shift"]["z"]
    assert d["signals"]["frozen_feature_checks"] and "two-proportion z" in check["name"]
    strict = decide(task, AutoParams(shift_z=1000.0, **QUICK))  # the shift test ran, did not pass: said, with numbers
    assert strict["method"] not in ("im", "self_training") and not strict["signals"]["shift_check"]["passed"]
    assert f"z {strict['signals']['domain_shift']['z']:.2f} < shift_z 1000.0, not a clear domain shift)" in strict["reason"]
    assert "shift_check" not in d["signals"]  # it decided there: it is the check in `checks`
    same = with_source_validation(make_task(models["useful"]), False)  # no shift: transfer, and why not adaptation
    same.source_x, same.source_y = patterns(10, seed=8)
    plain = decide(same, AutoParams(**QUICK))
    assert plain["method"] not in ("im", "self_training", "scratch"), plain
    assert "not a clear domain shift)" in plain["reason"] and not plain["signals"]["shift_check"]["passed"]
    im = decide(task, AutoParams(adaptation_method="im", **QUICK))
    assert im["method"] == "im" and "base" not in im["params"]
    assert decide(task, AutoParams(adaptation_method=None, **QUICK))["method"] not in ("im", "self_training")
    model = get_method("auto", **QUICK).fit(task)  # the composite trains
    assert model.config["auto_decision"]["params"]["base"] == "mcc"
    labelled_only = TargetData(inverted, task.target.y_labelled, inverted[:0], len(CLASSES))  # every input labelled
    task.target = labelled_only
    none_left = decide(task, AutoParams(**QUICK))  # the shift measured, nothing to adapt with: said (it was not)
    assert none_left["method"] not in ("im", "self_training") and none_left["signals"]["shift_check"]["passed"]
    assert none_left["signals"]["shift_check"]["not_used"] == "no unlabelled target examples to adapt with"
    assert "a domain shift, but every target input is labelled: none is left for self_training+mcc" in none_left["reason"]


def test_a_source_head_below_chance_on_the_target_is_no_domain_shift(models):
    """Labels shifted by one in the target: the head drops far (z >= 3) and below chance, a sign
    the same names mean other classes, which self-training on its pseudo-labels would
    reinforce; step 3 decides instead. (At chance it stays a shift: test above, inverted.)"""
    from transferkit.methods import METHODS

    if not {"self_training", "mcc"} <= set(METHODS):
        pytest.skip("the adaptation methods are not registered")
    task = with_source_validation(make_task(models["useful"]), False)
    shifted = (task.target.y_labelled + 1) % len(CLASSES)
    task.target = TargetData(task.target.x_labelled, shifted, task.target.x_unlabelled, len(CLASSES))
    task.source_x, task.source_y = patterns(10, seed=8)
    d = decide(task, AutoParams(**QUICK))
    assert d["signals"]["domain_shift"]["z"] >= 3 and d["signals"]["source_head_check"]["value"] <= -2.33, d["signals"]
    assert d["method"] not in ("self_training", "mcc"), d
    assert d["signals"]["shift_check"]["not_used"] and "below chance" in d["reason"] and "check the labels" in d["reason"]
    assert "not a clear domain shift" not in d["reason"]
    loose = decide(task, AutoParams(below_chance_z=100.0, **QUICK))  # the threshold is a parameter, and it decides
    assert loose["method"] == "self_training" and loose["signals"]["criterion"] == "domain_shift"


def test_source_sanity_measures_chance_by_the_most_frequent_class():
    from types import SimpleNamespace

    from transferkit.methods.auto import source_sanity

    class Majority(torch.nn.Module):  # learnt only the class frequencies: always class 0
        classes = ["a", "b", "c"]

        def forward(self, x):
            return torch.tensor([[1.0, 0.0, 0.0]]).expand(len(x), 3)

    yv = torch.tensor([0] * 80 + [1] * 10 + [2] * 10)
    task = SimpleNamespace(source_val_x=torch.zeros(100, 2), source_val_y=yv, source_model=Majority())
    s = source_sanity(task)
    assert s["accuracy"] == pytest.approx(0.8, abs=1e-6) and s["chance"] == pytest.approx(0.8) and abs(s["z"]) < 1e-3
    # against 1/C it passed with z = 9.9
    # a perfect model on a small imbalanced split (45 / 5) cannot reach z 3 over 0.9: not judged, not refused
    small = SimpleNamespace(source_val_x=torch.zeros(50, 2), source_val_y=torch.tensor([0] * 45 + [1] * 5),
                            source_model=Majority())  # fmt: skip
    s = source_sanity(small)
    assert s["best_z"] < 3.0 and s["z"] < 3.0


def test_a_validation_split_too_small_to_judge_does_not_refuse_the_source(models):
    task = with_source_validation(make_task(models["shuffled"], shots=1), True)
    keep = torch.cat([torch.nonzero(task.source_val_y == 0)[:9, 0], torch.nonzero(task.source_val_y == 1)[:1, 0]])
    task.source_val_x, task.source_val_y = task.source_val_x[keep], task.source_val_y[keep]  # 9 / 1: chance 0.9
    d = decide(task, AutoParams(**QUICK))
    assert "no better than chance" not in d["reason"], d["reason"]  # a perfect model could not reach z 3 here
    assert d["signals"]["source_validation"]["best_z"] < 3.0


def test_the_chosen_methods_warnings_are_said_as_autos(models, monkeypatch):
    """An l2sp row and auto's own l2sp fit warned alike ("l2sp (seed 0 ...)"): twice the same line."""
    import warnings

    from transferkit.errors import TransferkitWarning

    cls = type(get_method("finetune"))
    real = cls.fit

    def fit(self, task):
        warnings.warn("finetune (seed 0, 24 labelled examples): something worth saying", TransferkitWarning, stacklevel=2)
        warnings.warn("a library's own warning", UserWarning, stacklevel=1)  # from this line
        warnings.warn("finetune: the probed model is kept. Lower shared_lr_mult.", TransferkitWarning, stacklevel=2)
        return real(self, task)

    monkeypatch.setattr(cls, "fit", fit)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        get_method("auto", **QUICK).fit(make_task(models["useful"]))
    messages = [str(w.message) for w in said]
    assert "auto (which trained finetune): finetune (seed 0, 24 labelled examples): something worth saying" in messages
    assert "a library's own warning" in messages
    assert any(m.startswith("auto (which trained finetune): finetune: the probed model is kept. Lower shared_lr_mult. "
                            "auto chose finetune's settings itself") for m in messages), messages  # fmt: skip
    library = next(w for w in said if str(w.message) == "a library's own warning")
    assert library.filename == __file__  # where it was raised, not auto's caller
    assert not any(m.startswith("finetune (seed 0") for m in messages)

    def failing(self, task):
        warnings.warn("finetune: said before failing", TransferkitWarning, stacklevel=2)
        raise TransferkitError("finetune failed.", "do something else.")

    monkeypatch.setattr(cls, "fit", failing)
    with warnings.catch_warnings(record=True) as said, pytest.raises(TransferkitError, match="finetune failed"):
        warnings.simplefilter("always")
        get_method("auto", **QUICK).fit(make_task(models["useful"]))
    assert [str(w.message) for w in said] == ["auto (which trained finetune): finetune: said before failing"]


def test_the_probe_guards_fix_says_how_to_set_it_through_auto():
    """auto relayed "Lower shared_lr_mult (e.g. 0.01 ...)", a parameter auto refuses (a trial)."""
    from transferkit.methods.auto import _settings_hint

    kept = "finetune (seed 0, 5 labelled examples): ... the probed model (...) is kept. Lower shared_lr_mult or lr."
    hint = _settings_hint(kept, {"method": "finetune", "params": {"freeze": 2, "shared_lr_mult": 1.0}})
    assert "set auto's retrain_lr_mult (its shared_lr_mult here)" in hint and "methods: [auto, {finetune: {...}}]" in hint
    hint = _settings_hint(kept, {"method": "gradual", "params": {}})
    assert "retrain_lr_mult" not in hint and "list gradual with the parameters named above beside auto" in hint
    assert _settings_hint("something else", {"method": "finetune", "params": {}}) == ""
    with pytest.raises(Exception, match="shared_lr_mult"):  # why: auto does not take the chosen method's parameters
        get_method("auto", shared_lr_mult=0.01)


def blobs(n_per_class: int, seed: int, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 10) vectors: two well-separated Gaussian classes (a small, easy table)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n_per_class)
    x = rng.normal(0, 1, size=(len(y), 10)) + np.where(y[:, None] == 1, 3.0, -3.0) * (-1 if flip else 1)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


def table_task(flip: bool, shots: int = 2) -> TransferTask:
    """A target both the input and the source features separate perfectly from 2 examples a class."""
    xs, ys = blobs(150, seed=1)
    src = pretrain_source(
        xs, ys, ["no", "yes"], architecture="mlp", arch_kwargs={}, seed=0, identity={"blobs": 1}, use_cache=False,
        settings={"epochs": 5, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
    ).model  # fmt: skip
    x, y = blobs(shots, seed=2, flip=flip)  # flip: the target's classes are the source's the other way round
    xu, _ = blobs(4, seed=3, flip=flip)

    def new_model() -> TransferModel:
        return TransferModel.build("mlp", (10,), ["no", "yes"], src.input_mean, src.input_std)

    task = TransferTask(TargetData(x, y, xu, 2), ["no", "yes"], 0, new_model, src, source_classes=["no", "yes"])
    task.source_val_x, task.source_val_y = blobs(20, seed=4)  # the source's own held-out examples
    return task


def test_a_source_head_right_about_an_easy_target_decides_where_the_feature_checks_cannot():
    """Both feature sets score 100 % leave-one-out on 4 examples (the sign test sees no
    difference), but the source model, unchanged, classifies them: transfer, not scratch."""
    task = table_task(flip=False)
    d = decide(task, AutoParams(**QUICK, adaptation_method=None))
    assert not all(c["passed"] for c in d["signals"]["checks"]), d["reason"]  # the frozen-feature checks fail ...
    head = d["signals"]["source_head_check"]
    assert head["passed"] and head["value"] == pytest.approx(2.0), head  # 4 of 4 against chance 0.5: z = 2
    assert d["method"] == "finetune" and d["reason"].startswith("the source model, unchanged, classifies"), d["reason"]
    # the same source on a target whose classes it has the wrong way round: its head is wrong, scratch
    flipped = decide(table_task(flip=True), AutoParams(**QUICK, adaptation_method=None))
    assert flipped["method"] == "scratch" and not flipped["signals"]["source_head_check"]["passed"], flipped["reason"]
    assert "source head on the labelled target examples" in flipped["reason"]
    # without the source's own validation split (step 0 not judged) the head alone does not decide
    unjudged = table_task(flip=False)
    unjudged.source_val_x = unjudged.source_val_y = None
    d = decide(unjudged, AutoParams(**QUICK, adaptation_method=None))
    assert d["method"] == "scratch" and d["signals"]["source_head_check"]["passed"]
    assert "not used: the source was not judged on its own validation split" in d["reason"]  # why it did not decide
    from transferkit.report.auto import auto_section

    row = {"shots": 2, "seed": 0, "method": "scratch", "params": {}, "reason": d["reason"], "decision_seconds": 0.1,
           "checks": [d["signals"]["source_head_check"]]}  # fmt: skip
    assert "2.00 >= 1.64 (not used: the source was not judged" in "\n".join(auto_section({"auto_decisions": [row]}))


def test_a_sign_test_out_of_reach_is_said_so():
    """The source can win only where the reference is wrong: a reference right on every labelled
    example leaves the sign test nothing to win (at most z 0), and the reason and the report say
    its refusal says nothing against the source (a trial: 23 of 25 right, at most 1.41 < 1.64, on
    every seed and source of optdigits[0-4])."""
    from transferkit.report.auto import auto_section

    d = decide(table_task(flip=True), AutoParams(**QUICK, adaptation_method=None))
    sign = d["signals"]["checks"][0]
    assert d["method"] == "scratch" and sign["name"].endswith("sign-test z") and sign["best_possible"] == 0.0, d
    assert "at most z 0.00 here" in d["reason"] and "cannot pass at this size" in d["reason"], d["reason"]
    assert "; 0 wins, 0 losses, exact one-sided p 1.000" in sign["detail"], sign["detail"]
    row = {"shots": 2, "seed": 0, "method": "scratch", "params": {}, "reason": d["reason"], "decision_seconds": 0.1,
           "checks": d["signals"]["checks"]}  # fmt: skip
    text = "\n".join(auto_section({"auto_decisions": [row]}))
    assert "sign-test z: 0.00 < 1.64 (cannot pass here: at most 0.00)" in text and "In 1 of them the sign test" in text
    # within reach, nothing is added (the useful source of the pattern task wins its examples)
    reachable = {**sign, "best_possible": 3.0}
    text = "\n".join(auto_section({"auto_decisions": [{**row, "checks": [reachable]}]}))
    assert "(cannot pass here" not in text and "In 1 of them" not in text


def test_a_sign_test_against_the_source_features_is_not_overridden_by_its_head(monkeypatch):
    import transferkit.ranking.evidence as evidence

    real = evidence.paired_sign_test
    monkeypatch.setattr(evidence, "paired_sign_test", lambda a, b: {**real(a, b), "z": -2.0})  # the features lose
    d = decide(table_task(flip=False), AutoParams(**QUICK, adaptation_method=None))
    assert d["signals"]["source_head_check"]["passed"] and d["method"] == "scratch", d["reason"]


def test_auto_that_trained_scratch_at_every_seed_is_not_counted_as_a_comparison(image_npz):
    """An audit: auto fell back to scratch in 9 of 9 runs; its rows (+0.0 [-5.3, +5.3]) were counted
    among the gains checked, and the deployed auto model was not said to be a scratch model."""
    from tests.conftest import tiny_experiment
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.markdown import render_report
    from transferkit.report.summary import build_summary

    raw = tiny_experiment(*image_npz, seeds=2, methods=[{"name": "scratch", "params": {"steps": 5}},
                                                       {"name": "auto", "params": {"max_steps": 5}}])  # fmt: skip
    raw["target"]["shots"] = [5]
    result = run_protocol(validate(raw))
    checked = build_summary(result)["negative_transfer_checked"]
    for r in result.records:
        if r.method == "auto":  # as if it had found no evidence that the source helps
            r.auto_decision = {**(getattr(r, "auto_decision", None) or r.model.config["auto_decision"]), "method": "scratch"}
    summary = build_summary(result)
    assert summary["negative_transfer_checked"] == checked - 1  # scratch beside itself: no comparison
    from transferkit.report.summary import _row_name

    row = next(r for r in summary["results"] if r["method"] == "auto")
    assert _row_name(row, {5}) == "auto at k=5 (auto trained scratch at every seed)"  # if flagged, said so
    summary["deploy"] = {"method": "auto", "shots": 5, "seed": 0}
    assert "trained on 5 labelled example(s) per class (`auto` chose `scratch` for it)" in render_report(summary, {})


def test_at_one_shot_a_source_head_right_on_the_labelled_examples_outweighs_a_noisy_logme_factor(models, monkeypatch):
    """A trial's 62 font characters at k = 1: LogME 0.652 against 0.657 read as a log Bayes factor of -21.7 (n C
    times the difference), and auto trained scratch (48.4 %) beside a source head right on 81 % of the labelled
    examples (source_only 85.1 %): at one shot the head did not count."""
    import transferkit.ranking.evidence as evidence

    monkeypatch.setattr(evidence, "logme_log_bayes_factor", lambda *a: -21.7)
    task = with_source_validation(make_task(models["useful"], shots=1), False)
    d = decide(task, AutoParams(**QUICK))
    assert d["signals"]["source_head_check"]["passed"] and d["signals"]["criterion"] == "logme_one_shot"
    assert d["method"] != "scratch", d["reason"]
    assert d["reason"].startswith("the source model, unchanged, classifies the labelled target examples above chance")
    unjudged = make_task(models["useful"], shots=1)  # no source validation split: step 0 did not judge it
    assert decide(unjudged, AutoParams(**QUICK))["method"] == "scratch"


def test_the_one_shot_head_check_is_an_exact_binomial_test():
    """A review: with about one right expected (62 classes at k = 1) the normal approximation passed 3 right of 62,
    which a head at chance does 7.9 % of the time, and at one shot the head decides alone."""
    from transferkit.methods.auto import source_head_check

    y = torch.arange(62)
    assert source_head_check(3 / 62, y, 1.64)["passed"]  # the approximation (k >= 2, beside the sign test)
    assert not source_head_check(3 / 62, y, 1.64, exact=True)["passed"]
    assert source_head_check(5 / 62, y, 1.64, exact=True)["passed"]
    assert source_head_check(0.0, y, 1.64, exact=True)["value"] > -1  # none right, one expected: not below chance
    assert "exact binomial" in source_head_check(0.81, y, 1.64, exact=True)["name"]


def test_a_check_is_said_with_the_decimals_that_tell_value_and_threshold_apart():
    """A review saw "z 1.64 < 1.64" in auto's reason: both rounded to 2 decimals."""
    from transferkit.methods.auto import _check, _said

    assert _said(_check("z", 1.6432, 1.6449, "sign test")) == "z 1.643 < 1.645 (sign test)"
    assert _said(_check("z", 2.5, 1.6449, "sign test")) == "z 2.50 >= 1.64 (sign test)"
    assert _said(_check("z", 1.6449, 1.6449, "tie")) == "z 1.64 >= 1.64 (tie)"  # equal: nothing to tell apart


def test_max_steps_caps_each_budget_and_gradual_s_stages_together():
    """A review: gradual on MiniLM (7 stages) at max_steps 20 had trained 20 + 7 x 20 steps."""
    from transferkit.methods.auto import step_caps

    assert step_caps("gradual", 20, stages=7) == {"probe_steps": 20, "stage_steps": 2}  # 7 x 2 <= 20
    assert step_caps("gradual", 300, stages=3) == {"probe_steps": 300, "stage_steps": 50}  # the defaults fit
    assert step_caps("gradual", 5, stages=7) == {"probe_steps": 5, "stage_steps": 1}  # at least 1 a stage
    assert step_caps("gradual", 20, stages=7, given={"max_stages": 2}) == {"probe_steps": 20, "stage_steps": 10}
    assert step_caps("finetune", 20) == {"probe_steps": 20, "steps": 20}  # each budget on its own
    assert step_caps("finetune", 20, given={"steps": 5}) == {"probe_steps": 20}  # given: left as given
