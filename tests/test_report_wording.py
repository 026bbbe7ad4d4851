"""The report in words: the input recipe (not a Python dict), the gain column's baseline, old summaries."""

from transferkit.data.preprocess import Recipe
from transferkit.data.text import TextRecipe
from transferkit.report.recipe import describe_recipe


def test_image_recipe_with_border():
    text = describe_recipe(Recipe((0.0, 16.0), (1, 28, 28), pad=4).to_dict())
    assert text == "values 0..16 scaled to 0..1; images resized to 20x20 inside a 4-pixel border (28x28, 1 channel)"


def test_image_recipe_through_lower_resolution():
    text = describe_recipe(Recipe((0.0, 255.0), (3, 32, 32), resolution=(11, 11)).to_dict())
    assert text == "values 0..255 scaled to 0..1; images resized to 32x32 (3 channels), passed through 11x11 first"


def test_image_recipe_says_whether_the_images_were_resized():
    """Series saved as (N, 6, 100) were said to be "resized to 6x100", though nothing was."""
    kept = describe_recipe(Recipe((0.0, 1.0), (1, 6, 100)).to_dict(), native=[1, 6, 100])
    assert kept == "values 0..1 scaled to 0..1; images kept at their 6x100 (1 channel)"
    through = describe_recipe(Recipe((0.0, 255.0), (1, 28, 28), resolution=(16, 16)).to_dict(), native=[1, 28, 28])
    assert through == "values 0..255 scaled to 0..1; images kept at their 28x28 after passing through 16x16 (1 channel)"
    grown = describe_recipe(Recipe((0.0, 16.0), (1, 28, 28), pad=4).to_dict(), native=[1, 8, 8])
    assert grown.startswith("values 0..16 scaled to 0..1; images resized from 8x8 to 20x20 inside a 4-pixel border")


def test_series_recipe_says_sensors_and_steps_and_the_sources_scale():
    """Series read by the cnn1d were called "images kept at their 3x128", on a range said as their own."""
    text = describe_recipe(Recipe((-4.4, 4.3), (1, 3, 128)).to_dict(), source_scale=True, native=[1, 3, 128], series=True)
    assert text == "values on the source's scale (-4.4..4.3 to 0..1); series of 3 channels x 128 steps"
    assert describe_recipe(Recipe((0.0, 2.0), (1, 1, 50)).to_dict(), series=True).endswith("series of 1 channel x 50 steps")
    # a univariate (N, L) series for the cnn1d was "24 features per example"
    assert describe_recipe(Recipe((0.0, 2.0), (24,)).to_dict(), series=True).endswith("; series of 24 steps")
    assert describe_recipe(Recipe((0.0, 2.0), (24,)).to_dict()).startswith("24 features per example")  # the mlp's


def test_the_report_says_the_targets_own_image_size(tmp_path, image_npz):
    from tests.conftest import tiny_experiment
    from transferkit.config import load_config
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.markdown import render_report
    from transferkit.report.summary import build_summary

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    summary = build_summary(run_protocol(load_config(None, raw=raw)))
    assert summary["target"]["input_shape"] == [1, 12, 12]
    assert "images kept at their 12x12 (1 channel)" in render_report(summary, {})


def test_the_report_says_how_the_sources_inputs_were_read(tmp_path, image_npz):
    """`source.invert: true` and a source passed through the target's lower resolution showed
    only in config.yaml and summary.json; the Source line now says them as the Target line does."""
    from tests.conftest import tiny_experiment
    from transferkit.config import load_config
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.markdown import render_report
    from transferkit.report.summary import build_summary

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    raw["source"]["invert"] = True
    summary = build_summary(run_protocol(load_config(None, raw=raw)))
    assert summary["source"]["inverted"] is True and summary["source"]["input_shape"] == [1, 12, 12]
    line = next(ln for ln in render_report(summary, {}).splitlines() if ln.startswith("- **Source**"))
    assert "; inputs: values 0.." in line and "then inverted (1 - x); images kept at their 12x12" in line, line


def test_vector_recipe_names_its_first_columns():
    cols = tuple(f"c{i}" for i in range(7))
    text = describe_recipe(Recipe((-3.5, 12.0), (7,), columns=cols).to_dict())
    assert text == "7 features per example (columns c0, c1, c2, c3, c4, ...); values -3.5..12 scaled to 0..1"
    assert describe_recipe(Recipe((0.0, 1.0), (3,)).to_dict()) == "3 features per example; values 0..1 scaled to 0..1"
    # with source data, vectors are read on the source's range: not the target's own, so said so
    on_source = describe_recipe(Recipe((-2.4, 3.3), (3,)).to_dict(), source_scale=True)
    assert on_source == "3 features per example; values on the source's scale (-2.4..3.3 to 0..1)"


def test_text_recipe():
    text = describe_recipe(TextRecipe("hf:sentence-transformers/all-MiniLM-L6-v2", 64).to_dict())
    assert text == "texts tokenised by `hf:sentence-transformers/all-MiniLM-L6-v2`'s tokenizer, cut to 64 tokens"


def test_a_summary_without_a_recipe_still_renders():
    assert describe_recipe({}) == "recipe not recorded"


def test_the_report_renders_a_summary_whose_target_has_no_recipe():
    from transferkit.report.markdown import render_report

    target = {"data": "t", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
              "pool_examples": 7, "shots": [1]}  # fmt: skip
    summary = {"name": "t", "source": None, "pretrained": "mobilenet_v2_imagenet", "wall_time_s": 1.0, "seeds": [0],
               "model_selection": "fixed", "results": [], "negative_transfer": [], "skipped": []}  # fmt: skip
    for recipe in ({}, {"recipe": None}):  # was a KeyError / AttributeError
        assert "inputs: recipe not recorded" in render_report({**summary, "target": {**target, **recipe}}, {})


def test_the_gain_column_of_a_k0_run_without_a_baseline_does_not_name_scratch():
    from transferkit.report.table import header

    rows = [{"method": "mcc", "shots": 0, "gain_vs_scratch": None}, {"method": "dann", "shots": 0}]
    assert header(rows)[4] == "gain vs source_only (pts) [95% CI]"  # was "gain vs scratch", which cannot run at k = 0
    assert header([{"method": "head", "shots": 5}])[4] == "gain vs scratch (pts) [95% CI]"


def test_a_bound_just_below_zero_keeps_its_sign_and_two_decimals():
    """'[-5.3, -0.0] negative' read as a contradiction; the bound is -0.04."""
    from transferkit.report.table import _ci, points

    assert _ci([-0.053, -0.0004]) == "[-5.3, -0.04]"
    assert points(-0.0004, "+") == "-0.04" and points(0.0, "+") == "+0.0" and points(0.123, "+") == "+12.3"
    assert points(-1.1e-17, "+") == "+0.0" and points(-1.1e-17) == "0.0"  # equal means, averaged: float noise


def test_k0_and_label_free_rows_are_explained():
    from transferkit.report.markdown import label_free_lines

    rows = [{"method": m, "shots": k} for m in ("source_only", "adabn", "dann") for k in (0, 5)]
    text = "\n".join(label_free_lines({"results": rows}))
    assert "k = 0 means no target labels at all" in text
    assert "`adabn`, `source_only` read no target label at any k" in text
    assert "float rounding may move an example or two" in text  # adabn's rows differed by one example (a trial)
    alone = "\n".join(label_free_lines({"results": [{"method": "source_only", "shots": k} for k in (0, 5)]}))
    assert "reads no target label" in alone and "rounding" not in alone
    assert label_free_lines({"results": [{"method": "finetune", "shots": 5}]}) == []


def test_two_seeds_are_said_to_give_wide_intervals(tmp_path, image_npz, capsys):
    """A new user's iris run at 2 seeds read 88.9 [0.0, 100.0] with no word of why."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.cli import main
    from transferkit.report.markdown import few_seeds_line

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=2, methods=[{"name": "head", "params": {"steps": 3}}])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run")]) == 0
    said = "With 2 seeds the spread between seeds has 1 degree of freedom (95 % Student-t factor 12.7"
    assert said in (tmp_path / "run" / "report.md").read_text()
    assert "note: " + said in capsys.readouterr().out
    assert few_seeds_line({"seeds": [0, 1, 2]}) is None
    assert few_seeds_line({"seeds": [0]}).startswith("With 1 seed there are no intervals (—)")  # a scale trial read
    # "it covers both the seeds and the sampling of the test examples" above a table of dashes
    assert "even where the two seeds agree" in few_seeds_line({"seeds": [0, 1]})  # the floor widens them too (an audit)


def test_a_deployed_label_free_model_is_not_said_to_have_trained_on_labels():
    """A new user's report said adabn's deployed model was 'trained on 2 labelled example(s) per class'."""
    from transferkit.report.markdown import render_report

    target = {"data": "t", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
              "pool_examples": 7, "shots": [2]}  # fmt: skip
    summary = {"name": "t", "source": None, "pretrained": "mobilenet_v2_imagenet", "wall_time_s": 1.0, "seeds": [0],
               "model_selection": "fixed", "results": [], "negative_transfer": [], "skipped": [], "target": target}  # fmt: skip
    adabn = render_report({**summary, "deploy": {"method": "adabn", "shots": 2, "seed": 0}}, {})
    assert "`models/adabn_k2_seed0`: the first seed's model, which reads no target label at any k (k = 2 names it " \
        "only); named by `deploy:`" in adabn  # fmt: skip
    head = render_report({**summary, "deploy": {"method": "head", "shots": 2, "seed": 0}}, {})
    assert "the first seed's model, trained on 2 labelled example(s) per class; named by" in head


def test_a_pretrained_source_is_not_said_to_be_autos_choice():
    from transferkit.report.markdown import render_report

    target = {"data": "t", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
              "pool_examples": 7, "shots": [2]}  # fmt: skip
    summary = {"name": "t", "source": None, "pretrained": "mobilenet_v2_imagenet", "wall_time_s": 1.0, "seeds": [0],
               "model_selection": "fixed", "results": [], "negative_transfer": [], "skipped": [], "target": target}  # fmt: skip
    said = render_report({**summary, "shared": "pretrained", "shared_config": None}, {})
    assert "- **Shared layers**: `pretrained`\n" in said
    assert "(what `model.shared: auto` chose" in render_report({**summary, "shared": "cnn1d", "shared_config": "auto"}, {})


def test_a_figure_title_is_not_hidden_behind_its_first_row_of_plots(tmp_path):
    """A 20-way episode's title sat behind the first row of images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from transferkit.report.plots import save_figure

    fig, axes = plt.subplots(20, 8, figsize=(11, 29))
    for ax in axes.ravel():
        ax.set_title("→ A", fontsize=7)
    title = fig.suptitle("20-way 1-shot episode", fontsize=9)
    save_figure(fig, tmp_path / "e.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # (closed by save_figure: measure on a fresh canvas)
    top_row = max(ax.title.get_window_extent(renderer).y1 for ax in axes[0])
    assert title.get_window_extent(renderer).y0 > top_row  # above the first row's titles, not over them


def test_the_report_names_the_settings_given_to_each_method():
    """A trial read `self_training` as the documented 600-step default; it ran `base: mcc, steps: 100`."""
    from transferkit.report.markdown import render_report

    target = {"data": "t", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
              "pool_examples": 7, "shots": [1]}  # fmt: skip
    summary = {"name": "t", "source": None, "wall_time_s": 1.0, "seeds": [0], "model_selection": "fixed",
               "results": [], "negative_transfer": [], "skipped": [], "target": target,
               "method_params": {"self_training": {"base": "mcc", "steps": 100}}}  # fmt: skip
    assert "**Methods' settings** (given in the experiment; every other setting is the method's default, " \
           "docs/methods.md): `self_training`: base=mcc, steps=100" in render_report(summary, {})
    assert "Methods' settings" not in render_report({**summary, "method_params": {}}, {})


def test_warnings_about_the_source_are_listed_under_the_source():
    """A source folder's resize warning sat under **Target** in report.md."""
    from transferkit.report.markdown import render_report

    target = {"data": "t", "examples": 10, "classes": ["a", "b"], "test_examples": 3, "split_seed": 0,
              "pool_examples": 7, "shots": [1], "warnings": ["t: the target's own note"]}  # fmt: skip
    source = {"data": "s", "examples": 50, "classes": ["a", "b"], "models": {}, "warnings": ["s: 4 of 50 resized"]}
    summary = {"name": "t", "source": source, "wall_time_s": 1.0, "seeds": [0], "model_selection": "fixed",
               "results": [], "negative_transfer": [], "skipped": [], "target": target}  # fmt: skip
    text = render_report(summary, {})
    source_at, target_at = text.index("- **Source**"), text.index("- **Target**")
    assert source_at < text.index("s: 4 of 50 resized") < target_at < text.index("t: the target's own note")


def test_the_per_class_table_escapes_class_names_that_are_markdown():
    from transferkit.report.markdown import per_class_lines

    odd = ["Q|q", "<S>", "T*t*"]
    summary = {"target": {"classes": odd, "test_per_class": dict.fromkeys(odd, 3)},
               "results": [{"shots": 1, "method": "head", "per_class_accuracy": dict.fromkeys(odd, 0.5)}]}  # fmt: skip
    header, rule, row = per_class_lines(summary)[2:5]
    assert header == r"| method | Q\|q (n=3) | \<S\> (n=3) | T\*t\* (n=3) |"
    assert header.replace(r"\|", "").count("|") == rule.count("|") == row.count("|") == 5


def test_training_curves_keep_one_colour_per_method_and_one_legend_for_every_panel(tmp_path, monkeypatch):
    """A trial's plot had a legend on its k = 0 panel alone, labels such as 'dann/dann', and colours drawn
    panel by panel: blue was dann at k = 0 and another method at k = 1 and k = 5."""
    import matplotlib

    matplotlib.use("Agg")
    from PIL import Image

    from transferkit.report import plots

    curves = [{"method": m, "phase": phase, "shots": k, "seed": 0, "step": step, "loss": 1.0 / step}
              for k, methods in ((0, [("dann", "dann"), ("mcc", "mcc")]),
                                 (1, [("scratch", "scratch"), ("finetune", "head"), ("finetune", "finetune"),
                                      ("dann", "dann")]))
              for m, phase in methods for step in range(1, 5)]  # fmt: skip
    figures, save = [], plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **kw: figures.append(fig) or save(fig, path, **kw))
    plots.plot_training_curves(curves, 0, tmp_path / "c.png")
    (fig,) = figures
    colours = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            assert colours.setdefault(line.get_label(), line.get_color()) == line.get_color(), line.get_label()
    assert sorted(colours) == ["dann", "finetune", "finetune/head", "mcc", "scratch"]
    assert len(set(colours.values())) == 5 and not any(ax.get_legend() for ax in fig.axes)
    (legend,) = fig.legends
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(colours)
    assert Image.open(tmp_path / "c.png").width > 2 * 4 * 100  # the legend beside the two panels is written too


def test_a_gain_that_rounds_to_zero_is_not_printed_as_minus_zero():
    """A gain of -0.04 points printed as "-0.0 [...]" in the results table's gain column."""
    from transferkit.report.table import _gain

    row = {"negative_transfer": False, "gain_vs_scratch": -0.0004, "gain_ci95": [-0.02, 0.019]}
    assert _gain(row) == "-0.04 [-2.0, 1.9]"
    k0 = {"negative_transfer": False, "gain_vs_scratch": None, "gain_vs_source_only": -0.0004,
          "gain_vs_source_only_ci95": [-0.02, 0.019]}  # fmt: skip
    assert _gain(k0) == "-0.04 [-2.0, 1.9] vs source_only"


def test_a_sample_taken_by_max_per_class_is_said_with_how_many_it_kept(tmp_path, image_npz, capsys):
    """A review: with max_per_class the report's counts, test split and most-frequent-class rate
    described the sample, and nothing said that the data set named was larger."""
    import json

    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.cli import main
    from transferkit.report.markdown import sampled_line

    src, tgt = image_npz  # 3 classes of 60 source images, of 30 target images
    raw = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "head", "params": {"steps": 3}}])
    raw["source"]["max_per_class"] = 15
    raw["target"].update(max_per_class=6, shots=[2])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["target"]["sampled"] == {"kept": 18, "of": 90, "max_per_class": 6}
    assert summary["source"]["sampled"] == {"kept": 45, "of": 180, "max_per_class": 15}
    said = ("target.max_per_class=6 kept 18 of its 90 examples (at most 6 per class, drawn at random): its example "
            "counts, test split and most-frequent-class rate are the sample's, not the whole data set's")  # fmt: skip
    report, out = (tmp_path / "run" / "report.md").read_text(), capsys.readouterr().out
    assert f"  - {said}" in report and f"note: {said}" in out
    assert "source.max_per_class=15 kept 45 of its 180 examples" in report and "source.max_per_class=15" in out
    assert sampled_line("target", {"sampled": None}) is None and sampled_line("source", None) is None  # nothing left out


def test_a_flagged_bound_just_below_zero_is_not_printed_as_minus_zero_anywhere():
    """One test example of 10,000 over three seeds is 0.0033 points: two decimals still read
    "-0.00", and the imbalance table, predict's balanced-accuracy note and its note on a model
    below the unadapted source printed "-0.0" as the upper end of a wholly negative interval."""
    from transferkit.prediction import _below_source_model, _classes_missed
    from transferkit.report.markdown import imbalance_lines
    from transferkit.report.table import _gain, points

    tiny = -1 / 30000
    assert points(tiny, "+") == "-0.003" and points(tiny) == "-0.003" and points(-0.0004) == "-0.04"
    assert points(0.0, "+") == "+0.0" and points(-5.6e-17, "+") == "+0.0" and points(0.123) == "12.3"
    row = {"negative_transfer": True, "gain_vs_scratch": -0.01, "gain_ci95": [-0.02, tiny]}
    assert _gain(row).startswith("-1.0 [-2.0, -0.003]")
    row = {"method": "head", "shots": 5, "accuracy_mean": 0.8, "balanced_accuracies": [0.7, 0.7],
           "balanced_accuracy_ci95": [0.6, 0.8], "balanced_gain": tiny, "balanced_gain_ci95": [-0.02, tiny],
           "below_unadapted": True, "gain_vs_unadapted": -0.01, "gain_vs_unadapted_ci95": [-0.02, tiny]}  # fmt: skip
    summary = {"results": [row], "target": {"test_per_class": {"a": 90, "b": 10}, "classes": ["a", "b"]}}
    table = "\n".join(imbalance_lines(summary))
    assert "| -0.003 [-2.0, -0.003] |" in table and "-0.0]" not in table
    meta = {"method": "head", "shots": 5}
    below = _below_source_model(summary, meta)
    assert "95 % CI [-2.0, -0.003]" in below and "-0.0]" not in below
    balanced = _classes_missed(summary, meta) or ""
    assert "95 % CI [-2.0, -0.003]" in balanced, balanced
