"""Few-shot episodes: N classes, K labelled support examples each, Q query examples each.

An episode is drawn from the *novel* classes of a labelled feature set. Its support
labels are renumbered ``0 .. n_way - 1`` (in the order of ``Episode.classes``) so
that every few-shot method sees the same small problem whatever the original ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from transferkit.data.splits import name_key
from transferkit.errors import TransferkitError
from transferkit.inputs import as_array


@dataclass(frozen=True, eq=False)
class Episode:
    """One N-way K-shot problem, as indices into a feature array.

    Attributes:
        support_idx: Rows of the labelled examples, (n_way * k_shot,), grouped by class.
        support_y: Their labels renumbered ``0 .. n_way - 1``, (n_way * k_shot,).
        query_idx: Rows of the examples to classify, (n_way * n_query,).
        query_y: Their true labels in the same numbering, (n_way * n_query,).
        classes: The original class ids, (n_way,); ``classes[j]`` is renumbered ``j``.
    """

    support_idx: np.ndarray
    support_y: np.ndarray
    query_idx: np.ndarray
    query_y: np.ndarray
    classes: np.ndarray

    @property
    def n_way(self) -> int:
        return len(self.classes)


def _either(ways: list[str]) -> str:
    """Alternatives as one sentence: "a.", "a, or b.", "a, b, or c."."""
    return (", ".join(ways[:-1]) + ", or " + ways[-1] if len(ways) > 1 else ways[0]) + "."


def sample_episodes(
    labels: np.ndarray,
    n_way: int = 5,
    k_shot: int = 1,
    n_query: int = 15,
    n_episodes: int = 600,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    groups: np.ndarray | None = None,
) -> list[Episode]:
    """Draws few-shot episodes from labelled examples.

    Each episode draws ``n_way`` distinct classes, then ``k_shot + n_query`` distinct
    examples of each class; the first ``k_shot`` are support, the rest query, so
    support and query never share an example. Episodes are independent of each
    other (a class or example may appear in several episodes).

    ``groups`` (N,) marks exact copies (equal ids: the same input, see
    :func:`~transferkit.data.overlap.copy_groups`): a query whose input is one of its episode's support inputs (of
    any class: an input may be saved under two labels) is swapped for another example of
    its class, so support and query never share an input either.
    Without copies the episodes are those drawn without ``groups``.

    Args:
        labels: Class id of every example, (N,). Any integer ids; pass only the
            examples of novel classes (see :func:`check_novel`).
        n_way: Classes per episode.
        k_shot: Support examples per class.
        n_query: Query examples per class.
        n_episodes: How many episodes.
        seed: Seed of the numpy Generator; the same seed gives the same episodes.
        class_names: Names of the ids, ``class_names[id]``, for error messages.

    Returns:
        ``n_episodes`` episodes.

    Raises:
        TransferkitError: An argument below 1, more classes asked than exist, or a
            class with fewer than ``k_shot + n_query`` examples.
    """
    for name, value in [
        ("n_way", n_way),
        ("k_shot", k_shot),
        ("n_query", n_query),
        ("n_episodes", n_episodes),
    ]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TransferkitError(
                f"{name} must be a whole number of at least 1, got {value!r}.",
                f"pass {name}=1 or more.",
            )
    labels = np.asarray(as_array(labels))
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TransferkitError(
            f"labels must be a 1-D array of integer class ids, got shape {labels.shape} "
            f"and dtype {labels.dtype}.",
            "pass the integer label of each feature row, e.g. domain.y.",
        )
    classes, counts = np.unique(labels, return_counts=True)
    if n_way > len(classes):
        fix = f"use n_way={len(classes)} or fewer, or add novel classes." if len(classes) >= 2 else "add novel classes."
        raise TransferkitError(f"n_way={n_way}, but there are only {len(classes)} novel classes.", fix)
    need = k_shot + n_query
    short = [(int(c), int(n)) for c, n in zip(classes, counts, strict=True) if n < need]
    if short:
        def name(c: int) -> str:
            return repr(str(class_names[c])) if class_names is not None and 0 <= c < len(class_names) else str(c)

        listed = ", ".join(f"class {name(c)} has {n}" for c, n in short[:5])
        more = f" (and {len(short) - 5} more)" if len(short) > 5 else ""
        raise TransferkitError(
            f"Each class needs k_shot + n_query = {k_shot} + {n_query} = {need} examples, "
            f"but {listed}{more}.",
            _either([f"give those classes at least {need} examples each"]
                    + ([f"lower k_shot + n_query to at most {min(n for _, n in short)}"] if min(n for _, n in short) >= 2 else [])
                    + (["leave those classes out (`target.classes` in an experiment file)"]
                       if len(classes) - len(short) >= n_way else [])),
        )  # fmt: skip

    rng = np.random.default_rng(seed)
    order = np.argsort(labels, kind="stable")
    members = dict(zip(classes.tolist(), np.split(order, np.cumsum(counts)[:-1]), strict=True))
    if groups is not None:
        groups = np.asarray(groups)
        _refuse_too_few_distinct(members, groups, n_way, k_shot, n_query, class_names)
    episodes = []
    for _ in range(n_episodes):
        chosen = rng.choice(classes, size=n_way, replace=False)
        # (n_way, k_shot + n_query): distinct rows of each chosen class.
        rows = np.stack([rng.choice(members[int(c)], size=need, replace=False) for c in chosen])
        if groups is not None:
            taken = set(groups[rows[:, :k_shot]].reshape(-1).tolist())  # every support input of the episode
            for r, c in zip(rows, chosen, strict=True):
                _no_support_copies(r, k_shot, taken, members[int(c)], groups, rng, class_names, int(c))
        episodes.append(
            Episode(
                support_idx=rows[:, :k_shot].reshape(-1),
                support_y=np.repeat(np.arange(n_way), k_shot),
                query_idx=rows[:, k_shot:].reshape(-1),
                query_y=np.repeat(np.arange(n_way), n_query),
                classes=chosen,
            )
        )
    return episodes


def _refuse_too_few_distinct(members: dict, groups: np.ndarray, n_way: int, k_shot: int, n_query: int,
                             class_names) -> None:  # fmt: skip
    """Refuses, before any episode is drawn, a class that some episode could leave with fewer than
    ``n_query`` queries that are none of its support inputs: the support removes every copy of its
    inputs from the queries, its own class's (at worst its ``k_shot`` most copied inputs) and the
    other classes' (at worst, for each of ``n_way - 1`` other classes, its ``k_shot`` inputs most
    copied in this class). A safe count: it never accepts a class that can fall short, and may
    refuse one that an exact search over supports would accept. Without the check such a class
    failed on the first episode that drew it so (a review: a class of exactly k_shot + n_query
    examples, one a copy of another class's)."""
    if len(np.unique(groups)) == len(groups):
        return  # no copies: nothing is ever swapped
    holders: dict[int, set] = {}  # group -> the classes holding an input of it
    for c, idx in members.items():
        for g in np.unique(groups[idx]).tolist():
            holders.setdefault(g, set()).add(c)
    for c, idx in members.items():
        ids, sizes = np.unique(groups[idx], return_counts=True)
        largest = np.sort(sizes)[::-1]
        own = int(largest[:k_shot].sum())
        shared = {}
        for g, n in zip(ids.tolist(), sizes.tolist(), strict=True):
            for d in holders[g] - {c}:
                shared.setdefault(d, []).append(n)
        others = sorted((sum(sorted(v, reverse=True)[:k_shot]) for v in shared.values()), reverse=True)
        # two safe bounds on what the support removes: the sum above counts an input copied in two classes' picks
        # twice; the support holds at most k_shot groups of each class, so at most this many of this class's
        distinct = k_shot * (1 + min(n_way - 1, len(shared)))  # (a review's class of {A, A, x, y, z} beside {A, ...})
        spare = len(idx) - min(own + sum(others[: n_way - 1]), int(largest[:distinct].sum()))
        if spare >= n_query:
            continue
        name = repr(str(class_names[c])) if class_names is not None and 0 <= c < len(class_names) else str(c)
        across = int(np.isin(groups[idx], [g for g in ids.tolist() if len(holders[g]) > 1]).sum())
        why = f" but only {len(ids)} distinct inputs (the rest are exact copies)" if len(ids) < len(idx) else ""
        if across:
            why += (" and" if why else ",") + (f" {across} of them exact copies of another class's inputs" if across > 1
                                               else " 1 of them an exact copy of another class's input")
        remove = "remove the duplicate inputs" + (" (an input saved under two classes belongs to one)" if across else "")
        raise TransferkitError(
            f"class {name} has {len(idx)} example{'s' if len(idx) != 1 else ''}{why}: an episode whose support holds "
            f"copied inputs can leave it fewer than {n_query} examples that are none of the support's, too few for "
            f"{n_query} queries.",
            f"{remove} from that class, or " + (f"lower n_query to {spare} or fewer (no episode can then fall short)."
                                                if spare >= 1 else "add examples to it."),
        )  # fmt: skip


def _no_support_copies(row: np.ndarray, k_shot: int, taken: set, members: np.ndarray, groups: np.ndarray,
                       rng: np.random.Generator, class_names, c: int) -> None:  # fmt: skip
    """Swaps, in place, each query of ``row`` (one class of an episode) whose input is one of
    the episode's support inputs (``taken``: their groups, of every class: an input may be
    saved under two labels) for an example of the class that is none of them and not in the
    row yet."""
    clash = [j for j in range(k_shot, len(row)) if groups[row[j]] in taken]
    if not clash:
        return
    free = np.setdiff1d(members[~np.isin(groups[members], list(taken))], row)
    if len(free) < len(clash):
        name = repr(str(class_names[c])) if class_names is not None and 0 <= c < len(class_names) else str(c)
        distinct = len(np.unique(groups[members]))
        raise TransferkitError(
            f"class {name} has {len(members)} example{'s' if len(members) != 1 else ''} but only {distinct} distinct inputs (the rest are exact copies), "
            f"too few to draw {len(row) - k_shot} queries that are none of an episode's support inputs.",
            "remove the duplicate inputs from that class, or lower n_query.",
        )
    row[clash] = rng.choice(free, size=len(clash), replace=False)


def loose_name_keys(name) -> set[str]:
    """A class name as compared for twins: :func:`name_key` (no case, no surrounding spaces) and,
    for a name with a letter, without punctuation or spaces, and with a plural's ending taken off
    or not: a folder cannot be called 'T-shirt/top' ('T-shirt_top'), and 'Coats' is the class
    'Coat' (a new user's target folders got neither warned), 'Dresses' 'Dress' and 'Caches'
    'Cache' (so both 's' and 'es' are tried). Names of digits alone keep theirs ('1.0' is not '10'), but
    for leading zeros: folders '00'..'09' are the classes '0'..'9' (a trial's '07' beside a source's '7')."""
    key = name_key(name)
    if not any(ch.isalpha() for ch in key):
        return {key.lstrip("0") or "0"} if key.isdigit() else {key}
    key = "".join(ch for ch in key if ch.isalnum())
    keys = {key}
    if len(key) > 3 and key.endswith("s") and not key.endswith("ss"):
        keys.add(key[:-1])
    if len(key) > 4 and key.endswith("es"):
        keys.add(key[:-2])
    return keys


def case_twins(novel_classes: Iterable, seen_classes: Iterable) -> list[tuple[str, str]]:
    """(novel, seen) name pairs equal but for case, spacing, punctuation or a plural ending
    (:func:`loose_name_keys`: they share a key): perhaps one class."""
    seen = [(str(c), loose_name_keys(c)) for c in seen_classes]
    pairs = [(str(c), next((s for s, keys in seen if keys & loose_name_keys(c)), None)) for c in novel_classes]
    return [(c, twin) for c, twin in pairs if twin is not None and twin.strip() != c.strip()]


def seen_overlap(novel_classes: Iterable, seen_classes: Iterable) -> list:
    """The novel classes that are also seen classes (names compared without surrounding spaces), sorted."""
    seen = {_plain(c) for c in seen_classes}
    return sorted({_plain(c) for c in novel_classes} & seen, key=str)


def check_novel(novel_classes: Iterable, seen_classes: Iterable) -> None:
    """Refuses novel classes that the source model was trained on.

    Few-shot accuracy only measures transfer when the episodes' classes were never
    seen while training the shared layers; otherwise the features already separate
    them and the score is inflated.

    Args:
        novel_classes: Class ids or names used to draw episodes.
        seen_classes: Class ids or names used for source (base) training.

    Raises:
        TransferkitError: Naming every class found in both.
    """
    overlap = seen_overlap(novel_classes, seen_classes)
    if overlap:
        shown = ", ".join(repr(c) for c in overlap[:10])
        more = f" (and {len(overlap) - 10} more)" if len(overlap) > 10 else ""
        raise TransferkitError(
            f"{len(overlap)} novel class(es) were also used for source training: {shown}{more}.",
            "draw episodes only from classes the shared layers never saw, "
            "e.g. split the classes into disjoint base and novel sets.",
        )


def _plain(c: object) -> object:
    """Makes numpy scalars compare and print like Python ones; names compare without
    surrounding spaces ("four " is the class "four"). Case counts: "A" and "a" may be
    different classes (letters)."""
    c = c.item() if isinstance(c, np.generic) else c
    return c.strip() if isinstance(c, str) else c
