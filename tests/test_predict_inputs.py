"""What `predict` reads: unlabelled CSVs, the run's column names, runs without models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from transferkit.data import load_domain
from transferkit.errors import TransferkitError
from transferkit.prediction import load_inputs, model_path, run_columns


def test_feature_csv_without_labels_and_with_the_label_column_dropped(tmp_path):
    (tmp_path / "new.csv").write_text("f0,f1,f2\n1,2,3\n4,5,6\n")
    x, names = load_inputs(tmp_path / "new.csv")
    assert x.tolist() == [[1, 2, 3], [4, 5, 6]] and names == ["0", "1"]
    (tmp_path / "lab.csv").write_text("f0,kind,f1\n1,a,2\n")
    assert load_inputs(tmp_path / "lab.csv", label_column="kind")[0].tolist() == [[1, 2]]
    with pytest.raises(TransferkitError, match="not a number"):
        load_inputs(tmp_path / "lab.csv")  # 'kind' is not the label column here


def test_a_model_without_column_names_reads_a_csv_by_position_and_says_so(tmp_path):
    """A model trained on arrays (an .npz) has no column names: the CSV's columns are read by
    position, which is said; a column too many (an id) or an unnamed index is refused by name,
    not as a shape error about x.reshape."""
    from transferkit.errors import TransferkitWarning

    (tmp_path / "ok.csv").write_text("b,a,label\n1,2,x\n3,4,y\n")
    with pytest.warns(TransferkitWarning, match="read by position: check that they are in the training order"):
        assert load_inputs(tmp_path / "ok.csv", width=2)[0].tolist() == [[1, 2], [3, 4]]
    (tmp_path / "id.csv").write_text("id,a,b\n7,1,2\n8,3,4\n")
    with pytest.raises(TransferkitError, match="has 3 feature columns .*'id'.*the model reads 2.*by position") as e:
        load_inputs(tmp_path / "id.csv", width=2)
    assert "--id-column" in e.value.fix
    (tmp_path / "index.csv").write_text(",a,b\n0,1,2\n1,3,4\n")  # pandas' to_csv() with its index
    with pytest.raises(TransferkitError, match="column 1 has no name and holds the row numbers"):
        load_inputs(tmp_path / "index.csv", width=2)


def test_an_id_column_names_the_rows_and_is_never_a_feature(tmp_path):
    """Without it, predictions are named by row number and an id column is refused (by
    position) or left out with a warning (by name): the user's ids were lost."""
    import warnings

    rows = "\n".join(f"{i},{i}.5,{2 * i}" for i in range(25))  # ids 0..24: row numbers, as ids often are
    (tmp_path / "id.csv").write_text("id,a,b\n" + rows + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # by name: no "left out", no "holds the row numbers"
        x, names = load_inputs(tmp_path / "id.csv", columns=["b", "a"], id_column="id")
    assert names == [str(i) for i in range(25)] and x[3].tolist() == [6.0, 3.5]
    with pytest.warns(UserWarning, match="read by position") as seen:  # its row-number ids are not warned of
        assert load_inputs(tmp_path / "id.csv", width=2, id_column="id")[1] == names
    assert len(seen) == 1, [str(w.message) for w in seen]
    (tmp_path / "ids.csv").write_text("a,b,key\n1,2,r-7\n3,4,r-9\n")
    with pytest.warns(UserWarning, match="read by position") as seen:  # and nothing else
        x, names = load_inputs(tmp_path / "ids.csv", width=2, id_column="key")
    assert len(seen) == 1 and x.tolist() == [[1, 2], [3, 4]] and names == ["r-7", "r-9"]
    with pytest.raises(TransferkitError, match=r"no column 'ID', the --id-column \(columns: \['a', 'b', 'key'\]\)"):
        load_inputs(tmp_path / "ids.csv", width=2, id_column="ID")
    with pytest.raises(TransferkitError, match="'a', the --id-column, is a feature the model was trained on"):
        load_inputs(tmp_path / "ids.csv", columns=["a", "b"], id_column="a")
    (tmp_path / "t.jsonl").write_text('{"text": "a", "id": 1}\n')  # texts for a vector model: that is the problem
    with pytest.raises(TransferkitError, match="holds texts, but this model reads images or feature vectors"):
        load_inputs(tmp_path / "t.jsonl", width=2, id_column="id")
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 2), np.float32))
    with pytest.raises(TransferkitError, match="x.npz has no columns") as e:
        load_inputs(tmp_path / "x.npz", id_column="id")
    assert "leave --id-column out" in e.value.fix


def test_a_csv_without_a_header_is_refused_not_read_one_row_short(tmp_path):
    """Its first row would be taken as the header and silently dropped, shifting every row name."""
    (tmp_path / "raw.csv").write_text("-0.98,1.5,2\n4,5,6\n7,8,9\n")
    for read in (load_inputs, load_domain):
        with pytest.raises(TransferkitError, match="the first row holds numbers .*not column names") as e:
            read(str(tmp_path / "raw.csv")) if read is load_domain else read(tmp_path / "raw.csv")
        assert "add a header row" in e.value.fix
    (tmp_path / "numbered.csv").write_text("0,1,2\n4,5,6\n7,8,9\n")  # pandas' DataFrame(x).to_csv(index=False)
    x, names = load_inputs(tmp_path / "numbered.csv")
    assert x.tolist() == [[4, 5, 6], [7, 8, 9]] and names == ["0", "1"]
    (tmp_path / "years.csv").write_text("2021,2019,2020\n1,2,3\n")  # a model trained on columns named by year
    x, _ = load_inputs(tmp_path / "years.csv", columns=["2019", "2020", "2021"])
    assert x.tolist() == [[2, 3, 1]]  # a header after all, matched by name
    with pytest.raises(TransferkitError, match="first row holds numbers"):
        load_inputs(tmp_path / "years.csv")  # a model with no recorded names cannot tell
    named = [str(i) for i in range(4)]  # pandas-style names 0..3, and a headerless file whose values are names too
    (tmp_path / "values.csv").write_text("0,1,1,2\n3,2,1,0\n")
    with pytest.raises(TransferkitError, match="first row holds numbers"):
        load_inputs(tmp_path / "values.csv", columns=named)  # repeated values: not a header of the names


def test_run_columns_come_from_the_runs_config(tmp_path):
    assert run_columns(tmp_path) == ("label", "text")  # no config: the defaults
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"target": {"label_column": "spam", "text_column": "message"}}))
    assert run_columns(tmp_path) == ("spam", "message")


def test_a_run_that_saved_no_models_says_so(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "summary.json").write_text(json.dumps({"deploy": {"method": "head", "shots": 5, "seed": 0}}))
    with pytest.raises(TransferkitError, match=r"saved no models \(save_models: false\)"):
        model_path(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"deploy": {"method": "head", "shots": 5, "seed": 0},
                                                       "models_saved": True}))  # fmt: skip
    with pytest.raises(TransferkitError, match=r"models holds no model, though the run saved them"):  # deleted since
        model_path(tmp_path)


def test_a_missing_model_lists_every_method_shot_and_seed_saved(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "summary.json").write_text(json.dumps({"deploy": {"method": "head", "shots": 5, "seed": 0}}))
    for m in ("finetune", "head", "scratch"):
        for k in (1, 5, 20):
            for seed in (0, 1, 2):
                (tmp_path / "models" / f"{m}_k{k}_seed{seed}.json").write_text("{}")
    with pytest.raises(TransferkitError) as e:
        model_path(tmp_path, seed=9)
    assert "no model head_k5_seed9" in str(e.value)  # the list was cut at 12 of 27, dropping scratch
    assert e.value.fix == ("choose among the 27 saved models: --method {finetune, head, scratch}, "
                           "--shots {1, 5, 20}, --seed {0, 1, 2}.")  # fmt: skip
    for seed in (0, 1, 2):  # a label-free method at k = 0 only, beside the others at 1, 5, 20 (no scratch at 0)
        (tmp_path / "models" / f"adabn_k0_seed{seed}.json").write_text("{}")
    with pytest.raises(TransferkitError) as e:
        model_path(tmp_path, method="scratch", shots=0)
    assert e.value.fix.endswith("--shots {0, 1, 5, 20}, --seed {0, 1, 2}; not every method at every k: adabn at 0, "
                                "finetune at 1/5/20, head at 1/5/20, scratch at 1/5/20.")  # fmt: skip


def test_a_text_column_in_a_feature_csv_is_named_with_the_fix(tmp_path):
    (tmp_path / "t.csv").write_text("message,label\nhello there,1\nbye,0\n")
    with pytest.raises(TransferkitError, match=r"column 'message' is not numeric.*text_column: message"):
        load_domain(str(tmp_path / "t.csv"))
    (tmp_path / "ids.csv").write_text("series_id,a,label\nS-001,0.5,1\nS-002,0.7,0\nS-003,0.1,1\n")
    with pytest.raises(TransferkitError, match=r"column 'series_id' is not numeric") as e:  # an id, not texts
        load_domain(str(tmp_path / "ids.csv"))
    assert e.value.fix.startswith("it names each row (no value repeats), as an id does: name it with `id_column: series_id`")
    (tmp_path / "typo.csv").write_text("height,weight,label\n1.52,60.1,a\n1.73,72.4,b\n1.80,81.0kg,a\n1.65,55.3,b\n")
    with pytest.raises(TransferkitError, match=r"column 'weight' is not numeric \('81.0kg'") as e:
        load_domain(str(tmp_path / "typo.csv"))  # a number column with one typo: not called an id
    assert e.value.fix.startswith("write a number there") and "data row 3" in e.value.problem
    np.savez(tmp_path / "ok.npz", x=np.zeros((2, 3)), y=np.array([0, 1]))  # numbers still load
    assert load_domain(str(tmp_path / "ok.npz")).x.shape == (2, 3)


def test_floats_clearly_off_the_models_0_n_are_read_on_their_own_range():
    from transferkit.prediction import own_float_range

    x = np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 1, 4, 4)
    assert own_float_range(x, (0.0, 255.0)) == (0.0, 1.0) and own_float_range(x, (0.0, 16.0)) == (0.0, 1.0)
    assert own_float_range(x, (0.0, 1.2)) is None  # a model of 0..1.2: its own scale is near enough
    assert own_float_range(x * 2, (0.0, 255.0)) is None and own_float_range(x - 0.5, (0.0, 255.0)) is None
    assert own_float_range(x.astype(np.uint8), (0.0, 255.0)) is None
    # the other way: 8-bit values as floats beside a model of 0..1 (or 0..16), read on 0..255 whatever their maximum
    assert own_float_range(x * 255, (0.0, 1.0)) == (0.0, 255.0) and own_float_range(x * 255, (0.0, 16.0)) == (0.0, 255.0)
    assert own_float_range(x * 200, (0.0, 1.0)) == (0.0, 255.0)  # a fixed range: the batch's brightest sets nothing
    assert own_float_range(x * 1.4, (0.0, 1.0)) is None  # within half the model's range above it: its own scale
    assert own_float_range(x * 3, (0.0, 1.0)) is None  # sharpened or noisy copies, not a unit change: warned of, as read
    assert own_float_range(x * 255 - 1, (0.0, 1.0)) is None  # negative values: not a picture's 0..N
    assert own_float_range(x * 1000, (0.0, 1.0)) is None  # beyond 8 bits: no scale to go by, warned of
    batch = np.repeat(x * 0.9, 30, axis=0)  # 30 images within a model of 0..1, one with a single very bright pixel:
    batch[0, 0, 0, 0] = 200.0  # the median image decides, so the other 29 are not re-read (a review)
    assert own_float_range(batch, (0.0, 1.0)) is None


def test_images_on_another_scale_than_the_models_are_flagged():
    from transferkit.data.preprocess import Recipe
    from transferkit.prediction import scale_warning

    model = Recipe((0.0, 255.0), (1, 8, 8))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(4, 1, 8, 8)).astype(np.float32)
    assert scale_warning(x, model) is None
    assert "span 0.00275..1," in scale_warning(x / x.max(), model)  # 0..1 floats to a 0..255 model
    assert "0..255" in scale_warning(x * 16 / 255, model)  # optdigits' 0..16
    assert scale_warning(x * 4, model) is not None  # far above the range
    vectors = Recipe((0.0, 10.0), (5,))  # only values beyond half the span outside, and the bulk of them
    assert scale_warning(rng.uniform(-4.9, 14.9, size=(4, 5)).astype(np.float32), vectors) is None
    assert "far outside the 0..10 the model was trained on" in scale_warning(np.full((2, 5), 160.0, np.float32), vectors)
    tail = rng.uniform(0, 10, size=(200, 5)).astype(np.float32)
    tail[0, 0] = 60.0  # one long tail: no change of units
    assert scale_warning(tail, vectors) is None and scale_warning(10 * tail, vectors) is not None


def test_missing_value_markers_are_named_as_missing_values(tmp_path):
    (tmp_path / "na.csv").write_text("f0,f1,label\n1,2,a\nNA,3,b\n")
    with pytest.raises(TransferkitError, match=r"data row 2 has a missing-value marker \('NA'\) in column 'f0'") as e:
        load_domain(str(tmp_path / "na.csv"))
    assert "impute" in e.value.fix and "text_column" not in e.value.fix


def test_flattened_square_images_against_an_image_model_suggest_the_reshape(tmp_path):
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import make_recipe

    flat = Domain("flat", np.zeros((4, 64), np.float32), np.array([0, 1, 0, 1]), ["a", "b"])
    with pytest.raises(TransferkitError) as e:
        make_recipe(flat, (1, 28, 28))
    assert "(N, 8, 8)" in e.value.fix


def test_each_image_file_reaches_the_model_from_its_own_size(tmp_path):
    from PIL import Image

    from transferkit.data.files import read_images
    from transferkit.data.preprocess import Recipe, apply_recipe
    from transferkit.prediction import image_files, image_model_inputs

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (4, 4)).astype(np.uint8)).save(tmp_path / "0_tiny.png")  # sorts first
    Image.fromarray(rng.integers(0, 255, (12, 12)).astype(np.uint8)).save(tmp_path / "1_digit.png")
    Image.fromarray(rng.integers(0, 255, (12, 12, 3)).astype(np.uint8)).save(tmp_path / "2_rgb.png")
    (tmp_path / ".hidden").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / ".hidden" / "x.png")  # a hidden folder: skipped
    files = image_files(tmp_path)
    assert [f.name for f in files] == ["0_tiny.png", "1_digit.png", "2_rgb.png"]
    (tmp_path / "notes.txt").write_text("taken on monday")  # said, as a run's folder loader says it
    (tmp_path / ".DS_Store").write_text("")  # hidden: never mentioned
    with pytest.warns(UserWarning, match=r"1 file\(s\) are not images and get no prediction \(notes.txt\)"):
        assert image_files(tmp_path) == files
    recipe = Recipe((0.0, 255.0), (1, 16, 16), 2)
    x = image_model_inputs(files, recipe)
    for i, f in enumerate(files):  # as if predicted alone (was: all squeezed to the first file's 4x4, grey)
        assert torch.allclose(x[i], apply_recipe(read_images([f]), recipe)[0])


def test_a_grey_model_does_not_say_a_mixed_folder_was_read_as_rgb(tmp_path):
    """It averages the colour away: 'all were read as RGB' would mislead (said for colour models)."""
    import warnings

    from PIL import Image

    from transferkit.data.preprocess import Recipe
    from transferkit.prediction import image_model_inputs

    Image.fromarray(np.zeros((6, 6), np.uint8)).save(tmp_path / "grey.png")
    Image.fromarray(np.full((6, 6, 3), (200, 0, 0), np.uint8)).save(tmp_path / "rgb.png")  # red: colour
    files = [tmp_path / "grey.png", tmp_path / "rgb.png"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert image_model_inputs(files, Recipe((0.0, 255.0), (1, 6, 6)), (6, 6)).shape == (2, 1, 6, 6)
        assert not caught
        assert image_model_inputs(files, Recipe((0.0, 255.0), (3, 6, 6)), (6, 6)).shape == (2, 3, 6, 6)
    assert any("all were read as RGB" in str(w.message) for w in caught)


def test_a_txt_in_the_training_layout_is_not_read_with_its_labels_as_text():
    """`label<TAB>text` lines read as one text per line would feed each label to the model."""
    from transferkit.prediction import _labels_in_texts

    classes = ["sci.space", "rec.autos"]
    with pytest.raises(TransferkitError, match="2 of its 2 lines start with a class name and a tab") as e:
        _labels_in_texts(["sci.space\torbit", "rec.autos\tengine"], classes, "x.txt")
    assert "cut -f2-" in e.value.fix
    said = []
    _labels_in_texts(["sci.space\torbit", "rec.autos\tengine", "a plain text"], classes, "x.txt", said.append)
    assert len(said) == 1 and "2 of its 3 lines" in said[0]
    _labels_in_texts(["orbit\tand tabs", "engine"], classes, "x.txt", said.append)  # tabs, no class names
    _labels_in_texts(["sci.space\tbig", "plain", "plain", "plain"], classes, "x.txt", said.append)  # a quarter
    assert len(said) == 1


def test_a_folder_with_a_broken_image_predicts_the_others_and_names_it(tmp_path):
    """One truncated PNG stopped a whole folder's predictions, where a .txt only got a note."""
    from PIL import Image

    from transferkit.prediction import image_files

    for i in range(3):
        Image.fromarray(np.full((6, 6), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "broken.png").write_bytes((tmp_path / "1.png").read_bytes()[:30])  # cut short
    with pytest.warns(UserWarning, match=r"1 image file\(s\) cannot be read and get no prediction \(broken.png; the first") as said:
        assert [f.name for f in image_files(tmp_path)] == ["0.png", "1.png", "2.png"]
    assert [w.filename for w in said] == [__file__]  # the caller's line, not prediction.py's
    only = tmp_path / "only"
    only.mkdir()
    (only / "broken.png").write_bytes(b"not an image")
    with pytest.raises(TransferkitError, match=r"none of its 1 image file\(s\) can be read") as e:
        image_files(only)
    assert ").)" not in e.value.problem and ").)" not in str(said[0].message)  # the file's own full stop, then ours


def test_blank_inputs_are_said_to_say_nothing_in_predict_and_the_api():
    import warnings

    from transferkit import TransferClassifier
    from transferkit.data.preprocess import blank_note

    x = np.random.default_rng(0).integers(0, 255, (6, 1, 8, 8)).astype(np.float32)
    assert blank_note([x], "in") is None
    x[2] = 7.0
    colour = np.zeros((2, 3, 8, 8), np.float32)
    colour[:, 0] = 200.0  # a flat red, and one with a dot: blank is one value per channel
    colour[1, 1, 4, 4] = 9.0
    assert blank_note([colour], "c").startswith("c: 1 of the 2 inputs are blank")
    assert blank_note([x], "in", [f"f{i}.png" for i in range(6)]) == (
        "in: 1 of the 6 inputs are blank (one value throughout, e.g. f2.png): their predictions say nothing about "
        "them, whatever the probability.")  # fmt: skip
    clf = TransferClassifier("scratch", method_params={"steps": 2}).fit(np.delete(x, 2, 0), np.arange(5) % 2)
    with pytest.warns(UserWarning, match=r"X: 1 of the 6 inputs are blank"):
        clf.predict(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(np.delete(x, 2, 0))


def test_repeated_ids_and_an_unnamed_extra_column_are_said_in_predict(tmp_path):
    from transferkit.prediction import read_feature_csv

    (tmp_path / "p.csv").write_text(",id,a,b\n0,p1,1.0,2.0\n1,p1,3.0,4.0\n2,p2,5.0,6.0\n")
    with pytest.warns(UserWarning) as said:
        x, names = read_feature_csv(tmp_path / "p.csv", "label", ["a", "b"], None, "id")
    text = [str(w.message) for w in said]
    assert names == ["p1", "p1", "p2"] and x.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert any("the --id-column 'id' does not name every prediction apart: it repeats values (2 rows share a name with another, e.g. 'p1')" in t for t in text)
    assert any("left out: column 1 (no name: a saved index?)" in t for t in text)
