"""report.md: what was run, the results table, the plots, and how to read them."""

from __future__ import annotations

import re
from statistics import fmean as mean

from transferkit.report.adaptation import adaptation_markdown
from transferkit.report.auto import auto_section
from transferkit.report.recipe import describe_recipe
from transferkit.report.summary import uneven_counts
from transferkit.report.table import markdown_table, md_text, points
from transferkit.shots import ALL, has_labels, labelled_counts_text, largest


def unlabelled_note(names: list[str], code: str = "`") -> str:
    """Why a method that never trains on the labelled target examples may fall below scratch."""
    said = " and ".join(f"{code}{n}{code}" for n in names)
    return (f"{said} use{'s' if len(names) == 1 else ''} none of the k labelled target examples that scratch trains "
            f"on: below scratch, {'it says' if len(names) == 1 else 'they say'} that those labels are worth more than "
            "the source model as it is, not that methods which also use them (head, finetune, ...) lose by "
            "transferring.")


def source_copies_warning(summary: dict) -> str | None:
    """The warning for a source holding more than ``LEAK_SHARE`` of the target's test split
    under the same class (vector and text sources are not refused for it), else None. It
    belongs next to the results it qualifies: every gain over scratch is inflated."""
    from transferkit.data.overlap import LEAK_SHARE

    target = summary.get("target") or {}
    same, n = target.get("test_examples_in_source_same_class"), target.get("test_examples") or 0
    if not same or same <= LEAK_SHARE * n:
        return None
    near = target.get("test_examples_in_source_near_same_class") or 0
    if near:
        return (f"{same} of the {n} target test examples ({100 * same / n:.0f} %) are also in the source with the same "
                f"class, {near} of them as near copies (pixel correlation >= 0.999, moved or resized to match if "
                "need be: re-saved, rounded, noised, moved, cropped or resized versions of a source image, or "
                "distinct captures of one fixed scene, which the check cannot tell apart; docs/protocol.md, 1): if "
                "they are copies, the source model saw their labels, and the results "
                "above of every method that uses the source, and their gains over scratch, are optimistic")  # fmt: skip
    return (f"{same} of the {n} target test examples ({100 * same / n:.0f} %) are also in the source with the same "
            "class (copies: docs/protocol.md, 1): the source model saw their labels, so the results above of every method that "
            "uses the source, and their gains over scratch, are optimistic")  # fmt: skip


def sampled_line(role: str, section: dict | None, what: str | None = None) -> str | None:
    """Where ``max_per_class`` left examples of a domain out: how many it kept, of how many, and
    that the numbers said of that domain are the sample's (the data set named is larger);
    ``what``: that last part, where a run's default does not fit (few-shot episodes)."""
    s = (section or {}).get("sampled")
    if not s:
        return None
    what = what or ("its example counts, test split and most-frequent-class rate are the sample's, not the whole "
                    "data set's" if role == "target" else
                    "the source model was trained on that sample, not on the whole data set")  # fmt: skip
    return (f"{role}.max_per_class={s['max_per_class']} kept {s['kept']} of its {s['of']} examples (at most "
            f"{s['max_per_class']} per class, drawn at random): {what}")


def unlabelled_reference_flagged(summary: dict) -> list[str]:
    """Methods that never train on the labelled target examples (source_only, adabn) flagged at
    some k > 0, where scratch has labels they never see; in the order flagged."""
    from transferkit.methods import METHODS

    out: list[str] = []
    for flag in summary.get("negative_transfer") or []:  # "adabn at k=5", "adabn at k=0 (vs source_only)"
        method, _, shots = flag.rpartition(" at k=")
        shots = shots.split(" ")[0]  # k = 0 compares with source_only, not scratch: no labels to be worth more
        if method in METHODS and not METHODS[method].uses_target_labels and shots != "0" and method not in out:
            out.append(method)
    return out


def render_report(summary: dict, plots: dict[str, str]) -> str:
    src, tgt = summary["source"], summary["target"]
    lines = [f"# transferkit run: {summary['name']}", ""]
    if not src and summary.get("pretrained"):  # a pretrained model as published: no source data, nothing trained
        lines.append(f"- **Source**: pretrained `{summary['pretrained']}`, used as published (no source data)")
    if src:
        start = f", starting from pretrained `{summary['pretrained']}`" if summary.get("pretrained") else ""
        # how its raw inputs became model inputs, as for the target (inverted, passed through a lower resolution)
        how = describe_recipe({**src["recipe"], "invert": bool(src.get("inverted"))}, native=src.get("input_shape"),
                              series=summary.get("shared") == "cnn1d") if src.get("recipe") else None  # fmt: skip
        lines.append(f"- **Source**: `{src['data']}` — {src['examples']} examples, {len(src['classes'])} classes{start}"
                     + (f"; inputs: {how}" if how and how != "recipe not recorded" else ""))  # fmt: skip
        lines += [f"  - {note}" for note in [sampled_line("source", src)] if note]
        lines += [f"  - **Warning:** {note}" for note in src.get("warnings") or []]
        for seed, info in src["models"].items():
            state = "cached" if info["cached"] else f"trained in {info['seconds']:.1f} s"
            val = info["val_accuracy"]
            val = "no source validation" if val is None or val != val else f"validation accuracy {100 * val:.1f} %"
            lines.append(f"  - source model, seed {seed}: {val} ({state})")
            if info.get("warning"):
                lines.append(f"    - **Warning:** {info['warning']}")
    lines += [
        f"- **Target**: `{tgt['data']}` — {tgt['examples']} examples, {len(tgt['classes'])} classes; "
        f"fixed test split of {tgt['test_examples']} examples (split seed {tgt['split_seed']}), "
        f"pool of {tgt['pool_examples']}; inputs: {describe_recipe(tgt.get('recipe') or {}, source_scale=bool(src), native=tgt.get('input_shape'), series=summary.get('shared') == 'cnn1d')}",
    ]
    lines += [f"  - {note}" for note in [sampled_line("target", tgt)] if note]
    lines += [f"  - **Warning:** {note}" for note in tgt.get("warnings") or []]
    lines += resolution_lines(summary.get("pretrained"), summary.get("pretrained_input_size"),
                              (tgt.get("recipe") or {}).get("shape"))  # fmt: skip
    if tgt.get("majority_rate") is not None:
        lines.append(f"  - always predicting its most frequent class (`{tgt['majority_class']}`) scores "
                     f"{100 * tgt['majority_rate']:.1f} % on the test split: the trivial rule to beat")  # fmt: skip
    if tgt.get("test_examples_in_source"):
        same = tgt.get("test_examples_in_source_same_class")  # absent from older summaries
        same = "" if same is None else f", {same} with the same class"
        near = tgt.get("test_examples_in_source_near")
        if near:
            from transferkit.data.overlap import NEAR_WHAT

            same += f"; {near} of them near copies, {NEAR_WHAT}"
        saw = "if they are copies, " if near == tgt["test_examples_in_source"] else ""
        lines.append(f"  - **{tgt['test_examples_in_source']} test examples are also in the source** (copies"
                     f"{same}): {saw}the source model saw them; results on them are optimistic.")  # fmt: skip
    lines += [
        *([f"- **Shared layers**: `{summary['shared']}`"
           + (" (what `model.shared: auto` chose for these inputs)" if summary.get("shared_config") == "auto" else "")]
          if summary.get("shared") else []),
        f"- **Seeds**: {summary['seeds']}; **shots per class**: {', '.join(map(str, tgt['shots']))}",
        *shots_all_lines(summary),
        *(["- **Methods' settings** (given in the experiment; every other setting is the method's default, "
           "docs/methods.md): " + "; ".join(f"`{name}`: " + ", ".join(f"{k}={v}" for k, v in params.items())
                                            for name, params in summary["method_params"].items())]
          if summary.get("method_params") else []),
        f"- **Model selection**: {summary['model_selection']}",
        *([f"- **Deployed model** (what `transferkit predict` uses unless told otherwise): "
           f"`models/{d['method']}_k{d['shots']}_seed{d['seed']}`"
           + ("" if summary.get("models_saved", True) else " (not saved: `save_models: false`, so no predictions)")
           + (f": the first seed's model, which reads no target label at any k (k = {d['shots']} names it only)"
              if d["method"] in LABEL_FREE else
              f": the first seed's model, trained on {labelled_text(d['shots'], tgt)}")
           + "".join(f" (`auto` chose `{a['method']}` for it)" for a in summary.get("auto_decisions") or []
                     if d["method"] == "auto" and (a["shots"], a["seed"]) == (d["shots"], d["seed"]))
           + "; named by `deploy:` "
           "(default: `auto`, else `finetune`, else the first method that is not a baseline nor label-free (at k = 0 a label-free one after the others)), "
           "never chosen by "
           "test accuracy"
           + deploy_flag(summary, d)]
          if (d := summary.get("deploy")) else []),
        wall_time_line(summary, "models, plots, the adaptation diagnostics"),
        "",
        "## Results",
        "",
        "Accuracy on the held-out target test split, mean over seeds with the 95 % Student-t CI "
        "(it covers both the seeds and the sampling of the test examples: docs/protocol.md). "
        "Transfer gain is paired by seed and test example against `scratch` (same labelled examples, "
        "same test split), or against `source_only` where scratch cannot run (k = 0); "
        "**negative transfer** is flagged when the gain's whole CI lies below 0.",
        "",
        markdown_table(summary["results"]),
        "",
    ]
    if copies := source_copies_warning(summary):
        lines += [f"**Warning:** {copies}.", ""]
    if line := few_seeds_line(summary):
        lines += [line, ""]
    lines += label_free_lines(summary)
    lines += per_class_lines(summary)
    lines += imbalance_lines(summary)
    lines += trivial_baseline_lines(summary)
    lines += overconfidence_lines(summary)
    lines += negative_transfer_lines(summary)
    if summary["skipped"]:
        lines += [skipped_line(summary["skipped"]), ""]
    if summary.get("method_warnings"):  # raised while methods trained, e.g. a fine-tuning that diverged
        lines += ["**Warnings while methods trained:**", ""] + [f"- {w}" for w in summary["method_warnings"]] + [""]
    lines += adaptation_markdown(summary.get("adaptation"))
    lines += auto_section(summary)  # what `method: auto` chose and why (report/auto.py)
    for title, rel in plots.items():
        lines += [f"## {title}", "", f"![{title}]({rel})", ""]
    return "\n".join(lines)


def labelled_text(k, target: dict) -> str:
    """What a model at ``k`` trained on: 'k labelled example(s) per class', or at ``all`` every training-pool
    example, with how many a class (``target``: summary.json's, its ``labelled_at_all``)."""
    if k != ALL:
        return f"{k} labelled example(s) per class"
    counts = target.get("labelled_at_all")
    return "every training-pool example" + (f" ({labelled_counts_text(counts)})" if counts else "")


def shots_all_lines(summary: dict) -> list[str]:
    """The report's lines on ``shots: all``: what it labels (no draw: its seeds differ only in training), and
    how the classes weigh (``class_weight``; balanced accuracy to read where they are uneven)."""
    tgt = summary["target"]
    counts = tgt.get("labelled_at_all")
    if ALL not in (tgt.get("shots") or []) or not counts:
        return []
    from transferkit.class_weights import IMBALANCED_FIT

    lines = [f"  - k = all (every training-pool example: {labelled_counts_text(counts)}): every example of the "
             "training pool is labelled and none is left unlabelled; no draw varies, so every method trains on the "
             "same examples at every seed, and the seeds differ only in training randomness (initialisation, batch "
             "order, augmentation)"]  # fmt: skip
    n = [c for c in counts.values() if c]
    uneven = len(n) > 1 and max(n) >= IMBALANCED_FIT * min(n)
    if summary.get("class_weight") == "balanced":
        lines.append("  - `class_weight: balanced`: each class weighs alike in the losses on the labelled examples "
                     "(n / (C n_c) a class; the balanced k-shot draws weigh 1 each)")  # fmt: skip
    elif uneven:
        lines.append(f"  - at k = all the labelled classes are uneven ({max(n)} against {min(n)} examples) and each "
                     "example weighs alike, so the large classes dominate training: read balanced accuracy beside "
                     "accuracy (the imbalance table below; `balanced_accuracies` in summary.json), and try "
                     "`class_weight: balanced`")  # fmt: skip
    return lines


def wall_time_line(summary: dict, written: str) -> str:
    """The report's wall-time line: the whole run, writing its folder (``written``) included."""
    part, resumed = summary.get("report_seconds", 0), summary.get("resumed_runs", 0)
    return (f"- **Wall time**: {summary['wall_time_s']:.1f} s"
            + (f" ({part:.1f} s of it writing the run folder: {written})" if part >= 0.05 else "")
            + (f"; {resumed} of the runs had finished before an interrupt and were taken from the cache, not "
               "trained again (their times are those they took then)" if resumed else ""))  # fmt: skip


def few_seeds_line(summary: dict) -> str | None:
    """Two seeds give the seed part of every interval one degree of freedom (t = 12.7): say why
    the intervals are wide, and what narrows them. One seed gives none: say why."""
    if len(summary.get("seeds") or []) == 1:
        return ("With 1 seed there are no intervals (—): one run cannot say how far another draw of the labelled "
                "examples and another initialisation would move each accuracy, often more than the sampling of the "
                "test examples does with few labels, so no gain is tested either: run 3 or more seeds (`seeds: 5`).")
    if len(summary.get("seeds") or []) != 2:
        return None
    return ("With 2 seeds the spread between seeds has 1 degree of freedom (95 % Student-t factor 12.7, against "
            "4.3 with 3 seeds and 2.8 with 5), so the intervals are wide and may span everything, even where the two "
            "seeds agree (their spread is counted as at least one test example's step, since two seeds tie by "
            "chance): run 3 or more seeds (`seeds: 5`) for intervals that tell methods apart.")


def per_class_lines(summary: dict, max_classes: int = 20) -> list[str]:
    """Per-class test accuracy at the largest k, methods down, classes across (with each
    class's test count): what the overall accuracy hides on imbalanced targets."""
    results = summary.get("results") or []
    classes = summary["target"].get("classes") or []
    counts = summary["target"].get("test_per_class")
    if not results or not classes or len(classes) > max_classes or not counts:
        return []
    k = largest(r["shots"] for r in results)
    rows = [r for r in results if r["shots"] == k and r.get("per_class_accuracy")]
    if not rows:
        return []
    head = " | ".join(f"{md_text(c)} (n={counts.get(c, 0)})" for c in classes)
    lines = [f"**Per-class test accuracy at k = {k}** (mean over seeds; n = test examples of the class):", "",
             f"| method | {head} |", "|---" * (len(classes) + 1) + "|"]  # fmt: skip
    for r in rows:
        cells = ["—" if r["per_class_accuracy"].get(c) is None else f"{100 * r['per_class_accuracy'][c]:.1f}"
                 for c in classes]  # fmt: skip
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return [*lines, ""]




def imbalanced(summary: dict) -> bool:
    return uneven_counts((summary["target"].get("test_per_class") or {}).values())


def imbalance_lines(summary: dict) -> list[str]:
    """On an imbalanced test split: that the k-shot draws are balanced while the test split is
    not, and every row's balanced accuracy beside its accuracy."""
    rows = [r for r in summary.get("results") or [] if r.get("balanced_accuracies")]
    if not imbalanced(summary) or not rows:
        return []
    counts = summary["target"]["test_per_class"]
    present = sum(1 for n in counts.values() if n)
    mix = ", ".join(f"{c}: {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1])[:6])
    labelled = any(has_labels(r["shots"]) for r in rows)
    drawn_k = any(r["shots"] != ALL and has_labels(r["shots"]) for r in rows)  # balanced draws
    at_all, weighed = any(r["shots"] == ALL for r in rows), summary.get("class_weight") == "balanced"
    drawn = (", while the k labelled examples are drawn equally from each class" if drawn_k else "") + (
        (" (at k = all" if drawn_k else ", while at k = all") + " the labelled examples are the training pool, in "
        "this mix" + (", each class weighed alike: `class_weight: balanced`" if weighed else "") + (")" if drawn_k
                                                                                                    else "")
        if at_all else "")  # fmt: skip
    lines = [f"**The test split is imbalanced** ({mix}{', ...' if len(counts) > 6 else ''}){drawn}: accuracy weighs "
             "each class by its test count, so it mostly "
             "says how the large classes fare. Balanced accuracy (the mean of the per-class accuracies; always "
             f"predicting one class scores {100 / present:.1f} %) weighs them equally (mean over seeds, %; 95 % "
             "intervals as for accuracy, their test term stratified by class, docs/protocol.md):", "",
             "| method | k | accuracy | balanced accuracy | its gain over the baseline |", "|---|---|---|---|---|"]  # fmt: skip

    def span(ci, sign: bool = False) -> str:
        return "" if not ci else f" [{points(ci[0], '+' if sign else '')}, {points(ci[1], '+' if sign else '')}]"

    lines += [f"| {r['method']} | {r['shots']} | {100 * r['accuracy_mean']:.1f} | "
              f"{100 * mean(r['balanced_accuracies']):.1f}{span(r.get('balanced_accuracy_ci95'))} | "
              + (f"{points(r['balanced_gain'], '+')}{span(r.get('balanced_gain_ci95'), True)}" if r.get("balanced_gain")
                 is not None else "") + " |" for r in rows]  # fmt: skip
    many = len(summary["target"].get("classes") or [])
    where = ("; the per-class table above gives each class's accuracy at the largest k" if per_class_lines(summary)
             else f"; summary.json's `per_class_accuracy` gives each class's accuracy (the report tabulates them for "
                  f"up to 20 classes; this target has {many})" if many > 20 else "")  # fmt: skip
    alike = (f"The models trained on k examples of each class{' at a whole-number k' if at_all else ''}" if drawn_k
             else "") + (
        (" (and at k = all on classes weighed alike)" if drawn_k else "The models at k = all trained on classes "
         "weighed alike") if at_all and weighed else "")  # fmt: skip
    priors = (f" {alike}, so their predictions and probabilities (`predict "
              "--proba`) take the classes to be equally frequent: where inputs come in this split's mix, the small "
              "classes are predicted more often than they occur. Reweighting each probability by its class's share "
              "(p_c x share_c, renormalised) suits such inputs, at the small classes' cost." if labelled and alike
              else "")  # fmt: skip
    if at_all and not weighed:  # (imbalance_note: the warning the run gave)
        priors += (" At k = all the models trained on the pool's own mix, each example weighing alike, so the large "
                   "classes dominated their training: balanced accuracy says how the small ones fare, and "
                   "`class_weight: balanced` weighs each class alike.")  # fmt: skip
    return [*lines, "", f"Which one to read depends on what each class's errors cost{where}.{priors}", ""]


LABEL_FREE = ("source_only", "adabn")  # they read no target label at any k


def label_free_lines(summary: dict) -> list[str]:
    """What k = 0 means, and which rows repeat across k because their method reads no labels."""
    rows = summary.get("results") or []
    lines = []
    if any(r["shots"] == 0 for r in rows):
        lines.append("k = 0 means no target labels at all: methods that adapt (e.g. `dann`, `mcc`) train on the "
                     "target pool's inputs without their labels; the test split is never trained on.")  # fmt: skip
    repeated = sorted({r["method"] for r in rows if r["method"] in LABEL_FREE and has_labels(r["shots"])})
    if repeated:
        lines.append(f"{', '.join(f'`{m}`' for m in repeated)} read{'s' if len(repeated) == 1 else ''} no target "
                     "label at any k: their rows at k > 0 are the same model as at k = 0, the unadapted source "
                     "or its BatchNorm statistics re-estimated on the target's inputs"
                     + (" (`adabn`: the same inputs, taken in another order at each k, so float rounding may move an "
                        "example or two)." if "adabn" in repeated else "."))  # fmt: skip
    return [*lines, ""] if lines else []


OVERCONFIDENT = 0.15  # mean top probability this far above the accuracy: the probabilities are no chances


def overconfidence_lines(summary: dict) -> list[str]:
    """Rows whose models are far surer than they are right on the test split (mean top
    probability − accuracy >= 0.15): `predict`'s probabilities are then rankings, not chances;
    and rows far less sure than right (accuracy − mean top probability >= 0.15).
    A text trial's fine-tuned encoder put over 0.95 on 43 % of its wrong predictions, unsaid.
    Measured on the test split, as the accuracy is, and never used to choose anything."""
    rated = [r for r in summary.get("results") or [] if r.get("mean_confidence") is not None]
    over = [r for r in rated if r["mean_confidence"] - r["accuracy_mean"] >= OVERCONFIDENT]
    under = [r for r in rated if r["accuracy_mean"] - r["mean_confidence"] >= OVERCONFIDENT]

    def named(rows: list[dict]) -> str:
        return "; ".join(f"`{r['method']}` at k = {r['shots']} ({100 * r['mean_confidence']:.0f} % against "
                         f"{100 * r['accuracy_mean']:.1f} %)" for r in rows)  # fmt: skip

    lines = []
    if over:
        lines += [f"**Overconfident:** on the test split these models' top probability averages far more than their "
                  f"accuracy: {named(over)}. Read their probabilities as a ranking of the classes, not as chances of "
                  "being right.", ""]  # fmt: skip
    if under:  # a threshold on the probability (keep predictions above 0.8) would drop many right answers
        lines += [f"**Underconfident:** on the test split these models' top probability averages far less than their "
                  f"accuracy: {named(under)}. A threshold on their probabilities would discard many right answers.",
                  ""]  # fmt: skip
    return lines


def trivial_baseline_lines(summary: dict) -> list[str]:
    """Where the baseline of a k (`scratch`, or `source_only` at k = 0) does not beat always
    predicting the most frequent class: gains over it then say little about what transfer
    adds over a trivial rule."""
    rate = summary["target"].get("majority_rate")
    if rate is None:
        return []
    baselines = summary.get("baseline") or {}
    below: dict[str, list[str]] = {}
    for r in summary.get("results", []):
        if r.get("method") not in ("scratch", baselines.get(str(r["shots"]))):  # scratch, or the k's baseline
            continue
        if r.get("accuracy_mean") is not None and r["accuracy_mean"] <= rate:
            below.setdefault(r["method"], []).append(str(r["shots"]))
    lines = []
    rows = {(r["method"], str(r["shots"])): r for r in summary.get("results", [])}
    for base, ks in below.items():
        balanced = [rows[(base, k)].get("balanced_accuracies") for k in ks]
        present = sum(1 for n in (summary["target"].get("test_per_class") or {}).values() if n) or 1
        learned = all(balanced) and all(mean(b) > 1 / present + 0.05 for b in balanced)  # above the rule's 1/C
        if imbalanced(summary) and learned:  # the trivial rule's balanced accuracy is 1 / classes
            said = ", ".join(f"{100 * mean(b):.1f} %" for b in balanced)
            lines += [f"**`{base}`'s accuracy is no higher than always predicting the most frequent class "
                      f"({100 * rate:.1f} %) at k = {', '.join(ks)}.** On this imbalanced split that need not mean "
                      f"it learned nothing: its balanced accuracy is {said} there, against {100 / present:.1f} % for "
                      "that rule. Gains over it in accuracy partly reward predicting the large class more often; "
                      "compare the methods on balanced accuracy too.", ""]  # fmt: skip
            continue
        accs = [rows[(base, k)]["accuracy_mean"] for k in ks]
        counted = summary["target"].get("test_per_class") or {}
        if base == "source_only" and len(counted) >= 2 and max(accs) < 1 / present - 0.05:  # below chance: a mismatch
            said = ", ".join(f"{100 * v:.1f} %" for v in accs)
            lines += [f"**`{base}` scores {said} at k = {', '.join(ks)}, below even guessing uniformly "
                      f"({100 / present:.1f} %) and far below always predicting the most frequent class "
                      f"({100 * rate:.1f} %):** its head tells the classes apart but names them wrongly. Check that the "
                      "source's and the target's labels mean the same classes (shifted or permuted?).", ""]  # fmt: skip
            continue
        lines += [f"**`{base}` does not beat the most frequent class ({100 * rate:.1f} %) at k = {', '.join(ks)}:** "
                  "it scores no better than always predicting that class there, so gains over it overstate what "
                  "transfer adds over a trivial rule; compare the methods with that rate too.", ""]  # fmt: skip
    others: dict[str, list[str]] = {}  # the transfer methods at or below the rule too: named, not only the baseline
    learned_others: list[str] = []  # ... whose balanced accuracy, on an imbalanced split, is clearly above the rule's
    present = sum(1 for n in (summary["target"].get("test_per_class") or {}).values() if n) or 1
    for r in summary.get("results", []):
        if r.get("method") not in ("scratch", baselines.get(str(r["shots"]))) and r.get("accuracy_mean") is not None \
                and r["accuracy_mean"] <= rate:  # fmt: skip
            base = rows.get((baselines.get(str(r["shots"])), str(r["shots"])), {}).get("balanced_accuracies")
            if imbalanced(summary) and r.get("balanced_accuracies") and mean(r["balanced_accuracies"]) > 1 / present + 0.05 \
                    and not (base and mean(r["balanced_accuracies"]) < mean(base)):  # fmt: skip
                # (below its baseline in balanced accuracy too, it learned nothing accuracy hides: a trial's adabn, 56.5 %
                # and 83.2 % balanced beside source_only's 92.1 and 96.9 %, was said to have learned the smaller classes)
                learned_others.append(f"`{r['method']}` at k = {r['shots']} ({100 * mean(r['balanced_accuracies']):.1f} %)")
                continue  # (a trial's finetune at 91.7 % balanced was told a gain 'does not make them useful')
            others.setdefault(r["method"], []).append(str(r["shots"]))
    if learned_others:
        lines += [f"**No higher than always predicting the most frequent class ({100 * rate:.1f} %) in accuracy, but "
                  f"well above it in balanced accuracy:** {', '.join(learned_others)}, against {100 / present:.1f} % for "
                  "that rule: on this imbalanced split accuracy hides what they learned of the smaller classes.", ""]
    if others:
        named = "; ".join(f"`{m}` at k = {', '.join(ks)}" for m, ks in others.items())
        lead = "Also no higher" if below else "No higher"
        lines += [f"**{lead} than always predicting the most frequent class ({100 * rate:.1f} %):** {named}"
                  + ("; on this imbalanced split compare their balanced accuracy too." if imbalanced(summary) else
                     ".") + (" A gain over a baseline that scores lower still does not make them useful."
                             if below else ""), ""]  # fmt: skip
    return lines


def unchecked_reason(summary: dict) -> str:
    """Why no gain interval was computed, for a run where none was: no method besides the
    baseline, or what is missing of a baseline among the methods and 2 seeds."""
    rows = summary.get("results") or []
    baselines = {"scratch", *(b for b in (summary.get("baseline") or {}).values() if b)}
    if not any(r["method"] not in baselines for r in rows):
        return "every method here is the baseline itself; add a transfer method (e.g. finetune) to compare with it"
    needs = []
    if not any(r["method"] in baselines for r in rows):
        only_k0 = rows and all(str(r.get("shots", 1)) == "0" for r in rows)
        needs.append("source_only among the methods (scratch cannot run without target labels)" if only_k0
                     else "scratch among the methods (or source_only at k = 0)")  # fmt: skip
    if len(summary.get("seeds") or max((r.get("seeds") or [] for r in rows), key=len, default=[])) < 2:
        needs.append("at least 2 seeds, for an interval of the gain")
    return "that needs " + (" and ".join(needs) or "scratch (or source_only at k = 0) and at least 2 seeds")


def negative_transfer_lines(summary: dict) -> list[str]:
    """What the report says about negative transfer: found, possible, none among the checked,
    or unchecked; and where the baseline is not scratch although target labels were used."""
    lines = []
    no_scratch: dict = {}
    for k, b in (summary.get("baseline") or {}).items():
        if has_labels(k) and b != "scratch":
            no_scratch.setdefault(b, []).append(k)
    for base, ks in no_scratch.items():
        against = f"gains there are against `{base}`" if base else "no gain is computed there"
        lines += [f"**No `scratch` baseline at k = {', '.join(ks)}:** {against}, not against training from "
                  "scratch on the same labelled examples; add `scratch` to `methods` for that comparison.", ""]  # fmt: skip
    checked = summary.get("negative_transfer_checked", 1)
    if summary["negative_transfer"]:
        at_zero = all(re.search(r" at k=0( |$)", f) for f in summary["negative_transfer"])  # vs source_only there
        why = ("Adapting this way hurts here (the baseline at k = 0 is the source model as it is): prefer "
               "`source_only`" if at_zero else "Used this way, the source hurts here: prefer the baseline")
        lines.append("**Negative transfer detected:** " + ", ".join(summary["negative_transfer"]) +
                     f". {why} for these settings. A method not flagged is not thereby shown to help: only a gain "
                     "whose whole interval is above 0 is, and picking one by these test-split numbers makes its "
                     "row optimistic (compare methods on your own validation data).")  # fmt: skip
        if unused := unlabelled_reference_flagged(summary):
            lines.append(unlabelled_note(unused))
    elif not checked:
        return lines + [f"**Negative transfer was not checked:** {unchecked_reason(summary)}.", ""]
    else:
        lines.append(f"No negative transfer established (none of the {checked} gain CIs against the baseline lies "
                     "entirely below 0).")
    balanced_only = summary.get("negative_transfer_balanced") or []
    if balanced_only and imbalanced(summary):
        lines.append("**Negative transfer on balanced accuracy:** " + ", ".join(balanced_only) + ": the gain in "
                     "balanced accuracy (the mean of the per-class accuracies) lies entirely below 0 though the "
                     "accuracy gain does not. The source costs the smaller classes, which accuracy on this imbalanced "
                     "split hardly weighs (the balanced table below).")  # fmt: skip
    below = summary.get("below_source_only") or []
    if below:
        lines.append("**Below the source model as it is:** " + ", ".join(below) + " scored below `source_only` (its "
                     "gain over it, paired by seed, lies entirely below 0): adapting the source model to the target "
                     "(its labelled examples, and for adaptation methods its unlabelled ones) made it worse than not "
                     "adapting it. Scratch is the baseline above; this compares with the "
                     "unadapted source (see each row's `gain_vs_unadapted` in summary.json).")  # fmt: skip
    possible = summary.get("below_baseline_not_significant") or []
    if possible:
        lines.append("Below the baseline on average, but within the noise of this many seeds and test examples "
                     "(more seeds or a larger test split would tell): " + ", ".join(possible) + ".")
    if line := many_comparisons_line(summary):
        lines.append(line)
    return [*lines, ""]


def deploy_flag(summary: dict, deploy: dict) -> str:
    """`` — **flagged ...**: set `deploy:` ...`` when the run flagged the deployed method at its k
    (negative transfer, or below the unadapted source), else empty."""
    row = next((r for r in summary.get("results") or [] if r.get("method") == deploy["method"]
                and r.get("shots") == deploy["shots"]), {})  # fmt: skip
    flag = ("flagged as negative transfer in this run" if row.get("negative_transfer") else
            "below the source model as it is (`source_only`) in this run" if row.get("below_unadapted") else None)  # fmt: skip
    return f" — **{flag}**: set `deploy:` to another method, or predict with `--method`" if flag else ""


def many_comparisons_line(summary: dict) -> str | None:
    """With a flag raised among 10 or more gain intervals (against the baseline, in balanced
    accuracy where the report shows it, against the unadapted source): each is a 95 % interval
    on its own, so some would lie below 0 by chance alone. ``None`` when nothing was flagged or
    the intervals are few."""
    results = summary.get("results") or []
    shown_balanced = "target" in summary and imbalanced(summary)
    count = summary.get("negative_transfer_checked", 0)
    count += sum(bool(r.get("gain_vs_unadapted_ci95")) for r in results)
    count += sum(bool(r.get("balanced_gain_ci95")) for r in results) if shown_balanced else 0
    flagged = (summary.get("negative_transfer") or summary.get("below_source_only")
               or (shown_balanced and summary.get("negative_transfer_balanced")))  # fmt: skip
    if not flagged or count < 10:
        return None
    return (f"Each of the {count} gain intervals is a 95 % interval for its own comparison, not corrected for their "
            f"number: were every method truly level with what it is compared with, about {count / 40:.2g} of them "
            "would lie below 0 by chance (2.5 % each), so read a lone flag whose interval ends near 0 with care, "
            "and confirm it with more seeds.")  # fmt: skip


def skipped_line(skipped: list[dict]) -> str:
    """One entry per (method, k, reason), with the seeds it covers."""
    seeds: dict[tuple, list] = {}
    for s in skipped:
        seeds.setdefault((s["method"], s["shots"], s["reason"]), []).append(s.get("seed"))
    return "Skipped: " + "; ".join(f"{m} k={k} ({why}; seeds {', '.join(map(str, ss))})"
                                   for (m, k, why), ss in list(seeds.items())[:10])  # fmt: skip


def resolution_lines(pretrained: str | None, native: list[int] | None, shape: list[int] | None,
                     what: str = "this run") -> list[str]:  # fmt: skip
    """The report's line when a pretrained image encoder that learned at ``native`` (C, H, W) is fed
    images of another size (``shape``), else none: its numbers are then not the encoder's own."""
    if not native or not shape or len(shape) != 3 or list(shape[1:]) == list(native[1:]):
        return []
    name = f" `{pretrained}`" if pretrained else ""
    return [f"  - the pretrained{name} learned its weights at {native[1]}x{native[2]}; {what} feeds it "
            f"{shape[1]}x{shape[2]}, so its numbers are not what the encoder gives at its own resolution: say so "
            "when you report them (docs/pretrained.md)"]  # fmt: skip
