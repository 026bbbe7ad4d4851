"""``shots: all`` (every training-pool example labelled) and a run's ``class_weight``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from tests.conftest import make_images, tiny_experiment
from transferkit.config import load_config
from transferkit.data.splits import draw_shots, make_test_split
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.evaluate.protocol import run_protocol
from transferkit.methods import METHODS, Method, Params, register_method
from transferkit.shots import ALL, has_labels, largest, shots_order

RAW = {"target": {"data": "optdigits"}, "methods": ["head"]}


class _Seen(Method):
    """Records the labelled and unlabelled inputs and the class weights it is given; trains nothing."""

    name = "_seen"
    description = "test spy"
    Params = Params
    seen: list = []

    def fit(self, task):
        t = task.target
        w = None if t.class_weight is None else t.class_weight.cpu().clone()
        _Seen.seen.append((task.seed, t.x_labelled.cpu().clone(), t.y_labelled.cpu().clone(), len(t.x_unlabelled), w))
        return task.source_model.copy().reset_specific(task.classes)


class _NeedsFive(_Seen):
    name = "_needs_five"
    min_shots = 5


@pytest.fixture
def seen():
    register_method(_Seen)
    register_method(_NeedsFive)
    _Seen.seen = []
    yield _Seen
    del METHODS["_seen"], METHODS["_needs_five"]


def _uneven(tmp_path):
    """(source.npz, target.npz): the target's 3 classes 30 / 15 / 6 examples, training pools 21 / 11 / 4."""
    xs, ys = make_images(60, seed=1)
    xt, yt = make_images(30, shift=30.0, seed=2)
    keep = np.concatenate([np.flatnonzero(yt == 0), np.flatnonzero(yt == 1)[:15], np.flatnonzero(yt == 2)[:6]])
    src, tgt = tmp_path / "source.npz", tmp_path / "target.npz"
    np.savez(src, x=xs[:, 0], y=ys, classes=np.array(["a", "b", "c"]))
    np.savez(tgt, x=xt[keep, 0], y=yt[keep], classes=np.array(["a", "b", "c"]))
    return src, tgt


@pytest.mark.parametrize(("given", "read"), [("all", ["all"]), ("ALL", ["all"]), ([1, "all"], [1, "all"]),
                                             (["All", 5, 1], [1, 5, "all"])])  # fmt: skip
def test_shots_all_is_read_alone_or_in_the_list_after_every_whole_number(given, read):
    cfg = load_config(None, raw={**RAW, "target": {"data": "optdigits", "shots": given}})
    assert cfg.target.shots == read and all(type(k) is int for k in cfg.target.shots if k != ALL)


def test_shots_all_is_taken_from_set_as_yaml_reads_it_and_the_fewshot_command_takes_none():
    assert load_config(None, ["target.shots=all"], RAW).target.shots == ["all"]
    assert load_config(None, ["target.shots=[1,all]"], RAW).target.shots == [1, "all"]
    assert load_config(None, ["target.shots=[5, ALL]"], RAW).target.shots == [5, "all"]
    from transferkit.fewshot.config import load_fewshot_config

    raw = {"source": {"data": "mnist5k"}, "novel": {"data": "optdigits"}, "fewshot": {"k_shot": "all"}}
    with pytest.raises(TransferkitError, match="k_shot"):  # episodes of K examples a class: all is no K
        load_fewshot_config(None, raw=raw)


@pytest.mark.parametrize(("shots", "said"), [
    ("al", "field `target.shots`: k 'al' is neither a whole number nor all"),
    ([1, "al"], "k 'al' is neither a whole number nor all"),
    (["all", "All"], "shots must be distinct, ['all'] repeat(s)"),
    ([2, "all", 2], "shots must be distinct, [2] repeat(s)"),
])  # fmt: skip
def test_bad_shots_are_refused_in_one_line(shots, said):
    with pytest.raises(TransferkitError) as e:
        load_config(None, raw={**RAW, "target": {"data": "optdigits", "shots": shots}})
    assert said in str(e.value) and "\n" not in str(e.value) and "all" in e.value.fix


def test_class_weight_is_null_or_balanced():
    assert load_config(None, raw=RAW).class_weight is None
    assert load_config(None, ["class_weight=Balanced"], RAW).class_weight == "balanced"
    with pytest.raises(TransferkitError, match="class_weight must be null .* or balanced"):
        load_config(None, ["class_weight=balance"], RAW)


def test_drawing_all_labels_the_whole_pool_and_leaves_none_unlabelled_at_every_seed():
    y = np.repeat([0, 1, 2], [30, 15, 6])
    split = make_test_split(y, 0.3, 0)
    draws = [draw_shots(y, split.pool_idx, ALL, seed) for seed in (0, 1, 7)]
    for lab, unl in draws:
        assert np.array_equal(lab, np.sort(split.pool_idx)) and len(unl) == 0
        assert not set(lab.tolist()) & set(split.test_idx.tolist())
    assert np.bincount(y[draws[0][0]]).tolist() == [21, 11, 4]


def test_rank_reads_a_run_deployed_at_all_as_trained_on_the_whole_pool(tmp_path):
    from transferkit.data import load_domain
    from transferkit.ranking.rank import labelled_examples

    _, tgt = _uneven(tmp_path)
    target = load_domain(str(tgt))
    lab, pool = labelled_examples(target, ALL, 3)  # what `rank` takes a run's deployed model at k = all to have seen
    assert np.array_equal(lab, pool) and len(lab) == 36


def test_all_comes_after_every_whole_number():
    assert sorted([ALL, 10, 0, 5], key=shots_order) == [0, 5, 10, ALL] and largest([1, ALL, 10]) == ALL
    assert sorted(["all", "5", "10"], key=shots_order) == ["5", "10", "all"]  # summary.json's keys
    assert has_labels(ALL) and has_labels("5") and not has_labels(0) and not has_labels("0")
    from transferkit.report.plots import k_positions

    assert k_positions([1, 5, ALL]) == {1: 1, 5: 5, ALL: 9.0} and k_positions([ALL]) == {ALL: 0}


def test_a_run_at_shots_all_trains_on_the_whole_pool_at_every_seed_with_the_class_weights(tmp_path, seen):
    src, tgt = _uneven(tmp_path)
    raw = tiny_experiment(src, tgt, methods=["_seen"], class_weight="balanced")
    raw["target"]["shots"] = [2, "all"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)  # weighed: nothing to warn of
        result = run_protocol(load_config(None, raw=raw))
    pool = set(result.data.split.pool_idx.tolist())
    at_all = [s for s in seen.seen if len(s[1]) == len(pool)]
    assert [s[0] for s in at_all] == [0, 1] and all(s[3] == 0 for s in at_all)  # every seed; nothing unlabelled
    assert torch.equal(at_all[0][1], at_all[1][1]) and torch.equal(at_all[0][2], at_all[1][2])  # the same examples
    assert np.bincount(at_all[0][2].numpy()).tolist() == [21, 11, 4]
    assert torch.allclose(at_all[0][4], torch.tensor([36 / 63, 36 / 33, 36 / 12]))  # n / (C n_c), as the API's
    at_two = [s for s in seen.seen if len(s[1]) == 6]
    assert len(at_two) == 2 and all(torch.equal(s[4], torch.ones(3)) for s in at_two)  # a balanced draw: 1 each
    assert {r.shots for r in result.records} == {2, ALL}

    raw.pop("class_weight")
    seen.seen = []
    with pytest.warns(TransferkitWarning) as said:
        result = run_protocol(load_config(None, raw=raw))
    notes = [str(w.message) for w in said if "class_weight: balanced" in str(w.message)]
    assert len(notes) == 1 and "'a': 21 examples, 'c': 4" in notes[0] and "balanced accuracy" in notes[0]
    assert "\n" not in notes[0] and notes[0] in result.data.notes  # listed again under the results
    assert all(s[4] is None for s in seen.seen)


def test_a_method_needing_more_labels_than_the_smallest_pool_holds_is_refused_at_all(tmp_path, seen):
    """At `all` a method's min_shots is checked against the smallest class's pool (a whole-number k is never
    larger, so a method too hungry for it is too hungry for every k: refused before training, as at k)."""
    src, tgt = _uneven(tmp_path)
    raw = tiny_experiment(src, tgt, methods=["_needs_five"], seeds=1)
    raw["target"]["shots"] = [1, "all"]  # at all the smallest class has 4
    with pytest.raises(TransferkitError, match=r"needs at least 5 labelled target example\(s\) per class, and at "
                                               "shots: all the smallest class's training pool holds 4"):
        run_protocol(load_config(None, raw=raw))


def test_a_run_at_shots_all_resumes_from_its_finished_runs(tmp_path, seen):
    from transferkit.evaluate.resume import experiment_key

    src, tgt = _uneven(tmp_path)
    raw = tiny_experiment(src, tgt, methods=["_seen"], class_weight="balanced")
    raw["target"]["shots"] = "all"
    cfg = load_config(None, raw=raw)
    first = run_protocol(cfg, resume=True)
    assert first.finished.taken == 0 and len(seen.seen) == 2
    again = run_protocol(cfg, resume=True)
    assert again.finished.taken == 2 and len(seen.seen) == 2  # both seeds taken at k = all, none trained again
    assert [(r.shots, r.seed) for r in again.records] == [(ALL, 0), (ALL, 1)]
    unweighed = load_config(None, raw={**raw, "class_weight": None})
    assert experiment_key(unweighed, first.data) != experiment_key(cfg, first.data)  # another experiment


def test_a_run_folder_at_shots_all_reads_k_as_all_and_predict_takes_shots_all(tmp_path, capsys):
    import transferkit as tk
    from transferkit.cli import main

    src, tgt = _uneven(tmp_path)
    raw = tiny_experiment(src, tgt, methods=[{"scratch": {"steps": 3}}, {"head": {"steps": 3}}])
    raw["target"]["shots"] = [2, "all"]
    with pytest.warns(TransferkitWarning, match="class_weight: balanced"):
        summary = tk.run(raw, out=tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert [(r["method"], r["shots"]) for r in summary["results"]] == [
        ("scratch", 2), ("scratch", ALL), ("head", 2), ("head", ALL)]
    saved = json.loads((run / "summary.json").read_text())
    assert saved["target"]["labelled_at_all"] == {"a": 21, "b": 11, "c": 4} and saved["target"]["shots"] == [2, ALL]
    assert saved["baseline"] == {"2": "scratch", "all": "scratch"} and saved["class_weight"] is None
    assert saved["deploy"] == {"method": "head", "shots": ALL, "seed": 0}  # the largest k
    head_all = next(r for r in saved["results"] if (r["method"], r["shots"]) == ("head", ALL))
    assert head_all["gain_vs_scratch"] is not None and len(head_all["balanced_accuracies"]) == 2
    report = (run / "report.md").read_text()
    assert "**shots per class**: 2, all" in report
    assert "k = all (every training-pool example: 4 to 21 a class, 36 in all)" in report
    assert "seeds differ only in training randomness" in report and "Per-class test accuracy at k = all" in report
    assert "| head | all |" in report and "balanced accuracy" in report
    assert "head k=all seed=1" in (run / "test_results.csv").read_text().splitlines()[0]
    assert any(line.startswith("head,all,0,final") for line in (run / "metrics.csv").read_text().splitlines())
    assert (run / "plots" / "accuracy_vs_shots.png").is_file() and (run / "models" / "head_kall_seed0.json").is_file()

    np.savez(tmp_path / "inputs.npz", x=make_images(2, seed=5)[0][:, 0])
    capsys.readouterr()
    assert main(["predict", str(run), str(tmp_path / "inputs.npz"), "--shots", "all", "--method", "scratch"]) == 0
    assert "model scratch_kall_seed0" in capsys.readouterr().err
    assert main(["predict", str(run), str(tmp_path / "inputs.npz")]) == 0
    assert "model head_kall_seed0" in capsys.readouterr().err  # deployed: the largest k
    assert main(["predict", str(run), str(tmp_path / "inputs.npz"), "--shots", "7"]) == 2
    assert "--shots {2, all}" in capsys.readouterr().err  # what there is, all after the numbers
    with pytest.raises(SystemExit):
        main(["predict", str(run), str(tmp_path / "inputs.npz"), "--shots", "al"])
