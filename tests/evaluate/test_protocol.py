"""The protocol: every method sees the same splits for a seed, and never the test split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import tiny_experiment
from transferkit.config import load_config
from transferkit.errors import TransferkitError
from transferkit.evaluate.protocol import run_protocol
from transferkit.methods import METHODS, Method, Params, register_method


class _Spy(Method):
    """Records what it is given; trains nothing."""

    name = "_spy"
    description = "test spy"
    Params = Params
    seen: list = []

    def fit(self, task):
        _Spy.seen.append((task.seed, task.target.shots, task.target.x_labelled.clone(), task.target.x_unlabelled.clone()))
        return task.source_model.copy().reset_specific(task.classes)


@pytest.fixture
def spy():
    register_method(_Spy)
    _Spy.seen = []
    yield _Spy
    del METHODS["_spy"]


def _rows(t: torch.Tensor) -> set:
    return {tuple(np.round(r.flatten().cpu().numpy(), 5)) for r in t}


def test_same_splits_across_methods_and_no_test_leak(tmp_path, image_npz, spy):
    src, tgt = image_npz
    cfg = tiny_experiment(src, tgt)
    cfg["methods"] = ["_spy", {"name": "head", "params": {"steps": 3}}]
    # two copies of the spy under different names would be ideal; instead run twice and compare
    config = load_config(None, raw=cfg)
    first = run_protocol(config)
    seen_first = list(spy.seen)
    spy.seen = []
    run_protocol(config)
    for (s1, k1, lab1, unl1), (s2, k2, lab2, unl2) in zip(seen_first, spy.seen, strict=True):
        assert (s1, k1) == (s2, k2) and torch.equal(lab1, lab2) and torch.equal(unl1, unl2)

    data = first.data
    test_rows = _rows(data.xt[data.split.test_idx])
    for _seed, k, lab, unl in seen_first:
        assert len(lab) == k * 3
        assert not _rows(lab) & test_rows and not _rows(unl) & test_rows
        assert not _rows(lab) & _rows(unl)
    by_seed = {(s, k): lab for s, k, lab, _ in seen_first}
    assert not torch.equal(by_seed[(0, 5)], by_seed[(1, 5)])  # seeds draw different examples


def test_source_model_is_cached_between_runs(tmp_path, image_npz):
    src, tgt = image_npz
    cfg = load_config(None, raw=tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}]))
    a = run_protocol(cfg)
    b = run_protocol(cfg)
    assert not a.sources[0]["cached"] and b.sources[0]["cached"]
    assert a.sources[0]["key"] == b.sources[0]["key"]
    assert [r.accuracy for r in a.records] == [r.accuracy for r in b.records]
    from transferkit.report.summary import results_table

    assert all(r["negative_transfer"] is None for r in results_table(a))  # no baseline: not checked, not "False"
    threads = torch.get_num_threads()
    try:  # a model trained under another thread count differs in its last bits: not served from the cache
        torch.set_num_threads(1 if threads > 1 else 2)
        c = run_protocol(cfg)
    finally:
        torch.set_num_threads(threads)
    assert not c.sources[0]["cached"] and c.sources[0]["key"] != a.sources[0]["key"]


def test_an_interrupted_run_resumes_from_the_runs_it_finished(tmp_path, image_npz, monkeypatch):
    import transferkit as tk
    from transferkit.evaluate import protocol
    from transferkit.paths import cache_dir

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt)  # 2 seeds x k 2, 5 x scratch, finetune, head
    whole = tk.run(raw, out=tmp_path / "whole", progress=False)
    assert whole["resumed_runs"] == 0 and not list((cache_dir() / "unfinished").glob("*/*"))  # removed when done
    fits, real = [], protocol.for_task

    def interrupted(method, task):
        if task.seed == 1 and method.name == "head":
            raise KeyboardInterrupt
        fits.append(method.name)
        fitted, rate = real(method, task)
        return fitted, (rate or "a note said while it trained" if task.seed == 0 and method.name == "finetune" else rate)

    monkeypatch.setattr(protocol, "for_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tk.run(raw, out=tmp_path / "cut", progress=False)
    assert not (tmp_path / "cut").exists() and len(fits) == 8  # seed 0: 6 runs; seed 1, k = 2: scratch, finetune
    fits.clear()
    monkeypatch.setattr(protocol, "for_task", lambda method, task: fits.append(method.name) or real(method, task))
    with pytest.warns(UserWarning, match="a note said while it trained"):  # a taken run's notes: said again
        again = tk.run(raw, out=tmp_path / "again", progress=False)
    assert again["resumed_runs"] == 8 and sorted(fits) == ["finetune", "head", "head", "scratch"]
    runs = lambda s: [(r["method"], r["shots"], r["accuracy_mean"]) for r in s["results"]]  # noqa: E731
    assert runs(again) == runs(whole)  # each run seeds itself: taken or trained, the same result
    assert "4 of the runs" not in (tmp_path / "again" / "report.md").read_text()
    assert "8 of the runs had finished before an interrupt" in (tmp_path / "again" / "report.md").read_text()
    assert not list((cache_dir() / "unfinished").glob("*/*"))
    assert len(list((tmp_path / "again" / "models").glob("*"))) == len(list((tmp_path / "whole" / "models").glob("*")))
    lines = lambda run: sorted((tmp_path / run / "metrics.csv").read_text().splitlines())  # noqa: E731
    assert lines("again") == lines("whole")  # the taken runs' training curves too


def test_deployed_model_is_named_by_the_configuration_not_a_baseline():
    from types import SimpleNamespace as NS

    from transferkit.report.run_folder import deploy_method

    def pick(names, deploy=None, records=(), shots=(0,)):
        config = NS(method_names=names, deploy=deploy, target=NS(shots=list(shots)))
        return deploy_method(NS(config=config, records=list(records)))

    assert pick(["scratch", "head", "finetune"]) == "finetune"
    assert pick(["scratch", "finetune", "auto"]) == "auto"
    # at k = 0 the adapting methods before adabn, their own start (a trial deployed it at 73.4 %, self_training 95.2 %)
    assert pick(["source_only", "adabn", "dann"]) == "dann"
    assert pick(["source_only", "adabn"]) == "adabn"  # not the unadapted source model
    # adabn on a model without BatchNorm is source_only's model unchanged (a text run deployed it, 52 % vs dann's 71 %)
    noop = [NS(method="adabn", model=None, unchanged_from="source_only"), NS(method="dann", model=None)]  # save_models: false too
    assert pick(["source_only", "adabn", "dann"], records=noop) == "dann"
    assert pick(["scratch"]) == "scratch" and pick(["scratch", "head"], deploy="scratch") == "scratch"
    # with labels at the deployed k, not a method that never reads them (adabn at k = 5 had 20 %, mcc 77 %)
    assert pick(["scratch", "source_only", "adabn", "dann", "mcc"], shots=(0, 5)) == "dann"
    assert pick(["scratch", "source_only", "adabn"], shots=(0, 5)) == "scratch"


def test_overrides_do_not_change_the_callers_dict():
    from transferkit.config import load_config

    raw = {"target": {"data": "optdigits", "shots": [5]}, "methods": ["head"]}
    cfg = load_config(None, ["target.shots=[2]"], raw)
    assert cfg.target.shots == [2] and raw["target"]["shots"] == [5]


@pytest.mark.parametrize(("given", "read"), [(5, [5]), ([5, 1], [1, 5])])  # ([5, 1, 5]: refused, test_cli)
def test_one_k_may_be_written_without_a_list(given, read):
    """`shots: 5` was refused with 'should be a valid list' (a new user's first experiment file)."""
    cfg = load_config(None, raw={**tiny_experiment("s.npz", "t.npz"), "target": {"data": "t.npz", "shots": given}})
    assert cfg.target.shots == read
    with pytest.raises(TransferkitError):
        load_config(None, raw={**tiny_experiment("s.npz", "t.npz"), "target": {"data": "t.npz", "shots": True}})


def test_the_target_recipe_never_looks_at_test_inputs(image_npz, monkeypatch):
    """pad: auto measures how much of the frame the content fills: on pool inputs only."""
    from tests.conftest import tiny_experiment
    from transferkit.config import validate
    from transferkit.evaluate import prepare as prepare_module

    seen = []
    real = prepare_module.make_recipe

    def spy(domain, *args, **kwargs):
        seen.append(len(domain.y))
        return real(domain, *args, **kwargs)

    monkeypatch.setattr(prepare_module, "make_recipe", spy)
    data = prepare_module.prepare(validate(tiny_experiment(*image_npz)))
    assert seen == [len(data.source.y), len(data.split.pool_idx)] and len(data.split.test_idx) > 0


def test_a_test_input_does_not_set_the_targets_value_range(image_npz, tmp_path):
    from transferkit.config import validate
    from transferkit.evaluate.prepare import prepare

    src, tgt = image_npz
    d = np.load(tgt)
    x = d["x"].astype(np.float32) / 255.0  # a float target: its range is measured on the data
    np.savez(tmp_path / "clean.npz", x=x, y=d["y"], classes=d["classes"])
    clean = prepare(validate(tiny_experiment(src, tmp_path / "clean.npz")))
    x = x.copy()
    x[clean.split.test_idx[0], 0, 0] = 2.0  # one bright pixel in one test image
    np.savez(tmp_path / "outlier.npz", x=x, y=d["y"], classes=d["classes"])
    outlier = prepare(validate(tiny_experiment(src, tmp_path / "outlier.npz")))
    assert np.array_equal(outlier.split.pool_idx, clean.split.pool_idx)
    assert outlier.target_recipe.value_range == clean.target_recipe.value_range  # was (0, 2.0): every input rescaled
    assert outlier.target.value_range == (0.0, 2.0)  # the data as loaded (its fingerprint does not hang on the split)
    pool = torch.from_numpy(clean.split.pool_idx)
    assert torch.equal(outlier.xt[pool], clean.xt[pool])


def test_source_augment_is_part_of_the_source_cache_key(tmp_path, image_npz):
    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    shifts = run_protocol(load_config(None, raw=raw))
    raw["source"]["augment"] = "affine"
    affine = run_protocol(load_config(None, raw=raw))
    assert not affine.sources[0]["cached"]  # not the shift-trained model from the cache
    assert affine.sources[0]["key"] != shifts.sources[0]["key"]


@pytest.mark.parametrize("value", ["foo", "shift", 2])
def test_source_augment_other_than_true_false_affine_is_refused(value, image_npz):
    from transferkit.errors import TransferkitError

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt)
    raw["source"]["augment"] = value
    with pytest.raises(TransferkitError, match="source.augment.*true .random shifts., false .none. or affine"):
        load_config(None, raw=raw)


def test_ink_and_background_swapped_between_source_and_target_is_said(tmp_path):
    """Black-on-white font renderings as source, white-on-black digits as target: source_only
    scored 12 % against 77 % with the source inverted, and nothing said why."""
    from tests.conftest import make_images
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    xs, ys = make_images(20, size=16, seed=1)
    xt, yt = make_images(20, size=16, seed=2)
    np.savez(tmp_path / "dark_on_light.npz", x=(255 - xs).astype(np.uint8), y=ys)
    np.savez(tmp_path / "light_on_dark.npz", x=xt.astype(np.uint8), y=yt)
    np.savez(tmp_path / "same.npz", x=xs.astype(np.uint8), y=ys)
    raw = tiny_experiment(tmp_path / "dark_on_light.npz", tmp_path / "light_on_dark.npz", seeds=1)
    with pytest.warns(TransferkitWarning, match=r"the source's images are dark on a light background \(0\.9\d .*\) and "
                                                r"the target's light on a dark background \(0\.\d\d\): ink and background "
                                                r"are swapped"):  # fmt: skip
        data = prepare(load_config(None, raw=raw))
    assert any("ink and background are swapped" in n for n in data.notes)  # kept for the report
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        same = prepare(load_config(None, raw=tiny_experiment(tmp_path / "same.npz", tmp_path / "light_on_dark.npz")))
    assert not any("swapped" in n for n in same.notes)
    # light colour sheets (0.79 on 0..1, under the 0.8 that once marked "light") against a dark target
    sheets = np.clip(0.79 * 255 - xs * 0.79, 0, 255).astype(np.uint8)
    np.savez(tmp_path / "sheets.npz", x=sheets, y=ys)
    with pytest.warns(TransferkitWarning, match=r"the source's images are dark on a light background \(0\.7\d .*ink "
                                                r"and background are swapped"):  # fmt: skip
        prepare(load_config(None, raw=tiny_experiment(tmp_path / "sheets.npz", tmp_path / "light_on_dark.npz")))
    grey = np.clip(0.55 * 255 + xs * 0.4, 0, 255).astype(np.uint8)  # mid-grey, lighter ink: as the target's
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        np.savez(tmp_path / "grey.npz", x=grey, y=ys)
        mid = prepare(load_config(None, raw=tiny_experiment(tmp_path / "grey.npz", tmp_path / "light_on_dark.npz")))
    assert not any("swapped" in n for n in mid.notes)
    # a trial's tinted sheets (255 - x times [1, .6, .2]: 0.60 grey) against a dark source went unsaid
    rng = np.random.default_rng(0)
    marks = np.zeros((60, 16, 16), np.float32)
    for i in range(60):  # light marks in the middle of a dark square, as digits are
        r, c = rng.integers(4, 8, size=2)
        marks[i, r : r + 5, c : c + 5] = 200 + 40 * rng.random((5, 5))
    labels = np.arange(60) % 3
    np.savez(tmp_path / "marks.npz", x=marks.astype(np.uint8), y=labels)
    tinted = (255 - marks)[..., None] * np.array([1.0, 0.6, 0.2])  # (N, H, W, 3)
    np.savez(tmp_path / "tinted.npz", x=tinted.astype(np.uint8), y=labels)
    with pytest.warns(TransferkitWarning, match=r"the target's dark on a light background \(0\.60\): ink and background "
                                                r"are swapped"):  # fmt: skip
        prepare(load_config(None, raw=tiny_experiment(tmp_path / "marks.npz", tmp_path / "tinted.npz")))
    np.savez(tmp_path / "tinted.npz", x=(marks[..., None] * np.array([0.4, 0.3, 0.2]) + 150).astype(np.uint8), y=labels)
    with warnings.catch_warnings():  # the same tint on light marks: lighter ink, as the source's
        warnings.simplefilter("ignore")
        kept = prepare(load_config(None, raw=tiny_experiment(tmp_path / "marks.npz", tmp_path / "tinted.npz")))
    assert not any("swapped" in n for n in kept.notes)


def test_a_misspelt_field_is_named_with_the_valid_ones_closest_first(tmp_path):
    """It said "Extra inputs are not permitted" and "see configs/ ... for valid fields"."""
    from transferkit.errors import TransferkitError
    from transferkit.fewshot.config import load_fewshot_config

    raw = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz")
    with pytest.raises(TransferkitError, match=r"field `source.epoch`: no such field \(got 3\)") as e:
        load_config(None, ["source.epoch=3"], raw)
    assert e.value.fix.startswith("use one of: epochs, ")
    with pytest.raises(TransferkitError, match=r"field `nme`: no such field") as e:
        load_config(None, ["nme=x"], raw)
    assert e.value.fix.startswith("use one of: name, ")
    few = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}}
    with pytest.raises(TransferkitError, match=r"field `fewshot.nway`: no such field") as e:
        load_fewshot_config(None, ["fewshot.nway=5"], few)
    assert e.value.fix.startswith("use one of: n_way, ")
    with pytest.raises(TransferkitError, match=r"field `fewshot.n_way`: Input should be greater than or equal to 2"):
        load_fewshot_config(None, ["fewshot.n_way=1"], few)  # other errors keep pydantic's words


def test_one_method_name_or_a_mapping_of_methods_is_a_list(tmp_path):
    """--set fewshot.methods=prototypes was refused ("must be a non-empty list") while k_shot=3 was [3]."""
    from transferkit.fewshot.config import load_fewshot_config

    raw = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz")
    assert [m.name for m in load_config(None, ["methods=head"], raw).methods] == ["head"]
    cfg = load_config(None, None, {**raw, "methods": {"head": None, "finetune": {"steps": 7}}})
    assert [(m.name, m.params) for m in cfg.methods] == [("head", {}), ("finetune", {"steps": 7})]
    few = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}}
    assert [m.name for m in load_fewshot_config(None, ["fewshot.methods=prototypes"], few).fewshot.methods] == ["prototypes"]
    with pytest.raises(Exception, match="method 'head' has parameters 3, not a mapping"):
        load_fewshot_config(None, None, {**few, "fewshot": {"methods": [{"head": 3}]}})  # as run refuses it


def test_invert_reads_images_as_max_minus_x_in_training_and_in_predict(tmp_path, capsys):
    """The polarity warning said "invert one of them first" with no way to do it but rewriting the files."""
    import dataclasses
    import warnings

    import yaml

    from tests.conftest import make_images
    from transferkit.cli import main
    from transferkit.data.preprocess import Recipe, apply_recipe
    from transferkit.errors import TransferkitError, TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    xs, ys = make_images(20, size=16, seed=1)
    xt, yt = make_images(20, size=16, seed=2)
    np.savez(tmp_path / "source.npz", x=xs.astype(np.uint8), y=ys)
    np.savez(tmp_path / "scans.npz", x=(255 - xt).astype(np.uint8), y=yt)  # dark on light
    raw = tiny_experiment(tmp_path / "source.npz", tmp_path / "scans.npz", seeds=1)
    raw["target"]["invert"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)  # inverted, the polarity matches: no warning
        data = prepare(load_config(None, raw=raw))
    assert data.target_recipe.invert and Recipe.from_dict(data.target_recipe.to_dict()) == data.target_recipe
    assert "invert" not in Recipe((0.0, 1.0), (1, 8, 8)).to_dict()  # old recipes and cache keys unchanged
    # predict reads raw (dark on light) inputs with the saved recipe: exactly the inputs the models trained on
    scans = np.load(tmp_path / "scans.npz")["x"].astype(np.float32)
    assert torch.allclose(apply_recipe(scans, data.target_recipe), data.xt, atol=1e-6)
    plain = dataclasses.replace(data.target_recipe, invert=False)
    assert torch.allclose(apply_recipe(255 - scans, plain), data.xt, atol=1e-6)  # light on dark, as the source
    vectors = tiny_experiment(tmp_path / "source.npz", tmp_path / "scans.npz", seeds=1)
    np.savez(tmp_path / "vec.npz", x=np.random.default_rng(0).normal(size=(len(ys), 5)).astype(np.float32), y=ys)
    vectors["source"] = {"data": str(tmp_path / "vec.npz"), "invert": True}
    with pytest.raises(TransferkitError, match=r"vec.npz holds feature vectors; `invert` swaps the ink and background"):
        prepare(load_config(None, raw=vectors))
    raw["methods"] = [{"name": "head", "params": {"steps": 3}}]
    raw["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert "values 0..255 scaled to 0..1, then inverted (1 - x)" in (tmp_path / "run" / "report.md").read_text()
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "scans.npz")]) == 0
    err = capsys.readouterr().err
    assert "swapped" not in err and "inverted" not in err
    np.savez(tmp_path / "given_inverted.npz", x=xt.astype(np.uint8))  # light on dark: the user inverted them already
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "given_inverted.npz")]) == 0
    err = " ".join(capsys.readouterr().err.split())  # the files as given, not as the model reads them
    assert "are light on a dark background as given, where the run's target images were dark on a " \
           "light one; the run read its images inverted (`invert: true`)" in err and "not inverted" in err


def test_a_target_of_mixed_polarity_is_warned_of(tmp_path):
    """Half the images dark on light: the domain's median border stayed at one end, no warning,
    and adaptation dropped to chance without a word."""
    import warnings

    from tests.conftest import make_images
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    xs, ys = make_images(20, size=16, seed=1)
    xt, yt = make_images(20, size=16, seed=2)
    mixed = xt.copy()
    mixed[::3] = 255 - mixed[::3]  # a third of them inverted
    np.savez(tmp_path / "source.npz", x=xs.astype(np.uint8), y=ys)
    np.savez(tmp_path / "mixed.npz", x=mixed.astype(np.uint8), y=yt)
    with pytest.warns(TransferkitWarning, match=r"mixed.npz: 33 % of its images are dark on a light background and "
                                                r"67 % light on a dark one") as said:  # fmt: skip
        data = prepare(load_config(None, raw=tiny_experiment(tmp_path / "source.npz", tmp_path / "mixed.npz")))
    assert any("33 % of its images are dark on a light" in n for n in data.notes)  # kept for the report
    assert not any("source.npz:" in str(w.message) for w in said)  # the source is of one polarity
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        prepare(load_config(None, raw=tiny_experiment(tmp_path / "source.npz", tmp_path / "source.npz")))


def test_a_validator_message_with_its_own_fix_is_not_given_a_second_one():
    """'...; remove it. Fix: see configs/fewshot_fashion.yaml for valid fields.' read as two fixes."""
    from transferkit.errors import TransferkitError
    from transferkit.fewshot.config import load_fewshot_config

    few = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}}
    with pytest.raises(TransferkitError, match=r"exceeds episodes \(600\): methods that train run the first") as e:
        load_fewshot_config(None, ["fewshot.train_episodes=700"], few)
    assert e.value.fix == "set train_episodes to at most 600, or raise episodes."
    with pytest.raises(TransferkitError, match="must be a non-empty list") as e:  # no fix of its own: the example file
        load_fewshot_config(None, ["fewshot.methods=[]"], few)
    assert "configs/fewshot_fashion.yaml" in e.value.fix


def test_colour_photos_with_light_and_dark_backgrounds_are_not_called_mixed_polarity():
    """Patches of photos: 12 % light and 37 % dark backgrounds were called ink of two polarities."""
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import mixed_polarity_note

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(30, 3, 16, 16)).astype(np.float32)
    x[:10, :, :, :] = np.clip(x[:10] * 0.1 + 230, 0, 255)  # light pictures
    x[10:20] *= 0.1  # dark ones
    x[:, 0] = np.clip(x[:, 0] + 20, 0, 255)  # the channels differ: colour
    assert mixed_polarity_note(Domain("photos", x, np.arange(30) % 2, ["a", "b"], (0.0, 255.0))) is None
    grey = np.repeat(x.mean(axis=1, keepdims=True), 3, axis=1)  # the same, grey stored as RGB: ink on paper
    assert mixed_polarity_note(Domain("scans", grey, np.arange(30) % 2, ["a", "b"], (0.0, 255.0))) is not None


def test_adapted_models_store_what_changed_on_their_seeds_source_once(tmp_path, image_npz):
    """head, bitfit and prototypes keep the source's shared layers as they are (or all but the
    biases): a run folder stores those once per seed in models/base/, and each checkpoint only
    what its method changed; a reload predicts exactly as the model in memory did."""
    from safetensors.torch import load_file, save_file

    from transferkit.models import TransferModel
    from transferkit.report.run_folder import write_run_folder
    from transferkit.train.supervised import predict_proba

    src, tgt = image_npz
    methods = [{"name": "head", "params": {"steps": 5}}, {"name": "bitfit", "params": {"probe_steps": 5, "steps": 5}},
               "prototypes", {"name": "finetune", "params": {"steps": 5, "probe_steps": 5}}]  # fmt: skip
    result = run_protocol(load_config(None, raw=tiny_experiment(src, tgt, methods=methods, seeds=2)))
    write_run_folder(result, tmp_path / "run")
    models = tmp_path / "run" / "models"
    assert sorted(p.name for p in (models / "base").iterdir()) == ["source_seed0.safetensors", "source_seed1.safetensors"]
    probe = result.data.xt[:8]
    for r in result.records:
        stem = models / f"{r.method}_k{r.shots}_seed{r.seed}"
        full = sum(t.numel() * t.element_size() for t in r.model.state_dict().values())
        stored = sum(t.numel() * t.element_size() for t in load_file(f"{stem}.safetensors").values())
        if r.method == "finetune":  # every layer trained: nothing to share
            assert "base_model" not in r.model.config and stored == full
        else:
            assert r.model.config["base_model"] == f"base/source_seed{r.seed}", r.method
            assert stored < full / 3 and r.footprint["checkpoint_bytes"] == stored, r.method
        torch.testing.assert_close(predict_proba(TransferModel.load(stem), probe), predict_proba(r.model, probe),
                                   rtol=0, atol=0)  # fmt: skip
    exported = tmp_path / "exported" / "head"  # a run model loaded and saved elsewhere: whole, it loads there
    TransferModel.load(models / "head_k5_seed0").save(exported)
    torch.testing.assert_close(predict_proba(TransferModel.load(exported), probe),
                               predict_proba(TransferModel.load(models / "head_k5_seed0"), probe), rtol=0, atol=0)  # fmt: skip
    from transferkit.estimator import TransferClassifier

    TransferClassifier.load(models / "head_k5_seed0").save(tmp_path / "exported" / "clf")
    TransferClassifier.load(tmp_path / "exported" / "clf")
    head = models / "head_k5_seed0"
    base = models / "base" / "source_seed0.safetensors"
    weights = load_file(str(base))
    other = load_file(str(models / "base" / "source_seed1.safetensors"))
    save_file(other, str(base))  # another seed's source: same shapes, other weights
    with pytest.raises(TransferkitError, match="not the ones this model was trained on"):
        TransferModel.load(head)
    save_file({k: v for k, v in list(weights.items())[1:]}, str(base))
    with pytest.raises(TransferkitError, match="does not hold the shared layers"):
        TransferModel.load(head)
    base.unlink()
    with pytest.raises(TransferkitError, match=r"that file is missing.*copy the run's models/base/"):
        TransferModel.load(head)


def test_the_split_and_shots_do_not_depend_on_the_sources_class_order(tmp_path, image_npz, spy):
    """A target's labels are renumbered into its source's class order; the test split and the
    labelled examples were drawn class by class in that numbering, so a source naming the
    same classes in another order gave another test split, and `rank --source`, which draws in
    the target's own order, scored sources on some of the run's test examples."""
    from transferkit.ranking.rank import labelled_examples

    src, tgt = image_npz
    s = np.load(src)
    reordered = tmp_path / "source_cab.npz"  # the same source, its classes listed c, a, b
    np.savez(reordered, x=s["x"], y=np.array([1, 2, 0])[s["y"]], classes=np.array(["c", "a", "b"]))
    drawn = {}
    for name, source in (("abc", src), ("cab", reordered)):
        cfg = tiny_experiment(source, tgt)
        cfg["methods"], cfg["seeds"] = ["_spy"], 1
        spy.seen = []
        result = run_protocol(load_config(None, raw=cfg))
        data = result.data
        drawn[name] = (data.split.test_idx, [_rows(lab) for _, _, lab, _ in spy.seen], data)
    assert drawn["cab"][2].target.classes == ["c", "a", "b"]  # renumbered into that source's order
    np.testing.assert_array_equal(drawn["abc"][0], drawn["cab"][0])
    assert drawn["abc"][1] == drawn["cab"][1]
    from transferkit.data.files import load_file

    data = drawn["cab"][2]
    lab, _ = labelled_examples(load_file(tgt), 5, 0, 0, 0.3)  # what rank scores, in the target's own order
    assert _rows(data.xt[lab]) == drawn["cab"][1][1] and not set(lab.tolist()) & set(data.split.test_idx.tolist())


def test_a_target_shrunk_to_a_small_sources_size_is_said(tmp_path):
    """optdigits (8x8) as the source of MNIST (28x28): every method, scratch too, read MNIST at
    8x8 (scratch 69.5 % against 84.5 % at 28x28) and only the report's recipe line said so."""
    import warnings

    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 17, (60, 8, 8)).astype(np.float32), np.arange(60) % 3
    xt, yt = rng.integers(0, 256, (45, 28, 28)).astype(np.uint8), np.arange(45) % 3
    np.savez(tmp_path / "s.npz", x=xs, y=ys, classes=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "t.npz", x=xt, y=yt, classes=np.array(["a", "b", "c"]))
    cfg = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        data = prepare(load_config(None, raw=cfg))
    notes = [str(w.message) for w in said if issubclass(w.category, TransferkitWarning) and "are shrunk" in str(w.message)]
    assert len(notes) == 1 and "28x28 images are shrunk to 8x8" in notes[0] and "model.input_shape: [1, 28, 28]" in notes[0]
    assert notes[0] in data.notes  # kept for the report
    cfg["model"]["input_shape"] = [1, 28, 28]  # chosen: nothing to say
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        prepare(load_config(None, raw=cfg))
    assert not [w for w in said if "are shrunk" in str(w.message)]


def test_runs_warnings_point_at_the_callers_line(tmp_path):
    """tk.run's notes on the data (here a target shrunk to the source's 8x8) pointed at
    protocol.py's line, not the user's call: the same note from fit pointed at the user's."""
    import warnings

    import transferkit as tk
    from transferkit.errors import TransferkitWarning

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", x=rng.integers(0, 17, (60, 8, 8)).astype(np.float32), y=np.arange(60) % 3)
    np.savez(tmp_path / "t.npz", x=rng.integers(0, 256, (45, 28, 28)).astype(np.uint8), y=np.arange(45) % 3)
    cfg = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz", seeds=1)
    cfg["target"]["shots"] = [2]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        tk.run(cfg, out=tmp_path / "run", progress=False)
    ours = [w for w in said if issubclass(w.category, TransferkitWarning)]
    assert any("are shrunk" in str(w.message) for w in ours)
    assert {w.filename for w in ours} == {__file__}, [(w.filename, str(w.message)[:60]) for w in ours]


def test_a_target_enlarged_before_it_was_saved_is_said(tmp_path):
    """optdigits' 8x8 digits stored at 28x28: resolution matching read the stored size and left
    the source sharp (source_only 10.2 % against 59.0 % on the 8x8 originals), with no word."""
    import warnings

    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    from transferkit.data.preprocess import detail_size
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    rng = np.random.default_rng(0)
    small = torch.from_numpy(load_digits().images[:60, None].astype(np.float32))  # optdigits, 8x8
    enlarged = F.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False).numpy()
    sharp = rng.integers(0, 256, (60, 1, 28, 28)).astype(np.float32)
    assert detail_size(enlarged) is not None and detail_size(enlarged) <= 14
    assert detail_size(sharp) is None and detail_size(small.numpy()) is None  # (8x8: too small to tell)
    repeated = np.repeat(np.repeat(small.numpy(), 4, axis=2), 4, axis=3)  # 8 -> 32 by repeating pixels
    assert detail_size(repeated) is not None and detail_size(repeated) <= 16
    assert detail_size(enlarged, below=8) is None  # only sides under the model's count
    tall = rng.integers(0, 256, (5, 1, 256, 24)).astype(np.float32)  # (a review: width 0 at side 4 crashed)
    assert detail_size(tall) is None
    np.savez(tmp_path / "s.npz", x=sharp[:, 0], y=np.arange(60) % 3, classes=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "t.npz", x=enlarged[:45, 0], y=np.arange(45) % 3, classes=np.array(["a", "b", "c"]))
    cfg = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz")
    for resolution, expect in (("match", 1), ("native", 0)):
        cfg["source"]["resolution"] = resolution
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            data = prepare(load_config(None, raw=cfg))
        notes = [str(w.message) for w in said if issubclass(w.category, TransferkitWarning) and "hold less detail" in str(w.message)]
        assert len(notes) == expect
    cfg["source"]["resolution"] = "match"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        data = prepare(load_config(None, raw=cfg))
    assert any("28x28 images hold less detail than their size" in n for n in data.notes)
    np.savez(tmp_path / "s2.npz", x=enlarged[:, 0], y=np.arange(60) % 3, classes=np.array(["a", "b", "c"]))
    cfg["source"]["data"] = str(tmp_path / "s2.npz")  # a source enlarged alike: its images hold no more detail
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert not any("hold less detail" in n for n in prepare(load_config(None, raw=cfg)).notes)


def test_scratch_normalises_by_the_targets_own_inputs_so_a_source_in_other_units_does_not_handicap_it(tmp_path):
    """A wine target with one column 400 times the source's: scratch scored 77.8 % beside the source, 90.4 %
    alone, as it read that column through the source model's mean and std; a transfer method 3 points
    below scratch-alone showed +9.6 (a trial). Scratch is the target's own baseline, whatever the source."""
    import warnings

    from transferkit.evaluate.prepare import prepare
    from transferkit.evaluate.protocol import _model_factory
    from transferkit.train.source import input_stats

    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = (rng.normal(size=(120, 4)) + y[:, None]).astype(np.float32)
    np.savez(tmp_path / "s.npz", x=x, y=y)
    x_t = x.copy()
    x_t[:, 1] *= 400.0  # one column in other units
    np.savez(tmp_path / "t.npz", x=x_t, y=y)
    methods = [{"name": "scratch", "params": {"steps": 30}}, {"name": "head", "params": {"steps": 5}}]  # head: a source

    def experiment(source: bool) -> dict:
        raw = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz", methods=methods, seeds=1, model={})
        return raw if source else {**{k: v for k, v in raw.items() if k != "source"}, "methods": methods[:1]}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the column far off the source's range is warned of)
        beside, alone = run_protocol(load_config(None, raw=experiment(True))), run_protocol(load_config(None, raw=experiment(False)))
        cfg = load_config(None, raw=experiment(True))
        data = prepare(cfg)
    model = _model_factory(cfg, data, beside.source_models[0], torch.device("cpu"))()
    mean, std = input_stats(data.xt[data.split.pool_idx], "mlp")  # the pool's: no test input
    assert torch.allclose(model.input_mean, mean) and torch.allclose(model.input_std, std)
    assert not torch.allclose(model.input_std, beside.source_models[0].input_std)
    assert beside.source_models  # (scratch alone trains no source: head's made the difference)
    scratch = [r.accuracy for r in beside.records if r.method == "scratch"]
    assert scratch == pytest.approx([r.accuracy for r in alone.records], abs=0.02)


def test_a_value_out_of_range_is_told_its_range_not_an_example_file():
    """A trial's `--set fewshot.n_way=1` was told 'see configs/fewshot_fashion.yaml for valid fields'."""
    from transferkit.fewshot.config import load_fewshot_config

    raw = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}, "fewshot": {"n_way": 1}}
    with pytest.raises(TransferkitError, match=r"field `fewshot.n_way`: Input should be greater than or equal to 2 "
                                               r"\(got 1\)\. Fix: set fewshot.n_way to 2 or more\.$"):  # fmt: skip
        load_fewshot_config(None, raw=raw)
    with pytest.raises(TransferkitError, match=r"Fix: set target.test_fraction to less than 1(\.0)?\.$"):
        load_config(None, raw={"source": {"data": "mnist5k"}, "target": {"data": "optdigits", "test_fraction": 1.5}})


def test_class_names_written_another_way_are_told_to_be_written_as_the_sources():
    """A trial's target named 'Zero'..'Nine' beside the source's 'zero'..'nine' was told, per method, to drop it."""
    from transferkit.evaluate.protocol import _classes_differ

    e = _classes_differ(["source_only", "mcc"], ["eight", "nine"], ["Eight", "nine "])
    assert e.problem.startswith("methods 'source_only', 'mcc' keep the source's head") and "differ only in case" in e.problem
    assert e.fix == "write the target's class names as the source's ('Eight' as 'eight', 'nine ' as 'nine'), or drop them from `methods`."
    e = _classes_differ(["adabn"], ["0", "1"], ["1", "2"])
    assert e.problem.startswith("method 'adabn' keeps") and e.fix.startswith("drop it from `methods`, or use source and")
    assert "classes[i]" in e.fix  # numbered classes: how a .npz names them


def test_invert_measures_the_targets_range_on_its_pool_and_reads_as_predict_does(tmp_path):
    """A review: `invert: true` inverted float images on the whole file's range, test rows included (one
    bright test image moved every pool input by 0.46), and the run's inputs differed from predict's by 0.24
    when the darkest pool value was above 0."""
    import warnings

    from transferkit.config import validate
    from transferkit.data.preprocess import apply_recipe
    from transferkit.evaluate.prepare import prepare

    rng = np.random.default_rng(0)
    x = rng.uniform(50, 255, (60, 16, 16)).astype(np.float32)  # a grey sheet: its darkest pixel is 50
    y = np.arange(60) % 2
    np.savez(tmp_path / "a.npz", x=x, y=y)

    def prepared(path):
        cfg = validate({"name": "t", "target": {"data": str(path), "shots": [1], "invert": True},
                        "methods": ["scratch"], "seeds": 1})  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return prepare(cfg)

    a = prepared(tmp_path / "a.npz")
    assert a.target_recipe.invert
    assert torch.allclose(a.xt, apply_recipe(x[:, None], a.target_recipe), atol=1e-6)  # the run reads as predict
    bright = x.copy()
    bright[a.split.test_idx[0]] *= 3.0  # one test image 3 times brighter
    np.savez(tmp_path / "b.npz", x=bright, y=y)
    b = prepared(tmp_path / "b.npz")
    pool = a.split.pool_idx
    assert np.array_equal(pool, b.split.pool_idx) and torch.equal(a.xt[pool], b.xt[pool])
    assert a.target_recipe.value_range == b.target_recipe.value_range
