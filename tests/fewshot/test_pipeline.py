"""The episodic pipeline end to end on tiny synthetic images: run folder, feature cache
computed once, methods on the same episodes, novel-vs-seen class errors, CLI."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch

from tests.conftest import make_images
from transferkit.cli import main
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.fewshot import experiment as fewshot_experiment
from transferkit.fewshot import sample_episodes
from transferkit.fewshot.config import MethodSpec, load_fewshot_config
from transferkit.fewshot.experiment import run_fewshot
from transferkit.fewshot.pipeline import cache_features, evaluate_on_features, resolve_methods
from transferkit.models import TransferModel

QUICK = {"steps": 10, "batch_size": 16}


@pytest.fixture
def npz_pair(tmp_path):
    """Source: horizontal bars, classes a-c. Target: vertical bars, novel classes w-z."""
    xs, ys = make_images(30, classes=3, seed=1)
    xt, yt = make_images(25, classes=4, seed=2)
    src, tgt = tmp_path / "source.npz", tmp_path / "novel.npz"
    np.savez(src, x=xs[:, 0], y=ys, classes=np.array(["a", "b", "c"]))
    np.savez(tgt, x=np.swapaxes(xt[:, 0], 1, 2), y=yt, classes=np.array(["w", "x", "y", "z"]))
    return src, tgt


def tiny(src, tgt, **fewshot) -> dict:
    return {
        "name": "tiny-fewshot",
        "source": {"data": str(src), "epochs": 1, "batch_size": 32},
        "target": {"data": str(tgt)},
        "model": {"options": {"width": 4, "feature_dim": 16}},
        "seeds": 2,
        "fewshot": {
            "n_way": 3, "k_shot": [1, 3], "n_query": 5, "episodes": 40, "train_episodes": 2,
            "methods": ["prototypes", "transductive", {"bd_cspn": {"scale": 5.0}},
                        {"scratch": {"steps": 5}}, {"head": {"steps": 5}}],
            **fewshot,
        },
    }  # fmt: skip


def test_run_folder_features_once_and_same_episodes(npz_pair, tmp_path, monkeypatch, capsys):
    calls = []
    real = fewshot_experiment.cache_features
    monkeypatch.setattr(fewshot_experiment, "cache_features", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    out = tmp_path / "run"
    import transferkit as tk

    torch.manual_seed(99)
    want = torch.rand(2)
    torch.manual_seed(99)
    summary = tk.run_fewshot(tiny(*npz_pair), out=out)  # public, beside the transferkit.fewshot package
    assert torch.equal(torch.rand(2), want)  # the caller's generator as it was (every episode seeds torch)
    import transferkit.fewshot.report as fewshot_report  # the package is not hidden by a function of its name

    assert fewshot_report.markdown_table is not None
    said = capsys.readouterr()
    said = said.out + said.err
    assert "scratch 3-way 1-shot (no source):" in said and "prototypes 3-way 1-shot seed=1:" in said

    assert len(calls) == 2  # once per source seed, whatever the methods, K and episodes
    rows = {(r["method"], r["shots"]): r for r in summary["results"]}
    assert set(rows) == {(m, k) for m in ("prototypes", "transductive", "bd_cspn", "scratch", "head") for k in (1, 3)}
    for (method, _), r in rows.items():
        trains = method in ("scratch", "head")
        seeds = 1 if method == "scratch" else 2  # scratch never uses the source: run once
        assert r["episodes"] == (2 if trains else 40) and r["on_features"] is not trains
        assert r["evaluations"] == r["episodes"] * seeds  # the CI is over episodes, each averaged over seeds
        assert 0.0 <= r["accuracy_mean"] <= 1.0 and r["accuracy_ci95"][0] <= r["accuracy_mean"]
        if trains:  # 2 episodes: at least t(1) x one query (1/15) / sqrt(2), however alike they scored
            assert r["ci95_half_width"] >= 12.7 * (1 / 15) / np.sqrt(2) - 1e-6
    assert rows[("prototypes", 3)]["accuracy_mean"] > 0.5  # 3-way: well above chance
    assert rows[("scratch", 1)]["gain_vs_scratch"] is None
    gain = rows[("prototypes", 1)]
    assert -1 <= gain["gain_vs_scratch"] <= 1 and isinstance(gain["negative_transfer"], bool)
    assert gain["gain_episodes"] == 2  # paired on the 2 episodes scratch ran, of 40
    saved = json.loads((out / "summary.json").read_text())
    assert saved["results"] == json.loads(json.dumps(summary["results"]))
    report = (out / "report.md").read_text()
    assert "3-way 1-shot" in report and "| prototypes |" in report
    assert "40 episodes for methods on cached features; the first 2 of them for methods that train" in report
    assert "see the seed means below" in report
    means = rows[("prototypes", 3)]["seed_means"]  # the seed spread the episode interval leaves out
    assert f"- prototypes, K = 3: source seeds 0, 1 give {100 * means['0']:.1f} / {100 * means['1']:.1f}" in report
    assert "- scratch, K = 1: source seeds" not in report  # no source, one run
    for (method, _), r in rows.items():  # 40 episodes draw every novel class; 2 may not (None)
        acc = r["per_class_accuracy"]
        assert set(acc) == {"w", "x", "y", "z"}, method
        assert all(0.0 <= v <= 1.0 if r["on_features"] else v is None or 0.0 <= v <= 1.0 for v in acc.values())
    assert "**Accuracy per novel class, K = 1**" in report and "| method | w | x | y | z |" in report
    protos = rows[("prototypes", 3)]["per_class_accuracy"]
    assert "| prototypes | " + " | ".join(f"{100 * protos[c]:.1f}" for c in "wxyz") + " |" in report
    assert any(v is not None for v in rows[("head", 3)]["per_class_accuracy"].values())  # counted per episode too
    assert (out / "plots" / "accuracy_vs_k.png").stat().st_size > 0
    assert (out / "plots" / "example_episode.png").stat().st_size > 0
    assert not list(tmp_path.glob(".run.partial-*"))


def test_class_accuracy_sums_counts_over_seeds_by_class_id():
    from transferkit.fewshot.evaluate import EpisodeResult
    from transferkit.fewshot.experiment import FewShotRecord
    from transferkit.fewshot.report import class_accuracy, class_lines

    def rec(seed, ids, correct, total):
        res = EpisodeResult("p", np.ones(2), 1.0, 0.0, 0.0, np.array(ids), np.array(correct), np.array(total))
        return FewShotRecord("p", 1, seed, True, res)

    # seed 1 counted classes 0 and 2 only: added to those, not to 0 and 1
    acc = class_accuracy([rec(0, [0, 1, 2], [3, 1, 4], [4, 2, 8]), rec(1, [0, 2], [1, 1], [4, 2])], ["a", "b", "c", "d"])
    assert acc == {"a": 0.5, "b": 0.5, "c": 0.5, "d": None}
    assert class_accuracy([FewShotRecord("p", 1, 0, True, EpisodeResult("p", np.ones(2), 1.0, 0.0, 0.0))], ["a"]) is None
    summary = {"target": {"classes": ["a", "b", "c", "d"]}, "protocol": {"k_shot": [1, 5]},
               "results": [{"method": "p", "shots": 1, "per_class_accuracy": acc}]}  # fmt: skip
    lines = class_lines(summary)
    assert "| p | 50.0 | 50.0 | 50.0 | — |" in lines and not any("K = 5" in ln for ln in lines)
    many = {**summary, "target": {"classes": [str(i) for i in range(21)]}}
    assert class_lines(many)[0].startswith("Accuracy per novel class: not tabled for 21 classes (up to 20 are); "
                                           "summary.json holds it")  # too wide to read, and said so
    none = {**many, "results": [{"method": "p", "shots": 1, "per_class_accuracy": None}]}
    assert class_lines(none) == []  # nothing to point at
    odd = ["Q|q", "<S>", "T*t*", "d"]  # split the table's columns, vanished as a tag, turned italic (a trial)
    named = {**summary, "target": {"classes": odd},
             "results": [{"method": "p", "shots": 1, "per_class_accuracy": dict(zip(odd, acc.values(), strict=True))}]}
    header, rule, row = class_lines(named)[2:5]
    assert header == r"| method | Q\|q | \<S\> | T\*t\* | d |" and row == "| p | 50.0 | 50.0 | 50.0 | — |"
    assert header.replace(r"\|", "").count("|") == rule.count("|") == row.count("|")


def test_feature_methods_never_touch_the_model_after_caching():
    torch.manual_seed(0)
    model = TransferModel.build("mlp", (6,), ["a", "b"], hidden=8, feature_dim=4)
    x = torch.randn(60, 6)
    y = np.repeat(np.arange(4), 15)
    cache = cache_features(model, x, y, source_x=torch.randn(20, 6))
    assert cache.features.shape == (60, 4) and cache.base_mean.shape == (4,)

    class Broken(torch.nn.Module):
        def forward(self, *_):
            raise AssertionError("the model ran again")

    model.shared = Broken()
    episodes = sample_episodes(y, 4, 2, 5, n_episodes=100)
    for method in resolve_methods([MethodSpec(name=n) for n in ("prototypes", "transductive", "soft_kmeans")]):
        assert len(evaluate_on_features(method, cache, episodes).accuracies) == 100


def test_seen_classes_among_novel_ones_are_refused(npz_pair, tmp_path):
    src, _ = npz_pair
    with pytest.raises(TransferkitError, match=r"novel class\(es\) were also used for source training: 'a', 'b', 'c' \(source '.*', target '.*'\)\. Fix"):
        run_fewshot(tiny(src, src), out=tmp_path / "r", progress=False)
    with pytest.raises(TransferkitError, match="cross_domain is true but"):
        run_fewshot(tiny(src, src, cross_domain=True), out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_feature_blocks_beyond_the_shared_layers_are_refused(npz_pair, tmp_path):
    with pytest.raises(TransferkitError, match=r"blocks=5 is outside 1\.\.3"):  # the cnn has 3 blocks
        run_fewshot(tiny(*npz_pair, blocks=5), out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_other_data_set_with_shared_names_needs_cross_domain():
    from types import SimpleNamespace as NS

    from transferkit.fewshot.experiment import check_classes

    rng = np.random.default_rng(0)
    data = NS(source=NS(name="mnist5k", classes=["0", "1"], x=rng.random((4, 3)), y=np.array([0, 1, 0, 1])),
              target=NS(name="optdigits", classes=["1", "2"], x=rng.random((4, 3)), y=np.array([0, 1, 0, 1])))  # fmt: skip
    cfg = load_fewshot_config(None, raw={"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}})
    with pytest.raises(TransferkitError, match="'1'.*set fewshot.cross_domain: true"):
        check_classes(cfg, data)
    cfg.fewshot.cross_domain = True
    check_classes(cfg, data)  # another data set: allowed, and reported as cross-domain
    data.target.name = "mnist5k[1,2]"
    with pytest.raises(TransferkitError, match="cross_domain is true but"):
        check_classes(cfg, data)


def test_a_target_without_class_names_is_told_to_name_them_not_that_they_are_source_classes(tmp_path):
    """Letters saved with labels 0..9 and no `classes` are named '0'..'9', like the digits of
    the source: the error says that, and asks for the names before suggesting cross_domain."""
    from types import SimpleNamespace as NS

    from transferkit.data.domain import Domain
    from transferkit.data.files import load_file
    from transferkit.fewshot.experiment import check_classes

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (6, 8, 8)).astype(np.float32), np.array([0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "letters.npz", x=x, y=y)
    np.savez(tmp_path / "named.npz", x=x, y=y, classes=np.array(["A", "B", "C"]))
    (tmp_path / "letters.csv").write_text("f0,label\n" + "".join(f"{i},{c}\n" for i, c in enumerate(y)))
    cfg = load_fewshot_config(None, raw={"source": {"data": "mnist5k"}, "target": {"data": "letters.npz"}})
    source = Domain("mnist5k", rng.uniform(0, 1, (10, 1, 8, 8)).astype(np.float32), np.arange(10), [str(d) for d in range(10)])
    for name, how in (("letters.npz", "classes=names"), ("letters.csv", "as the labels in the label column")):
        with pytest.raises(TransferkitError, match=r"gives its classes as numbers, not names.*3 of those are names of source classes "
                                                   r"\('0', '1', '2'\)") as e:  # fmt: skip
            check_classes(cfg, NS(source=source, target=load_file(tmp_path / name)))
        assert how in e.value.fix and "cross_domain: true" in e.value.fix
    assert check_classes(cfg, NS(source=source, target=load_file(tmp_path / "named.npz"))) == []
    folders = Domain("v_num", x[:, None], y, ["1", "2", "7"])  # a new user's folders '1', '2', '7'; an unnamed source
    with pytest.raises(TransferkitError, match=r"source '.*letters.npz' gives its classes as numbers, not names.*2 of those are names of "
                                               r"target classes \('1', '2'\)") as e:  # fmt: skip
        check_classes(cfg, NS(source=load_file(tmp_path / "letters.npz"), target=folders))
    assert "give the source's classes their names" in e.value.fix and "classes=names" in e.value.fix
    import dataclasses

    d = load_file(tmp_path / "letters.npz")  # one file as both base and novel classes: really the same classes
    same = NS(source=NS(name=f"{tmp_path / 'letters.npz'}[0,1]", classes=["0", "1"]),
              target=dataclasses.replace(d, name=f"{tmp_path / 'letters.npz'}[0,1,2]"))  # fmt: skip
    with pytest.raises(TransferkitError, match=r"2 novel class\(es\) were also used for source training: '0', '1'"):
        check_classes(cfg, same)


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(TransferkitError, match=r"field `fewshot.n_way`.*got 0"):
        load_fewshot_config(None, raw={"source": {"data": "x"}, "target": {"data": "y"}, "fewshot": {"n_way": 0}})
    with pytest.raises(TransferkitError, match="field `fewshot.methods`"):
        load_fewshot_config(None, raw={"source": {"data": "x"}, "target": {"data": "y"},
                                       "fewshot": {"methods": ["scratch", "scratch"]}})  # fmt: skip
    with pytest.raises(TransferkitError, match=r"train_episodes \(30\) exceeds episodes \(20\).*set train_episodes "
                                               r"to at most 20"):  # fmt: skip
        load_fewshot_config(None, raw={"source": {"data": "x"}, "target": {"data": "y"},
                                       "fewshot": {"episodes": 20, "train_episodes": 30}})  # fmt: skip
    base = {"source": {"data": "x"}, "target": {"data": "y"}}
    for bad in (1.5, "2", True):  # was "Input should be a valid list", as if one value could not be given
        with pytest.raises(TransferkitError, match=r"field `fewshot.k_shot`: k_shot must be a whole number or a list "
                                                   r"of whole numbers, e.g. \[1, 5\]"):  # fmt: skip
            load_fewshot_config(None, raw={**base, "fewshot": {"k_shot": bad}})
    assert load_fewshot_config(None, raw={**base, "fewshot": {"k_shot": 3}}).fewshot.k_shot == [3]
    with pytest.raises(TransferkitError, match=r"field `fewshot.episode_seed`.*got -5"):  # was numpy's traceback
        load_fewshot_config(None, raw={**base, "fewshot": {"episode_seed": -5}})
    habits = {  # fields of `transferkit run` experiments: where they go, or why there are none
        "methods": ("lists its methods under `fewshot:` (fewshot: {methods: ['scratch']})", {"methods": ["scratch"]}),
        "deploy": ("has no `deploy`: it deploys no model", {"deploy": "head"}),
        "split": ("target has no `test_fraction`: there is no test split", {"target": {"data": "y", "test_fraction": 0.2}}),
    }  # fmt: skip
    for said, extra in habits.values():
        with pytest.raises(TransferkitError, match=re.escape(said)):
            load_fewshot_config(None, raw={"source": {"data": "x"}, "target": {"data": "y"}, **extra})
    load_fewshot_config(None, raw={"source": {"data": "x"}, "target": {"data": "y"}, "fewshot": {"episodes": 20}})
    with pytest.raises(TransferkitError, match="unknown few-shot method 'protoypes'.*prototypes"):
        resolve_methods([MethodSpec(name="protoypes")])
    with pytest.raises(TransferkitError, match="has no option base_mean"):
        resolve_methods([MethodSpec(name="simpleshot", params={"base_mean": 0})])
    with pytest.raises(TransferkitError, match="'dann' predicts the source's classes") as e:
        resolve_methods([MethodSpec(name="dann")])
    assert "finetune" in str(e.value) and "source_only" not in str(e.value)  # the list offers what can run


def test_cli_runs_and_reports_errors_with_exit_code_2(npz_pair, tmp_path, capsys):
    import yaml

    src, tgt = npz_pair
    cfg = tiny(src, tgt, k_shot=[1], methods=["prototypes", "transductive"])
    path = tmp_path / "fs.yaml"
    path.write_text(yaml.safe_dump({**cfg, "seeds": 1}))
    assert main(["fewshot", str(path), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| prototypes |" in out and "| transductive † |" in out
    assert "† transductive (`transductive`): predicts each episode's" in out  # names which rows (soft_kmeans too)
    report = (tmp_path / "cli" / "report.md").read_text()  # one seed, no method trained per episode: not said to be
    assert "40 episodes for methods on cached features; features" in report and "train a network" not in report
    assert "(one source seed ran)" in report and "seed means below" not in report
    assert "Gain vs scratch is paired" not in report  # no scratch ran: nothing is paired
    assert "trained with no augmentation (vectors, small images, series read by the cnn1d or `source.augment: false`)" in report  # 12x12 images
    from transferkit.fewshot.report import render_report

    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    summary["source"].update(examples=0, classes=[])  # as for pretrained weights without source data
    assert "features lose to scratch here" not in render_report(summary, {})
    flagged = json.loads(json.dumps(summary))
    one = json.loads(json.dumps(summary))
    one["results"][0]["negative_transfer"] = True  # prototypes below scratch, transductive on the same features not
    text = render_report(one, {})
    assert "features lose to scratch here" not in text  # (it said so, blaming the features: a review)
    assert ("**Some methods on the source's features lose to scratch:** `prototypes` at K = 1. Other methods on the "
            "same features are not below scratch at that K") in text  # fmt: skip
    for row in flagged["results"]:
        row["negative_transfer"] = True  # prototypes and transductive, on cached features, below scratch
    assert "**The source's features lose to scratch here" in render_report(flagged, {})
    assert "Some methods on the source's features" not in render_report(flagged, {})
    assert "`fewshot.blocks` reads earlier features" in render_report(flagged, {})
    flagged["protocol"]["feature_blocks"] = 2  # the user read earlier blocks already: not advised to, again
    text = render_report(flagged, {})
    assert "The features of its first 2 shared block(s) (`fewshot.blocks: 2`) do not tell" in text
    assert "reads earlier features" not in text
    assert "those that train a network per episode read all its blocks" not in text  # none ran
    with_head = json.loads(json.dumps(flagged))  # head reads all blocks whatever `blocks` says: the line says so
    with_head["results"].append({**flagged["results"][0], "method": "head", "on_features": False})
    assert "shared blocks: 2 (for the methods on cached features; those that train a network per episode read all " \
        "its blocks)" in render_report(with_head, {})  # fmt: skip
    flagged["protocol"]["feature_blocks"] = "all"
    assert "read all its blocks" not in render_report({**with_head, "protocol": flagged["protocol"]}, {})
    two = json.loads(json.dumps(flagged))  # a second K where nothing is flagged: the verdict says at which K
    two["results"] += [{**r, "shots": 5, "negative_transfer": False} for r in summary["results"]]
    assert "lose to scratch here at K = 1 (the methods on frozen features: not at the other K).**" in render_report(two, {})
    trained = json.loads(json.dumps(two))  # a method that trains per episode, flagged at the other K
    trained["results"].append({**two["results"][-1], "method": "auto", "on_features": False, "negative_transfer": True})
    assert "**Methods that train per episode also lose to scratch:** `auto` at K = 5." in render_report(trained, {})
    assert "also lose to scratch" not in render_report(two, {})
    many = json.loads(json.dumps(trained))  # 10 or more gain intervals, one flagged: qualified
    many["results"] = [{**r, "shots": k, "gain_ci95": [-0.1, -0.01]} for r in trained["results"] for k in range(1, 5)]
    assert "gain intervals is a 95 % interval for its own comparison" in render_report(many, {})
    assert "for its own comparison" not in render_report(trained, {})
    pretrained = render_report(summary, {})
    assert "pretrained weights only (no source data, so the novelty of the target classes was not checked)" in pretrained
    # with scratch: one trained source seed's verdict is on that one training; a pretrained source is one model
    summary["results"].append({**summary["results"][0], "method": "scratch", "on_features": False})
    assert "(the source hurts)." in render_report(summary, {})
    summary["source"].update(examples=10, classes=["a", "b"])
    assert len(summary["source"]["models"]) == 1
    assert "with one source seed, this one training of the source does: another may differ" in render_report(summary, {})
    summary["source"]["models"]["1"] = summary["source"]["models"]["0"]
    assert "(the source hurts)." in render_report(summary, {})
    assert "— 0 examples" not in pretrained and "classes []" not in pretrained
    assert main(["fewshot", str(path), "--set", "fewshot.n_query=99", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "k_shot + n_query" in err and "Traceback" not in err and not (tmp_path / "bad").exists()
    two_k = ["--set", "fewshot.k_shot=[1,20]", "--set", "fewshot.n_query=10"]  # the largest K is checked first
    assert main(["fewshot", str(path), *two_k, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "20 + 10" in capsys.readouterr().err
    assert main(["fewshot", str(path), "--set", "target.shots=[1]", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "fewshot.k_shot" in capsys.readouterr().err  # was "Extra inputs are not permitted"
    assert main(["run", str(path), "--out", str(tmp_path / "bad"), "--quiet"]) == 2  # the wrong command
    err = capsys.readouterr().err
    assert "it is a few-shot experiment" in err and "transferkit fewshot FILE" in err and not (tmp_path / "bad").exists()


def test_a_small_novel_class_is_named_and_needs_no_test_split(npz_pair, tmp_path, capsys):
    import yaml

    src, tgt = npz_pair
    d = np.load(tgt)
    keep = np.flatnonzero(d["y"] != 3)[:-3].tolist() + np.flatnonzero(d["y"] == 3)[:1].tolist()  # 'z': one image
    np.savez(tmp_path / "small.npz", x=d["x"][keep], y=d["y"][keep], classes=d["classes"])
    path = tmp_path / "fs.yaml"
    path.write_text(yaml.safe_dump({**tiny(src, tmp_path / "small.npz", methods=["prototypes"]), "seeds": 1}))
    assert main(["fewshot", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err  # the episode check, not "too few to split into test and pool"
    assert "class 'z' has 1" in err and "test and pool" not in err and not (tmp_path / "out").exists()


def test_gain_vs_scratch_is_paired_by_episode():
    from transferkit.fewshot.evaluate import EpisodeResult
    from transferkit.fewshot.experiment import FewShotRecord
    from transferkit.fewshot.report import paired_gain

    def rec(method, seed, accs):
        accs = np.asarray(accs, dtype=float)
        return FewShotRecord(method, 1, seed, True, EpisodeResult(method, accs, accs.mean(), 0.0, 0.0))

    protos = [rec("prototypes", 0, [0.6, 0.8, 0.9, 0.1]), rec("prototypes", 1, [0.4, 0.6, 0.5, 0.1])]
    scratch = [rec("scratch", None, [0.4, 0.8])]  # scratch ran only the first 2 episodes
    gain, ci = paired_gain(protos, scratch, 0.01)  # per episode: (0.5 - 0.4, 0.7 - 0.8)
    half = 12.706 * np.std([0.1, -0.1], ddof=1) / np.sqrt(2)  # 1.27: clipped to the possible [-1, 1]
    assert gain == 0.0 and str(gain) == "0.0" and half > 1 and ci == [-1.0, 1.0]  # 0.5 - 0.4 - 0.1: -2.8e-17 was stored
    assert paired_gain(scratch, scratch, 0.01) == (None, None) and paired_gain(protos, [], 0.01) == (None, None)


def test_few_episodes_that_differ_by_the_same_query_are_not_a_certain_gain():
    from transferkit.fewshot.evaluate import EpisodeResult
    from transferkit.fewshot.experiment import FewShotRecord
    from transferkit.fewshot.report import paired_gain

    def rec(method, accs):
        accs = np.asarray(accs, dtype=float)
        return FewShotRecord(method, 5, 0, True, EpisodeResult(method, accs, accs.mean(), 0.0, 0.0))

    step = 1 / 75  # 5-way, 15 queries
    gain, (low, high) = paired_gain([rec("logistic", [0.9 - step] * 3)], [rec("scratch", [0.9] * 3)], step)
    assert gain == pytest.approx(-step)
    assert high == pytest.approx(-step + 4.303 * step / np.sqrt(3), rel=1e-3) and high > 0  # not "negative"


def test_report_cell_gives_the_gain_with_its_interval_and_episodes():
    """The gain over scratch comes from the few episodes scratch ran: the cell says how few
    and how uncertain, not only the mean beside the feature method's episode count."""
    from transferkit.fewshot.report import _cell

    row = {"accuracy_mean": 0.737, "ci95_half_width": 0.026, "episodes": 50, "gain_vs_scratch": -0.09,
           "gain_ci95": [-0.98, 0.80], "gain_episodes": 2, "negative_transfer": False}  # fmt: skip
    assert _cell(row) == "73.7 ± 2.6 (50 episodes; -9.0 [-98.0, +80.0] vs scratch over 2 episodes)"
    assert _cell({**row, "gain_vs_scratch": None}) == "73.7 ± 2.6 (50 episodes)"


def test_one_way_episodes_and_renamed_source_classes_are_refused():
    from transferkit.fewshot.config import FewShotSection
    from transferkit.fewshot.episodes import check_novel

    with pytest.raises(ValueError, match="greater than or equal to 2"):
        FewShotSection(n_way=1)  # 100 % on one class measures nothing
    with pytest.raises(ValueError, match=r"k_shot must be distinct, \[1\] repeat"):
        FewShotSection(k_shot=[1, 1])  # was merged into one column without a word
    assert FewShotSection(k_shot=[5, 1]).k_shot == [1, 5]
    with pytest.raises(TransferkitError, match=r"2 novel class\(es\) were also used for source training"):
        check_novel(["four", "three ", "nine"], [" four", "three", "one"])
    check_novel(["a", "b"], ["A", "B"])  # letters: case makes another class


def test_novel_images_copied_from_the_source_are_refused_whatever_their_names(npz_pair, tmp_path):
    src, _ = npz_pair
    d = np.load(src)
    np.savez(tmp_path / "renamed.npz", x=d["x"], y=d["y"], classes=np.array(["p", "q", "r"]))  # the same images
    with pytest.raises(TransferkitError, match=r"novel-class images are also in the source .*\(exact copies; 30 of "
                                               r"the 30 of class 'p', 30 of the 30 of class 'q', 30 of the 30 of class "
                                               r"'r'\).*not novel"):  # fmt: skip
        run_fewshot(tiny(src, tmp_path / "renamed.npz"), out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_every_interval_is_recomputed_from_the_folders_episodes_csv(npz_pair, tmp_path):
    """An audit could recompute a run's intervals from its test_results.csv, not a few-shot run's."""
    import csv

    from scipy import stats

    src, tgt = npz_pair
    summary = run_fewshot(tiny(src, tgt, k_shot=[1], methods=["prototypes", {"scratch": {"steps": 3}}]),
                          out=tmp_path / "fs", progress=False)  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "fs" / "episodes.csv").open()))
    assert {r["source_seed"] for r in rows if r["method"] == "prototypes"} == {"0", "1"}
    acc = {}
    for r in rows:
        acc.setdefault(r["method"], {}).setdefault(r["source_seed"], []).append(float(r["accuracy"]))
    proto = np.mean([acc["prototypes"][s] for s in ("0", "1")], axis=0)  # the seeds averaged per episode
    half = stats.t.ppf(0.975, len(proto) - 1) * max(proto.std(ddof=1), 1 / 15) / np.sqrt(len(proto))
    row = next(r for r in summary["results"] if r["method"] == "prototypes")
    assert row["accuracy_mean"] == pytest.approx(proto.mean(), abs=1e-6) and len(proto) == row["episodes"] == 40
    assert row["accuracy_ci95"] == pytest.approx([max(0, proto.mean() - half), min(1, proto.mean() + half)], abs=1e-6)
    scratch = np.asarray(next(iter(acc["scratch"].values())))
    d = proto[: len(scratch)] - scratch  # paired by episode, on the episodes scratch ran
    assert row["gain_vs_scratch"] == pytest.approx(d.mean(), abs=1e-6)


def test_novel_images_that_are_source_images_re_saved_as_jpeg_are_warned_of(npz_pair, tmp_path):
    from tests.data.test_overlap import _jpeg

    src, _ = npz_pair
    d = np.load(src)
    x = _jpeg(d["x"][:, None], 95)[:, 0]  # (N, H, W) grey images, each through a JPEG file
    np.savez(tmp_path / "resaved.npz", x=x, y=d["y"], classes=np.array(["p", "q", "r"]))
    with pytest.warns(TransferkitWarning, match=r"90 of the 90 novel-class images are near copies of images in the "
                                                r"source .*pixel correlation >= 0.999.*inflated, so drop them"):  # fmt: skip
        summary = run_fewshot(tiny(src, tmp_path / "resaved.npz", methods=["prototypes"], k_shot=[1]),
                              out=tmp_path / "r", progress=False)  # fmt: skip
    assert any("near copies" in note for note in summary["notes"])


def test_one_novel_class_of_copied_source_images_is_refused_though_few_in_all():
    """A new user's 21 novel classes held one, 'seven', of 60 MNIST images the source had:
    4.8 % of all novel images, under the 5 % line, and it scored 99 %."""
    from transferkit.data.domain import Domain
    from transferkit.fewshot.experiment import _check_copies

    rng = np.random.default_rng(0)
    src = Domain("s", rng.random((60, 1, 8, 8), dtype=np.float32), np.arange(60) % 2, ["0", "1"])
    own = rng.random((400, 1, 8, 8), dtype=np.float32) + 2  # 20 classes of 20 images of their own (6x6: series to auto)
    tgt = Domain("t", np.concatenate([own, src.x[:20]]), np.repeat(np.arange(21), 20), [f"c{i}" for i in range(21)])
    with pytest.raises(TransferkitError, match=r"20 of the 420 novel-class images are also in the source 's' \(exact "
                                               r"copies; 20 of the 20 of class 'c20'\)"):  # fmt: skip
        _check_copies(src, tgt)
    some = Domain("t", np.concatenate([own, src.x[:2]]), np.repeat(np.arange(21), [20] * 20 + [2])[:402],
                  [f"c{i}" for i in range(21)])  # fmt: skip
    some = Domain("t", np.concatenate([own[:398], src.x[:2]]), np.repeat(np.arange(20), 20), [f"c{i}" for i in range(20)])
    assert "2 of the 400 novel-class images are also in the source 's' (exact copies; 2 of the 20 of class 'c19')" in (
        _check_copies(src, some)[0])  # a tenth of one class: said, not refused
    assert _check_copies(src, Domain("t", own, np.repeat(np.arange(20), 20), [f"c{i}" for i in range(20)])) == []


def test_novel_rows_and_texts_copied_from_the_source_are_warned_of():
    """A new user's numeric class 'nought' was 178 rows copied from the source's 'zero': it
    scored 98.5 % against 49-74 % for the others, and the check looked at images only. Rows and
    texts can repeat by chance (a few discrete values, short texts), so they are warned of, not refused."""
    from transferkit.data.domain import Domain
    from transferkit.data.text import TextDomain
    from transferkit.fewshot.experiment import _check_copies

    rng = np.random.default_rng(0)
    src = Domain("s", rng.random((40, 7), dtype=np.float32), np.arange(40) % 2, ["zero", "one"])
    own = rng.random((60, 7), dtype=np.float32) + 2
    tgt = Domain("t", np.concatenate([own, src.x[:20]]), np.repeat(np.arange(4), 20), ["a", "b", "c", "nought"])
    (note,) = _check_copies(src, tgt)
    assert note.startswith("20 of the 80 novel-class examples are also in the source 's', the same rows (exact "
                           "copies): 20 of the 20 of class 'nought'") and "not novel" in note  # fmt: skip
    assert _check_copies(src, Domain("t", own, np.repeat(np.arange(3), 20), ["a", "b", "c"])) == []
    series = Domain("s", rng.normal(size=(40, 50)).astype(np.float32), np.arange(40) % 2, ["zero", "one"])
    mine = np.concatenate([rng.normal(size=(60, 50)).astype(np.float32) + 2, series.x[:20]])
    with pytest.raises(TransferkitError, match=r"20 of the 80 novel-class examples are also in the source 's' \(exact "
                                               r"copies; 20 of the 20 of class 'nought'\)"):  # fmt: skip
        _check_copies(series, Domain("t", mine, np.repeat(np.arange(4), 20), ["a", "b", "c", "nought"]))  # readings: refused
    levels = np.round(series.x * 4)  # the same rows as a few whole levels: may repeat by chance, warned of
    (note,) = _check_copies(Domain("s", levels, series.y, series.classes),
                            Domain("t", np.round(mine * 4), np.repeat(np.arange(4), 20), ["a", "b", "c", "nought"]))
    assert "can also repeat by chance" in note
    texts = [f"review number {i} of the source" for i in range(40)]
    tsrc = TextDomain("s", texts, np.arange(40) % 2, ["neg", "pos"])
    mine = [f"a text of my own, {i}" for i in range(30)] + [t.upper() for t in texts[:10]]
    ttgt = TextDomain("t", mine, np.repeat(np.arange(4), 10), ["w", "x", "y", "z"])
    (note,) = _check_copies(tsrc, ttgt)
    assert "10 of the 40 novel-class examples are also in the source 's', the same texts (up to case and spacing): " \
           "10 of the 10 of class 'z'" in note  # fmt: skip


def test_the_report_warns_of_case_twins_and_says_when_negative_transfer_was_not_checked(npz_pair, tmp_path, capsys):
    src, tgt = npz_pair
    d = np.load(tgt)
    np.savez(tmp_path / "novel.npz", x=d["x"], y=d["y"], classes=np.array(["A", "x", "y", "z"]))  # 'A' vs source 'a'
    cfg = tiny(src, tmp_path / "novel.npz", k_shot=[1], methods=["prototypes"])
    with pytest.warns(TransferkitWarning, match="'A' differs from the source class 'a' only in case") as said:
        summary = run_fewshot({**cfg, "seeds": 1}, out=tmp_path / "run", progress=False)  # was said as progress only
    assert {w.filename for w in said if "only in case" in str(w.message)} == {__file__}  # the caller's line, not devices.py
    assert summary["notes"] and "'A' differs from the source class 'a' only in case" in summary["notes"][0]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "**Warning:** novel class 'A'" in report and "**Negative transfer was not checked:**" in report
    head = report.split("- **Episodes**")[0]  # a note on the novel classes sits under their line, not the source's
    assert head.index("- **Novel classes**") < head.index("  - **Warning:** novel class 'A'")
    from transferkit.fewshot.report import _of_novel

    assert _of_novel("3 of the 100 novel-class examples are exact copies", summary)  # its hyphen too
    under_table = report.split("## Few-shot accuracy vs K")[1].split("\n\n")[3]  # intro, table, then this
    assert under_table.startswith("**Warning:** novel class 'A' may be the source class 'a' (the same name but for "
                                  "case, punctuation or a plural 's'): if it is, it is not novel, and its accuracy")  # fmt: skip
    import yaml

    (tmp_path / "fs.yaml").write_text(yaml.safe_dump({**cfg, "seeds": 1}))
    assert main(["fewshot", str(tmp_path / "fs.yaml"), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    table_end = max(i for i, line in enumerate(out) if line.startswith("|"))
    assert out[table_end + 1].startswith("warning: novel class 'A' may be the source class 'a'")
    from transferkit.fewshot.report import twin_warnings

    summary["target"]["cross_domain"] = True  # the same classes in another data set, on purpose: nothing to warn of
    assert twin_warnings(summary) == []
    np.savez(tmp_path / "three.npz", x=d["x"], y=d["y"], classes=np.array(["A", "B", "C", "z"]))  # all three twins
    (tmp_path / "fs.yaml").write_text(yaml.safe_dump({**tiny(src, tmp_path / "three.npz", k_shot=[1],
                                                             methods=["prototypes"]), "seeds": 1}))  # fmt: skip
    capsys.readouterr()
    assert main(["fewshot", str(tmp_path / "fs.yaml"), "--out", str(tmp_path / "cli3"), "--quiet"]) == 0
    said = capsys.readouterr()
    assert said.err.count("only in case") == 1 and said.out.count("but for case") == 1  # was a line a class, each
    assert "3 novel classes differ from source classes only in case, punctuation or a plural 's': 'A' (source 'a'), " \
           "'B' (source 'b')" in said.err  # fmt: skip
    assert "warning: 3 novel classes ('A', 'B', 'C') may be source classes" in said.out


def test_repeated_novel_inputs_are_said_and_never_support_and_query_at_once(npz_pair, tmp_path, monkeypatch):
    import transferkit.fewshot.experiment as experiment

    src, tgt = npz_pair
    d = np.load(tgt)
    given = []  # the sampler is told which inputs are copies (its own test checks what it does with that)
    monkeypatch.setattr(experiment, "sample_episodes",
                        lambda *a, groups=None, **kw: given.append(groups) or sample_episodes(*a, groups=groups, **kw))  # fmt: skip
    np.savez(tmp_path / "twice.npz", x=np.concatenate([d["x"], d["x"]]), y=np.concatenate([d["y"], d["y"]]),
             classes=d["classes"])  # fmt: skip
    with pytest.warns(TransferkitWarning, match="exact copies of another one"):  # not only a progress line
        summary = run_fewshot({**tiny(src, tmp_path / "twice.npz", k_shot=[3], methods=["prototypes"]), "seeds": 1},
                              out=tmp_path / "run", progress=False)  # fmt: skip
    n = len(d["y"])
    assert f"{n} of the {2 * n} novel-class examples are exact copies of another one" in summary["notes"][0]
    assert "**Warning:** " + summary["notes"][0] in (tmp_path / "run" / "report.md").read_text()
    assert given[-1].tolist() == 2 * given[-1][:n].tolist() and len(set(given[-1].tolist())) == n
    summary = run_fewshot({**tiny(src, tgt, k_shot=[3], methods=["prototypes"]), "seeds": 1}, out=tmp_path / "r2",
                          progress=False)  # fmt: skip
    assert not any("exact copies" in note for note in summary["notes"])


def test_two_names_for_one_computation_are_refused_unless_their_options_differ():
    """`transductive` is `bd_cspn` and `prototypes` is `simpleshot`: listed together they gave two
    rows of identical numbers."""
    for pair in (["transductive", "bd_cspn"], ["simpleshot", "prototypes"]):
        with pytest.raises(TransferkitError, match=f"few-shot methods '{pair[0]}' and '{pair[1]}' are the same "
                                                   "computation") as e:  # fmt: skip
            resolve_methods([MethodSpec(name=n) for n in pair])
        assert "list one of them" in e.value.fix
    compared = resolve_methods([MethodSpec(name="transductive"), MethodSpec(name="bd_cspn", params={"scale": 5.0})])
    assert [m.label for m in compared] == ["transductive", "bd_cspn"]  # another option: a comparison, kept
    with pytest.raises(TransferkitError, match="'prototypes' and 'simpleshot' are the same computation"):
        resolve_methods([MethodSpec(name="prototypes"), MethodSpec(name="simpleshot", params={"scale": 5.0})])  # a
        # temperature never changes a nearest-mean classifier's predictions: the same numbers again
    other = resolve_methods([MethodSpec(name="simpleshot"), MethodSpec(name="prototypes", params={"base_examples": 1})])
    assert [m.base_examples for m in other] == [2000, 1]  # another base mean: a comparison, kept


def test_base_examples_sets_the_base_mean_of_the_cached_features_methods():
    """`{prototypes: {base_examples: 1}}` gave the numbers of the default 2,000 in `fewshot` (a review): the
    cache held one base mean, of 2,000 source examples, for every method; `run` honoured the option."""
    from transferkit.fewshot.evaluate import evaluate_episodes
    from transferkit.methods.prototypes import source_feature_mean

    torch.manual_seed(0)
    model = TransferModel.build("mlp", (6,), ["a", "b"], hidden=8, feature_dim=4)
    x, y, source_x = torch.randn(60, 6), np.repeat(np.arange(4), 15), torch.randn(3000, 6) + 2.0
    methods = resolve_methods([MethodSpec(name="prototypes", params={"center": "support"}),
                               MethodSpec(name="transductive", params={"base_examples": 3}), MethodSpec(name="bd_cspn")])
    assert [m.base_examples for m in methods] == [None, 3, 2000]  # (bd_cspn: the same computation but for the mean)
    cache = cache_features(model, x, y, source_x, base_examples=[2000, 3])
    for n in (2000, 3):
        np.testing.assert_allclose(cache.base_means[n], source_feature_mean(model, source_x, n, 0))
    assert not np.allclose(cache.base_means[3], cache.base_means[2000])
    episodes = sample_episodes(y, 4, 1, 5, 40, seed=0)
    got = evaluate_on_features(methods[1], cache, episodes).accuracies
    wanted = evaluate_episodes(cache.features, cache.labels, episodes, methods[1].fewshot,
                               {**methods[1].context, "base_mean": cache.base_means[3]}).accuracies  # fmt: skip
    np.testing.assert_array_equal(got, wanted)
    default = evaluate_episodes(cache.features, cache.labels, episodes, methods[1].fewshot,
                                {**methods[1].context, "base_mean": cache.base_means[2000]}).accuracies  # fmt: skip
    assert not np.array_equal(got, default)


def test_a_fewshot_run_centres_each_method_on_its_own_base_mean(npz_pair, tmp_path, monkeypatch):
    """The run asks the cache for every size its methods give (each method reads its own: the test above)."""
    asked, cache_of = [], fewshot_experiment.cache_features

    def spy(*args, **kwargs):
        asked.append(list(kwargs["base_examples"]))
        return cache_of(*args, **kwargs)

    monkeypatch.setattr(fewshot_experiment, "cache_features", spy)
    methods = ["bd_cspn", {"transductive": {"base_examples": 5}}, {"prototypes": {"center": "support"}}]
    summary = run_fewshot({**tiny(*npz_pair, k_shot=[1], methods=methods), "seeds": 1}, out=tmp_path / "r",
                          progress=False)  # fmt: skip
    assert asked == [[2000, 5]] and len(summary["results"]) == 3  # (one cache: its features computed once)


def test_few_shot_options_of_the_wrong_type_are_named():
    """A list for top_z hashed badly (TypeError) or broke a broadcast deep inside bd_cspn."""
    for params, said in (({"top_z": [1, 2]}, "option top_z must be a whole number or null, got [1, 2]"),
                         ({"scale": "x"}, "option scale must be a number, got 'x'"),
                         ({"top_z": True}, "option top_z must be a whole number or null, got True")):  # fmt: skip
        with pytest.raises(TransferkitError, match=re.escape(f"few-shot method 'bd_cspn': {said}")):
            resolve_methods([MethodSpec(name="bd_cspn", params=params)])
    assert len(resolve_methods([MethodSpec(name="bd_cspn", params={"top_z": None, "scale": 5})])) == 1


def test_a_clipped_accuracy_interval_is_shown_as_its_bounds():
    from transferkit.fewshot.report import _cell

    row = {"accuracy_mean": 0.535, "ci95_half_width": 1.207, "accuracy_ci95": [0.0, 1.0], "episodes": 2}
    assert _cell(row) == "53.5 [0.0, 100.0] (2 episodes)"
    row = {"accuracy_mean": 0.5, "ci95_half_width": 0.05, "accuracy_ci95": [0.45, 0.55], "episodes": 600}
    assert _cell(row) == "50.0 ± 5.0 (600 episodes)"
    row = {"accuracy_mean": 1.0, "ci95_half_width": 0.0, "accuracy_ci95": [1.0, 1.0], "episodes": 600}
    assert _cell(row) == "100.0 ± 0.0 (600 episodes)"  # touches 100 without being clipped


def test_trained_methods_count_each_class_in_its_original_id():
    """A network trained per episode: its query predictions are counted under the original
    class ids, whatever number the episode gave each class."""
    from types import SimpleNamespace

    from transferkit.fewshot.pipeline import EpisodeSetting, evaluate_trained

    class Oracle(torch.nn.Module):  # right for every class but id 2, which it calls the next class
        def __init__(self, local: dict[int, int], n_way: int) -> None:
            super().__init__()
            self.local, self.n_way, self.config = local, n_way, {}

        def forward(self, x):
            out = torch.zeros(len(x), self.n_way)
            for i, c in enumerate(x[:, 0].long().tolist()):
                out[i, (self.local[c] + (c == 2)) % self.n_way] = 1.0
            return out

    def fit(task):
        ids = [int(name) for name in task.classes]
        return Oracle({c: j for j, c in enumerate(ids)}, len(ids))

    y = np.repeat(np.arange(5), 8)
    setting = EpisodeSetting(torch.tensor(y, dtype=torch.float32)[:, None], [str(c) for c in range(5)], None)
    episodes = sample_episodes(y, 3, 1, 4, n_episodes=30, seed=0)
    res = evaluate_trained(SimpleNamespace(label="oracle", method=SimpleNamespace(fit=fit)), setting, episodes)
    drawn = np.array([sum(c in ep.classes for ep in episodes) for c in range(5)])
    assert res.class_total.tolist() == (4 * drawn).tolist()
    assert res.class_correct.tolist() == [4 * d if c != 2 else 0 for c, d in enumerate(drawn)]


def test_a_methods_notes_are_said_once_for_all_episodes():
    """head's l2 note came once per episode, named by internal seeds ('seed 100003')."""
    from types import SimpleNamespace

    from transferkit.errors import TransferkitWarning
    from transferkit.fewshot.pipeline import EpisodeSetting, evaluate_trained

    class Uniform(torch.nn.Module):
        def __init__(self, n_way: int) -> None:
            super().__init__()
            self.n_way, self.config = n_way, {}

        def forward(self, x):
            return torch.ones(len(x), self.n_way)

    def fit(task):
        if task.seed % 2:  # every other episode
            warnings.warn(f"head (seed {task.seed}, 3 labelled examples): its probabilities say little.",
                          TransferkitWarning, stacklevel=2)  # fmt: skip
        warnings.warn("a library's own note", UserWarning, stacklevel=2)  # each episode: said once, as before
        return Uniform(len(task.classes))

    y = np.repeat(np.arange(5), 8)
    setting = EpisodeSetting(torch.tensor(y, dtype=torch.float32)[:, None], [str(c) for c in range(5)], None, seed=1)
    episodes = sample_episodes(y, 3, 1, 4, n_episodes=6, seed=0)
    with pytest.warns(UserWarning) as said:
        evaluate_trained(SimpleNamespace(label="head", method=SimpleNamespace(fit=fit)), setting, episodes)
    assert [str(w.message) for w in said if not issubclass(w.category, TransferkitWarning)] == ["a library's own note"]
    assert [str(w.message) for w in said if issubclass(w.category, TransferkitWarning)] == ["head, K = 1, 3 of 6 episodes (the first: episode 0 of source seed 1): head (3 "
                                              "labelled examples): its probabilities say little."]  # fmt: skip


def test_a_few_episodes_that_score_alike_get_an_interval():
    """Two episodes of 49/50 each: not an exact 98 %, the spread of one query at least."""
    from transferkit.fewshot.evaluate import confidence_interval

    mean, half = confidence_interval(np.array([0.98, 0.98]), std_floor=1 / 50)
    assert mean == pytest.approx(0.98) and half == pytest.approx(12.706 * 0.02 / np.sqrt(2), rel=1e-3)
    assert confidence_interval(np.array([0.98, 0.98]))[1] == 0.0  # without the floor: what the report used to show


def test_the_accuracy_plot_marks_only_the_k_that_ran(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    from transferkit.fewshot.report import plot_accuracy_vs_k

    seen = []
    real = Axes.set_xticks
    monkeypatch.setattr(Axes, "set_xticks", lambda self, ticks, *a, **k: seen.append(list(ticks)) or real(self, ticks, *a, **k))
    rows = [{"method": "p", "shots": k, "accuracy_mean": 0.5, "accuracy_ci95": [0.4, 0.6]} for k in (1, 5)]
    plot_accuracy_vs_k({"results": rows, "protocol": {"k_shot": [5, 1], "n_way": 5}}, tmp_path / "k.png")
    assert seen == [[1, 5]] and (tmp_path / "k.png").stat().st_size > 0


def test_the_accuracy_plot_shows_intervals_at_a_single_k_and_the_chance_level(tmp_path, monkeypatch):
    import transferkit.fewshot.report as fewshot_report

    figures = []
    monkeypatch.setattr(fewshot_report, "save_figure", lambda fig, path, dpi=100: figures.append(fig))
    row = {"method": "prototypes", "shots": 1, "accuracy_mean": 0.55, "accuracy_ci95": [0.52, 0.58]}
    fewshot_report.plot_accuracy_vs_k({"results": [row], "protocol": {"n_way": 5, "k_shot": [1]}}, tmp_path / "p.png")
    ax = figures[0].axes[0]
    (bars,) = ax.containers  # a band of one K has no width: the interval is an error bar
    assert np.allclose(bars.lines[2][0].get_segments()[0][:, 1], [52.0, 58.0])
    assert ax.get_ylim()[0] <= 20 - 5 and any(line.get_label() == "chance (20 %)" for line in ax.lines)


def test_auto_runs_once_per_source_seed_not_once_as_scratch_does():
    """auto uses the source when there is one: it ran on the first seed only, reported as '(no source)'."""
    from transferkit.fewshot.config import MethodSpec
    from transferkit.fewshot.pipeline import resolve_methods

    by = {m.label: m for m in resolve_methods([MethodSpec(name=n) for n in ("auto", "scratch", "head")])}
    assert by["auto"].uses_source and by["head"].uses_source and not by["scratch"].uses_source


def test_the_report_says_what_auto_chose_in_each_episode(npz_pair, tmp_path):
    """auto picks a method per episode fit; its row alone would hide which."""
    import transferkit as tk

    cfg = tiny(*npz_pair, k_shot=[3], methods=[{"auto": {"max_steps": 5}}, {"scratch": {"steps": 5}}])
    summary = tk.run_fewshot(cfg, out=tmp_path / "run")
    (row,) = [r for r in summary["results"] if r["method"] == "auto"]
    assert sum(row["choices"].values()) == 2 * 2  # 2 episodes x 2 source seeds
    assert all(r.get("choices") is None for r in summary["results"] if r["method"] != "auto")
    report = (tmp_path / "run" / "report.md").read_text()
    assert "What `auto` chose (docs/auto.md):" in report and "`auto`, K = 3: chose `" in report


def test_the_few_shot_source_trains_with_rotation_and_scaling_by_default_and_the_report_says_so():
    """`source.augment: affine` is the few-shot default (+3 to +3.5 points at 1-shot on both
    benchmarks); `transferkit run` keeps shifts. What was done is said: nothing moves on vectors
    or images under 14 px, whatever was asked."""
    from types import SimpleNamespace

    from transferkit.config import SourceConfig
    from transferkit.data.preprocess import Recipe
    from transferkit.fewshot.config import FewShotSource
    from transferkit.fewshot.report import _augment_words, source_augment

    assert FewShotSource(data="mnist5k").augment == "affine" and SourceConfig(data="mnist5k").augment is True
    images = SimpleNamespace(source_recipe=Recipe((0.0, 1.0), (1, 28, 28)))
    assert source_augment("affine", images) == "affine" and source_augment(True, images) == "shift"
    assert source_augment(False, images) == "none"
    assert source_augment("affine", SimpleNamespace(source_recipe=Recipe((0.0, 1.0), (1, 8, 8)))) == "none"
    assert source_augment("affine", SimpleNamespace(source_recipe=Recipe((0.0, 1.0), (16,)))) == "none"
    series = SimpleNamespace(source_recipe=Recipe((0.0, 1.0), (1, 16, 25)))  # 16 sensors: a picture to `auto`
    assert source_augment("affine", series, "cnn1d") == "none" and source_augment("affine", series) == "affine"
    from transferkit.data.text import TextRecipe

    assert source_augment("affine", SimpleNamespace(source_recipe=TextRecipe("hf:x", 16))) == "none"  # texts: no crash
    assert _augment_words("affine") == "; trained with random shifts, rotations and scaling (`source.augment`)"


def test_a_weak_source_is_a_warning_the_api_and_quiet_cli_see(npz_pair, tmp_path, monkeypatch, capsys):
    """It was a progress line only: progress=False and --quiet hid it (the report had it)."""
    src, tgt = npz_pair
    monkeypatch.setattr(fewshot_experiment, "check_source", lambda *a: "source validation accuracy 10.0 % is weak")
    cfg = {**tiny(src, tgt, k_shot=[1], methods=["prototypes"]), "seeds": 1}
    with pytest.warns(TransferkitWarning, match="source validation accuracy 10.0 % is weak"):
        summary = run_fewshot(cfg, out=tmp_path / "run", progress=False)
    assert summary["source"]["models"]["0"]["warning"] == "source validation accuracy 10.0 % is weak"
    import yaml

    (tmp_path / "fs.yaml").write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["fewshot", str(tmp_path / "fs.yaml"), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    assert "transferkit: warning: source validation accuracy 10.0 % is weak" in capsys.readouterr().err


def test_the_report_says_how_inputs_were_prepared_and_what_the_gain_compares(npz_pair, tmp_path):
    """A user saw "prototypes 55.1 (200 episodes; +19.7 vs scratch over 5 episodes)" beside scratch 43.5 and
    no word of the target's images being resized, or of the per-class table mixing episode counts."""
    src, tgt = npz_pair
    d = np.load(tgt)
    np.savez(tmp_path / "big.npz", x=np.kron(d["x"], np.ones((2, 2), np.float32)), y=d["y"], classes=d["classes"])
    cfg = {**tiny(src, tmp_path / "big.npz", k_shot=[1], methods=["prototypes", {"scratch": {"steps": 5}}]), "seeds": 1}
    summary = run_fewshot(cfg, out=tmp_path / "run", progress=False)
    assert summary["target"]["input_shape"][1:] == [24, 24] and list(summary["target"]["recipe"]["shape"][1:]) == [12, 12]
    report = (tmp_path / "run" / "report.md").read_text()
    novel = next(line for line in report.splitlines() if line.startswith("- **Novel classes**"))
    assert re.search(r"; inputs: values 0\.\.[\d.]+ scaled to 0\.\.1; images resized from 24x24 to 12x12 \(1 channel\)$", novel)
    assert re.search(r"\n  - inputs: values .*; images kept at their 12x12 \(1 channel\)\n", report)  # the source's
    rows = {r["method"]: r for r in summary["results"]}
    proto, scratch = rows["prototypes"], rows["scratch"]
    on_those = 100 * (scratch["accuracy_mean"] + proto["gain_vs_scratch"])
    assert f"vs scratch over 2 episodes: {on_those:.1f} vs {100 * scratch['accuracy_mean']:.1f} on those" in report
    assert "; scratch over the first 2 episodes only, so its column is noisier):" in report


def test_one_episode_is_said_in_the_singular():
    from transferkit.fewshot.report import _cell

    row = {"ci95_half_width": None, "accuracy_mean": 0.5, "episodes": 1, "gain_vs_scratch": 0.1, "gain_episodes": 1,
           "gain_ci95": None, "negative_transfer": False}  # fmt: skip
    assert _cell(row) == "50.0 (1 episode; +10.0 vs scratch over 1 episode)"  # was "1 episodes"


def test_blocks_beyond_the_shared_layers_are_refused_before_the_source_trains(npz_pair, tmp_path, monkeypatch):
    src, tgt = npz_pair
    trained = []
    monkeypatch.setattr(fewshot_experiment, "train_source", lambda *a, **k: trained.append(1) / 0)
    with pytest.raises(TransferkitError, match=r"blocks=7 is outside 1\.\.\d"):
        run_fewshot({**tiny(src, tgt, blocks=7), "seeds": 1}, out=tmp_path / "run", progress=False)
    assert not trained and not (tmp_path / "run").exists()  # it trained a source first, then failed


def test_a_run_without_a_fewshot_section_says_it_uses_the_defaults(monkeypatch):
    """They train scratch and finetune on 50 episodes per K: minutes, with no word of why."""
    from transferkit.fewshot.experiment import evaluate_fewshot

    monkeypatch.setattr(fewshot_experiment, "prepare", lambda *a, **k: 1 / 0)  # stop right after the note
    said = []
    cfg = load_fewshot_config(None, raw={"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}})
    with pytest.raises(ZeroDivisionError):
        evaluate_fewshot(cfg, said.append)
    assert said and said[0].startswith("no `fewshot:` section, so the defaults: 5-way, K = [1, 5], 600 episodes")
    said.clear()
    with pytest.raises(ZeroDivisionError):
        evaluate_fewshot(load_fewshot_config(None, raw={**cfg.model_dump(mode="json"), "fewshot": {"n_way": 5}}),
                         said.append)  # fmt: skip
    assert not said


def test_autos_scratch_choice_is_said_to_train_per_source_seed():
    """auto chose scratch in 8 of 8 fits yet scored 90.7 against the scratch row's 91.3: its
    fits on source seed 1 start from that seed's episode seeds."""
    from transferkit.fewshot.report import choice_lines

    summary = {"seeds": [0, 1], "results": [{"method": "auto", "shots": 5, "choices": {"scratch": 8}}]}
    assert any("the `scratch` row trains once (the first source seed's)" in line for line in choice_lines(summary))
    summary["seeds"] = [0]  # one source seed: the same runs
    assert not any("trains once" in line for line in choice_lines(summary))
    summary["seeds"], summary["results"][0]["choices"] = [0, 1], {"finetune": 8}
    assert not any("trains once" in line for line in choice_lines(summary))


def test_tied_source_seeds_are_not_an_exact_interval_and_are_said_to_tie():
    from transferkit.fewshot.report import seed_interval

    low, high = seed_interval([0.523, 0.523], 1 / (5 * 15 * 200))  # 200 episodes of 5 x 15 queries
    assert low < 0.523 < high  # t(1) = 12.7 times the one-query floor: not a point
    from transferkit.fewshot.report import seed_lines

    row = {"method": "auto", "shots": 1, "seed_means": {"0": 0.523, "1": 0.523}, "seed_ci95": [low, high]}
    assert "(the 2 seeds tie to the query, so their spread is not measured: run more seeds)" in seed_lines([row])[2]
    row["seed_means"]["1"] = 0.530
    assert "tie" not in seed_lines([row])[2]
    assert seed_interval([0.5], 0.01) is None
    spread = seed_interval([0.50, 0.60], 1e-6)
    assert spread[0] == 0.0 and spread[1] == 1.0  # 2 seeds 10 points apart: t(1) spans everything, clipped


def test_the_copies_note_says_texts_match_up_to_case_and_names_label_conflicts(npz_pair, tmp_path):
    """A new user's TREC questions: 'highest' and 'HIGHEST' were called exact copies, and a
    question under two fine labels was not told apart from a plain repeat."""
    from transferkit.fewshot.experiment import copies_note

    src, tgt = npz_pair
    d = np.load(tgt)
    other = (d["y"][:5] + 1) % len(d["classes"])  # five inputs again, under another class
    np.savez(tmp_path / "conflict.npz", x=np.concatenate([d["x"], d["x"][:5]]), y=np.concatenate([d["y"], other]),
             classes=d["classes"])  # fmt: skip
    with pytest.warns(TransferkitWarning, match="5 repeated inputs are labelled with more than one class"):
        summary = run_fewshot({**tiny(src, tmp_path / "conflict.npz", k_shot=[1], methods=["prototypes"]), "seeds": 1},
                              out=tmp_path / "run", progress=False)  # fmt: skip
    # the wall time includes writing the folder, as for `run`
    assert summary["wall_time_s"] == pytest.approx(summary["evaluation_seconds"] + summary["report_seconds"])
    assert f"({summary['report_seconds']:.1f} s of it writing the run folder: plots)" in (tmp_path / "run" / "report.md").read_text()

    assert "are exact copies of another one; no episode" in copies_note(1, 10)
    note = copies_note(2, 10, texts=True, mixed=1)
    assert note.startswith("2 of the 10 novel-class examples are copies of another one once tokenised (up to case and "
                           "spacing); 1 repeated input is labelled with more than one class")  # fmt: skip


def test_a_small_pool_of_novel_images_is_said_to_narrow_the_intervals():
    from transferkit.fewshot.experiment import small_pool_note

    note = small_pool_note(np.array([20, 25, 30]), 5, 15, 200)
    assert note.startswith("the novel classes have as few as 20 examples each, and an episode draws 20 from a class")
    assert small_pool_note(np.array([40, 50]), 5, 15, 600) is None  # twice K + Q: enough
    assert note.endswith("read the spread across source seeds too, and add images if you can.")
    one = small_pool_note(np.array([20, 25, 30]), 5, 15, 200, seeds=1)  # no spread across seeds to read (a trial)
    assert "read the spread across source seeds" not in one and "several source seeds would also show" in one
    none = small_pool_note(np.array([20, 25, 30]), 5, 15, 200, seeds=0)  # pretrained as it is: no source training
    assert none.endswith("than what a new set of images would show; add images if you can.")


def test_the_small_pool_and_copies_notes_call_series_series(tmp_path):
    """A series user's few-shot warnings said 'reuse the same images' and 'novel-class images'."""
    from transferkit.data import Domain
    from transferkit.fewshot.experiment import _check_copies

    rng = np.random.default_rng(0)
    ys, yt = np.repeat(np.arange(4), 20), np.repeat(np.arange(3), 12)
    np.savez(tmp_path / "s.npz", x=(rng.normal(size=(80, 3, 40)) + ys[:, None, None]).astype(np.float32), y=ys)
    xt = (rng.normal(size=(36, 3, 40)) + yt[:, None, None]).astype(np.float32)
    np.savez(tmp_path / "t.npz", x=xt, y=yt, classes=np.array(["p", "q", "r"]))
    cfg = {"name": "series", "source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz")},
           "seeds": 1, "fewshot": {"n_way": 3, "k_shot": [1], "n_query": 10, "episodes": 5, "methods": ["prototypes"]}}  # fmt: skip
    with pytest.warns(TransferkitWarning, match="the 5 episodes reuse the same series, so their intervals cover the "
                                                "choice of episodes, not the few series behind them") as said:  # fmt: skip
        run_fewshot(cfg, out=tmp_path / "r", progress=False)
    assert not any("images" in str(w.message) for w in said if "reuse the same" in str(w.message))
    copied = np.concatenate([xt[:12], rng.normal(size=(12, 3, 40)).astype(np.float32)])  # class p's series, then others
    src = Domain("s", copied[:, None], np.repeat([0, 1], 12), ["a", "b"])
    with pytest.raises(TransferkitError, match=r"12 of the 36 novel-class series are also in the source 's'") as e:
        _check_copies(src, Domain("t", xt[:, None], yt, ["p", "q", "r"]))
    assert "draw the novel classes from series that the source never contained" in e.value.fix


def test_a_fewshot_name_is_a_folder_name_and_its_seeds_numbers():
    from transferkit.fewshot.config import load_fewshot_config

    base = {"source": {"data": "x"}, "target": {"data": "y"}}
    with pytest.raises(TransferkitError, match="the name must be a plain folder name"):  # wrote outside runs/
        load_fewshot_config(None, raw={**base, "name": "../../escape"})
    with pytest.raises(TransferkitError, match="seeds must be whole numbers from 0"):  # numpy's traceback before
        load_fewshot_config(None, raw={**base, "seeds": [-1]})


def test_cross_domain_episodes_do_not_depend_on_the_sources_class_order():
    """A target renumbered into a source naming the same classes in another order drew other
    episodes for each source order (a review of the test split's fix)."""
    from transferkit.data.domain import Domain
    from transferkit.evaluate.prepare import match_source
    from transferkit.fewshot.experiment import own_order_episodes

    rng = np.random.default_rng(0)
    names = ["e", "d", "c", "b", "a"]
    y = np.repeat(np.arange(5), 8)
    tgt = Domain("t", rng.normal(size=(40, 3)).astype(np.float32), y, names, (-4.0, 4.0))
    drawn = []
    for order in (names, ["a", "b", "c", "d", "e"], ["b", "a", "e", "d", "c"]):
        src = Domain("s", np.zeros((5, 3), np.float32), np.arange(5), order, (0.0, 1.0))
        matched = match_source(src, tgt)
        eps = own_order_episodes(matched, 3, 1, 2, 4, 0, None)
        for ep in eps:  # the classes in the matched numbering, the rows theirs
            assert np.array_equal(matched.y[np.concatenate([ep.support_idx, ep.query_idx])],
                                  ep.classes[np.concatenate([ep.support_y, ep.query_y])])  # fmt: skip
        drawn.append([(ep.support_idx.tolist(), ep.query_idx.tolist(), [matched.classes[c] for c in ep.classes])
                      for ep in eps])  # fmt: skip
    assert drawn[0] == drawn[1] == drawn[2]


def test_the_few_shot_evaluation_keeps_its_reproducible_kernels():
    """A helper inserted above evaluate_fewshot took its @reproducible decorator (a review)."""
    from transferkit.fewshot.experiment import evaluate_fewshot, own_order_episodes

    assert hasattr(evaluate_fewshot, "__wrapped__") and not hasattr(own_order_episodes, "__wrapped__")


def test_slow_trained_episodes_are_announced_after_the_first():
    """A trial's scratch on a pretrained 224x224 source took 38 s an episode; 50 episodes ran on
    for half an hour with no word of how long (killed, nothing kept)."""
    from transferkit.fewshot.experiment import _ticker

    said: list[str] = []
    tick = _ticker(said.append, "scratch 5-shot", 50, slow=0.0)
    tick(1)
    assert said and said[0].startswith("scratch 5-shot: the first episode trained in ") and "its 50 episodes take " \
        "about" in said[0] and "fewshot.train_episodes lower" in said[0]  # fmt: skip
    quick: list[str] = []
    tick = _ticker(quick.append, "scratch 5-shot", 50)  # seconds an episode: not said
    tick(1)
    assert quick == []


def test_classes_cut_short_by_max_per_class_name_the_cap(npz_pair, tmp_path):
    """"class 'Q' has 10" of a file holding 114 a class: the cap was what to raise (a trial)."""
    src, tgt = npz_pair
    cfg = tiny(src, tgt, k_shot=[1, 3], n_query=5, methods=["prototypes"])
    with pytest.raises(TransferkitError, match=r"class 'w' has 6.* \(target.max_per_class=6 keeps at most that many "
                                               r"per class\)\. Fix: raise target.max_per_class to at least 8"):  # fmt: skip
        run_fewshot({**cfg, "target": {**cfg["target"], "max_per_class": 6}}, out=tmp_path / "capped")
    with pytest.raises(TransferkitError, match=r"class 'w' has 25") as e:  # no cap: the classes are short
        run_fewshot({**cfg, "fewshot": {**cfg["fewshot"], "n_query": 30}}, out=tmp_path / "short")
    assert "max_per_class" not in str(e.value)
    assert not (tmp_path / "capped").exists() and not (tmp_path / "short").exists()
    data = np.load(tgt)  # class 'w' holds 5 in the file itself: raising the cap alone leaves it short (a review)
    keep = np.concatenate([np.where(data["y"] == 0)[0][:5], np.where(data["y"] != 0)[0]])
    np.savez(tmp_path / "w5.npz", x=data["x"][keep], y=data["y"][keep], classes=data["classes"])
    with pytest.raises(TransferkitError, match=r"Fix: raise target.max_per_class to at least 8 \(or leave it out\)\. "
                                               r"Classes with fewer than 8 in the file itself stay short: for them, give"):  # fmt: skip
        run_fewshot({**cfg, "target": {"data": str(tmp_path / "w5.npz"), "max_per_class": 6}}, out=tmp_path / "w5")
    with pytest.raises(TransferkitError) as e:  # a cap above the need cut no short class: the cap is not blamed
        run_fewshot({**cfg, "target": {"data": str(tmp_path / "w5.npz"), "max_per_class": 7},
                     "fewshot": {**cfg["fewshot"], "k_shot": [1]}}, out=tmp_path / "w5")  # fmt: skip
    assert "class 'w' has 5" in str(e.value) and "max_per_class" not in str(e.value)


def test_scratch_alone_trains_no_source_and_scores_as_beside_source_methods(npz_pair, tmp_path, monkeypatch):
    """Known until session 29: a scratch-only few-shot run trained a source model per seed, used for nothing but
    the input normalisation scratch takes from it."""
    src, tgt = npz_pair
    both = run_fewshot({**tiny(src, tgt, methods=["prototypes", {"scratch": {"steps": 5}}]), "seeds": 1},
                       out=tmp_path / "both", progress=False)  # fmt: skip

    from transferkit.evaluate.prepare import prepare
    from transferkit.evaluate.protocol import train_source

    cfg = load_fewshot_config(None, raw={**tiny(src, tgt), "seeds": 1})
    exp = cfg.experiment()
    data = prepare(exp, test_split=False)
    trained = train_source(exp, data, 0, torch.device("cpu")).model
    only = fewshot_experiment.normalisation_only(exp, data, 0, torch.device("cpu"))
    assert torch.equal(only.input_mean, trained.input_mean) and torch.equal(only.input_std, trained.input_std)

    def refuse(*_a, **_k):
        raise AssertionError("the source was trained")

    monkeypatch.setattr(fewshot_experiment, "train_source", refuse)
    alone = run_fewshot({**tiny(src, tgt, methods=[{"scratch": {"steps": 5}}]), "seeds": 2}, out=tmp_path / "alone",
                        progress=False)  # fmt: skip
    scratch = {r["shots"]: r["accuracy_mean"] for r in both["results"] if r["method"] == "scratch"}
    assert {r["shots"]: r["accuracy_mean"] for r in alone["results"]} == scratch
    assert alone["seeds"] == [0] and any("no source model was trained" in n for n in alone["notes"])
    assert "not trained (no listed method uses it" in (tmp_path / "alone" / "report.md").read_text()


def test_config_yaml_says_when_the_augmentation_asked_for_moved_nothing():
    """A trial's cnn1d run wrote `augment: affine` in config.yaml beside a report of no augmentation."""
    import yaml

    from transferkit.fewshot.report import config_text

    cfg = load_fewshot_config(None, raw={"source": {"data": "s.npz", "augment": "affine"}, "target": {"data": "t.npz"}})
    text = config_text(cfg, {"source": {"augment": "none"}})
    assert "  augment: affine  # as asked; nothing was moved (vectors, small images, series read by the cnn1d)" in text
    assert yaml.safe_load(text)["source"]["augment"] == "affine"  # runs again as it was asked
    assert "# as asked" not in config_text(cfg, {"source": {"augment": "affine"}})
    plain = load_fewshot_config(None, raw={"source": {"data": "s.npz", "augment": True}, "target": {"data": "t.npz"}})
    assert "  augment: true  # as asked; nothing was moved" in config_text(plain, {"source": {"augment": "none"}})


def test_the_example_episode_draws_at_most_ten_classes(tmp_path):
    """A trial's 50-way episode drew one row per class: a 580 x 7,250 px picture."""
    from types import SimpleNamespace

    from PIL import Image

    from transferkit.fewshot.report import EXAMPLE_ROWS, plot_example

    n_way, k, q = 30, 1, 3
    x = torch.rand(n_way * (k + q), 1, 8, 8)
    classes = list(range(n_way))
    ex = {"classes": classes, "k": k, "method": "prototypes", "support_idx": list(range(n_way)),
          "query_idx": list(range(n_way, n_way * (k + q))), "pred": [c for c in classes for _ in range(q)]}  # fmt: skip
    run = SimpleNamespace(example=ex, data=SimpleNamespace(xt=x, target=SimpleNamespace(classes=[f"c{i}" for i in classes])))
    plot_example(run, tmp_path / "many.png")
    run.example = {**ex, "classes": classes[:EXAMPLE_ROWS], "support_idx": list(range(EXAMPLE_ROWS)),
                   "query_idx": list(range(n_way, n_way + EXAMPLE_ROWS * q)), "pred": [c for c in range(EXAMPLE_ROWS)
                                                                                      for _ in range(q)]}  # fmt: skip
    plot_example(run, tmp_path / "ten.png")
    assert abs(Image.open(tmp_path / "many.png").size[1] - Image.open(tmp_path / "ten.png").size[1]) < 40


def test_many_gain_intervals_with_a_flag_are_qualified_in_the_fewshot_report():
    """The run's report says that 1 in 40 intervals lies below 0 by chance; the few-shot report,
    with as many gains per K and method, did not."""
    from transferkit.fewshot.report import many_gains_line

    rows = [{"method": m, "shots": k, "gain_ci95": [-0.02, 0.03], "negative_transfer": False}
            for m in ("prototypes", "transductive", "soft_kmeans", "finetune") for k in (1, 5, 10)]  # fmt: skip
    assert many_gains_line({"results": rows}) is None  # 12 intervals, none flagged
    rows[0].update(gain_ci95=[-0.05, -0.01], negative_transfer=True)
    assert many_gains_line({"results": rows}).startswith("Each of the 12 gain intervals is a 95 % interval")
    assert many_gains_line({"results": rows[:9]}) is None  # 9 intervals: few
    rows.append({"method": "scratch", "shots": 1, "gain_ci95": None, "negative_transfer": None})
    assert "Each of the 12 gain" in many_gains_line({"results": rows})  # scratch has none of its own


def test_a_sample_taken_by_max_per_class_is_said_in_the_fewshot_report_and_console(npz_pair, tmp_path, capsys):
    """The run's report says when max_per_class sampled a domain; the few-shot one did not."""
    import yaml

    from transferkit.cli import main

    src, tgt = npz_pair  # 4 novel classes of 25, 3 source classes of 30
    cfg = tiny(src, tgt, k_shot=[1], n_query=5, methods=["prototypes"])
    cfg["target"]["max_per_class"], cfg["source"]["max_per_class"] = 10, 20
    (tmp_path / "fs.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["fewshot", str(tmp_path / "fs.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["target"]["sampled"] == {"kept": 40, "of": 100, "max_per_class": 10}
    assert summary["source"]["sampled"] == {"kept": 60, "of": 90, "max_per_class": 20}
    said = ("target.max_per_class=10 kept 40 of its 100 examples (at most 10 per class, drawn at random): the "
            "episodes draw their support and query examples from that sample")  # fmt: skip
    report, out = (tmp_path / "run" / "report.md").read_text(), capsys.readouterr().out
    assert f"  - {said}" in report and f"note: {said}" in out
    assert "source.max_per_class=20 kept 60 of its 90 examples" in report and "note: source.max_per_class=20" in out
