"""The source must not hold the target's test examples (data/overlap.py)."""

from __future__ import annotations

import json

import numpy as np
import yaml

from tests.conftest import tiny_experiment
from transferkit.cli import main
from transferkit.data.overlap import LEAK_SHARE, check_test_not_in_source, count_test_in_source
from transferkit.data.splits import make_test_split


def _run(tmp_path, src, tgt, out):
    cfg = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "scratch", "params": {"steps": 3}},
                                                      {"name": "head", "params": {"steps": 3}}])  # fmt: skip
    cfg["target"]["shots"] = [2]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    return main(["run", str(tmp_path / "exp.yaml"), "--out", str(out), "--quiet"])


def test_the_target_as_its_own_source_is_refused_before_training(tmp_path, image_npz, capsys):
    _, tgt = image_npz
    assert _run(tmp_path, tgt, tgt, tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "test examples are also in the source" in err
    assert "use a source without the target's examples" in err
    assert not (tmp_path / "run").exists()


def test_a_stray_duplicate_is_reported_not_refused(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    s, t = np.load(src), np.load(tgt)
    split = make_test_split(t["y"], 0.3, 0)
    xs = s["x"].copy()
    xs[0] = t["x"][split.test_idx[0]]  # one test image also in the source
    np.savez(src, x=xs, y=s["y"], classes=s["classes"])
    assert 1 < LEAK_SHARE * len(split.test_idx)  # under the share that makes it a leak
    assert _run(tmp_path, src, tgt, tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["target"]["test_examples_in_source"] == 1
    assert summary["target"]["test_examples_in_source_same_class"] == int(s["y"][0] == t["y"][split.test_idx[0]])
    assert "1 test examples are also in the source** (copies" in (tmp_path / "run" / "report.md").read_text()
    assert "note: 1 target test examples are also in the source" in capsys.readouterr().out
    from transferkit.report.markdown import render_report

    report = (tmp_path / "run" / "report.md").read_text()
    assert "**Warning:**" not in report.split("## Results")[1]  # one copy: a note, not a warning on the results
    n = summary["target"]["test_examples"]
    summary["target"]["test_examples_in_source_same_class"] = n  # the whole test split: the results qualified
    report = render_report(summary, {})
    after_table = report[report.index("| method") :].split("\n\n")[1]  # the paragraph right under the table
    assert after_table.startswith(f"**Warning:** {n} of the {n} target test examples (100 %) are also in the source")


def test_counting_compares_inputs_on_a_common_scale_and_texts_as_texts():
    from transferkit.data.domain import Domain
    from transferkit.data.overlap import Overlap
    from transferkit.data.text import TextDomain

    x = np.arange(40, dtype=np.float32).reshape(10, 2, 2)
    a = Domain("a", x[:, None], np.arange(10) % 2, ["p", "q"], (0.0, 255.0))
    xb = x[5:, None] / 255 + np.r_[0, 0, 0, 0, 0.01].astype(np.float32)[:, None, None, None]
    b = Domain("b", xb.astype(np.float32), np.r_[1, 0, 0, 0, 1], ["p", "q"], (0.0, 1.0))  # the same, as 0..1
    assert count_test_in_source(a, b, np.arange(5)) == Overlap(4, 3)  # the last differs; 3 keep their class
    assert count_test_in_source(None, b, np.arange(5)) == Overlap(0, 0)
    other_shape = Domain("c", np.zeros((5, 1, 4, 1), np.float32), np.arange(5) % 2, ["p", "q"])
    assert count_test_in_source(other_shape, b, np.arange(5)) == Overlap(0, 0)
    ta = TextDomain("ta", ["good", "bad", "fine"], np.array([0, 1, 0]), ["p", "q"])
    tb = TextDomain("tb", ["Bad ", "awful"], np.array([1, 1]), ["p", "q"])  # "bad" up to case and spacing
    assert count_test_in_source(ta, tb, np.arange(2)) == Overlap(1, 1)
    assert check_test_not_in_source(ta, tb, np.arange(2)) == Overlap(1, 1)  # texts: counted, never refused


def test_table_rows_are_copies_only_when_equal_and_grey_copies_in_a_colour_folder_count():
    """Reviewed trials: 9 'copies' of a clinic table (0 by an exact merge: an income in dollars put
    every pH on one 1e-4 step), and 30 grey copies in a folder mixing colour and grey (read as
    colour, so nothing was compared, and a novel class of source images scored 96 %)."""
    from transferkit.data.domain import Domain
    from transferkit.data.overlap import Overlap

    rng = np.random.default_rng(0)
    table = np.c_[52_000 + 15_000 * rng.normal(size=40), 7.38 + 0.06 * rng.random(40)].astype(np.float32)
    near = table[:10] + np.array([5.0, 0.0], np.float32)  # incomes $5 apart: other people
    y = np.arange(40) % 2
    span = (0.0, 200_000.0)  # both files on one range, as a run reads vectors
    src = Domain("s", table, y, ["p", "q"], span)
    assert count_test_in_source(src, Domain("t", near, y[:10], ["p", "q"], span), np.arange(10)) == Overlap(0, 0)
    assert count_test_in_source(src, Domain("t", table[:10].copy(), y[:10], ["p", "q"], span), np.arange(10)).found == 10
    grey = rng.integers(0, 256, size=(20, 1, 8, 8)).astype(np.float32)
    colour = rng.integers(0, 256, size=(6, 3, 8, 8)).astype(np.float32)
    mixed = np.concatenate([np.repeat(grey[:4], 3, axis=1), colour])  # 4 grey copies stored as RGB, 6 photos
    found = count_test_in_source(Domain("s", grey, np.arange(20) % 2, ["p", "q"], (0.0, 255.0)),
                                 Domain("t", mixed, np.arange(10) % 2, ["p", "q"], (0.0, 255.0)), np.arange(10))  # fmt: skip
    assert found == Overlap(4, 4) and found.rows == (0, 1, 2, 3)
    rgb = rng.integers(0, 256, size=(10, 3, 8, 8)).astype(np.float32)
    rgba = rng.integers(0, 256, size=(10, 4, 8, 8)).astype(np.float32)  # other pictures: no copies (all were, by NaN)
    assert count_test_in_source(Domain("s", rgb, np.arange(10) % 2, ["p", "q"], (0.0, 255.0)),
                                Domain("t", rgba, np.arange(10) % 2, ["p", "q"], (0.0, 255.0)), np.arange(10)).found == 0  # fmt: skip
    photos = rng.integers(0, 256, size=(10, 3, 8, 8)).astype(np.float32)  # colour beside a grey source: none equal
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN cast to an integer on the way ('invalid value encountered in cast')
        assert count_test_in_source(Domain("s", grey, np.arange(20) % 2, ["p", "q"], (0.0, 255.0)),
                                    Domain("t", photos, np.arange(10) % 2, ["p", "q"], (0.0, 255.0)), np.arange(10)).found == 0  # fmt: skip


def test_images_shared_under_other_labels_are_counted_not_refused(tmp_path, image_npz):
    """Another task on the same inputs (here: the labels rotated) is not a label leak."""
    _, tgt = image_npz
    t = np.load(tgt)
    np.savez(tmp_path / "relabelled.npz", x=t["x"], y=(t["y"] + 1) % 3, classes=t["classes"])
    assert _run(tmp_path, tmp_path / "relabelled.npz", tgt, tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["target"]["test_examples_in_source"] == summary["target"]["test_examples"]
    assert summary["target"]["test_examples_in_source_same_class"] == 0


def test_many_same_class_copies_in_a_vector_source_are_a_warning_on_the_console(capsys):
    """Vector and text sources are not refused for copies (the same rows may be another task), but
    more than LEAK_SHARE of the test split with the same class makes the gains optimistic: said
    as a warning, not a note."""
    from transferkit.commands._shared import print_summary

    base = {"results": [], "negative_transfer": [], "run_dir": "r", "wall_time_s": 1.0}
    leak = {**base, "target": {"test_examples": 60, "test_examples_in_source": 32, "test_examples_in_source_same_class": 32}}
    print_summary(leak)
    out = capsys.readouterr().out
    said = "32 of the 60 target test examples (53 %) are also in the source with the same class"
    lines = out.splitlines()
    assert lines[2].startswith(f"WARNING: {said}")  # right under the (here empty) table, not after the notes
    assert "optimistic" in out and "note:" not in out
    print_summary({**base, "target": {"test_examples": 60, "test_examples_in_source": 32,
                                      "test_examples_in_source_same_class": 2}})  # fmt: skip
    out = capsys.readouterr().out
    assert "note: 32 target test examples are also in the source" in out and "warning" not in out


def test_the_console_says_what_a_flagged_source_only_means(capsys):
    from transferkit.commands._shared import print_summary

    base = {"results": [], "run_dir": "r", "wall_time_s": 1.0, "target": {}}
    print_summary({**base, "negative_transfer": ["source_only at k=10"]})
    out = capsys.readouterr().out
    assert "NEGATIVE TRANSFER: source_only at k=10" in out and "source_only uses none of the k labelled" in out
    print_summary({**base, "negative_transfer": ["finetune at k=10"]})
    assert "source_only uses none" not in capsys.readouterr().out
    # adabn never trains on the labels either: the caveat names it too (it named source_only only)
    print_summary({**base, "negative_transfer": ["source_only at k=5", "adabn at k=5", "adabn at k=10", "head at k=5"]})
    out = capsys.readouterr().out
    assert "(source_only and adabn use none of the k labelled target examples" in out and "they say" in out
    print_summary({**base, "negative_transfer": ["adabn at k=0"]})  # at k = 0 scratch has no labels either
    assert "use none" not in capsys.readouterr().out
    print_summary({**base, "negative_transfer": ["adabn at k=0 (vs source_only)"]})  # as summaries write it
    assert "use none" not in capsys.readouterr().out


def test_the_console_says_when_negative_transfer_was_not_checked(capsys):
    from transferkit.commands._shared import print_summary

    row = {"method": "head", "shots": 5, "accuracy_mean": 0.5, "accuracy_ci95": None, "seeds": [0],
           "negative_transfer": None, "gain_vs_scratch": -0.05, "gain_ci95": None}  # fmt: skip
    base = {"results": [row], "run_dir": "r", "wall_time_s": 1.0, "target": {}, "negative_transfer": []}
    print_summary({**base, "negative_transfer_checked": 0})  # one seed: no interval, no verdict
    assert "negative transfer was not checked: that needs scratch" in capsys.readouterr().out
    print_summary({**base, "negative_transfer_checked": 1})
    assert "not checked" not in capsys.readouterr().out


def test_the_accuracy_plot_names_its_interval_and_shows_it_at_a_single_k(tmp_path, monkeypatch):
    import transferkit.report.plots as plots

    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, dpi=100: figures.append(fig))
    row = {"method": "head", "shots": 5, "accuracy_mean": 0.9, "accuracy_ci95": [0.85, 0.95], "seeds": [0, 1, 2]}
    plots.plot_accuracy_vs_shots([row], tmp_path / "p.png")
    ax = figures[-1].axes[0]
    assert len(ax.containers) == 1 and "95% CI over seeds and test examples" in ax.get_title()
    assert ax.get_xlim() == (4.0, 6.0) and list(ax.get_xticks()) == [5]  # one k: room around it, one tick
    plots.plot_accuracy_vs_shots([{**row, "accuracy_ci95": None, "seeds": [0]}], tmp_path / "p.png")
    assert "no interval" in figures[-1].axes[0].get_title()


def test_the_console_ends_with_the_report_and_how_to_predict(capsys):
    from transferkit.commands._shared import print_summary

    base = {"results": [], "run_dir": "runs/x", "wall_time_s": 1.0, "target": {}, "negative_transfer": [],
            "deploy": {"method": "finetune", "shots": 10, "seed": 0}}  # fmt: skip
    print_summary(base)
    out = capsys.readouterr().out
    assert "read runs/x/report.md" in out and "predict with: transferkit predict runs/x INPUTS" in out
    assert "(model finetune_k10_seed0;" in out
    print_summary({**base, "run_dir": "out/my run"})  # pasted as printed, a path with a space broke in two
    out = capsys.readouterr().out
    assert "predict with: transferkit predict 'out/my run' INPUTS" in out and "negative transfer" not in out
    row = {"method": "finetune", "shots": 10, "accuracy_mean": 0.5, "accuracy_ci95": None, "seeds": [0],
           "negative_transfer": True, "gain_vs_scratch": -0.2, "gain_ci95": [-0.3, -0.1]}  # fmt: skip
    flagged = {**base, "results": [row]}
    print_summary(flagged)  # the deployed model is the one flagged: said where the command is given
    assert "finetune is flagged as negative transfer at k = 10 in this run" in capsys.readouterr().out
    print_summary({**base, "models_saved": False})
    assert "predict with" not in capsys.readouterr().out
    print_summary({**base, "resumed_runs": 8})  # a resumed run says so, --quiet or not
    assert "note: 8 of the runs had finished before an interrupt and were taken from the cache" in capsys.readouterr().out


def test_a_target_with_copies_is_split_with_each_inputs_copies_on_one_side(tmp_path, image_npz, capsys):
    from transferkit.config import load_config
    from transferkit.data.overlap import input_groups
    from transferkit.evaluate.prepare import prepare

    src, tgt = image_npz
    t = np.load(tgt)
    np.savez(tgt, x=np.r_[t["x"], t["x"]], y=np.r_[t["y"], t["y"]], classes=t["classes"])  # every image twice
    assert _run(tmp_path, src, tgt, tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    said = "90 of the target's 180 examples are exact copies of others (90 inputs repeated); each input's copies were kept"
    assert any(w.startswith(said) for w in summary["target"]["warnings"])
    assert said in (tmp_path / "run" / "report.md").read_text()
    assert said in capsys.readouterr().err
    data = prepare(load_config(tmp_path / "run" / "config.yaml"))
    groups = input_groups(data.target)
    assert not set(groups[data.split.test_idx]) & set(groups[data.split.pool_idx])


def test_the_copies_note_counts_inputs_under_two_classes_and_texts_group_up_to_case_and_spacing():
    from transferkit.data.overlap import copy_groups, input_groups, split_copies_note
    from transferkit.data.text import TextDomain

    groups = copy_groups(np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, 3.0], [2.0, 3.0], [5.0, 5.0]], dtype=np.float32))
    assert groups.tolist() == [0, 0, 1, 1, 2]  # -0.0 is 0.0
    note = split_copies_note(groups, np.array([0, 0, 0, 1, 1]))
    assert note.startswith("2 of the target's 5 examples are exact copies of others (2 inputs repeated, 1 of them under more than one class)")
    assert split_copies_note(np.arange(5), np.zeros(5, dtype=int)) is None
    one = split_copies_note(np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1]))  # it said "1 of ... examples are exact copies"
    assert one.startswith("1 of the target's 4 examples is an exact copy of another (1 input repeated)")
    assert split_copies_note(np.array([0, 0, 1]), np.array([0, 0, 1]), texts=True).startswith(
        "1 of the target's 3 examples is a copy of another, up to case and spacing")
    texts = TextDomain("t", ["great", "great", " Great ", "bad", "not  bad", "not bad!"], np.array([1, 1, 1, 0, 1, 1]),
                       ["neg", "pos"])  # fmt: skip
    assert input_groups(texts).tolist() == [0, 0, 0, 1, 2, 3]  # case and spacing aside; punctuation counts
    note = split_copies_note(input_groups(texts), texts.y, texts=True)
    assert note.startswith("2 of the target's 6 examples are copies of others, up to case and spacing (1 input repeated)")


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    """(N, 1, H, W) 0..255 images through a JPEG file and back."""
    import io

    from PIL import Image

    out = []
    for im in x[:, 0].astype(np.uint8):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, "JPEG", quality=quality)
        out.append(np.asarray(Image.open(io.BytesIO(buf.getvalue()))))
    return np.stack(out)[:, None].astype(np.float32)


def test_re_encoded_rounded_or_brightened_images_are_near_copies_and_distinct_ones_are_not():
    """Exact hashing missed a target re-saved as JPEG: its source model had trained on every test image."""
    from tests.conftest import make_images
    from transferkit.data.domain import Domain
    from transferkit.data.overlap import near_copies

    xs, ys = make_images(30, size=16, seed=1)  # 90 distinct images, 3 classes: same-class ones correlate at ~0.96
    src = Domain("s", xs, ys, ["a", "b", "c"], (0.0, 255.0))
    copies = np.concatenate([_jpeg(xs[:10], 95), np.round(xs[10:20] / 255, 2), 0.5 * xs[20:30] + 60])
    tgt = Domain("t", np.concatenate([copies, make_images(10, size=16, seed=2)[0]]), np.r_[ys[:30], np.zeros(30, int)],
                 ["a", "b", "c"], (0.0, 255.0))  # fmt: skip
    found = count_test_in_source(src, tgt, np.arange(60))
    assert (found.found, found.near, found.same_class) == (30, 30, 30) and found.rows == tuple(range(30))
    assert found.kind.startswith("near copies: pixel correlation >= 0.999, which re-saved") and "fixed scene" in found.kind
    assert sorted(near_copies(xs, xs[:5])) == [0, 1, 2, 3, 4]  # each only itself among 90
    assert all(len(v) == 1 for v in near_copies(xs, xs[:5]).values())
    assert not near_copies(xs, _jpeg(xs[:10], 30))  # heavier compression: not a copy any more
    mixed = count_test_in_source(src, Domain("t", np.concatenate([xs[:3], copies[:2]]), ys[:5], ["a", "b", "c"],
                                             (0.0, 255.0)), np.arange(5))  # fmt: skip
    assert (mixed.found, mixed.near) == (5, 2) and mixed.kind.startswith("3 exact copies, 2 near copies")
    small = Domain("s", xs[:, :, :4, :4].copy(), ys, ["a", "b", "c"], (0.0, 255.0))  # 16 values: chance correlations
    assert count_test_in_source(small, Domain("t", small.x[:5] * 0.5 + 3, ys[:5], ["a", "b", "c"], (0.0, 255.0)),
                                np.arange(5)).found == 0  # fmt: skip


def test_a_target_re_saved_as_jpeg_in_the_source_is_warned_of_under_the_results(tmp_path, image_npz, capsys):
    """Exact copies are refused; near ones are said under the results table and on the console,
    not refused: distinct frames of one fixed camera can correlate as much (a trial's were)."""
    src, tgt = image_npz
    s, t = dict(np.load(src)), dict(np.load(tgt))
    np.savez(src, x=np.concatenate([s["x"], _jpeg(t["x"][:, None], 95)[:, 0]]), y=np.r_[s["y"], t["y"]],
             classes=s["classes"])  # fmt: skip
    assert _run(tmp_path, src, tgt, tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())["target"]
    n = summary["test_examples"]
    assert (summary["test_examples_in_source"], summary["test_examples_in_source_near"],
            summary["test_examples_in_source_near_same_class"]) == (n, n, n)  # fmt: skip
    report = (tmp_path / "run" / "report.md").read_text()
    after_table = report[report.index("| method") :].split("\n\n")[1]
    assert after_table.startswith(f"**Warning:** {n} of the {n} target test examples (100 %) are also in the source "
                                  f"with the same class, {n} of them as near copies (pixel correlation >= 0.999")
    assert "if they are copies, the source model saw their labels" in capsys.readouterr().out
    np.savez(src, x=np.concatenate([s["x"], t["x"]]), y=np.r_[s["y"], t["y"]], classes=s["classes"])
    assert _run(tmp_path, src, tgt, tmp_path / "exact") == 2  # exact copies: refused, as before
    assert "(exact copies)" in capsys.readouterr().err and not (tmp_path / "exact").exists()


def test_grey_copies_of_colour_images_and_tinted_copies_of_grey_ones_are_near_copies():
    """A trial: grey versions of colour photos, and sepia or blue-tinted copies of MNIST digits, were
    never found (compared over all channels, or a colour row beside grey was never equal)."""
    from tests.conftest import make_images
    from transferkit.data.domain import Domain

    rng = np.random.default_rng(0)
    grey, y = make_images(20, size=16, seed=1)  # (60, 1, 16, 16)
    colour = np.clip(grey * rng.uniform(0.6, 1.0, size=(60, 3, 1, 1)) + rng.uniform(0, 40, (60, 3, 16, 16)), 0, 255)
    luminance = (0.299 * colour[:, 0] + 0.587 * colour[:, 1] + 0.114 * colour[:, 2])[:, None]
    sepia = np.clip(np.repeat(grey, 3, axis=1) * np.array([1.0, 0.95, 0.85])[None, :, None, None], 0, 255)
    blue = np.repeat(grey, 3, axis=1) + np.array([0, 0, 3.0])[None, :, None, None]
    rgba = np.concatenate([colour, np.full((60, 1, 16, 16), 255.0)], axis=1)
    cases = [(colour, np.round(luminance)), (colour, np.repeat(np.round(luminance), 3, axis=1)), (grey, sepia),
             (grey, blue), (sepia, grey), (colour, rgba)]  # fmt: skip
    for xs, xt in cases:
        src = Domain("s", xs.astype(np.float32), y, ["a", "b", "c"], (0.0, 255.0))
        tgt = Domain("t", xt[:10].astype(np.float32), y[:10], ["a", "b", "c"], (0.0, 255.0))
        found = count_test_in_source(src, tgt, np.arange(10))
        assert found.found == 10 and found.same_class == 10, (xs.shape, xt.shape, found)


def test_many_look_alike_pairs_are_checked_in_bounded_chunks(monkeypatch):
    """A trial's 800 frames of one fixed scene made every pair a candidate: 10 GB at once."""
    from transferkit.data import overlap

    rng = np.random.default_rng(0)
    scene = rng.uniform(0, 255, size=(1, 1, 16, 16))
    frames = (scene + rng.normal(0, 3, size=(300, 1, 16, 16))).astype(np.float32)  # r ~ 0.998: candidates, no copies
    frames[40:45] = frames[150:155] + 0.2  # and 5 near copies among them (past the first block of 16 test images)
    whole = overlap.near_copies(frames[100:], frames[:100])  # (many candidates: one product)
    monkeypatch.setattr(overlap, "PAIRS", 256 * 7)  # 7 pairs at a time
    monkeypatch.setattr(overlap, "TEST_BLOCK", 16)
    monkeypatch.setattr(overlap, "DENSE_SHARE", 2.0)  # never one product: every candidate pair in chunks
    chunked = overlap.near_copies(frames[100:], frames[:100])
    assert {k: list(v) for k, v in chunked.items()} == {k: list(v) for k, v in whole.items()}
    blank = np.full((50, 1, 16, 16), 7.0, np.float32)  # constant images: near nothing, and no candidates
    assert overlap.near_copies(blank, blank) == {} and overlap.near_copies(blank[:0], blank) == {}
    assert sorted(chunked) == [40, 41, 42, 43, 44] and [list(chunked[40 + k]) for k in range(5)] == [[50 + k] for k in range(5)]


def _shapes(n: int, size: int, seed: int) -> np.ndarray:
    """(n, 1, size, size) 0..255 pictures of rectangles and discs of random grey levels on black:
    sharp edges, as digits or clothes on a plain ground have, and distinct from each other."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    x = np.zeros((n, 1, size, size), np.float32)
    for i in range(n):
        for _ in range(3):
            (top, left), (h, w) = rng.integers(0, size - 4, 2), rng.integers(3, size // 2, 2)
            x[i, 0, top : top + h, left : left + w] += rng.uniform(50, 120)
            (cy, cx), r = rng.uniform(0, size, 2), rng.uniform(2, size / 5)
            x[i, 0][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] += rng.uniform(50, 120)
    return np.round(np.clip(x, 0, 255))


def _moved(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, 1, H, W) images moved by (dy, dx) pixels, the uncovered edge repeating the border."""
    k = max(abs(dy), abs(dx))
    p = np.pad(x, ((0, 0), (0, 0), (k, k), (k, k)), mode="edge")
    return p[:, :, k - dy : k - dy + x.shape[2], k - dx : k - dx + x.shape[3]].copy()


def test_moved_cropped_and_padded_copies_are_near_copies(monkeypatch):
    """A copy moved by a pixel or two correlated with its original at 0.3-0.8: never found."""
    from transferkit.data import overlap

    xs = _shapes(40, 24, seed=0)
    steps = [(1, 0), (0, -1), (1, 1), (-2, 0), (0, 2), (2, -2), (-1, 2), (-2, -1)]
    moved = np.concatenate([_moved(xs[i : i + 1], dy, dx) for i, (dy, dx) in enumerate(steps)])
    assert all(np.corrcoef(m.ravel(), s.ravel())[0, 1] < 0.99 for m, s in zip(moved, xs[:8], strict=True))  # not near
    assert {k: list(v) for k, v in overlap.near_copies(xs, moved).items()} == {k: [k] for k in range(8)}
    assert {k: list(v) for k, v in overlap.near_copies(moved, xs[:8]).items()} == {k: [k] for k in range(8)}
    cropped, padded = xs[:5, :, 1:-1, 1:-1].copy(), np.pad(xs[:5], ((0, 0), (0, 0), (2, 2), (2, 2)))  # 22x22, 28x28
    assert sorted(overlap.near_copies(xs, cropped)) == sorted(overlap.near_copies(xs, padded)) == [0, 1, 2, 3, 4]
    assert sorted(overlap.near_copies(xs, xs[:5, :, 2:, :-1].copy())) == [0, 1, 2, 3, 4]  # 2 off the top, 1 the right
    assert overlap.near_copies(xs, _moved(xs[:5], 3, 0)) == {}  # further than SHIFT: not looked for
    assert overlap.near_copies(xs, _moved(_shapes(8, 24, seed=1), 1, 1)) == {}  # moved, but of other pictures
    whole = overlap.near_copies(xs, moved)
    monkeypatch.setattr(overlap, "PAIRS", 1700 * 3)  # 3 pairs at a time
    monkeypatch.setattr(overlap, "TEST_BLOCK", 30)  # one target image (24 windows) a block
    monkeypatch.setattr(overlap, "BLOCK", 7)
    monkeypatch.setattr(overlap, "DENSE_SHARE", 2.0)  # every candidate pair in chunks
    assert {k: list(v) for k, v in overlap.near_copies(xs, moved).items()} == {k: list(v) for k, v in whole.items()}


def test_copies_at_another_size_are_near_copies_and_counted():
    """The check compared images of one size only: a 16x16 target made from 32x32 source images
    (or a source of its images enlarged) reported no copies at all."""
    import torch
    from PIL import Image

    from transferkit.data.domain import Domain
    from transferkit.data.overlap import near_copies

    xs = _shapes(30, 32, seed=0)

    def pil(x, size, how):
        return np.stack([np.asarray(Image.fromarray(im.astype(np.uint8)).resize((size, size), how), np.float32)
                         for im in x[:, 0]])[:, None]  # fmt: skip

    area = torch.nn.functional.interpolate(torch.from_numpy(xs[:10]), size=(16, 16), mode="area").numpy().round()
    for small in (pil(xs[:10], 16, Image.BILINEAR), pil(xs[:10], 12, Image.BOX), area, pil(xs[:10], 24, Image.NEAREST)):
        assert {k: list(v) for k, v in near_copies(xs, small).items()} == {k: [k] for k in range(10)}
    half = xs[:10, :, ::2, ::2].copy()  # 16x16 images, and a source of them enlarged to 24x24
    found = near_copies(pil(half, 24, Image.BILINEAR), half)
    assert {k: list(v) for k, v in found.items()} == {k: [k] for k in range(10)}
    assert near_copies(xs, pil(_shapes(10, 32, seed=1), 16, Image.BILINEAR)) == {}  # other pictures, made as small
    ys = np.arange(30) % 3
    src = Domain("s", xs, ys, ["a", "b", "c"], (0.0, 255.0))
    small = pil(np.concatenate([xs[:6], _shapes(4, 32, seed=2)]), 16, Image.BILINEAR)  # 6 copies, 4 others
    tgt = Domain("t", small, np.r_[ys[:6], 0, 0, 0, 0], ["a", "b", "c"], (0.0, 255.0))
    found = count_test_in_source(src, tgt, np.arange(10))
    assert (found.found, found.near, found.same_class, found.rows) == (6, 6, 6, tuple(range(6)))


def test_the_nearest_pixel_rules_pick_what_pillow_and_torch_pick():
    """Pillow's NEAREST sums its scale in floating point: copies shrunk 16 -> 12, 32 -> 24 or 64 -> 48 were all
    missed (a review), as the exact formula picked other pixels at those ratios."""
    import torch
    from PIL import Image

    from transferkit.data.overlap import _resamplers

    for n_in, n_out in ((16, 12), (32, 24), (64, 48), (40, 30), (48, 20), (28, 14), (99, 13)):
        ramp = np.tile(np.arange(n_in, dtype=np.float32), (2, 1))
        pillow = np.asarray(Image.fromarray(ramp, mode="F").resize((n_out, 2), Image.NEAREST))[0]
        t = torch.from_numpy(ramp)[None, None]
        picks = [torch.nn.functional.interpolate(t, size=(2, n_out), mode=m)[0, 0, 0].numpy()
                 for m in ("nearest", "nearest-exact")]  # fmt: skip
        made = [m @ np.arange(n_in) for m in _resamplers(n_in, n_out)]
        for want in (pillow, *picks):
            assert any(np.allclose(m, want) for m in made), (n_in, n_out, want)


def test_distinct_look_alikes_are_not_matched_by_moving_them():
    """Two distinct plain pictures (a dark frame around an even patch, as some of the LFW subset's
    non-faces) line up at a 1-pixel move with r = 0.9993: their pixel differences, 0.993, tell them
    apart. Distinct images of one class, moved, are not matched either."""
    from tests.conftest import make_images
    from transferkit.data.overlap import near_copies

    rng = np.random.default_rng(0)
    textured, even = np.zeros((2, 1, 1, 20, 20), np.float32)
    textured[0, 0, 6:, 4:] = np.round(130 + rng.normal(0, 3, size=(14, 16)))
    even[0, 0, 5:, 4:] = 208
    assert np.corrcoef(textured[0, 0, 2:18, 2:18].ravel(), even[0, 0, 1:17, 2:18].ravel())[0, 1] > 0.999
    assert near_copies(textured, even) == near_copies(even, textured) == {}
    xs, _ = make_images(30, size=16, seed=1)  # bars at 3 rows: same-class images correlate at ~0.96
    others, _ = make_images(10, size=16, seed=2)
    assert near_copies(xs, np.concatenate([_moved(others, 1, 0), _moved(others, 0, 2)])) == {}
    assert near_copies(xs, np.full((3, 1, 16, 16), 9.0, np.float32)) == {}  # blank images: near nothing, moved or not
