"""The few-shot run folder: summary.json, report.md, episodes.csv, plots; written atomically.

Accuracy of a (method, K): each episode's query accuracy is first averaged over the source
seeds (episode i is the same draw for every seed), then the mean and the 95 % interval
``t * std / sqrt(episodes)`` (Student's t) are taken over episodes. That interval reflects
episode sampling from the one set of novel-class examples only (another set of the same classes
moves the mean more than it shows when the classes hold few); ``seed_ci95`` (Student t over the per-seed means) shows how much the
source model's seed moves the result.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import yaml

from transferkit.atomic import atomic_folder, write_json, write_text
from transferkit.data.domain import SAMPLED
from transferkit.evaluate.stats import paired_gain as stats_paired_gain
from transferkit.fewshot.episodes import case_twins
from transferkit.fewshot.evaluate import confidence_interval, count_episodes
from transferkit.fewshot.experiment import FewShotRun
from transferkit.report.markdown import resolution_lines, sampled_line, wall_time_line
from transferkit.report.plots import plot_method, save_figure
from transferkit.report.recipe import describe_recipe
from transferkit.report.summary import package_versions
from transferkit.report.table import md_text, points
from transferkit.train.augment import augmenter


def results_rows(run: FewShotRun) -> list[dict]:
    """One row per (method, K), in the configured order of methods and K."""
    rows = []
    for method in dict.fromkeys(r.method for r in run.records):
        for k in run.config.fewshot.k_shot:
            recs = [r for r in run.records if r.method == method and r.k == k]
            if not recs:
                continue
            per_seed = [np.asarray(r.result.accuracies) for r in recs]
            n_ep = min(len(a) for a in per_seed)
            # Episode i is the same support/query draw for every source seed: average the seeds
            # per episode, then the interval over episodes (n = episodes, not episodes x seeds;
            # the spread between source seeds is `seed_ci95`).
            accs = np.mean([a[:n_ep] for a in per_seed], axis=0)
            step = 1.0 / (run.config.fewshot.n_way * run.config.fewshot.n_query)  # one query of an episode
            mean, half = confidence_interval(accs, std_floor=step)
            seed_means = {str(r.seed): r.result.mean for r in recs if r.seed is not None}
            seed_ci = seed_interval(list(seed_means.values()), step / n_ep)
            scratch = [r for r in run.records if r.method == "scratch" and r.k == k]
            gain, gain_ci = paired_gain(recs, scratch, step)
            rows.append({
                "method": method, "shots": k, "on_features": recs[0].on_features,
                "transductive": recs[0].transductive,
                "gain_vs_scratch": gain, "gain_ci95": gain_ci,
                "gain_episodes": None if gain is None else min(n_ep, len(scratch[0].result.accuracies)),
                "negative_transfer": None if gain_ci is None else bool(gain_ci[1] < 0),  # None: not checked
                "accuracy_mean": mean,
                "accuracy_ci95": None if np.isnan(half) else [max(0.0, mean - half), min(1.0, mean + half)],
                "ci95_half_width": None if np.isnan(half) else half,
                "episodes": n_ep, "evaluations": sum(len(a) for a in per_seed),
                "source_seeds": [r.seed for r in recs], "seed_means": seed_means, "seed_ci95": seed_ci,
                "seconds_per_evaluation": float(np.mean([r.result.seconds for r in recs])),
                "per_class_accuracy": class_accuracy(recs, run.data.target.classes),
                "choices": _choices(recs),  # auto: episodes per chosen method, over the source seeds
            })  # fmt: skip
    return rows


def seed_interval(means: list[float], step: float) -> list[float] | None:
    """95 % interval over the source seeds' mean accuracies (None for one seed), the std
    floored at ``step``, one query of a seed's episodes: two seeds that happen to tie are not
    an exact result (a new user read [52.3, 52.3])."""
    if len(means) < 2:
        return None
    mean, half = confidence_interval(np.asarray(means, dtype=np.float64), std_floor=step)
    return [max(0.0, mean - half), min(1.0, mean + half)]


def class_accuracy(records: list, classes: list[str]) -> dict[str, float | None] | None:
    """Each novel class's accuracy: its queries classified correctly over all its queries,
    in every episode it appeared in and for every source seed (None for a class never
    drawn); None when the records kept no per-class counts."""
    results = [r.result for r in records if r.result.class_total is not None]
    if not results:
        return None
    correct, total = np.zeros(len(classes)), np.zeros(len(classes))
    for res in results:  # class ids index `classes`, as in the episodes
        np.add.at(correct, res.class_ids, res.class_correct)
        np.add.at(total, res.class_ids, res.class_total)
    return {name: (float(correct[c] / total[c]) if total[c] else None) for c, name in enumerate(classes)}


def paired_gain(records: list, scratch: list, step: float) -> tuple[float | None, list[float] | None]:
    """Mean accuracy difference to ``scratch`` on the episodes both ran, and its 95 % CI.

    Episode ``i`` has the same support and query sets for every method and source seed,
    so the comparison is paired by episode: ``d_i = mean over seeds of acc_i - scratch acc_i``
    over the episodes scratch ran; Student's t on ``d``, its std floored at ``step`` (one
    query, ``1 / (n_way * n_query)``) as in the main protocol: a few episodes that happen to
    differ by the same amount must not make the gain "certain". Clipped to [-1, 1].
    """
    if not scratch or records[0].method == "scratch":
        return None, None
    base = scratch[0].result.accuracies
    n = min(len(base), *(len(r.result.accuracies) for r in records))
    mine = np.mean([r.result.accuracies[:n] for r in records], axis=0)
    g = stats_paired_gain(list(mine), list(base[:n]), resolution=step)
    mean = 0.0 if abs(g.mean) < 1e-12 else float(g.mean)  # equal accuracies, averaged: -1e-17 printed "-0.0" (a trial)
    if g.low is None or np.isnan(g.low):
        return mean, None
    return mean, [max(-1.0, float(g.low)), min(1.0, float(g.high))]


NOVEL_SAMPLE = "the episodes draw their support and query examples from that sample, not from the whole data set"


def build_summary(run: FewShotRun) -> dict:
    cfg, data, fs = run.config, run.data, run.config.fewshot
    return {
        "name": cfg.name,
        "kind": "fewshot",
        "source": {"data": cfg.source.data or cfg.source.pretrained or cfg.source.model,
                   **({"saved_model": run.saved_model} if run.saved_model else {}),
                   "pretrained": cfg.source.pretrained,  # the encoder's name, also beside source data
                   "pretrained_input_size": run.pretrained_input_size,  # e.g. [3, 224, 224]: what its weights learned at
                   "classes": data.source.classes if data.source else [],
                   "examples": len(data.source.y) if data.source else 0,
                   "augment": source_augment(cfg.source.augment, data, cfg.model.shared) if data.source else None,
                   "recipe": data.source_recipe.to_dict() if data.source_recipe is not None else None,
                   "input_shape": _image_shape(data.source),
                   "models": {str(s): v for s, v in run.sources.items()},
                   "sampled": data.source.meta.get(SAMPLED) if data.source else None},  # max_per_class, else None
        "target": {"data": cfg.target.data, "classes": data.target.classes, "examples": len(data.target.y),
                   "cross_domain": fs.cross_domain, "recipe": data.target_recipe.to_dict(),
                   "input_shape": _image_shape(data.target), "sampled": data.target.meta.get(SAMPLED)},
        "protocol": {"n_way": fs.n_way, "k_shot": fs.k_shot, "n_query": fs.n_query, "episodes": fs.episodes,
                     "train_episodes": fs.train_episodes, "episode_seed": fs.episode_seed,
                     "feature_blocks": fs.blocks or "all"},
        "seeds": [int(k) for k in run.sources] or cfg.seeds,  # those that ran (a pretrained source as it is: one)
        "features": {str(s): v for s, v in run.features.items()},
        "results": results_rows(run),
        "skipped": run.skipped,
        "notes": run.notes,
        "wall_time_s": run.wall_time_s,
        "versions": package_versions(),
    }  # fmt: skip


def _image_shape(domain) -> list[int] | None:
    """A domain's own (C, H, W) if it holds images (for "resized from HxW"), else None."""
    return list(domain.input_shape) if getattr(domain, "is_image", False) else None


def _inputs(part: dict, source_scale: bool = False, owner: str = "the source's", series: bool = False) -> str:
    """How a part's raw inputs became model inputs, or "" (older summaries lack the recipe)."""
    if not part.get("recipe"):
        return ""
    return describe_recipe(part["recipe"], source_scale=source_scale, native=part.get("input_shape"), owner=owner,
                           series=series)


def _cell(row: dict | None, scratch: dict | None = None) -> str:
    if row is None:
        return "—"
    half, lo_hi = row["ci95_half_width"], row.get("accuracy_ci95")
    ci = f" ± {100 * half:.1f}" if half is not None else ""
    mean = row["accuracy_mean"]
    if half is not None and lo_hi and (mean - half < 0 or mean + half > 1):  # clipped: ± would leave [0, 100]
        ci = f" [{100 * lo_hi[0]:.1f}, {100 * lo_hi[1]:.1f}]"
    gain = ""
    if row.get("gain_vs_scratch") is not None:  # paired over the episodes scratch also ran
        flag = " **negative**" if row["negative_transfer"] else ""
        lo_hi = row.get("gain_ci95")
        interval = f" [{points(lo_hi[0], '+')}, {points(lo_hi[1], '+')}]" if lo_hi else ""
        over = f" over {count_episodes(row['gain_episodes'])}" if row.get("gain_episodes") is not None else ""
        there = ""
        if scratch is not None and scratch.get("episodes") == row.get("gain_episodes") != row["episodes"]:
            # the gain's own two means: this method on scratch's episodes is not its mean over all of its own
            here = scratch["accuracy_mean"] + row["gain_vs_scratch"]
            there = f": {100 * here:.1f} vs {100 * scratch['accuracy_mean']:.1f} on those"
        gain = f"; {100 * row['gain_vs_scratch']:+.1f}{interval} vs scratch{over}{there}{flag}"
    return f"{100 * row['accuracy_mean']:.1f}{ci} ({count_episodes(row['episodes'])}{gain})"


def markdown_table(summary: dict) -> str:
    """Methods down, K across: mean accuracy % ± 95 % half-width (episodes)."""
    ks = summary["protocol"]["k_shot"]
    n = summary["protocol"]["n_way"]
    lines = ["| method | " + " | ".join(f"{n}-way {k}-shot" for k in ks) + " |", "|---" * (len(ks) + 1) + "|"]
    transductive = {r["method"] for r in summary["results"] if r.get("transductive")}
    scratch = {r["shots"]: r for r in summary["results"] if r["method"] == "scratch"}
    for method in dict.fromkeys(r["method"] for r in summary["results"]):
        cells = [
            _cell(next((r for r in summary["results"] if r["method"] == method and r["shots"] == k), None),
                  scratch.get(k))
            for k in ks
        ]  # fmt: skip
        lines.append(f"| {method}{' †' if method in transductive else ''} | " + " | ".join(cells) + " |")
    if transductive:
        lines += ["", "† transductive (" + ", ".join(f"`{m}`" for m in sorted(transductive)) + "): predicts each "
                      "episode's queries together, using them as unlabelled examples "
                      "(balanced: the same number per class), a different setting from classifying one query at a time."]  # fmt: skip
    return "\n".join(lines)


def _saved_line(saved: dict, tgt: dict) -> str:
    """The report's source line for ``source.model``: which model, and what the novelty check could see."""
    run = f" of the run `{saved['run']}`" if saved.get("run") else ""
    checked = ("not checked: `cross_domain` says the target is another data set of the same classes"
               if tgt.get("cross_domain") else f"checked by name against the {len(saved['classes'])} it records "
               f"training on, {md_text(saved['classes'])}" + (f" (**not** against {saved['unchecked']})"
                                                              if saved.get("unchecked") else ""))  # fmt: skip
    arch = saved.get("architecture")
    if arch == "pretrained" and saved.get("pretrained"):
        arch = f"on the pretrained `{saved['pretrained']}`"
    return (f"- **Source**: the saved model `{saved['path']}`{run} ({arch}), used as it is, with "
            f"no source data: novel classes {checked}; copies (exact and near) of its training examples looked for in: "
            f"{md_text(saved.get('copies_checked_against') or 'none (could not be looked for)')}; the methods on its "
            "cached features centre them on each episode's support mean (no source examples for the base mean)")


def _state(source_model: dict) -> str:
    return "cached" if source_model["cached"] else f"trained in {source_model['seconds']:.1f} s"


def _source_line(seed: str, m: dict, saved: bool = False) -> str:
    """A source model's line: its validation accuracy, or that it is pretrained weights (or a saved model) as they
    are."""
    val = m.get("val_accuracy")
    if m.get("trained") is False:  # scratch alone: only the source's input normalisation was taken
        line = f"  - source model, seed {seed}: not trained (no listed method uses it; scratch takes its input normalisation)"
    elif val is None or val != val:  # NaN: no source data, nothing trained or validated
        what = "the saved model as it is" if saved else "pretrained weights as they are"
        line = f"  - source model, seed {seed}: {what} (no source data to validate on)"
    else:
        line = f"  - source model, seed {seed}: validation accuracy {100 * val:.1f} % ({_state(m)})"
    return line + (f"\n    - **Warning:** {m['warning']}" if m.get("warning") else "")


def source_augment(augment: bool | str, data, architecture: str = "auto") -> str:
    """What ``source.augment`` did to the source's training batches: ``affine``, ``shift`` or
    ``none`` (also where it was asked for but there is nothing to move: vectors, images under
    14 px, series read by the shared layers ``architecture``)."""
    shape = getattr(data.source_recipe, "shape", None)  # a text source's recipe has none: texts are not moved
    if shape is None or augmenter(augment, tuple(shape), architecture) is None:
        return "none"
    return "affine" if augment == "affine" else "shift"


def _augment_words(augment: str | None) -> str:
    """How the source's images were augmented in training, for the report."""
    words = {"affine": "random shifts, rotations and scaling", "shift": "random shifts",
             "none": "no augmentation (vectors, small images, series read by the cnn1d or `source.augment: false`)"}  # fmt: skip
    return f"; trained with {words[augment]} (`source.augment`)" if augment in words else ""


def _of_novel(note: str, summary: dict) -> bool:
    """Whether a note is about the novel classes' data (it names their file or folder, or them)
    rather than the source's: said under their line, not the source's."""
    data = str(summary["target"]["data"])
    return data in note or "novel class" in note or "novel-class" in note


def render_report(summary: dict, plots: dict[str, str]) -> str:
    src, tgt, p = summary["source"], summary["target"], summary["protocol"]
    owner = "the saved model's" if src.get("saved_model") else "the source's"
    novel_inputs = _inputs(tgt, source_scale=bool(src["classes"] or src.get("saved_model")), owner=owner,
                           series=(src.get("saved_model") or {}).get("architecture") == "cnn1d")  # fmt: skip
    lines = [
        f"# transferkit few-shot run: {summary['name']}", "",
        (f"- **Source** (base classes): `{src['data']}` — {src['examples']} examples, classes {md_text(src['classes'])}"
         f"{_augment_words(src.get('augment'))}" if src["classes"] else _saved_line(src["saved_model"], tgt)
         if src.get("saved_model") else f"- **Source**: `{src['data']}`, pretrained weights only (no source data, so "
         "the novelty of the target classes was not checked)"),
        *([f"  - inputs: {_inputs(src)}"] if _inputs(src) else []),
        *(_source_line(s, m, bool(src.get("saved_model"))) for s, m in src["models"].items()),
        *(f"  - {line}" for line in [sampled_line("source", src)] if line),
        *(f"  - **Warning:** {note}" for note in summary.get("notes") or [] if not _of_novel(note, summary)),
        f"- **Novel classes**: `{tgt['data']}` — {tgt['examples']} examples, classes {md_text(tgt['classes'])}"
        + (" (cross-domain: another data set; class names may repeat the source's)" if tgt["cross_domain"] else "")
        + (f"; inputs: {novel_inputs}" if novel_inputs else ""),
        *resolution_lines(src.get("pretrained") if not src.get("saved_model") else src["saved_model"].get("pretrained"),
                          src.get("pretrained_input_size"), (tgt.get("recipe") or {}).get("shape"), "this few-shot run"),
        *(f"  - {line}" for line in [sampled_line("target", tgt, NOVEL_SAMPLE)] if line),
        *(f"  - **Warning:** {note}" for note in summary.get("notes") or [] if _of_novel(note, summary)),
        f"- **Episodes**: {p['n_way']}-way, K in {p['k_shot']}, {p['n_query']} queries per class; "
        f"{_episode_counts(summary)}; features from shared blocks: {p['feature_blocks']}"
        + (" (for the methods on cached features; those that train a network per episode read all its blocks)"
           if p["feature_blocks"] != "all" and any(not r["on_features"] and r["method"] != "scratch"
                                                   for r in summary["results"]) else ""),
        wall_time_line(summary, "plots"), "",
        "## Few-shot accuracy vs K", "",
        "Query accuracy, mean over all episodes and source seeds ± the 95 % interval "
        "`t·std/√episodes` (Student's t; 1.96 for many episodes; episodes in brackets). That interval "
        f"covers which of these {summary['target']['examples']} novel-class examples each episode draws, not how "
        "much another set of examples of the same classes would move the mean (more than the interval shows when "
        "the classes hold few), nor the source model's seed"
        + (": see the seed means below. " if seed_lines(summary["results"]) else " (one source seed ran). ")
        + "Every method sees the same support and query sets"
        + ("; methods that train per episode are measured on fewer episodes, so their intervals are wider. "
           if any(not r["on_features"] for r in summary["results"]) else ". ")
        + ("Gain vs scratch is paired by episode, on the episodes scratch ran; **negative** marks a gain "
           "whose whole 95 % interval is below 0 (the source hurts"
           + ("; with one source seed, this one training of the source does: another may differ, and more "
              "`seeds` would show by how much)." if src["classes"] and len(src["models"]) == 1 else ").")
           if any(r["method"] == "scratch" for r in summary["results"]) else ""),
        "", markdown_table(summary), "",
    ]  # fmt: skip
    twins = twin_warnings(summary)
    lines += [f"**Warning:** {w}" for w in twins] + ([""] if twins else [])
    lines += seed_lines(summary["results"])
    lines += choice_lines(summary)
    lines += class_lines(summary)
    if not any(r["method"] == "scratch" for r in summary["results"]):
        lines += ["**Negative transfer was not checked:** that needs `scratch` among `fewshot.methods`, the "
                  "baseline the gains are paired with.", ""]  # fmt: skip
    on_features = [r for r in summary["results"] if r["on_features"]]
    flagged = [r for r in on_features if r.get("negative_transfer")]
    losing = sorted({r["shots"] for r in flagged  # the features lose where every method on them does (a review)
                     if all(o.get("negative_transfer") for o in on_features if o["shots"] == r["shots"])})  # fmt: skip
    alone = sorted(f"`{r['method']}` at K = {r['shots']}" for r in flagged if r["shots"] not in losing)
    if alone:  # others on the same features are not below scratch there: the method loses, not the features
        lines += [f"**Some methods on the source's features lose to scratch:** {', '.join(alone)}. Other methods on "
                  "the same features are not below scratch at that K, so the features are not what loses there.", ""]
    if losing:
        every = sorted({r["shots"] for r in summary["results"]})
        where = ("" if losing == every else f" at K = {', '.join(map(str, losing))} (the methods on frozen features: "
                 "not at the other K)")  # fmt: skip
        blocks = (summary.get("protocol") or {}).get("feature_blocks", "all")
        why = ("Its last shared blocks may discard what tells these classes apart: `fewshot.blocks` reads earlier "
               "features, and a broader source" if blocks == "all" else
               f"The features of its first {blocks} shared block(s) (`fewshot.blocks: {blocks}`) do not tell these "
               "classes apart well enough: other blocks, or a broader source")  # fmt: skip
        lines += [f"**The source's features lose to scratch here{where}.** {why} (e.g. a pretrained model) may know "
                  "more of them (docs/fewshot.md). Judge such a change on other episodes or classes than these, or "
                  "this comparison stops being a fair test.", ""]  # fmt: skip
    trained = sorted({f"`{r['method']}` at K = {r['shots']}" for r in summary["results"]
                      if not r["on_features"] and r.get("negative_transfer")})  # fmt: skip
    if trained:  # methods that train per episode: said apart, so the sentence above does not read as all-clear
        lines += [f"**Methods that train per episode also lose to scratch:** {', '.join(trained)}.", ""]
    if line := many_gains_line(summary):
        lines += [line, ""]
    if summary["skipped"]:
        lines += ["Skipped: " + "; ".join(f"{s['method']} K={s['k']} ({s['reason']})" for s in summary["skipped"]), ""]
    for title, rel in plots.items():
        lines += [f"## {title}", "", f"![{title}]({rel})", ""]
    return "\n".join(lines)


def many_gains_line(summary: dict) -> str | None:
    """With a gain flagged among 10 or more gain intervals, that each is a 95 % interval on its
    own (as the run's report says, report/markdown.py ``many_comparisons_line``); else None."""
    count = sum(r.get("gain_ci95") is not None for r in summary["results"])
    if count < 10 or not any(r.get("negative_transfer") for r in summary["results"]):
        return None
    return (f"Each of the {count} gain intervals is a 95 % interval for its own comparison, not corrected for their "
            f"number: were every method truly level with scratch, about {count / 40:.2g} of them would lie below 0 "
            "by chance (2.5 % each), so read a lone flag whose interval ends near 0 with care.")  # fmt: skip


def _choices(recs) -> dict[str, int] | None:
    out: dict[str, int] = {}
    for r in recs:
        for name, n in (r.result.choices or {}).items():
            out[name] = out.get(name, 0) + n
    return out or None


def twin_warnings(summary: dict, markdown: bool = True) -> list[str]:
    """What a novel class named like a source class (but for case, punctuation or a plural 's') does to the numbers above
    (said next to them: the note under the source is easy to miss). ``markdown``: names escaped for the report (the
    console shows them as they are)."""
    shown = md_text if markdown else str
    if summary["target"].get("cross_domain"):
        return []  # the target repeats the source's classes on purpose
    seen = summary["source"]["classes"] or (summary["source"].get("saved_model") or {}).get("classes") or []
    twins = [(shown(repr(c)), shown(repr(twin))) for c, twin in case_twins(summary["target"]["classes"], seen)]
    if not twins:
        return []
    if len(twins) == len(summary["target"]["classes"]):  # every novel class: leaving them out leaves nothing
        names = ", ".join(c for c, _ in twins[:5]) + (", ..." if len(twins) > 5 else "")
        return [f"every novel class ({names}) has a source class of the same name but for case, punctuation or a "
                "plural 's': if those are the same classes, none is novel and the means above are not few-shot "
                "accuracies; if they are different classes (letters 'a' and 'A'), the numbers stand as they are."]
    table = len(summary["target"]["classes"]) <= 20  # class_lines tables up to 20 classes
    where = " (its column in the per-class table)" if table else ""
    wheres = " (their columns in the per-class table)" if table else ""
    if len(twins) == 1:  # (names as Markdown shows them: 'T*s*' stays as written)
        (c, twin), = twins
        return [f"novel class {c} may be the source class {twin} (the same name but for case, punctuation or a plural 's'): if it is, it is not "
                f"novel, and its accuracy{where} raises every mean above; leave it out "
                "(`target.classes`) to measure the others."]  # fmt: skip
    names = ", ".join(c for c, _ in twins[:5]) + (", ..." if len(twins) > 5 else "")
    return [f"{len(twins)} novel classes ({names}) may be source classes (the same names but for case, punctuation or a plural 's'): if they are, "
            f"they are not novel, and their accuracy{wheres} raises every mean above; "
            "leave them out (`target.classes`) to measure the others."]  # fmt: skip


def choice_lines(summary: dict) -> list[str]:
    """What ``auto`` chose, per K: it is not one method, so its row means little without this."""
    lines = []
    for r in summary["results"]:
        if r.get("choices"):
            total = sum(r["choices"].values())
            said = ", ".join(f"`{m}` in {n}" for m, n in sorted(r["choices"].items(), key=lambda kv: -kv[1]))
            lines.append(f"- `{r['method']}`, K = {r['shots']}: chose {said} of {total} episode fits")
    if any("scratch" in (r.get("choices") or {}) for r in summary["results"]) and len(summary.get("seeds") or []) > 1:
        lines.append("- where it chose `scratch`, it trained it once per source seed, each with that seed's episode "
                     "seeds, while the `scratch` row trains once (the first source seed's): the two differ by training noise, "
                     "not by method.")  # fmt: skip
    return ["What `auto` chose (docs/auto.md):", "", *lines, ""] if lines else []


def class_lines(summary: dict, max_classes: int = 20) -> list[str]:
    """Accuracy per novel class at each K, methods down, classes across: which classes the
    overall accuracy hides (e.g. look-alike classes a source never taught apart)."""
    classes = summary["target"].get("classes") or []
    if not classes or (len(classes) > max_classes and not any(r.get("per_class_accuracy") for r in summary["results"])):
        return []
    if len(classes) > max_classes and any(r.get("per_class_accuracy") for r in summary["results"]):  # said, not dropped
        return [f"Accuracy per novel class: not tabled for {len(classes)} classes (up to {max_classes} are); "
                "summary.json holds it (`results[].per_class_accuracy`).", ""]
    out = []
    for k in summary["protocol"]["k_shot"]:
        rows = [r for r in summary["results"] if r["shots"] == k and r.get("per_class_accuracy")]
        if not rows:
            continue
        every = summary["protocol"].get("episodes", 0)
        fewer = [r for r in rows if r.get("episodes", every) < every]  # methods that train a network per episode
        which = (f"; {', '.join(r['method'] for r in fewer)} over the first {count_episodes(fewer[0]['episodes'])} only, "
                 f"so {'its column is' if len(fewer) == 1 else 'their columns are'} noisier" if fewer else "")  # fmt: skip
        out += [f"**Accuracy per novel class, K = {k}** (%: a class's queries classified correctly, over "
                f"every episode that drew it and every source seed{which}):", "",
                "| method | " + " | ".join(map(md_text, classes)) + " |", "|---" * (len(classes) + 1) + "|"]  # fmt: skip
        for r in rows:
            acc = r["per_class_accuracy"]
            cells = ["—" if acc.get(c) is None else f"{100 * acc[c]:.1f}" for c in classes]
            out.append(f"| {r['method']} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def _episode_counts(summary: dict) -> str:
    """How many episodes each kind of method ran, naming only the kinds that did."""
    p, rows = summary["protocol"], summary["results"]
    parts = []
    if any(r["on_features"] for r in rows):
        parts.append(f"{p['episodes']} episodes for methods on cached features")
    if any(not r["on_features"] for r in rows):
        n = min(p["train_episodes"], p["episodes"])
        parts.append(f"the first {n} of them for methods that train a network per episode" if parts
                     else f"the first {n} of {p['episodes']} episodes for methods that train a network per episode")  # fmt: skip
    return "; ".join(parts)


def seed_lines(rows: list[dict]) -> list[str]:
    """How much the source model's seed moves each result: the per-seed means, and the
    Student-t interval over them, which the episode interval above leaves out."""
    out = []
    for r in rows:
        means = r.get("seed_means") or {}
        if len(means) < 2:
            continue
        per_seed = " / ".join(f"{100 * v:.1f}" for v in means.values())
        ci = r.get("seed_ci95")
        interval = f"; 95 % interval over seeds [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
        if len(set(means.values())) == 1:  # an exact tie measures no spread, however narrow the interval
            interval += f" (the {len(means)} seeds tie to the query, so their spread is not measured: run more seeds)"
        out.append(f"- {r['method']}, K = {r['shots']}: source seeds {', '.join(means)} give {per_seed}{interval}")
    if not out:
        return []
    return ["**Source seeds** (each seed's mean over the same episodes):", "", *out, ""]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy_vs_k(summary: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(r["method"] for r in summary["results"]):
        plot_method(ax, [r for r in summary["results"] if r["method"] == method], method)
    chance = 100 / summary["protocol"]["n_way"]  # anchors the axis: a 3-point gap is not drawn as a chasm
    ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label=f"chance ({chance:.0f} %)")
    ax.set_ylim(max(0.0, min(chance, ax.get_ylim()[0]) - 5), 101)
    ax.set_xticks(sorted(summary["protocol"]["k_shot"]))  # only the K that ran (no K = 1.5)
    ax.set_xlabel("support examples per class (K)")
    ax.set_ylabel("query accuracy (%)")
    ax.set_title(f"{summary['protocol']['n_way']}-way few-shot accuracy (mean, 95% CI over episodes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=110)


EXAMPLE_ROWS = 10  # classes drawn in the example episode (a trial's 50-way episode was a 7,250 px tall picture)


def plot_example(run: FewShotRun, path: Path, queries_per_class: int = 3) -> None:
    """Support images (one row per class, the first ``EXAMPLE_ROWS``) and a few queries with the predicted class."""
    plt = _plt()
    ex, x, names = run.example, run.data.xt, run.data.target.classes
    n_way, k = len(ex["classes"]), ex["k"]
    cols = k + queries_per_class
    rows = min(n_way, EXAMPLE_ROWS)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + 0.6, 1.45 * rows), squeeze=False)
    query = np.asarray(ex["query_idx"]).reshape(n_way, -1)
    pred = np.asarray(ex["pred"]).reshape(n_way, -1)
    support = np.asarray(ex["support_idx"]).reshape(n_way, k)
    for c in range(rows):
        for j in range(cols):
            ax = axes[c][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < k:
                idx, title, color = support[c, j], f"support: {names[ex['classes'][c]]}", "black"
            elif j - k < query.shape[1]:
                idx, p = query[c, j - k], pred[c, j - k]
                title, color = f"→ {names[ex['classes'][p]]}", "green" if p == c else "red"
            else:
                ax.axis("off")
                continue
            img = x[idx].detach().cpu().float().numpy()
            ax.imshow(img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1).clip(0, 1), cmap="gray")
            ax.set_title(title[:22], fontsize=7, color=color)
    shown = f"; {rows} of its {n_way} classes shown" if rows < n_way else ""
    fig.suptitle(f"{n_way}-way {k}-shot episode: {ex['method']} (green: correct, red: wrong){shown}", fontsize=9)
    save_figure(fig, path)


def config_text(cfg, summary: dict) -> str:
    """config.yaml's text: :func:`rerunnable_config`, with a comment on ``source.augment`` when it asked
    for augmentation that had nothing to move (a trial read `augment: affine` beside a report of none)."""
    text = yaml.safe_dump(rerunnable_config(cfg), sort_keys=False)
    asked = cfg.source.augment if cfg.source.model is None else False
    if asked and summary["source"].get("augment") == "none":
        text = text.replace(f"\n  augment: {asked if isinstance(asked, str) else 'true'}\n",
                            f"\n  augment: {asked if isinstance(asked, str) else 'true'}  # as asked; nothing was moved "
                            "(vectors, small images, series read by the cnn1d): the source trained without it\n", 1)
    return text


def rerunnable_config(cfg) -> dict:
    """The run's settings, resolved, as a file ``transferkit fewshot`` takes again: with a saved model as the
    source, the source and model fields it refuses beside ``model`` (defaults all) are left out, and the default
    ``train_episodes`` is left to be capped at whatever ``episodes`` a later ``--set`` gives."""
    d = cfg.model_dump(mode="json")
    if cfg.source.model is not None:
        d["source"] = {"model": d["source"]["model"]}
        given = cfg.model.model_dump(mode="json", exclude_unset=True)
        if given:
            d["model"] = given
        else:
            d.pop("model", None)
    if "seeds" not in cfg.model_fields_set:  # the default, not asked for: not asked for when run again either
        d.pop("seeds", None)
    if "train_episodes" not in cfg.fewshot.model_fields_set:
        d["fewshot"].pop("train_episodes", None)
    return d


def episodes_csv(run: FewShotRun) -> str:
    """One row per (method, K, source seed, episode) with that episode's query accuracy, from which
    every interval of summary.json can be recomputed: the seeds averaged per episode, then a t interval
    over episodes; a gain, the per-episode difference to scratch on the episodes both ran. Episode i is
    the same support and query draw for every method and seed at one K."""
    import csv
    import io

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")  # a method's label may hold a comma: quoted then
    out.writerow(["method", "shots", "source_seed", "episode", "accuracy"])
    for r in run.records:
        seed = "" if r.seed is None else r.seed
        out.writerows([r.method, r.k, seed, i, f"{float(a):.6f}"] for i, a in enumerate(r.result.accuracies))
    return buf.getvalue()


def write_fewshot_folder(run: FewShotRun, out: str | Path) -> dict:
    """Builds the run folder under a hidden temporary name, renamed into place when complete."""
    start = time.perf_counter()  # writing the folder counts in the run's wall time, as for `run`
    with atomic_folder(out) as tmp:
        summary = build_summary(run)
        write_text(tmp / "config.yaml", config_text(run.config, summary))
        write_text(tmp / "episodes.csv", episodes_csv(run))
        plots = {"Accuracy vs K": "plots/accuracy_vs_k.png"}
        plot_accuracy_vs_k(summary, tmp / plots["Accuracy vs K"])
        if run.example is not None and run.data.xt.ndim == 4:
            plots["Example episode"] = "plots/example_episode.png"
            plot_example(run, tmp / plots["Example episode"])
        summary["report_seconds"] = time.perf_counter() - start
        summary["evaluation_seconds"] = run.wall_time_s
        summary["wall_time_s"] = run.wall_time_s + summary["report_seconds"]
        write_text(tmp / "report.md", render_report(summary, plots))
        write_json(tmp / "summary.json", summary)  # last: its presence marks a complete run
    return summary
