"""Domain adaptation methods: their extra losses, domain-specific BatchNorm, label-free
selection, augmentations, and the guarantee that no target label reaches a method at k = 0.

(The losses shared with other code - gradient reversal, DANN, CDAN, MMD, CORAL, MCC -
are tested in tests/adaptation/test_losses.py; every method also runs the contract test.)
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import make_images, tiny_experiment
from transferkit.adaptation.augment import strong_augment, weak_augment
from transferkit.adaptation.domain_bn import (
    DomainBatchNorm,
    attach_domain_bn,
    detach_domain_bn,
    domain_rows,
    estimate_target_stats,
)
from transferkit.adaptation.selection import (
    CRITERIA,
    bnm_score,
    dev_score,
    entropy_score,
    im_score,
    score_checkpoint,
    snd_score,
)
from transferkit.data.splits import TargetData, draw_shots
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.methods import METHODS, Method, Params, TransferTask, get_method
from transferkit.methods.im import information_maximisation_loss
from transferkit.methods.self_training import pseudo_label_loss

DA_METHODS = ["cdan", "coral", "dan", "dann", "im", "mcc", "self_training"]


def test_da_methods_are_registered_and_work_without_target_labels():
    for name in DA_METHODS:
        cls = METHODS[name]
        assert cls.min_shots == 0 and cls.needs_same_classes and cls.uses_source


# --- losses added by the methods ---------------------------------------------------------


def test_pseudo_label_loss_masks_unconfident_rows():
    z_weak = torch.tensor([[10.0, 0.0], [0.1, 0.0], [0.0, 10.0]])  # confident, unsure, confident
    z_strong = torch.tensor([[0.0, 0.0], [5.0, -5.0], [0.0, 0.0]], requires_grad=True)
    loss, mask = pseudo_label_loss(z_weak, z_strong, threshold=0.95)
    assert mask.tolist() == [True, False, True]
    # rows 0 and 2: CE of uniform logits = log 2; row 1 is masked; mean over all 3 rows
    assert loss.item() == pytest.approx(2 * math.log(2) / 3)
    loss.backward()
    assert z_strong.grad[1].abs().sum() == 0  # no gradient from a masked row


def test_pseudo_labels_do_not_backpropagate_into_the_weak_view():
    z_weak = torch.tensor([[4.0, 0.0]], requires_grad=True)
    loss, _ = pseudo_label_loss(z_weak, torch.zeros(1, 2, requires_grad=True), threshold=0.5)
    loss.backward()
    assert z_weak.grad is None


def test_information_maximisation_prefers_confident_and_diverse_predictions():
    confident_diverse = torch.tensor([[20.0, 0.0], [0.0, 20.0]])
    collapsed = torch.tensor([[20.0, 0.0], [20.0, 0.0]])
    uniform = torch.zeros(2, 2)
    assert information_maximisation_loss(confident_diverse).item() == pytest.approx(-math.log(2), abs=1e-6)
    assert information_maximisation_loss(collapsed).item() == pytest.approx(0.0, abs=1e-6)
    assert information_maximisation_loss(uniform).item() == pytest.approx(0.0, abs=1e-6)


def test_coral_term_aligns_the_layer_it_is_told():
    from transferkit.adaptation import coral_loss
    from transferkit.methods._adapt import Step
    from transferkit.methods.coral import CORALParams, CORALTerm

    gen = torch.Generator().manual_seed(0)
    f = torch.randn(8, 4, generator=gen)
    z_s, z_t = torch.randn(8, 3, generator=gen), 3 * torch.randn(8, 3, generator=gen)
    step = Step(f, z_s, torch.zeros(8, dtype=torch.long), f.clone(), z_t, 0, None, 0.0)  # same features, other logits

    def term(**kw):
        return float(CORALTerm(CORALParams(**kw))(step))

    assert term(layer="features") == 0.0
    assert term() == term(layer="logits") == pytest.approx(float(coral_loss(z_s, z_t)))  # the paper's fc8
    assert term() > 0
    assert term(layer="both", trade_off=2.0) == pytest.approx(2 * term(layer="logits"))


def test_self_training_rejects_an_unknown_base():
    with pytest.raises(TransferkitError, match="base 'finetune'"):  # when built, not when it starts training
        get_method("self_training", base="finetune")


# --- domain-specific BatchNorm -----------------------------------------------------------


def test_domain_bn_normalises_each_domain_with_its_own_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert attach_domain_bn(model) == 1
    xs, xt = torch.randn(8, 3), torch.randn(6, 3) * 3 + 5
    model.train()
    with domain_rows(model, 8):
        out = model(torch.cat([xs, xt]))
    lin = model[0]
    for part, x in ((out[:8], xs), (out[8:], xt)):
        h = lin(x)
        ref = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)
        assert torch.allclose(part, ref, atol=1e-4)  # gamma = 1, beta = 0 at init
    wrapper = model[1]
    assert not torch.allclose(wrapper.bn.running_mean, wrapper.target_mean)


def test_extra_rows_do_not_touch_running_statistics():
    model = nn.Sequential(nn.BatchNorm1d(2))
    attach_domain_bn(model)
    model.train()
    x = torch.randn(4, 2)
    with domain_rows(model, 2, 2):
        model(torch.cat([x, 100 + torch.randn(3, 2)]))  # 3 extra rows far away
    w = model[0]
    assert w.target_mean.abs().max() < 10 and w.bn.running_mean.abs().max() < 10


def test_adabn_statistics_of_inputs_stored_class_by_class_are_those_of_all_of_them():
    model = nn.Sequential(nn.BatchNorm1d(1))
    attach_domain_bn(model)
    xt = torch.cat([c + 0.5 * torch.randn(70, 1) for c in range(10)])  # 10 classes, sorted, 700 rows
    estimate_target_stats(model, xt)  # batches of 256, the last one 444 rows
    w = model[0]
    assert abs(w.target_mean.item() - xt.mean().item()) < 0.15  # was 3.87 against 4.54
    assert abs(w.target_var.item() / xt.var().item() - 1) < 0.1  # was 0.29 of it: one class per batch


def test_adabn_estimate_and_detach_give_a_plain_bn_with_target_statistics():
    model = nn.Sequential(nn.BatchNorm1d(2))
    attach_domain_bn(model)
    xt = torch.randn(1000, 2) * 2 + torch.tensor([3.0, -1.0])
    estimate_target_stats(model, xt, batch_size=100)
    w = model[0]
    assert torch.allclose(w.target_mean, xt.mean(0), atol=1e-4)
    assert torch.allclose(w.bn.running_mean, torch.zeros(2))  # source statistics untouched
    detach_domain_bn(model, "target")
    assert isinstance(model[0], nn.BatchNorm1d) and not any(isinstance(m, DomainBatchNorm) for m in model.modules())
    assert torch.allclose(model[0].running_mean, xt.mean(0), atol=1e-4)


# --- augmentations -----------------------------------------------------------------------


def test_augmentations_keep_shape_range_and_are_seeded():
    x = torch.rand(5, 1, 12, 12)
    a = strong_augment(x, torch.Generator().manual_seed(0))
    b = strong_augment(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    assert a.min() >= 0.0 and a.max() <= x.max() + 1e-6  # 0: fill of the affine map and cutout
    assert weak_augment(x, torch.Generator().manual_seed(0)).shape == x.shape
    v = torch.randn(5, 7)
    assert torch.equal(weak_augment(v, torch.Generator()), v) and strong_augment(v, torch.Generator()).shape == v.shape


# --- label-free selection criteria -------------------------------------------------------


def test_entropy_and_snd_on_toy_predictions():
    confident = torch.eye(4)
    uniform = torch.full((4, 4), 0.25)
    assert entropy_score(confident) == pytest.approx(0.0, abs=1e-6)
    assert entropy_score(uniform) == pytest.approx(-math.log(4))
    # identical rows: every other example is an equally close neighbour -> log(N - 1)
    assert snd_score(uniform) == pytest.approx(math.log(3), abs=1e-5)
    # two tight clusters of 3: each example's neighbours are its 2 cluster mates -> log 2
    clusters = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3)
    assert snd_score(clusters) == pytest.approx(math.log(2), abs=1e-4)


def test_bnm_and_im_reward_confident_predictions_spread_over_the_classes():
    spread = torch.eye(4).repeat(3, 1)  # 12 one-hot predictions, 3 per class
    collapsed = torch.zeros(12, 4)
    collapsed[:, 0] = 1.0  # all 12 in class 0
    uniform = torch.full((12, 4), 0.25)
    partial = torch.cat([torch.eye(4), collapsed[:8]])  # 4 spread, 8 more in class 0
    assert bnm_score(spread) == pytest.approx(1.0, abs=1e-5)
    assert bnm_score(collapsed) == pytest.approx(0.5, abs=1e-5)  # 1 / sqrt(C)
    assert bnm_score(uniform) == pytest.approx(0.25, abs=1e-5)  # rank one, and unsure: 1 / C
    assert bnm_score(spread) > bnm_score(partial) > bnm_score(collapsed)
    assert im_score(spread) == pytest.approx(math.log(4), abs=1e-5)
    assert im_score(collapsed) == pytest.approx(0.0, abs=1e-5)
    assert im_score(uniform) == pytest.approx(0.0, abs=1e-5)
    assert im_score(spread) > im_score(partial) > im_score(collapsed)
    # where entropy cannot tell a collapse from a spread: both are fully confident
    assert entropy_score(spread) == pytest.approx(entropy_score(collapsed), abs=1e-6)


def test_dev_is_the_plain_source_risk_without_shift_and_penalises_shifted_errors():
    rng = np.random.default_rng(0)
    f_train, f_t, f_val = rng.normal(size=(400, 3)), rng.normal(size=(400, 3)), rng.normal(size=(300, 3))
    loss = rng.uniform(0, 1, size=300)
    assert -dev_score(f_train, f_t, f_val, loss) == pytest.approx(loss.mean(), abs=0.05)
    # target lies towards +x: source examples there are weighted up; make them the wrong ones
    f_t_shift = f_t + np.array([1.5, 0.0, 0.0])
    wrong_where_target = (f_val[:, 0] > 0.5).astype(float)
    right_where_target = 1.0 - wrong_where_target
    assert -dev_score(f_train, f_t_shift, f_val, wrong_where_target) > -dev_score(
        f_train, f_t_shift, f_val, right_where_target
    )


def test_unknown_criterion_and_missing_source_validation_are_clear_errors():
    from transferkit.adaptation.selection import SelectionData

    data = SelectionData(torch.rand(4, 1, 12, 12), None, None, None)
    with pytest.raises(TransferkitError, match="unknown selection criterion 'oracle'"):
        score_checkpoint(None, "oracle", data, 0)
    with pytest.raises(TransferkitError, match="source validation"):
        score_checkpoint(None, "dev", data, 0)


# --- the whole loop on a tiny task, k = 0 and k > 0 --------------------------------------


@pytest.fixture(scope="module")
def tiny_parts():
    from transferkit.train.source import pretrain_source

    xs, ys = make_images(30, seed=1)
    xt, yt = make_images(15, shift=30.0, seed=2)
    x_s, x_t = torch.from_numpy(xs / 255.0), torch.from_numpy(xt / 255.0)
    res = pretrain_source(
        x_s, torch.from_numpy(ys), ["a", "b", "c"], architecture="cnn", arch_kwargs={"width": 4, "feature_dim": 8},
        settings={"epochs": 2, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
        seed=0, identity={}, use_cache=False,
    )  # fmt: skip
    return res.model, x_s.float(), torch.from_numpy(ys), x_t.float(), torch.from_numpy(yt)


def _task(parts, k: int, monitor=None) -> TransferTask:
    model, x_s, y_s, x_t, y_t = parts
    lab = torch.cat([torch.nonzero(y_t == c)[:k, 0] for c in range(3)]) if k else torch.zeros(0, dtype=torch.long)
    rest = torch.tensor([i for i in range(len(y_t)) if i not in set(lab.tolist())])
    target = TargetData(x_t[lab], y_t[lab], x_t[rest], 3)
    return TransferTask(target, ["a", "b", "c"], 0, lambda: None, model, x_s[:60], y_s[:60], ["a", "b", "c"],
                        source_val_x=x_s[60:], source_val_y=y_s[60:], monitor=monitor)  # fmt: skip


@pytest.mark.parametrize(("name", "k"), [(n, 0) for n in DA_METHODS] + [("dann", 2), ("self_training", 2)])
def test_method_runs_at_k0_and_k2_and_returns_a_plain_model(name, k, tiny_parts):
    task = _task(tiny_parts, k)
    model = get_method(name, steps=6, batch_size=16, checkpoints=2).fit(task)
    assert not any(isinstance(m, DomainBatchNorm) for m in model.modules())
    assert model.config["adaptation"]["bn"] == ("shared" if name == "dan" else "domain")  # DAN: see methods/dan.py
    sel = task.extras["selection"]
    assert sel.criterion == "entropy" and [s for s, _ in sel.history] == [3, 6]
    assert sel.best_step == max(sel.history, key=lambda h: h[1])[0]


@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_criterion_selects_a_scored_checkpoint(criterion, tiny_parts):
    task = _task(tiny_parts, 0)
    get_method("mcc", steps=4, batch_size=16, checkpoints=2, selection=criterion).fit(task)
    sel = task.extras["selection"]
    assert sel.criterion == criterion and [s for s, _ in sel.history] == [2, 4]
    assert all(math.isfinite(v) for _, v in sel.history)
    assert sel.best_step == max(sel.history, key=lambda h: h[1])[0]


def test_self_training_on_a_base_and_selection_last(tiny_parts):
    steps = []
    task = _task(tiny_parts, 0, monitor=lambda model, step: steps.append(step))
    get_method("self_training", base="mcc", steps=4, batch_size=16, checkpoints=2, selection="last").fit(task)
    assert task.extras["selection"].best_step == 4 and steps == [0, 2, 4]


def test_source_only_is_the_source_model_at_0_steps_and_never_sees_the_target_after_n(tiny_parts):
    model = tiny_parts[0]
    task = _task(tiny_parts, 0)
    x = task.target.x_unlabelled
    same = get_method("source_only").fit(task)
    assert torch.equal(same(x), model.eval()(x))
    # A target that poisons any forward it enters: N budget-matched steps must not touch it.
    poisoned = dataclasses.replace(task, target=TargetData(x[:0], task.target.y_labelled, torch.full_like(x, float("nan")), 3))
    trained = get_method("source_only", steps=5, batch_size=16).fit(poisoned)
    assert not trained.training
    bn = [(m.running_mean, m2.running_mean) for m, m2 in zip(trained.modules(), model.modules(), strict=True)
          if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]  # fmt: skip
    assert bn and all(torch.isfinite(a).all() for a, _ in bn)  # statistics from source rows only
    assert any(not torch.equal(a, b) for a, b in bn)  # ... and they did train
    assert torch.isfinite(trained(x)).all() and not torch.equal(trained(x), model(x))


# --- no target labels at k = 0 -----------------------------------------------------------


def test_target_data_has_no_field_for_unlabelled_labels_and_k0_draws_none():
    assert [f.name for f in dataclasses.fields(TargetData)] == [
        "x_labelled",
        "y_labelled",
        "x_unlabelled",
        "num_classes",
        "class_weight",  # of the classes, from the labels a method may see (TransferClassifier(class_weight=))
    ]
    y = np.repeat(np.arange(3), 10)
    lab, unl = draw_shots(y, np.arange(30), 0, seed=0)
    assert len(lab) == 0 and len(unl) == 30


def test_protocol_hands_a_k0_method_no_target_labels_and_no_test_split(image_npz, monkeypatch):
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol

    seen: list[TransferTask] = []

    class Spy(Method):
        name = "spy"
        description = "records its task"
        Params = Params
        min_shots = 0
        needs_same_classes = True

        def fit(self, task):
            seen.append(task)
            return task.source_model.copy()

    monkeypatch.setitem(METHODS, "spy", Spy)
    src, tgt = image_npz
    cfg = tiny_experiment(src, tgt, methods=["spy"], seeds=[0])
    cfg["target"]["shots"] = [0]
    cfg["save_models"] = False
    result = run_protocol(validate(cfg))
    (task,) = seen
    assert len(task.target.y_labelled) == 0 and len(task.target.x_labelled) == 0
    test_x = result.data.xt[result.data.split.test_idx]
    pool_x = result.data.xt[result.data.split.pool_idx]
    assert len(task.target.x_unlabelled) == len(pool_x)
    flat_unl = task.target.x_unlabelled.flatten(1).cpu()  # on the run's device
    assert not any(bool((flat_unl == row).all(1).any()) for row in test_x.flatten(1))
    assert task.monitor is not None and task.monitor(task.source_model, 0) is None  # records, returns nothing
    assert result.target_curves and set(result.target_curves[0]) == {"method", "shots", "seed", "step", "accuracy"}


def test_run_folder_reports_adaptation_curves_oracle_pad_and_tsne(image_npz, tmp_path):
    import json

    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.run_folder import write_run_folder

    src, tgt = image_npz
    cfg = tiny_experiment(
        src, tgt, seeds=[0], methods=["source_only", {"name": "mcc", "params": {"steps": 4, "checkpoints": 2}}]
    )
    cfg["target"]["shots"] = [0]
    result = run_protocol(validate(cfg))
    write_run_folder(result, tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["baseline"] == {"0": "source_only"}  # k = 0: no scratch, gains against the unadapted model
    (run,) = summary["adaptation"]["runs"]
    assert run["method"] == "mcc" and run["criterion"] == "entropy" and 0 <= run["oracle_accuracy"] <= 1
    (pad,) = summary["adaptation"]["proxy_a_distance"]
    assert -2.5 < pad["before"] <= 2 and -2.5 < pad["after"] <= 2
    assert 0 <= pad["before_knn"] <= 2 and 0 <= pad["after_knn"] <= 2 and isinstance(pad["domain_bn"], bool)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "PAD after (k-NN)" in report
    assert "k = 0 means no target labels at all" in report  # a k = 0 run says what k = 0 is
    assert "domain-adaptation methods choose their checkpoint by a label-free criterion" in summary["model_selection"]
    rows = summary["adaptation"]["pad_rows"]  # the image_npz sets are small: the report says how small, and so what
    assert f"on {rows['source']} held-out source and {rows['target']} target test examples" in report
    assert min(rows.values()) < 50 and f"**With {min(rows.values())} examples on one side these distances are rough:**" in report
    assert "## Domain adaptation" in report and "oracle" in report
    assert (tmp_path / "run" / "plots" / "da_tsne.png").exists()
    assert (tmp_path / "run" / "plots" / "da_target_accuracy.png").exists()


def test_proxy_a_distance_is_0_for_one_domain_in_unequal_parts_and_near_2_for_disjoint_ones():
    from transferkit.report.adaptation import proxy_a_distance

    rng = np.random.default_rng(0)
    same = rng.normal(size=(460, 5))
    assert proxy_a_distance(same[:400], same[400:]) < 0.3  # 400 vs 60 of one distribution: plain error gives 1.48
    assert proxy_a_distance(same[:400], same[400:] + 10.0) > 1.9
    many = [proxy_a_distance(a, b, seed=0) for a, b in ((same[:200], same[200:400]), (same[:100], same[100:200]))]
    assert min(many) >= 0.0  # chance-level errors above 0.5 are not negative distances


def test_knn_pad_sees_domains_whose_means_match():
    """Domain-specific BatchNorm matches each feature's mean across domains, which hides the
    domains from a linear classifier (PAD ~0) though they still differ; k-NN still sees it."""
    from transferkit.report.adaptation import proxy_a_distance

    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(400, 8)), 3.0 * rng.normal(size=(400, 8))  # same mean, 3x the spread
    assert proxy_a_distance(source, target) < 0.3
    assert proxy_a_distance(source, target, classifier="knn") > 1.0
    same = rng.normal(size=(800, 8))
    assert proxy_a_distance(same[:400], same[400:], classifier="knn") < 0.3
    # a small target test part: the vote must not lean towards the larger domain (it read 0.00)
    assert proxy_a_distance(source, target[:30], classifier="knn") > 0.5
    apart = rng.normal(size=(6, 8))
    assert proxy_a_distance(apart[:3], apart[3:] + 10.0, classifier="knn") > 1.9  # 3 rows each: k shrinks
    assert proxy_a_distance(apart[:1], apart[1:], classifier="knn") is None  # too few to cross-validate


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"base": "imm"}, r"base 'imm' is not an adaptation method"),
        ({"base_params": {"trade_off": 50.0}}, r"base_params \['trade_off'\] are given without a base"),
        ({"base": "dann", "base_params": {"steps": 5}}, r"base_params \['steps'\] have no effect"),
        ({"base": "dan", "base_params": {"bn": "shared", "lr": 10.0}}, r"base_params \['bn', 'lr'\] have no effect"),
        ({"base": "mcc", "base_params": {"temperatur": 2}}, r"method 'mcc': temperatur: Extra inputs"),
    ],
)
def test_self_training_base_is_checked_when_the_method_is_built(params, message):
    """They failed only when self_training started, after the source and earlier methods had trained
    (or, for base_params without base, were silently ignored)."""
    from transferkit.methods import get_method

    with pytest.raises(TransferkitError, match=message):
        get_method("self_training", **params)


def test_a_first_checkpoint_choice_is_said_with_the_criterions_scores():
    """coral chose its first checkpoint on both seeds under entropy and looked no better than source_only, with
    nothing in the report to say the criterion decided it."""
    from transferkit.report.adaptation import adaptation_markdown

    def run(selected, scores):
        return {"method": "coral", "shots": 0, "seed": 1, "criterion": "entropy", "selected_step": selected,
                "accuracy_selected": 0.6, "oracle_step": 120, "oracle_accuracy": 0.7, "scores": scores}  # fmt: skip

    scores = [[15, -0.21], [30, -0.35], [120, -0.4]]
    text = "\n".join(adaptation_markdown({"runs": [run(15, scores)], "proxy_a_distance": []}))
    assert "**The criterion chose the first checkpoint**" in text
    assert "- coral, k = 0, seed 1 (entropy): 15: -0.21, 30: -0.35, 120: -0.4" in text
    later = "\n".join(adaptation_markdown({"runs": [run(30, scores)], "proxy_a_distance": []}))
    assert "first checkpoint" not in later
    older = {k: v for k, v in run(15, scores).items() if k != "scores"}  # summaries before session 16
    assert "first checkpoint" not in "\n".join(adaptation_markdown({"runs": [older], "proxy_a_distance": []}))


def test_a_chosen_checkpoint_whose_predictions_collapsed_is_said(tiny_parts, monkeypatch):
    import transferkit.methods._adapt as adapt_module
    from transferkit.adaptation.selection import collapse_note, top_share
    from transferkit.errors import TransferkitWarning

    classes = ["a", "b", "c"]
    note = collapse_note("mcc", "entropy", (1, 0.4), (2, 0.95), classes)
    assert note.startswith("mcc: the checkpoint chosen by entropy predicts 'c' for 95% of the target inputs (the model "
                           "before adaptation: 40% for its most predicted class)")
    assert "Try selection: dev or source_val" in note
    assert "Try selection: another criterion" in collapse_note("mcc", "dev", (1, 0.4), (2, 0.95), classes)
    assert collapse_note("mcc", "entropy", (1, 0.4), (2, 0.85), classes) is None  # not most of the target
    assert collapse_note("mcc", "entropy", (1, 0.8), (1, 0.95), classes) is None  # already so before adapting
    # ... unless that was a collapse too: still one class, or another (the source at 100 % 'a', dan at 100 % 'b')
    assert collapse_note("dan", "entropy", (0, 1.0), (1, 1.0), classes).startswith(
        "dan: the checkpoint chosen by entropy predicts 'b' for 100% of the target inputs (the model before adaptation: "
        "100% for its most predicted class)")  # fmt: skip
    assert collapse_note("dan", "entropy", (0, 0.92), (0, 0.95), classes) is not None
    assert collapse_note("mcc", "entropy", (0, 1.0), (0, 1.0), ["a"]) is None
    task = _task(tiny_parts, 0)
    model = tiny_parts[0]
    top, share = top_share(model, task.target.x_unlabelled)
    preds = model.eval()(task.target.x_unlabelled).argmax(1)
    assert share == pytest.approx(float((preds == top).float().mean()))
    shares = iter([(0, 0.4), (0, 0.5), (2, 0.95)])  # the start (AdaBN statistics), the source as it is, the chosen
    monkeypatch.setattr(adapt_module, "top_share", lambda model, x: next(shares))
    with pytest.warns(TransferkitWarning, match="mcc: the checkpoint chosen by entropy predicts 'c' for 95%"):
        get_method("mcc", steps=4, batch_size=16, checkpoints=2).fit(task)
    # a trial: the AdaBN start had collapsed already (92 %), so only dan (shared BN) was warned of; against the
    # source as it is (40 %), dann, cdan, coral and self_training at 95 % are
    shares = iter([(0, 0.92), (0, 0.4), (0, 0.95)])
    with pytest.warns(TransferkitWarning, match=r"predicts 'a' for 95% of the target inputs \(the model before "
                                                r"adaptation: 40% for its most predicted class\)"):  # fmt: skip
        get_method("mcc", steps=4, batch_size=16, checkpoints=2).fit(_task(tiny_parts, 0))
    shares = iter([(0, 0.4), (0, 0.5), (2, 0.6)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        get_method("mcc", steps=4, batch_size=16, checkpoints=2).fit(_task(tiny_parts, 0))


def test_adabn_says_when_the_source_model_has_no_batchnorm_to_re_estimate(tiny_parts):
    """A transformer (LayerNorm) gives AdaBN nothing to do: its rows would silently be source_only's."""
    task = _task(tiny_parts, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        get_method("adabn").fit(task)  # the cnn has BatchNorm: not a word
    plain = task.source_model.copy()
    for parent in list(plain.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                setattr(parent, name, torch.nn.LayerNorm(child.num_features) if isinstance(child, torch.nn.BatchNorm1d)
                        else torch.nn.Identity())  # fmt: skip
    task.source_model = plain
    with pytest.warns(TransferkitWarning, match=r"adabn: the source model has no BatchNorm statistics \(it normalises with "
                      r"LayerNorm, which keeps no statistics\).*source_only"):  # fmt: skip
        model = get_method("adabn").fit(task)
    x = task.target.x_unlabelled
    assert torch.equal(model.eval()(x), plain.eval()(x)) and "adaptation_bn" not in model.config
    assert model.config["unchanged_from"] == "source_only"  # so a run does not deploy it by default


def test_adabn_says_when_the_targets_statistics_collapse_its_predictions(tiny_parts, monkeypatch):
    """A trial's shifted table: adabn sent 92 % of the target to one class (class 0 at 12 %) where
    source_only was 82.9 % right, without a word (adabn was never checked)."""
    import transferkit.adaptation.selection as selection

    shares = iter([(1, 0.5), (0, 0.92)])  # the source as it is, then with the target's statistics
    monkeypatch.setattr(selection, "top_share", lambda model, x: next(shares))
    with pytest.warns(TransferkitWarning, match=r"adabn: with the target's BatchNorm statistics the model predicts "
                                                r"'\w+' for 92% of the target inputs \(the source model as it is: 50%"):  # fmt: skip
        get_method("adabn").fit(_task(tiny_parts, 0))
    shares = iter([(1, 0.8), (0, 0.92)])  # as unbalanced before: not said
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        get_method("adabn").fit(_task(tiny_parts, 0))


def test_adabn_on_a_single_target_input_is_refused(tiny_parts):
    """A trial: fit(None, None, X_unlabelled=one row) returned source_only's model unchanged, silently
    (mcc on one row was refused)."""
    from transferkit.data.splits import TargetData

    task = _task(tiny_parts, 0)
    t = task.target
    task.target = TargetData(t.x_labelled[:0], t.y_labelled[:0], t.x_unlabelled[:1], t.num_classes)
    with pytest.raises(TransferkitError, match=r"'adabn' needs target inputs to estimate BatchNorm statistics on, got 1"):
        get_method("adabn").fit(task)


def test_the_tsne_plot_fits_its_perplexity_to_a_small_runs_few_points(tmp_path):
    """A new user's 40 + 40 series crashed after every fit, in this plot, with 'perplexity (30) must
    be less than n_samples (16)', and the run folder was lost."""
    from transferkit.report.adaptation import _plot_tsne

    rng = np.random.default_rng(0)
    features = (rng.normal(size=(8, 5)), rng.normal(size=(8, 5)))
    _plot_tsne({"before": features}, np.arange(16) % 4, 8, tmp_path / "tsne.png")
    assert (tmp_path / "tsne.png").stat().st_size > 0


def test_strong_view_of_token_ids_deletes_tokens_and_keeps_the_ends():
    """Token ids (B, T) went through the vectors' masking and noise: std of an int tensor
    raised, so self_training (and auto, which picks it for shifted classes) failed on texts."""
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randint(1, 500, (64, 30)), torch.zeros(64, 10, dtype=torch.long)], dim=1)
    x[0, 2:] = 0  # a text of 2 tokens: kept whole
    out = strong_augment(x, g)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert torch.equal(out[0], x[0])
    kept = (out != 0).sum(1)[1:].float()
    assert 0.7 * 30 < kept.mean() < 0.9 * 30  # about a fifth of the 28 inner tokens deleted
    for row, new in zip(x[1:], out[1:], strict=True):
        got = new[new != 0].tolist()
        assert got[0] == row[0] and got[-1] == row[29] and (new[len(got):] == 0).all()
        it = iter(row[row != 0].tolist())
        assert all(t in it for t in got)  # a subsequence: order kept, nothing new


@pytest.mark.parametrize("name", DA_METHODS)
def test_adaptation_methods_run_on_token_ids(name):
    from transferkit.models import TransferModel

    torch.manual_seed(0)
    classes = ["neg", "pos"]
    src = TransferModel.build("textcnn", (16,), classes)

    def texts(n, offset):
        x = torch.randint(1, 200, (n, 16)) + offset
        x[:, 12:] = 0
        return x

    xs, ys = texts(40, 0), torch.arange(40) % 2
    xt = texts(30, 50)
    target = TargetData(xt[:4], torch.tensor([0, 1, 0, 1]), xt[4:], 2)
    task = TransferTask(target, classes, 0, lambda: None, src, xs[:30], ys[:30], classes,
                        source_val_x=xs[30:], source_val_y=ys[30:])  # fmt: skip
    model = get_method(name, steps=4, batch_size=8, checkpoints=2).fit(task)
    assert model(xt[:5]).shape == (5, 2)


@pytest.mark.parametrize("name", ["finetune", "l2sp", "gradual", "bitfit"])
def test_batches_too_small_for_batchnorm_keep_the_sources_statistics(name, tiny_parts):
    """A series trial at k = 1 with 2 classes (batches of 2): finetune and l2sp lost 20-30 points
    with bn: train (2 examples normalise every feature to -1 and +1), all regained with bn: frozen."""
    from transferkit.models.transfer_model import BN_TYPES

    params = {"steps": 2, "probe_steps": 2} if name != "gradual" else {"stage_steps": 2, "probe_steps": 2}
    if name == "bitfit":
        params = {"steps": 2}
    task = _task(tiny_parts, 1)  # 3 classes, k = 1: batches of 3
    running = [m.running_mean.clone() for m in task.source_model.modules() if isinstance(m, BN_TYPES)]
    trains = {"bitfit": "only BatchNorm's shift trains"}.get(name, "only BatchNorm's scale and shift train")
    with pytest.warns(TransferkitWarning, match=rf"{name}: batches of 3 labelled examples are too few for BatchNorm.*"
                                                rf"\(bn: frozen\) and {trains}"):  # (lora: none of it trains, below)
        model = get_method(name, **params).fit(task)
    kept = [m.running_mean for m in model.modules() if isinstance(m, BN_TYPES)]
    assert running and all(torch.equal(a, b) for a, b in zip(running, kept, strict=True))  # the source's statistics
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        get_method(name, **params).fit(_task(tiny_parts, 2))  # batches of 6: bn: train as before
    assert not [w for w in said if "too few for BatchNorm" in str(w.message)]


def test_series_are_not_moved_across_sensors_by_adaptation_or_source_only(monkeypatch):
    """The weak and strong views of a cnn1d's (B, 1, C, L) series shifted, turned and blurred
    its sensors' rows into each other, as a picture's (a trial's 16-sensor series)."""
    from transferkit.methods import _adapt, source_only
    from transferkit.models import TransferModel

    g = torch.Generator().manual_seed(0)
    xs, xt = torch.randn(24, 1, 16, 25, generator=g), torch.randn(12, 1, 16, 25, generator=g)
    ys, yt = torch.arange(24) % 3, torch.arange(12) % 3
    model = TransferModel.build("cnn1d", (1, 16, 25), ["a", "b", "c"], width=4, feature_dim=8)
    task = TransferTask(TargetData(xt[:0], yt[:0], xt, 3), ["a", "b", "c"], 0, lambda: None, model, xs, ys,
                        ["a", "b", "c"], source_val_x=xs[:6], source_val_y=ys[:6])  # fmt: skip
    said = []
    for module, name, real in ((_adapt, "weak_augment", weak_augment), (_adapt, "strong_augment", strong_augment),
                               (source_only, "weak_augment", weak_augment)):  # fmt: skip
        monkeypatch.setattr(module, name, lambda x, gen, series=False, _r=real, _n=name: said.append((_n, series)) or _r(x, gen, series))
    get_method("self_training", steps=2, batch_size=8, checkpoints=1).fit(task)
    get_method("source_only", steps=2, batch_size=8).fit(task)
    assert {n for n, _ in said} == {"weak_augment", "strong_augment"} and all(s for _, s in said), said


def test_a_networks_own_head_batchnorm_gets_domain_rows_and_one_without_statistics_is_left_alone(tiny_parts, monkeypatch):
    """A review: BatchNorm in a split_module head normalised source and target rows together as 'target' rows
    (the head ran outside domain_rows), and a BatchNorm with track_running_stats=False crashed adabn and every
    adaptation method with an AttributeError."""
    import transferkit.adaptation.domain_bn as domain_bn
    from transferkit.models.transfer_model import split_module

    _, x_s, y_s, x_t, y_t = tiny_parts
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.BatchNorm1d(16), nn.ReLU(),  # shared
                        nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))  # a head with BatchNorm
    task = _task((split_module(net, 4, (1, 12, 12), ["a", "b", "c"]), x_s, y_s, x_t, y_t), 0)
    seen = []
    forward = domain_bn.DomainBatchNorm.forward

    def spy(self, x):
        if self.training:
            seen.append((self.bn.num_features, self.n_source, x.shape[0]))
        return forward(self, x)

    monkeypatch.setattr(domain_bn.DomainBatchNorm, "forward", spy)
    get_method("mcc", steps=2, batch_size=8, checkpoints=1).fit(task)
    steps = [s for s in seen if s[2] == 16]  # the training forwards: 8 source + 8 target rows
    assert {(f, n) for f, n, _ in steps} == {(16, 8), (8, 8)}  # the head's BatchNorm (8) told the source rows too

    plain = nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.BatchNorm1d(16, track_running_stats=False), nn.ReLU(),
                          nn.Linear(16, 3))  # fmt: skip
    task = _task((split_module(plain, 4, (1, 12, 12), ["a", "b", "c"]), x_s, y_s, x_t, y_t), 0)
    with pytest.warns(TransferkitWarning, match=r"no BatchNorm statistics \(it normalises with BatchNorm1d without "
                                                r"running statistics, which keeps no statistics\)"):  # fmt: skip
        get_method("adabn").fit(task)
    model = get_method("mcc", steps=2, batch_size=8, checkpoints=1).fit(task)  # trains, with the layer as it was
    assert not any(isinstance(m, DomainBatchNorm) for m in model.modules())


def test_what_did_not_train_is_not_counted_as_trainable_and_checkpoints_are_as_many_as_asked(tiny_parts):
    """A review: adabn and source_only (steps 0) reported every parameter as trainable; 25 steps with
    checkpoints: 10 scored 13 checkpoints; scratch at batch_size 1 failed inside torch."""
    from transferkit.models.adapters import model_footprint

    task = _task(tiny_parts, 2)
    for name in ("adabn", "source_only"):
        fp = model_footprint(get_method(name).fit(task))
        assert fp["trainable_params"] == 0 < fp["total_params"], name
    assert model_footprint(get_method("source_only", steps=2).fit(task))["trainable_params"] > 0  # it trained
    get_method("mcc", steps=25, batch_size=8, checkpoints=10).fit(task)
    assert [s for s, _ in task.extras["selection"].history] == [2, 5, 8, 10, 12, 15, 18, 20, 22, 25]
    with pytest.raises(TransferkitError, match=r"method 'scratch': batch_size: Input should be greater than or equal to 2"):
        get_method("scratch", batch_size=1)


def test_a_parameter_out_of_range_is_refused_naming_the_method_and_its_range():
    """A trial's mcc temperature: 0 failed when the loss first ran, as 'temperature must be > 0', naming no method."""
    with pytest.raises(TransferkitError, match=r"^method 'mcc': temperature: Input should be greater than 0 \(got 0\)\. "
                                               r"Fix: set temperature to more than 0 \(default 2\.5\)\.$"):  # fmt: skip
        get_method("mcc", temperature=0)
    with pytest.raises(TransferkitError, match=r"Fix: set steps to 1 or more \(default 600\)\.$"):
        get_method("dann", steps=0)


def test_lora_is_not_told_that_batchnorm_trains_when_its_batches_are_too_small():
    """A review: lora's warning said 'only BatchNorm's scale and shift train', and under lora none of it does."""
    from transferkit.methods._bn_batch import bn_for_batch

    with pytest.warns(TransferkitWarning, match=r"\(bn: frozen\); BatchNorm's scale and shift stay as the source's, as "
                                                r"every source weight does under lora\.$"):  # fmt: skip
        assert bn_for_batch("lora", "train", 2, 32) == "frozen"


def test_a_target_with_every_input_labelled_is_said_to_adapt_to_its_labelled_inputs(tiny_parts):
    """A trial: with 4 per class and shots 4 the pool held no unlabelled input; mcc adapted to the labelled ones
    while the report spoke of 'unlabelled target inputs', and only auto said so."""
    model, x_s, y_s, x_t, y_t = tiny_parts
    lab = torch.cat([torch.nonzero(y_t == c)[:3, 0] for c in range(3)])
    target = TargetData(x_t[lab], y_t[lab], x_t[:0], 3)
    task = TransferTask(target, ["a", "b", "c"], 0, lambda: None, model, x_s[:60], y_s[:60], ["a", "b", "c"],
                        source_val_x=x_s[60:], source_val_y=y_s[60:])  # fmt: skip
    with pytest.warns(TransferkitWarning, match=r"mcc: every target input is labelled, none is left unlabelled: it "
                                                r"adapts to the 9 labelled inputs"):  # fmt: skip
        get_method("mcc", steps=2, batch_size=8, checkpoints=1).fit(task)
