"""CSV feature columns are matched by name (run and predict); target classes by name; blank labels refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_experiment
from transferkit.cli import main
from transferkit.config import validate
from transferkit.data import load_domain
from transferkit.data.files import order_columns
from transferkit.errors import TransferkitError
from transferkit.evaluate.prepare import match_source, prepare
from transferkit.prediction import predict


def _clusters(seed: int, features: int, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Data sets of 3 Gaussian classes around the same centres (one per size): (x rounded to 4 places, y)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3, size=(3, features))
    out = []
    for n in sizes:
        y = np.arange(n) % 3
        out.append(((centers[y] + rng.normal(size=(n, features))).round(4), y))
    return out


def _csv(path, x, labels, names):
    lines = [",".join([*names, "label"])] + [",".join([*map(str, row), str(lab)]) for row, lab in zip(x, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_order_columns_matches_by_name_and_names_what_differs():
    x = np.array([[1.0, 2.0, 3.0]])
    assert order_columns(x, ["b", "c", "a"], ["a", "b", "c"], "t").tolist() == [[3.0, 1.0, 2.0]]
    assert order_columns(x, ["a", "b", "c"], ["a", "b", "c"], "t") is x
    with pytest.raises(TransferkitError, match=r"missing \['d'\], extra \['c'\]"):
        order_columns(x, ["a", "b", "c"], ["a", "b", "d"], "t")


def test_target_columns_and_classes_are_arranged_like_the_source(tmp_path):
    rng = np.random.default_rng(0)
    xs, xt = rng.normal(size=(6, 3)).round(3), rng.normal(size=(4, 3)).round(3)
    source = load_domain(str(_csv(tmp_path / "s.csv", xs, ["cat", "dog", "eel"] * 2, ["f0", "f1", "f2"])))
    shuffled = _csv(tmp_path / "t.csv", xt[:, [2, 0, 1]], ["eel", "dog", "cat", "eel"], ["f2", "f0", "f1"])
    target = match_source(source, load_domain(str(shuffled)))
    np.testing.assert_allclose(target.x, xt, rtol=1e-6)
    assert target.meta["columns"] == ["f0", "f1", "f2"] and target.classes == ["cat", "dog", "eel"]
    assert [target.classes[i] for i in target.y] == ["eel", "dog", "cat", "eel"]
    renamed = _csv(tmp_path / "r.csv", xt, ["cat", "dog", "eel", "cat"], ["f0", "f1", "x"])
    with pytest.raises(TransferkitError, match=r"missing \['f2'\], extra \['x'\]"):
        match_source(source, load_domain(str(renamed)))


def test_blank_labels_are_refused_with_their_lines(tmp_path):
    (tmp_path / "b.csv").write_text("f0,label\n1,a\n\n\n2,\n3,b\n")  # blank lines are skipped, not counted
    with pytest.raises(TransferkitError, match=r"1 row\(s\) have no label in column 'label' \(data rows \[2\]\)"):
        load_domain(str(tmp_path / "b.csv"))
    (tmp_path / "t.csv").write_text("\ntext,label\ngreat,1\nawful,0\n")  # a blank first line: still a text CSV
    assert load_domain(str(tmp_path / "t.csv")).texts == ["great", "awful"]


def test_a_text_column_that_is_not_there_is_named_not_read_as_numbers(tmp_path):
    """A mistyped `text_column:` fell through to the numeric reader: "column 'text' is not numeric"."""
    (tmp_path / "t.csv").write_text("text,label\nnice one,a\nawful,b\n")
    with pytest.raises(TransferkitError, match=r"no text column 'body', the text column named for it \(columns: "
                                               r"\['text', 'label'\]\)"):  # fmt: skip
        load_domain(str(tmp_path / "t.csv"), text_column="body")
    (tmp_path / "f.csv").write_text("f0,label\n1,a\n2,b\n")
    assert load_domain(str(tmp_path / "f.csv")).x.shape == (2, 1)  # the default `text`: a feature CSV as before


def test_a_csv_without_a_header_but_with_text_labels_is_said_to_lack_the_header(tmp_path):
    """A first row of numbers was refused only when every cell was a number; with the class
    names in the last column it read "no label column 'label' (columns: ['1.49', ...])"."""
    for name, rows in (("last.csv", "1.49,0.30,cat\n2.1,0.5,dog\n"), ("first.csv", "cat,1.49,0.30\ndog,2.1,0.5\n")):
        (tmp_path / name).write_text(rows)
        with pytest.raises(TransferkitError, match="holds values, not column names: the file seems to have no header") as e:
            load_domain(str(tmp_path / name))
        assert "add a header row" in e.value.fix
    (tmp_path / "named.csv").write_text("width,height,kind\n1.49,0.30,cat\n")  # a header, another label name
    with pytest.raises(TransferkitError, match=r"no label column 'label' \(columns: 'width', 'height', 'kind'\)") as e:
        load_domain(str(tmp_path / "named.csv"))
    assert "text_column" not in e.value.fix  # one column of words: the labels, no texts to name
    # a trial's unlabelled target (shots: [0]) was only told to rename its label column
    assert "a file with no labels at all: labels are needed even at shots: 0" in e.value.fix
    # texts and labels both misnamed: one message names both options
    (tmp_path / "texts.csv").write_text('id,review,sentiment\n1,"great product, works",positive\n2,"awful, broke",negative\n'
                                        "3,meh,negative\n")
    with pytest.raises(TransferkitError, match=r"e\.g\. label_column: sentiment; and the texts, if a column holds them, "
                       r"with `text_column:`, e\.g\. text_column: review \(with a text encoder"):
        load_domain(str(tmp_path / "texts.csv"))
    # a wide series: its first names alone hid the label column at its end; numbers were cut to 12 characters
    header = [f"t{i}" for i in range(427)] + ["class"]
    (tmp_path / "wide.csv").write_text(",".join(header) + "\n" + ",".join(["0.5"] * 427 + ["1"]) + "\n")
    with pytest.raises(TransferkitError, match=r"columns: 't0', 't1', 't2', 't3', 't4', \.\.\. \(420 more\), 't425', 't426', 'class'\)"):
        load_domain(str(tmp_path / "wide.csv"))
    (tmp_path / "noheader.csv").write_text("6.0e+00,5.506709218025207520e-01,cat\n7.0e+00,0.25,dog\n")
    with pytest.raises(TransferkitError, match=r"first row \(6, 0\.550671, cat\) holds values"):
        load_domain(str(tmp_path / "noheader.csv"))


def test_labels_that_are_not_whole_numbers_are_refused_not_made_class_names(tmp_path):
    (tmp_path / "f.csv").write_text("f0,label\n1,0.5\n2,1.5\n3,0.5\n")
    with pytest.raises(TransferkitError, match=r"column 'label' holds numbers that are not whole, such as '0.5' "
                                               r"\(data row 1\)") as e:  # fmt: skip
        load_domain(str(tmp_path / "f.csv"))
    assert "bin it into classes" in e.value.fix
    (tmp_path / "w.csv").write_text("f0,label\n1,1.0\n2,2\n3,1\n")  # whole numbers, written either way
    assert load_domain(str(tmp_path / "w.csv")).classes == ["1", "2"]


@pytest.mark.slow
def test_run_and_predict_read_shuffled_columns_by_name(tmp_path, capsys):
    names = [f"f{i}" for i in range(6)]
    (xs, ys), (xt, yt) = _clusters(seed=1, features=6, sizes=(150, 60))
    _csv(tmp_path / "s.csv", xs, ys, names)
    perm = [3, 0, 5, 1, 4, 2]
    _csv(tmp_path / "t.csv", xt[:, perm], yt, [names[j] for j in perm])
    raw = tiny_experiment(str(tmp_path / "s.csv"), str(tmp_path / "t.csv"), seeds=1,
                          model={"options": {"hidden": 16, "feature_dim": 8}},
                          methods=[{"name": "head", "params": {"steps": 15}}])  # fmt: skip
    data = prepare(validate(raw))
    np.testing.assert_allclose(data.target.x, xt, rtol=1e-6)
    assert data.target_recipe.columns == tuple(names)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    (tmp_path / "new.csv").write_text(
        "\n".join([",".join(names[j] for j in perm)] + [",".join(map(str, r[perm])) for r in xt[:9]]) + "\n"
    )
    (tmp_path / "new_ordered.csv").write_text("\n".join([",".join(names)] + [",".join(map(str, r)) for r in xt[:9]]) + "\n")
    shuffled, ordered = predict(tmp_path / "run", tmp_path / "new.csv"), predict(tmp_path / "run", tmp_path / "new_ordered.csv")
    assert shuffled == ordered
    assert len({r["class_index"] for r in ordered}) > 1  # the model tells the rows apart, so order would matter
    (tmp_path / "ids.csv").write_text(  # an id and a note beside the model's columns: left out, said
        "\n".join(["id,note," + ",".join(names)] + [f"r{i},x,{','.join(map(str, r))}" for i, r in enumerate(xt[:9])]) + "\n"
    )
    with pytest.warns(UserWarning, match=r"column\(s\) the model does not read are left out: 'id', 'note'"):
        assert predict(tmp_path / "run", tmp_path / "ids.csv") == ordered  # was: "column 'id' is not numeric"
    np.savez(tmp_path / "new.npz", x=xt[:9].astype(np.float32))  # no names: read by position, which is said
    with pytest.warns(UserWarning, match=r"trained on named columns \['f0', 'f1', 'f2', 'f3', 'f4'\]\.\.\. and an "
                                         r"\.npz has no names, so its columns are read by position"):  # fmt: skip
        assert [r["class_index"] for r in predict(tmp_path / "run", tmp_path / "new.npz")] == [
            r["class_index"] for r in ordered]  # fmt: skip
    np.save(tmp_path / "new.npy", xt[:9].astype(np.float32))  # nor has a .npy: said alike
    with pytest.warns(UserWarning, match=r"and an \.npy has no names, so its columns are read by position"):
        predict(tmp_path / "run", tmp_path / "new.npy")
    out = tmp_path / "by_id.csv"  # the CLI names the predictions by the id column, and reads it as no feature
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "ids.csv"), "--id-column", "id", "--out", str(out)]) == 0
    assert "left out: 'note'.\n" in capsys.readouterr().err
    lines = out.read_text().splitlines()
    assert lines[0].startswith("input,") and [ln.split(",")[0] for ln in lines[1:]] == [f"r{i}" for i in range(9)]
    assert [int(ln.split(",")[1]) for ln in lines[1:]] == [r["class_index"] for r in ordered]


def test_long_column_lists_say_how_many_differ():
    wanted, given = [f"t{i}" for i in range(150)], [f"t{i}" for i in range(251)]
    with pytest.raises(TransferkitError, match=r"extra \['t150', 't151', 't152', 't153', 't154', \.\.\. 101 in all\]; "
                                               r"251 columns against 150"):  # fmt: skip
        order_columns(np.zeros((1, 251)), given, wanted, "t")


def test_an_unnamed_index_column_is_refused_and_a_named_one_warned_of(tmp_path):
    rows = [f"{i},{i % 3 + 0.5},{i % 2}" for i in range(30)]
    (tmp_path / "idx.csv").write_text(",f,label\n" + "\n".join(rows) + "\n")  # pandas' to_csv() with its index
    with pytest.raises(TransferkitError, match=r"column 1 has no name and holds the row numbers, a saved index") as e:
        load_domain(str(tmp_path / "idx.csv"))
    assert "index=False" in e.value.fix
    (tmp_path / "un.csv").write_text("Unnamed: 0,f,label\n" + "\n".join(rows) + "\n")  # the same, read and re-saved
    with pytest.raises(TransferkitError, match=r"column 1 is named 'Unnamed: 0', pandas' name for a column that had "
                       r"none, and holds the row numbers") as e:  # fmt: skip
        load_domain(str(tmp_path / "un.csv"))
    assert "df.drop(columns='Unnamed: 0')" in e.value.fix and "index_col=0" in e.value.fix
    (tmp_path / "id.csv").write_text("id,f,label\n" + "\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"column 'id' holds the row numbers \(0\.\.29\)"):
        assert load_domain(str(tmp_path / "id.csv")).x.shape == (30, 2)
    ids = [f"{1000 + i},{i % 3 + 0.5},{i % 2}" for i in range(30)]  # an id with its own start (a new user's series)
    (tmp_path / "id1000.csv").write_text("id,f,label\n" + "\n".join(ids) + "\n")
    with pytest.warns(UserWarning, match=r"column 'id' counts up by one from row to row, as an id does \(1000\.\.1029\)"):
        load_domain(str(tmp_path / "id1000.csv"))
    for first in ("inf", "nan"):  # a non-finite first value: the NaN/Inf error, not a crash in the id rule
        bad = [f"{first},0.5,0"] + [f"{i},{i % 3 + 0.5},{i % 2}" for i in range(1, 30)]
        (tmp_path / "bad.csv").write_text("f1,f2,label\n" + "\n".join(bad) + "\n")
        with pytest.raises(TransferkitError, match="NaN or Inf"):
            load_domain(str(tmp_path / "bad.csv"))
    gaps = [f"{1000 + 3 * i + i % 2},{i % 3 + 0.5},{i % 2}" for i in range(30)]  # record numbers with gaps (a trial)
    (tmp_path / "gaps.csv").write_text("record_no,f,label\n" + "\n".join(gaps) + "\n")
    with pytest.warns(UserWarning, match=r"column 'record_no' holds whole numbers that rise from every row to the "
                                         r"next, as an id does \(1000\.\.1088\)"):  # fmt: skip
        load_domain(str(tmp_path / "gaps.csv"))
    steps = [f"{1000 + 2 * i},{i % 3 + 0.5},{i % 2}" for i in range(30)]  # steps of two: a measurement, not an id
    (tmp_path / "even.csv").write_text("t,f,label\n" + "\n".join(steps) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_domain(str(tmp_path / "even.csv"))


def test_predict_names_a_missing_model_column_before_an_unread_text_column(tmp_path):
    from transferkit.prediction import read_feature_csv

    (tmp_path / "b.csv").write_text("id,b\nr1,1.0\nr2,2.0\n")
    with pytest.raises(TransferkitError, match=r"missing \['a'\], extra \['id'\]"):  # was: "column 'id' is not numeric"
        read_feature_csv(tmp_path / "b.csv", columns=["a", "b"])
    with pytest.raises(TransferkitError, match=r"column 'id' is not numeric") as e:  # a model without column names
        read_feature_csv(tmp_path / "b.csv")
    assert e.value.fix == ("it names each row (no value repeats), as an id does: give --id-column id to name the "
                           "predictions by it (it is then never read as a feature), or drop it.")  # fmt: skip
    (tmp_path / "c.csv").write_text("kind,b\nx,1.0\nx,2.0\n")  # a repeated word: no id, nothing to name rows by
    with pytest.raises(TransferkitError, match=r"column 'kind' is not numeric") as e:
        read_feature_csv(tmp_path / "c.csv")
    assert e.value.fix == "drop it: this model reads numeric feature columns only."


def test_a_date_column_is_told_to_be_encoded_as_numbers_not_read_as_texts(tmp_path):
    """Repeated dates were told to be a `text_column:`; the API says of dates: encode them as numbers."""
    rows = [f"2024-01-{i % 5 + 1:02d},{i * 0.5},{i % 2}" for i in range(20)]
    (tmp_path / "dated.csv").write_text("day,f,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(TransferkitError, match=r"column 'day' is not numeric \('2024-01-01' in data row 1") as e:
        load_domain(str(tmp_path / "dated.csv"))
    assert e.value.fix.startswith("it holds dates: encode them as numbers first (e.g. days since a fixed date")
    assert load_domain(str(tmp_path / "dated.csv"), id_column="day").x.shape == (20, 1)  # an id column of dates: read


def test_a_source_without_names_takes_the_target_csvs_column_names(tmp_path):
    """Source an .npz, target a CSV with named columns: the target's names become the model's,
    so predict matches a CSV's columns by them (it read them by position, saying the model
    had been 'trained without column names', and shuffled columns gave wrong predictions)."""
    names = [f"t{i}" for i in range(5)]
    (xs, ys), (xt, yt) = _clusters(seed=2, features=5, sizes=(120, 60))
    np.savez(tmp_path / "s.npz", x=xs.astype(np.float32), y=ys)
    _csv(tmp_path / "t.csv", xt, yt, names)
    raw = tiny_experiment(str(tmp_path / "s.npz"), str(tmp_path / "t.csv"), seeds=1,
                          model={"options": {"hidden": 16, "feature_dim": 8}},
                          methods=[{"name": "head", "params": {"steps": 15}}])  # fmt: skip
    assert prepare(validate(raw)).target_recipe.columns == tuple(names)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    perm = [4, 2, 0, 3, 1]
    (tmp_path / "rev.csv").write_text("\n".join([",".join(names[j] for j in perm)]
                                                + [",".join(map(str, r[perm])) for r in xt[:9]]) + "\n")  # fmt: skip
    (tmp_path / "new.csv").write_text("\n".join([",".join(names)] + [",".join(map(str, r)) for r in xt[:9]]) + "\n")
    ordered = predict(tmp_path / "run", tmp_path / "new.csv")
    assert predict(tmp_path / "run", tmp_path / "rev.csv") == ordered
    assert len({r["class_index"] for r in ordered}) > 1  # the rows are told apart, so order would matter


def test_spaces_around_labels_do_not_make_classes_in_a_csv_or_npz(tmp_path):
    """'Mix ' and 'Mix' were two classes of a CSV; an .npz of names was refused ('labels must be
    integers'), though aeon and sktime save y so."""
    rows = ["a,b,label", "1,2,Mix", "3,4,Mix ", "5,6, Leaf", "7,8,Leaf"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    d = load_domain(str(tmp_path / "t.csv"))
    assert d.classes == ["Leaf", "Mix"] and d.y.tolist() == [1, 1, 0, 0]
    x = np.zeros((4, 3), np.float32)
    np.savez(tmp_path / "n.npz", x=x, y=np.asarray(["Mix", "Mix ", " Leaf", "Leaf"]))
    d = load_domain(str(tmp_path / "n.npz"))
    assert d.classes == ["Leaf", "Mix"] and d.y.tolist() == [1, 1, 0, 0]
    np.savez(tmp_path / "num.npz", x=x, y=np.asarray(["1", "2", "10", "2"]))  # aeon's y: numbers as text
    d = load_domain(str(tmp_path / "num.npz"))
    assert d.classes == ["1", "2", "10"] and d.y.tolist() == [0, 1, 2, 1]  # in number order, as a CSV's
    np.savez(tmp_path / "both.npz", x=x, y=np.asarray(["a", "b", "a", "b"]), classes=np.asarray(["a", "b"]))
    with pytest.raises(TransferkitError, match="y holds class names and `classes` lists them too"):
        load_domain(str(tmp_path / "both.npz"))
    np.savez(tmp_path / "bytes.npz", x=x, y=np.asarray(["café".encode(), b"dog", "café".encode(), b"dog"]))
    assert load_domain(str(tmp_path / "bytes.npz")).classes == ["café", "dog"]  # UTF-8 bytes: names
    np.savez(tmp_path / "latin.npz", x=x, y=np.asarray(["café".encode("latin-1"), b"dog", b"dog", b"dog"]))
    with pytest.raises(TransferkitError, match="y holds bytes that are not UTF-8 text"):
        load_domain(str(tmp_path / "latin.npz"))  # was a raw UnicodeDecodeError
    np.savez(tmp_path / "table.npz", x=x, y=np.asarray([["a", "b"]] * 4))
    with pytest.raises(TransferkitError, match=r"y has shape \(4, 2\); it needs one label per example"):
        load_domain(str(tmp_path / "table.npz"))  # was flattened: "y has shape (8,) but x has 4 examples"
    np.savez(tmp_path / "column.npz", x=x, y=np.asarray([[0], [1], [0], [1]]))
    with pytest.raises(TransferkitError, match=r"y has shape \(4, 1\), a column, not a 1-D array of labels") as e:
        load_domain(str(tmp_path / "column.npz"))  # was "y has shape (4, 1) but x has 4 examples"
    assert "(y.ravel())" in e.value.fix
    np.savez(tmp_path / "turned.npz", x=np.zeros((128, 4)), y=np.asarray([0, 1, 0, 1]))  # (D, N): a series per column
    with pytest.raises(TransferkitError, match=r"y has shape \(4,\) but x has 128 examples") as e:
        load_domain(str(tmp_path / "turned.npz"))
    assert "has as many columns as y has labels" in e.value.fix and "store x.T" in e.value.fix
    (tmp_path / "texts.tab").write_text("text\tlabel\ngood\ta\n")
    with pytest.raises(TransferkitError, match="unsupported file type '.tab'") as e:
        load_domain(str(tmp_path / "texts.tab"))
    assert ".tsv" in e.value.fix and ".jsonl" in e.value.fix
    np.savez(tmp_path / "empty.npz", x=x, y=np.asarray(["a", " ", "a", "b"]))
    with pytest.raises(TransferkitError, match=r"1 label\(s\) in y are empty \(the first at index 1\)"):
        load_domain(str(tmp_path / "empty.npz"))


def test_named_target_columns_beside_a_nameless_source_are_said_to_be_read_by_position():
    """run read a CSV target's named columns by position beside an .npz source without a word
    (predict warned of the same); a new user's series files."""
    pd = pytest.importorskip("pandas")
    from transferkit import TransferClassifier, pretrain

    x, y = np.random.default_rng(0).normal(size=(60, 5)), np.arange(60) % 2
    src = pretrain(x, y, epochs=1)  # arrays: no column names
    with pytest.warns(UserWarning, match=r"target: its columns have names and the source's have none \(an .npz or an "
                      r"array\), so they are read by position, in the order t0, t1, t2, t3, \.\.\. \(5 columns\)"):
        TransferClassifier("scratch", source=src, method_params={"steps": 2}).fit(
            pd.DataFrame(x[:20], columns=[f"t{i}" for i in range(5)]), y[:20])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # names on both sides: matched by name, nothing to say of positions
        named = pretrain(pd.DataFrame(x, columns=list("abcde")), y, epochs=1)
        TransferClassifier("scratch", source=named, method_params={"steps": 2}).fit(
            pd.DataFrame(x[:20], columns=list("abcde")), y[:20])
    assert not [w for w in seen if "read by position" in str(w.message)]


def test_a_nameless_target_beside_a_named_source_is_said_to_be_read_by_position(tmp_path):
    """A CSV source and an .npz target: run read the target's columns by position without a
    word (a shuffled copy scored 50.6 %, flagged only by a scale warning); predict says it."""
    names = [f"c{i}" for i in range(5)]
    (xs, ys), (xt, yt) = _clusters(seed=3, features=5, sizes=(80, 40))
    _csv(tmp_path / "s.csv", xs, ys, names)
    np.savez(tmp_path / "t.npz", x=xt.astype(np.float32), y=yt)
    raw = tiny_experiment(str(tmp_path / "s.csv"), str(tmp_path / "t.npz"), seeds=1)
    with pytest.warns(UserWarning, match=r"t.npz: its columns have no names and the source's have, so they are read "
                      r"by position, as the source's c0, c1, c2, c3, \.\.\. \(5 columns\)"):
        prepare(validate(raw))
    _csv(tmp_path / "t.csv", xt, yt, names)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # names on both sides: matched by name
        prepare(validate(tiny_experiment(str(tmp_path / "s.csv"), str(tmp_path / "t.csv"), seeds=1)))
    assert not [w for w in seen if "read by position" in str(w.message)]


def test_named_target_columns_read_by_position_are_kept_for_the_report(tmp_path):
    """An .npz source and a CSV target: run warned that the target's named columns are read by
    position, but summary.json and report.md did not keep it (the warning came from the
    target's recipe, outside the notes collected for the report)."""
    (xs, ys), (xt, yt) = _clusters(seed=3, features=5, sizes=(80, 40))
    np.savez(tmp_path / "s.npz", x=xs.astype(np.float32), y=ys)
    _csv(tmp_path / "t.csv", xt, yt, [f"t{i}" for i in range(5)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = prepare(validate(tiny_experiment(str(tmp_path / "s.npz"), str(tmp_path / "t.csv"), seeds=1)))
    assert [n for n in data.notes if "so they are read by position, in the order t0, t1" in n]


def test_a_file_of_texts_without_a_header_is_said_to_lack_it_not_to_name_a_column(tmp_path):
    """A new user followed "name the column with --text-column" for a headerless file and lost
    its first text, read as the column's name (session 20)."""
    from transferkit.data.text import load_text_inputs

    (tmp_path / "train.csv").write_text("Are you there in room.,0\nWIN a FREE iPhone now,1\nok,0\n")
    (tmp_path / "new.csv").write_text("Are you free tonight?\nWIN a FREE iPhone, txt WIN to 80082\nsee you at 5\n")
    for call in (lambda: load_domain(str(tmp_path / "train.csv")), lambda: load_text_inputs(tmp_path / "new.csv")):
        with pytest.raises(TransferkitError, match="first row .*holds a text, not column names: the file seems to have "
                                                   "no header row") as e:  # fmt: skip
            call()
        assert e.value.fix.startswith("add a header row naming the columns")
    from transferkit.data.files import looks_like_prose

    assert looks_like_prose(["WIN a FREE iPhone now", "1"], [["ok", "0"], ["see you", "1"]])  # a label recurs below
    assert not looks_like_prose(["sepal length in cm", "petal width in cm", "species"], [["5.1", "0.2", "setosa"]])
    assert not looks_like_prose(["text of the review", "sentiment"], [["great", "pos"]])  # descriptive names
    (tmp_path / "named.csv").write_text("text,lbl\ngreat product,1\n")  # a header whose label column is named otherwise
    with pytest.raises(TransferkitError, match=r"no label column 'label' \(columns: \['text', 'lbl'\]\)") as e:
        load_domain(str(tmp_path / "named.csv"))
    assert "--label-column" in e.value.fix and "`label_column:`" in e.value.fix  # rank's flag too


SPREADSHEET_MISTAKES = [  # (file, its text, the problem said, a phrase its fix has, a phrase it must not have)
    ("comma.csv", 'area,label\n"609,1",a\n"12,5",b\n"7,25",a\n"8,0",b\n',
     r"column 'area' is not numeric \('609,1' in data row 1\): its numbers are written with a comma", "decimal=','",
     "id-column"),
    ("mostly.csv", 'area,label\n"609,1",a\n8,b\n"7,25",a\n12,b\n', r"written with a comma", "decimal=','", None),
    ("sex.csv", "sex,area,label\nF,1,a\nM,2,b\nF,3,a\nM,4,b\nF,5,a\n",  # was told to set text_column
     r"column 'sex' is not numeric \('F' in data row 1 is not a number\)", "2 categories ('F', 'M'): encode them",
     "text_column"),
    ("thousands.csv", 'area,label\n"1,680.0",a\n812.5,b\n"2,001.25",a\n99,b\n',  # was told "a decimal comma?"
     r"column 'area' is not numeric \('1,680.0' in data row 1\): its numbers are written with a thousands separator",
     "thousands=','", "decimal comma"),
    ("unit.csv", "area,label\n609.1 mm2,a\n12.5 mm2,b\n7.25mm2,a\n8 mm2,b\n",
     r"its cells are numbers followed by the unit 'mm2'", "strip 'mm2'", "text_column"),
    ("tabs.csv", "area\tlabel\n1.0\ta\n2.0\tb\n", r"tab-separated, and a \.csv is read as comma-separated",
     "name it tabs.tsv", None),
    ("tabcomma.csv", "weight, kg\tlabel\n1.0\ta\n2.0\tb\n", r"tab-separated, and a \.csv is read as comma-separated",
     "name it tabcomma.tsv", None),  # a comma inside a name: two comma-separated "columns", both with tabs
    ("twice.csv", "area,depth,area,label\n1,2,3,a\n4,5,6,b\n",
     r"column name\(s\) used more than once in the header: \['area'\]", "its own name", None),
    ("header.csv", "area,label\n", r"CSV has no data rows \(only a header\)", "add one row per example", None),
    ("files.csv", "image_id,area,label\n0000.jpg,1,a\n0001.jpg,2,b\n0002.jpg,3,a\n",  # file names: an id, no unit
     r"column 'image_id' is not numeric \('0000.jpg' in data row 1 is not a number\)", "id_column: image_id", "unit"),
    ("samples.csv", "sample,area,label\n12_R1,1,a\n13_R1,2,b\n14_R2,3,a\n",
     r"column 'sample' is not numeric \('12_R1' in data row 1 is not a number\)", "id_column: sample", "unit"),
    ("nohead.csv", "0.5,0.5,0.1,cat\n0.2,0.3,0.1,dog\n",  # a row of values, a label at its end
     r"holds values, not column names: the file seems to have no header row", "add a header row", None),
    ("typo.csv", "area,label\n1.0,a\n81.0kg,b\n3.0,a\n", r"not numeric", "a unit, a decimal comma?", None),
    ("semidecimal.csv", "area;depth;label\n1,5;2,25;x\n3,0;4,5;y\n",  # Excel's CSV in a European locale
     r"another separator, and commas as decimal marks", "sep=';', decimal=','", "separate columns with commas"),
    ("title.csv", "Export from LabSystem 2024-01-01\narea,depth,label\n1,2,a\n3,4,b\n5,6,a\n",
     r"its first line \('Export from LabSystem 2024-01-01'\) is one cell .* looks like a title above the header",
     "delete the first line", None),  # was "data row 1 has 3 columns, the header 1"
]


@pytest.mark.parametrize(("name", "text", "problem", "fix", "not_in_fix"), SPREADSHEET_MISTAKES,
                         ids=[case[0] for case in SPREADSHEET_MISTAKES])  # fmt: skip
def test_how_a_spreadsheets_numbers_and_separators_went_wrong_is_named(tmp_path, name, text, problem, fix, not_in_fix):
    """A new user's exports: decimal commas were called an id column ('give --id-column'), a unit
    in every cell a text column ('text_column:'), a tab-separated .csv a file without a header,
    and a column named twice was trained on and then broke predict."""
    (tmp_path / name).write_text(text)
    with pytest.raises(TransferkitError, match=problem) as e:
        load_domain(str(tmp_path / name))
    assert fix in e.value.fix and (not_in_fix is None or not_in_fix not in e.value.fix)


def test_a_tab_separated_file_named_tsv_is_read(tmp_path):
    (tmp_path / "tabs.tsv").write_text("area\tlabel\n1.0\ta\n2.0\tb\n")
    assert load_domain(str(tmp_path / "tabs.tsv")).classes == ["a", "b"]


def test_columns_named_in_another_case_are_pointed_out():
    with pytest.raises(TransferkitError, match=r"1 differ only in upper/lower case or spaces, e\.g\. 'Area' for 'area'"):
        order_columns(np.zeros((2, 2), np.float32), ["Area", "depth"], ["area", "depth"], "t.csv")
    with pytest.raises(TransferkitError, match=r"2 differ only in upper/lower case or spaces, e\.g\. 'Area' for 'area'"):
        order_columns(np.zeros((2, 2), np.float32), ["Depth", "Area"], ["area", "depth"], "t.csv")  # one pair, matched
    with pytest.raises(TransferkitError, match=r"the model's feature columns name \['area'\] more than once") as e:
        order_columns(np.zeros((2, 2), np.float32), ["area", "depth"], ["area", "depth", "area"], "t.csv", "the model's")
    assert e.value.fix == "retrain on data whose columns have one name each."


def test_predict_leaves_out_repeated_columns_it_does_not_read(tmp_path):
    from transferkit.prediction import read_feature_csv

    (tmp_path / "p.csv").write_text("id,a,b,note,note\nr1,1,2,x,y\nr2,3,4,x,y\n")
    with pytest.warns(UserWarning, match=r"left out: 'note', 'note'"):
        x, _ = read_feature_csv(tmp_path / "p.csv", "label", ["a", "b"], None, "id")
    assert x.tolist() == [[1, 2], [3, 4]]
    (tmp_path / "q.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(TransferkitError, match=r"column name\(s\) it reads used more than once in the header: \['a'\]"):
        read_feature_csv(tmp_path / "q.csv", "label", ["a", "b"])


def test_an_id_column_named_in_the_experiment_is_never_a_feature(tmp_path, capsys):
    """A new user's numeric patient_no was read as a feature (scratch 73.1 % against 88.5 % without
    it); the experiment file had no way to name it, as predict's --id-column does."""
    names = [f"f{i}" for i in range(3)]
    (xs, ys), (xt, yt) = _clusters(seed=3, features=3, sizes=(60, 45))
    rng = np.random.default_rng(0)
    for path, x, y in ((tmp_path / "s.csv", xs, ys), (tmp_path / "t.csv", xt, yt)):
        ids = rng.permutation(len(y)) + 100000
        rows = ["patient_no," + ",".join(names) + ",label"] + [f"{i}," + ",".join(map(str, r)) + f",{k}"
                                                              for i, r, k in zip(ids, x, y, strict=True)]  # fmt: skip
        path.write_text("\n".join(rows) + "\n")
    d = load_domain(str(tmp_path / "s.csv"), id_column="patient_no")
    assert d.meta["columns"] == names and d.x.shape == (60, 3)
    with pytest.raises(TransferkitError, match=r"no column 'patient', the id_column"):
        load_domain(str(tmp_path / "s.csv"), id_column="patient")
    with pytest.raises(TransferkitError, match=r"id_column 'x' names a CSV column, and 'mnist5k' is a built-in domain"):
        load_domain("mnist5k", id_column="x")
    raw = tiny_experiment(str(tmp_path / "s.csv"), str(tmp_path / "t.csv"), seeds=1,
                          model={"options": {"hidden": 16, "feature_dim": 8}},
                          methods=[{"name": "scratch", "params": {"steps": 5}}])  # fmt: skip
    raw["source"]["id_column"] = raw["target"]["id_column"] = "patient_no"
    raw["target"]["shots"] = [2]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    rows = predict(tmp_path / "run", tmp_path / "t.csv")  # named by the run's id column, which is no feature
    ids = [ln.split(",")[0] for ln in (tmp_path / "t.csv").read_text().splitlines()[1:]]
    assert [r["input"] for r in rows] == ids


def test_a_target_column_the_source_lacks_is_left_out_and_said(tmp_path):
    """run refused a target with one column more than the source ('scanner'), where predict
    leaves such columns out with a note."""
    names = [f"f{i}" for i in range(3)]
    (xs, ys), (xt, yt) = _clusters(seed=4, features=3, sizes=(60, 45))
    _csv(tmp_path / "s.csv", xs, ys, names)
    scanner = np.round(np.random.default_rng(0).uniform(100, 200, size=(len(yt), 1)), 1)  # another scale entirely
    _csv(tmp_path / "t.csv", np.hstack([scanner, xt[:, ::-1]]), yt, ["scanner", *names[::-1]])
    raw = tiny_experiment(str(tmp_path / "s.csv"), str(tmp_path / "t.csv"), seeds=1)
    with pytest.warns(UserWarning, match=r"t.csv: column\(s\) the source lacks are left out: 'scanner' \(") as said:
        data = prepare(validate(raw))
    np.testing.assert_allclose(data.target.x, xt, rtol=1e-6)  # the source's columns, in its order
    assert data.target.meta["columns"] == names and any("left out" in n for n in data.notes)
    assert not any("far outside" in str(w.message) for w in said)  # the dropped column's range counts for nothing
    # a text column only the target has (a site name) was refused as "not numeric"; it is left out too
    lines = (tmp_path / "t.csv").read_text().splitlines()
    (tmp_path / "t2.csv").write_text("\n".join([f"site,{lines[0]}", *(f"B,{ln}" for ln in lines[1:])]) + "\n")
    raw["target"]["data"] = str(tmp_path / "t2.csv")
    with pytest.warns(UserWarning, match=r"t2.csv: column\(s\) the source lacks are left out: 'site', 'scanner' \("):
        data = prepare(validate(raw))
    np.testing.assert_allclose(data.target.x, xt, rtol=1e-6)
    assert any("'site'" in n for n in data.notes)  # kept for the report
    # pandas' index, saved without a name: left out with the others beside a source (a trial read "left out: ['']")
    (tmp_path / "t3.csv").write_text("\n".join([f",{lines[0]}", *(f"{i},{ln}" for i, ln in enumerate(lines[1:]))]) + "\n")
    raw["target"]["data"] = str(tmp_path / "t3.csv")
    with pytest.warns(UserWarning, match=r"left out: a column with no name \(a saved index\?\), 'scanner' \("):
        data = prepare(validate(raw))
    np.testing.assert_allclose(data.target.x, xt, rtol=1e-6)


def test_missing_value_markers_in_the_label_column_are_no_label(tmp_path):
    """R's NA became a class 'NA' of its own (61.8 % against 92.2 % without those rows), and
    pandas' nan among 0/1 labels was called a number that is not whole (a tabular trial)."""
    from transferkit.errors import TransferkitError, TransferkitWarning

    rows = [f"{i % 7}.5,{lab}" for i, lab in enumerate(["0", "1", "nan", "1", "0", "1"] * 3)]
    (tmp_path / "nan.csv").write_text("f,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(TransferkitError, match=r"3 row\(s\) have no label in column 'label': 'nan', a missing value "
                                               r"\(data rows \[3, 9, 15\]\)\. Fix: fill in their labels"):  # fmt: skip
        load_domain(str(tmp_path / "nan.csv"))
    rows = [f"{i % 7}.5,{lab}" for i, lab in enumerate(["benign", "NA", "malignant"] * 4)]
    (tmp_path / "na.csv").write_text("f,label\n" + "\n".join(rows) + "\n")
    with pytest.warns(TransferkitWarning, match=r"4 row\(s\) have the label 'NA' in column 'label', which also writes "
                                                r"a missing value .* remove those rows"):  # fmt: skip
        assert load_domain(str(tmp_path / "na.csv")).classes == ["NA", "benign", "malignant"]
    rows = [f"{i % 7}.5,{lab}" for i, lab in enumerate(["none", "mild", "severe"] * 4)]  # a class one would name so
    (tmp_path / "none.csv").write_text("f,label\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        assert load_domain(str(tmp_path / "none.csv")).classes == ["mild", "none", "severe"]


def test_a_cell_with_an_underscore_is_no_number(tmp_path):
    """A review: Python reads '18_25' as 1825.0, so an age-group column trained as numbers without a word."""
    from transferkit.data.files import load_file

    rows = "".join(f"{g},{i},{c}\n" for i, (g, c) in enumerate([("18_25", "x"), ("26_35", "y"), ("18_25", "y"),
                                                                 ("26_35", "x"), ("36_45", "x"), ("18_25", "y")]))  # fmt: skip
    (tmp_path / "ages.csv").write_text("age_group,b,label\n" + rows)
    with pytest.raises(TransferkitError, match=r"column 'age_group' is not numeric \('18_25' in data row 1"):
        load_file(tmp_path / "ages.csv")
    (tmp_path / "plain.csv").write_text("a,b,label\n1825,0,x\n2635,1,y\n")
    assert load_file(tmp_path / "plain.csv").x[:, 0].tolist() == [1825.0, 2635.0]


def test_a_header_with_spaces_after_its_commas_is_told_so(tmp_path):
    """A review: 'a, b, label' named the columns 'a', ' b', ' label', and the error spoke only of label_column."""
    from transferkit.data.files import load_file

    (tmp_path / "t.csv").write_text("a, b, label\n1,2,x\n3,4,y\n")
    with pytest.raises(TransferkitError, match=r"no label column 'label' \(columns: 'a', ' b', ' label'\): the header "
                                               r"names it ' label', with spaces.*Fix: write the header without spaces "
                                               r"after its commas \('a,b,label'\)"):  # fmt: skip
        load_file(tmp_path / "t.csv")
    (tmp_path / "texts.csv").write_text("text, label\ngood film,pos\nbad film,neg\n")
    with pytest.raises(TransferkitError, match=r"the header names it ' label', with spaces"):
        load_file(tmp_path / "texts.csv")
