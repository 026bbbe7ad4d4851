"""``transferkit rank``: candidates x cut points enumerated and scored, JSON written, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from transferkit.cli import main
from transferkit.models import TransferModel
from transferkit.ranking import SCORES
from transferkit.ranking.candidates import (
    Candidate,
    cut_features,
    parse_cuts,
    pooled,
    random_reference,
    score_candidates,
)

CLASSES = ["a", "b", "c"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch and BLAS thread: on a shared, busy machine extra threads spin-wait."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)


def tiny_model(classes=CLASSES, seed=0) -> TransferModel:
    torch.manual_seed(seed)
    return TransferModel.build("cnn", (1, 12, 12), classes, width=4, feature_dim=16)


def test_pooled_keeps_a_small_grid_and_leaves_vectors_alone():
    assert pooled(torch.zeros(2, 4, 12, 12)).shape == (2, 4 * 8 * 8)  # 4 * 16 * 16 > 512
    assert pooled(torch.zeros(2, 64, 7, 7)).shape == (2, 64 * 2 * 2)
    assert pooled(torch.zeros(2, 1024, 3, 3)).shape == (2, 1024)  # global average pooling
    assert pooled(torch.zeros(2, 16)).shape == (2, 16)
    # a series' feature maps (cnn1d): pooled along time too; a new user's ranking read 8,192 columns (10 min, 3.5 GB)
    assert pooled(torch.zeros(2, 64, 128)).shape == (2, 64 * 8) and pooled(torch.zeros(2, 32, 128)).shape == (2, 512)


def test_cut_features_every_cut_point():
    model = tiny_model()
    x = torch.rand(5, 1, 12, 12)
    dims = [cut_features(model, x, c).shape for c in range(model.num_blocks + 1)]
    assert all(d[0] == 5 for d in dims) and dims[-1][1] == 16
    assert torch.allclose(cut_features(model, x, model.num_blocks).float(), model.eval().features(x), atol=1e-6)
    with pytest.raises(ValueError, match="outside 0..3"):
        cut_features(model, x, 4)


def test_random_reference_has_fresh_weights_and_keeps_the_rng():
    model = tiny_model()
    state = torch.random.get_rng_state()
    ref = random_reference(model, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    w, w_ref = model.shared.blocks[0][0].weight, ref.shared.blocks[0][0].weight
    assert w.shape == w_ref.shape and not torch.allclose(w, w_ref)
    assert torch.equal(model.input_mean, ref.input_mean)


def test_every_candidate_and_cut_point_is_scored():
    from tests.conftest import make_images

    x, y = make_images(4, seed=1)
    x = torch.from_numpy(x / 255.0).float()
    cands = [Candidate("one", tiny_model()), Candidate("two", tiny_model(["p", "q"], seed=1)),
             Candidate("ref", random_reference(tiny_model()), reference=True)]  # fmt: skip
    rows = score_candidates(cands, x, torch.from_numpy(y), same_label_space=True)
    assert [(r["candidate"], r["cut"]) for r in rows] == [(c, k) for c in ("one", "two", "ref") for k in (1, 2, 3)]
    for r in rows:
        for name, info in SCORES.items():
            if info.needs_source_probs and r["cut"] < r["blocks"]:
                assert r[name] is None  # the source head sits on the last block only
            else:
                assert isinstance(r[name], float) and np.isfinite(r[name]), (name, r)
    assert 0.0 <= rows[2]["source_only"] <= 1.0 and "source_only" not in rows[-1]
    assert parse_cuts("1,3", 3) == [1, 3] and parse_cuts(None, 2) == [1, 2]
    assert parse_cuts("last", 3) == [3] and parse_cuts("last", 17) == [17]  # each candidate's own depth
    from transferkit.ranking.candidates import model_cuts

    cnn, text = TransferModel.build("cnn", (1, 12, 12), CLASSES), TransferModel.build("textcnn", (16,), CLASSES)
    assert model_cuts(cnn, "last", "c") == [cnn.num_blocks] and model_cuts(text, "last", "t") == [text.num_blocks]
    with pytest.raises(ValueError, match=r"cut points \[0\] are outside 1..3"):  # the input: the reference's job
        parse_cuts("0,2", 3)


def _npz(tmp_path):
    from tests.conftest import make_images

    xs, ys = make_images(30, seed=1)
    xt, yt = make_images(12, shift=30.0, seed=2)
    src, tgt = tmp_path / "source.npz", tmp_path / "target.npz"
    np.savez(src, x=xs[:, 0], y=ys, classes=np.array(CLASSES))
    np.savez(tgt, x=xt[:, 0], y=yt, classes=np.array(CLASSES))
    return src, tgt


def test_rank_cli_sources_models_and_json(tmp_path, capsys):
    src, tgt = _npz(tmp_path)
    saved = tmp_path / "saved"
    tiny_model().save(saved, {"recipe": {"value_range": [0, 255], "shape": [1, 12, 12], "pad": 0}})
    out = tmp_path / "rank.json"
    args = ["rank", str(tgt), "--shots", "3", "--source", str(src), "--model", f"{saved}.safetensors",
            "--source-epochs", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    said = capsys.readouterr()
    printed = said.out
    assert "random-init (reference)" in printed and "logme" in printed and f"wrote {out}" in printed
    # progress on stderr (rank printed nothing for minutes while it trained and scored)
    progress = [line for line in said.err.splitlines() if line.startswith("[transferkit] ")]
    assert progress[0] == f"[transferkit] source {src}: training its model (or reading it from the cache)"
    assert progress[1].startswith(f"[transferkit] source {src}: ready (")
    assert [p.split(" (")[0] for p in progress[2:]] == ["[transferkit] [1/3] scored source.npz",
                                                         "[transferkit] [2/3] scored saved",
                                                         "[transferkit] [3/3] scored random-init"]
    assert main([*args, "--quiet"]) == 0 and "[transferkit]" not in capsys.readouterr().err
    result = json.loads(out.read_text())
    rows = result["candidates"]
    assert len(rows) == 3 * 3  # (source, saved model, reference) x cut points 1..3
    assert {r["candidate"] for r in rows} == {"source.npz", "saved", "random-init"}
    assert result["labelled_examples"] == 9 and result["by"] == "logme"
    logme = [r["logme"] for r in rows]
    assert logme == sorted(logme, reverse=True) and [r["rank"] for r in rows] == list(range(1, 10))
    assert result["best"]["candidate"] != "random-init" and isinstance(result["best_beats_reference"], bool)
    ref = max(r["logme"] for r in rows if r["reference"])
    log_bf = result["best_log_bayes_factor_vs_reference"]
    if result["best_beats_reference"]:  # N C (LogME_best - LogME_ref), and a weak lead is said to be one
        assert log_bf == pytest.approx(9 * len(result["target_classes"]) * (result["best"]["logme"] - ref))
        assert (log_bf < 3) == any("log Bayes factor of only" in w for w in result["warnings"])
    else:
        assert log_bf is None


def test_rank_run_folder_candidate(tmp_path, capsys):
    _, tgt = _npz(tmp_path)
    run = tmp_path / "run"
    tiny_model().save(
        run / "models" / "finetune_k5_seed0", {"recipe": {"value_range": [0, 255], "shape": [1, 12, 12], "pad": 0}}
    )
    (run / "summary.json").write_text(json.dumps({
        "deploy": {"method": "finetune", "shots": 5, "seed": 0},
        "target": {"recipe": {"pad": 0}}, "source": {"models": {"0": {"key": "not-cached"}}},
    }))  # fmt: skip
    out = tmp_path / "r.json"
    assert (
        main(
            ["rank", str(tgt), "--model", str(run), "--shots", "2", "--cuts", "3", "--no-reference", "--out", str(out)]
        )
        == 0
    )
    rows = json.loads(out.read_text())["candidates"]
    assert [(r["candidate"], r["cut"]) for r in rows] == [("run:finetune_k5_seed0", 3)]


def test_a_run_folder_that_saved_no_models_is_refused_in_one_line(tmp_path, capsys):
    """A run with ``save_models: false`` has no deployed model to score: said in one line, exit 2
    (it had ended in a FileNotFoundError traceback, a user's trial with `--model RUN`)."""
    _, tgt = _npz(tmp_path)
    run = tmp_path / "run"
    (run / "models").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "deploy": {"method": "auto", "shots": 5, "seed": 0}, "models_saved": False,
        "target": {"recipe": {"pad": 0}}, "source": {"models": {"0": {"key": "not-cached"}}},
    }))  # fmt: skip
    out = tmp_path / "r.json"
    assert main(["rank", str(tgt), "--model", str(run), "--shots", "2", "--no-reference", "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[transferkit] ")]
    assert len(err) == 1 and "saved no models (save_models: false)" in err[0], err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "no-such-domain", "--source", "SRC"], "unknown domain 'no-such-domain'"),
        ([], "no candidates"),
        (["--model", "missing.safetensors"], "no saved model"),
        (["--source", "SRC", "--scores", "logme,lepe"], "Unknown transferability score 'lepe'"),
        (["--source", "SRC", "--by", "nope"], "Unknown transferability score 'nope'"),
        (["--source", "SRC", "--scores", "logme,source_only"], "source_only is not a transferability score: it is"),
        (["--source", "SRC", "--cuts", "7"], "cut points [7] are outside"),
        (["--source", "SRC", "--shots", "0"], "ranking needs labelled target examples"),
        (["--source", "SRC", "--shots", "50"], "fewer than shots=50, as do 2 more classes: 'b', 'c' (the protocol's test part, 30% of each class, is held out first). Fix: use --shots of at most 8 (the smallest class's examples outside the test part)"),
        (["--source", "SRC", "--pad", "wide"], "--pad 'wide' is not a number"),
        (["--source", "SRC", "--source", "VEC"], "vec.npz holds vectors of 30 features"),  # which of several does not fit
        (["--source", "SRC", "--cuts", "a,b"], "cut points 'a,b' are not whole numbers"),
        (["--source", "SRC", "--seed", "-1"], "seed=-1 must be a whole number >= 0"),
        (["--source", "SRC", "--target-max-per-class", "0"], "target_max_per_class=0 must be"),
    ],
)
def test_rank_bad_input_one_line_exit_2(tmp_path, capsys, extra, message):
    src, tgt = _npz(tmp_path)
    target = str(tgt)
    if extra[:1] == ["--target"]:
        target, extra = extra[1], extra[2:]
    np.savez(tmp_path / "vec.npz", x=np.random.default_rng(0).normal(size=(60, 30)), y=np.arange(60) % 3)
    extra = [str(src) if e == "SRC" else str(tmp_path / "vec.npz") if e == "VEC" else e for e in extra]
    out = tmp_path / "rank.json"
    assert main(["rank", target, "--shots", "2", "--source-epochs", "1", "--out", str(out), *extra]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    err = "\n".join(line for line in said if not line.startswith("[transferkit] "))  # progress lines before it
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()
    if "whole numbers" in message:  # a typo in --cuts is said before any source trains
        assert said == [err]


def test_the_ordering_score_is_computed_even_when_not_listed(tmp_path):
    src, tgt = _npz(tmp_path)
    out = tmp_path / "r.json"
    args = ["rank", str(tgt), "--shots", "2", "--source-epochs", "1", "--source", str(src), "--scores", "knn", "--by", "logme"]
    assert main([*args, "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["candidates"]
    assert all("logme" in r and "knn" in r for r in rows)


def test_a_source_trained_by_a_run_is_reused_by_rank(tmp_path):
    from tests.conftest import make_images
    from transferkit.config import load_config
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.paths import cache_dir
    from transferkit.ranking.rank import rank

    xs, ys = make_images(30, seed=1)
    xt, yt = make_images(12, shift=30.0, seed=2)
    np.savez(tmp_path / "s.npz", x=xs[:, 0], y=ys)
    np.savez(tmp_path / "t.npz", x=xt[:, 0, ::2, ::2], y=yt)  # 6 x 6: the source is matched to it
    run_protocol(load_config(None, raw={
        "source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz"), "shots": [2]},
        "methods": [{"head": {"steps": 3}}], "seeds": 1}))  # fmt: skip
    trained = sorted(p.name for p in (cache_dir() / "source_models").iterdir())
    rank(str(tmp_path / "t.npz"), 2, [str(tmp_path / "s.npz")], source_epochs=1, scores=["knn"], by="knn")
    assert sorted(p.name for p in (cache_dir() / "source_models").iterdir()) == trained  # a cache hit


def test_a_run_scored_on_its_own_training_examples_is_flagged(tmp_path, capsys):
    from transferkit.data import load_domain

    _, tgt = _npz(tmp_path)
    target = load_domain(str(tgt))
    run = tmp_path / "run"
    tiny_model().save(
        run / "models" / "finetune_k5_seed0", {"recipe": {"value_range": [0, 255], "shape": [1, 12, 12], "pad": 0}}
    )
    (run / "summary.json").write_text(json.dumps({
        "deploy": {"method": "finetune", "shots": 5, "seed": 0},
        "target": {"recipe": {"pad": 0}, "data": target.name, "examples": len(target.y), "split_seed": 0,
                   "test_fraction": 0.3},
        "source": {"models": {"0": {"key": "not-cached"}}},
    }))  # fmt: skip
    args = ["rank", str(tgt), "--model", str(run), "--shots", "2", "--cuts", "3", "--no-reference"]
    assert main([*args, "--seed", "0", "--out", str(tmp_path / "a.json")]) == 0
    import re

    out = capsys.readouterr().out
    assert "are among those the run's model was fine-tuned on" in out
    assert "\nwarning: run: " in out  # the form `run` prints its warnings in (was 'WARNING:')
    assert "rank with another --seed" not in out  # no promise a seed cannot keep: a model tuned on much overlaps any
    assert re.search(r"best source: run:finetune_k5_seed0 .*\(optimistic: [1-6] of the 6 examples scored are in the "
                     r"data its model came from\)", out)  # fmt: skip
    import re

    assert re.match(r"run: [1-6] of the 6 labelled", json.loads((tmp_path / "a.json").read_text())["warnings"][0])
    from transferkit.paths import cache_dir

    tiny_model(seed=1).save(cache_dir() / "source_models" / "src-key", {"source_val_accuracy": 0.5})
    summary = json.loads((run / "summary.json").read_text())
    summary["source"]["models"]["0"]["key"] = "src-key"  # the run's source is in the cache: ranked as run:source too
    (run / "summary.json").write_text(json.dumps(summary))
    assert main([*args, "--seed", "0", "--out", str(tmp_path / "b.json")]) == 0
    ranked = json.loads((tmp_path / "b.json").read_text())
    assert {c["candidate"] for c in ranked["candidates"]} >= {"run:source", "run:finetune_k5_seed0"}
    assert list(ranked["trained_on_scored"]) == ["run:finetune_k5_seed0"]  # the source never saw the target
    capsys.readouterr()
    other = tmp_path / "other.npz"  # another data set: nothing to warn about
    np.savez(other, x=np.load(tgt)["x"][::-1], y=np.load(tgt)["y"][::-1], classes=np.array(CLASSES))
    assert main(["rank", str(other), *args[2:], "--out", str(tmp_path / "b.json")]) == 0
    assert [w for w in json.loads((tmp_path / "b.json").read_text())["warnings"] if not w.startswith("hscore:")] == []


def test_a_text_target_is_refused_with_what_to_use_instead(tmp_path, capsys):
    src, _ = _npz(tmp_path)
    (tmp_path / "reviews.csv").write_text("text,label\n" + "".join(f"great thing {i},1\nawful thing {i},0\n" for i in range(10)))
    assert main(["rank", str(tmp_path / "reviews.csv"), "--source", str(src), "--shots", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds texts: rank scores text targets on pretrained text encoders" in err
    assert "--pretrained hf:" in err


def test_pretrained_candidates_are_checked_before_any_source_is_trained(tmp_path, monkeypatch, capsys):
    """An unknown name lists the known ones, and fails before the --source models train."""
    from transferkit.ranking import rank as rank_module

    src, tgt = _npz(tmp_path)
    monkeypatch.setattr(rank_module, "source_candidate", lambda *a, **k: pytest.fail("trained a source first"))
    assert main(["rank", str(tgt), "--source", str(src), "--pretrained", "no_such_net", "--shots", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown pretrained source 'no_such_net'" in err


def test_rank_out_is_checked_before_any_work(tmp_path, monkeypatch, capsys):
    from transferkit.ranking import rank as rank_module

    src, tgt = _npz(tmp_path)
    monkeypatch.setattr(rank_module, "source_candidate", lambda *a, **k: pytest.fail("ranked first"))
    (tmp_path / "afile").write_text("x")
    for out, message in ((str(tmp_path / "new") + "/", "is a folder"), (str(tmp_path / "afile" / "r.json"), "afile is a file"),
                         (str(tmp_path / "r.csv"), "the ranking is written as JSON")):  # fmt: skip
        assert main(["rank", str(tgt), "--source", str(src), "--shots", "2", "--out", out]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_the_fine_tuned_on_warning_holds_however_the_target_path_is_written(tmp_path, monkeypatch):
    """A run folder's model scored on the very examples it was fine-tuned on is flagged,
    whether the target is given as the run stored it (absolute) or relative to here."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.ranking.rank import rank

    src, tgt = _npz(tmp_path)
    cfg = tiny_experiment(src.resolve(), tgt.resolve(), seeds=1, methods=[{"name": "head", "params": {"steps": 10}}])
    cfg["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    monkeypatch.chdir(tmp_path)
    for spelled in (str(tgt.resolve()), "target.npz", "./target.npz"):
        result = rank(spelled, shots=3, models=["run"], reference=False)
        assert any("fine-tuned on" in w for w in result["warnings"]), spelled
    saved = "run/models/head_k3_seed0.safetensors"  # one of the run's models, named as a file
    assert any("fine-tuned on" in w for w in rank("target.npz", shots=3, models=[saved], reference=False)["warnings"])
    import shutil

    shutil.copy("target.npz", "renamed.npz")  # the same data under another name: recognised by its content
    assert any("fine-tuned on" in w for w in rank("renamed.npz", shots=3, models=["run"], reference=False)["warnings"])


def test_a_model_that_adapted_on_the_targets_unlabelled_inputs_is_flagged(tmp_path, monkeypatch):
    """A k = 0 mcc model (and auto's self-training) read the run's whole pool without labels: no
    draw of labelled examples escapes it, and rank said nothing (1.000 on every score)."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.ranking.rank import rank

    src, tgt = _npz(tmp_path)
    cfg = tiny_experiment(src.resolve(), tgt.resolve(), seeds=1, methods=[{"name": "mcc", "params": {"steps": 4}},
                                                                         {"name": "head", "params": {"steps": 4}}])  # fmt: skip
    cfg["target"]["shots"] = [0, 3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    monkeypatch.chdir(tmp_path)
    result = rank("target.npz", shots=3, seed=1, models=["run/models/mcc_k0_seed0.safetensors"], reference=False)
    said = [w for w in result["warnings"] if "adapted on the target's unlabelled inputs" in w]
    assert len(said) == 1 and "(mcc)" in said[0] and "9 of the 9 examples scored here" in said[0], result["warnings"]
    assert result["trained_on_scored"] == {"mcc_k0_seed0": 9}
    head = rank("target.npz", shots=3, seed=1, models=["run/models/head_k3_seed0.safetensors"], reference=False)
    assert not [w for w in head["warnings"] if "unlabelled inputs" in w]  # head reads only its labelled examples


def test_a_one_class_target_is_refused_before_any_source_is_trained(tmp_path, monkeypatch, capsys):
    from transferkit.ranking import rank as rank_module

    src, _ = _npz(tmp_path)
    np.savez(tmp_path / "one.npz", x=np.zeros((8, 12, 12)), y=np.zeros(8, dtype=int), classes=np.array(["seven"]))
    monkeypatch.setattr(rank_module, "source_candidate", lambda *a, **k: pytest.fail("trained a source first"))
    assert main(["rank", str(tmp_path / "one.npz"), "--source", str(src), "--shots", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds one class ('seven')" in err


def test_a_text_model_candidate_on_an_image_target_says_so(tmp_path, capsys):
    src, tgt = _npz(tmp_path)
    TransferModel.build("textcnn", (16,), ["n", "p"]).save(tmp_path / "txt", {"recipe": {"kind": "text"}})
    assert main(["rank", str(tgt), "--model", str(tmp_path / "txt.safetensors"), "--shots", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "candidate txt reads texts, but" in err


def test_a_csv_target_with_another_label_column_can_be_ranked(tmp_path, capsys):
    """The missing-label-column error names the rank options that fix it, for the target and
    for a source, and the options work."""
    src, tgt = _npz(tmp_path)

    def to_csv(npz, path, label):
        d = np.load(npz)
        x = d["x"].reshape(len(d["x"]), -1)
        rows = [label + "," + ",".join(f"p{j}" for j in range(x.shape[1]))]
        rows += [f"{CLASSES[c]}," + ",".join(str(int(v)) for v in r) for c, r in zip(d["y"], x, strict=True)]
        path.write_text("\n".join(rows) + "\n")

    to_csv(src, tmp_path / "s.csv", "label")
    to_csv(tgt, tmp_path / "t.csv", "kind")
    args = ["rank", str(tmp_path / "t.csv"), "--source", str(tmp_path / "s.csv"), "--shots", "2"]
    assert main(args) == 2
    assert "for rank: `--label-column` of the target, `--source-label-column` of a --source" in capsys.readouterr().err
    out = tmp_path / "r.json"
    assert main([*args, "--label-column", "kind", "--source-epochs", "1", "--scores", "knn", "--by", "knn",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads(out.read_text())["candidates"]
    to_csv(src, tmp_path / "s.csv", "kind")  # the source's labels under the target's column name
    assert main([*args, "--label-column", "kind", "--source-epochs", "1", "--scores", "knn"]) == 2
    assert "s.csv: no label column 'label'" in capsys.readouterr().err
    assert main([*args, "--label-column", "kind", "--source-label-column", "kind", "--source-epochs", "1",
                 "--scores", "knn", "--by", "knn", "--out", str(out)]) == 0  # fmt: skip
    assert json.loads(out.read_text())["candidates"]


def test_pretrained_encoders_on_a_vector_target_are_refused_before_loading(tmp_path, monkeypatch, capsys):
    import transferkit.models.pretrained as pretrained_models

    rows = "".join(f"{i % 3},{i % 3}.5,{(7 * i) % 30}\n" for i in range(30))  # (not the row numbers: warned of)
    (tmp_path / "t.csv").write_text("label,a,b\n" + rows)
    monkeypatch.setattr(pretrained_models, "load_base", lambda *a, **k: pytest.fail("loaded (or downloaded) it"))
    for name, reads in (("mobilenet_v2_imagenet", "images"), ("timm:resnet18", "images"), ("hf:some/model", "texts")):
        assert main(["rank", str(tmp_path / "t.csv"), "--pretrained", name, "--shots", "2"]) == 2
        err = capsys.readouterr().err.strip()  # was a failed download of the weights
        assert len(err.splitlines()) == 1 and f"holds vectors but the pretrained candidate {name!r} reads {reads}" in err


def test_the_best_line_says_when_the_top_source_is_below_random_weights():
    from transferkit.commands.rank import best_line

    result = {"best": {"candidate": "osuleaf.npz", "cut": 1, "blocks": 2}, "best_beats_reference": False}
    assert best_line(result).endswith("(below the random-weights reference: scratch may do as well)")
    assert best_line({**result, "best_beats_reference": True}) == "best source: osuleaf.npz cut after block 1 of 2"
    noise = {**result, "best_beats_reference": True, "best_log_bayes_factor_vs_reference": 0.17}  # a new user's 0.0037 x 15 x 3
    assert best_line(noise).endswith("(not clearly above the random-weights reference: log Bayes factor 0.17)")
    clear = {**noise, "best_log_bayes_factor_vs_reference": 21.9}  # a trial: head and finetune still lost to scratch
    assert best_line(clear) == ("best source: osuleaf.npz cut after block 1 of 2 (above the random-weights reference by "
                                "a log Bayes factor of 21.9: its frozen features separate the labelled examples better "
                                "than random ones do, which is not yet a gain over training from scratch: `transferkit "
                                "run` with scratch beside the transfer methods measures that)")


def test_a_test_input_does_not_change_ranking_scores(tmp_path):
    from transferkit.data.splits import make_test_split
    from transferkit.ranking.rank import rank

    _, tgt = _npz(tmp_path)
    d = np.load(tgt)
    x = d["x"].astype(np.float32) / 255.0  # float: the range is measured on the data
    saved = tmp_path / "saved"
    tiny_model().save(saved, {"recipe": {"value_range": [0, 1], "shape": [1, 12, 12], "pad": 0}})
    scores = []
    for name, bright in (("clean", False), ("outlier", True)):
        xi = x.copy()
        if bright:  # one bright pixel in one image of the test part rank holds out as run does
            xi[make_test_split(d["y"], 0.3, 0, CLASSES).test_idx[0], 0, 0] = 3.0
        np.savez(tmp_path / f"{name}.npz", x=xi, y=d["y"], classes=np.array(CLASSES))
        result = rank(str(tmp_path / f"{name}.npz"), 3, models=[f"{saved}.safetensors"], reference=False, cuts=[3])
        scores.append([r["logme"] for r in result["candidates"]])
    assert scores[0] == scores[1]  # was rescaled by the test image's pixel


def test_csv_vectors_reach_a_candidate_as_run_and_predict_give_them(tmp_path, monkeypatch):
    """Feature columns in the source's (or saved model's) order, on the range the model was
    trained on, whatever order and range the target CSV has (found by a new-user pass)."""
    import transferkit.ranking.rank as rank_module

    cols = [f"f{j}" for j in range(4)]
    rng = np.random.default_rng(0)

    def write(path, order, top):  # column f_j holds values near j * top / 4: its order is visible
        y = np.arange(30) % 3
        rows = [",".join([*order, "label"])]
        rows += [",".join(f"{int(c[1]) * top / 4 + rng.uniform(0, 0.1):.3f}" for c in order) + f",{CLASSES[k]}" for k in y]
        path.write_text("\n".join(rows) + "\n")

    write(tmp_path / "s.csv", cols, 8.0)  # source and model: 0..6
    write(tmp_path / "t.csv", cols[::-1], 4.0)  # target: reversed columns, 0..3
    torch.manual_seed(0)
    model = TransferModel.build("mlp", (4,), CLASSES, hidden=8, feature_dim=4)
    model.save(tmp_path / "m", {"recipe": {"value_range": [0.0, 6.1], "shape": [4], "pad": 0, "columns": cols}})
    seen = {}

    def capture(cands, x, *args):
        seen[cands[0].name] = x
        return []

    monkeypatch.setattr(rank_module, "score_candidates", capture)
    monkeypatch.setattr(rank_module, "rank_rows", lambda rows, by: [])
    rank_module.rank(str(tmp_path / "t.csv"), 2, [str(tmp_path / "s.csv")], [str(tmp_path / "m")],
                     source_epochs=1, reference=False, scores=["knn"], by="knn")  # fmt: skip
    x = seen["m"].numpy()  # a model saved before per-column recipes: one range for all, the source's 0..6.1
    expected = np.arange(4) * 1.0 / 6.1  # target column f_j near j (4 / 4), read on the source's scale
    assert np.allclose(x.mean(axis=0), expected, atol=0.03), x.mean(axis=0)
    # the source trained here: each column on the source's own range for it (the model standardises each feature,
    # so only float32's precision differs), in the source's order, whatever the target's
    src_x = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1, usecols=range(4))
    tgt_x = np.loadtxt(tmp_path / "t.csv", delimiter=",", skiprows=1, usecols=range(4))[:, ::-1]  # in f0..f3 order
    lo, span = src_x.min(0), src_x.max(0) - src_x.min(0)
    expected = ((tgt_x - lo) / span).mean(0)  # about 0.5, -9.5, -19.5, -29.5: the order is plain
    assert np.allclose(seen["s.csv"].numpy().mean(axis=0), expected, atol=0.6), seen["s.csv"].numpy().mean(axis=0)


def test_a_saved_classifiers_column_names_order_a_csv_target(tmp_path, monkeypatch):
    """TransferClassifier.save keeps a DataFrame's columns as feature_names: rank uses them."""
    pd = pytest.importorskip("pandas")
    import transferkit.ranking.rank as rank_module
    from transferkit import TransferClassifier

    y = np.arange(30) % 3
    frame = pd.DataFrame({c: j + np.random.default_rng(j).uniform(0, 0.1, 30) for j, c in enumerate("abcd")})
    TransferClassifier("scratch", method_params={"steps": 2}).fit(frame, y).save(tmp_path / "m")
    rows = ["d,c,b,a,label"] + [f"{r.d:.3f},{r.c:.3f},{r.b:.3f},{r.a:.3f},{CLASSES[k]}" for r, k in zip(frame.itertuples(), y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    seen = {}
    monkeypatch.setattr(rank_module, "score_candidates", lambda cands, x, *a: seen.update(x=x) or [])
    monkeypatch.setattr(rank_module, "rank_rows", lambda rows, by: [])
    rank_module.rank(str(tmp_path / "t.csv"), 2, models=[str(tmp_path / "m")], reference=False, scores=["knn"], by="knn")
    raw = frame[list("abcd")].to_numpy()  # as fit saw them, each column mapped on its own range
    lo, span = raw.min(0), raw.max(0) - raw.min(0)
    expected = (raw - lo) / span
    gaps = [np.abs(expected - row).max(1).min() for row in seen["x"].numpy()]
    assert max(gaps) < 0.02, gaps  # every row scored is a row of the frame, in a, b, c, d order (others: gaps of 10+)


def test_a_source_holding_the_scored_examples_is_flagged(tmp_path, monkeypatch):
    """`run` refuses such a source; rank ranked it first, silently (on examples it was trained on)."""
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, tgt = _npz(tmp_path)
    kw = {"source_epochs": 1, "reference": False, "scores": ["knn"], "by": "knn"}
    result = rank(str(tgt), 2, [str(tgt), str(src)], **kw)
    flagged = result["warnings"]
    assert result["trained_on_scored"] == {"target.npz": 6}  # the JSON and the best line say it, as for a run's model
    assert result["candidates"][0]["candidate"] == "target.npz"  # first, on examples it was trained on ...
    assert result["best"]["candidate"] == "source.npz"  # ... so not the best (it was, and beat random weights with it)
    assert flagged == ["target.npz: 6 of the 6 labelled examples scored here are also in this source (exact copies, "
                       "6 with the same class): its model was trained on them, so its scores are optimistic; rank "
                       "sources that do not hold the target's examples.",
                       "target.npz ranks above source.npz on examples it saw (see above), so the best source and its "
                       "comparison with random weights are taken among the candidates that did not."]  # fmt: skip
    assert rank(str(tgt), 2, [str(src)], **kw)["warnings"] == []
    from tests.data.test_overlap import _jpeg

    t = np.load(tgt)
    np.savez(tmp_path / "resaved.npz", x=_jpeg(t["x"][:, None], 95)[:, 0], y=t["y"], classes=t["classes"])
    resaved = rank(str(tgt), 2, [str(tmp_path / "resaved.npz"), str(src)], **kw)
    assert resaved["warnings"][0].startswith(  # the target re-saved as JPEG: no exact copy, said but not held against it
        "resaved.npz: 6 of the 6 labelled examples scored here are near copies of images in this source (pixel "
        "correlation >= 0.999, which re-saved, rounded or noised copies of an image reach, and so can distinct captures")
    assert resaved["trained_on_scored"] == {}  # frames of one fixed scene would lose 'best' to a look-alike
    src_d = np.load(src)  # a source with 3 exact copies of the scored examples and the rest re-saved: 3 counted
    mixed_x = np.concatenate([src_d["x"], t["x"][:3], _jpeg(t["x"][3:][:, None], 95)[:, 0]])
    np.savez(tmp_path / "mixed.npz", x=mixed_x, y=np.r_[src_d["y"], t["y"]], classes=t["classes"])
    mixed = rank(str(tgt), 2, [str(tmp_path / "mixed.npz"), str(src)], **kw)
    scored = mixed["trained_on_scored"].get("mixed.npz", 0)
    assert 0 < scored < 6 and any("near copies" in w for w in mixed["warnings"])  # exact ones only, near ones said


def test_a_warning_about_the_target_is_given_once_not_once_per_candidate(tmp_path, monkeypatch):
    from tests.conftest import make_images
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, _ = _npz(tmp_path)
    xs, ys = make_images(30, seed=5)
    np.savez(tmp_path / "other.npz", x=xs[:, 0], y=ys, classes=np.array(CLASSES))
    xt, yt = make_images(12, seed=2)
    tinted = np.repeat(xt, 3, axis=1)
    tinted[:, 2] *= 0.5  # a colour cast: equal channels would be grey
    np.savez(tmp_path / "colour.npz", x=tinted.astype(np.uint8), y=yt, classes=np.array(CLASSES))
    with pytest.warns(UserWarning) as caught:
        rank(str(tmp_path / "colour.npz"), 2, [str(src), str(tmp_path / "other.npz")], source_epochs=1,
             reference=False, scores=["knn"], by="knn")  # fmt: skip
    colour = [str(w.message) for w in caught if "holds colour images but" in str(w.message)]
    assert len(colour) == 1  # naming the candidates that read grey (it said "the model", of two)
    assert f"holds colour images but candidates {src.name}, other.npz read grey ones" in colour[0]


def test_the_grey_candidates_note_is_said_when_a_later_candidate_fails(tmp_path, monkeypatch):
    """Said at the end of the candidates' loop, it was lost to a later candidate's error (a review)."""
    from transferkit.errors import TransferkitError
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    rng, y = np.random.default_rng(0), np.repeat(np.arange(2), 30)
    np.savez(tmp_path / "colour.npz", x=rng.uniform(0, 255, (60, 12, 12, 3)).astype(np.float32), y=y)
    np.savez(tmp_path / "grey.npz", x=rng.uniform(0, 255, (60, 12, 12)).astype(np.float32), y=y)
    TransferModel.build("textcnn", (16,), ["n", "p"]).save(tmp_path / "txt", {"recipe": {"kind": "text"}})  # refused
    with pytest.warns(UserWarning, match="holds colour images but candidate grey.npz reads grey ones"):
        with pytest.raises(TransferkitError, match="candidate txt reads texts"):
            rank(str(tmp_path / "colour.npz"), 2, [str(tmp_path / "grey.npz")], [str(tmp_path / "txt.safetensors")],
                 source_epochs=1, reference=False, scores=["knn"], by="knn")  # fmt: skip


def test_the_cli_keeps_every_warning_in_the_json_and_says_each_once(tmp_path, monkeypatch, capsys):
    from tests.conftest import make_images
    from transferkit.cli import main

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, _ = _npz(tmp_path)
    xt, yt = make_images(12, seed=2)
    tinted = np.repeat(xt, 3, axis=1)
    tinted[:, 2] *= 0.5  # a colour cast: equal channels would be grey
    np.savez(tmp_path / "colour.npz", x=tinted.astype(np.uint8), y=yt, classes=np.array(CLASSES))
    out = tmp_path / "r.json"
    assert main(["rank", str(tmp_path / "colour.npz"), "--source", str(src), "--source-epochs", "1", "--shots", "2",
                 "--scores", "knn", "--by", "knn", "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr()
    kept = json.loads(out.read_text())["warnings"]
    assert any(f"holds colour images but candidate {src.name} reads grey ones" in w for w in kept)  # was only on stderr
    text = said.out + said.err
    assert text.count("holds colour images but") == 1
    beaten = json.loads(out.read_text())["best_beats_reference"] is False
    assert any("no source beats random weights" in w for w in kept) == beaten


def test_warnings_found_before_a_failing_candidate_are_still_given(tmp_path, monkeypatch):
    from transferkit.errors import TransferkitError, TransferkitWarning
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    np.savez(tmp_path / "s.npz", x=rng.uniform(0, 1, (40, 5)).astype(np.float32), y=y)
    TransferModel.build("textcnn", (16,), ["n", "p"]).save(tmp_path / "txt", {"recipe": {"kind": "text"}})  # refused
    np.savez(tmp_path / "t.npz", x=rng.uniform(0, 1000, (40, 5)).astype(np.float32), y=y)
    with pytest.warns(TransferkitWarning, match=r"far outside the source.s \[.*\] \(s.npz\)"), pytest.raises(TransferkitError, match="candidate txt reads texts"):
        rank(str(tmp_path / "t.npz"), 2, [str(tmp_path / "s.npz")], [str(tmp_path / "txt.safetensors")], source_epochs=1,
             reference=False, scores=["knn"], by="knn")  # fmt: skip


def test_warnings_raised_while_loading_the_target_reach_the_json(tmp_path, monkeypatch):
    """A note raised as the target is read (here: a column of row numbers) is in the result's
    warnings, as those raised later are."""
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    xs = rng.normal(size=(40, 3)) + y[:, None]
    rows = lambda x: "".join(f"{i},{a:.4f},{b:.4f},{c:.4f},{t}\n" for i, ((a, b, c), t) in enumerate(zip(x, y, strict=True)))  # noqa: E731
    (tmp_path / "s.csv").write_text("id,a,b,c,label\n" + rows(xs))
    (tmp_path / "t.csv").write_text("id,a,b,c,label\n" + rows(xs + 0.1))
    with pytest.warns(UserWarning, match="holds the row numbers"):
        result = rank(str(tmp_path / "t.csv"), 3, [str(tmp_path / "s.csv")], source_epochs=1, reference=False,
                      scores=["knn"], by="knn")  # fmt: skip
    assert any(w.startswith(f"{tmp_path / 't.csv'}: column 'id' holds the row numbers") for w in result["warnings"])


def test_rank_scores_the_labelled_examples_a_run_draws_from_a_target_with_copies():
    from transferkit.data.domain import Domain
    from transferkit.data.overlap import input_groups
    from transferkit.data.splits import draw_shots, make_test_split
    from transferkit.ranking.rank import labelled_examples

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    x[20:] = x[:20]  # every input twice
    target = Domain("twice", x, np.tile(np.repeat(np.arange(2), 10), 2), ["a", "b"], (float(x.min()), float(x.max())))
    run_split = make_test_split(target.y, 0.3, 0, target.classes, groups=input_groups(target))
    lab, _ = labelled_examples(target, 3, seed=1)
    np.testing.assert_array_equal(lab, draw_shots(target.y, run_split.pool_idx, 3, 1)[0])


def test_rank_keeps_the_copies_note_in_its_result(tmp_path):
    from transferkit.ranking.rank import rank

    _, tgt = _npz(tmp_path)
    d = np.load(tgt)
    x = np.r_[d["x"], d["x"]].astype(np.float32) / 255.0  # every image twice
    np.savez(tmp_path / "twice.npz", x=x, y=np.r_[d["y"], d["y"]], classes=np.array(CLASSES))
    saved = tmp_path / "saved"
    tiny_model().save(saved, {"recipe": {"value_range": [0, 1], "shape": [1, 12, 12], "pad": 0}})
    result = rank(str(tmp_path / "twice.npz"), 3, models=[f"{saved}.safetensors"], reference=False, cuts=[3])
    assert any("are exact copies of others" in w for w in result["warnings"])


def test_a_class_subsets_rows_saved_apart_are_recognised_as_the_runs_target(tmp_path, monkeypatch, capsys):
    """A run on ``classes: [a, b]`` of a file keeps the whole file's value range; the same rows
    saved to a file of their own measure a narrower one. They are still the examples the run's
    models were fine-tuned on, and rank says so."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.data.files import load_file
    from transferkit.ranking.rank import rank

    src, tgt = _npz(tmp_path)
    t = np.load(tgt)
    x = t["x"].astype(np.float32)
    x[t["y"] == 2] *= 1.5  # class c alone reaches past 255: the file's range is wider than a and b's
    np.savez(tgt, x=x, y=t["y"], classes=t["classes"])
    cfg = tiny_experiment(src.resolve(), tgt.resolve(), seeds=1, methods=[{"name": "head", "params": {"steps": 10}}])
    cfg["target"].update(shots=[3], classes=["a", "b"])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    keep = t["y"] < 2
    np.savez(tmp_path / "ab.npz", x=x[keep], y=t["y"][keep], classes=np.array(["a", "b"]))
    whole, apart = load_file(tgt).subset(["a", "b"]), load_file(tmp_path / "ab.npz")
    assert whole.value_range != apart.value_range and whole.fingerprint() != apart.fingerprint()
    assert whole.content_fingerprint() == apart.content_fingerprint()
    assert load_file(tgt).subset(["b", "a"]).content_fingerprint() == apart.content_fingerprint()  # listed in any order
    assert load_file(tgt).subset(["a", "c"]).content_fingerprint() != apart.content_fingerprint()
    monkeypatch.chdir(tmp_path)
    assert any("fine-tuned on" in w for w in rank("ab.npz", shots=3, models=["run"], reference=False)["warnings"])
    assert main(["rank", "target.npz[a,b]", "--model", "run", "--shots", "3"]) == 2  # brackets: built-in domains only
    assert "for rank's target: target.npz --classes a,b (a --source is read whole)." in capsys.readouterr().err
    assert main(["rank", "target.npz", "--classes", ",", "--model", "run", "--shots", "3"]) == 2
    assert "--classes: no classes listed. Fix: write e.g. --classes 0-4 or --classes cat,dog." in capsys.readouterr().err
    assert main(["rank", "target.npz", "--classes", "a,b", "--model", "run", "--shots", "3", "--no-reference",
                 "--out", "r.json"]) == 0  # fmt: skip
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["labelled_examples"] == 6 and any("fine-tuned on" in w for w in result["warnings"])
    from transferkit.ranking.rank import labelled_examples, seen_by_run_model

    cfg["target"]["classes"] = ["b", "a"]  # the same rows, labelled in another order: another draw
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run_ba"), "--quiet"]) == 0
    lab, _ = labelled_examples(apart, 3, 0)
    trained, _ = labelled_examples(load_file(tgt).subset(["b", "a"]), 3, 0)  # row numbers of the b, a rows
    assert set(trained.tolist()) != set(lab.tolist())
    assert seen_by_run_model("run_ba", apart, lab)[0] == len(set(trained.tolist()) & set(lab.tolist()))
    np.savez(tmp_path / "other.npz", x=x[keep] + 1, y=t["y"][keep], classes=np.array(["a", "b"]))  # other examples
    assert not any("fine-tuned on" in w for w in rank("other.npz", shots=3, models=["run"], reference=False)["warnings"])


def test_a_source_of_the_other_polarity_is_said_in_the_ranking(tmp_path):
    """run warned of white-on-black source digits against black-on-white targets; rank did not."""
    from transferkit.ranking.rank import rank

    src, tgt = _npz(tmp_path)
    t = np.load(tgt)
    np.savez(tgt, x=255 - t["x"], y=t["y"], classes=t["classes"])  # dark on light: the source's inverse
    result = rank(str(tgt), shots=2, sources=[str(src)], reference=False, source_epochs=1, scores=["knn"], by="knn")
    assert any(w.startswith(f"{src}: ") and "dark on" in w for w in result["warnings"]), result["warnings"]


def test_a_source_head_at_chance_on_classes_of_the_same_names_is_flagged():
    """A new user's source with labels off by one ranked first, its head at 10 % on a target whose
    class names it shares, and nothing was said (session 20)."""
    from transferkit.ranking.rank import _one_row_each, head_at_chance_warning

    y = np.arange(50) % 10  # 5 labelled examples of each of 10 classes: chance 10 %
    shifted = {"candidate": "fonts_shifted.npz", "source_only": 0.10}
    said = head_at_chance_warning(shifted, y)
    assert said.startswith("fonts_shifted.npz: its source head gets 10.0 % of the 50 labelled target examples right "
                           "(chance: 10 %) although its class names are the target's")  # fmt: skip
    assert head_at_chance_warning({"candidate": "fonts.npz", "source_only": 0.70}, y) is None  # well above chance
    assert head_at_chance_warning({"candidate": "other.npz", "source_only": None}, y) is None  # other class names
    assert head_at_chance_warning(shifted, np.arange(19) % 2) is None  # under 20 examples: not judged
    assert head_at_chance_warning({"candidate": "x", "source_only": 0.70}, np.arange(20) % 2) is None  # weak, not at chance
    rows = [{"candidate": "a", "cut": 1}, {"candidate": "a", "cut": 2}, {"candidate": "b", "cut": 1}]
    assert _one_row_each(rows) == [rows[0], rows[2]]


def test_the_head_at_chance_warning_reads_the_head_cuts_row_whichever_cut_ranks_first(monkeypatch, tmp_path):
    """The head's accuracy is on the last cut's row only; an earlier cut ranking first hid it."""
    from transferkit.ranking import rank as rank_module

    rows = [{"candidate": "s.npz", "cut": 1, "reference": False, "logme": 0.9, "source_only": None},
            {"candidate": "s.npz", "cut": 3, "reference": False, "logme": 0.1, "source_only": 0.1}]
    headed = [r for r in rank_module.rank_rows(rows, "logme") if r.get("source_only") is not None]
    assert [rank_module.head_at_chance_warning(r, np.arange(50) % 10) is not None
            for r in rank_module._one_row_each(headed)] == [True]


def test_hscore_is_said_to_say_little_where_noise_scores_near_its_maximum():
    """A new user's SMS ranking at 16 per class put random weights above MiniLM on hscore."""
    from transferkit.ranking.rank import hscore_floor_warning

    said = hscore_floor_warning(384, np.arange(8) % 2)
    assert said.startswith("hscore: random noise of 384 dimensions scores 0.") and "of its maximum 1 on these 8" in said
    assert hscore_floor_warning(16, np.arange(400) % 4) is None  # many examples, few dimensions: noise scores ~0
    both = hscore_floor_warning([384, 16, 256, 384], np.arange(8) % 2)  # one line for every dimension it concerns
    assert both.startswith("hscore: random noise scores 0.") and " at 16, 0." in both and " at 256, 0." in both
    assert both.endswith(" at 384 dimensions of its maximum 1 on these 8 labelled examples, so its ranking says little "
                         "at this size: read logme, or label more examples.")  # fmt: skip
    assert " at 2," not in hscore_floor_warning([2, 384], np.arange(8) % 2)  # 2 dimensions: noise scores little


def test_a_csv_target_with_the_sources_columns_in_another_order_is_not_called_off_scale(tmp_path, monkeypatch):
    """A new user's target listed the source's 30 columns in another order: rank compared their
    scales by position and said 17 clean columns were in other units (the scores were right)."""
    import warnings

    import transferkit.ranking.rank as rank_module
    from transferkit.errors import TransferkitWarning

    cols = [f"f{j}" for j in range(4)]
    rng = np.random.default_rng(1)

    def write(path, order):  # column f_j holds values near 10 j: each column its own scale
        y = np.arange(30) % 3
        rows = [",".join([*order, "label"])]
        rows += [",".join(f"{10 * int(c[1]) + rng.uniform(0, 1):.3f}" for c in order) + f",{CLASSES[k]}" for k in y]
        path.write_text("\n".join(rows) + "\n")

    write(tmp_path / "s.csv", cols)
    write(tmp_path / "t.csv", cols[::-1])
    monkeypatch.setattr(rank_module, "score_candidates", lambda cands, x, *args: [])
    monkeypatch.setattr(rank_module, "rank_rows", lambda rows, by: [])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        rank_module.rank(str(tmp_path / "t.csv"), 2, [str(tmp_path / "s.csv")], source_epochs=1, reference=False,
                         scores=["knn"], by="knn")  # fmt: skip
    assert not [str(w.message) for w in said if issubclass(w.category, TransferkitWarning) and "far outside" in str(w.message)]


def test_the_random_weights_reference_does_not_depend_on_the_order_of_the_sources(tmp_path, monkeypatch):
    """A new user's reference logme moved (-0.0345 against -0.0247) with the order of two --source:
    it took the first source's input statistics."""
    from tests.conftest import make_images
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, tgt = _npz(tmp_path)
    xb, yb = make_images(30, seed=3, shift=60.0)  # a second source on another brightness: other statistics
    small, _ = make_images(30, size=6, seed=4)
    xb[:, 0] = 0.0
    xb[:, 0, 3:9, 3:9] = small[:, 0]  # ... and its content small in a dark frame: another auto framing (a reviewer's case)
    np.savez(tmp_path / "bright.npz", x=xb[:, 0], y=yb, classes=np.array(CLASSES))
    kw = {"source_epochs": 1, "scores": ["logme", "knn"], "by": "logme"}

    def reference(order):
        rows = rank(str(tgt), 2, [str(p) for p in order], **kw)["candidates"]
        return sorted((r["cut"], r["logme"], r["knn"]) for r in rows if r["reference"])

    assert reference([src, tmp_path / "bright.npz"]) == reference([tmp_path / "bright.npz", src])


def test_held_out_scores_at_one_example_per_class_are_said_to_rank_nothing(tmp_path, monkeypatch):
    """A new user's 2-class, 1-shot ranking: knn and linear_cv 0.000 for every candidate, unsaid."""
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, tgt = _npz(tmp_path)
    kw = {"source_epochs": 1, "reference": False, "by": "logme"}
    said = rank(str(tgt), 1, [str(src)], scores=["logme", "knn", "linear_cv"], **kw)["warnings"]
    assert any(w.startswith("knn and linear_cv hold each labelled example out") for w in said)
    assert not any("hold each labelled example out" in w for w in rank(str(tgt), 2, [str(src)], scores=["logme", "knn"], **kw)["warnings"])


def test_the_reference_of_a_cnn1d_saved_with_one_statistic_for_all_sensors_is_built(tmp_path):
    """rank crashed ('output with shape [1] doesn't match the broadcast shape [3, 1]') on a model
    saved before per-sensor statistics, its reference on by default."""
    from safetensors.torch import load_file, save_file

    from transferkit.ranking.rank import rank

    torch.manual_seed(0)
    TransferModel.build("cnn1d", (1, 3, 50), CLASSES).save(tmp_path / "old", {"recipe": {"value_range": [-3, 3], "shape": [1, 3, 50], "pad": 0}})
    w = load_file(str(tmp_path / "old.safetensors"))
    w["input_mean"], w["input_std"] = torch.zeros(1), torch.ones(1)
    save_file(w, str(tmp_path / "old.safetensors"))
    y = np.repeat(np.arange(3), 10)
    x = np.random.default_rng(0).normal(size=(30, 3, 50)).astype(np.float32) + y[:, None, None]
    x[:, 2] = x[:, 2] * 1000 + 5000  # a sensor in other units: statistics per sensor, (3, 1)
    np.savez(tmp_path / "t.npz", x=x, y=y, classes=np.array(CLASSES))
    rows = rank(str(tmp_path / "t.npz"), 2, models=[str(tmp_path / "old")], scores=["logme"], by="logme")["candidates"]
    assert any(r["reference"] for r in rows) and any(not r["reference"] for r in rows)


def test_a_csv_target_with_a_column_the_source_lacks_is_ranked_on_the_sources_columns(tmp_path, monkeypatch):
    """As run now leaves such a column out, rank does (it refused it: 'extra ['scanner']')."""
    import transferkit.ranking.rank as rank_module

    rng = np.random.default_rng(2)
    y = np.arange(30) % 3
    rows = ["f0,f1,label"] + [f"{rng.uniform():.3f},{rng.uniform():.3f},{CLASSES[k]}" for k in y]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    rows = ["scanner,f1,f0,label"] + [f"{rng.uniform(100, 200):.1f},{rng.uniform():.3f},{rng.uniform():.3f},{CLASSES[k]}"
                                      for k in y]  # fmt: skip
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    seen = {}
    monkeypatch.setattr(rank_module, "score_candidates", lambda cands, x, *a: seen.update({cands[0].name: x}) or [])
    monkeypatch.setattr(rank_module, "rank_rows", lambda rows, by: [])
    rank_module.rank(str(tmp_path / "t.csv"), 2, [str(tmp_path / "s.csv")], source_epochs=1, reference=False,
                     scores=["knn"], by="knn")  # fmt: skip
    assert seen["s.csv"].shape[1] == 2  # f0, f1: no scanner
    text = ["site,scanner,f1,f0,label"] + [f"B,{r}" for r in rows[1:]]  # and a text column only the target has
    (tmp_path / "t2.csv").write_text("\n".join(text) + "\n")
    rank_module.rank(str(tmp_path / "t2.csv"), 2, [str(tmp_path / "s.csv")], source_epochs=1, reference=False,
                     scores=["knn"], by="knn")  # fmt: skip  (it was refused: "column 'site' is not numeric")
    assert seen["s.csv"].shape[1] == 2
    # with a saved model that reads a column the --source lacks, each candidate takes its own columns
    TransferModel.build("mlp", (3,), CLASSES).save(tmp_path / "m", {"recipe": {
        "value_range": [0, 200], "shape": [3], "pad": 0, "columns": ["scanner", "f1", "f0"]}})  # fmt: skip
    seen.clear()
    rank_module.rank(str(tmp_path / "t.csv"), 2, [str(tmp_path / "s.csv")], models=[str(tmp_path / "m")],
                     source_epochs=1, reference=False, scores=["knn"], by="knn")  # fmt: skip
    assert seen["s.csv"].shape[1] == 2 and seen["m"].shape[1] == 3


def test_a_saved_cnn1d_reads_the_target_on_the_range_it_was_trained_on(tmp_path, monkeypatch):
    """As for vectors: a series' own min and max would move it against the model's inputs."""
    import transferkit.ranking.rank as rank_module
    from transferkit.data.preprocess import Recipe, apply_recipe

    TransferModel.build("cnn1d", (1, 3, 50), CLASSES).save(tmp_path / "m", {"recipe": {"value_range": [-3, 3], "shape": [1, 3, 50], "pad": 0}})
    y = np.repeat(np.arange(3), 10)
    x = np.random.default_rng(0).normal(size=(30, 3, 50)).astype(np.float32) + y[:, None, None]
    np.savez(tmp_path / "t.npz", x=x, y=y, classes=np.array(CLASSES))
    seen = {}
    monkeypatch.setattr(rank_module, "score_candidates", lambda cands, x, *a: seen.update({cands[0].name: x}) or [])
    monkeypatch.setattr(rank_module, "rank_rows", lambda rows, by: [])
    rank_module.rank(str(tmp_path / "t.npz"), 2, models=[str(tmp_path / "m")], reference=False, scores=["knn"], by="knn")
    (got,) = seen.values()
    want = apply_recipe(x[:, None], Recipe((-3.0, 3.0), (1, 3, 50), 0))  # [-3, 3] -> 0..1, not its own min..max
    assert any(torch.allclose(g, want[i]) for g in got for i in range(30))


def test_no_lead_over_a_transformers_random_copy_on_logme_says_what_to_read():
    """LogME favoured MiniLM's random copy in 13 of 16 draws of a few dozen snippets: the plain
    warning told a user transfer may not help, where head beat scratch by 17-20 points."""
    from transferkit.ranking.rank import no_lead_warning

    assert no_lead_warning("logme", False) == "no source beats random weights on logme: transfer may not help here."
    said = no_lead_warning("logme", True)
    assert "pretrained text encoder's own random weights" in said and "read knn and linear_cv here" in said
    assert no_lead_warning("knn", True).endswith("may not help here.")  # knn does not share LogME's lean
    one = no_lead_warning("logme", True, one_each=True)  # 1 a class: knn and linear_cv score nothing (said beside it)
    assert "read knn and linear_cv" not in one and "rank with --shots 2 or more" in one


def test_sources_of_series_are_trained_with_the_shared_layers_asked_for(tmp_path, monkeypatch, capsys):
    """A series user's run used the cnn1d; rank trained its --source as the mlp, with no way
    to say otherwise (and an (N, 1, L) series was refused with a fix naming `shared: cnn1d`)."""
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    t = np.linspace(0, 1, 40)
    for name, n, seed in (("s.npz", 60, 1), ("t.npz", 24, 2)):
        y = np.arange(n) % 2
        x = np.sin(2 * np.pi * (2 + 2 * y[:, None]) * t) + 0.2 * np.random.default_rng(seed).normal(size=(n, 40))
        np.savez(tmp_path / name, x=x.astype(np.float32), y=y)
    kw = {"source_epochs": 1, "scores": ["knn"], "by": "knn", "cuts": "all"}
    result = rank(str(tmp_path / "t.npz"), 3, [str(tmp_path / "s.npz")], shared="cnn1d", **kw)
    blocks = {r["candidate"]: r["blocks"] for r in result["candidates"]}
    from transferkit.models import TransferModel

    assert blocks["s.npz"] == len(TransferModel.build("cnn1d", (40,), CLASSES[:2]).shared.blocks)
    assert rank(str(tmp_path / "t.npz"), 3, [str(tmp_path / "s.npz")], **kw)["candidates"][0]["blocks"] == \
        len(TransferModel.build("mlp", (40,), CLASSES[:2]).shared.blocks)  # auto: the mlp, as `run` builds  # fmt: skip
    assert main(["rank", str(tmp_path / "t.npz"), "--model", "x.safetensors", "--shared", "cnn1d"]) == 2
    assert "sets the architecture of the sources trained here, and there are none" in capsys.readouterr().err
    assert main(["rank", str(tmp_path / "t.npz"), "--source", str(tmp_path / "s.npz"), "--shared", "cnn3"]) == 2
    assert "shared='cnn3' is not an architecture" in capsys.readouterr().err


def test_sources_of_series_of_other_lengths_are_named_together_before_any_is_trained(tmp_path, monkeypatch, capsys):
    """Sources of series of 32, 48 and 24 steps for a target of 32: rank trained the first, then
    stopped at the second with 'resample each series to 48 steps', which the first could not read."""
    from transferkit.ranking import rank as rank_module

    y = np.arange(40) % 2
    for name, steps, seed in (("t.npz", 32, 0), ("s32.npz", 32, 1), ("s48.npz", 48, 2), ("s24.npz", 24, 3)):
        x = np.random.default_rng(seed).normal(size=(40, 3, steps)).astype(np.float32) + y[:, None, None]
        np.savez(tmp_path / name, x=x, y=y)
    monkeypatch.setattr(rank_module, "source_candidate", lambda *a, **k: pytest.fail("trained a source first"))
    sources = [a for s in ("s32.npz", "s48.npz", "s24.npz") for a in ("--source", str(tmp_path / s))]
    assert main(["rank", str(tmp_path / "t.npz"), *sources, "--shots", "2", "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("2 of the 3 sources do not fit the target, which holds series of 3 channels "
                                           "x 32 steps: s48.npz holds series of 3 channels x 48 steps, s24.npz holds "
                                           "series of 3 channels x 24 steps") in err  # fmt: skip
    assert "resample each of their series to the target's 32 steps" in err and "s32.npz" not in err
    for name, seed in (("v.npz", 4), ("v32.npz", 5)):  # vectors of 32 features: series (N, L) for the cnn1d
        np.savez(tmp_path / name, x=np.random.default_rng(seed).normal(size=(40, 32)).astype(np.float32), y=y)
    assert main(["rank", str(tmp_path / "v.npz"), "--source", str(tmp_path / "v32.npz"), *sources[2:4], "--shared",
                 "cnn1d", "--shots", "2", "--out", str(tmp_path / "r.json")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "1 of the 2 sources does not fit the target, which holds vectors of 32 features: s48.npz holds" in err
    assert "give it inputs of the target's shape, or leave it out of --source" in err
    np.savez(tmp_path / "v48.npz", x=np.random.default_rng(6).normal(size=(40, 48)).astype(np.float32), y=y)
    assert main(["rank", str(tmp_path / "v.npz"), "--source", str(tmp_path / "v32.npz"), "--source",
                 str(tmp_path / "v48.npz"), "--shots", "2", "--out", str(tmp_path / "r.json")]) == 2  # fmt: skip
    err = capsys.readouterr().err  # (the first was trained before the second was refused)
    assert "v48.npz holds vectors of 48 features" in err and "give it the target's 32 feature columns" in err


def test_two_sources_of_one_file_name_are_told_apart(tmp_path, monkeypatch):
    """a/data.npz (holding the scored examples) and b/data.npz (clean) were both 'data.npz':
    both were taken to have seen the scored examples, and the table could not tell them apart."""
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    src, tgt = _npz(tmp_path)
    for d, data in (("a", tgt), ("b", src)):
        (tmp_path / d).mkdir()
        (tmp_path / d / "data.npz").write_bytes(data.read_bytes())
    result = rank(str(tgt), 2, [str(tmp_path / "a" / "data.npz"), str(tmp_path / "b" / "data.npz")],
                  source_epochs=1, scores=["knn"], by="knn", reference=False)  # fmt: skip
    a, b = str(tmp_path / "a" / "data.npz"), str(tmp_path / "b" / "data.npz")
    assert {c["candidate"] for c in result["candidates"]} == {a, b}  # both by their paths
    assert result["trained_on_scored"] == {a: 6} and result["best"]["candidate"] == b


def test_a_source_naming_the_classes_in_another_order_is_read_in_its_heads_order(tmp_path, monkeypatch):
    """A source listing the target's class names in another order got no source_only score
    and no head-at-chance check: its head was compared only when the lists were equal."""
    import transferkit.ranking.rank as rank_module

    src, tgt = _npz(tmp_path)
    s = np.load(src)
    reordered = tmp_path / "source_cab.npz"
    np.savez(reordered, x=s["x"], y=np.array([1, 2, 0])[s["y"]], classes=np.array(["c", "a", "b"]))
    seen = []
    real = rank_module.score_candidates

    def spy(cands, x, y, names, cuts, same):
        seen.append(([str(c) for c in cands[0].model.classes], y.tolist(), same))
        return real(cands, x, y, names, cuts, same)

    monkeypatch.setattr(rank_module, "score_candidates", spy)
    result = rank_module.rank(str(tgt), shots=2, sources=[str(reordered)], reference=False, source_epochs=1,
                              scores=["knn"], by="knn")  # fmt: skip
    (heads, y, same), = seen
    from transferkit.data.files import load_file

    lab, _ = rank_module.labelled_examples(load_file(tgt), 2, 0)
    names = [CLASSES[i] for i in np.load(tgt)["y"][lab]]
    assert same and heads == ["c", "a", "b"] and [heads[i] for i in y] == names
    assert any(r.get("source_only") is not None for r in result["candidates"])


def test_rank_knows_what_a_run_with_a_reordered_source_trained_on(tmp_path, monkeypatch):
    """A run whose source lists the target's classes in another order draws in the target's own
    order (summary `draw_order`); rank redrew in the source's order and miscounted the run
    model's examples among those it scores."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.data.files import load_file
    from transferkit.ranking.rank import labelled_examples, seen_by_run_model

    monkeypatch.chdir(tmp_path)
    src, tgt = _npz(tmp_path)
    s = np.load(src)
    np.savez(tmp_path / "source_cab.npz", x=s["x"], y=np.array([1, 2, 0])[s["y"]], classes=np.array(["c", "a", "b"]))
    cfg = tiny_experiment("source_cab.npz", str(tgt))
    cfg["methods"], cfg["seeds"] = [{"name": "head", "params": {"steps": 3}}], 1
    cfg["target"]["shots"] = [2]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "exp.yaml", "--out", "run", "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["target"]["classes"] == ["c", "a", "b"] and summary["target"]["draw_order"] == CLASSES
    lab, _ = labelled_examples(load_file(tgt), 2, 0)
    assert seen_by_run_model("run", load_file(tgt), lab)[0] == len(lab)  # the very examples it trained on


@pytest.mark.parametrize("saved_with", [True, False])
def test_a_saved_model_is_ranked_with_the_shrink_filter_it_trained_with(tmp_path, monkeypatch, saved_with):
    """rank built each saved model's recipe afresh, block-averaging targets that a model saved
    before recipes recorded `block_average` (its predict: the bilinear filter) never saw."""
    import transferkit.data.preprocess as pp
    from tests.conftest import make_images
    from transferkit.ranking.rank import rank

    x = np.repeat(np.repeat(make_images(15, seed=3)[0][:, 0], 2, axis=1), 2, axis=2)  # 24x24: twice the model's 12x12
    np.savez(tmp_path / "t.npz", x=x, y=np.arange(len(x)) % 3, classes=np.array(CLASSES))
    recipe = {"value_range": [0, 255], "shape": [1, 12, 12], "pad": 0, **({"block_average": True} if saved_with else {})}
    tiny_model().save(tmp_path / "m", {"recipe": recipe})
    seen = []
    real = pp.fit_size
    monkeypatch.setattr(pp, "fit_size", lambda t, size, block_average=True: seen.append(block_average) or real(t, size, block_average))
    rank(str(tmp_path / "t.npz"), shots=2, models=[str(tmp_path / "m.safetensors")], reference=False, scores=["knn"], by="knn")
    assert seen and set(seen) == {saved_with}


def test_linear_cv_on_many_classes_of_two_says_nothing_of_regression():
    """R52 at --shots 2: scikit-learn's "y could represent a regression problem" was printed four
    times, with its source paths, on a rank that was working as meant."""
    import warnings

    from transferkit.ranking.knn_probe import linear_cv

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(52), 2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        linear_cv(rng.normal(size=(len(y), 8)).astype(np.float32), y)
    assert not [w for w in seen if "regression" in str(w.message)]


def test_a_source_at_chance_is_said_by_rank_as_by_run(tmp_path, monkeypatch):
    """A series trial's --source held out 19.5 % right, under its most frequent class's 22 %: run
    warns of that ('not clearly above chance'), rank said only that it beat no random weights."""
    from tests.conftest import make_images
    from transferkit.ranking.rank import source_candidate

    x, _ = make_images(120, seed=5)
    y = np.random.default_rng(0).integers(0, 3, 360)  # labels that say nothing of the images
    np.savez(tmp_path / "noise.npz", x=x[:, 0], y=y[: len(x)], classes=np.array(["a", "b", "c"]))
    import re

    cand, _ = source_candidate(str(tmp_path / "noise.npz"), epochs=1)
    assert re.match(r"noise.npz: source model seed 0: validation accuracy .* is not clearly above chance", cand.warning)
    import transferkit.ranking.rank as rank_module

    monkeypatch.setattr(rank_module, "source_candidate", lambda *a, **k: (cand, _))  # rank lists it with its warnings
    result = rank_module.rank(str(tmp_path / "noise.npz"), 3, sources=[str(tmp_path / "noise.npz")], scores=["knn"])
    assert cand.warning in result["warnings"]


def test_too_few_examples_keep_the_lists_ellipsis():
    """rstrip('.') took the "..." of "as do 7 more classes: 'b', ..., ..." (a trial); the list now ends "and N more"."""
    from transferkit.data import Domain
    from transferkit.errors import TransferkitError
    from transferkit.ranking.rank import labelled_examples

    y = np.repeat(np.arange(12), 4)
    x = np.random.default_rng(0).normal(size=(len(y), 3)).astype(np.float32)  # distinct inputs
    target = Domain("t", x, y, [chr(97 + c) for c in range(12)], (0.0, 1.0))
    with pytest.raises(TransferkitError, match=r"as do 11 more classes: 'b', 'c', .*, 'k' and 1 more \(the protocol's "
                                               r"test part, 30% of each class, is held out first\)\. Fix: use --shots of "
                                               r"at most 3 [^;]*, or add examples\.$"):  # fmt: skip
        labelled_examples(target, shots=5, seed=0)  # every class short: none to leave out
    big = Domain("t", np.random.default_rng(0).normal(size=(48 + 40, 3)).astype(np.float32),
                 np.concatenate([y, [12] * 20, [13] * 20]), [chr(97 + c) for c in range(14)], (0.0, 1.0))  # fmt: skip
    with pytest.raises(TransferkitError, match=r"leave those 12 classes out \(list the classes to keep in the "
                                               r"experiment's `target.classes`; rank: --classes\), or add examples\.$"):  # fmt: skip
        labelled_examples(big, shots=5, seed=0)


def test_a_copy_of_a_runs_csv_target_is_recognised_in_the_runs_column_order():
    """rank reads a CSV whole, a run in its source's column order: a copy of the run's target
    under another name hashed otherwise, and its model's contamination went unsaid (a trial)."""
    from transferkit.data import Domain
    from transferkit.ranking.rank import _in_columns

    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    read = Domain("copy.csv", x, np.arange(8) % 2, ["n", "y"], (0.0, 23.0), {"columns": ["b", "a", "id"]})
    as_run = Domain("t.csv", x[:, [1, 0]], np.arange(8) % 2, ["n", "y"], (0.0, 20.0))  # the model's columns: a, b
    assert _in_columns(read, ["a", "b"]) == as_run.content_fingerprint() != read.content_fingerprint()
    assert _in_columns(read, ["a", "z"]) is None and _in_columns(read, None) is None


def test_rank_reads_id_columns_of_target_and_source_csvs_as_names(tmp_path, monkeypatch, capsys):
    """rank had no --id-column: a text id was refused with the experiment file's field for a fix (a trial)."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)

    def write(path, prefix, n):
        y = np.arange(n) % 2
        rows = ["pid,a,b,label"] + [f"{prefix}{i},{y[i] + rng.normal(0, .3):.3f},{rng.normal():.3f},{y[i]}" for i in range(n)]
        path.write_text("\n".join(rows) + "\n")

    write(tmp_path / "s.csv", "A", 60)
    write(tmp_path / "t.csv", "B", 40)
    base = ["rank", str(tmp_path / "t.csv"), "--source", str(tmp_path / "s.csv"), "--source-epochs", "1", "--shots", "3",
            "--scores", "knn", "--by", "knn", "--quiet"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "no.json")]) == 2
    assert "column 'pid' is not numeric" in capsys.readouterr().err and not (tmp_path / "no.json").exists()
    assert main([*base, "--id-column", "pid", "--out", str(tmp_path / "t_only.json")]) == 2  # the source's too
    assert "--source-id-column for a source" in capsys.readouterr().err
    assert main([*base, "--id-column", "pid", "--source-id-column", "pid", "--out", str(tmp_path / "r.json")]) == 0
    (tmp_path / "s2.csv").write_text((tmp_path / "s.csv").read_text().replace(",label\n", ",kind\n", 1))
    other = ["rank", str(tmp_path / "t.csv"), "--source", str(tmp_path / "s2.csv"), *base[4:]]  # no --id-column
    assert main([*other, "--out", str(tmp_path / "no.json")]) == 2  # the source's missing label column, said first: it
    assert "s2.csv: no label column 'label'" in capsys.readouterr().err  # had been "column 'pid' is not numeric" (a trial)
    assert json.loads((tmp_path / "r.json").read_text())["candidates"]
    y = np.arange(60) % 2  # a source without column names: the target is read whole, its id column only by the option
    np.savez(tmp_path / "s.npz", x=np.stack([y + rng.normal(0, .3, 60), rng.normal(size=60)], 1).astype(np.float32), y=y)
    npz = ["rank", str(tmp_path / "t.csv"), "--source", str(tmp_path / "s.npz"), *base[4:]]
    assert main([*npz, "--out", str(tmp_path / "n.json")]) == 2 and "'pid' is not numeric" in capsys.readouterr().err
    assert main([*npz, "--id-column", "pid", "--out", str(tmp_path / "n.json")]) == 0


def test_rank_flags_a_runs_model_on_a_copy_of_its_csv_target(tmp_path, monkeypatch):
    """The run reads its target in the source's column order, rank reads a CSV whole: the copy hashed
    otherwise, and the run's fine-tuned model was 'best' on the examples it trained on (a trial)."""
    import shutil

    import yaml

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for name, cols, n in (("s.csv", "a,b", 60), ("t.csv", "b,a", 40)):
        y = np.arange(n) % 2
        rows = [f"{cols},label"] + [f"{rng.normal():.3f},{y[i] + rng.normal(0, .3):.3f},{y[i]}" for i in range(n)]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
    cfg = {"source": {"data": "s.csv", "epochs": 1}, "target": {"data": "t.csv", "shots": [3]},
           "methods": [{"name": "head", "params": {"steps": 3}}], "seeds": 1}  # fmt: skip
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "exp.yaml", "--out", "run", "--quiet"]) == 0
    shutil.copy(tmp_path / "t.csv", tmp_path / "copy.csv")
    args = ["--model", "run", "--shots", "3", "--scores", "knn", "--by", "knn", "--quiet"]
    assert main(["rank", "copy.csv", *args, "--out", "r.json"]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["trained_on_scored"]  # was {} for the copy


def test_a_target_stretched_to_a_sources_proportions_is_said_and_the_reference_has_no_leep(tmp_path):
    """A 12x25 target read by a 16x25 source's model: run said "squashed", rank nothing; and the
    random-weights reference was given leep and nce from its random head (its nce beat both sources)."""
    from transferkit.ranking.rank import rank

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", x=rng.integers(0, 256, (45, 16, 25)).astype(np.uint8), y=np.arange(45) % 3)
    np.savez(tmp_path / "t.npz", x=rng.integers(0, 256, (30, 12, 25)).astype(np.uint8), y=np.arange(30) % 3)
    with pytest.warns(UserWarning, match="resized to the model's 16x25 input") as raised:
        result = rank(str(tmp_path / "t.npz"), shots=2, sources=[str(tmp_path / "s.npz")], source_epochs=1,
                      scores=["leep", "nce", "logme"], by="logme")  # fmt: skip
    assert {w.filename for w in raised if "16x25" in str(w.message)} == {__file__}  # not contextlib's (rank's decorator)
    said = [w for w in result["warnings"] if "resized to the model's 16x25 input" in w]
    assert len(said) == 1 and said[0].startswith("candidate s.npz: ") and "squashed" in said[0], result["warnings"]
    reference = [r for r in result["candidates"] if r["reference"]]
    assert reference and all(r["leep"] is None and r["nce"] is None and r["logme"] is not None for r in reference)
    assert any(r["leep"] is not None for r in result["candidates"] if not r["reference"])  # the source's head cut
    assert result["best_beats_reference"] is not None  # by logme: judged
    for by in ("leep", "nce"):  # the reference has no such score: said, not a silent None
        result = rank(str(tmp_path / "t.npz"), shots=2, sources=[str(tmp_path / "s.npz")], source_epochs=1,
                      scores=["leep", "nce", "logme"], by=by)  # fmt: skip
        assert result["best_beats_reference"] is None
        assert any(w.startswith(f"--by {by} reads a source head's predictions") for w in result["warnings"])


def test_an_rgba_target_ranked_against_an_rgb_source_is_said_to_lose_its_4th_channel(tmp_path):
    """run and predict said it; rank built its recipes with the notes left to itself and said nothing."""
    from tests.conftest import rgba_pair
    from transferkit.ranking.rank import rank

    source, target = rgba_pair(tmp_path, n_source=45)
    result = rank(str(target), shots=2, sources=[str(source)], source_epochs=1, scores=["logme"], reference=False)
    said = [w for w in result["warnings"] if "has 4 channels and the model reads 3: the 4th is dropped" in w]
    assert len(said) == 1, result["warnings"]


def test_a_target_shrunk_to_a_smaller_sources_input_is_said_per_candidate(tmp_path):
    """A trial's 28x28 target ranked optdigits (8x8) near the bottom with nothing said; run warns of the
    same shrinking, and rank's low score is partly the 8x8 input, not the source alone."""
    from transferkit.ranking.rank import rank

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "small.npz", x=rng.integers(0, 256, (45, 8, 8)).astype(np.uint8), y=np.arange(45) % 3)
    np.savez(tmp_path / "same.npz", x=rng.integers(0, 256, (45, 20, 20)).astype(np.uint8), y=np.arange(45) % 3)
    np.savez(tmp_path / "t.npz", x=rng.integers(0, 256, (30, 20, 20)).astype(np.uint8), y=np.arange(30) % 3)
    result = rank(str(tmp_path / "t.npz"), shots=2, sources=[str(tmp_path / "small.npz"), str(tmp_path / "same.npz")],
                  source_epochs=1, scores=["logme"], reference=False)  # fmt: skip
    said = [w for w in result["warnings"] if "are shrunk to" in w]
    assert len(said) == 1 and said[0].startswith("candidate small.npz: ") and "20x20 images are shrunk to 8x8" in said[0]
    assert "to compare it at 20x20, run it with `model.input_shape: [1, 20, 20]` (`transferkit run`)" in said[0]


def test_hscore_topped_by_the_random_weights_reference_is_said():
    """A trial's 62 characters: the random-init reference had the highest hscore of 9 candidates (54.9 of 61)."""
    from transferkit.ranking.rank import hscore_reference_warning

    rows = [{"candidate": "random-init", "reference": True, "hscore": 54.9},
            {"candidate": "mnist5k", "reference": False, "hscore": 40.2},
            {"candidate": "fonts.npz", "reference": False, "hscore": None}]
    said = hscore_reference_warning(rows, 61)
    assert said.startswith("hscore ranks the reference random-init (random weights) above every source (54.90 of its "
                           "maximum 61)")  # fmt: skip
    rows[1]["hscore"] = 55.0
    assert hscore_reference_warning(rows, 61) is None  # a source on top
    assert hscore_reference_warning(rows[:1], 61) is None  # nothing to rank it against


def test_random_weights_above_every_source_on_held_out_scores_is_said():
    """A trial: the reference scored knn 0.76 and linear_cv 0.76 against at best 0.64 and 0.72 for the
    sources, rank said nothing, and head from its best source lost 9.3 points to scratch."""
    from transferkit.ranking.rank import held_out_reference_warning

    rows = [{"candidate": "random-init", "reference": True, "knn": 0.76, "linear_cv": 0.76},
            {"candidate": "fashion[0-4]", "reference": False, "knn": 0.64, "linear_cv": 0.72},
            {"candidate": "mnist5k", "reference": False, "knn": 0.60, "linear_cv": None}]
    said = held_out_reference_warning(rows, 25)
    assert said.startswith("random weights (the reference) score above every source on held-out examples (knn 0.76 "
                           "against at best 0.64 and linear_cv 0.76 against at best 0.72, over 25 labelled examples, "
                           "each 1/25 of a score)")  # fmt: skip
    rows[1]["linear_cv"] = 0.76  # a tie on one: not above every source there
    assert held_out_reference_warning(rows, 25) is None
    rows[1]["linear_cv"] = 0.72
    assert held_out_reference_warning([{**r, "linear_cv": None} for r in rows], 25).startswith(
        "random weights (the reference) score above every source on held-out examples (knn 0.76")  # knn alone
    assert held_out_reference_warning(rows[1:], 25) is None  # no reference ranked


def test_rank_gives_the_held_out_reference_warning_with_its_rows(tmp_path, monkeypatch):
    """The warning above is computed from rank's own rows, beside the held-out scores, and reaches its warnings."""
    import transferkit.ranking.rank as rank_module

    seen = []
    monkeypatch.setattr(rank_module, "held_out_reference_warning",
                        lambda rows, n: seen.append((sorted(r["candidate"] for r in rows), n)) or "SAID")  # fmt: skip
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", x=rng.integers(0, 256, (45, 12, 12)).astype(np.uint8), y=np.arange(45) % 3)
    np.savez(tmp_path / "t.npz", x=rng.integers(0, 256, (30, 12, 12)).astype(np.uint8), y=np.arange(30) % 3)
    result = rank_module.rank(str(tmp_path / "t.npz"), shots=3, sources=[str(tmp_path / "s.npz")], source_epochs=1,
                              scores=["logme", "knn"], cuts="last")  # fmt: skip
    assert "SAID" in result["warnings"] and seen and seen[0][1] == 9 and len(seen[0][0]) == 2
