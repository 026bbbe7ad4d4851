"""Leak check: target test examples that also appear, input for input, in the source.

A source that holds the target's test examples trains the source model on what it is
scored on: ``source_only`` and every transfer method then look better than they are
(e.g. ``mnist5k`` as the source of ``mnist5k[0-4]``). Inputs are compared after mapping
each domain's value range to [0, 1] and rounding to 4 decimals, so a copy stored as 0..255
in one file and as 0..1 in the other is recognised; a resized or cropped copy only nearly (below). Images
of one and of three channels are compared in grey (a folder mixing colour and grey images is
read as colour). Vectors are compared exactly, as stored: one range for all of a table's
columns would put rows that differ only in a small column on one step.

Images are also matched when *nearly* equal: a pixel correlation (Pearson's r over all pixels
of their luminance, so any brightness offset or scale, a tint, or grey against colour is
ignored) of at least ``NEAR_R`` = 0.999. On MNIST-5k, optdigits and Fashion-MNIST that finds
99-100 % of copies re-encoded as JPEG at quality 95 or rounded to 2 decimals of 0..1 (of the
LFW subset's small 25x25 images, 70 % and 88 %; JPEG at quality 90 nearly all, at 85 about two
thirds), while no two distinct images of MNIST-5k, optdigits or the LFW subset come that close
(their nearest pairs: r = 0.981, 0.994, 0.982; BENCHMARKS "Near copies"). Series are not
matched so: distinct smooth series can correlate that much (30 of ACSF1's 100 training series
have a neighbour at r > 0.999), nor arrays that are no pictures
(``data.preprocess.is_picture``: a side under 8, or sides more than 4:1 apart; a multichannel
series is stored as one), in whose few values distinct examples correlate by chance.

Pictures not so matched are compared once more, as moved or resized copies, when both their
luminance and its differences between neighbouring pixels correlate at ``NEAR_R`` or more: a copy
moved by up to ``SHIFT`` = 2 pixels (1 below ``SHIFT_FROM`` = 16 a side), or cropped or padded by
as much a side, against the source image's central window at each such offset; and a copy stored
at another size (the smaller at least ``RESAMPLED_FROM`` = 12 a side), against the larger image
brought to its size as Pillow's box, bilinear and bicubic filters, torch's and OpenCV's area
averaging and the nearest pixel shrink it, or as undoes (least squares) their enlarging. The
differences are what keep distinct images apart: a moved copy's match exactly, while the pixels
alone line two distinct plain pictures of the LFW subset (a dark frame around an even patch) up
at r = 0.9989 a pixel apart. Both asked, the nearest distinct pairs of MNIST-5k, optdigits,
Fashion-MNIST's 10,000 test images and the LFW subset come to 0.918, 0.979, 0.981 and 0.990
moved, and, all made 12x12 against the others at full size, 0.994, 0.996 (MNIST, Fashion) and
0.958 (LFW); no distinct pair of Fashion-MNIST's 60,000 x 10,000 matched at 16x16, one product's
near-duplicate photo (r = 0.998 at full size) at 12x12, and 6 at 8x8, too many: 8x8 copies are
not looked for. Found: all 1-2 pixel moves, crops and pads of MNIST, Fashion-MNIST and LFW
images, and all copies of MNIST and Fashion-MNIST images made 12x12 or 16x16, or 32x32, by those
filters (LFW faces: 77-87 %, whose faint ones the rounding to 0..255 blurs); bicubic copies in part
(9-74 %), Lanczos, scikit-image and torch's bilinear without antialiasing hardly. A resize and back, a
crop resized back to the size, or a JPEG under quality 85 are not found: distinct images of one
class correlate as much as such copies do, in pixels and in differences alike.

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
SHIFT = 2  # pixels a copy may be moved by, or cropped or padded by a side, and still be found (the module's docstring)
SHIFT_FROM = 16  # ... in pictures with a side under this, 1: 2 would leave an 8x8 one a 4x4 window (16 values)
# copies at another size are matched at the smaller one if its sides are at least this: at 8x8, 6 distinct
# near-duplicate photos of Fashion-MNIST's 60,000 training x 10,000 test images matched (at 12x12 one, at 16x16 none)
RESAMPLED_FROM = 12
TEST_BLOCK = 2048  # target images compared at a time
DENSE_SHARE = 0.01  # candidates above this share of a block's pairs: all its pairs checked by one product
PAIRS = 1 << 24  # values of the candidate pairs checked exactly at a time (64 MB of float32 a side)
NEAR_WHAT = (f"pixel correlation >= {NEAR_R}, which re-saved, rounded or noised copies of an image reach, and so "
             "can distinct captures of one fixed scene; or, with the differences between neighbouring pixels "
             f"correlating as much, copies moved, cropped or padded by up to {SHIFT} pixels or stored at another "
             "size")  # what a near copy is, in messages: possibly not a copy
PROJECTED = 64  # dimensions of the random projection that finds candidate near copies quickly
UNIT_ROWS = 256  # views made unit rows at a time


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


def _pillow(n_in: int, n_out: int, kind: str) -> np.ndarray:
    """(n_out, n_in) weights of Pillow's filter ``kind`` (and torch's with ``antialias=True``): each
    output pixel a mean of the input pixels around its centre, weighted by the kernel, which is
    widened by the scale when shrinking."""
    kernel, support = _KERNELS[kind]
    scale = n_in / n_out
    wide = max(scale, 1.0)
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo, hi = max(0, int(centre - support * wide + 0.5)), min(n_in, int(centre + support * wide + 0.5))
        w[i, lo:hi] = [kernel((j - centre + 0.5) / wide) for j in range(lo, hi)]
    return w / w.sum(1, keepdims=True)


def _cubic(x: float, a: float = -0.5) -> float:
    x = abs(x)
    return ((a + 2) * x - (a + 3)) * x * x + 1 if x < 1 else (((x - 5) * x + 8) * x - 4) * a if x < 2 else 0.0


_KERNELS = {"box": (lambda x: float(-0.5 < x <= 0.5), 0.5), "bilinear": (lambda x: max(0.0, 1 - abs(x)), 1.0),
            "bicubic": (_cubic, 2.0)}  # fmt: skip


def _area(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): each output pixel the mean of the input it covers, pixels in part (OpenCV's INTER_AREA)."""
    step = n_in / n_out
    edges = np.arange(n_in + 1)[None, :]
    lo, hi = np.arange(n_out)[:, None] * step, (np.arange(n_out)[:, None] + 1) * step
    w = np.clip(np.minimum(hi, edges[:, 1:]) - np.maximum(lo, edges[:, :-1]), 0, None)
    return w / w.sum(1, keepdims=True)


def _pooled(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): torch's adaptive average pooling (``mode="area"``): whole pixels, in windows that may overlap."""
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        w[i, (i * n_in) // n_out : -(-(i + 1) * n_in // n_out)] = 1.0
    return w / w.sum(1, keepdims=True)


def _nearest(n_in: int, n_out: int, centre: float) -> np.ndarray:
    """(n_out, n_in): each output pixel the input pixel at (i + centre) * scale (torch's "nearest": 0, its
    "nearest-exact": 0.5)."""
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), np.minimum(n_in - 1, ((np.arange(n_out) + centre) * n_in / n_out).astype(int))] = 1.0
    return w


def _nearest_pillow(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): Pillow's NEAREST, which adds the scale to a running position in floating point: where
    (i + 0.5) * scale is a whole number that sum can fall just short of it and pick the pixel before (16 -> 12
    px: 0, 2, 3, 4, 5, 7, ... where the exact formula gives 0, 2, 3, 4, 6, 7, ...; a review found such copies
    missed at 624 size pairs)."""
    scale, at, picks = n_in / n_out, 0.5 * n_in / n_out, []
    for _ in range(n_out):
        picks.append(min(n_in - 1, int(at)))
        at += scale
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), picks] = 1.0
    return w


def _resamplers(n_big: int, n_small: int) -> list[np.ndarray]:
    """(n_small, n_big) matrices bringing a side of n_big pixels to n_small as the common image
    libraries would shrink it, and as undoes (least squares) their enlarging n_small pixels to
    n_big: a copy stored at another size is matched at the smaller one (see the module's docstring)."""
    filters = [lambda i, o, k=k: _pillow(i, o, k) for k in _KERNELS]
    nearest = [*(lambda i, o, c=c: _nearest(i, o, c) for c in (0.0, 0.5)), _nearest_pillow]
    shrink = [f(n_big, n_small) for f in [_area, _pooled, *filters, *nearest]]
    enlarge = [f(n_small, n_big) for f in [*filters[1:], *nearest]]  # (a box enlarges as the nearest pixel does)
    return shrink + [np.linalg.pinv(m) for m in enlarge]


def _moved(s_shape: tuple, t_shape: tuple):
    """(source view, target view) matching a copy moved by up to ``SHIFT`` pixels, or cropped or padded
    by as much a side: the source's central window against each other window of that size in the
    target; None for sizes further apart."""
    k = SHIFT if min(*s_shape, *t_shape) >= SHIFT_FROM else 1
    h, w = min(s_shape[0], t_shape[0]) - 2 * k, min(s_shape[1], t_shape[1]) - 2 * k
    if max(abs(a - b) for a, b in zip(s_shape, t_shape, strict=True)) > 2 * k:
        return None
    top, left = (s_shape[0] - h) // 2, (s_shape[1] - w) // 2
    at = [(a, b) for a in range(t_shape[0] - h + 1) for b in range(t_shape[1] - w + 1)]
    if s_shape == t_shape:  # unmoved: judged on the whole image (in a window, frames of one fixed scene matched)
        at.remove((top, left))
    return (lambda x: x[:, None, top : top + h, left : left + w],
            lambda x: np.stack([x[:, a : a + h, b : b + w] for a, b in at], 1))  # fmt: skip


def _resampled(s_shape: tuple, t_shape: tuple):
    """(source view, target view) matching a copy stored at another size: the larger image brought to
    the smaller's size by each of :func:`_resamplers`; None for equal sizes, or one larger one way
    and smaller the other."""
    if s_shape == t_shape or min(*s_shape, *t_shape) < RESAMPLED_FROM:
        return None
    if all(a >= b for a, b in zip(s_shape, t_shape, strict=True)):
        big, small, source_big = s_shape, t_shape, True
    elif all(a <= b for a, b in zip(s_shape, t_shape, strict=True)):
        big, small, source_big = t_shape, s_shape, False
    else:
        return None
    pairs = [(my.astype(np.float32), mx.T.astype(np.float32))
             for my, mx in zip(_resamplers(big[0], small[0]), _resamplers(big[1], small[1]), strict=True)]  # fmt: skip

    def shrink(x):
        return np.stack([my @ x @ mx for my, mx in pairs], 1)

    def whole(x):
        return x[:, None]

    return (shrink, whole) if source_big else (whole, shrink)


def _unit_rows(views: np.ndarray, differences: bool):
    """(B, V, h, w) views as (B * V, d) rows whose dot products are the views' pixel correlation or,
    with ``differences``, its mean with the correlation of their differences between neighbouring
    pixels (each half of the row scaled by 1 / sqrt 2)."""
    import torch

    h, w = views.shape[-2:]
    views = views.reshape(-1, h, w)
    out = np.empty((len(views), 3 * h * w - h - w if differences else h * w), np.float32)
    for a in range(0, len(views), UNIT_ROWS):  # a few at a time: the copies made on the way stay small
        v = views[a : a + UNIT_ROWS]
        out[a : a + len(v), : h * w] = _centred_units(v.reshape(len(v), -1))
        if differences:
            steps = [np.diff(v, axis=-1).reshape(len(v), -1), np.diff(v, axis=-2).reshape(len(v), -1)]
            out[a : a + len(v), h * w :] = _centred_units(np.concatenate(steps, 1))
    if differences:
        out *= np.float32(0.5**0.5)
    return torch.from_numpy(out)


def _confirmed(t, s, near, cut: int | None):
    """(i, j) pairs of rows of ``t`` and ``s`` that correlate at NEAR_R or more (``cut``: the rows hold two
    halves, :func:`_unit_rows`, and each must): all pairs by one product where ``near`` marks many
    candidates, else the candidates only, checked in chunks of bounded memory."""
    import torch

    halves = [slice(0, None)] if cut is None else [slice(0, cut), slice(cut, None)]
    if int(near.sum()) > DENSE_SHARE * near.numel():  # many look alike (one fixed scene): all pairs at once
        ok = torch.ones(near.shape, dtype=torch.bool)
        for part in halves:
            ok &= len(halves) * (t[:, part] @ s[:, part].T) >= NEAR_R - 1e-6
        return [torch.nonzero(ok, as_tuple=True)]
    i, j = torch.nonzero(near, as_tuple=True)
    chunk = max(1, PAIRS // t.shape[1])  # candidate pairs checked exactly at a time
    pairs = []
    for c in range(0, len(i), chunk):
        ic, jc = i[c : c + chunk], j[c : c + chunk]
        keep = torch.ones(len(ic), dtype=torch.bool)
        for part in halves:
            keep &= len(halves) * (t[ic, part] * s[jc, part]).sum(1) >= NEAR_R - 1e-6
        if keep.any():
            pairs.append((ic[keep], jc[keep]))
    return pairs


def _grid(x: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) as (N, H, W) float32 luminance (:func:`_luminance`)."""
    return _luminance(x).reshape(len(x), *x.shape[2:])


def _step(block: int, x: np.ndarray, per: int, dim: int) -> int:
    """Images of ``x`` (N, C, H, W) a block, with ``per`` rows of ``dim`` values each: at most ``block``
    rows, and at most the values of ``block`` whole images (a row of a window and its differences holds
    nearly three times an image's)."""
    return max(1, min(block // per, block * x.shape[2] * x.shape[3] // (per * dim)))


def _matches(xs: np.ndarray, xt: np.ndarray, views, differences: bool) -> dict[int, set]:
    """For each image of ``xt`` with one, the images of ``xs`` one of whose views (``views``: functions
    of (B, H, W) luminance to (B, V, h, w), for each side) correlates with one of its own at NEAR_R
    or more (``differences``: and so do their differences between neighbouring pixels). A random
    projection to ``PROJECTED`` dimensions picks candidates (a pair at r = NEAR_R is kept unless the
    projection stretches its distance 4-fold, which a 64-dimensional one practically never does),
    each then checked exactly, in chunks: memory stays bounded however many pairs look alike (a
    trial's 800 frames of one fixed scene needed 10 GB when every candidate was checked at once)."""
    import torch

    view_s, view_t = views
    lum_t = _grid(xt)
    first = view_t(lum_t[:1])
    per_t, dim = first.shape[1], _unit_rows(first, differences).shape[1]
    cut = first.shape[-2] * first.shape[-1] if differences else None
    per_s = view_s(_grid(xs[:1])).shape[1]
    step_t, step_s = _step(TEST_BLOCK, xt, per_t, dim), _step(BLOCK, xs, per_s, dim)
    proj = None
    if dim > PROJECTED:
        proj = torch.randn(dim, PROJECTED, generator=torch.Generator().manual_seed(0)) / PROJECTED**0.5
    limit = 4 * 2 * (1 - NEAR_R)  # squared distance: 2 - 2r, with room for the projection
    blocks = []  # per block of target images: (first image, projected rows, their limit on |s|^2 - 2 t.s)
    for a in range(0, len(xt), step_t):
        t = _unit_rows(view_t(lum_t[a : a + step_t]), differences)
        tp = t @ proj if proj is not None else t
        below = torch.where((t != 0).any(1), limit - (tp * tp).sum(1), -np.inf)  # constant views: near nothing
        blocks.append((a, tp, below[:, None]))
    found: dict[int, set] = {}
    for start in range(0, len(xs), step_s):
        s = _unit_rows(view_s(_grid(xs[start : start + step_s])), differences)
        sp = s @ proj if proj is not None else s
        sn = torch.where((s != 0).any(1), (sp * sp).sum(1), np.inf)[None, :]
        for a, tp, below in blocks:
            near = torch.addmm(sn, tp, sp.T, alpha=-2) <= below  # squared distance within the limit, in one pass
            if not near.any():
                continue
            t = _unit_rows(view_t(lum_t[a : a + step_t]), differences)  # exact rows, only where candidates are
            for ic, jc in _confirmed(t, s, near, cut):
                for i, j in zip((ic // per_t).tolist(), (jc // per_s).tolist(), strict=True):
                    found.setdefault(a + i, set()).add(start + j)
            del near
    return found


def _whole(x: np.ndarray) -> np.ndarray:
    return x[:, None]


def near_copies(xs: np.ndarray, xt: np.ndarray) -> dict[int, np.ndarray]:
    """For each image of ``xt`` (M, C, H, W) with one, the images of ``xs`` (N, C', H', W') it nearly
    equals (see the module's docstring): of the same size, whose luminance correlates with its own
    at ``NEAR_R`` or more; failing that, of which it is a copy moved by up to ``SHIFT`` pixels,
    cropped or padded by as much, or stored at another size, when both the luminance and its
    differences between neighbouring pixels correlate that much (:func:`_matches`). About 20 s for
    10,000 against 60,000 28x28 images on 2 cores (3.5 s of it the unmoved comparison, the rest each
    target's 24 moved windows), milliseconds for hundreds."""
    if len(xt) == 0 or len(xs) == 0:
        return {}
    s_shape, t_shape = tuple(xs.shape[2:]), tuple(xt.shape[2:])
    found = _matches(xs, xt, (_whole, _whole), False) if s_shape == t_shape else {}
    for views in filter(None, (_moved(s_shape, t_shape), _resampled(s_shape, t_shape))):
        rest = np.setdiff1d(np.arange(len(xt)), list(found))
        if len(rest):
            found.update({int(rest[k]): rows for k, rows in _matches(xs, np.asarray(xt)[rest], views, True).items()})
    return {a: np.array(sorted(found[a])) for a in sorted(found)}


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
        xs, xt = source.x, target.x  # near copies: compared in luminance (colour beside grey too), at any size
        if xs.ndim == xt.ndim == 4 and _pictures(xs) and _pictures(xt):  # ... of those not exact
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
