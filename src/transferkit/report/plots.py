"""PNG plots of a run: accuracy vs k with CI bands, and training curves."""

from __future__ import annotations

from pathlib import Path

from transferkit.atomic import write_atomic
from transferkit.shots import ALL, shots_order


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    """Lay out, write ``fig`` as a PNG atomically, and free it. A figure title keeps about half
    an inch of its own above the plots (a 20-way episode's title was hidden behind its first row);
    a legend of the whole figure, beside the plots, is written in full."""
    titled = getattr(fig, "_suptitle", None) is not None
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_size_inches()[1]) if titled else None)
    outside = {"bbox_inches": "tight"} if fig.legends else {}
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=dpi, **outside))
    _plt().close(fig)
    return Path(path)


def k_positions(shots) -> dict:
    """Where each k sits on the x axis: a whole number at itself, ``all`` one step (the mean gap
    between the whole numbers, at least 1) after the largest."""
    ints = sorted(k for k in shots if k != ALL)
    step = max(1.0, (ints[-1] - ints[0]) / (len(ints) - 1)) if len(ints) > 1 else 1.0
    return {k: (k if k != ALL else (ints[-1] + step if ints else 0)) for k in shots}


def plot_method(ax, rows: list[dict], label: str, at: dict | None = None) -> None:
    """One method's mean accuracy (%) against k (``rows``: summary rows, in k order), with its
    95 % interval as error bars (visible at a single k, where a band has no width) and, over
    several k, a band. ``at``: each k's x position (:func:`k_positions`; default k itself)."""
    ks, means = [(at or {}).get(r["shots"], r["shots"]) for r in rows], [100 * r["accuracy_mean"] for r in rows]
    (line,) = ax.plot(ks, means, marker="o", label=label)
    if all(r["accuracy_ci95"] for r in rows):
        lo, hi = [100 * r["accuracy_ci95"][0] for r in rows], [100 * r["accuracy_ci95"][1] for r in rows]
        yerr = [[m - a for m, a in zip(means, lo, strict=True)], [b - m for m, b in zip(means, hi, strict=True)]]
        ax.errorbar(ks, means, yerr=yerr, fmt="none", ecolor=line.get_color(), capsize=3, alpha=0.8)
        if len(ks) > 1:
            ax.fill_between(ks, lo, hi, color=line.get_color(), alpha=0.15)


def plot_accuracy_vs_shots(results: list[dict], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    shots = sorted({r["shots"] for r in results}, key=shots_order)
    at = k_positions(shots)
    for method in dict.fromkeys(r["method"] for r in results):
        plot_method(ax, sorted((r for r in results if r["method"] == method), key=lambda r: shots_order(r["shots"])),
                    method, at)  # fmt: skip
    no_interval = not any(r.get("accuracy_ci95") for r in results)  # e.g. one seed
    ax.set_xticks([at[k] for k in shots], [str(k) for k in shots])  # the k that ran, not fractions of one
    if len(shots) == 1:  # one k (e.g. k = 0 only): room around it, not a hair-thin axis
        ax.set_xlim(at[shots[0]] - 1, at[shots[0]] + 1)
    ax.set_xlabel("labelled target examples per class (k)" + ("; all: the whole training pool" if ALL in shots else ""))
    ax.set_ylabel("target test accuracy (%)")
    ax.set_title("Accuracy vs k (mean" + (": no interval, e.g. one seed)" if no_interval else
                                         ", 95% CI over seeds and test examples)"))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path, dpi=110)
    return path


def plot_training_curves(curves: list[dict], seed: int, path: Path) -> Path:
    panels: dict[int, dict[str, tuple[list, list]]] = {}
    for c in curves:
        if c["seed"] == seed:  # a method of one phase is named once: not "dann/dann"
            label = c["method"] if c["phase"] == c["method"] else f"{c['method']}/{c['phase']}"
            steps, losses = panels.setdefault(c["shots"], {}).setdefault(label, ([], []))
            steps.append(c["step"])
            losses.append(c["loss"])
    return plot_panels(panels, seed, "training loss", path, log=True)


def plot_panels(panels: dict[int, dict[str, tuple[list, list]]], seed: int, ylabel: str, path: Path,
                log: bool = False, marker: str | None = None) -> Path:  # fmt: skip
    """One panel per k (``panels[k][label] = (steps, values)``), each label in one colour in every
    panel, and one legend for all beside them: panels of their own drew each method in another
    colour, with a legend on the first alone (a trial's k = 1 and k = 5 panels had none)."""
    plt = _plt()
    shots = sorted(panels, key=shots_order)
    labels = list(dict.fromkeys(label for k in shots for label in panels[k]))
    palette = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    colour = {label: palette(i % palette.N) for i, label in enumerate(labels)}
    fig, axes = plt.subplots(1, max(1, len(shots)), figsize=(4 * max(1, len(shots)), 3.2), squeeze=False)
    lines = {}
    for ax, k in zip(axes[0], shots, strict=False):
        for label, (xs, ys) in panels[k].items():
            (lines[label],) = ax.plot(xs, ys, color=colour[label], marker=marker, label=label)
        ax.set_title(f"k={k}, seed={seed}")
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if lines:
        fig.legend([lines[label] for label in labels], labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
                   fontsize=7)  # fmt: skip
    save_figure(fig, path)
    return path
