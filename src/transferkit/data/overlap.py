"""Leak check: target test examples that also appear, input for input, in the source.

A source that holds the target's test examples trains the source model on what it is
scored on: ``source_only`` and every transfer method then look better than they are
(e.g. ``mnist5k`` as the source of ``mnist5k[0-4]``). Inputs are compared after mapping
each domain's value range to [0, 1] and rounding to 4 decimals, so a copy stored as 0..255
in one file and as 0..1 in the other is recognised; a resized or cropped copy is not. Images
of one and of three channels are compared in grey (a folder mixing colour and grey images is
read as colour). Vectors are compared exactly, as stored: one range for all of a table's
columns would put rows that differ only in a small column on one step.

Images are also matched when *nearly* equal: a pixel correlation (Pearson's r over all pixels
of their luminance, so any brightness offset or scale, a tint, or grey against colour is
ignored) of at least ``NEAR_R`` = 0.999. On MNIST-5k, optdigits and Fashion-MNIST that finds
99-100 % of copies re-encoded as JPEG at quality 95 or rounded to 2 decimals of 0..1 (of the
LFW subset's small 25x25 images, 70 % and 88 %; JPEG at quality 90 nearly all, at 85 about two
thirds), while no two distinct images of MNIST-5k, optdigits or the LFW subset come that close
(their nearest pairs: r = 0.981, 0.994, 0.982; BENCHMARKS "Near copies"). A resize, a crop,
a shift or a JPEG at quality 75 is not found. Series are not matched so: distinct smooth series can correlate that much (30
of ACSF1's 100 training series have a neighbour at r > 0.999), nor arrays that are no pictures
(``data.preprocess.is_picture``: a side under 8, or sides more than 4:1 apart; a multichannel
series is stored as one), in whose few values distinct examples correlate by chance.

Near copies are counted and reported (a warning under the results table when more than
``LEAK_SHARE`` of the test split, under the same class), never refused: distinct captures of
one fixed scene (frames of one camera, a little sensor noise) can correlate as much as a re-saved
copy, and the check cannot tell them apart. Exact copies are refused as follows.

Only images with the *same class name* in both are refused: there an exact match means the
source model learnt that very example's label. Vectors and texts are only counted, since
short texts ("great!") and coarse tabular rows repeat between independent data sets, and
inputs shared under other labels (another task on the same inputs) are only counted too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from transferkit.errors import TransferkitError

# More than this share of the test split found in the source, with the same class, is a
# leak, not a few stray duplicates (real image sets hold some exact duplicates).
LEAK_SHARE = 0.05
BLOCK = 4096  # source rows summarised at a time
NEAR_R = 0.999  # images at or above this pixel correlation are copies (see the module's docstring)
TEST_BLOCK = 2048  # target images compared at a time
DENSE_SHARE = 0.01  # candidates above this share of a block's pairs: all its pairs checked by one product
PAIRS = 1 << 24  # values of the candidate pairs checked exactly at a time (64 MB of float32 a side)
NEAR_WHAT = (f"pixel correlation >= {NEAR_R}, which re-saved, rounded or noised copies of an image reach, and so "
             "can distinct captures of one fixed scene")  # what a near copy is, in messages: possibly not a copy
PROJECTED = 64  # dimensions of the random projection that finds candidate near copies quickly


@dataclass(frozen=True)
class Overlap:
    found: int  # test examples whose input is also in the source
    same_class: int  # ... under the same class name there
    rows: tuple[int, ...] = field(default=(), compare=False)  # the target rows of the ``found`` examples
    near: int = 0  # ... of ``found``, those only nearly equal to a source input (images, r >= NEAR_R)
    near_same_class: int = 0  # ... of ``same_class``, those only nearly equal
    near_rows: tuple[int, ...] = field(default=(), compare=False)  # the target rows of the ``near`` examples

    @property
    def exact_same_class(self) -> int:
        """Test examples equal to a source input of the same class: the refused leak."""
        return self.same_class - self.near_same_class

    @property
    def kind(self) -> str:
        """What the copies found are, for messages."""
        if not self.near:
            return "exact copies"
        near = f"near copies: {NEAR_WHAT}"
        return near if self.near == self.found else f"{self.found - self.near} exact copies, {self.near} {near}"


def _arrays(domain, rows: np.ndarray, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(inputs as stored, float32; inputs mapped from the domain's value range to [0, 1] in
    steps of 1e-4, int32), one row per example (``x``: the domain's inputs as compared, if not
    its own). Vectors are compared as stored only: on one range for all columns, 1e-4 steps
    merge the rows of a table whose columns differ in size (a pH beside an income in dollars)."""
    x = domain.x if x is None else x
    flat = np.ascontiguousarray(x[rows].reshape(len(rows), -1), dtype=np.float32) + np.float32(0.0)  # -0.0 = 0.0
    if x.ndim == 2:
        return flat, flat.view(np.int32)  # exact, twice
    lo, hi = (float(v) for v in domain.value_range)
    scale = np.float32(1e4 / (hi - lo if hi > lo else 1.0))
    with np.errstate(invalid="ignore"):  # NaN rows (colour beside grey, :func:`_grey`): compared raw, never equal
        return flat, np.rint(np.nan_to_num((flat - np.float32(lo)) * scale, nan=-1.0)).astype(np.int32)


def _grey(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images as (N, 1, H, W): grey pictures stored with equal channels as their one
    channel, colour ones as NaN (never equal to a grey image)."""
    if x.shape[1] == 1:
        return x
    x = np.asarray(x, dtype=np.float32)
    same = (x[:, 1:3] == x[:, :1]).reshape(len(x), -1).all(1)
    # the other side is grey (one channel, no NaN), so a colour row's NaN matches nothing there
    return np.where(same[:, None, None, None], x[:, :1], np.float32(np.nan))


def _signatures(flat: np.ndarray, unit: np.ndarray) -> list[tuple]:
    """Cheap per-row summaries, equal for equal rows: a prefilter before exact hashing."""
    raw = np.stack([flat.sum(1, dtype=np.float64), (flat.astype(np.float64) ** 2).sum(1)], 1)
    ints = np.stack([unit.sum(1, dtype=np.int64), (unit.astype(np.int64) ** 2).sum(1)], 1)
    return [(b"raw", *r, b"unit", *u) for r, u in zip(raw.tolist(), ints.tolist(), strict=True)]


def _pictures(x: np.ndarray) -> bool:
    """Whether ``x`` (N, C, H, W) holds pictures, not series stored as arrays (see the module's docstring)."""
    from transferkit.data.preprocess import is_picture

    return x.ndim == 4 and is_picture(tuple(x.shape[2:]))


def _centred_units(flat: np.ndarray) -> np.ndarray:
    """Rows minus their mean, scaled to length 1 (float32): dot products are pixel correlations.
    Constant rows (and NaN ones, colour beside grey) stay zero, near nothing."""
    x = np.nan_to_num(np.asarray(flat, dtype=np.float32), nan=0.0)
    x = x - x.mean(1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norm > 1e-6 * (1.0 + np.abs(x).max(1, keepdims=True)), x / np.maximum(norm, 1e-30), 0.0).astype(np.float32)


def _luminance(x: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) as (N, H * W) float32 grey: one channel as it is, colour as its luminance
    (Rec. 601 weights; an alpha channel left out). A grey copy of a colour image, or a tinted copy
    of a grey one, then correlates with it as the picture does (compared over all channels, a trial's
    sepia copies of MNIST digits and grey copies of colour photos were never found). Other arrays
    are flattened."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4:
        x = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2] if x.shape[1] >= 3 else x[:, 0]
    return x.reshape(len(x), -1)


def near_copies(xs: np.ndarray, xt: np.ndarray) -> dict[int, np.ndarray]:
    """For each image of ``xt`` (M, C, H, W) with one, the images of ``xs`` (N, C', H, W) its
    luminance correlates with at ``NEAR_R`` or more. A random projection to ``PROJECTED`` dimensions
    picks candidates (a pair at r = NEAR_R is kept unless the projection stretches its distance
    4-fold, which a 64-dimensional one practically never does), each then checked exactly, in
    chunks: memory stays bounded however many pairs look alike (a trial's 800 frames of one fixed
    scene needed 10 GB when every candidate was checked at once). About 10 s for 10,000 against
    60,000 28x28 images on 2 cores, milliseconds for hundreds."""
    import torch

    if len(xt) == 0 or len(xs) == 0:
        return {}
    t_all = torch.from_numpy(_centred_units(_luminance(xt)))
    t_live = (t_all != 0).any(1)  # constant images are near nothing: never candidates
    dim = t_all.shape[1]
    proj = None
    if dim > PROJECTED:
        gen = torch.Generator().manual_seed(0)
        proj = torch.randn(dim, PROJECTED, generator=gen) / PROJECTED**0.5
    tp_all = t_all @ proj if proj is not None else t_all
    limit = 4 * 2 * (1 - NEAR_R)  # squared distance: 2 - 2r, with room for the projection
    chunk = max(1, PAIRS // dim)  # candidate pairs checked exactly at a time
    found: dict[int, list] = {}
    for start in range(0, len(xs), BLOCK):
        s = torch.from_numpy(_centred_units(_luminance(xs[start : start + BLOCK])))
        s_live = (s != 0).any(1)
        sp = s @ proj if proj is not None else s
        sn = (sp * sp).sum(1)[None, :]
        for t0 in range(0, len(t_all), TEST_BLOCK):
            t, tp = t_all[t0 : t0 + TEST_BLOCK], tp_all[t0 : t0 + TEST_BLOCK]
            near = ((tp * tp).sum(1, keepdim=True) + sn - 2 * tp @ sp.T <= limit)
            near &= t_live[t0 : t0 + TEST_BLOCK, None] & s_live[None, :]
            if int(near.sum()) > DENSE_SHARE * near.numel():  # many look alike (one fixed scene): all pairs at once
                i, j = torch.nonzero(t @ s.T >= NEAR_R - 1e-6, as_tuple=True)
                pairs = [(i, j)]
            else:  # few candidates: each checked exactly, in chunks of bounded memory
                i, j = torch.nonzero(near, as_tuple=True)
                pairs = [(i[c : c + chunk], j[c : c + chunk]) for c in range(0, len(i), chunk)]
                pairs = [(ic[keep], jc[keep]) for ic, jc in pairs
                         if (keep := (t[ic] * s[jc]).sum(1) >= NEAR_R - 1e-6).any()]  # fmt: skip
            del near
            for ic, jc in pairs:
                for a, b in zip(ic.tolist(), jc.tolist(), strict=True):
                    found.setdefault(t0 + a, []).append(start + b)
    return {a: np.asarray(b) for a, b in found.items()}


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(a.tobytes(), digest_size=16).digest()


def copy_groups(x: np.ndarray) -> np.ndarray:
    """(N,) ids, equal for rows of ``x`` (N, ...) that are exact copies of each other."""
    flat = np.ascontiguousarray(np.asarray(x).reshape(len(x), -1))
    if flat.dtype.kind == "f":
        flat = flat + flat.dtype.type(0.0)  # -0.0 = 0.0
    ids: dict[bytes, int] = {}
    return np.array([ids.setdefault(_digest(row), len(ids)) for row in flat], dtype=np.int64)


def text_key(text: str) -> str:
    """What makes two texts copies: equal once case is folded and runs of white space are one
    space ("Great  movie" and "great movie"). An uncased encoder reads them as one input, and
    to a cased one they are still the same example."""
    return " ".join(text.split()).casefold()


def input_groups(domain) -> np.ndarray:
    """:func:`copy_groups` of a domain's inputs as stored (texts: equal :func:`text_key`)."""
    texts = getattr(domain, "texts", None)
    if texts is not None:
        ids: dict[str, int] = {}
        return np.array([ids.setdefault(text_key(t), len(ids)) for t in texts], dtype=np.int64)
    return copy_groups(domain.x)


def split_copies_note(groups: np.ndarray, y: np.ndarray, role: str = "target", texts: bool = False) -> str | None:
    """What the test split did with a domain's copies, if it has any (``texts``: copies up to
    case and spacing, :func:`text_key`)."""
    counts = np.bincount(groups)
    repeated = counts > 1
    if not repeated.any():
        return None
    copies = int(counts[repeated].sum() - repeated.sum())
    labels: dict[int, set] = {}
    for g, c in zip(groups.tolist(), np.asarray(y).tolist(), strict=True):
        if repeated[g]:
            labels.setdefault(g, set()).add(c)
    mixed = sum(len(names) > 1 for names in labels.values())
    both = f", {mixed} of them under more than one class" if mixed else ""
    one = copies == 1
    kind = ("a copy of another" if one else "copies of others") + (", up to case and spacing" if texts else "")
    kind = kind if texts else ("an exact copy of another" if one else "exact copies of others")
    inputs = int(repeated.sum())
    return (f"{copies} of the {role}'s {len(groups)} examples {'is' if one else 'are'} {kind} ({inputs} input{'s' * (inputs > 1)} "
            f"repeated{both}); each input's copies were kept on one side of the test split, so no test example is "
            "a copy of a training one.")


def count_test_in_source(source, target, test_idx: np.ndarray) -> Overlap:
    """How many of ``target``'s examples at ``test_idx`` appear among ``source``'s inputs (images: also
    nearly, see the module's docstring)."""
    test_idx = np.asarray(test_idx)
    near: list[int] = []  # positions in test_idx of the near copies
    if source is None or len(test_idx) == 0:
        return Overlap(0, 0)
    if (getattr(source, "texts", None) is None) != (getattr(target, "texts", None) is None):
        return Overlap(0, 0)
    if getattr(source, "texts", None) is not None:
        seen: dict = {}
        for text, label in zip(source.texts, source.y, strict=True):
            seen.setdefault(text_key(text), set()).add(source.classes[int(label)])
        hits = [(seen.get(text_key(target.texts[i])), i) for i in test_idx]
    else:
        xs, xt = source.x, target.x
        if xs.ndim == xt.ndim == 4 and xs.shape[2:] == xt.shape[2:] and 1 in (xs.shape[1], xt.shape[1]) \
                and xs.shape[1] != xt.shape[1]:  # (colour against RGBA: other inputs, as before)
            xs, xt = _grey(xs), _grey(xt)  # a folder mixing grey and colour is read as colour: grey copies count
        hits = [(None, i) for i in test_idx]
        if xs.shape[1:] == xt.shape[1:]:  # inputs of another shape cannot be exactly the same examples
            hits = _exact_hits(source, target, test_idx, xs, xt)
        xs, xt = source.x, target.x  # near copies: compared in luminance (colour beside grey too)
        if xs.ndim == xt.ndim == 4 and xs.shape[2:] == xt.shape[2:] and _pictures(xt):  # ... of those not exact
            rest = [k for k, (h, _) in enumerate(hits) if h is None]
            for k, rows in near_copies(xs, np.asarray(xt)[test_idx[rest]]).items() if rest else ():
                hits[rest[k]] = ({source.classes[int(c)] for c in source.y[rows]}, hits[rest[k]][1])
                near.append(rest[k])
    same = [h is not None and target.classes[int(target.y[i])] in h for h, i in hits]
    return Overlap(sum(h is not None for h, _ in hits), sum(same), tuple(int(i) for h, i in hits if h is not None),
                   len(near), sum(same[k] for k in near), tuple(int(hits[k][1]) for k in near))  # fmt: skip


def _exact_hits(source, target, test_idx: np.ndarray, xs: np.ndarray, xt: np.ndarray) -> list[tuple]:
    """(class names of the source inputs equal to it, or None; its row) for each test example."""
    t_flat, t_unit = _arrays(target, test_idx, xt)
    t_sig = _signatures(t_flat, t_unit)
    raw_sigs, unit_sigs = {sig[:3] for sig in t_sig}, {sig[3:] for sig in t_sig}
    seen: dict = {}
    for start in range(0, len(source.y), BLOCK):  # in blocks: a few copies of one block, not of the source
        rows = np.arange(start, min(start + BLOCK, len(source.y)))
        s_flat, s_unit = _arrays(source, rows, xs)
        for j, sig in enumerate(_signatures(s_flat, s_unit)):  # exact hashes only where a summary matches
            if sig[:3] in raw_sigs or sig[3:] in unit_sigs:
                for key in (b"raw" + _digest(s_flat[j]), b"unit" + _digest(s_unit[j])):
                    seen.setdefault(key, set()).add(source.classes[int(source.y[rows[j]])])
    hits = []
    for k, i in enumerate(test_idx):
        names = set()
        if seen:  # some source row shares a summary with some test row: compare exactly
            names = seen.get(b"raw" + _digest(t_flat[k]), set()) | seen.get(b"unit" + _digest(t_unit[k]), set())
        hits.append((names or None, i))
    return hits


def check_test_not_in_source(source, target, test_idx: np.ndarray) -> Overlap:
    """Refuses image sources holding exact copies of more than ``LEAK_SHARE`` of the test split
    under the same class names; returns the counts (for the report) otherwise. Near copies are
    counted, and warned of under the results, never refused: distinct captures of one fixed scene
    can correlate as much as a re-saved copy (a trial's frames of one camera, noise sd 1)."""
    overlap = count_test_in_source(source, target, test_idx)
    m = len(test_idx)
    if target is not None and getattr(target, "is_image", False) and overlap.exact_same_class > LEAK_SHARE * m:
        raise TransferkitError(
            f"{overlap.exact_same_class} of the target's {m} test examples are also in the source {source.name!r}, "
            "with the same class (exact copies): the source model would be trained on the labels every method is "
            "scored on, and all transfer results would be inflated.",
            "use a source without the target's examples (other classes or another data set), or remove them "
            "from the source file.",
        )
    return overlap
