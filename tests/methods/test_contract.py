"""The contract every registered method must meet, run over the whole registry.

On a tiny synthetic source/target pair: the method fits; it leaves the source model it was
given as it was; its logged training losses are finite and decrease; it is deterministic under a seed; its model survives save/load with
identical predictions. Budgets are shrunk generically (every int field whose name ends in
``steps`` or ``epochs`` is set small), so new methods are covered without editing this file.
"""

from __future__ import annotations

import math
import sys

import pytest
import torch

from tests.conftest import make_images
from transferkit.data.domain import Domain
from transferkit.data.preprocess import apply_recipe, make_recipe
from transferkit.data.splits import TargetData
from transferkit.errors import TransferkitError
from transferkit.methods import METHODS, TransferTask
from transferkit.models import TransferModel
from transferkit.train.source import pretrain_source
from transferkit.train.supervised import predict_proba

CLASSES = ["a", "b", "c"]


def quick_params(cls) -> dict:
    out = {}
    for name, field in cls.Params.model_fields.items():
        if field.annotation is int and (name.endswith("steps") or name.endswith("epochs")):
            out[name] = 40 if name.endswith("steps") else 2
    return out


@pytest.fixture(scope="module")
def task_parts():
    xs, ys = make_images(40, seed=1)
    xt, yt = make_images(20, shift=30.0, seed=2)
    src = Domain("s", xs, ys, CLASSES, (0.0, 255.0))
    tgt = Domain("t", xt, yt, CLASSES, (0.0, 255.0))
    shape = (1, 12, 12)
    x_s = apply_recipe(src.x, make_recipe(src, shape))
    x_t = apply_recipe(tgt.x, make_recipe(tgt, shape, "auto", source=src))
    res = pretrain_source(
        x_s, torch.from_numpy(ys), CLASSES, architecture="cnn", arch_kwargs={"width": 4, "feature_dim": 16},
        settings={"epochs": 3, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
        seed=0, identity={}, use_cache=False,
    )
    y_t = torch.from_numpy(yt)
    lab = torch.cat([torch.nonzero(y_t == c)[:3, 0] for c in range(3)])
    rest = torch.tensor([i for i in range(len(y_t)) if i not in set(lab.tolist())])
    return res.model, x_s, torch.from_numpy(ys), x_t, y_t, lab, rest


def make_task(parts, log, monitor=None):
    source_model, x_s, y_s, x_t, y_t, lab, rest = parts
    target = TargetData(x_t[lab], y_t[lab], x_t[rest[:30]], 3)
    return TransferTask(
        target, CLASSES, 0,
        lambda: TransferModel.build("cnn", (1, 12, 12), CLASSES, source_model.input_mean, source_model.input_std,
                                    width=4, feature_dim=16),
        source_model, x_s[:100], y_s[:100], CLASSES, on_log=lambda phase, step, loss, epoch=None: log.append((phase, step, loss)),
        source_val_x=x_s[100:], source_val_y=y_s[100:], monitor=monitor,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_contract(name, task_parts, tmp_path):
    cls = METHODS[name]
    for module in cls.optional_imports:  # a method of an extra is tested where the extra is installed
        pytest.importorskip(module, reason=f"{name} needs {module!r} (an optional extra)")
    params = quick_params(cls)
    x_eval = task_parts[3][:16]

    source_model = task_parts[0]
    before = {k: v.clone() for k, v in source_model.state_dict().items()}
    log1: list = []
    torch.manual_seed(0)
    model1 = cls(**params).fit(make_task(task_parts, log1))
    after = source_model.state_dict()  # the run protocol and tk.pretrain's SourceModel share it across methods
    assert all(torch.equal(before[k], after[k]) for k in before), f"{name}: changed the source model it was given"
    p1 = predict_proba(model1, x_eval)
    assert p1.shape == (16, 3) and torch.isfinite(p1).all()

    for phase in dict.fromkeys(ph for ph, _, _ in log1):
        losses = [loss for ph, _, loss in log1 if ph == phase]
        assert all(math.isfinite(v) for v in losses), f"{name}/{phase}: non-finite loss"
        if len(losses) >= 6:
            head, tail = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
            assert tail < head, f"{name}/{phase}: loss did not decrease ({head:.4f} -> {tail:.4f})"

    torch.manual_seed(0)
    model2 = cls(**params).fit(make_task(task_parts, []))
    assert torch.allclose(p1, predict_proba(model2, x_eval), atol=1e-5), f"{name}: not deterministic under a seed"

    # The run's monitor scores checkpoints on the target test split for the report (the only link to it a
    # method holds): it must leave the training as it was. Scored here on noise with shuffled labels.
    noise = torch.rand_like(x_eval)
    scored: list = []
    torch.manual_seed(0)
    model3 = cls(**params).fit(make_task(task_parts, [], monitor=lambda m, step: scored.append(
        float((predict_proba(m, noise).argmax(1) == torch.randperm(16) % 3).float().mean()))))
    assert torch.allclose(p1, predict_proba(model3, x_eval), atol=1e-5), f"{name}: the test-split monitor changed it"
    if "checkpoints" in cls.Params.model_fields:  # the methods that score checkpoints do call it: not a vacuous check
        assert scored, f"{name}: has checkpoints but never called the monitor"

    model1.save(tmp_path / name)
    reloaded = TransferModel.load(tmp_path / name)
    assert torch.allclose(p1, predict_proba(reloaded, x_eval), atol=1e-5), f"{name}: save/load changed predictions"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_trains_on_source_says_which_methods_need_source_examples(name, task_parts):
    """fit on your own network (no source data) keeps its head for the methods that need none (source_only,
    adabn), and refuses the others early: a method's ``trains_on_source`` must be true to what it does."""
    cls = METHODS[name]
    for module in cls.optional_imports:
        pytest.importorskip(module, reason=f"{name} needs {module!r} (an optional extra)")
    task = make_task(task_parts, [])
    task.source_x = task.source_y = task.source_val_x = task.source_val_y = None  # a network given as it is
    for params in ({}, quick_params(cls)):  # the defaults, and steps given (source_only: steps > 0 trains on the source)
        method = cls(**params)
        try:
            torch.manual_seed(0)
            method.fit(task)
            needed = False
        except TransferkitError as e:
            needed = "no source data" in e.problem
        said = method.needs_source_data()
        assert needed == said, f"{name} {params}: needs_source_data() is {said}, but it {'needs' if needed else 'needs no'} source examples"


def test_registry_entries_are_complete():
    for name, cls in METHODS.items():
        assert cls.name == name and cls.description and cls.Params is not None


def test_unknown_method_and_bad_params():
    from transferkit.errors import TransferkitError
    from transferkit.methods import get_method

    with pytest.raises(TransferkitError, match="unknown method 'finetun'.*finetune"):
        get_method("finetun")
    with pytest.raises(TransferkitError, match="method 'finetune': stepz"):
        get_method("finetune", stepz=3)
    with pytest.raises(TransferkitError, match="method 'finetune': steps"):
        get_method("finetune", steps="many")


@pytest.mark.parametrize("name", sorted(n for n, cls in METHODS.items() if cls.optional_imports))
def test_method_of_a_missing_extra_says_how_to_install_it(name, task_parts, monkeypatch):
    for module in METHODS[name].optional_imports:
        monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(TransferkitError, match=r"pip install \"transferkit\["):
        METHODS[name](**quick_params(METHODS[name])).fit(make_task(task_parts, []))


@pytest.mark.parametrize("name", ["finetune", "l2sp", "bitfit", "lora"])
def test_training_after_the_probe_that_diverges_keeps_the_probed_model_and_says_so(name, task_parts):
    """MobileNetV2 at finetune's default rates went from a good probe to chance, silently."""
    from transferkit.errors import TransferkitWarning
    from transferkit.methods import get_method
    from transferkit.methods._probe_guard import diverged

    if name == "lora":
        pytest.importorskip("peft", reason="lora needs peft (an optional extra)")
    assert diverged(0.1, float("nan")) and diverged(0.006, 12.0) and not diverged(0.5, 0.4)
    assert not diverged(8e-5, 0.054, 2) and not diverged(8e-5, 0.054, 10)  # still a near-perfect fit
    assert diverged(8e-5, 0.2, 2) and not diverged(8e-5, 0.2, 10) and diverged(0.01, 2.3, 10)  # near chance: log C
    assert diverged(0.01, 1.0, 100) and not diverged(0.01, 0.3, 100)  # many classes: at most 0.35
    task = make_task(task_parts, [])
    message = rf"{name} \(seed 0, 9 labelled examples\): training the shared layers raised the loss"
    with pytest.warns(TransferkitWarning, match=message):
        model = get_method(name, probe_steps=40, steps=5, lr=1e4).fit(task)
    source = task.source_model.shared.state_dict()
    kept = model.shared.state_dict()
    assert set(kept) == set(source) and all(torch.equal(source[k], kept[k]) for k in source)  # the probed model
    assert model.config.get("probe_kept") is True  # the results table marks the row
    assert torch.isfinite(predict_proba(model, task.target.x_labelled)).all()
    if name == "finetune":  # the advice does not suggest the rate the user already set
        with pytest.warns(TransferkitWarning, match=r"Lower shared_lr_mult below its 0.01 or lr"):
            get_method(name, probe_steps=40, steps=5, lr=1e6, shared_lr_mult=0.01).fit(task)


@pytest.mark.parametrize("name", ["finetune", "gradual", "bitfit"])
def test_the_probe_guard_names_batchnorm_statistics_when_they_moved_the_model(name, task_parts):
    """With no rate to move the shared layers, finetune's guard said "Lower lr" (lower made it worse): what had
    moved was BatchNorm's running statistics, from a few augmented batches (a trial); gradual had no guard."""
    from transferkit.errors import TransferkitWarning
    from transferkit.methods import get_method
    from transferkit.methods._probe_guard import ProbeGuard, labelled_loss, with_statistics_of

    task = make_task(task_parts, [])
    probed = task.source_model.copy()
    moved = probed.copy().train()
    with torch.no_grad():  # running statistics of inputs unlike the labelled ones: the weights untouched
        for _ in range(30):
            moved(task.target.x_labelled * -20.0 + 50.0)
    x, y = task.target.x_labelled, task.target.y_labelled
    back = with_statistics_of(moved, probed)
    assert labelled_loss(back, x, y) == pytest.approx(labelled_loss(probed, x, y), rel=1e-5)
    assert labelled_loss(moved.eval(), x, y) > 1.5 * labelled_loss(probed, x, y) + 0.05  # the statistics alone moved it
    with pytest.warns(TransferkitWarning, match=r"With the probe's BatchNorm statistics put back its loss is .*Set bn: "
                                                r"frozen\.$") as said:  # fmt: skip
        ProbeGuard(task, probed).result(moved, name, "Lower lr.")
    assert "Lower lr" not in str(said[0].message)
    params = {"probe_steps": 40, "lr": 1e4} | ({"stage_steps": 3} if name == "gradual" else {"steps": 5})
    with pytest.warns(TransferkitWarning, match=rf"{name} \(seed 0, 9 labelled examples\): training the shared layers "
                                                r"raised the loss") as said:  # fmt: skip
        model = get_method(name, **params).fit(task)  # the weights blown up: the statistics are not the cause
    assert model.config.get("probe_kept") is True and "BatchNorm statistics put back" not in str(said[0].message)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_method_that_weighs_classes_passes_class_weight_to_its_losses(name, task_parts, monkeypatch):
    """TransferClassifier(class_weight=) reaches every loss fitted on the labelled examples: a method
    declares ``weighs_classes`` (prototypes: one mean per class, none) and must pass the target's
    class weights to a cross-entropy; one that declares it false must fit none with them."""
    import dataclasses

    import torch.nn.functional as F

    cls = METHODS[name]
    for module in cls.optional_imports:
        pytest.importorskip(module, reason=f"{name} needs {module!r} (an optional extra)")
    weight = torch.tensor([1.0, 5.0, 0.5])
    given: list = []
    plain = F.cross_entropy

    def spy(*args, **kwargs):
        if kwargs.get("weight") is not None:
            given.append(kwargs["weight"].detach().cpu())
        return plain(*args, **kwargs)

    monkeypatch.setattr(F, "cross_entropy", spy)
    task = make_task(task_parts, [])
    task.target = dataclasses.replace(task.target, class_weight=weight)
    torch.manual_seed(0)
    cls(**quick_params(cls)).fit(task)
    weighed = any(torch.equal(w, weight) for w in given)
    if cls.weighs_classes and cls.uses_target_labels:
        assert weighed, f"{name}: declares weighs_classes but fits no loss with the target's class weights"
    else:
        assert not given, f"{name}: declares weighs_classes false yet weighed a loss by class"


def test_every_fit_on_the_labelled_examples_in_a_method_passes_class_weight():
    """The contract above sees one weighted loss per method; a method of two stages (probe, then
    fine-tune) could weigh one and not the other. Every call of the shared training functions in
    the methods' code passes ``class_weight``."""
    import ast
    from pathlib import Path

    import transferkit.methods as methods

    fits = {"fit_supervised", "fit_probe", "fit_probe_cv", "fit_probe_layers"}
    missing, found = [], 0
    for path in sorted(Path(methods.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in fits:
                found += 1
                if not any(k.arg == "class_weight" for k in node.keywords):
                    missing.append(f"{path.name}:{node.lineno}")
    assert found >= 10 and not missing, f"calls without class_weight: {missing}"
