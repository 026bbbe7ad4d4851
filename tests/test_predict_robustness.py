"""`predict` and the file readers on inputs a user really has: image files for a model
trained on arrays of another scale, names with commas, odd CSVs, bad paths, bad arrays.
Each bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import make_images, tiny_experiment
from transferkit.cli import main
from transferkit.data.files import read_csv_rows
from transferkit.errors import TransferkitError
from transferkit.prediction import predict


def _bad(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def run16(tmp_path_factory):
    """A finished run on grey images stored as floats in 0..16 (like optdigits), and its target."""
    root = tmp_path_factory.mktemp("run16")
    for name, seed, shift in (("source", 1, 0.0), ("target", 2, 30.0)):
        x, y = make_images(30, seed=seed, shift=shift)
        x16 = np.round(x[:, 0] / x.max() * 255) * 16 / 255  # on the 8-bit grid, max exactly 16
        np.savez(root / f"{name}.npz", x=x16.astype(np.float32), y=y, classes=np.array(["a", "b", "c"]))
    cfg = tiny_experiment(root / "source.npz", root / "target.npz", seeds=1,
                          methods=[{"name": "head", "params": {"steps": 15}}])  # fmt: skip
    cfg["target"]["shots"] = [5]
    (root / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(root / "exp.yaml"), "--out", str(root / "run"), "--quiet"]) == 0
    return root


def test_image_files_are_read_on_their_own_0_255_scale(run16, tmp_path, capsys):
    """A PNG is 0..255 whatever the training arrays' scale: the same digits as the 0..16
    array they were made from get the same predictions (they were all one class, 'sure')."""
    from PIL import Image

    x16 = np.load(run16 / "target.npz")["x"][:6]
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(x16):
        Image.fromarray(np.round(img * 255 / 16).astype(np.uint8)).save(folder / f"{i}.png")
    np.savez(tmp_path / "same.npz", x=x16)
    capsys.readouterr()
    assert main(["predict", str(run16 / "run"), str(folder), "--out", str(tmp_path / "png.csv")]) == 0
    assert "warning" not in capsys.readouterr().err.lower()  # 0..255 is exactly what image files hold
    assert main(["predict", str(run16 / "run"), str(tmp_path / "same.npz"), "--out", str(tmp_path / "npz.csv")]) == 0
    png = list(csv.DictReader(io.StringIO((tmp_path / "png.csv").read_text())))
    arr = list(csv.DictReader(io.StringIO((tmp_path / "npz.csv").read_text())))
    assert [r["class_index"] for r in png] == [r["class_index"] for r in arr]
    assert np.allclose([float(r["probability"]) for r in png], [float(r["probability"]) for r in arr], atol=1e-4)
    assert main(["predict", str(run16 / "run"), str(folder), "--id-column", "id"]) == 2  # images are named by path
    assert "holds image files" in capsys.readouterr().err
    one = folder / "3.png"  # one image file, named as such: the same prediction as in its folder
    (tmp_path / "3.PNG").write_bytes(one.read_bytes())
    assert main(["predict", str(run16 / "run"), str(tmp_path / "3.PNG"), "--out", str(tmp_path / "one.csv")]) == 0
    (single,) = list(csv.DictReader(io.StringIO((tmp_path / "one.csv").read_text())))
    assert single["input"] == "3.PNG" and single["class_index"] == png[3]["class_index"]
    assert abs(float(single["probability"]) - float(png[3]["probability"])) < 1e-4  # read on 0..255 too
    Image.fromarray(np.full((4, 4), 200, np.uint8)).save(folder / "0_tiny.png")  # sorts first, another size
    Image.fromarray(np.full((9, 9, 3), 90, np.uint8)).save(folder / "9_rgb.png")  # colour
    assert main(["predict", str(run16 / "run"), str(folder), "--out", str(tmp_path / "mixed.csv")]) == 0
    mixed = {r["input"]: r for r in csv.DictReader(io.StringIO((tmp_path / "mixed.csv").read_text()))}
    for r in png:  # was: every image squeezed to the first file's 4x4 (and grey) before the model saw it
        assert mixed[r["input"]]["class_index"] == r["class_index"]
        assert abs(float(mixed[r["input"]]["probability"]) - float(r["probability"])) < 1e-4
    np.savez(tmp_path / "u8.npz", x=np.round(x16 * 255 / 16).astype(np.uint8))  # uint8: 0..255 by its type
    capsys.readouterr()
    assert main(["predict", str(run16 / "run"), str(tmp_path / "u8.npz"), "--out", str(tmp_path / "u8.csv")]) == 0
    assert "warning" not in capsys.readouterr().err.lower()
    u8 = list(csv.DictReader(io.StringIO((tmp_path / "u8.csv").read_text())))
    assert [r["class_index"] for r in u8] == [r["class_index"] for r in arr]
    assert np.allclose([float(r["probability"]) for r in u8], [float(r["probability"]) for r in arr], atol=1e-4)
    # the same 8-bit values stored as floats, beside a model of 0..16: read on 0..255 as the uint8 copy (a trial's
    # API run scored 0.31 against 0.89 when such floats were read on the model's scale)
    np.savez(tmp_path / "f255.npz", x=np.round(x16 * 255 / 16).astype(np.float32))
    assert main(["predict", str(run16 / "run"), str(tmp_path / "f255.npz"), "--out", str(tmp_path / "f255.csv")]) == 0
    assert "f255.npz: float images in 0..255 beside a model whose training images were on 0..16: read as 8-bit " \
        "values on 0..255" in capsys.readouterr().err  # fmt: skip
    f255 = list(csv.DictReader(io.StringIO((tmp_path / "f255.csv").read_text())))
    assert [r["class_index"] for r in f255] == [r["class_index"] for r in u8]
    assert np.allclose([float(r["probability"]) for r in f255], [float(r["probability"]) for r in u8], atol=1e-4)


def test_printed_predictions_are_valid_csv(run16, tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "odd"
    folder.mkdir()
    for name in ("scan 3, page 1.png", 'q"uote.png'):
        Image.fromarray(np.zeros((12, 12), dtype=np.uint8)).save(folder / name)
    capsys.readouterr()
    assert main(["predict", str(run16 / "run"), str(folder)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["input", "class_index", "class_name", "probability"]
    assert sorted(r[0] for r in rows[1:]) == sorted(["scan 3, page 1.png", 'q"uote.png'])
    assert all(len(r) == 4 for r in rows)


def test_out_paths_that_would_lose_data_are_refused(run16, tmp_path, capsys):
    run, inputs = run16 / "run", str(run16 / "target.npz")
    before = (run / "summary.json").read_text()
    err = _bad(capsys, ["predict", str(run), inputs, "--out", str(run / "summary.json")])
    assert "would overwrite summary.json, part of the run folder" in err and (run / "summary.json").read_text() == before
    model = next((run / "models").glob("*.json"))
    assert "would overwrite models/" in _bad(capsys, ["predict", str(run), inputs, "--out", str(model)])
    outcomes = run / "test_results.csv"  # what the intervals are computed from (it was not protected)
    assert outcomes.exists() and "would overwrite test_results.csv" in _bad(
        capsys, ["predict", str(run), inputs, "--out", str(outcomes)])  # fmt: skip
    for _ in range(2):  # the run's own predictions file may be written, and written again
        assert main(["predict", str(run), inputs, "--out", str(run / "predictions.csv")]) == 0
    (run / "predictions.csv").unlink()
    assert "is a folder" in _bad(capsys, ["predict", str(run), inputs, "--out", str(tmp_path / "new") + "/"])
    assert not (tmp_path / "new").exists()
    (tmp_path / "afile").write_text("x")
    assert "afile is a file, not a folder" in _bad(capsys, ["predict", str(run), inputs, "--out", str(tmp_path / "afile" / "p.csv")])


def test_a_damaged_summary_is_one_line(tmp_path, capsys):
    (tmp_path / "summary.json").write_text('{"deploy": ')
    assert "summary.json is damaged" in _bad(capsys, ["predict", str(tmp_path), str(tmp_path)])


def test_a_fewshot_folder_is_refused_with_the_way_to_a_model(tmp_path, capsys):
    (tmp_path / "summary.json").write_text('{"kind": "fewshot"}')
    err = _bad(capsys, ["predict", str(tmp_path), str(tmp_path)])
    assert "is a few-shot evaluation folder: it holds no trained models" in err
    assert "with TransferClassifier, docs/fewshot.md, 'Deploying'" in err
    (tmp_path / "summary.json").write_text('{"kind": "other"}')
    assert "TransferClassifier" not in _bad(capsys, ["predict", str(tmp_path), str(tmp_path)])


def test_a_damaged_model_json_is_one_line_in_predict_and_rank(run16, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run16 / "run", run)
    np.savez(tmp_path / "in.npz", x=np.load(run16 / "target.npz")["x"][:4])
    for damaged in ("{", "[]"):  # a JSONDecodeError, then AttributeError tracebacks
        (run / "models" / "head_k5_seed0.json").write_text(damaged)
        err = _bad(capsys, ["predict", str(run), str(tmp_path / "in.npz")])
        assert "head_k5_seed0.json: cannot read the model's settings (not a JSON object)" in err, err
        err = _bad(capsys, ["rank", str(run16 / "target.npz"), "--model", str(run / "models" / "head_k5_seed0"),
                            "--shots", "3"])  # fmt: skip
        assert "cannot read the model's settings" in err, err


def test_bad_npz_inputs_are_one_line(run16, tmp_path, capsys):
    run = str(run16 / "run")
    np.savez(tmp_path / "words.npz", x=np.array(["a", "b"]))
    assert "non-numeric dtype" in _bad(capsys, ["predict", run, str(tmp_path / "words.npz")])
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}, None], dtype=object))
    assert "objects.npz: cannot read" in _bad(capsys, ["predict", run, str(tmp_path / "objects.npz")])
    np.savez(tmp_path / "objects_xy.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    from transferkit.data import load_domain

    with pytest.raises(TransferkitError, match="objects_xy.npz: cannot read x"):  # the training reader shares the checks
        load_domain(str(tmp_path / "objects_xy.npz"))
    ragged = np.empty(2, dtype=object)  # series of 5 and 7 steps: what np.savez keeps of a ragged list
    ragged[0], ragged[1] = np.zeros(5), np.zeros(7)
    np.savez(tmp_path / "ragged.npz", x=ragged, y=np.array([0, 1]))
    with pytest.raises(TransferkitError, match="rows of unequal lengths") as e:  # a new user's series said "store numbers"
        load_domain(str(tmp_path / "ragged.npz"))
    assert "resample each series to one length" in e.value.fix
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    said = _bad(capsys, ["predict", run, str(tmp_path / "junk.npz")])
    assert "cannot read as .npz (not a zip archive" in said and "allow_pickle" not in said  # numpy's advice: unsafe, off
    with open(tmp_path / "UPPER.NPZ", "wb") as f:  # (np.savez would add ".npz" to a path)
        np.savez(f, x=np.load(run16 / "target.npz")["x"][:2])
    capsys.readouterr()
    assert main(["predict", run, str(tmp_path / "UPPER.NPZ")]) == 0  # the suffix's case does not matter


def test_csv_files_as_spreadsheets_write_them(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufefff0,f1\n1,2\n".encode())  # Excel's "CSV UTF-8"
    assert read_csv_rows(tmp_path / "bom.csv") == (["f0", "f1"], [["1", "2"]])
    (tmp_path / "blank.csv").write_text("f0,f1\n1,2\n\n3,4\n\n")
    assert read_csv_rows(tmp_path / "blank.csv")[1] == [["1", "2"], ["3", "4"]]
    (tmp_path / "latin1.csv").write_bytes("f\xe9,f1\n1,2\n".encode("latin-1"))
    with pytest.raises(TransferkitError, match="not UTF-8 text.*Fix: save the file as UTF-8"):
        read_csv_rows(tmp_path / "latin1.csv")
    (tmp_path / "semi.csv").write_text("f0;f1;label\n1;2;0\n")
    with pytest.raises(TransferkitError, match="another separator"):
        read_csv_rows(tmp_path / "semi.csv")
    # a quoted comma in one name split the header into 2 columns: "data row 1 has 1 columns, the header 2" before
    (tmp_path / "semi2.csv").write_text('sepal length;"sepal,width";label\n5.1;3.5;a\n4.9;3.0;b\n')
    with pytest.raises(TransferkitError, match=r"the header reads as 2 columns .*another separator"):
        read_csv_rows(tmp_path / "semi2.csv")
    (tmp_path / "names.csv").write_text('f0,"a;b;c",label\n1,2,a\n3,4,b\n')  # semicolons in one name only: a CSV
    assert read_csv_rows(tmp_path / "names.csv")[0] == ["f0", "a;b;c", "label"]
    (tmp_path / "trailing.csv").write_text("f0,f1,\n1,2,\n3,4,\n")  # a comma at the end of every line: no column
    assert read_csv_rows(tmp_path / "trailing.csv") == (["f0", "f1"], [["1", "2"], ["3", "4"]])
    (tmp_path / "t1.csv").write_text("Wine data,\na,b,label,\n1.5,2,x,\n3.5,4,y,\n")  # a title, trailing commas
    with pytest.raises(TransferkitError, match=r"its first line \('Wine data'\) is one cell and the lines below it have 3"):
        read_csv_rows(tmp_path / "t1.csv")
    (tmp_path / "t3.csv").write_text("Wine data,,\na,b,label\n1.5,2,x\n3.5,4,y\n")  # a title padded to the header's width
    with pytest.raises(TransferkitError, match=r"its first line \('Wine data'\) is one cell and the lines below it have 3"):
        read_csv_rows(tmp_path / "t3.csv")  # read as the header 'Wine data', '', '' before
    (tmp_path / "sparse.csv").write_text("name,,\n4,5,6\n7,8,9\n")  # not a title: values below it, not names
    assert read_csv_rows(tmp_path / "sparse.csv")[0] == ["name", "", ""]
    (tmp_path / "texts.csv").write_text("review,,\nThe best kettle I have bought in years.,good,1\nIt broke after a week.,bad,0\n")
    assert read_csv_rows(tmp_path / "texts.csv")[0] == ["review", "", ""]  # texts below, not names: no title
    (tmp_path / "t2.csv").write_text("Export;;;\na;b;label\n1,5;2;x\n3,5;4;y\n")  # a title, ';' and decimal commas
    with pytest.raises(TransferkitError, match=r"its first line holds one cell \('Export'\) above lines of several: a title above the header\. "
                                               r"Fix: .*decimal=',', skiprows=1\)"):  # fmt: skip
        read_csv_rows(tmp_path / "t2.csv")
    (tmp_path / "onetext.csv").write_text("text\nhello, world\n")  # one column, an unquoted comma: no title line
    with pytest.raises(TransferkitError, match="data row 1 has 2 columns, the header 1"):
        read_csv_rows(tmp_path / "onetext.csv")
    (tmp_path / "semititle.csv").write_text("Report; lab A\na,b\n1,2\n")  # no ';' between values: no decimal commas
    with pytest.raises(TransferkitError, match="another separator") as e:
        read_csv_rows(tmp_path / "semititle.csv")
    assert "decimal" not in e.value.problem
    (tmp_path / "ragged.csv").write_text("f0,f1\n1,2\n3\n")
    with pytest.raises(TransferkitError, match="data row 2 has 1 columns, the header 2"):
        read_csv_rows(tmp_path / "ragged.csv")
    from transferkit.data import load_domain

    (tmp_path / "GAP.CSV").write_text("f0,f1,label\n1,2,0\n3,,1\n")
    with pytest.raises(TransferkitError, match="data row 2 has an empty value in column 'f1'.*impute") as e:
        load_domain(str(tmp_path / "GAP.CSV"))  # an upper-case suffix is read as a CSV too
    assert "predictions" not in e.value.problem
    from transferkit.data.files import csv_features

    header, body = read_csv_rows(tmp_path / "GAP.CSV")
    with pytest.raises(TransferkitError, match=r"data row 2 has an empty value in column 'f1' \(input 1 in the "
                                               r"predictions, which count rows from 0\)"):  # fmt: skip
        csv_features(tmp_path / "GAP.CSV", header, body, 2, training=False)  # as predict reads it
    # series of unequal lengths padded with empty cells (a trial's UCR set), as an .npz's NaN padding is said
    rows = ["t0,t1,t2,t3,t4,label", "1,2,3,4,5,0", "1,2,,,,1", "1,2,3,,,0", "4,5,6,7,,1"]
    (tmp_path / "padded.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(TransferkitError, match=r"data row 2 has an empty value in column 't2'; in every row with one, "
                                               r"the gaps run to the end of the row: series") as e:  # fmt: skip
        load_domain(str(tmp_path / "padded.csv"))
    assert "resample each series to one length" in e.value.fix
    (tmp_path / "holes.csv").write_text("\n".join([*rows[:3], "1,,3,4,5,0"]) + "\n")  # a gap mid-row: missing values
    with pytest.raises(TransferkitError, match=r"data row 2 has an empty value in column 't2'; 4 cells are missing in "
                                               r"all, in 2 of the 3 data rows and the column\(s\) \['t2', 't3', 't4', "
                                               r"'t1'\]\. Fix") as e:  # how many: impute, or drop rows or a column  # fmt: skip
        load_domain(str(tmp_path / "holes.csv"))
    assert "impute" in e.value.fix


def test_a_diverging_method_is_one_line_and_leaves_no_folder(tmp_path, capsys, image_npz):
    src, tgt = image_npz
    cfg = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "finetune", "params": {"steps": 10, "lr": 1.0e9}}])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    err = _bad(capsys, ["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out"), "--quiet"])
    assert "training diverged" in err and "lower the method's learning rate" in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


def test_split_errors_say_which_class_and_what_to_change():
    import re

    from transferkit.data.splits import make_test_split

    y = np.repeat([0, 1], [2, 79])
    with pytest.raises(TransferkitError, match=r"test_fraction=0.2 of the 2 examples of class 'cat' rounds to no test") as e:
        make_test_split(y, 0.2, classes=["cat", "dog"])
    least = float(re.search(r"use test_fraction ([0-9.]+) or more", str(e.value)).group(1))
    make_test_split(y, least)  # the suggested value works (0.25 would not: Python rounds 0.5 to 0)
    y = np.repeat([0, 1], [40, 7])
    with pytest.raises(TransferkitError, match=r"of the 7 examples of class 'dog' leaves none for training") as e:
        make_test_split(y, 0.95, classes=["cat", "dog"])
    most = float(re.search(r"use test_fraction ([0-9.]+) or less", str(e.value)).group(1))
    make_test_split(y, most)
    with pytest.raises(TransferkitError, match="class 'cat' has 1 example: too few"):
        make_test_split(np.repeat([0, 1], [1, 9]), 0.3, classes=["cat", "dog"])


def test_text_inputs_are_named_by_their_line_and_split_at_newlines_only(tmp_path):
    from transferkit.data.text import load_text_inputs
    from transferkit.prediction import load_inputs

    (tmp_path / "q.txt").write_text("good movie\n\n  \nbad \x0c movie\r\nfine\u2028still line 5\n", encoding="utf-8")
    texts, names = load_text_inputs(tmp_path / "q.txt")
    assert names == ["line 1", "line 4", "line 5"] and texts[1] == "bad \x0c movie"  # was: 4 rows named 0..3
    (tmp_path / "q.jsonl").write_text('{"text": "a\u2028b"}\n\n{"text": "c"}\n', encoding="utf-8")
    assert load_text_inputs(tmp_path / "q.jsonl") == (["a\u2028b", "c"], ["line 1", "line 3"])
    (tmp_path / "e.txt").write_text("\n  \n")
    with pytest.raises(TransferkitError, match=r"no inputs \(0 texts\)"):
        load_text_inputs(tmp_path / "e.txt")
    with pytest.raises(TransferkitError, match="is a folder, but this model reads texts"):
        load_text_inputs(tmp_path)
    with pytest.raises(TransferkitError, match="holds texts, but this model reads images or feature vectors"):
        load_inputs(tmp_path / "q.txt")
    (tmp_path / "r.csv").write_text("text,id\ngreat,1\nawful,2\n")
    with pytest.raises(TransferkitError, match=r"r.csv: no column 'review', the text column the model was trained "
                                               r"with \(columns: \['text', 'id'\]\)") as e:  # was: 'not a text input'
        load_text_inputs(tmp_path / "r.csv", "review")
    assert "--text-column" in e.value.fix
    with pytest.raises(TransferkitError, match=r"line 1 has no text in 'review'.*its keys: \['text'\]"):
        load_text_inputs(tmp_path / "q.jsonl", "review")


def test_texts_without_a_text_encoder_are_one_line_whatever_the_source(tmp_path, capsys, image_npz):
    from transferkit.data.text import TextDomain
    from transferkit.evaluate.prepare import match_source

    (tmp_path / "rev.csv").write_text("text,label\n" + "".join(f"great {i},pos\nawful {i},neg\n" for i in range(8)))
    cfg = {"name": "t", "source": {"data": str(image_npz[0])}, "target": {"data": str(tmp_path / "rev.csv"), "shots": [2]},
           "methods": ["scratch"], "seeds": 1}  # fmt: skip
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    err = _bad(capsys, ["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out")])
    # was: AttributeError 'TextDomain' object has no attribute 'x'; then a fix (add an encoder) that met the image source
    assert "rev.csv holds texts and the source" in err and "holds images" in err and "use a text source" in err
    (tmp_path / "src.csv").write_text("text,label\n" + "".join(f"fine {i},pos\nbad {i},neg\n" for i in range(8)))
    cfg["source"] = {"data": str(tmp_path / "src.csv")}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    err = _bad(capsys, ["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out")])
    assert "the source" in err and "src.csv and the target" in err and "to the `source:` section" in err  # not the target's
    cfg["source"], cfg["target"]["data"] = {"data": str(tmp_path / "src.csv")}, str(image_npz[1])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert "src.csv holds texts and the target" in _bad(capsys, ["run", str(tmp_path / "exp.yaml")])
    source = TextDomain("s", ["x", "y"], np.array([0, 1]), ["neg", "pos"])
    target = match_source(source, TextDomain("t", ["a", "b", "c"], np.array([0, 1, 1]), ["pos", "neg"]))
    assert target.classes == ["neg", "pos"] and target.y.tolist() == [1, 0, 0]  # renumbered into the source's order


def test_uint8_arrays_of_small_values_are_flagged(tmp_path):
    from transferkit.data import load_domain

    x = np.random.default_rng(0).integers(0, 17, size=(6, 8, 8)).astype(np.uint8)  # optdigits' 0..16 in uint8
    np.savez(tmp_path / "small.npz", x=x, y=np.arange(6) % 2)
    with pytest.warns(UserWarning, match="x is uint8, read as 0..255, but its values only reach 16"):
        load_domain(str(tmp_path / "small.npz"))
    np.savez(tmp_path / "float.npz", x=x.astype(np.float32), y=np.arange(6) % 2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_domain(str(tmp_path / "float.npz")).value_range == (0.0, 16.0)


def test_image_files_reach_the_model_as_the_runs_own_images_did(tmp_path, capsys):
    """A folder of mixed sizes is read at its most common size (the others resized to it),
    then brought to the model by the recipe. predict must take the same path: it gave 17 % of
    another user's off-size images other labels when each went straight from its own size."""
    from PIL import Image

    from transferkit.data.files import load_file, read_images
    from transferkit.data.preprocess import Recipe, apply_recipe
    from transferkit.models.transfer_model import TransferModel
    from transferkit.train.supervised import predict_proba

    xs, ys = make_images(30, size=28, seed=4)  # the model takes 28x28: every target image is resized
    np.savez(tmp_path / "source.npz", x=xs[:, 0], y=ys, classes=np.array(["a", "b", "c"]))
    x, y = make_images(30, seed=3)
    folder = tmp_path / "target"
    for i, (img, c) in enumerate(zip(x[:, 0], y, strict=True)):
        (folder / "abc"[c]).mkdir(parents=True, exist_ok=True)
        side = 12 if i % 3 else 30  # a third of them larger than the folder's common 12x12
        Image.fromarray(img.astype(np.uint8)).resize((side, side), Image.BILINEAR).save(folder / "abc"[c] / f"{i}.png")
    cfg = tiny_experiment(tmp_path / "source.npz", folder, seeds=1, methods=[{"name": "head", "params": {"steps": 15}}])
    cfg["target"]["shots"] = [5]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    model_dir = tmp_path / "run" / "models" / "head_k5_seed0"
    meta = yaml.safe_load((tmp_path / "run" / "models" / "head_k5_seed0.json").read_text())
    assert meta["image_size"] == [12, 12]
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(folder), "--out", str(tmp_path / "p.csv")]) == 0
    assert "the size of the run's target images" in capsys.readouterr().err
    got = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    files = sorted(folder.rglob("*.png"))
    assert [g["input"] for g in got] == [str(f.relative_to(folder)) for f in files]
    recipe = Recipe.from_dict(meta["recipe"])
    as_in_run = predict_proba(TransferModel.load(model_dir), apply_recipe(read_images(files, (12, 12)), recipe))
    assert [float(g["probability"]) for g in got] == pytest.approx(as_in_run.max(1).values.tolist(), abs=1e-6)
    assert np.array_equal(read_images(files, (12, 12)), load_file(folder).x)  # the run read the same pixels


def test_images_too_small_to_scale_up_are_refused(tmp_path, capsys):
    """1x1 "images" (or (N, L, 1) sequences) were scaled up to the model's input and scored
    with confident, meaningless predictions."""
    x, y = make_images(30, seed=3)
    np.savez(tmp_path / "source.npz", x=x[:, 0], y=y, classes=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "dots.npz", x=x[:, :, 5:6, 5:6], y=y, classes=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "series.npz", x=x[:, 0, :, :1], y=y, classes=np.array(["a", "b", "c"]))  # (N, 12, 1)
    for name, size in (("dots", "1x1"), ("series", "12x1")):
        cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / f"{name}.npz", seeds=1, methods=["scratch"])
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
        err = _bad(capsys, ["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / name), "--quiet"])
        assert f"holds images of {size} pixels, too small to scale up to the model's 12x12 input" in err
        assert "store x with shape (N, D)" in err and not (tmp_path / name).exists()


def test_a_colour_target_on_a_grey_model_is_warned_about(tmp_path):
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import make_recipe
    from transferkit.errors import TransferkitWarning

    x, y = make_images(10, seed=3)
    grey = Domain("grey", x, y, ["a", "b", "c"], (0.0, 255.0))
    tinted = np.repeat(x, 3, axis=1)
    tinted[:, 2] *= 0.5  # a colour cast: three equal channels would be grey, and averaging would lose nothing
    colour = Domain("colour", tinted, y, ["a", "b", "c"], (0.0, 255.0))
    with pytest.warns(TransferkitWarning, match="colour holds colour images but the model reads grey ones"):
        make_recipe(colour, (1, 12, 12), 0, source=grey)
    import warnings

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")  # grey on a colour model loses nothing; the colour shift is said (session 35)
        make_recipe(grey, (3, 12, 12), 0, source=colour)
    assert [str(w.message) for w in said] == [
        "grey holds grey images and the source colour colour ones: each is read as three equal channels, a look the "
        "source's features never met, so expect a domain shift from colour alone. A grey source, or both read grey "
        "(model.input_shape with 1 channel), removes it."]


def test_the_colour_note_reaches_the_run_summary(tmp_path):
    """Printed once on the console only, the note was missing from report.md and summary.json."""
    import warnings

    from transferkit.config import load_config
    from transferkit.evaluate.prepare import prepare

    x, y = make_images(20, seed=3)
    np.savez(tmp_path / "grey.npz", x=x[:, 0].astype(np.uint8), y=y)
    tinted = np.repeat(x, 3, axis=1)
    tinted[:, 2] *= 0.5  # a colour cast (equal channels would be grey)
    np.savez(tmp_path / "colour.npz", x=tinted.astype(np.uint8), y=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = prepare(load_config(None, raw=tiny_experiment(tmp_path / "grey.npz", tmp_path / "colour.npz")))
        assert any("holds colour images but the model reads grey ones" in n for n in data.notes)
        back = prepare(load_config(None, raw=tiny_experiment(tmp_path / "colour.npz", tmp_path / "grey.npz")))
    assert len(back.notes) == 1 and "holds grey images and the source" in back.notes[0]  # colour lost: not said


def test_texts_that_are_empty_or_not_strings(tmp_path):
    from transferkit.data.text import load_text_file, load_text_inputs
    from transferkit.errors import TransferkitWarning

    (tmp_path / "t.csv").write_text('text,label\n"great",pos\n,neg\n"awful",neg\n')
    with pytest.raises(TransferkitError, match=r"1 example\(s\) have no text in 'text': empty, missing or not a string "
                                               r"\(examples \[2\]"):  # fmt: skip
        load_text_file(tmp_path / "t.csv")  # was an example of label neg with no text
    (tmp_path / "j.jsonl").write_text('{"text": "great", "label": "pos"}\n{"text": 5, "label": "neg"}\n')
    with pytest.raises(TransferkitError, match=r"have no text in 'text': empty, missing or not a string"):
        load_text_file(tmp_path / "j.jsonl")
    (tmp_path / "c.jsonl").write_text('{"text": "great"}\n{"text": 5}\n')
    with pytest.raises(TransferkitError, match=r"line 2: 'text' is 5, not a text"):  # was: "has no text in 'text'"
        load_text_inputs(tmp_path / "c.jsonl")
    (tmp_path / "p.csv").write_text('id,text\n1,"Great value"\n2,\n')
    with pytest.warns(TransferkitWarning, match=r"1 input\(s\) have no text \(rows 1, counting from 0 as the predictions. input column does\)"):
        texts, names = load_text_inputs(tmp_path / "p.csv")
    assert texts == ["Great value", ""] and names == ["0", "1"]


def test_missing_texts_numbers_as_texts_and_ids_that_repeat_are_said_alike(tmp_path):
    """A trial: a JSONL's null text was refused where a CSV's empty cell was warned of, and the
    API raised on NaN; a text column of numbers trained MiniLM at the majority rate unsaid; and
    predict's --id-column named two texts' predictions alike (or one by nothing) without a word."""
    from transferkit.data.text import load_text_file, load_text_inputs, numbers_note
    from transferkit.errors import TransferkitWarning
    from transferkit.estimator_text import read_texts

    (tmp_path / "n.jsonl").write_text('{"text": "great", "doc": "a"}\n{"text": null, "doc": "b"}\n')
    with pytest.warns(TransferkitWarning, match=r"1 input\(s\) have no text \(line 2\)"):
        assert load_text_inputs(tmp_path / "n.jsonl")[0] == ["great", ""]
    with pytest.warns(TransferkitWarning, match="empty or missing text"):
        assert read_texts(["fine", None, float("nan")], "X", training=False) == ["fine", "", ""]
    with pytest.raises(TransferkitError, match=r"X\[1\] is NoneType"):  # to train on: refused, as before
        read_texts(["fine", None], "X", training=True)
    with pytest.raises(TransferkitError, match=r"X_unlabelled\[1\] is NoneType"):  # adapted to: trained on, refused
        read_texts(["fine", None], "X_unlabelled", training=False)
    pd = pytest.importorskip("pandas")
    with pytest.warns(TransferkitWarning, match="empty or missing text"):  # pandas' string dtype writes pd.NA
        assert read_texts(pd.Series(["fine", None], dtype="string"), "X", training=False) == ["fine", ""]
    assert numbers_note(["nan", "nan"], "t") is None and numbers_note(["1_000", "inf"], "t") is None  # not as written
    assert "every text is a number (e.g. '0.0')" in numbers_note(["0.0", "3.5", "1,200", " 7 "], "t.csv's 'text'")
    assert numbers_note(["0.0", "great"], "t") is None and numbers_note(["3"], "t") is None
    (tmp_path / "num.csv").write_text("text,label\n0.0,a\n3.5,b\n7.0,a\n")
    with pytest.warns(TransferkitWarning, match=r"num.csv's 'text': every text is a number"):
        load_text_file(tmp_path / "num.csv")
    with pytest.warns(TransferkitWarning, match="X: every text is a number"):
        read_texts(["1", "2", "3"], "X", training=True)
    (tmp_path / "ids.csv").write_text("doc,text\nD0,great\nD1,awful\nD0,fine\n,meh\n")
    with pytest.warns(TransferkitWarning, match=r"the --id-column 'doc' does not name every prediction apart: it "
                                                 r"repeats values \(2 rows share a name with another, e.g. 'D0'\) and "
                                                 r"1 row\(s\) have an empty one"):  # fmt: skip
        load_text_inputs(tmp_path / "ids.csv", id_column="doc")


def test_a_text_with_an_unquoted_comma_is_refused_not_cut(tmp_path):
    """A trial's unquoted 'blender 837, really bad,neg' trained on the label ' really bad', and predict
    cut every text of a one-column CSV at its first comma, with no word."""
    from transferkit.data.text import load_text_file, load_text_inputs

    (tmp_path / "a.csv").write_text("text,label\nthe blender, really bad,neg\nfine,pos\n")
    with pytest.raises(TransferkitError, match=r"data row 1 has 3 fields, the header 2: a text holding a comma that is "
                                               r"not inside quotes is split there \(read as 'the blender', ' really "
                                               r"bad', 'neg'\)\. Fix: quote the texts"):  # fmt: skip
        load_text_file(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("text\nfine\nhello, world\n")
    with pytest.raises(TransferkitError, match=r"data row 2 has 2 fields, the header 1"):
        load_text_inputs(tmp_path / "b.csv")
    (tmp_path / "c.tsv").write_text("text\tlabel\ntabbed\tin\tpos\nfine\tneg\n")
    with pytest.raises(TransferkitError, match=r"a text holding a tab that is not inside quotes"):
        load_text_file(tmp_path / "c.tsv")
    (tmp_path / "d.csv").write_text('text,label,\n"quoted, fine",pos,\nbad,neg,\n')  # a trailing comma: no field
    assert load_text_file(tmp_path / "d.csv").texts == ["quoted, fine", "bad"]
    assert load_text_inputs(tmp_path / "d.csv")[0] == ["quoted, fine", "bad"]
    (tmp_path / "f.csv").write_text("text,label,\nthe blender, really bad,neg,\n")  # a spreadsheet's trailing comma
    with pytest.raises(TransferkitError, match=r"data row 1 has 4 fields, the header 2"):
        load_text_file(tmp_path / "f.csv")
    (tmp_path / "e.csv").write_text("text,label\ngood,pos,\nbad,neg\n")  # an empty field past the header: nothing lost
    assert load_text_file(tmp_path / "e.csv").texts == ["good", "bad"]


def test_a_text_column_given_to_predict_is_named_as_the_users(tmp_path):
    from transferkit.data.text import load_text_inputs

    (tmp_path / "t.csv").write_text("id,text\n1,great\n")
    with pytest.raises(TransferkitError, match=r"no column 'nope', the column --text-column names"):
        load_text_inputs(tmp_path / "t.csv", "nope", "the column --text-column names")
    with pytest.raises(TransferkitError, match=r"no column 'review', the text column the model was trained with"):
        load_text_inputs(tmp_path / "t.csv", "review")


def test_texts_are_named_by_an_id_column_or_key(tmp_path):
    from transferkit.data.text import load_text_inputs

    (tmp_path / "t.csv").write_text("id,text\nA-1,great\nB-2,awful\n")
    assert load_text_inputs(tmp_path / "t.csv", id_column="id") == (["great", "awful"], ["A-1", "B-2"])
    with pytest.raises(TransferkitError, match=r"no column 'key', the --id-column \(columns: \['id', 'text'\]\)"):
        load_text_inputs(tmp_path / "t.csv", id_column="key")
    (tmp_path / "t.jsonl").write_text('{"text": "great", "id": 7}\n\n{"text": "awful", "id": "x"}\n')
    assert load_text_inputs(tmp_path / "t.jsonl", id_column="id") == (["great", "awful"], ["7", "x"])
    (tmp_path / "u.jsonl").write_text('{"text": "great", "id": 7}\n{"text": "awful"}\n')
    with pytest.raises(TransferkitError, match=r"line 2: the --id-column key 'id' is missing \(its keys: \['text'\]\)"):
        load_text_inputs(tmp_path / "u.jsonl", id_column="id")
    (tmp_path / "n.jsonl").write_text('{"text": "great", "id": true}\n{"text": "awful", "id": null}\n')
    with pytest.raises(TransferkitError, match=r"line 2: the --id-column key 'id' is null"):  # was named "None"
        load_text_inputs(tmp_path / "n.jsonl", id_column="id")
    (tmp_path / "b.jsonl").write_text('{"text": "great", "id": true}\n{"text": "awful", "id": 1.5}\n')
    assert load_text_inputs(tmp_path / "b.jsonl", id_column="id")[1] == ["true", "1.5"]  # as JSON writes them
    (tmp_path / "short.csv").write_text("text,label,id\nhello,a,A1\nworld,b\n")
    with pytest.raises(TransferkitError, match=r"data row\(s\) \[2\] end before the --id-column 'id'"):
        load_text_inputs(tmp_path / "short.csv", id_column="id")
    (tmp_path / "t.txt").write_text("great\n")
    with pytest.raises(TransferkitError, match="t.txt has no columns"):
        load_text_inputs(tmp_path / "t.txt", id_column="id")


def test_a_text_csv_target_takes_an_id_column_as_a_feature_csv_does(tmp_path):
    """`target.id_column` on a text CSV was refused as 'a column of a CSV of numeric features', so
    predict could not name the rows by it without --id-column each time."""
    from transferkit.data import load_domain

    (tmp_path / "t.csv").write_text("msg_id,text,label\nm1,great,pos\nm2,awful,neg\n")
    d = load_domain(str(tmp_path / "t.csv"), id_column="msg_id")
    assert d.texts == ["great", "awful"] and d.classes == ["neg", "pos"]
    with pytest.raises(TransferkitError, match=r"no column 'key', the id_column \(columns: \['msg_id', 'text', 'label'\]\)"):
        load_domain(str(tmp_path / "t.csv"), id_column="key")
    with pytest.raises(TransferkitError, match="id_column 'text' is t.csv's text column"):
        load_domain(str(tmp_path / "t.csv"), id_column="text")
    (tmp_path / "t.txt").write_text("pos\tgreat\nneg\tawful\n")
    with pytest.raises(TransferkitError, match="t.txt is a text file without columns"):
        load_domain(str(tmp_path / "t.txt"), id_column="msg_id")


def test_npz_images_of_another_size_are_said_to_be_resized(run16, tmp_path, capsys):
    """Image files of another size were warned of, .npz images of another size were not."""
    x = np.load(run16 / "target.npz")["x"]
    np.savez(tmp_path / "same.npz", x=x[:4])
    assert main(["predict", str(run16 / "run"), str(tmp_path / "same.npz")]) == 0
    assert "resized" not in capsys.readouterr().err
    np.savez(tmp_path / "odd.npz", x=np.zeros((4, 18, 18), np.float32) + x[:4].mean())  # not a whole factor
    assert main(["predict", str(run16 / "run"), str(tmp_path / "odd.npz")]) == 0
    assert "its images are 18x18 pixels, the run's target images 12x12; they are resized" in capsys.readouterr().err
    # a whole factor larger: averaged block by block to the run's size first, as an image file of that size is read,
    # so a pixel-doubled copy predicts as the images themselves (its "resize them first" advice had no effect; a trial)
    np.savez(tmp_path / "big.npz", x=np.kron(x[:4], np.ones((2, 2), np.float32)))
    assert main(["predict", str(run16 / "run"), str(tmp_path / "same.npz"), "--out", str(tmp_path / "same.csv")]) == 0
    assert main(["predict", str(run16 / "run"), str(tmp_path / "big.npz"), "--out", str(tmp_path / "big.csv")]) == 0
    assert "resized" not in capsys.readouterr().err
    assert (tmp_path / "big.csv").read_text() == (tmp_path / "same.csv").read_text()


def test_a_npy_of_inputs_predicts_as_the_npz_does_and_nan_is_named_by_row(run16, tmp_path, capsys):
    """`predict` refused a .npy ("unsupported file type"), a common way to save an array; a NaN
    in the inputs was not placed."""
    x = np.load(run16 / "target.npz")["x"][:4]
    np.savez(tmp_path / "x.npz", x=x)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert main(["predict", str(run16 / "run"), str(tmp_path / "x.npz")]) == 0
    from_npz = capsys.readouterr().out
    assert main(["predict", str(run16 / "run"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "p.csv")]) == 0
    assert "wrote 4 predictions to" in capsys.readouterr().out
    cut = lambda text: [ln.rsplit(",", 1)[0] for ln in text.splitlines()]  # noqa: E731 -- stdout rounds probabilities
    assert cut((tmp_path / "p.csv").read_text()) == cut(from_npz)
    x8 = np.round(x / 16 * 255).astype(np.uint8)  # the same images as 8-bit: read as 0..255 by their type
    np.savez(tmp_path / "x8.npz", x=x8)
    np.save(tmp_path / "x8.npy", x8)
    assert main(["predict", str(run16 / "run"), str(tmp_path / "x8.npz")]) == 0
    eight_npz = capsys.readouterr().out
    assert main(["predict", str(run16 / "run"), str(tmp_path / "x8.npy")]) == 0
    assert capsys.readouterr().out == eight_npz and cut(eight_npz) == cut(from_npz)
    np.save(tmp_path / "one.npy", x[:1])
    assert main(["predict", str(run16 / "run"), str(tmp_path / "one.npy"), "--out", str(tmp_path / "one.csv")]) == 0
    assert "wrote 1 prediction to" in capsys.readouterr().out
    bad = x.copy()
    bad[2, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    err = _bad(capsys, ["predict", str(run16 / "run"), str(tmp_path / "nan.npy"), "--out", str(tmp_path / "nan.csv")])
    assert "1 input(s) contain NaN or Inf values, the first '2'" in err and not (tmp_path / "nan.csv").exists()
    assert "remove or impute" in err and "to the end" not in err
    bad[2, :, 3:] = np.nan  # every row ends in NaN: padding to one length, as aeon pads series
    np.save(tmp_path / "padded.npy", bad)
    err = _bad(capsys, ["predict", str(run16 / "run"), str(tmp_path / "padded.npy")])
    assert "the NaN come after the values, to the end" in err and "resample each series to one length" in err
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    err = _bad(capsys, ["predict", str(run16 / "run"), str(tmp_path / "obj.npy")])
    assert "cannot read it as a numpy array" in err and "numpy.save(path, x)" in err


def test_images_on_their_side_are_refused_by_run_and_predict(tmp_path, capsys):
    """A target (or predict's input) of HxW beside a WxH model, e.g. series saved (N, L, C) beside
    (N, C, L), was resized: rows became columns and the run reported chance-level accuracy."""
    x, y = make_images(30, seed=3)
    classes = np.array(["a", "b", "c"])
    np.savez(tmp_path / "source.npz", x=x[:, 0, 3:9, :], y=y, classes=classes)  # (N, 6, 12)
    np.savez(tmp_path / "turned.npz", x=x[:, 0, 3:9, :].swapaxes(-1, -2), y=y, classes=classes)  # (N, 12, 6)
    cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / "turned.npz", seeds=1, methods=["scratch"])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    err = _bad(capsys, ["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "bad"), "--quiet"])
    assert ("holds series of 12 channels x 6 steps and the model reads 6 channels x 12 steps: the same size on its side"
            in err)  # a 6x12 model reads series (a side under 8): said as series, not images (a trial)
    assert "x.swapaxes(-1, -2)" in err and not (tmp_path / "bad").exists()
    x2, y2 = make_images(30, seed=4)
    np.savez(tmp_path / "target.npz", x=x2[:, 0, 3:9, :], y=y2, classes=classes)
    cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / "target.npz", seeds=1,
                          methods=[{"name": "head", "params": {"steps": 5}}])  # fmt: skip
    cfg["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    err = _bad(capsys, ["predict", str(tmp_path / "run"), str(tmp_path / "turned.npz")])
    assert "turned.npz holds series of 12 channels x 6 steps and the run trained on 6 channels x 12 steps" in err
    other = x[:, 0, :8, :].swapaxes(-1, -2)  # 12x8: another size, not turned; a 6x12 model reads series (not a
    np.savez(tmp_path / "other.npz", x=other)  # picture: a side under 8), so refused, not resized (session 20)
    err = _bad(capsys, ["predict", str(tmp_path / "run"), str(tmp_path / "other.npz")])
    assert "other.npz holds series of 12 channels x 8 steps and the model reads 6 x 12" in err


def test_predict_warns_of_inputs_of_the_other_polarity(tmp_path, capsys):
    """Inverted inputs were predicted at chance with confident probabilities and no word."""
    from PIL import Image

    x, y = make_images(30, seed=3)
    x2, y2 = make_images(60, seed=4)  # a pool of 100 or more, none inverted: one inverted input is then news
    classes = np.array(["a", "b", "c"])
    np.savez(tmp_path / "source.npz", x=x[:, 0], y=y, classes=classes)
    np.savez(tmp_path / "target.npz", x=x2[:, 0], y=y2, classes=classes)
    cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / "target.npz", seeds=1,
                          methods=[{"name": "head", "params": {"steps": 5}}])  # fmt: skip
    cfg["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "target.npz")]) == 0
    assert "input images are" not in capsys.readouterr().err
    inverted = x2[:6, 0].max() - x2[:6, 0]
    np.savez(tmp_path / "inverted.npz", x=inverted)
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "inverted.npz")]) == 0
    assert ("inverted.npz: 6 of the 6 input images (0, 1, 2, ...) are dark on a light background, the images the "
            "model was trained on light on a dark one") in capsys.readouterr().err  # fmt: skip
    folder = tmp_path / "scans"
    folder.mkdir()
    for i, img in enumerate(inverted):
        Image.fromarray(np.uint8(255 * img / img.max())).save(folder / f"{i}.png")
    assert main(["predict", str(tmp_path / "run"), str(folder)]) == 0
    assert "scans: 6 of the 6 input images (0.png, 1.png, 2.png, ...) are dark on a light background" in capsys.readouterr().err
    # tinted sheets: dark ink on a beige background of 0.69, between the extremes (a trial's went unsaid, all one class)
    tinted = tmp_path / "tinted"
    tinted.mkdir()
    for i, img in enumerate(inverted):
        paper = (img / img.max())[..., None] * np.array([200.0, 180.0, 150.0])
        Image.fromarray(np.uint8(paper)).save(tinted / f"{i}.png")
    assert main(["predict", str(tmp_path / "run"), str(tinted)]) == 0
    import re

    assert re.search(r"tinted: [3-6] of the 6 input images \(0\.png, .*\) are dark on a light background, the images the "
                     r"model was trained on light on a dark one", capsys.readouterr().err)  # fmt: skip
    # one inverted scan among many (under a tenth) was not said: it is still read inverted
    few = x2[:, 0].copy()
    few[7] = few[7].max() - few[7]
    np.savez(tmp_path / "few.npz", x=few)
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "few.npz")]) == 0
    assert "few.npz: 1 of the 180 input images (7) are dark on a light background" in capsys.readouterr().err
    import json

    meta = json.loads((tmp_path / "run" / "models" / "head_k3_seed0.json").read_text())
    assert meta["target_border_other"][0] == 0 and meta["target_border_other"][1] >= 100
    meta["target_border_other"] = [3, 120]  # had the run's own images held a few of the other kind: photos, say
    (tmp_path / "run" / "models" / "head_k3_seed0.json").write_text(json.dumps(meta))
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "few.npz"), "--method", "head"]) == 0
    assert "input images" not in capsys.readouterr().err  # 1 in 180 is then no news (under a tenth)


def test_predict_says_how_it_flattens_arrays_given_to_a_vector_model(tmp_path):
    """(N, 6, 100) series given to a model of 600 features were flattened without a word; (N, 1, L)
    is L values in a row, flattened as they are (a new user's UCR trial)."""
    import warnings

    from transferkit import api
    from transferkit.prediction import predict

    rng = np.random.default_rng(0)
    for name in ("s", "t"):
        np.savez(tmp_path / f"{name}.npz", x=rng.normal(size=(60, 12)).astype(np.float32), y=np.arange(60) % 3)
    api.run({"name": "vec", "source": {"data": str(tmp_path / "s.npz"), "epochs": 1},
             "target": {"data": str(tmp_path / "t.npz"), "shots": [3]}, "methods": [{"scratch": {"steps": 2}}],
             "seeds": 1}, out=tmp_path / "run", progress=False)  # fmt: skip
    x = rng.normal(size=(4, 12)).astype(np.float32)
    np.savez(tmp_path / "grid.npz", x=x.reshape(4, 3, 4))
    with pytest.warns(UserWarning, match=r"its examples are 3x4 arrays; the model reads vectors of 12 features, so each "
                      r"is flattened row by row"):  # fmt: skip
        grid = predict(tmp_path / "run", tmp_path / "grid.npz")
    np.savez(tmp_path / "row.npz", x=x[:, None, :])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        row = predict(tmp_path / "run", tmp_path / "row.npz")
    assert not [w for w in seen if "flattened" in str(w.message)]
    assert [r["class_index"] for r in row] == [r["class_index"] for r in grid]


def test_a_missing_input_is_said_before_the_model_is_loaded(tmp_path, monkeypatch):
    """A new user's missing file failed after 6.5 s of loading a text encoder."""
    from transferkit.models import TransferModel
    from transferkit.prediction import predict

    monkeypatch.setattr(TransferModel, "load", lambda *a, **k: pytest.fail("loaded the model first"))
    with pytest.raises(TransferkitError, match=r"input '.*nope\.csv' does not exist\."):
        predict(tmp_path / "run", tmp_path / "nope.csv")


def test_one_example_saved_without_its_batch_axis_is_read_as_one(tmp_path, capsys):
    """A new user's np.save of one series of L values was refused with a reshape a CLI user cannot do."""
    rng = np.random.default_rng(0)
    for name in ("source", "target"):
        y = np.arange(60) % 2
        np.savez(tmp_path / f"{name}.npz", x=(rng.normal(size=(60, 12)) + 2 * y[:, None]).astype(np.float32), y=y)
    cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / "target.npz", seeds=1,
                          methods=[{"name": "head", "params": {"steps": 5}}], model={})  # fmt: skip
    cfg["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    one = np.load(tmp_path / "target.npz")["x"][0]
    np.save(tmp_path / "one.npy", one)
    np.save(tmp_path / "batch.npy", one[None])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "one.npy"), "--out", str(tmp_path / "one.csv")]) == 0
    assert "one array of 12 values, the model's 12 features, is read as one example" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "batch.npy"), "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "one.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_run_on_a_target_of_both_polarities_neither_calls_it_swapped_nor_warns_predict(tmp_path, capsys):
    """A new user's 50/50 letters: run said both 'mixed' and 'the target's dark on a light background
    ... invert: true' (which would only swap the wrong half); predict told them to invert half of
    the run's own training images."""
    x, y = make_images(30, size=16, seed=3)
    x2, y2 = make_images(30, size=16, seed=4)
    both = x2[:, 0].copy()
    both[:50] = 255 - both[:50]  # 50 of 90 ink on paper: the median border is paper's
    np.savez(tmp_path / "source.npz", x=x[:, 0].astype(np.uint8), y=y)
    np.savez(tmp_path / "both.npz", x=both.astype(np.uint8), y=y2)
    cfg = tiny_experiment(tmp_path / "source.npz", tmp_path / "both.npz", seeds=1,
                          methods=[{"name": "head", "params": {"steps": 5}}])  # fmt: skip
    cfg["target"]["shots"] = [3]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "56 % of its images are dark on a light background and 44 % light on a dark one" in err
    assert "ink and background are swapped" not in err
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "both.npz")]) == 0
    assert "input images are" not in capsys.readouterr().err


def test_predict_on_a_folder_skips_a_broken_image_and_names_a_blank_one(run16, tmp_path, capsys):
    from PIL import Image

    x, _ = make_images(3, seed=5)
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(x[i, 0].astype(np.uint8)).save(folder / f"{i}.png")
    Image.fromarray(np.full((12, 12), 9, np.uint8)).save(folder / "empty.png")
    (folder / "cut.png").write_bytes((folder / "0.png").read_bytes()[:40])
    out = tmp_path / "p.csv"
    assert main(["predict", str(run16 / "run"), str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 image file(s) cannot be read and get no prediction (cut.png" in err
    assert "1 of the 4 inputs are blank (one value throughout, e.g. empty.png)" in err
    assert [r.split(",")[0] for r in out.read_text().splitlines()[1:]] == ["0.png", "1.png", "2.png", "empty.png"]


def test_predict_decodes_each_image_once(run16, tmp_path, monkeypatch):
    """predict opened every file of a folder twice: once to check it could be read, then to
    read it (about a third of its input time on 400-pixel JPEGs)."""
    from PIL import Image

    import transferkit.data.files as files_module
    import transferkit.prediction as prediction_module

    x, _ = make_images(4, seed=6)
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(x[i, 0].astype(np.uint8)).save(folder / f"{i}.png")
    (folder / "cut.png").write_bytes((folder / "0.png").read_bytes()[:40])  # a header, then nothing
    decoded = []
    real = files_module.open_image

    def counting(f, load=True):
        decoded.extend([Path(f).name] if load else [])
        return real(f, load)

    monkeypatch.setattr(files_module, "open_image", counting)
    monkeypatch.setattr(prediction_module, "open_image", counting)
    with pytest.warns(UserWarning, match=r"1 image file\(s\) cannot be read and get no prediction \(cut.png"):
        rows = predict(run16 / "run", folder)
    assert [r["input"] for r in rows] == ["0.png", "1.png", "2.png", "3.png"]
    assert sorted(set(decoded) - {"cut.png"}) == ["0.png", "1.png", "2.png", "3.png"]
    assert len(decoded) == len(set(decoded))  # each once (cut.png fails at its header or its pixels)
    assert rows == predict(run16 / "run", folder / ".." / "scans", on_warning=lambda m: None)  # the same rows
    only = tmp_path / "only"
    only.mkdir()
    (only / "cut.png").write_bytes((folder / "0.png").read_bytes()[:40])
    with pytest.raises(TransferkitError, match=r"none of its 1 image file\(s\) can be read"):
        predict(run16 / "run", only)
    with pytest.raises(TransferkitError, match=r"cut.png: cannot read image"):
        predict(run16 / "run", only / "cut.png")


def test_inputs_of_the_other_ink_beside_a_mid_grey_training_background_are_said():
    """A trial's run read tinted sheets inverted (`invert: true`: background 0.32, light ink); plain
    MNIST given to predict (inverted there: background 1.0, dark ink) was predicted one class, unsaid."""
    from transferkit.data.preprocess import inputs_polarity_note

    borders, inks = np.array([1.0, 1.0, 0.3]), np.array([-0.4, -0.3, 0.3])
    note = inputs_polarity_note(borders, 0.32, "x.npz", trained_ink=0.25, inks=inks)
    assert note.startswith("x.npz: 2 of the 3 input images are dark on a light background")
    assert inputs_polarity_note(borders, 0.32, "x.npz") is None  # no ink recorded (runs before): nothing to go by
    assert inputs_polarity_note(np.array([0.3, 0.35]), 0.32, "x.npz", trained_ink=0.25, inks=np.array([0.2, 0.3])) is None


def test_predict_on_a_file_it_does_not_read_says_what_it_reads(run16, tmp_path):
    """notes.md got the training loader's fix (".txt (label<TAB>text)..."), not predict's formats."""
    (tmp_path / "notes.md").write_text("# my notes\n")
    with pytest.raises(TransferkitError, match=r"notes.md: predict does not read .md files") as e:
        predict(run16 / "run", tmp_path / "notes.md")
    assert "an image or a folder of images" in e.value.fix and "label<TAB>text" not in e.value.fix


def test_predict_says_when_its_model_got_a_class_wrong_throughout_the_run():
    """A trial's collapsed source_only predicted all 61 inputs as the majority class, and predict said nothing
    (the run's report had said its classes 'one' and 'two' scored 0 %)."""
    from transferkit.prediction import _classes_missed

    meta = {"method": "source_only", "shots": 1, "seed": 0}
    summary = {"target": {"test_per_class": {"zero": 51, "one": 8, "two": 2}},
               "results": [{"method": "source_only", "shots": 1, "per_class_accuracy": {"zero": 0.98, "one": 0.0,
                                                                                        "two": 0.0}}]}  # fmt: skip
    assert _classes_missed(summary, meta) == (
        "source_only at k=1 classified none of these classes' test examples correctly in this run, on any seed: "
        "'one' (0 of 8), 'two' (0 of 2); its predictions of them cannot be trusted (the run's report.md has each "
        "class's accuracy).")
    summary["results"][0]["per_class_accuracy"].update(one=0.5, two=0.167)
    assert _classes_missed(summary, meta) is None
    summary["results"][0].update(balanced_gain=-0.3, balanced_gain_ci95=[-0.581, -0.019], negative_transfer=False)
    assert _classes_missed(summary, meta).startswith("source_only at k=1 lost balanced accuracy to its baseline in "
                                                     "this run (-30.0 points, 95 % CI [-58.1, -1.9])")  # fmt: skip
    summary["target"]["test_per_class"] = {"zero": 20, "one": 20, "two": 19}  # a balanced split: accuracy says it
    assert _classes_missed(summary, meta) is None  # (a review: "on an imbalanced test split" was said of it)


def test_predict_the_report_and_the_console_say_when_the_deployed_model_lost_to_the_unadapted_source(capsys):
    """finetune at k=1 scored +26.7 over scratch but 6 points below source_only; the report's
    results said so, while predict, the console's "predict with:" line and the report's deployed
    model line were silent."""
    from transferkit.commands._shared import print_summary
    from transferkit.prediction import _below_source_model
    from transferkit.report.markdown import deploy_flag

    row = {"method": "finetune", "shots": 1, "seeds": [0, 1, 2], "accuracy_mean": 0.597, "accuracy_ci95": [0.55, 0.64],
           "gain_vs_scratch": 0.267, "gain_ci95": [0.2, 0.33], "negative_transfer": False, "below_unadapted": True,
           "gain_vs_unadapted": -0.06, "gain_vs_unadapted_ci95": [-0.091, -0.029]}  # fmt: skip
    summary = {"results": [row], "negative_transfer": [], "skipped": [], "run_dir": "r", "wall_time_s": 1.0,
               "deploy": {"method": "finetune", "shots": 1, "seed": 0}, "target": {}}  # fmt: skip
    meta = {"method": "finetune", "shots": 1, "seed": 0}
    assert _below_source_model(summary, meta) == (
        "finetune at k=1 scored below the source model as it is (source_only) in this run (-6.0 points, 95 % CI "
        "[-9.1, -2.9]): adapting the source to the target made it worse than not adapting it; --method source_only "
        "uses it unadapted (a choice made on this run's test split: the accuracy the run reports for it is then a "
        "little optimistic).")  # fmt: skip
    assert "**below the source model as it is (`source_only`) in this run**" in deploy_flag(summary, summary["deploy"])
    print_summary(summary)
    assert ("finetune is below the source model as it is (source_only) at k = 1 in this run: set deploy: or give "
            "--method") in capsys.readouterr().out  # fmt: skip
    assert _below_source_model(summary, {**meta, "shots": 5}) is None  # another k: nothing said
    row["below_unadapted"] = False
    assert _below_source_model(summary, meta) is None and deploy_flag(summary, summary["deploy"]) == ""
    print_summary(summary)
    assert "set deploy:" not in capsys.readouterr().out
    row["negative_transfer"] = True  # flagged against scratch: that is said first
    assert "flagged as negative transfer" in deploy_flag(summary, summary["deploy"])
