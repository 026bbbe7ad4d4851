"""One feature column in other units is named, though all values stay inside the widest column's range."""

import re

import numpy as np

from transferkit.data.column_ranges import column_note, column_ranges, heavy_columns, off_columns
from transferkit.data.domain import Domain
from transferkit.data.preprocess import Recipe, make_recipe, outside_range_note
from transferkit.prediction import scale_warning


def _wine_like(n: int, seed: int) -> np.ndarray:
    """Three columns on very different scales, like wine's alcohol, ash and proline."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(11, 15, n), rng.uniform(1.4, 3.2, n), rng.uniform(280, 1680, n)], axis=1)


NAMES = ["alcohol", "ash", "proline"]


def test_a_column_multiplied_or_divided_is_flagged_by_name():
    ranges = column_ranges(_wine_like(100, 0))
    assert off_columns(_wine_like(60, 1), ranges) == []  # same scale: nothing
    times = _wine_like(60, 1)
    times[:, 1] *= 400  # ash x 400 stays inside 0..1,680: the global check missed it
    divided = _wine_like(60, 1)
    divided[:, 2] /= 1000  # proline / 1000: inside, and not beyond half the span either
    assert [j for j, *_ in off_columns(times, ranges)] == [1]
    assert [j for j, *_ in off_columns(divided, ranges)] == [2]
    note = column_note(divided, ranges, NAMES)
    assert note.startswith("1 feature column(s) lie far outside the values the model was trained on: column 'proline' at")
    assert "against 2" in note and "bring them to that scale first" in note


def test_a_real_shift_within_the_span_and_a_few_rows_are_not_flagged():
    ranges = column_ranges(_wine_like(100, 0))
    shifted = _wine_like(60, 2)
    shifted[:, 0] += 1.5  # alcohol 1.5 higher: a domain shift, within half the span
    assert off_columns(shifted, ranges) == []
    few = _wine_like(3, 3)
    few[:, 2] = [1.0, 1.1, 1.2]  # 3 rows wholly outside, narrow: too few rows to call it units
    assert off_columns(few, ranges) == []
    tail = _wine_like(55, 6)
    tail[:2, 1] = 6.0  # two rows of 55 beyond half ash's span: a long tail, not other units
    assert off_columns(tail, ranges) == []


def test_one_far_cell_is_counted_as_one_row():
    ranges = column_ranges(_wine_like(100, 0))
    x = _wine_like(6, 4)
    x[1, 2] = 1e6
    note = column_note(x, ranges, NAMES)
    assert "column 'proline'" in note and "1 of 6 rows beyond half that span" in note  # not "98 % of the values"
    assert "..1e+06 in all against" in note  # the value that is far off, not only the bulk that is not
    zeros = np.zeros((40, 3))
    zeros[:1, 0] = 60.0  # mostly 0, one row far above alcohol's range: was "at 0 against 11..15"
    note = column_note(zeros, ranges, NAMES)
    assert "column 'alcohol' at 0 in 90 % of rows or more, 0..60 in all against" in note
    many = _wine_like(40, 4)
    many[:, 2] *= 1000  # proline in other units: its bulk is off, and the range quoted is said to be percentiles
    assert re.search(r"column 'proline' at \S+ \(5th-95th percentile\)(, \S+ in all)? against", column_note(many, ranges, NAMES))


def test_the_run_and_predict_use_the_columns():
    src = Domain("source", _wine_like(100, 0).astype(np.float32), np.arange(100) % 2, ["a", "b"], (0.0, 1680.0),
                 {"columns": NAMES})  # fmt: skip
    tgt_x = _wine_like(60, 1)
    tgt_x[:, 2] /= 1000
    tgt = Domain("target", tgt_x.astype(np.float32), np.arange(60) % 2, ["a", "b"], (0.0, 15.0), {"columns": NAMES})
    assert "column 'proline'" in outside_range_note(tgt, src)
    recipe = make_recipe(src, (3,), 0)
    assert Recipe.from_dict(recipe.to_dict()) == recipe and len(recipe.column_ranges) == 3  # saved with the model
    assert "column 'proline'" in scale_warning(tgt_x.astype(np.float32), recipe)
    assert scale_warning(_wine_like(20, 5).astype(np.float32), recipe) is None


def test_one_real_outlier_alone_is_not_other_units_but_one_row_far_off_is():
    ranges = column_ranges(_wine_like(100, 0))
    row = _wine_like(1, 7)
    row[0, 0] = 17.5  # alcohol 2.5 above the range (span 4): an outlier, 1 of 1 rows beyond half the span
    assert off_columns(row, ranges) == []
    row[0, 1] *= 400  # ash x 400 in a single row: beyond 3 spans
    assert [j for j, *_ in off_columns(row, ranges)] == [1]


def test_a_heavy_tailed_column_is_not_flagged_for_its_own_tail_but_other_units_are():
    """Incomes and amounts: new rows of the same distribution passed 3 spans (Pareto: 67 of 200 draws)."""
    rng = np.random.default_rng(2)  # a draw whose new rows pass 3 spans
    train = np.c_[rng.uniform(11, 15, 300), rng.pareto(1.5, 300), np.where(rng.random(300) < 0.97, 0.0, 1.0)]
    assert [j for j, _ in heavy_columns(train)] == [1, 2]  # Pareto, and a flag nearly always 0; uniform is not
    assert heavy_columns(rng.normal(size=(300, 2))) == () and heavy_columns(train[:9]) == ()  # (9 rows: too few)
    new = np.c_[rng.uniform(11, 15, 1000), rng.pareto(1.5, 1000), np.where(rng.random(1000) < 0.97, 0.0, 1.0)]
    ranges = column_ranges(train)
    assert [j for j, *_ in off_columns(new, ranges)] == [1]  # its own tail, once read as other units
    assert off_columns(new, ranges, heavy=heavy_columns(train)) == []
    clean = new.copy()
    new[np.argmax(new[:, 1]), 1] *= 400  # one row in other units is still found
    assert [j for j, *_ in off_columns(new, ranges, heavy=heavy_columns(train))] == [1]
    for factor in (1000, 10, 0.1):  # and so is the whole column, by its typical size (a review: x10 was missed)
        many = new.copy()
        many[:, 1] *= factor
        assert [j for j, *_ in off_columns(many, ranges, heavy=heavy_columns(train))] == [1], factor
    sparse = clean.copy()
    sparse[:, 2] *= 10  # a flag nearly always 0, in other units
    assert [j for j, *_ in off_columns(sparse, ranges, heavy=heavy_columns(train))] == [2]
    src = Domain("source", train.astype(np.float32), np.arange(300) % 2, ["a", "b"], (0.0, float(train.max())),
                 {"columns": NAMES})  # fmt: skip
    tgt = Domain("target", new[:, :3].astype(np.float32), np.arange(1000) % 2, ["a", "b"], (0.0, 15.0), {"columns": NAMES})
    tgt.x[np.argmax(tgt.x[:, 1]), 1] /= 400  # back to its own tail
    assert outside_range_note(tgt, src) is None  # run: the source's tails
    recipe = make_recipe(src, (3,), 0)
    assert [j for j, _ in recipe.heavy_columns] == [1, 2] and Recipe.from_dict(recipe.to_dict()) == recipe  # saved
    assert scale_warning(tgt.x, recipe) is None  # predict: the saved tails
    assert "heavy_columns" in recipe.to_dict() and "heavy_columns" not in recipe.identity()  # source cache keys kept
    indices = {**recipe.to_dict(), "heavy_columns": [1, 2]}  # this field's first form: indices, no typical size
    assert [h for h in Recipe.from_dict(indices).heavy_columns] == [(1, None), (2, None)]
    before = {k: v for k, v in recipe.to_dict().items() if k != "heavy_columns"}  # a model saved before the field
    assert Recipe.from_dict(before).heavy_columns == () and "ash" in scale_warning(tgt.x, Recipe.from_dict(before))
    assert "heavy_columns" not in make_recipe(Domain("s", _wine_like(100, 0).astype(np.float32), np.arange(100) % 2,
                                                     ["a", "b"], (0.0, 1680.0)), (3,), 0).to_dict()  # cache keys kept


def test_a_column_constant_in_training_is_checked_against_the_whole_range():
    rng = np.random.default_rng(0)
    train = np.c_[rng.uniform(0, 10, (200, 3)), np.zeros(200)]
    recipe = Recipe((0.0, 10.0), (4,), 0, columns=("a", "b", "c", "flag"), column_ranges=column_ranges(train))
    x = np.c_[rng.uniform(0, 10, (50, 3)), np.full(50, 5000.0)]
    assert "column 'flag' at 5e+03 against the constant 0" in scale_warning(x, recipe)  # was skipped: no warning
    assert scale_warning(np.c_[rng.uniform(0, 10, (50, 3)), np.ones(50)], recipe) is None


def test_after_a_fit_warned_of_other_units_inputs_like_x_are_not_warned_of():
    """The reference became a few labelled rows' ranges: ordinary inputs were flagged on other columns."""
    import warnings

    import transferkit as tk

    src = tk.pretrain(_wine_like(100, 0), np.arange(100) % 2, epochs=1)
    xt = _wine_like(80, 1)
    xt[:, 1] *= 400
    with warnings.catch_warnings(record=True) as fit_said:
        warnings.simplefilter("always")
        clf = tk.TransferClassifier("head", source=src, method_params={"steps": 2}).fit(xt[:4], np.arange(4) % 2)
    assert any("column 1 (counting from 0)" in str(w.message) for w in fit_said)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        clf.predict(xt[4:])
    assert not [w for w in said if "far outside" in str(w.message)], [str(w.message) for w in said]
    far = xt[4:].copy()
    far[:, 2] /= 1000  # another column now off both the source's and X's scale: still said
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        clf.predict(far)
    assert any("the source and X (given to fit) hold" in str(w.message) for w in said)


def test_a_saved_classifier_keeps_what_fit_warned_of_and_names_dataframe_columns(tmp_path):
    import warnings

    import pandas as pd

    import transferkit as tk

    src = tk.pretrain(pd.DataFrame(_wine_like(100, 0), columns=NAMES), np.arange(100) % 2, epochs=1)
    xt = _wine_like(80, 1)
    xt[:, 1] *= 400
    frame = pd.DataFrame(xt, columns=NAMES)
    with warnings.catch_warnings(record=True) as fit_said:
        warnings.simplefilter("always")
        tk.TransferClassifier("head", source=src, method_params={"steps": 2}).fit(frame[:4], np.arange(4) % 2).save(
            tmp_path / "m"
        )
    assert any("column 'ash'" in str(w.message) for w in fit_said)  # fit names it too (was "column 1 (counting ...)")
    loaded = tk.TransferClassifier.load(tmp_path / "m")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        loaded.predict(frame[4:])  # on X's scale: silent before saving, and now after loading too
        far = frame[4:].copy()
        far["proline"] /= 1000
        loaded.predict(far)
    notes = [str(w.message) for w in said if "far outside" in str(w.message)]
    assert len(notes) == 1 and "column 'proline'" in notes[0], notes  # named, not "column 2 (counting from 0)"


def test_small_batches_of_a_heavy_tailed_column_are_not_read_as_other_units():
    """A review: the typical-size rule took the median of as few as 5 new values, which moves 3 times by chance:
    batches of 10 rows drawn from the training distribution itself were flagged 18 times in 279."""
    rng = np.random.default_rng(0)
    train = rng.lognormal(0, 1.5, (300, 1))
    ranges, heavy = column_ranges(train), heavy_columns(train)
    assert heavy and all(off_columns(rng.lognormal(0, 1.5, (10, 1)), ranges, heavy=heavy) == [] for _ in range(100))
    assert off_columns(train * 10, ranges, heavy=heavy) != []  # the whole column in other units: found
    assert off_columns(train[:5], ranges, heavy=(0,)) == []  # plain indices (direct callers): no size, no crash
