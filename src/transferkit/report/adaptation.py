"""The domain-adaptation part of a run's report.

For runs of DA methods (those that record a label-free checkpoint selection) it adds:

* **target accuracy over training**: target *test* accuracy at every checkpoint, recorded
  by the protocol's monitor for this plot only (methods never see it);
* **oracle column**: the best of those checkpoints, clearly named as an oracle: it
  peeks at target test labels and is never the headline number;
* **proxy A-distance** before (source model) and after adaptation (Ben-David et al., "Analysis
  of Representations for Domain Adaptation", NeurIPS 2007; "A theory of learning from
  different domains", Machine Learning 2010)::

      PAD = 2 (1 - 2 err)

  with ``err`` the 5-fold cross-validated error of a domain classifier on shared-layer
  features of held-out source examples vs target test examples: 2 means the domains are
  perfectly separable, 0 that the classifier cannot tell them apart. Two classifiers: a
  linear one (logistic regression, the usual choice) and 5-nearest-neighbours. With
  domain-specific BatchNorm the features of each domain are normalised on that domain's
  own statistics, so their means match by construction and the linear PAD drops to ~0
  whether or not the domains still differ; the k-NN PAD also sees differences in spread and
  shape, so the report gives both;
* **t-SNE** (van der Maaten & Hinton, JMLR 2008; scikit-learn) of the same features before
  and after adaptation, coloured by domain and by class.

Features are what the model computes for each domain: the source model as it is, and an
adapted model with domain-specific BatchNorm statistics (``config["adaptation"]["bn"] ==
"domain"``) normalises source inputs with statistics re-estimated on source inputs.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from transferkit.devices import device_of
from transferkit.models.transfer_model import BN_TYPES
from transferkit.report.plots import _plt, plot_panels, save_figure
from transferkit.shots import shots_order

N_PER_DOMAIN = 400  # examples per domain for PAD and t-SNE: seconds, not minutes
PAD_FEW = 50  # fewer examples on one side: the report says the distances are rough


@torch.no_grad()
def domain_features(model, x: torch.Tensor, restat: bool = False, batch_size: int = 512) -> np.ndarray:
    """Shared-layer features (N, D), computed where ``model`` is (``x`` may be elsewhere);
    ``restat`` re-estimates BatchNorm statistics on ``x`` first."""
    x = x.to(device_of(model))
    if restat:
        model = model.copy()
        for m in model.modules():
            if isinstance(m, BN_TYPES):
                m.reset_running_stats()
                m.momentum = None  # cumulative average
        model.train()
        for i in range(0, len(x), batch_size):
            model.features(x[i : i + batch_size])
    model.eval()
    return torch.cat([model.features(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).cpu().numpy()


def proxy_a_distance(
    f_source: np.ndarray, f_target: np.ndarray, seed: int = 0, classifier: str = "linear"
) -> float | None:
    """``2 (1 - 2 err)`` in [0, 2], err: 5-fold CV *balanced* error of a source-vs-target
    classifier (``linear``: logistic regression; ``knn``: 5 nearest neighbours), capped at
    chance (0.5). None when the sets are too small to cross-validate (under 2 rows each).

    Balanced, because the two sets need not be the same size (a small target's test part):
    with plain error a classifier that always says "source" would already score below 0.5
    and show a distance between identical domains. A nearest-neighbour vote leans towards
    the larger set whatever the scoring, so for ``knn`` the larger set is first subsampled
    (seeded) to the size of the smaller. Capped, because an error above chance is noise,
    and ``2 (1 - 2 err)`` would turn it into a negative distance.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if classifier not in ("linear", "knn"):
        raise ValueError(f"classifier={classifier!r}: use 'linear' or 'knn'")
    n = min(len(f_source), len(f_target))
    if n < 2:
        return None
    if classifier == "knn":
        rng = np.random.default_rng(seed)
        f_source, f_target = (f if len(f) == n else f[np.sort(rng.permutation(len(f))[:n])] for f in (f_source, f_target))
    x = np.concatenate([f_source, f_target])
    d = np.concatenate([np.zeros(len(f_source)), np.ones(len(f_target))])
    folds = min(5, n)
    per_domain = n - -(-n // folds)  # rows of each domain a fold's classifier is fitted on (at least)
    k = min(5, per_domain) - (min(5, per_domain) % 2 == 0)  # odd, and no more than one domain holds: no tied votes
    model = LogisticRegression(C=1.0, max_iter=1000) if classifier == "linear" else KNeighborsClassifier(k)
    clf = make_pipeline(StandardScaler(), model)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = cross_val_score(clf, x, d, cv=cv, scoring="balanced_accuracy", error_score="raise")
    err = min(0.5, 1.0 - float(scores.mean()))
    return float(2.0 * (1.0 - 2.0 * err))


def _sample(n: int, k: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[: min(n, k)])


def adaptation_report(result, out_dir: Path) -> tuple[dict | None, dict[str, str]]:
    """Returns (summary section, {plot title: relative path}); (None, {}) without DA runs."""
    if not result.selections:
        return None, {}
    data, seed0 = result.data, result.config.seeds[0]
    curves = defaultdict(list)
    for c in result.target_curves:
        curves[(c["method"], c["shots"], c["seed"])].append((c["step"], c["accuracy"]))
    runs = []
    for s in result.selections:
        key = (s["method"], s["shots"], s["seed"])
        record = next(r for r in result.records if (r.method, r.shots, r.seed) == key)
        candidates = {step for step, _ in s["history"]}  # the oracle picks among the same checkpoints
        points = [sa for sa in curves[key] if sa[0] in candidates]
        oracle = max(points, key=lambda sa: sa[1]) if points else (None, None)
        runs.append({"method": s["method"], "shots": s["shots"], "seed": s["seed"], "criterion": s["criterion"],
                     "selected_step": s["best_step"], "accuracy_selected": record.accuracy,
                     "oracle_step": oracle[0], "oracle_accuracy": oracle[1],
                     "scores": [[int(step), float(score)] for step, score in s["history"]]})  # fmt: skip
    section = {
        "runs": runs,
        "proxy_a_distance": [],
        "note": "oracle_* peek at target test labels: reported, never selected on",
    }
    plots = {"Target accuracy over training (DA)": "plots/da_target_accuracy.png"}
    _plot_curves(curves, seed0, out_dir / plots["Target accuracy over training (DA)"])

    source = result.source_models.get(seed0)
    models = {(r.method, r.shots): r.model for r in result.records if r.seed == seed0 and r.model is not None}
    da_models = {key: m for key, m in models.items() if "adaptation" in m.config}
    if source is None or not da_models or data.xs is None:
        return section, plots
    from transferkit.train.source import source_val_split

    _, val = source_val_split(data.source.y, seed=seed0)
    i_s = val[_sample(len(val), N_PER_DOMAIN, 0)]
    i_t = data.split.test_idx[_sample(len(data.split.test_idx), N_PER_DOMAIN, 1)]
    xs, xt = data.xs[i_s], data.xt[i_t]  # each model reads them on its own device (domain_features)
    labels = np.concatenate([data.ys[i_s].cpu().numpy(), data.yt[i_t].cpu().numpy()])
    section["pad_rows"] = {"source": int(len(i_s)), "target": int(len(i_t))}  # held-out source, target test
    before = (domain_features(source, xs), domain_features(source, xt))
    pad_before = {kind: proxy_a_distance(*before, classifier=kind) for kind in ("linear", "knn")}
    embeddings = {"before adaptation (source model)": before}
    for (method, k), model in sorted(da_models.items(), key=lambda kv: (kv[0][0], shots_order(kv[0][1]))):  # not moved: .to() would move the run's kept model
        after = (domain_features(model, xs, restat=model.config["adaptation"].get("bn") == "domain"),
                 domain_features(model, xt))  # fmt: skip
        domain_bn = model.config["adaptation"].get("bn") == "domain"
        section["proxy_a_distance"].append({
            "method": method, "shots": k, "seed": seed0, "domain_bn": domain_bn,
            "before": pad_before["linear"], "after": proxy_a_distance(*after),
            "before_knn": pad_before["knn"], "after_knn": proxy_a_distance(*after, classifier="knn"),
        })  # fmt: skip
        if k == min((kk for (m, kk) in da_models if m == method), key=shots_order):
            embeddings[f"after {method} (k={k})"] = after
    if len(labels) >= MIN_TSNE:  # fewer points make no picture worth drawing (and t-SNE needs perplexity < n)
        plots["Source and target features, t-SNE (DA)"] = "plots/da_tsne.png"
        _plot_tsne(embeddings, labels, len(i_s), out_dir / plots["Source and target features, t-SNE (DA)"])
    return section, plots


def _plot_curves(curves: dict, seed: int, path: Path) -> None:
    panels: dict[int, dict[str, tuple[list, list]]] = {}
    for (method, k, s), pts in curves.items():
        if s == seed:
            panels.setdefault(k, {})[method] = ([p[0] for p in pts], [100 * p[1] for p in pts])
    plot_panels(panels, seed, "target test accuracy (%)", path, marker=".")


MIN_TSNE = 10  # points (source and target together) for a t-SNE plot


def _plot_tsne(embeddings: dict, labels: np.ndarray, n_source: int, path: Path) -> None:
    from sklearn.manifold import TSNE

    # 30, the usual perplexity, needs well over 30 points; a small run's held-out points are fewer
    perplexity = min(30.0, (len(labels) - 1) / 3)
    plt = _plt()
    fig, axes = plt.subplots(len(embeddings), 2, figsize=(8, 3.6 * len(embeddings)), squeeze=False)
    for row, (title, (f_s, f_t)) in zip(axes, embeddings.items(), strict=True):
        xy = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=0).fit_transform(
            np.concatenate([f_s, f_t]))
        src, tgt = slice(0, n_source), slice(n_source, None)
        row[0].scatter(xy[src, 0], xy[src, 1], s=4, c="tab:blue", label="source")
        row[0].scatter(xy[tgt, 0], xy[tgt, 1], s=4, c="tab:orange", label="target")
        row[0].legend(fontsize=7, markerscale=3)
        row[0].set_title(f"{title}: by domain", fontsize=9)
        row[1].scatter(
            xy[src, 0], xy[src, 1], s=5, c=labels[src], cmap="tab10", marker="o", vmin=0, vmax=max(9, labels.max())
        )
        row[1].scatter(
            xy[tgt, 0], xy[tgt, 1], s=9, c=labels[tgt], cmap="tab10", marker="x", vmin=0, vmax=max(9, labels.max())
        )
        row[1].set_title(f"{title}: by class (o source, x target)", fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    save_figure(fig, path)


def _pad(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def first_checkpoint_lines(runs: list[dict]) -> list[str]:
    """A note for runs whose criterion chose their first checkpoint, with its scores: the method's
    adaptation was then all but discarded, and a user reading "no better than source_only" should
    know the criterion decided it (``entropy`` can prefer a model that is confidently wrong)."""
    first = [r for r in runs if len(r.get("scores") or []) > 1 and r["selected_step"] == min(s for s, _ in r["scores"])]
    if not first:
        return []
    out = ["", "**The criterion chose the first checkpoint** (the least adapted; docs/domain_adaptation.md lists "
           "when a label-free criterion misleads), its scores per checkpoint, higher chosen:", ""]
    for r in first:
        shown = ", ".join(f"{s}: {v:.3g}" for s, v in r["scores"][:12]) + (", ..." if len(r["scores"]) > 12 else "")
        out.append(f"- {r['method']}, k = {r['shots']}, seed {r['seed']} ({r['criterion']}): {shown}")
    return out


def adaptation_markdown(section: dict | None) -> list[str]:
    """Markdown lines for report.md (empty without DA runs)."""
    if not section:
        return []
    lines = ["## Domain adaptation", "",
             "Checkpoints are chosen without target labels (criterion per run below). The **oracle** columns "
             "show the best checkpoint by target *test* accuracy: an upper bound for reference, never used to choose.",
             "", "| method | k | seed | criterion | selected step | accuracy (selected) | oracle step | oracle accuracy |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in section["runs"]:
        oracle = "" if r["oracle_accuracy"] is None else f"{100 * r['oracle_accuracy']:.1f}"
        lines.append(f"| {r['method']} | {r['shots']} | {r['seed']} | {r['criterion']} | {r['selected_step']} | "
                     f"{100 * r['accuracy_selected']:.1f} | {r['oracle_step']} | {oracle} |")  # fmt: skip
    lines += first_checkpoint_lines(section["runs"])
    if section["proxy_a_distance"]:
        rows = section.get("pad_rows")  # absent from older summaries
        on = (f" on {rows['source']} held-out source and {rows['target']} target test examples" if rows else "")
        lines += ["", "Proxy A-distance, 2(1 - 2 err) of a cross-validated domain classifier on the features"
                  f"{on} (2: domains fully separable, 0: the classifier cannot tell them apart), linear and "
                  "5-nearest-neighbour:", "",
                  "| method | k | PAD before (linear) | PAD after (linear) | PAD before (k-NN) | PAD after (k-NN) |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for p in section["proxy_a_distance"]:
            cells = [_pad(p[key]) for key in ("before", "after", "before_knn", "after_knn")]
            lines.append(f"| {p['method']} | {p['shots']} | " + " | ".join(cells) + " |")
        if rows and min(rows.values()) < PAD_FEW:
            lines += ["", f"**With {min(rows.values())} examples on one side these distances are rough:** a "
                      "5-fold domain classifier on so few examples can read 0 (or 2) by chance; compare methods "
                      "on accuracy, not on these values."]  # fmt: skip
        if any(p.get("domain_bn") for p in section["proxy_a_distance"]):
            lines += ["", "With domain-specific BatchNorm each domain's features are normalised on its own "
                      "statistics, so their means match by construction and the linear PAD falls towards 0 even "
                      "where the domains still differ; read the k-NN column for those runs."]  # fmt: skip
    return lines + [""]
