"""The target splits: a fixed test split, and k labelled examples per class per seed.

The test split is drawn once, stratified, from ``split_seed`` alone, so every run seed
and every method is scored on the same held-out examples. Exact copies of one input are
kept on one side of it (:func:`split_target`): a test example whose copy is among the
labelled ones would be scored on a label the model was trained on. From the remaining pool each
run seed draws ``k`` labelled examples per class; the rest of the pool is handed to
methods *without labels* (:class:`TargetData` has no field that holds them).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from transferkit.data.overlap import input_groups, split_copies_note
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.shots import ALL


@dataclass(frozen=True)
class TestSplit:
    test_idx: np.ndarray
    pool_idx: np.ndarray
    groups: np.ndarray | None = None  # every target example's group of exact copies (split_target's), if known


def no_test_split(n: int) -> TestSplit:
    """Every example in the pool, none held out (few-shot: episodes hold their own queries)."""
    return TestSplit(np.zeros(0, dtype=np.int64), np.arange(n))


@dataclass(frozen=True)
class TargetData:
    """What a method may see of the target: labelled k-shot examples and unlabelled inputs.

    Attributes:
        x_labelled: (k * C, ...) inputs with labels ``y_labelled`` (at ``shots: all``, the whole training
            pool: as many a class as it has).
        y_labelled: (k * C,) labels.
        x_unlabelled: (U, ...) pool inputs; their labels are not here on purpose.
        num_classes: Number of target classes.
        class_weight: (C,) weight of each class in the losses on the labelled examples, or
            None (every example alike). ``TransferClassifier(class_weight="balanced")`` and a run's
            ``class_weight: balanced`` set it for labels drawn unevenly (a run's ``shots: all``); the
            protocol's k-shot draws are balanced already.
    """

    x_labelled: torch.Tensor
    y_labelled: torch.Tensor
    x_unlabelled: torch.Tensor
    num_classes: int
    class_weight: torch.Tensor | None = None

    @property
    def shots(self) -> int:
        return len(self.y_labelled) // self.num_classes if self.num_classes else 0


def draw_order(domain) -> list[int] | None:
    """The class ids in the order the protocol draws from them, when not id order: the
    target's own class order after its labels were renumbered into a source's
    (``match_source``), so that its test split and labelled examples are the ones drawn
    with any source, or none (``rank`` scores sources on them)."""
    return (getattr(domain, "meta", None) or {}).get("draw_order")


def _in_order(y: np.ndarray, order) -> list:
    """The classes present in ``y``, in ``order`` (class ids) or else in id order."""
    present = np.unique(y)
    if order is None:
        return list(present)
    have = set(present.tolist())
    return [c for c in order if c in have]


def check_not_ids(y: np.ndarray, role: str, column: str = "`label_column:` of a CSV or text file") -> None:
    """Refuse labels that take a value per example or so, most of them once: an id or a measurement
    (a price, a count), not classes. ``column``: how the caller names the label column's setting."""
    present, counts = np.unique(y, return_counts=True)
    if len(present) > max(10, len(y) // 2) and (counts == 1).sum() > len(present) // 2:  # ids, not classes
        raise TransferkitError(
            f"the {role}'s labels take {len(present)} distinct values among its {len(y)} examples, "
            f"{int((counts == 1).sum())} of them once: that reads as an id or a measurement, not classes.",
            f"check which column holds the class labels ({column}), or group the "
            "values into classes.",
        )


def make_test_split(
    y: np.ndarray, test_fraction: float = 0.3, split_seed: int = 0, classes: list[str] | None = None,
    groups: np.ndarray | None = None, order: list[int] | None = None,
) -> TestSplit:
    """Stratified split of ``y`` into a test part and a pool, depending on ``split_seed`` only.

    ``classes``: names of the class ids, for the errors. ``groups``: (N,) ids, equal for
    exact copies of one input (:func:`~transferkit.data.overlap.input_groups`); all copies
    go to one side (:func:`_sides`), of any class. Without copies the split is the same as
    without ``groups``. ``order``: the class ids in the order they are drawn from
    (:func:`draw_order`; default id order)."""
    if not 0.0 < test_fraction < 1.0:
        raise TransferkitError(f"test_fraction={test_fraction} must be between 0 and 1.", "use e.g. 0.3.")
    check_not_ids(y, "target")
    _check_class_sizes(y, test_fraction, classes)
    rng = np.random.default_rng(split_seed)
    test, pool, side = [], [], {}
    for c in _in_order(y, order):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        name = repr(classes[int(c)]) if classes is not None and int(c) < len(classes) else str(int(c))
        if groups is None:
            test.append(idx[:n_test])
            pool.append(idx[n_test:])
            continue
        in_test = _sides(idx, n_test, groups, side)
        if in_test.all() or not in_test.any():
            distinct = len(np.unique(groups[idx]))
            where = "test" if in_test.all() else "training"
            raise TransferkitError(
                f"class {name}'s {len(idx)} example{'s' if len(idx) != 1 else ''} hold {distinct} distinct input{'s' if distinct != 1 else ''}, "
                f"which all go to the {where} side: copies never straddle the test split, and an input also "
                "stored under another class goes where its copies there went.",
                "remove the exact duplicates or add distinct examples of that class.",
            )
        test.append(idx[in_test])
        pool.append(idx[~in_test])
    return TestSplit(np.sort(np.concatenate(test)), np.sort(np.concatenate(pool)))


def more_classes(names: list[str], shown: int = 10) -> str:
    """', as do 2 more classes: 'b', 'c'' after the first class an error names (the first
    ``shown`` of ``names``, then how many more), or '' when there are none."""
    if not names:
        return ""
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f", as {'do' if len(names) > 1 else 'does'} {len(names)} more class{'es' if len(names) > 1 else ''}: {listed}"


def leave_out(n: int, of: int) -> str:
    """How to leave ``n`` of the target's ``of`` classes out (a trial's many-class text run was
    told of one at a time), or '' where fewer than 2 classes would be left."""
    if of - n < 2:
        return ""
    them = "that class" if n == 1 else f"those {n} classes"
    return f"leave {them} out (list the classes to keep in the experiment's `target.classes`; rank: --classes)"


def either(*options: str) -> str:
    """'a, b, or c' of the ``options`` that are not ''."""
    said = [o for o in options if o]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])}, or {said[-1]}"


def _check_class_sizes(y: np.ndarray, test_fraction: float, classes: list[str] | None) -> None:
    """Every class too small for the test split, smallest first, in one error: one example, or
    so few that ``test_fraction`` of them rounds to no test example or to all of them."""
    present, counts = np.unique(y, return_counts=True)
    size = {int(c): int(n) for c, n in zip(present, counts, strict=True)}
    smallest = sorted(size, key=lambda c: (size[c], c))

    def name(c: int) -> str:
        return repr(classes[c]) if classes is not None and c < len(classes) else str(c)

    one = [c for c in smallest if size[c] < 2]
    if one:
        c, twin = one[0], case_twin(classes, one[0])
        raise TransferkitError(
            f"target class {name(c)} has 1 example: too few to split into test and pool"
            + more_classes([name(o) for o in one[1:]]) + (f"; {name(c)} and {twin!r} differ only in case." if twin else "."),
            (f"write {twin!r} for those labels too, if they are one class; if they are two (letters 'z' and 'Z'), "
             if twin else "") + either("give every class at least 2 examples (better 10+)", leave_out(len(one), len(size))) + ".",
        )  # fmt: skip
    no_test = [c for c in smallest if int(round(size[c] * test_fraction)) == 0]  # n f > 0.5 (Python rounds 0.5 to 0)
    if no_test:
        n = size[no_test[0]]
        least = math.floor(1000 * 0.5 / n) / 1000 + 0.001  # enough for the smallest is enough for all
        raise TransferkitError(
            f"test_fraction={test_fraction} of the {n} example{'s' if n != 1 else ''} of class {name(no_test[0])} "
            f"rounds to no test example{more_classes([name(o) for o in no_test[1:]])}.",
            either(f"use test_fraction {least:.3f} or more", "add examples", leave_out(len(no_test), len(size))) + ".",
        )
    no_pool = [c for c in smallest if int(round(size[c] * test_fraction)) == size[c]]  # n f < n - 0.5
    if no_pool:
        n = size[no_pool[0]]
        most = math.ceil(1000 * (n - 0.5) / n) / 1000 - 0.001
        raise TransferkitError(
            f"test_fraction={test_fraction} of the {n} example{'s' if n != 1 else ''} of class {name(no_pool[0])} "
            f"leaves none for training{more_classes([name(o) for o in no_pool[1:]])}.",
            either(f"use test_fraction {most:.3f} or less", "add examples", leave_out(len(no_pool), len(size))) + ".",
        )


def source_case_twins(source: list[str], target: list[str]) -> list[tuple[str, str]]:
    """(target name, source name) pairs that differ only in case or surrounding spaces, each
    name found on one side only ('coat' in the target, 'Coat' in the source)."""
    only_s = {name_key(c): str(c) for c in source if c not in target}
    return [(str(c), only_s[name_key(c)]) for c in target if c not in source and name_key(c) in only_s]


def source_case_twins_note(source: list[str], target: list[str]) -> str | None:
    """Says which target classes differ from source classes only in case: they are different
    classes to every method (a new head, no source_only), perhaps one class written two ways."""
    twins = source_case_twins(source, target)
    if not twins:
        return None
    pairs = ", ".join(f"{t!r} (source {s!r})" for t, s in twins[:5]) + (", ..." if len(twins) > 5 else "")
    return (f"{len(twins)} target class name{'s differ' if len(twins) > 1 else ' differs'} from the source's only in "
            f"case or spaces: {pairs}; they are different classes to every method (a new head; no source_only). If "
            "they are the same classes, write them as the source does.")


def numbered_classes_note(source, target, fix: str | None = None) -> str | None:
    """Says when a source and a target of two data sets share class names that are bare numbers
    ('1', '2'): they are then the same classes to every method (source_only and the adaptation
    methods read the source's head; auto may call the difference a domain shift), where such
    numbers often only coincide (UCR/UEA sets number their classes 1..C: a trial's ItalyPowerDemand
    head scored 45.6 % on GunPoint as source_only, below always predicting one class, unsaid). ``fix``: how
    to name the classes, where not in files (the Python API's labels)."""
    if source is None or target is None or list(source.classes) != list(target.classes):
        return None
    if str(source.name).split("[")[0] == str(target.name).split("[")[0]:
        return None  # one data set's classes: the same by construction
    if not all(re.fullmatch(r"[+-]?\d+(\.0+)?", str(c).strip()) for c in source.classes):
        return None
    from transferkit.data.files import CLASSES_FROM_LABELS

    if not any(getattr(d, "meta", {}).get(CLASSES_FROM_LABELS) for d in (source, target)):
        return None  # names given as such ('0'..'9' of the built-in digits): meant
    shown = ", ".join(repr(str(c)) for c in list(source.classes)[:5]) + (", ..." if len(source.classes) > 5 else "")
    return (f"the source's and the target's classes are both named by numbers ({shown}), so they are taken to be the "
            "same classes (source_only and the adaptation methods use the source's head for them); if the numbers "
            "only coincide (other classes in each data set), " + (fix or "give one of them its class names (numpy.savez("
            "path, x=..., y=..., classes=names), or names as the labels in a CSV)") + ".")


def case_twins_note(classes: list[str], name: str) -> str | None:
    """Says which class names differ only in case or surrounding spaces (perhaps one class
    written two ways)."""
    alike: dict[str, list[str]] = {}
    for c in classes:
        alike.setdefault(name_key(c), []).append(str(c))
    sets = [sorted(names) for names in alike.values() if len(names) > 1]
    if not sets:
        return None
    said = "; ".join(" and ".join(repr(n) for n in names) for names in sets[:3])
    more = f" (+{len(sets) - 3} more)" if len(sets) > 3 else ""
    return (f"{name}: class names that differ only in case or surrounding spaces: {said}{more}. They are kept as "
            "separate classes; if each set is one class, write it one way in the labels.")


def name_key(name) -> str:
    """A class name as compared for case twins: without case and surrounding spaces."""
    return str(name).strip().casefold()


def case_twin(classes: list[str] | None, c: int) -> str | None:
    """Another class named like class ``c`` but for case and surrounding spaces, if any."""
    if classes is None or c >= len(classes):
        return None
    return next((str(o) for i, o in enumerate(classes) if i != c and name_key(o) == name_key(classes[c])), None)


def _sides(idx: np.ndarray, n_test: int, groups: np.ndarray, side: dict) -> np.ndarray:
    """Which of one class's examples ``idx`` (in drawn order) go to test. Each input, with all
    its copies in the class, goes to test while that keeps the test part at most ``n_test``
    (without copies: the first ``n_test`` drawn); an input already placed by another class
    keeps its side (``side``: group id -> test?, filled across classes). If no input went to
    test, the first one drawn that was free to move does, when others remain for training."""
    ids = groups[idx].astype(np.int64)
    sizes = dict(zip(*np.unique(ids, return_counts=True), strict=True))
    in_test = np.zeros(len(idx), dtype=bool)
    taken, counted, free = 0, set(), []  # taken: test rows of the class, copies drawn later included
    for j, g in enumerate(ids.tolist()):
        if g not in side:
            side[g] = taken + int(sizes[g]) <= n_test
            free.append(g)
        if side[g] and g not in counted:
            taken += int(sizes[g])
            counted.add(g)
        in_test[j] = side[g]
    if not in_test.any() and free and len(sizes) > 1:
        side[free[0]] = True
        in_test = ids == free[0]
    return in_test


def too_small_classes(y: np.ndarray, pool_idx: np.ndarray, k: int) -> list[int]:
    """The classes whose training pool holds fewer than ``k`` examples, smallest pool first."""
    pools = {int(c): int((y[pool_idx] == c).sum()) for c in np.unique(y)}
    return sorted((c for c, n in pools.items() if n < k), key=lambda c: (pools[c], c))


def draw_shots(
    y: np.ndarray, pool_idx: np.ndarray, k: int, seed: int, classes: list[str] | None = None,
    order: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` labelled indices per class from the pool (seeded), and the unlabelled rest.
    ``order``: the class ids in the order they are drawn from (:func:`draw_order`). ``k = "all"``
    (:data:`~transferkit.shots.ALL`): every pool example is labelled, none unlabelled, at every seed."""
    if k == ALL:
        return np.sort(np.asarray(pool_idx, dtype=np.int64)), np.empty(0, dtype=np.int64)
    if k < 0:
        raise TransferkitError(f"shots={k} is negative.", "use 0 (no labels) or more.")
    rng = np.random.default_rng([seed, k, 7919])
    labelled = []
    most = min((int((y[pool_idx] == c).sum()) for c in np.unique(y)), default=0)  # the largest k every class allows
    short = too_small_classes(y, pool_idx, k)
    if short:  # the smallest named, and how many more: the first in draw order had misled (its fix could not work)
        c = short[0]
        pool, total = int((y[pool_idx] == c).sum()), int((y == c).sum())
        name = classes[c] if classes else str(int(c))
        more = more_classes([repr(classes[o] if classes else str(int(o))) for o in short[1:]])
        leave = leave_out(len(short), len(np.unique(y)))
        raise TransferkitError(
            f"target class {name!r} has {pool} example{'s' if pool != 1 else ''} in the training pool, fewer than "
            f"shots={k}{more}.",
            either(f"use `shots` of at most {most} (the smallest class's training pool; class {name!r} has {total} "
                   "in all, and the test split holds out some of every class)", leave, "add examples (few-shot from "
                   "K examples a class: `transferkit fewshot`, docs/fewshot.md)") + "." if total <= k else
            either(f"use `shots` of at most {most} (the smallest class's training pool)", "lower `test_fraction`",
                   leave, "add examples") + ".",
        )  # fmt: skip
    for c in _in_order(y, order):
        idx = pool_idx[y[pool_idx] == c]
        labelled.append(rng.choice(idx, size=k, replace=False))
    lab = np.sort(np.concatenate(labelled)) if labelled else np.empty(0, dtype=np.int64)
    unl = np.setdiff1d(pool_idx, lab)
    return lab, unl


def split_target(target, test_fraction: float, split_seed: int) -> TestSplit:
    """The protocol's test split of a target domain, its exact copies kept on one side (said,
    as a :class:`TransferkitWarning`, when there are any)."""
    groups = input_groups(target)
    split = make_test_split(target.y, test_fraction, split_seed, target.classes, groups=groups, order=draw_order(target))
    note = split_copies_note(groups, target.y, texts=getattr(target, "texts", None) is not None)
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return dataclasses.replace(split, groups=groups)  # kept: the intervals and test_results.csv read them
