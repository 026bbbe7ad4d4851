"""Every CLI command, end to end on tiny data, and the bad inputs: one line, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_experiment
from transferkit.cli import main


def _write(tmp_path, cfg: dict, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("mnist5k", "optdigits", "fashion-mnist", "cnn", "mlp", "scratch", "finetune", "l2sp", "head"):
        assert word in out


def test_python_dash_m_runs_the_cli():
    """``python -m transferkit`` failed: no __main__ module."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "transferkit", "list"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "mnist5k" in done.stdout, done.stderr
    bad = subprocess.run([sys.executable, "-m", "transferkit", "run", "missing.yaml"], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("transferkit: error:"), bad.stderr


def test_every_command_takes_threads(capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["list", "--threads", "1"]) == 0 and torch.get_num_threads() == 1
        torch.set_num_threads(2)
        assert main(["--threads", "1", "list"]) == 0 and torch.get_num_threads() == 1  # was "invalid choice: '1'"
    finally:
        torch.set_num_threads(before)
    assert main(["list", "--threads", "0"]) == 2
    assert "--threads 0 must be at least 1" in capsys.readouterr().err
    try:
        assert main(["list", "--threads", "99999"]) == 0  # capped at the cores, and said
        assert "--threads 99999 is more than the" in capsys.readouterr().err and torch.get_num_threads() < 99999
    finally:
        torch.set_num_threads(before)
    for command in ("run", "fewshot", "predict", "rank", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--threads N" in capsys.readouterr().out
    # argparse's own errors read like the tool's: one line, exit 2, the command's help named (usage first, before)
    for argv, said in ((["run", "x.yaml", "--sett", "seeds=1"], "transferkit run: unrecognized arguments: --sett "
                        "seeds=1 (did you mean --set?). Fix: see `transferkit run --help`."),
                       (["run", "x.yaml", "--set", "seeds=1", "target.shots=1", "methods=[head]"],
                        "unrecognized arguments: target.shots=1 methods=[head]. Fix: give each override its own --set: "
                        "`--set target.shots=1 --set methods=[head]`."),
                       (["runn"], "invalid choice: 'runn'"), (["rank", "t.npz", "--shots", "abc"], "invalid int value"),
                       (["--verison", "list"], "transferkit: error: unrecognized arguments: --verison (did you mean --version?). "
                                               "Fix: see `transferkit --help`.")):  # fmt: skip
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("transferkit ")


@pytest.mark.slow
def test_run_then_predict_on_user_npz(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    exp = _write(tmp_path, tiny_experiment("source.npz", "target.npz"))  # relative to the YAML's folder
    out = tmp_path / "run"
    assert main(["run", str(exp), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "finetune" in printed and "gain vs scratch" in printed

    summary = json.loads((out / "summary.json").read_text())
    assert {"results", "source", "target", "seeds", "wall_time_s", "versions"} <= set(summary)
    assert 0 < summary["report_seconds"] < summary["wall_time_s"]  # writing the folder counts in the wall time
    assert summary["wall_time_s"] == pytest.approx(summary["evaluation_seconds"] + summary["report_seconds"])
    assert summary["shared"] == "cnn" and summary["shared_config"] == "auto"  # what auto built, said
    assert "- **Shared layers**: `cnn` (what `model.shared: auto` chose for these inputs)" in (out / "report.md").read_text()
    assert f"({summary['report_seconds']:.1f} s of it writing the run folder" in (out / "report.md").read_text()
    assert int(summary["versions"]["torch_threads"]) >= 1  # results reproduce for a given thread count
    assert "label-free criterion" not in summary["model_selection"]  # no adaptation method ran: nothing chosen so
    row = next(r for r in summary["results"] if r["method"] == "finetune" and r["shots"] == 5)
    assert len(row["accuracies"]) == 2 and len(row["accuracy_ci95"]) == 2
    assert isinstance(row["negative_transfer"], bool) and row["gain_vs_scratch"] is not None
    assert (out / "report.md").exists() and (out / "plots" / "accuracy_vs_shots.png").exists()
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("method,shots,seed,phase,step,epoch,loss")
    assert yaml.safe_load((out / "config.yaml").read_text())["seeds"] == [0, 1]
    assert (out / "models" / "finetune_k5_seed0.safetensors").exists()

    x = np.load(tgt)["x"][:5]
    np.savez(tmp_path / "inputs.npz", x=x)
    preds = tmp_path / "preds.csv"
    assert "`models/finetune_k5_seed0`" in (out / "report.md").read_text()  # the deployed model is named
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "inputs.npz"), "--out", str(preds)]) == 0
    assert "(model finetune_k5_seed0)" in capsys.readouterr().out
    lines = preds.read_text().splitlines()
    assert lines[0] == "input,class_index,class_name,probability" and len(lines) == 6
    assert lines[1].split(",")[2] in {"a", "b", "c"}
    assert main(["predict", str(out), str(tmp_path / "inputs.npz"), "--out", str(tmp_path / "p.csv"), "--proba"]) == 0
    every = [ln.split(",") for ln in (tmp_path / "p.csv").read_text().splitlines()]
    assert every[0] == ["input", "class_index", "class_name", "probability", "p_a", "p_b", "p_c"]
    for row, plain in zip(every[1:], lines[1:], strict=True):  # every class's probability; the top one is the row's
        assert row[:4] == plain.split(",") and abs(sum(map(float, row[4:])) - 1) < 1e-5
        assert float(row[4 + int(row[1])]) == float(row[3])
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "inputs.npz"), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "input,class_index,class_name,probability,p_a,p_b,p_c"
    np.savez(tmp_path / "hwc.npz", x=x[..., None] if x.ndim == 3 else x.transpose(0, 2, 3, 1))  # channels-last
    assert main(["predict", str(out), str(tmp_path / "hwc.npz"), "--out", str(tmp_path / "hwc.csv")]) == 0
    assert (tmp_path / "hwc.csv").read_text() == preds.read_text().replace("inputs", "hwc")
    capsys.readouterr()
    np.savez(tmp_path / "unit.npz", x=x / x.max())  # 0..1 floats to a model trained on 0..250: read on 0..1, as run would
    assert main(["predict", str(out), str(tmp_path / "unit.npz"), "--out", str(tmp_path / "unit.csv")]) == 0
    streams = capsys.readouterr()
    assert "transferkit: warning: " in streams.err and "float images in 0..1 beside a model whose training images were " \
        "on 0..249.929: read on their own range, 0..1" in streams.err  # fmt: skip
    classes = [ln.split(",")[1:3] for ln in preds.read_text().splitlines()[1:]]
    assert [ln.split(",")[1:3] for ln in (tmp_path / "unit.csv").read_text().splitlines()[1:]] == classes
    np.savez(tmp_path / "dim.npz", x=x / x.max() * 16)  # 0..16 floats to it: not 0..1, so on the model's scale, warned
    assert main(["predict", str(out), str(tmp_path / "dim.npz")]) == 0
    streams = capsys.readouterr()
    assert f"transferkit: warning: {tmp_path / 'dim.npz'}: the inputs span" in streams.err and "warning" not in streams.out  # the CSV stays clean
    np.savez(tmp_path / "black.npz", x=np.zeros_like(x, dtype=np.uint8))  # uint8: its scale is known, dark is dark
    assert main(["predict", str(out), str(tmp_path / "black.npz")]) == 0
    said = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]  # no scale note: only that they are blank
    assert len(said) == 1 and "5 of the 5 inputs are blank (one value throughout, e.g. 0)" in said[0]
    assert "predicting with model finetune_k5_seed0" in streams.err
    capsys.readouterr()
    np.savez(tmp_path / "empty.npz", x=x[:0])
    assert "no inputs" in _bad(tmp_path, capsys, ["predict", str(out), str(tmp_path / "empty.npz")])


@pytest.mark.slow
def test_run_on_image_folder_target(tmp_path, image_npz):
    from PIL import Image

    src, tgt = image_npz
    data = np.load(tgt)
    for i, (img, label) in enumerate(zip(data["x"], data["y"], strict=True)):
        folder = tmp_path / "imgs" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.astype(np.uint8)).save(folder / f"{i}.png")
    cfg = tiny_experiment(src, tmp_path / "imgs", seeds=1)
    cfg["methods"] = [{"name": "scratch", "params": {"steps": 5}}, {"name": "head", "params": {"steps": 5}}]
    out = tmp_path / "run"
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"]["classes"] == ["class_0", "class_1", "class_2"]


def _bad(tmp_path, capsys, args) -> str:
    out = tmp_path / "never"
    code = main([*args, "--out", str(out)] if args[0] == "run" else args)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
    return err


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.update(methods=["finetun"]), "unknown method 'finetun'"),
        (lambda c: c.update(methods=["head", {"lora2": 1}]), "field `methods.1`: unknown method 'lora2'"),  # name first
        (lambda c: c.update(methods=[{"lora": 1}]), "method 'lora' has parameters 1, not a mapping"),
        (lambda c: c["target"].update(data="nope.npz"), "does not exist"),
        (lambda c: c["target"].update(data="fashion"), "unknown domain 'fashion'"),
        (lambda c: c["model"].update(shared="resnet9"), "unknown shared-layer architecture"),
        (lambda c: c.update(seedz=3), "seedz"),
        (lambda c: c.update(seeds=[0, 1, 0]), "seeds must be distinct, [0] repeat"),
        (lambda c: c["target"].update(shots=[5, 1, 5]), "shots must be distinct, [5] repeat"),
        (lambda c: c.update(seeds=[]), "seeds must list at least one seed"),
        # session 23's trial: these passed validation, then failed in numpy or torch with a traceback
        (lambda c: c.update(seeds=[-1]), "seeds must be whole numbers from 0 to 4294967295"),
        (lambda c: c.update(seeds=99999999999999999999), "seeds, a count, must be at most 10000"),
        (lambda c: c.update(seeds=["1", 1]), "seeds must be distinct, [1] repeat"),  # one seed, written twice
        (lambda c: c["target"].update(split_seed=-5), "field `target.split_seed`: Input should be greater than or equal"),
        (lambda c: c.update(name="../../escape/x"), "field `name`: the name must be a plain folder name"),
        (lambda c: c.update(name="a\nb"), "field `name`: the name must be a plain folder name"),
        (lambda c: c["target"].update(pad=3.5), "field `target.pad`: Input should be a valid integer, got a number "
                                                "with a fractional part or input should be 'auto' (got 3.5)"),  # was `target.pad.int`
        (lambda c: c["target"].update(shots=[-1]), "shots"),
        (lambda c: c["target"].update(shots=2.5), "field `target.shots`: shots must be a whole number or a list of whole "
                                                  "numbers, e.g. [1, 5, 10] (got 2.5)"),  # was "Input should be a valid list"
        # a trial: `epochs: true` trained one epoch, `max_per_class: yes` kept one image a class, silently
        (lambda c: c["source"].update(epochs=True), "field `source.epochs`: Input should be a number, not a truth value"),
        (lambda c: c["target"].update(max_per_class=True), "field `target.max_per_class`: Input should be a number"),
        (lambda c: c["target"].update(shots=[True, 5]), "Input should be a list of numbers, not of truth values"),
        (lambda c: c.update(methods=[{"name": "head", "params": {"steps": True}}]),
         "method 'head': steps: Input should be a number, not a truth value (YAML reads yes, no, on, off, true and false "
         "as such) (got True). Fix: write the number itself."),
        (lambda c: c.update(seeds=True), "field `seeds`: seeds is a count (seeds: 3 runs seeds 0, 1, 2) or a list of seeds"),
        (lambda c: c["target"].update(classes=[True, False]), 'not names (got [True, False]). Fix: quote them: ["yes", "no"].'),
        (lambda c: c["target"].update(shots=[50]), "fewer than shots=50"),
        (lambda c: c["target"].update(max_per_class=3), "(target.max_per_class=3 keeps that many per class"),
        # a cap above every class's size did not cause it: not blamed (a new user's R52 run was told to raise it)
        (lambda c: c["target"].update(max_per_class=100, shots=[50]), "fewer than shots=50, as do 2 more classes: 'b', 'c'."),
        (lambda c: c.update(methods=[{"name": "finetune", "params": {"lr": -1}}]), "lr: Input should be greater than 0"),
        (lambda c: c.update(methods=["source_only"]) or c["target"].update(classes=["a", "b"]),
         "must have the same classes (classes only in the source: ['c'])"),
        (lambda c: c.update(methods=["source_only"]) or c["target"].update(classes=["a", "b"]),
         'the target\'s classes are all source classes, so the source can keep only them: source.classes: ["a", "b"]; '
         "or drop it from `methods`."),
        # every method that keeps the source's head, in one error (a trial dropped them one run at a time)
        (lambda c: c.update(methods=["source_only", "adabn", "scratch"]) or c["target"].update(classes=["a", "b"]),
         "methods 'source_only', 'adabn' keep the source's head (they apply or adapt it, with its classes)"),
        (lambda c: c.update(methods=["source_only"]) or c["source"].update(classes=["a", "b"]),
         'the source\'s classes are all target classes: keep only those in the target (a smaller task) with '
         'target.classes: ["a", "b"]; or drop it from `methods`.'),
    ],
)
def test_bad_experiments(tmp_path, image_npz, capsys, mutate, message):
    src, tgt = image_npz
    cfg = tiny_experiment(src, tgt)
    mutate(cfg)
    err = _bad(tmp_path, capsys, ["run", str(_write(tmp_path, cfg))])
    assert message in err


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((30, 12, 12)), "y": np.arange(30) % 3 + 0.5}, "labels must be integers"),
        ({"x": np.zeros((30, 12, 12)), "y": np.arange(30) % 3 + 5}, "out of range"),
        ({"x": np.full((30, 12, 12), np.nan), "y": np.arange(30) % 3}, "NaN"),
        ({"x": np.zeros((30, 2, 2, 2, 2)), "y": np.arange(30) % 3}, "expected"),
        ({"x": np.zeros((0, 12, 12)), "y": np.zeros(0, dtype=int)}, "empty"),
    ],
)
def test_bad_target_files(tmp_path, image_npz, capsys, arrays, message):
    src, _ = image_npz
    bad = tmp_path / "bad.npz"
    arrays = dict(arrays)
    if "out of range" in message:
        arrays["classes"] = np.array(["a", "b", "c"])
    np.savez(bad, **arrays)
    err = _bad(tmp_path, capsys, ["run", str(_write(tmp_path, tiny_experiment(src, bad)))])
    assert message in err


def test_an_experiment_file_that_is_not_utf8_text_is_named(tmp_path, capsys):
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))  # a traceback before
    assert "latin1.yaml: not a UTF-8 text file" in _bad(tmp_path, capsys, ["run", str(tmp_path / "latin1.yaml")])


def test_bad_yaml_and_missing_experiment(tmp_path, capsys):
    p = tmp_path / "broken.yaml"
    p.write_text("target: [unclosed\n")
    assert "not valid YAML" in _bad(tmp_path, capsys, ["run", str(p)])
    assert "does not exist" in _bad(tmp_path, capsys, ["run", str(tmp_path / "none.yaml")])
    twice = tmp_path / "twice.yaml"  # plain YAML would keep the second list silently
    twice.write_text("target: {data: optdigits}\nmethods: [scratch, finetune]\nseeds: 1\nmethods: [head]\n")
    assert "field 'methods' is given twice (line 4)" in _bad(tmp_path, capsys, ["run", str(twice)])
    nested = tmp_path / "nested.yaml"
    nested.write_text("target:\n  data: optdigits\n  data: mnist5k\n")
    assert "field 'data' is given twice (line 3)" in _bad(tmp_path, capsys, ["run", str(nested)])
    from transferkit.config import read_experiment

    merged = tmp_path / "merged.yaml"  # anchors and merge keys are plain YAML and keep working
    merged.write_text("base: &b {epochs: 2}\nsource:\n  <<: *b\n  data: mnist5k\ntarget: {data: optdigits}\n")
    raw, _ = read_experiment(merged, None, None, "x")
    assert raw["source"] == {"epochs": 2, "data": "mnist5k"}


def test_predict_bad_run_dir(tmp_path, capsys):
    assert "not a finished transferkit run" in _bad(tmp_path, capsys, ["predict", str(tmp_path), str(tmp_path)])


def test_a_few_shot_folder_and_wrong_out_paths_are_one_line_errors(tmp_path, image_npz, capsys):
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "summary.json").write_text(json.dumps({"kind": "fewshot", "results": []}))  # what `fewshot` writes: no deploy
    assert "few-shot evaluation folder" in _bad(tmp_path, capsys, ["predict", str(fs), str(image_npz[1])])
    assert "few-shot evaluation folder" in _bad(tmp_path, capsys, ["rank", str(image_npz[1]), "--model", str(fs)])
    a_file = tmp_path / "taken.csv"
    a_file.write_text("x\n")
    exp = _write(tmp_path, tiny_experiment(*image_npz))
    assert main(["run", str(exp), "--out", str(a_file)]) == 2  # `fewshot` checks --out with the same code (atomic_folder)
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err and a_file.read_text() == "x\n"
    assert main(["predict", str(fs), str(image_npz[1]), "--out", str(tmp_path)]) == 2  # a folder, checked first
    assert "is a folder" in capsys.readouterr().err


def test_outputs_that_cannot_be_written_are_refused_before_the_work(tmp_path, image_npz, capsys, monkeypatch):
    """Session 23's trial: `run --out FILE/sub` and an unwritable folder failed with a traceback
    after training, and `predict --out` its own input file replaced the inputs."""
    import tempfile

    import transferkit.atomic as atomic

    exp = _write(tmp_path, tiny_experiment(*image_npz))
    (tmp_path / "afile").write_text("x\n")
    def refused_run(out) -> str:
        assert main(["run", str(exp), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and not out.exists()
        return err

    assert "afile is a file, not a folder" in refused_run(tmp_path / "afile" / "sub")

    def refused(*args, **kwargs):  # as an immutable folder answers, even to root
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.tempfile, "TemporaryFile", refused)
    trained = []
    monkeypatch.setattr("transferkit.api.run_protocol", lambda *a, **k: trained.append(1))
    err = refused_run(tmp_path / "ro" / "run")
    assert "cannot write in" in err and "Operation not permitted" in err and not trained
    monkeypatch.setattr(atomic.tempfile, "TemporaryFile", tempfile.TemporaryFile)
    cfg = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "head", "params": {"steps": 2}}])
    cfg["target"]["shots"] = [2]
    monkeypatch.undo()
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    np.savez(tmp_path / "in.npz", x=np.load(image_npz[1])["x"][:3])
    before = (tmp_path / "in.npz").read_bytes()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz"), "--out", str(tmp_path / "in.npz")]) == 2
    assert "is the input file itself" in capsys.readouterr().err and (tmp_path / "in.npz").read_bytes() == before
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz"), "--text-column", "body"]) == 2
    assert "this model reads images, not texts" in capsys.readouterr().err  # was silently ignored


def test_existing_output_folder_is_refused(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code = main(["run", str(_write(tmp_path, tiny_experiment(src, tgt))), "--out", str(out)])
    assert code == 2 and "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


@pytest.mark.slow
def test_demo_command_runs_with_small_budget(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--quiet", "--set", "seeds=1", "--set", "target.shots=[1]",
            "--set", "source.epochs=1", "--set", "methods=[scratch,source_only,head]"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"]["data"] == "mnist5k" and summary["target"]["data"] == "optdigits"
    assert {r["method"] for r in summary["results"]} == {"scratch", "source_only", "head"}


def test_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "many_lines.py"  # a command whose output outlives its reader (`predict ... | head`)
    script.write_text(
        "import sys\nimport transferkit.commands.list as cmd\nfrom transferkit.cli import main\n"
        "cmd.execute = lambda args: [print(i) for i in range(200_000)] and 0\nsys.exit(main(['list']))\n"
    )
    proc = subprocess.run(f"{sys.executable} {script} | head -n 1", shell=True, capture_output=True, text=True)
    assert proc.stdout == "0\n" and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_run_without_scratch_says_so_where_labels_were_used(tmp_path, image_npz, capsys):
    cfg = tiny_experiment(*image_npz, seeds=2, methods=["source_only", {"name": "head", "params": {"steps": 3}}])
    cfg["target"]["shots"] = [0, 2]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("no scratch baseline"))
    assert line.startswith("no scratch baseline at k = 2:") and "k = 0" not in line  # k = 0 has source_only
    assert "No `scratch` baseline at k = 2:" in (tmp_path / "run" / "report.md").read_text()


def test_a_one_class_target_or_source_file_is_refused(tmp_path, image_npz, capsys):
    """The API refused them; the CLI ran them (scratch '100 %' on one class, a source that learnt nothing)."""
    src, tgt = image_npz
    for path in (src, tgt):
        d = np.load(path)
        keep = d["y"] == 0
        np.savez(tmp_path / f"one_{path.stem}.npz", x=d["x"][keep], y=d["y"][keep])  # no class list: labels only
    for role, src_file, tgt_file in (("target", src, tmp_path / "one_target.npz"),
                                     ("source", tmp_path / "one_source.npz", tgt)):  # fmt: skip
        cfg = tiny_experiment(src_file, tgt_file, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
        assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / role)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"the {role}" in err and "one class only ('0')" in err, err
        assert not (tmp_path / role).exists()


def test_a_source_file_whose_labels_read_as_a_measurement_is_refused_as_a_target_is(tmp_path, capsys):
    """A CSV of prices 1.0..300.0 was refused as the target and trained as a source of 143 classes."""
    rng = np.random.default_rng(0)
    for name, labels in (("price", [f"{v}.0" for v in rng.integers(1, 300, 200)]), ("ok", rng.integers(0, 3, 200))):
        rows = [",".join(f"{v:.3f}" for v in x) + f",{y}" for x, y in zip(rng.normal(size=(200, 4)), labels, strict=True)]
        (tmp_path / f"{name}.csv").write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    price, ok = tmp_path / "price.csv", tmp_path / "ok.csv"
    for role, src_file, tgt_file in (("target", ok, price), ("source", price, ok)):
        cfg = tiny_experiment(src_file, tgt_file, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
        del cfg["model"]  # (its options are a CNN's; these are vectors)
        assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / role)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"the {role}'s labels take 151 distinct values among its 200 examples" in err and "measurement" in err
        assert not (tmp_path / role).exists()
    assert main(["rank", str(ok), "--source", str(price), "--quiet", "--out", str(tmp_path / "rank.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"the source {price}'s labels take 151 distinct values" in err, err
    assert "(--source-label-column)" in err and "label_column:" not in err  # rank's option, not a config key
    assert main(["rank", str(price), "--source", str(ok), "--quiet", "--out", str(tmp_path / "rank.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "the target's labels take 151 distinct values" in err and "(--label-column)" in err, err


def test_a_run_without_saved_models_does_not_promise_a_deployed_model(tmp_path, image_npz):
    cfg = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "scratch", "params": {"steps": 3}}])
    cfg["target"]["shots"], cfg["save_models"] = [2], False
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "`models/scratch_k2_seed0` (not saved: `save_models: false`" in report
    assert "the first seed's model, trained on 2 labelled example(s) per class; named by `deploy:`" in report
    assert not (tmp_path / "run" / "models").exists()


def _scratch_and_head_run(tmp_path, image_npz) -> tuple:
    """A finished run of scratch and head at k=2: (its summary.json path, that summary)."""
    cfg = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "scratch", "params": {"steps": 3}},
                                                        {"name": "head", "params": {"steps": 3}}])  # fmt: skip
    cfg["target"]["shots"] = [2]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary_path = tmp_path / "run" / "summary.json"
    return summary_path, json.loads(summary_path.read_text())


def test_predict_warns_when_the_model_it_uses_lost_to_the_unadapted_source(tmp_path, image_npz, capsys):
    summary_path, summary = _scratch_and_head_run(tmp_path, image_npz)
    row = next(r for r in summary["results"] if r["method"] == "head")
    row.update(negative_transfer=False, below_unadapted=True, gain_vs_unadapted=-0.1, gain_vs_unadapted_ci95=[-0.2, -0.01])
    summary_path.write_text(json.dumps(summary))  # as if the run had found it
    np.savez(tmp_path / "in.npz", x=np.load(image_npz[1])["x"][:3])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert ("transferkit: warning: head at k=2 scored below the source model as it is (source_only) in this run "
            "(-10.0 points") in capsys.readouterr().err  # fmt: skip


def test_predict_warns_when_the_model_it_uses_was_flagged_negative(tmp_path, image_npz, capsys):
    summary_path, summary = _scratch_and_head_run(tmp_path, image_npz)
    summary["negative_transfer"] = ["head at k=2"]  # as if the run had found it
    next(r for r in summary["results"] if r["method"] == "head")["negative_transfer"] = True
    summary_path.write_text(json.dumps(summary))
    np.savez(tmp_path / "in.npz", x=np.load(image_npz[1])["x"][:3])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "transferkit: warning: head at k=2 was flagged as negative transfer in this run (worse than scratch)" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz"), "--method", "scratch"]) == 0
    assert "flagged" not in capsys.readouterr().err
    summary["negative_transfer"], summary["baseline"] = ["head at k=2 (vs source_only)"], {"2": "source_only"}
    summary_path.write_text(json.dumps(summary))  # flagged against source_only: the same warning, its baseline named
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "flagged as negative transfer in this run (worse than source_only)" in capsys.readouterr().err
    from transferkit.report.markdown import render_report

    assert "**flagged as negative transfer in this run**" in render_report({**summary, "wall_time_s": 1.0}, {})
    y = np.load(image_npz[1])["y"]  # 3 balanced classes in the fixture: a test split near a third each
    assert 0.3 <= summary["target"]["majority_rate"] <= 0.4 and summary["target"]["majority_class"] in ("a", "b", "c")
    report = render_report(summary, {})
    assert "always predicting its most frequent class" in report and len(y) > 0
    scratch = next(r for r in summary["results"] if r["method"] == "scratch")
    assert ("does not beat the most frequent class" in report) == (scratch["accuracy_mean"] <= summary["target"]["majority_rate"])
    scratch["accuracy_mean"] = 0.2  # below the trivial rule: said so
    assert "**`scratch` does not beat the most frequent class" in render_report(summary, {})
    counts = summary["target"]["test_per_class"]
    for r in summary["results"]:  # the per-class accuracies, weighted by their test counts, give the accuracy
        per = r["per_class_accuracy"]
        weighted = sum(counts[c] * per[c] for c in per) / sum(counts.values())
        if r["method"] != "scratch":
            assert weighted == pytest.approx(r["accuracy_mean"], abs=1e-9)
        # balanced accuracy per seed; its mean over seeds is the unweighted mean of the per-class accuracies
        assert len(r["balanced_accuracies"]) == len(r["seeds"])
        assert np.mean(r["balanced_accuracies"]) == pytest.approx(np.mean(list(per.values())), abs=1e-9)
    assert f"| {summary['target']['classes'][0]} (n={counts[summary['target']['classes'][0]]}) |" in report
    assert "**Per-class test accuracy at k = 2**" in report


def test_the_report_names_a_pretrained_source_used_as_published():
    from transferkit.report.markdown import render_report

    summary = {"name": "t", "source": None, "pretrained": "mobilenet_v2_imagenet", "wall_time_s": 1.0,
               "target": {"data": "d", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
                          "pool_examples": 7, "recipe": {}, "shots": [1]},
               "seeds": [0], "model_selection": "fixed", "results": [], "negative_transfer": [], "skipped": []}  # fmt: skip
    assert "- **Source**: pretrained `mobilenet_v2_imagenet`, used as published" in render_report(summary, {})


def test_the_tools_warnings_are_one_line_on_the_cli(monkeypatch, capsys):
    """transferkit's warnings read like its errors: one line, no path into the tool's code."""
    import warnings

    import transferkit.commands.list as listing
    from transferkit.errors import TransferkitWarning

    def execute(args):
        warnings.warn("12 of 40 images were resized.", TransferkitWarning, stacklevel=2)
        warnings.warn("a library's own warning", UserWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(listing, "execute", execute)
    before = warnings.showwarning
    with pytest.warns(UserWarning, match="a library's own warning"):  # not the tool's: Python's usual way
        assert main(["list"]) == 0
    err = capsys.readouterr().err
    assert "transferkit: warning: 12 of 40 images were resized.\n" in err and "TransferkitWarning" not in err
    assert "a library's own warning" not in err
    assert warnings.showwarning is before  # restored for whoever called main()


def test_target_values_far_off_the_sources_scale_reach_the_report(tmp_path, capsys):
    """The loading warning (other units?) is kept in summary.json and report.md, and said again
    at the end of the console output, not only as it scrolls past."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = rng.uniform(0, 1, size=(60, 5)).astype(np.float32) + y[:, None]
    np.savez(tmp_path / "s.npz", x=x, y=y)
    np.savez(tmp_path / "t.npz", x=10 * x, y=y)  # the same features in other units
    cfg = {"source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz"), "shots": [2]},
           "model": {"options": {"hidden": 8, "feature_dim": 4}}, "seeds": 1, "methods": [{"scratch": {"steps": 2}}]}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["target"]["warnings"]) == 1 and "far outside the source's" in summary["target"]["warnings"][0]
    assert f"  - **Warning:** {summary['target']['warnings'][0]}" in (tmp_path / "run" / "report.md").read_text()
    assert f"warning: {summary['target']['warnings'][0]}" in out
    assert "values on the source's scale" in (tmp_path / "run" / "report.md").read_text()  # not the target's own
    np.savez(tmp_path / "own.npz", x=10 * x[:10])  # inputs like the run's own target, which its models trained on
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "own.npz")]) == 0
    assert "far outside" not in capsys.readouterr().err
    np.savez(tmp_path / "in.npz", x=100 * x[:10])
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "lie far outside the values the source and the run's target (its rows outside the test split) hold" in capsys.readouterr().err


def test_a_multichannel_series_is_read_on_the_sources_scale_and_said_so(tmp_path, capsys):
    """Series (N, C, L) for the cnn1d took their own min..max: a spike, or a missing extreme, moved
    every value against the source's (source_only 100 -> 75 % on the same generator's data)."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x = rng.normal(0, 1, size=(40, 3, 32)).astype(np.float32) + y[:, None, None]
    np.savez(tmp_path / "s.npz", x=x, y=y)
    np.savez(tmp_path / "t.npz", x=50 * x + 300, y=y)  # the same sensors in other units
    cfg = {"source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz"), "shots": [2]},
           "seeds": 1, "methods": [{"head": {"steps": 2}}]}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["shared"] == "cnn1d" and summary["target"]["recipe"]["value_range"] == summary["source"]["recipe"]["value_range"]
    assert len(summary["target"]["warnings"]) == 1 and "series are read on the source's scale" in summary["target"]["warnings"][0]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "values on the source's scale" in report and "series of 3 channels x 32 steps" in report
    dead = x.copy()
    dead[:, 2] = 0.0  # a disconnected sensor: said, and kept for the report
    np.savez(tmp_path / "dead.npz", x=dead, y=y)
    cfg["target"]["data"] = str(tmp_path / "dead.npz")
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run2")]) == 0
    said = json.loads((tmp_path / "run2" / "summary.json").read_text())["target"]["warnings"]
    assert len(said) == 1 and "sensor(s) 2 (channels, counting from 0) hold one value throughout" in said[0]


def test_a_dead_feature_column_is_said_and_kept_for_the_report(tmp_path, capsys):
    """A CSV target whose sensor is stuck at 0, inside the source's range: nothing was said (a trial's
    source_only 97.7 -> 89.9 %), where a series' dead sensor was."""
    import pandas as pd

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = rng.normal(0, 1, size=(60, 3)) + y[:, None]
    y = np.array(["off", "on"])[y]  # named classes: numbers alike in both files are warned of
    pd.DataFrame({"label": y, "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]}).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame({"label": y, "a": x[:, 0], "b": 0.0, "c": x[:, 2]}).to_csv(tmp_path / "t.csv", index=False)
    cfg = {"source": {"data": str(tmp_path / "s.csv"), "epochs": 1}, "target": {"data": str(tmp_path / "t.csv"), "shots": [0]},
           "seeds": 1, "methods": ["source_only"]}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run")]) == 0
    said = json.loads((tmp_path / "run" / "summary.json").read_text())["target"]["warnings"]
    assert len(said) == 1 and "feature column(s) 'b' at 0 (the source: " in said[0] and "a dead or stuck sensor?" in said[0]
    assert "a dead or stuck sensor?" in capsys.readouterr().err


def test_predict_reads_series_on_the_runs_range_whatever_their_span(tmp_path, capsys):
    """A source in 0..5 and a target in 0..1: predict re-read the target's own series on 0..1
    (the rule for unit-float pictures), not on the range the run read them on."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x = (rng.uniform(0, 0.2, (40, 3, 32)) + 0.8 * y[:, None, None]).astype(np.float32)
    np.savez(tmp_path / "s.npz", x=5 * x, y=y)
    np.savez(tmp_path / "t.npz", x=x, y=y)
    cfg = {"source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz"), "shots": [2]},
           "seeds": 1, "methods": [{"head": {"steps": 2}}]}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    np.savez(tmp_path / "in.npz", x=x[:6])
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "float images" not in capsys.readouterr().err
    np.savez(tmp_path / "flat.npz", x=x[:6].reshape(6, -1))  # a row per series: said as series, not as images
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "flat.npz")]) == 0
    assert "each row of 96 values is read as a series of 3 sensors x 32 steps" in capsys.readouterr().err


def test_series_padded_with_nan_at_the_start_are_told_to_resample_by_run_and_predict(tmp_path, capsys):
    """Shorter series aligned to the end, NaN before their values, were told to 'remove or impute
    them' (run and predict alike), the fix for missing readings, not for unequal lengths."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x, t = rng.normal(0, 1, size=(2, 40, 3, 32)).astype(np.float32) + y[:, None, None]
    padded = t.copy()
    padded[3, :, :10], padded[7, :, :5] = np.nan, np.nan
    np.savez(tmp_path / "s.npz", x=x, y=y)
    np.savez(tmp_path / "t.npz", x=padded, y=y)
    cfg = {"source": {"data": str(tmp_path / "s.npz"), "epochs": 1}, "target": {"data": str(tmp_path / "t.npz"), "shots": [2]},
           "seeds": 1, "methods": [{"head": {"steps": 2}}]}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the NaN come before the values, from the start: series of unequal lengths" in err
    assert "resample each series to one length" in err and "impute" not in err
    np.savez(tmp_path / "t.npz", x=t, y=y)
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    np.savez(tmp_path / "in.npz", x=padded[:8])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 2
    err = capsys.readouterr().err
    assert "the first '3'; in each, the NaN come before the values, from the start" in err
    assert "resample each series to one length" in err and "impute" not in err


def test_a_k0_baseline_below_the_most_frequent_class_is_said():
    from transferkit.report.markdown import trivial_baseline_lines

    summary = {"target": {"majority_rate": 0.517}, "baseline": {"0": "source_only", "3": "scratch"},
               "results": [{"method": "source_only", "shots": 0, "accuracy_mean": 0.483},
                           {"method": "mcc", "shots": 0, "accuracy_mean": 0.208},
                           {"method": "source_only", "shots": 3, "accuracy_mean": 0.40},  # not k=3's baseline
                           {"method": "scratch", "shots": 3, "accuracy_mean": 0.87}]}  # fmt: skip
    lines = trivial_baseline_lines(summary)
    assert lines[0].startswith("**`source_only` does not beat the most frequent class (51.7 %) at k = 0:**")
    assert len(lines) == 4  # scratch beats it at k = 3; source_only at k = 3 is no baseline, named with the others
    assert lines[2] == ("**Also no higher than always predicting the most frequent class (51.7 %):** `mcc` at k = 0; "
                        "`source_only` at k = 3. A gain over a baseline that scores lower still does not make them "
                        "useful.")  # a text run named only source_only, where mcc and dann sat below the rule too
    summary["results"][1]["accuracy_mean"] = summary["results"][2]["accuracy_mean"] = 0.6
    assert len(trivial_baseline_lines(summary)) == 2
    summary["results"][0]["accuracy_mean"], summary["results"][1]["accuracy_mean"] = 0.9, 0.3  # baseline fine, mcc not
    assert trivial_baseline_lines(summary)[0] == ("**No higher than always predicting the most frequent class (51.7 %):** "
                                                  "`mcc` at k = 0.")  # no word of a baseline that scores lower
    flipped = {"target": {"majority_rate": 0.621, "test_per_class": {"a": 36, "b": 22}}, "baseline": {"0": "source_only"},
               "results": [{"method": "source_only", "shots": 0, "accuracy_mean": 0.015}]}  # fmt: skip
    said = trivial_baseline_lines(flipped)[0]  # a source of flipped labels: "no better than" the rule, at 1.5 %
    assert said.startswith("**`source_only` scores 1.5 % at k = 0, below even guessing uniformly (50.0 %)")
    assert "(shifted or permuted?)" in said


def test_balanced_accuracy_weighs_each_class_present_equally():
    from transferkit.report.summary import balanced

    y = np.array([0] * 8 + [1] * 2 + [2] * 0)
    right = np.array([1.0] * 8 + [0.0, 1.0])  # the large class all right, the small one half
    assert balanced(right, y) == pytest.approx(0.75) and right.mean() == pytest.approx(0.9)


def _imbalanced_summary(counts: dict) -> dict:
    """A new user's SMS spam run (session 20): balanced k-shot draws, a test split of 87 % ham."""
    return {"target": {"majority_rate": 0.868, "test_per_class": counts}, "baseline": {"4": "scratch", "16": "scratch"},
            "results": [{"method": "scratch", "shots": 4, "accuracy_mean": 0.484, "balanced_accuracies": [0.55, 0.61]},
                        {"method": "scratch", "shots": 16, "accuracy_mean": 0.837, "balanced_accuracies": [0.88, 0.89]},
                        {"method": "head", "shots": 16, "accuracy_mean": 0.853, "balanced_accuracies": [0.9, 0.9]}]}


def test_on_an_imbalanced_split_balanced_accuracy_is_given_and_the_trivial_rule_judged_by_it(capsys):
    from transferkit.report.markdown import imbalance_lines, trivial_baseline_lines

    summary = _imbalanced_summary({"ham": 1260, "spam": 191})
    lines = imbalance_lines(summary)
    assert lines[0].startswith("**The test split is imbalanced** (ham: 1260, spam: 191), while the k labelled examples "
                               "are drawn equally from each class")  # fmt: skip
    assert "always predicting one class scores 50.0 %" in lines[0]
    assert "| scratch | 16 | 83.7 | 88.5 |  |" in lines and "| head | 16 | 85.3 | 90.0 |  |" in lines
    # with the intervals a run computes (an audit: the report pointed to balanced accuracy, with no interval)
    summary["results"][2].update(balanced_accuracy_ci95=[0.85, 0.95], balanced_gain=0.015, balanced_gain_ci95=[-0.03, 0.06])
    assert "| head | 16 | 85.3 | 90.0 [85.0, 95.0] | +1.5 [-3.0, +6.0] |" in imbalance_lines(summary)
    assert "table above" not in " ".join(imbalance_lines(summary))  # no per-class table here: none pointed to
    # a trial: the deployed model, trained on balanced draws, called 27 healthy patients severe where 5 were
    assert "take the classes to be equally frequent" in " ".join(imbalance_lines(summary))
    zero = _imbalanced_summary({"ham": 1260, "spam": 191})
    zero["results"] = [{**r, "shots": 0} for r in zero["results"]]  # no labelled draws: no such claim
    assert "equally frequent" not in " ".join(imbalance_lines(zero))
    many = _imbalanced_summary({f"c{i}": 60 if i == 0 else 10 for i in range(52)})  # R52: the table is left out
    many["target"]["classes"] = [f"c{i}" for i in range(52)]
    said = " ".join(imbalance_lines(many))
    assert "table above" not in said and "summary.json's `per_class_accuracy`" in said and "this target has 52" in said
    said = trivial_baseline_lines(summary)
    assert said[0].startswith("**`scratch`'s accuracy is no higher than always predicting the most frequent class "
                              "(86.8 %) at k = 4, 16.**")  # fmt: skip
    assert "its balanced accuracy is 58.0 %, 88.5 % there, against 50.0 % for that rule" in said[0]
    from transferkit.commands._shared import print_summary

    full = {**summary, "negative_transfer": [], "negative_transfer_checked": 0, "run_dir": "runs/x", "wall_time_s": 1.0,
            "results": [{**r, "seeds": [0, 1], "accuracy_ci95": None, "gain_vs_scratch": None, "gain_ci95": None,
                         "negative_transfer": False} for r in summary["results"]]}  # fmt: skip
    print_summary(full)
    out = capsys.readouterr().out
    assert "note: the test split is imbalanced; the run's report.md gives each row's balanced accuracy" in out
    assert "note: scratch's accuracy is no higher than always predicting the most frequent class" in out
    chance = _imbalanced_summary({"ham": 1260, "spam": 191})
    chance["results"][0]["balanced_accuracies"] = [0.45, 0.47]  # balanced accuracy at the rule's 50 % too
    assert trivial_baseline_lines(chance)[0].startswith("**`scratch` does not beat the most frequent class (86.8 %)")
    even = _imbalanced_summary({"ham": 700, "spam": 600})  # within 1.5 : 1: accuracy says enough
    assert imbalance_lines(even) == []
    unlabelled = _imbalanced_summary({"ham": 1260, "spam": 191})
    unlabelled["results"] = [{**r, "shots": 0} for r in unlabelled["results"]]  # k = 0: no labelled examples drawn
    assert imbalance_lines(unlabelled)[0].startswith("**The test split is imbalanced** (ham: 1260, spam: 191): accuracy")
    assert trivial_baseline_lines(even)[0].startswith("**`scratch` does not beat the most frequent class (86.8 %)")


def test_a_baseline_below_the_most_frequent_class_reaches_the_console(capsys):
    from transferkit.commands._shared import print_summary

    summary = {"target": {"majority_rate": 0.6, "test_examples": 20}, "baseline": {"2": "scratch"},
               "results": [{"method": "scratch", "shots": 2, "seeds": [0], "accuracy_mean": 0.5, "accuracy_ci95": None,
                            "gain_vs_scratch": None, "gain_ci95": None, "negative_transfer": False}],
               "negative_transfer": [], "negative_transfer_checked": 0, "run_dir": "runs/x", "wall_time_s": 1.0}  # fmt: skip
    print_summary(summary)
    out = capsys.readouterr().out
    assert "note: scratch does not beat the most frequent class (60.0 %) at k = 2:" in out and "**" not in out


def test_an_error_holding_a_library_message_prints_on_one_line(monkeypatch, capsys):
    """Hugging Face's offline error spans lines; the CLI promises one."""
    import transferkit.data
    from transferkit.errors import TransferkitError

    def fail():
        raise TransferkitError("encoder 'x' is not available offline (We couldn't connect.\nCheck your connection.).", "fix it.")

    monkeypatch.setattr(transferkit.data, "list_domains", fail)
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err == "transferkit: error: encoder 'x' is not available offline (We couldn't connect. Check your connection.). Fix: fix it.\n"
    from transferkit.cli import _one_line_text

    assert _one_line_text("no file 'sp  ace/x.csv'.\n  Fix: y") == "no file 'sp  ace/x.csv'. Fix: y"  # spaces in paths kept


def test_first_line_of_a_library_error():
    from transferkit.pretrained.registry import _first_line

    assert _first_line(OSError("We couldn't connect to 'https://huggingface.co'.\nCheck your internet.")) == (
        "We couldn't connect to 'https://huggingface.co'."
    )
    assert len(_first_line(OSError("x" * 500))) == 300


def test_overrides_as_a_dict_or_strings_mean_the_same():
    from transferkit.config import parse_set
    from transferkit.errors import TransferkitError

    assert parse_set({"seeds": 2, "target.shots": [1, 5]}) == parse_set(["seeds=2", "target.shots=[1, 5]"])
    assert parse_set("seeds=2") == {"seeds": 2}  # was: "--set 's' is not key=value" for each character
    with pytest.raises(TransferkitError, match=r"override \('seeds', 2\) is not a key=value string"):
        parse_set([("seeds", 2)])
    with pytest.raises(TransferkitError, match=r"--set '=5' is not key=value"):  # was: field `(top level)`
        parse_set(["=5"])


def test_a_section_level_config_error_reads_without_pydantic_wrapping(tmp_path, capsys):
    cfg = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits", "shots": [1]},
           "fewshot": {"n_way": 5, "cross_domain": True}}  # fmt: skip
    assert main(["fewshot", str(_write(tmp_path, cfg))]) == 2
    err = capsys.readouterr().err
    assert "field `target`: a few-shot target has no `shots`" in err  # was "Value error, ..." and "(got a section)"
    assert "(got a section)" not in err and "Value error" not in err


def test_a_bad_value_from_set_is_not_blamed_on_the_file(tmp_path, image_npz, capsys):
    path = _write(tmp_path, tiny_experiment(*image_npz))
    assert main(["run", str(path), "--set", "target.shots=[-1]", "--set", "seeds=1"]) == 2
    assert f"{path} with --set target.shots, seeds: field `target.shots`" in capsys.readouterr().err
    assert main(["run", str(path), "--set", "seedz=1"]) == 2
    assert f"{path} with --set seedz: field `seedz`" in capsys.readouterr().err
    bad = tiny_experiment(*image_npz)
    bad["source"]["classes"] = {"not": "a list"}  # wrong in the file: a --set of another field is not named
    path = _write(tmp_path, bad)
    assert main(["run", str(path), "--set", "target.shots=[2]"]) == 2
    assert f"transferkit: error: {path}: field `source.classes`" in capsys.readouterr().err


def test_classes_can_be_written_as_rank_and_brackets_write_them():
    from transferkit.config import validate
    from transferkit.errors import TransferkitError

    cfg = validate({"source": {"data": "mnist5k", "classes": "0-4"}, "target": {"data": "optdigits", "classes": "5,7, 9"}})
    assert cfg.source.classes == [0, 1, 2, 3, 4] and cfg.target.classes == [5, 7, 9]
    with pytest.raises(TransferkitError, match=r"field `source.classes`: classes: empty class range '4-0' \(got") as e:
        validate({"source": {"data": "mnist5k", "classes": "4-0"}, "target": {"data": "optdigits"}})
    assert e.value.fix == "write low-high, e.g. 0-4."
    with pytest.raises(TransferkitError, match=r"field `source.classes`: lists no class") as e:
        validate({"source": {"data": "mnist5k", "classes": " , "}, "target": {"data": "optdigits"}})
    assert "brackets" not in str(e.value) and "name[0-4]" not in e.value.fix


def test_a_fine_tuning_that_diverged_is_kept_in_the_summary_and_report(tmp_path, image_npz, capsys):
    cfg = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "finetune", "params": {"steps": 5, "probe_steps": 15,
                                                                                      "lr": 1e3, "shared_lr_mult": 1.0}}])  # fmt: skip
    cfg["target"]["shots"] = [5]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["method_warnings"]) == 1 and "training the shared layers raised the loss" in summary["method_warnings"][0]
    assert f"- {summary['method_warnings'][0]}" in (tmp_path / "run" / "report.md").read_text()
    assert f"warning: {summary['method_warnings'][0]}" in capsys.readouterr().out


def test_predict_on_a_classifier_saved_from_python_says_how_to_use_it(tmp_path, capsys):
    from transferkit import TransferClassifier

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), np.arange(30) % 2
    TransferClassifier("scratch", method_params={"steps": 3}).fit(x, y).save(tmp_path / "clf")
    np.save(tmp_path / "new.npy", x[:4])
    for given in (tmp_path / "clf", tmp_path / "clf.safetensors"):
        assert main(["predict", str(given), str(tmp_path / "new.npy")]) == 2
        err = capsys.readouterr().err
        assert "is a model saved by TransferClassifier.save(), not a run folder" in err
        assert f"TransferClassifier.load({str(tmp_path / 'clf')!r}).predict(X)" in err
    assert main(["predict", str(tmp_path), str(tmp_path / "new.npy")]) == 2
    assert "is not a finished transferkit run (no summary.json)" in capsys.readouterr().err
    (tmp_path / "clf").mkdir()  # a folder beside the saved files is a folder
    assert main(["predict", str(tmp_path / "clf"), str(tmp_path / "new.npy")]) == 2
    assert "is not a finished transferkit run" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nowhere"), str(tmp_path / "new.npy")]) == 2
    assert "nowhere does not exist." in capsys.readouterr().err


def test_predict_on_one_of_a_runs_models_says_how_to_choose_it(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    cfg = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    cfg["target"]["shots"] = [2]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    for given in ("head_k2_seed0", "head_k2_seed0.safetensors"):
        assert main(["predict", str(tmp_path / "run" / "models" / given), str(tgt)]) == 2
        assert (f"is one of a run's saved models, not the run's folder. Fix: give the run and choose the model: "
                f"transferkit predict {tmp_path / 'run'} INPUT --method head --shots 2 --seed 0.") in capsys.readouterr().err


def test_predict_says_when_images_are_colour_for_a_grey_model(tmp_path, image_npz, capsys):
    """A grey model's predictions on colour digits all collapsed to one class, without a word."""
    from PIL import Image

    cfg = tiny_experiment(*image_npz, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    cfg["target"]["shots"] = [2]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    target = json.loads((tmp_path / "run" / "summary.json").read_text())["target"]
    assert target["colour"] is False and target["colour_and_grey"] is False
    grey = np.load(image_npz[1])["x"][:3].astype(np.uint8)  # (3, 12, 12)
    colour = np.stack([grey, 255 - grey, grey // 2], axis=-1)  # (3, 12, 12, 3), channels differ
    (tmp_path / "pngs").mkdir()
    for i, img in enumerate(colour):
        Image.fromarray(img).save(tmp_path / "pngs" / f"{i}.png")
    np.savez(tmp_path / "colour.npz", x=colour)
    np.savez(tmp_path / "grey_as_rgb.npz", x=np.repeat(grey[..., None], 3, axis=-1))
    capsys.readouterr()
    said = "holds colour images, but the model learnt from grey ones"
    for given in ("pngs", "colour.npz"):
        assert main(["predict", str(tmp_path / "run"), str(tmp_path / given)]) == 0
        assert said in capsys.readouterr().err, given
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "grey_as_rgb.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    assert said not in capsys.readouterr().err  # grey stored as RGB loses nothing
    summary = tmp_path / "run" / "summary.json"  # a run whose target held both kinds: neither is new to it
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "target": {**target, "colour_and_grey": True}}))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "colour.npz")]) == 0
    assert said not in capsys.readouterr().err
    written = (tmp_path / "p.csv").read_bytes()
    assert written.startswith(b"input,class_index,class_name,probability\n") and b"\r" not in written  # as stdout


def test_a_mistyped_method_parameter_fails_before_any_data_is_read(tmp_path, capsys, monkeypatch):
    from transferkit.evaluate import prepare as prepare_module

    monkeypatch.setattr(prepare_module, "load_section", lambda *a, **k: pytest.fail("read data first"))
    cfg = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits", "shots": [1]},
           "methods": [{"finetune": {"step": 10}}], "seeds": 1}  # fmt: skip
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run")]) == 2
    assert "method 'finetune': step: Extra inputs are not permitted" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_set_into_the_methods_list_says_how_to_set_it(tmp_path, image_npz, capsys):
    cfg = tiny_experiment(*image_npz, seeds=1, methods=["head"])
    assert main(["run", str(_write(tmp_path, cfg)), "--set", "methods.finetune.steps=5", "--out", str(tmp_path / "r")]) == 2
    assert ("'methods' is a list, not a section with keys. Fix: set the whole list, every method to run (it "
            "replaces the file's), e.g. --set 'methods=[scratch, {finetune: {steps: 5}}]'.") in capsys.readouterr().err
    del cfg["methods"]  # a docs audit: with no methods in the file, the key made a list of finetune alone (no scratch)
    assert main(["run", str(_write(tmp_path, cfg)), "--set", "methods.finetune.steps=5", "--out", str(tmp_path / "r")]) == 2
    assert "'methods' is a list, not a section with keys" in capsys.readouterr().err


def test_a_warning_said_twice_by_one_command_is_printed_once(monkeypatch, capsys):
    """rank read its target for itself and again for a run's model: the same note on its copies
    came out twice in a row."""
    import warnings

    import transferkit.commands.list as listing
    from transferkit.errors import TransferkitWarning

    def execute(args):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            for _ in range(2):
                warnings.warn("8 of the target's 750 examples are exact copies.", TransferkitWarning, stacklevel=2)
            warnings.warn("another note.", TransferkitWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(listing, "execute", execute)
    assert main(["list"]) == 0
    err = capsys.readouterr().err
    assert err.count("exact copies") == 1 and "transferkit: warning: another note." in err
    assert main(["list"]) == 0  # a new command says it again
    assert capsys.readouterr().err.count("exact copies") == 1


def test_predict_says_when_its_model_trailed_the_baseline_without_being_flagged(tmp_path, image_npz, capsys):
    """A new user's run deployed finetune (86.8 %) where scratch scored 89.5 %: not flagged (the
    interval held 0), and predict used it without a word."""
    summary_path, summary = _scratch_and_head_run(tmp_path, image_npz)
    head = next(r for r in summary["results"] if r["method"] == "head")
    scratch = next(r for r in summary["results"] if r["method"] == "scratch")
    scratch["accuracy_mean"], head["accuracy_mean"], head["negative_transfer"] = 0.895, 0.868, False
    head["gain_vs_scratch"], head["gain_ci95"] = -0.027, [-0.31, 0.255]
    summary_path.write_text(json.dumps(summary))
    np.savez(tmp_path / "in.npz", x=np.load(image_npz[1])["x"][:3])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    err = capsys.readouterr().err
    assert ("head at k=2 scored 86.8 % in this run, below scratch's 89.5 % (-2.7 points, 95 % CI [-31.0, +25.5]: "
            "not flagged, as the interval holds 0); the run cannot tell the two apart, and choosing scratch by this "
            "difference would choose on the test split") in err  # an audit: it had advised --method scratch on it
    assert "--method scratch" not in err
    for row, accs in ((head, [0.8, 0.936]), (scratch, [0.9, 0.89])):  # two seeds: the deployed seed's own numbers
        row["seeds"], row["accuracies"] = [0, 1], accs
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert ("holds 0; the model used here, seed 0's, scored 80.0 % against scratch's 90.0 % on the same seed)"
            in capsys.readouterr().err)  # fmt: skip
    head["negative_transfer"] = True  # flagged: the switch is offered, with what it costs the reported number
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert ("flagged as negative transfer in this run (worse than scratch; the model used here, seed 0's, scored "
            "80.0 % against scratch's 90.0 % on the same seed); choose another model with --method, e.g. --method "
            "scratch (a choice made on this run's test split") in capsys.readouterr().err
    head["negative_transfer"] = False
    for row in (head, scratch):
        row["seeds"], row["accuracies"] = [0], [row["accuracy_mean"]]
    head["gain_vs_scratch"], head["gain_ci95"] = None, None  # one seed: no interval, still said
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert ("below scratch's 89.5 % (-2.7 points: no interval to judge it by (one seed?), so not flagged); "
            "--seeds 3 or more would say whether it is noise" in capsys.readouterr().err)  # fmt: skip
    summary["baseline"] = {"2": "source_only"}  # k = 0 or no scratch: its gain is kept under other keys
    summary["results"].append({**scratch, "method": "source_only", "accuracy_mean": 0.95})
    head.update({"gain_vs_source_only": -0.082, "gain_vs_source_only_ci95": [-0.2, 0.04]})
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "below source_only's 95.0 % (-8.2 points, 95 % CI [-20.0, +4.0]" in capsys.readouterr().err
    summary["baseline"] = {"2": "scratch"}
    head["gain_vs_scratch"], head["gain_ci95"], head["accuracy_mean"] = 0.01, [-0.1, 0.12], 0.905
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "below scratch" not in capsys.readouterr().err
    # above on average over 2 seeds, but the model in use (seed 0's) trails scratch's seed 0: said
    head.update({"seeds": [0, 1], "accuracies": [0.80, 0.95]})
    scratch.update({"seeds": [0, 1], "accuracies": [0.84, 0.93], "accuracy_mean": 0.885})
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    err = capsys.readouterr().err
    assert ("head at k=2 scored 90.5 % on average over the run's 2 seeds, at or above scratch's 88.5 %, but the model "
            "used here, seed 0's, scored 80.0 % against scratch's 84.0 % on the same seed") in err
    head["accuracies"] = [0.86, 0.95]  # seed 0 above scratch's seed 0: nothing to say
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "on the same seed" not in capsys.readouterr().err


def test_values_that_passed_validation_then_crashed_are_one_line_errors(tmp_path, image_npz, capsys):
    """Session 23's trial: each of these passed the config and failed later in torch, numpy or
    safetensors with a traceback (or, for `weights`, was silently unused)."""
    src, tgt = image_npz
    cases = [
        (lambda c: c["model"].update(options={"width": -8}), "option width = -8 is not a whole number above 0"),
        (lambda c: c["model"].update(options={"width": "abc"}), "option width = 'abc' is not a whole number above 0"),
        (lambda c: c["model"].update(input_shape=[0, -1]), "field `model.input_shape.0`: Input should be greater than 0"),
        (lambda c: c["source"].update(lr=float("inf")), "field `source.lr`: Input should be a finite number"),
        (lambda c: c["source"].update(weights="/nonexist.pt"), "`weights` is the checkpoint of a `pretrained` source"),
    ]
    for mutate, message in cases:
        cfg = tiny_experiment(src, tgt)
        mutate(cfg)
        assert message in _bad(tmp_path, capsys, ["run", str(_write(tmp_path, cfg))]), message
    cfg = tiny_experiment(src, tgt, methods=[{"name": "finetune", "params": {"freeze": 99}}])  # known once the source is
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "f99"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "transferkit: error: freeze depth 99 is outside 0..3" in err and "Traceback" not in err
    assert not (tmp_path / "f99").exists()
    assert "is a folder" in _bad(tmp_path, capsys, ["run", str(tmp_path)])
    (tmp_path / "tab.yaml").write_text("name: x\n\tseeds: 1\n")
    assert "found character '\\t'" in _bad(tmp_path, capsys, ["run", str(tmp_path / "tab.yaml")])
    cfg = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 2}}])
    cfg["target"]["shots"] = [2]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    weights = next((tmp_path / "run" / "models").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    assert "cannot read the model's weights" in _bad(tmp_path, capsys, ["predict", str(tmp_path / "run"), str(tgt)])


def test_models_far_surer_than_right_are_said_to_be_overconfident():
    """A text trial's fine-tuned encoder put over 0.95 on 43 % of its wrong predictions, and nothing
    said so: its probabilities read as chances. The mean top probability on the test split is now
    kept beside the accuracy, and a gap of 0.15 or more is said."""
    from transferkit.report.markdown import overconfidence_lines

    rows = [{"method": "finetune", "shots": 5, "accuracy_mean": 0.68, "mean_confidence": 0.93},
            {"method": "head", "shots": 5, "accuracy_mean": 0.70, "mean_confidence": 0.74},
            {"method": "scratch", "shots": 5, "accuracy_mean": 0.5}]  # runs before the field: nothing said
    (line, _) = overconfidence_lines({"results": rows})
    assert line == ("**Overconfident:** on the test split these models' top probability averages far more than "
                    "their accuracy: `finetune` at k = 5 (93 % against 68.0 %). Read their probabilities as a "
                    "ranking of the classes, not as chances of being right.")
    assert overconfidence_lines({"results": rows[1:]}) == []
    shy = [{"method": "scratch", "shots": 5, "accuracy_mean": 0.89, "mean_confidence": 0.74},  # a trial's API fit
           {"method": "head", "shots": 5, "accuracy_mean": 0.80, "mean_confidence": 0.70}]  # 0.10 apart: not said
    (line, _) = overconfidence_lines({"results": shy})
    assert line == ("**Underconfident:** on the test split these models' top probability averages far less than "
                    "their accuracy: `scratch` at k = 5 (74 % against 89.0 %). A threshold on their probabilities "
                    "would discard many right answers.")


def test_the_summary_keeps_each_rows_mean_confidence(tmp_path, image_npz, capsys):
    summary_path, summary = _scratch_and_head_run(tmp_path, image_npz)
    for r in summary["results"]:
        assert 1 / 3 <= r["mean_confidence"] <= 1.0  # 3 classes: a top probability is at least a third
    np.savez(tmp_path / "in.npz", x=np.load(image_npz[1])["x"][:3])
    head = next(r for r in summary["results"] if r["method"] == "head")
    head.update(accuracy_mean=0.5, mean_confidence=0.9)  # as a sure, often wrong model's run would read
    summary_path.write_text(json.dumps(summary))
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "head at k=2 was overconfident in this run: its top probability averaged 90 %" in capsys.readouterr().err
    head.update(mean_confidence=0.6)
    summary_path.write_text(json.dumps(summary))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "in.npz")]) == 0
    assert "overconfident" not in capsys.readouterr().err


@pytest.mark.parametrize("error", [OSError(28, "No space left on device", "runs/.x.partial-1/models/a.safetensors"),
                                   RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
                                                "message: \"No space left on device\" })")])  # fmt: skip
def test_a_full_disk_is_one_line_and_exit_2(error, monkeypatch, capsys):
    """A tmpfs filled up mid-run gave OSError / SafetensorError tracebacks (exit 1)."""
    import transferkit.commands.list as listing

    def full(args):
        raise error

    monkeypatch.setattr(listing, "execute", full)
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("transferkit: error: no space left on the device") and "Fix:" in err
    monkeypatch.setattr(listing, "execute", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # any other error is not taken for it
        main(["list"])


def test_ctrl_c_while_the_modules_load_is_one_line(monkeypatch, capsys):
    """Ctrl-C in the first seconds (inside `import torch`) printed a 15-50 line traceback."""
    import transferkit.cli as cli

    def loading():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_commands", loading)
    assert main(["list"]) == 130
    assert capsys.readouterr().err.strip() == "transferkit: interrupted; nothing was written."


def test_importing_transferkit_loads_torch_only_when_a_name_needs_it():
    import subprocess
    import sys

    code = ("import sys, transferkit; assert 'torch' not in sys.modules, 'torch at import'; "
            "assert transferkit.__version__; transferkit.TransferClassifier; assert 'torch' in sys.modules; "
            "from transferkit import pretrain, run_fewshot; assert 'pretrain' in dir(transferkit)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_list_gives_methods_by_name_and_says_which_need_a_missing_extra(monkeypatch, capsys):
    """`list` gave methods in registration order (finetune before bitfit) and no word that
    lora needs peft, where domains said what to install."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    methods = [line.split()[0] for line in out.split("methods:\n")[1].splitlines()]
    assert methods == sorted(methods) and "lora" in methods
    lora = next(line for line in out.splitlines() if line.strip().startswith("lora "))
    assert '[not installed: pip install "transferkit[peft]"' in lora
    assert "not installed" not in next(line for line in out.splitlines() if line.strip().startswith("head "))


def test_an_option_given_before_its_command_is_said_so_once(capsys):
    """`transferkit --quiet run x.yaml` said 'transferkit: error: transferkit: unrecognized
    arguments: --quiet', the prefix twice and no word that it goes after the command."""
    with pytest.raises(SystemExit) as e:
        main(["--quiet", "run", "x.yaml"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == ("transferkit: error: --quiet is an option of `transferkit run`, given before the command. "
                   "Fix: give it after the command: `transferkit run --quiet ...`.\n")
    with pytest.raises(SystemExit):  # an option with a value: its value was read as the command
        main(["--set", "seeds=1", "run", "x.yaml"])
    assert capsys.readouterr().err.startswith("transferkit: error: --set is an option of `transferkit run`, given before")
    with pytest.raises(SystemExit):
        main(["--bogus", "list"])
    assert capsys.readouterr().err == "transferkit: error: unrecognized arguments: --bogus. Fix: see `transferkit --help`.\n"


def test_a_default_out_folder_that_cannot_be_made_is_one_line_before_any_work(tmp_path, monkeypatch, capsys, image_npz):
    """A trial from a folder where `runs` could not be made: run and fewshot crashed with a
    traceback (exit 1); rank did all its work, printed the table, then crashed writing its JSON."""
    cfg = _write(tmp_path, tiny_experiment(*image_npz))
    work = tmp_path / "work"
    work.mkdir()
    (work / "runs").write_text("a file where the runs folder would go")
    monkeypatch.chdir(work)
    capsys.readouterr()
    assert main(["run", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot make the default run folder under" in err and "give --out" in err
    assert main(["rank", str(image_npz[1]), "--source", str(image_npz[0]), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot write the ranking's default file" in err and "give --out" in err
    assert "(--out" not in err  # none was given
    assert (work / "runs").is_file() and sorted(p.name for p in work.iterdir()) == ["runs"]


def test_a_run_whose_progress_reader_is_gone_still_finishes(tmp_path, image_npz):
    """A trial's `run ... 2>&1 | head -1`: the run stopped at its second progress line, wrote
    nothing, and exited 0 (the BrokenPipeError meant for `predict | head`)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cfg = _write(tmp_path, tiny_experiment(*image_npz, seeds=1))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "transferkit", "--threads", "1", "run", str(cfg), "--out",
                             str(tmp_path / "run")], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)  # fmt: skip
    assert proc.stderr.readline().startswith(b"[transferkit]")
    proc.stderr.close()  # as head -1 does
    assert proc.wait(timeout=300) == 0
    assert (tmp_path / "run" / "summary.json").is_file()


def test_a_data_path_typed_with_set_is_read_beside_where_it_was_typed(tmp_path, monkeypatch):
    """A trial: `--set target.data=csvd/plain.csv` read sub/csvd/plain.csv, beside the experiment
    file, not the csvd/plain.csv in the folder the command was typed in."""
    from transferkit.config import load_config
    from transferkit.fewshot.config import load_fewshot_config

    (tmp_path / "sub" / "d").mkdir(parents=True)
    (tmp_path / "d").mkdir()
    for where in (tmp_path / "sub" / "d", tmp_path / "d"):
        (where / "t.npz").write_bytes(b"")
    exp = tmp_path / "sub" / "exp.yaml"
    exp.write_text("source: {data: mnist5k}\ntarget: {data: d/t.npz}\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(exp).target.data == str(tmp_path / "sub" / "d" / "t.npz")  # in the file: beside the file
    assert load_config(exp, ["target.data=d/t.npz"]).target.data == str(tmp_path / "d" / "t.npz")
    assert load_fewshot_config(exp, ["target.data=d/t.npz"]).target.data == str(tmp_path / "d" / "t.npz")
    (tmp_path / "d" / "t.npz").unlink()  # typed, but only beside the file: found there still
    assert load_config(exp, ["target.data=d/t.npz"]).target.data == str(tmp_path / "sub" / "d" / "t.npz")


def test_seeds_from_python_may_be_a_range_or_a_tuple():
    """A review: seeds=range(5) through tk.run(overrides=...) worked, then was refused as neither a count nor a list."""
    from transferkit.config import load_config

    raw = {"source": {"data": "mnist5k"}, "target": {"data": "optdigits"}}
    assert load_config(None, raw={**raw, "seeds": range(3)}).seeds == [0, 1, 2]
    assert load_config(None, raw={**raw, "seeds": (4, 7)}).seeds == [4, 7]


def test_a_config_with_several_mistakes_names_them_all_at_once(tmp_path, capsys):
    """Known until session 29: each run said one mistake, so a file with three took three runs to fix."""
    exp = tmp_path / "exp.yaml"
    exp.write_text("source: {data: mnist5k, epochs: 0}\ntarget: {data: optdigits, shots: [0.5]}\nseedz: 3\n")
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not (tmp_path / "o").exists()
    first = err.split(" Also invalid: ")[0]
    assert "field `" in first and err.count("`source.epochs`") + err.count("`target.shots") + err.count("`seedz`") == 3
    assert "`seedz` (no such field)" in err or first.startswith(f"{exp}: field `seedz`")
    exp.write_text("source: {data: mnist5k, epochs: 0}\ntarget: {shots: [1]}\n")
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2
    assert "`target.data` (missing)" in capsys.readouterr().err  # a field left out is named as missing
    exp.write_text("source: {data: mnist5k}\ntarget: {data: optdigits, shots: [0.5, 1.5, 2.5]}\nseeds: x\n")
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err  # the items of one list are one field, said once
    assert err.count("target.shots") == 1 and "Also invalid" in err


def test_every_unknown_method_and_every_bad_method_parameter_is_named_at_once(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text("source: {data: mnist5k}\ntarget: {data: optdigits}\nmethods: [protoypes, head, fintune]\n")
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'protoypes'. Also unknown: `methods.2` 'fintune'." in err
    assert "few-shot method" not in err
    exp.write_text("source: {data: mnist5k}\ntarget: {data: optdigits}\nmethods: [head, logistic, soft_kmeans]\n")
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2  # names only `fewshot` knows: said so
    assert ("unknown method 'logistic'. Also unknown: `methods.2` 'soft_kmeans'. 'logistic', 'soft_kmeans' are few-shot "
            "methods: `transferkit fewshot` scores them on episodes (docs/fewshot.md).") in capsys.readouterr().err
    exp.write_text("source: {data: mnist5k}\ntarget: {data: optdigits}\n"
                   "methods: [{finetune: {step: 10}}, head, {l2sp: {alpah: 1}}]\n")  # fmt: skip
    assert main(["run", str(exp), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "method 'finetune'" in err and "Also invalid: the parameters of 'l2sp'." in err and len(err.splitlines()) == 1


def test_run_says_when_the_targets_images_are_stretched_to_the_models_input(tmp_path, image_npz, capsys):
    """48x28 digits read at 28x28 scored 0.349 source_only against 0.667 (a trial); the report only said "resized"."""
    src, tgt = image_npz
    t = np.load(tgt)
    np.savez(tmp_path / "tall.npz", x=np.pad(t["x"], ((0, 0), (4, 4), (0, 0))), y=t["y"], classes=t["classes"])  # 20x12
    cfg = tiny_experiment(src, tmp_path / "tall.npz", seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    cfg["target"]["shots"] = [2]
    assert main(["run", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    said = ("tall.npz's 20x12 images (height x width) are resized to the model's 12x12 input, another width:height "
            "ratio (0.60 against 1.00)")
    assert said in capsys.readouterr().err
    assert said in (tmp_path / "run" / "report.md").read_text()


def test_a_yaml_key_without_a_space_after_its_colon_is_said_so(tmp_path, capsys):
    """--set 'methods=[{scratch:{steps:100}}]' said "steps:100: Extra inputs are not permitted (got None)"."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("target: {data: optdigits, shots: [1]}\nmethods: [scratch]\nseeds: 1\n")
    for given, said in (("methods=[{scratch:{steps:100}}]", "write `steps: 100`, with a space after the colon"),
                        ("target={data:optdigits}", "write `data: optdigits`, with a space after the colon")):
        assert main(["run", str(cfg), "--set", given, "--out", str(tmp_path / "r")]) == 2
        assert said in capsys.readouterr().err, given
    assert not (tmp_path / "r").exists()
    from transferkit.config import load_config
    from transferkit.errors import TransferkitError, colon_hint

    assert colon_hint("steps", None) is None and colon_hint("a:b", 3) is None and colon_hint("note:", None) is None
    assert colon_hint("http://x", None) is None and colon_hint("a:b:c", None) is None
    with pytest.raises(TransferkitError) as e:  # another field's error first: its own fix, not the colon's
        load_config(None, raw={"source": {"data": "mnist5k", "epochs": 0}, "target": {"data": "optdigits", "pad:3": None}})
    assert "source.epochs" in e.value.problem and "space after the colon" not in e.value.fix


def test_block_style_yaml_without_a_space_after_a_colon_is_said_so(tmp_path, capsys):
    """Block style makes `steps:100` on the line under `params:` the text 'steps:100': the error said only
    "Input should be a valid dictionary" and pointed at docs/config.md."""
    from transferkit.errors import colon_text_hint

    files = {
        "params.yaml": ("target: {data: optdigits, shots: [1]}\nmethods:\n  - name: head\n    params:\n      steps:100\n",
                        "write `steps: 100`, with a space after the colon"),
        "mapping.yaml": ("target: {data: optdigits, shots: [1]}\nmethods:\n  - head:\n      steps:100\n      lr:0.01\n",
                         "write `steps: 100` and `lr: 0.01`, with a space after each colon"),
        "section.yaml": ("target:\n  data:optdigits\n  shots:[1, 5]\nmethods: [head]\n",
                         "write `data: optdigits` and `shots: [1, 5]`, with a space after each colon"),
    }
    for name, (text, said) in files.items():
        (tmp_path / name).write_text(text)
        assert main(["run", str(tmp_path / name), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1, name
    assert not (tmp_path / "r").exists()
    assert colon_text_hint("see http://x") is None and colon_text_hint("a note") is None and colon_text_hint(3) is None
    assert colon_text_hint("C:\\data") is None and colon_text_hint("dir:/data") is None


def test_negative_transfer_on_balanced_accuracy_alone_is_said_on_an_imbalanced_split(capsys):
    """A trial's source_only: balanced gain -30.0 [-58.1, -1.9], its rare class at 16.7 % against scratch's 100,
    while the accuracy gain's interval reached 0: 'No negative transfer established', and nothing in summary.json."""
    from transferkit.commands._shared import print_summary
    from transferkit.report.markdown import negative_transfer_lines
    from transferkit.report.summary import balanced_negative

    row = {"method": "source_only", "shots": 5, "seeds": [0, 1], "accuracy_mean": 0.9, "accuracy_ci95": [0.85, 0.95],
           "gain_vs_scratch": -0.065, "gain_ci95": [-0.139, 0.009], "negative_transfer": False,
           "balanced_accuracies": [0.66, 0.70], "balanced_gain": -0.30, "balanced_gain_ci95": [-0.581, -0.019]}  # fmt: skip
    assert balanced_negative(row) and not balanced_negative({**row, "negative_transfer": True})
    assert not balanced_negative({**row, "balanced_gain_ci95": [-0.5, 0.01]})
    summary = {**_imbalanced_summary({"zero": 51, "one": 18, "two": 3}), "results": [row], "negative_transfer": [],
               "negative_transfer_balanced": ["source_only at k=5"], "negative_transfer_checked": 1,
               "run_dir": "runs/x", "wall_time_s": 1.0}  # fmt: skip
    said = " ".join(negative_transfer_lines(summary))
    assert "**Negative transfer on balanced accuracy:** source_only at k=5: the gain in balanced accuracy" in said
    print_summary(summary)
    assert "NEGATIVE TRANSFER ON BALANCED ACCURACY (the smaller classes pay; accuracy does not show it): " \
           "source_only at k=5" in capsys.readouterr().out  # fmt: skip
    even = {**summary, "target": {**summary["target"], "test_per_class": {"zero": 20, "one": 20, "two": 19}}}
    assert "balanced accuracy:**" not in " ".join(negative_transfer_lines(even))  # a balanced split: accuracy says it


def test_a_method_below_the_majority_rate_but_learning_the_small_classes_is_not_called_useless():
    """A trial's breast-cancer run: finetune at k = 1 at or below the most frequent class's 93.0 % in accuracy, with
    balanced accuracy 91.7 % against that rule's 50 %, was told a gain 'does not make them useful'."""
    from transferkit.report.markdown import trivial_baseline_lines

    summary = _imbalanced_summary({"benign": 107, "malignant": 8})
    summary["target"]["majority_rate"] = 0.93
    summary["results"] = [{"method": "scratch", "shots": 1, "accuracy_mean": 0.60, "balanced_accuracies": [0.55]},
                          {"method": "finetune", "shots": 1, "accuracy_mean": 0.92, "balanced_accuracies": [0.917]},
                          {"method": "head", "shots": 1, "accuracy_mean": 0.90, "balanced_accuracies": [0.50]}]
    said = " ".join(trivial_baseline_lines(summary))
    assert ("in accuracy, but well above it in balanced accuracy:** `finetune` at k = 1 (91.7 %), against 50.0 %"
            in said)  # fmt: skip
    assert "`head` at k = 1" in said and "does not make them useful" in said  # head learned nothing of them


def test_a_method_below_its_baseline_in_balanced_accuracy_too_is_not_said_to_have_learned_the_small_classes():
    """A trial's label-shifted target (86 % one class): adabn at k = 0 scored 56.5 % (83.2 % balanced) beside
    source_only's 92.1 % (96.9 % balanced), flagged as negative transfer, and was still told that 'accuracy
    hides what they learned of the smaller classes'."""
    from transferkit.report.markdown import trivial_baseline_lines

    summary = _imbalanced_summary({"idle": 153, "run": 12, "walk": 12})
    summary["target"]["majority_rate"] = 0.864
    summary["baseline"] = {"0": "source_only"}
    summary["results"] = [{"method": "source_only", "shots": 0, "accuracy_mean": 0.921, "balanced_accuracies": [0.969]},
                          {"method": "adabn", "shots": 0, "accuracy_mean": 0.565, "balanced_accuracies": [0.832]}]
    said = " ".join(trivial_baseline_lines(summary))
    assert "well above it in balanced accuracy" not in said and "hides what they learned" not in said
    assert "than always predicting the most frequent class (86.4 %):** `adabn` at k = 0; on this imbalanced split compare" in said


def test_threads_caps_numpys_and_scikit_learns_pools_too_and_gives_them_back(monkeypatch):
    """A trial: `rank --threads 1` of 62 classes took 49-111 s in scikit-learn's logistic regressions on every
    core (6 s with OMP_NUM_THREADS=1): --threads set torch's threads only."""
    from threadpoolctl import threadpool_info

    import transferkit.commands.list as list_command

    seen = []
    monkeypatch.setattr(list_command, "execute", lambda args: seen.append([p["num_threads"] for p in threadpool_info()]) or 0)
    blas = lambda: [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]  # noqa: E731
    before = blas()
    assert main(["list", "--threads", "1"]) == 0
    assert seen and seen[0] and set(seen[0]) == {1}  # every pool (BLAS, OpenMP) at 1 while the command ran
    assert blas() == before  # BLAS as it was after (OpenMP's is torch's, which --threads leaves set)
