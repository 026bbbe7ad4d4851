"""Bringing a domain to the model's input: value range, channels, size, framing.

The recipe (:class:`Recipe`) is explicit, stored with every trained model, and applied
the same way at prediction time:

1. values: ``(x - lo) / (hi - lo)`` maps the domain's natural range to ``[0, 1]``;
2. channels: grey is repeated to 3 channels, RGB is averaged to grey, when needed;
3. size and framing: the image is resized (bilinear, antialiased) to ``(H - 2p, W - 2p)``
   and padded by ``p`` pixels to the model's ``(H, W)`` with the images' background (the
   median of their border pixels: 0 for digits on black, 1 for ink on white paper).

``pad: auto`` chooses ``p`` so that the target's content fills the same fraction of the
frame as the source's (content = pixels that differ from the border by more than a fifth
of the range). For images whose content touches the border in both domains this gives
``p = 0``; for digits written in a box (MNIST: a 20x20 digit centred in 28x28) versus
digits cropped to their box (optdigits) it restores the source's framing. Normalisation
(mean/std of the source's inputs) lives in the model itself, so it travels with it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from transferkit.data.column_ranges import column_note, column_ranges, heavy_columns
from transferkit.data.domain import Domain
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.models.shared import reads_series  # noqa: F401 (also read from here)


@dataclass(frozen=True)
class Recipe:
    value_range: tuple[float, float]
    shape: tuple[int, ...]  # model input: (C, H, W) or (D,)
    pad: int = 0
    resolution: tuple[int, int] | None = None  # pass through this (H, W) first: see match_resolution
    columns: tuple[str, ...] | None = None  # vectors from a CSV: the feature column names, in model order
    # vectors: each column's (min, max) on the data that set the scale, for per-column checks (column_ranges.py)
    column_ranges: tuple[tuple[float, float], ...] | None = None
    background: float = 0.0  # images: the value (on [0, 1]) the pad border is filled with, the images' own
    invert: bool = False  # images: raw inputs are read as max - x (`invert: true`), as the run's were
    # images: a whole-factor shrink averages each block (fit_size). Recipes made since session 26 say
    # so; one saved before (no such key) keeps the bilinear filter its model was trained with
    block_average: bool = False
    # vectors: each column mapped to 0..1 on its own ``column_ranges`` entry, not all on ``value_range``. The
    # model standardises each feature, so this changes nothing but float32 precision: beside one column of
    # +-1e6 a column of 7.30..7.50 kept 3 distinct values (95.9 -> 84.4 % in a trial). Recipes saved before
    # (no such key) keep the one range their models were trained with
    per_column: bool = False
    # vectors: (column, typical size) of the columns heavy-tailed on that data (column_ranges.heavy_columns), where
    # one far row is no sign of other units. Recipes saved before (no such key) check every column for such rows.
    # Not in the cache identity (identity()): it says how inputs are checked, not how a model is trained
    heavy_columns: tuple[tuple[int, float | None], ...] = ()

    def identity(self) -> dict:
        """:meth:`to_dict` without what only checks inputs (``heavy_columns``): the part of a cache key."""
        d = self.to_dict()
        d.pop("heavy_columns", None)
        return d

    def to_dict(self) -> dict:
        d = asdict(self)
        d["heavy_columns"] = [list(h) for h in self.heavy_columns]
        for key in ("background", "invert", "block_average", "per_column", "heavy_columns"):  # as before the fields existed: saved models and cache keys stay the same
            if not d[key]:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Recipe:
        res = d.get("resolution")
        cols = d.get("columns")
        ranges = d.get("column_ranges")
        return cls(tuple(d["value_range"]), tuple(d["shape"]), int(d.get("pad", 0)), tuple(res) if res else None,
                   tuple(cols) if cols else None,
                   tuple((float(lo), float(hi)) for lo, hi in ranges) if ranges else None,
                   float(d.get("background", 0.0)), bool(d.get("invert", False)),
                   bool(d.get("block_average", False)), bool(d.get("per_column", False)),
                   tuple((int(h[0]), None if h[1] is None else float(h[1])) if isinstance(h, list | tuple)
                         else (int(h), None) for h in d.get("heavy_columns", ())))  # fmt: skip


def unit_range(x: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    return ((x - lo) / (hi - lo)).astype(np.float32)


def spread_rows(n: int, sample: int = 500) -> np.ndarray:
    """Up to ``sample`` row indices spread evenly over ``n`` rows: the first rows of an image folder (read
    class by class) or of MNIST-5k (sorted by digit) are one class's, whose framing and background are not the
    set's (a review: a target of two classes framed differently got pad 4 sorted, 0 shuffled)."""
    return np.unique(np.linspace(0, max(n - 1, 0), min(sample, n)).astype(int))


def content_fraction(x01: np.ndarray, sample: int = 500) -> float:
    """Mean fraction of the frame spanned by each image's content box, (N, C, H, W) in [0, 1].

    Content is what differs from the image's border by more than 0.2, or by more than five
    times the border's own noise (a robust std, from the median absolute deviation) when the
    border is noisy: noise of std 0.12 crossed 0.2 all over the frame, so a noisy target
    looked as if it filled its frame and was shrunk into a border it did not need. An image
    too noisy to tell (nothing above the bar) is left out; none left: the whole frame.
    """
    x = x01[:: max(1, len(x01) // sample)].mean(axis=1)  # (n, H, W)
    border = _border_pixels(x)
    background = np.median(border, axis=1)
    dev = np.abs(border - background[:, None])
    noise = 1.4826 * np.median(dev, axis=1)
    noise = np.maximum(noise, _clipped_noise(border))
    bar = np.maximum(0.2, 5 * noise)[:, None, None]
    content = np.abs(x - background[:, None, None]) > bar
    fracs = []
    for m in content:
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        if len(rows) == 0:
            continue
        h = (rows[-1] - rows[0] + 1) / m.shape[0]
        w = (cols[-1] - cols[0] + 1) / m.shape[1]
        fracs.append(max(h, w))
    return float(np.mean(fracs)) if fracs else 1.0


def _clipped_noise(border: np.ndarray) -> np.ndarray:
    """(n,) noise std of borders whose noise was clipped at the value range's end (uint8 noise on
    a black background: about half its values become exactly 0, so the median absolute
    deviation reads about 0 and noise counted as content; a new user's noisy MNIST was shrunk
    into a 4-pixel border it did not need). For noise N(0, s) clipped at 0, the border's 75th
    percentile is 0.6745 s (at 1, its 25th is 1 - 0.6745 s). Used where 30-80 % of the border
    sits exactly on that end and the percentile is under the 0.2 bar (noise, not strokes
    touching the border); else 0."""
    out = np.zeros(len(border))
    for i, b in enumerate(border):
        for share, spread in (((b <= 0).mean(), np.quantile(b, 0.75)), ((b >= 1).mean(), 1 - np.quantile(b, 0.25))):
            if 0.3 <= float(share) <= 0.8 and 0 < float(spread) < 0.2:
                out[i] = max(out[i], float(spread) / 0.6745)
    return out


def auto_pad(source01: np.ndarray, target01: np.ndarray, size: tuple[int, int]) -> int:
    """Border (pixels) that makes the target's content fill the source's fraction of the frame.

    Only for pictures: an input whose sides differ more than 4:1, or whose shorter side is
    under 2 * MIN_IMAGE_SIDE, is more likely an array of signals (a multichannel series read as
    a channels x length image) than a framed object, and a border would squeeze its channels
    into fewer rows (6 sensors into 4): none is added."""
    if not is_picture(size):
        return 0
    return pad_to_frame(content_fraction(source01), target01, size)


def pad_to_frame(frame: float, target01: np.ndarray, size: tuple[int, int]) -> int:
    """Border (pixels) that makes the target's content fill ``frame``, the fraction of the frame a
    model's training images' content spanned (:func:`frame_of`, saved with its model)."""
    if not is_picture(size):
        return 0
    ratio = frame / content_fraction(target01)
    if ratio >= 0.95:  # content already fills as much of the frame as in the source
        return 0
    inner = max(4, round(min(size) * ratio))
    return max(0, (min(size) - inner) // 2)


def frame_of(domain) -> float | None:
    """The fraction of the frame the content of ``domain``'s images spans (:func:`content_fraction`), saved
    with a model so that images it has never met can be framed as its training images were (``auto`` pad
    without them: few-shot's ``source.model``); None for vectors, texts and arrays that are no pictures."""
    if domain is None or not getattr(domain, "is_image", False) or not is_picture(tuple(domain.input_shape[-2:])):
        return None
    return round(content_fraction(unit_range(domain.x[spread_rows(len(domain.x))], domain.value_range)), 4)


def _image_hint(shape: tuple[int, ...]) -> str:
    """How to turn a common wrong layout into images: one image, or flattened images."""
    roughly_square = len(shape) == 2 and 1 < shape[0] <= 4 * shape[1] and 1 < shape[1] <= 4 * shape[0]
    if roughly_square and int(round(shape[1] ** 0.5)) ** 2 != shape[1]:
        return "; one image of shape (H, W): pass x[None]."
    if len(shape) == 2 and int(round(shape[1] ** 0.5)) ** 2 == shape[1] and shape[1] >= 64:  # 8x8 or more: 4 columns are no image
        side = int(round(shape[1] ** 0.5))
        return (f"; flattened square images ({shape[1]} = {side}x{side} pixels): x.reshape(-1, {side}, {side}); "
                "one image of shape (H, W): x[None].")
    return "."


def outside_range_note(domain: Domain, source: Domain, per_column: bool = True) -> str | None:
    """Vectors take the source's scale; a note when the target's values lie far outside it
    (beyond half the source's span on either side): likely other units, not a domain shift.
    ``per_column``: also column by column (not for a series' steps)."""
    lo, hi = (float(v) for v in source.value_range)
    t_lo, t_hi = float(domain.x.min()), float(domain.x.max())
    margin = 0.5 * (hi - lo)
    # named, unless it is the API's "source": `rank` checks one target against several sources
    named = "" if source.name == "source" else f" ({Path(source.name).name})"
    note, by_column = None, per_column and domain.x.ndim == 2 and source.x.ndim == 2 and domain.x.shape[1] == source.x.shape[1]
    if by_column:  # one column's units
        names = domain.meta.get("columns") or source.meta.get("columns")
        note = column_note(domain.x, column_ranges(source.x), names, f"the source{named} holds for them",
                           fallback_span=hi - lo, heavy=heavy_columns(source.x))  # fmt: skip
    # said with the columns that take it there; columns checked one by one and none off: a heavy-tailed
    # column's own tail (one income 5 times the source's highest), not other units
    if (t_lo < lo - margin or t_hi > hi + margin) and (note or not by_column):
        whole = (f"{domain.name}: its values span [{t_lo:.3g}, {t_hi:.3g}], far outside the source's [{lo:.3g}, "
                 f"{hi:.3g}]{named}; " + ("series are read on the source's scale (the same sensors share one scale)."
                                          if domain.x.ndim == 4 or not per_column else
                                          "feature vectors are read on the source's scale (the same columns share one scale)."))
        return f"{whole} {note}" if note else (f"{whole} If the files use other units or were standardised "
                                              "differently, bring them to one scale first.")  # fmt: skip
    narrow = None if note else narrow_note(domain.x, source.x)  # z-normalised against raw: read as nearly constant
    return f"{domain.name}: {note}" if note else f"{domain.name}: {narrow}" if narrow else None


NARROW = 0.05  # inputs whose spread is under this share of the training values' read as nearly constant


def spread(x) -> tuple[float, float]:
    """The 1st and 99th percentiles of all values of ``x`` (a few outliers say nothing of its scale)."""
    lo, hi = np.quantile(np.asarray(x, dtype=np.float64).ravel(), [0.01, 0.99])
    return float(lo), float(hi)


def narrow_note(x, reference, whose: str = "the source's") -> str | None:
    """A note when the values of ``x`` spread over a sliver of the ``reference`` values' spread
    (1st-99th percentiles, under ``NARROW``): z-normalised series against raw ones, say, which the
    shared layers read as nearly constant (a trial: a raw OSULeaf source, the z-normalised ArrowHead
    target: head 34.4 % against 56.8 % with a z-normalised source, and nothing said)."""
    (t_lo, t_hi), (r_lo, r_hi) = spread(x), spread(reference)
    if r_hi <= r_lo or t_hi - t_lo >= NARROW * (r_hi - r_lo):
        return None
    return (f"its values spread over [{t_lo:.3g}, {t_hi:.3g}] (1st-99th percentile), {100 * (t_hi - t_lo) / (r_hi - r_lo):.1g} % "
            f"of {whose} [{r_lo:.3g}, {r_hi:.3g}]: read on that scale they are nearly constant. If one of them was "
            "standardised (z-normalised) or is in other units, bring both to one scale first.")  # fmt: skip


def _warn_outside_range(domain: Domain, source: Domain, per_column: bool = True) -> None:
    note = outside_range_note(domain, source, per_column)
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())


MIN_IMAGE_SIDE = 4  # pixels; below this an image has no shape to learn (and is likely not an image)


def is_picture(size: tuple[int, int]) -> bool:
    """Whether an (H, W) array reads as a picture: sides within 4:1 of each other and the
    shorter at least 2 * MIN_IMAGE_SIDE. Other arrays are more likely signals, a multichannel
    series read as a channels x length image: no border for them (:func:`auto_pad`), and
    ``auto`` gives them the ``cnn1d`` (``models.shared.auto_architecture``)."""
    short, long = sorted(size)
    return short >= 2 * MIN_IMAGE_SIDE and long <= 4 * short


def in_colour(x) -> bool:
    """Whether images ``x`` (N, C, H, W) are in colour by content: 3 or 4 channels that differ
    (grey pictures stored as RGB are grey)."""
    x = np.asarray(x)
    return x.ndim == 4 and x.shape[1] in (3, 4) and not (
        np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 1], x[:, 2]))


MIXED_SHARE = 0.2  # of a folder's images, the fewer kind (grey or colour) at least this: a model has learnt both


def colour_and_grey(x) -> bool:
    """Whether images ``x`` (N, C, H, W) hold both colour and grey images by content (a folder
    of photos and scans), each at least ``MIXED_SHARE`` of them: a model fitted on them has seen
    grey inputs as well as colour ones. A few of one kind teach it little (a trial, its scripts
    not in the repository: 9 grey among 150 photos silenced predict's warning, and grey inputs
    scored 46 % against 98 % in colour, as with none; with 25 % grey, 56 %; 50 %, 61 %), so
    those still leave predict warning of that kind. Where the line lies is a choice: even half
    grey left grey inputs well below colour ones there, so past it the warning is not given, as
    the user chose to fit on both kinds."""
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] not in (3, 4) or len(x) == 0:
        return False
    grey = ((x[:, 0] == x[:, 1]) & (x[:, 1] == x[:, 2])).reshape(len(x), -1).all(axis=1)
    return bool(min(grey.mean(), 1 - grey.mean()) >= MIXED_SHARE)


def colour_note(domain: Domain, shape: tuple[int, ...], reader: str = "the model") -> str | None:
    """What is lost when colour images go to a model of grey ``shape`` (C, H, W), else None
    (``reader``: the model named, e.g. rank's candidate: of several, which one)."""
    if len(shape) == 3 and getattr(domain, "is_image", False) and domain.input_shape[0] in (3, 4) and shape[0] == 1:
        if not in_colour(domain.x):
            return None  # grey images stored as RGB: averaging loses nothing
        verb = "read" if reader.startswith("candidates ") else "reads"
        return (f"{domain.name} holds colour images but {reader} {verb} grey ones: their colour is averaged away. "
                "A colour source (or pretrained model) would keep it.")  # fmt: skip
    return None


def grey_beside_colour_note(domain: Domain, source: Domain | None, shape: tuple[int, ...]) -> str | None:
    """A note when grey images meet a model of colour ``shape`` trained on a source in colour by content:
    each is read as three equal channels, which the source never showed (a trial's tinted RGB digits beside
    grey MNIST: source_only 46.2 % against 68.9 % from a grey source, and nothing said; the other way round
    is said by :func:`colour_note`). None for pretrained weights alone (no source images to compare)."""
    if (len(shape) != 3 or shape[0] != 3 or source is None or source is domain or not getattr(domain, "is_image", False)
            or not getattr(source, "is_image", False) or reads_series(tuple(shape))):  # fmt: skip
        return None
    if domain.input_shape[0] not in (1, 3) or (domain.input_shape[0] == 3 and in_colour(domain.x[spread_rows(len(domain.x))])):
        return None
    if not in_colour(source.x[spread_rows(len(source.x))]):
        return None
    return (f"{domain.name} holds grey images and the source {source.name} colour ones: each is read as three equal "
            "channels, a look the source's features never met, so expect a domain shift from colour alone. A grey "
            "source, or both read grey (model.input_shape with 1 channel), removes it.")


ENLARGED_ERROR = 0.1  # mean |x - up(down(x))| over mean |x - mean x|: at half size natural images sit at 0.22+


def detail_size(x: np.ndarray, below: int | None = None, most: int = 32) -> int | None:
    """The smallest shorter side s (at most half the images' shorter side, and under
    ``below``) whose version of that size, enlarged back (bilinearly or by repeating pixels,
    whichever rebuilds better), rebuilds images ``x`` (N, C, H, W) within ``ENLARGED_ERROR``
    of their own variation: images enlarged before they were saved hold no more detail than
    that. None when no such side exists, or the images are too small or too few to tell (a
    shorter side under 16, fewer than 2). Digits of 8x8 stored at 28x28 rebuild from 14x14
    within 0.07; MNIST, Fashion-MNIST and faces from half their side at 0.22 to 0.29."""
    x = np.asarray(x)
    if x.ndim != 4 or min(x.shape[2:]) < 16 or len(x) < 2:
        return None
    t = torch.from_numpy(x[:most].astype(np.float32)).mean(dim=1, keepdim=True)
    spread = float((t - t.mean(dim=(2, 3), keepdim=True)).abs().mean())
    if spread == 0.0:
        return None
    h, w = t.shape[2:]
    short, top = min(h, w), min(h, w) // 2
    if below is not None:
        top = min(top, below - 1)
    # sides about 15 % apart (4, 5, 6, 8, 10, 12, 14, 16, 19, ...): a few dozen rebuilds at most, not one per side
    sides = sorted({s for s in (int(4 * 1.15**i) for i in range(64)) if s <= top} | ({top} if top >= 4 else set()))
    for s in sides:
        size = (max(1, round(h * s / short)), max(1, round(w * s / short)))  # the shorter side s, the aspect kept
        small = F.interpolate(t, size=size, mode="area")
        errors = [float((t - F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)).abs().mean()),
                  float((t - F.interpolate(small, size=(h, w), mode="nearest")).abs().mean())]  # fmt: skip
        if min(errors) / spread <= ENLARGED_ERROR:
            return s
    return None


def enlarged_note(domain: Domain, shape: tuple[int, ...], source_name: str, chosen: bool = False,
                  source: Domain | None = None) -> str | None:
    """Said when a target's images hold less detail than their size, less than the model's
    input: enlarged before they were saved (or blurred), they are taken at their stored
    size, so resolution matching does not bring the source down to their detail (a trial's
    MNIST-5k source scored 59.0 % `source_only` on optdigits and 10.2 % on the same digits
    stored at 28x28). ``chosen``: the model's input was set (`model.input_shape`), not the
    source's size. ``source``: its images, when they hold no more detail than the target's (enlarged alike),
    nothing is said."""
    if len(shape) != 3 or not getattr(domain, "is_image", False) or len(domain.input_shape) != 3:
        return None
    s = detail_size(domain.x, below=min(shape[1:]))
    if s is None:
        return None
    theirs = detail_size(source.x, below=min(shape[1:])) if getattr(source, "is_image", False) else None
    if theirs is not None and theirs <= s:
        return None
    h, w = domain.input_shape[1:]
    model = (f"the model's input (`model.input_shape`) holds {shape[1]}x{shape[2]}" if chosen else
             f"the source {source_name}'s images hold {shape[1]}x{shape[2]}")  # fmt: skip
    return (f"{domain.name}'s {h}x{w} images hold less detail than their size: a version {s} pixels on the shorter "
            f"side rebuilds them within {ENLARGED_ERROR:.0%}, where {model}. Resolution matching reads the stored "
            "size, so the source is not brought down to their detail: if they were enlarged before they were "
            "saved, give them at the size they were recorded in, and `source.resolution: match` (the default) "
            "matches the source to it; if they are blurred instead (their detail lost, not their size changed), "
            "there is nothing to do.")


def shrunk_note(domain: Domain, shape: tuple[int, ...], source_name: str, fix: str | None = None) -> str | None:
    """Said when a target's images are shrunk to at most half their size on each side to fit
    a smaller source's model input: every method, scratch too, then reads them at the
    source's size (a new user's MNIST target at optdigits' 8x8: scratch 69.5 % against 84.5 %
    at 28x28). ``fix``: what to do instead of the experiment file's ``model.input_shape``."""
    if len(shape) != 3 or not getattr(domain, "is_image", False) or len(domain.input_shape) != 3:
        return None
    (h, w), (mh, mw) = domain.input_shape[1:], shape[1:]
    if h < 2 * mh or w < 2 * mw:
        return None
    return (f"{domain.name}'s {h}x{w} images are shrunk to {mh}x{mw}, the model's input (the size of the source "
            f"{source_name}'s images): every method, scratch too, reads them at {mh}x{mw}, so results on them stop at "
            f"what {mh}x{mw} pixels hold. " + (fix or f"Set `model.input_shape: [{shape[0]}, {h}, {w}]` to keep their "
                                                "detail (the source's images are then enlarged), and compare."))


def channels_note(x, trained_colour: bool, model_channels: int, what: str, trained_both: bool = False) -> str | None:
    """A warning when images ``x`` (N, C, H, W) given for prediction are in colour where the
    model learnt from grey images, or grey where it learnt from colour ones (``trained_colour``:
    its target's images, by content, :func:`in_colour`). Either way the model meets inputs of
    a kind it never saw, which a new user's predictions collapsed on; also when only some of the
    images are grey (a trial's batch of mostly colour photos was said nothing of). None when it
    learnt from both (``trained_both``: :func:`colour_and_grey`)."""
    if np.asarray(x).ndim != 4 or trained_both:
        return None
    colour = in_colour(x)
    if not trained_colour and colour:
        how = ("their colour is averaged away, and grey versions of colour images" if model_channels == 1
               else "colour images")  # fmt: skip
        return (f"{what} holds colour images, but the model learnt from grey ones: {how} can look unlike anything "
                "it saw; check a few predictions by eye.")
    if trained_colour and not colour and model_channels != 1:  # a grey model read its colour images as grey
        return (f"{what} holds grey images, but the model learnt from colour ones: inputs unlike anything it saw; "
                "give colour images if you have them.")
    if trained_colour and model_channels != 1:  # a few grey among colour ones: the batch is colour, they are not
        x = np.asarray(x)
        grey = int(((x[:, 0] == x[:, 1]) & (x[:, 1] == x[:, 2])).reshape(len(x), -1).all(axis=1).sum()) \
            if x.shape[1] >= 3 else 0  # fmt: skip
        if grey:
            return (f"{grey} of the {len(x)} images in {what} are grey, but the model learnt from colour ones: for "
                    "those, inputs unlike anything it saw; give them in colour if you have them.")
    return None


def alpha_note(x, model_channels: int, what: str) -> str | None:
    """A note when arrays ``x`` (N, 4, H, W) reach a grey or RGB model with a 4th channel that is
    not opaque throughout: it is dropped, so pixels see-through in RGBA images show whatever colour
    they store (black ink on a transparent sheet, np.asarray(Image.open(png)), read as an all-black
    image: a trial's API predicted D where the CLI's file, laid on a sheet, gave C). An image
    folder's files are laid on a sheet as they are read; arrays are not guessed at (a 4th band may
    be near infrared, not transparency)."""
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] != 4 or model_channels not in (1, 3) or len(x) == 0:
        return None
    alpha = x[:, 3]
    if float(alpha.max()) == float(alpha.min()):  # opaque throughout (or one value): dropping it loses nothing
        return None
    return (f"{what} has 4 channels and the model reads {model_channels}: the 4th is dropped. If these are RGBA "
            "images, their see-through pixels show the colour they store (often black) in its place: lay them on a "
            "background first (skimage.color.rgba2rgb(x, background=(1, 1, 1)), or PIL's Image.alpha_composite), as "
            "an image folder's transparent files are; if the 4th is another band (near infrared), nothing is lost "
            "but it.")


def turned_note(size: tuple[int, int], model_size: tuple[int, int], series: bool = False) -> tuple[str, str] | None:
    """(problem, fix) when images of ``size`` (H, W) are ``model_size`` on its side, else None.
    ``series``: the model reads series (the cnn1d's channels x steps), and the words say so.

    A resize would only stretch them: the rows become columns, and a model sees another
    picture. Arrays saved in two layouts do this, e.g. series with C channels of L steps as
    (N, C, L) in one file and (N, L, C) in the other; so do photos turned by 90 degrees.
    """
    if size[0] == size[1] or tuple(size) != tuple(model_size[::-1]):
        return None
    if series:
        return (f"holds series of {size[0]} channels x {size[1]} steps and the model reads {model_size[0]} channels x "
                f"{model_size[1]} steps: the same size on its side, which resampling would only garble.",
                "save both in one layout: swap the last two axes of this array (x.swapaxes(-1, -2)): series saved as "
                "(N, L, C), steps before channels, beside (N, C, L).")  # fmt: skip
    return (f"holds images of {size[0]}x{size[1]} (rows x columns) and the model reads {model_size[0]}x"
            f"{model_size[1]}: the same size on its side, which resizing would only stretch.",
            "save both in one layout: swap the last two axes of this array (x.swapaxes(-1, -2); e.g. series saved as "
            "(N, L, C) beside (N, C, L)), or turn these images by 90 degrees.")  # fmt: skip


STRETCH = 1.1  # width:height ratios further apart than this are a stretch (as image folders of mixed sizes are said)


def stretched_note(domain: Domain, shape: tuple[int, ...], architecture: str = "auto") -> str | None:
    """Said when ``domain``'s pictures are resized to the model's input ``shape`` with another width:height
    ratio, more than 10 % off: every shape in them is squashed or stretched against the source's (a trial's
    48x28 digits read at 28x28: source_only 0.349 against 0.667, with only "resized" in the report).
    Not for series (refused at another size) nor for images turned on their side (refused)."""
    if len(shape) != 3 or not getattr(domain, "is_image", False) or len(domain.input_shape) != 3:
        return None
    (h, w), (mh, mw) = domain.input_shape[1:], shape[1:]
    if reads_series(tuple(shape), architecture) or turned_note((h, w), (mh, mw)):
        return None
    if abs(math.log((w / h) / (mw / mh))) <= math.log(STRETCH):
        return None
    return (f"{domain.name}'s {h}x{w} images (height x width) are resized to the model's {mh}x{mw} input, "
            f"another width:height ratio ({w / h:.2f} against {mw / mh:.2f}): every shape in them is "
            f"{'squashed' if w / h > mw / mh else 'stretched'} against what the source showed. Crop them, or pad "
            f"them with their background, to the model's proportions ({mh}x{mw}) first, and compare source_only "
            "with scratch.")


def series_size_check(name: str, size: tuple[int, int], model_shape: tuple[int, ...], architecture: str = "auto") -> None:
    """Refuses resizing arrays of another size to a ``cnn1d`` model (``auto``: what it builds for
    ``model_shape``), which reads C channels x L steps: resizing would blend unrelated sensors
    or stretch each series in time. Pictures, and any model of another architecture, resize as before."""
    from transferkit.models.shared import auto_architecture

    built = auto_architecture(tuple(model_shape)) if architecture == "auto" else architecture
    if built != "cnn1d" or len(model_shape) != 3 or tuple(size) == tuple(model_shape[1:]):
        return
    (h, w), (mh, mw) = size, model_shape[1:]
    if architecture == "auto" and auto_architecture((model_shape[0], h, w)) != "cnn1d":  # pictures, not series
        raise TransferkitError(
            f"{name} holds images of {h}x{w}, and model.input_shape {list(model_shape)} is read as series (a side "
            "under 8, or sides more than 4:1 apart: `auto` builds the cnn1d for it), into which images are not resized.",
            f"give model.input_shape an image size (e.g. [{model_shape[0]}, {h}, {w}]), or `model: {{shared: cnn}}`.")  # fmt: skip
    if h != mh:
        raise TransferkitError(
            f"{name} holds series of {h} channels x {w} steps and the model reads {mh} x {mw}: a different number of "
            "channels (sensors) cannot be resized into the model's, which would blend unrelated sensors.",
            "give source and target the same channels, in the same order.")  # fmt: skip
    raise TransferkitError(
        f"{name} holds series of {w} steps and the model reads {mw}: resizing would stretch each series in time "
        "without a word, so it is refused, as for series of one channel.",
        f"resample each series to {mw} steps first (e.g. with np.interp), over the same duration.")  # fmt: skip


def dead_sensors_note(domain: Domain, source: Domain) -> str | None:
    """A note when sensors (channels of (N, 1, C, L) series) hold one value throughout the target
    while they vary in the source: a dead or disconnected sensor reads as a flat signal, and a
    model that learnt from it sees nothing (a new user's source_only fell to chance)."""
    if domain.x.ndim != 4 or source.x.ndim != 4 or domain.x.shape[2] != source.x.shape[2] or len(domain.x) < 2:
        return None
    flat = np.ptp(domain.x[:, 0], axis=(0, 2)) == 0  # (C,) one value in every series and step
    varies = np.ptp(source.x[:, 0], axis=(0, 2)) > 0
    dead = np.flatnonzero(flat & varies)
    if len(dead) == 0:
        return None
    which = ", ".join(str(int(c)) for c in dead[:5]) + (", ..." if len(dead) > 5 else "")
    return (f"{domain.name}: sensor(s) {which} (channels, counting from 0) hold one value throughout, in every series, "
            "while they vary in the source: a dead or disconnected sensor? The model reads a flat signal there; "
            "what it learnt from that sensor is lost.")


DEAD_MIN_ROWS = 10  # target rows that make one value throughout a column more than chance
DEAD_MIN_LEVELS = 10  # distinct source values that make a column a measurement, not a flag or a category


def dead_columns_note(domain: Domain, source: Domain) -> str | None:
    """A note when feature columns of (N, D) vectors hold one value in every target row while they
    vary in the source, over ``DEAD_MIN_LEVELS`` distinct values or more, not all whole numbers (a
    measurement: a one-hot, a flag or a number-coded category such as a month, of one value in one
    site's data, is no fault), and that value is the one of fewer than
    half the source's rows: a dead or stuck sensor, which the scale checks pass when its value lies
    within the source's range (a trial's column stuck at 0 cost source_only 97.7 -> 89.9 %, and
    nothing was said)."""
    if domain.x.ndim != 2 or source.x.ndim != 2 or domain.x.shape[1] != source.x.shape[1] or len(domain.x) < DEAD_MIN_ROWS:
        return None
    x, ref = np.asarray(domain.x), np.asarray(source.x)
    flat = np.ptp(x, axis=0) == 0
    # ... and the target's one value rare in the source (pixels given as vectors: a border blank in every target
    # image, and in most of the source's, is no fault)
    dead = [j for j in np.flatnonzero(flat)
            if len(np.unique(ref[:, j])) >= DEAD_MIN_LEVELS and np.mean(ref[:, j] == x[0, j]) < 0.5
            and not np.all(ref[:, j] == np.round(ref[:, j]))]  # fmt: skip
    # (whole numbers throughout the source: a count, or a category coded by number, month 1..12 or a site id, one
    # value of which a target from one site or month holds: no fault, a review)
    if not dead:
        return None
    names = domain.meta.get("columns") or source.meta.get("columns")
    name = (lambda j: repr(str(names[j]))) if names is not None and len(names) == x.shape[1] else (lambda j: f"{j}")
    which = "; ".join(f"{name(j)} at {float(x[0, j]):.3g} (the source: {float(ref[:, j].min()):.3g}..{float(ref[:, j].max()):.3g})"
                      for j in dead[:3]) + (f" and {len(dead) - 3} more" if len(dead) > 3 else "")  # fmt: skip
    where = "" if names is not None and len(names) == x.shape[1] else " (counting from 0)"
    return (f"{domain.name}: feature column(s){where} {which} hold one value in all {len(x)} rows while they vary in the "
            "source: a dead or stuck sensor? The model reads that value in every row, and what it learnt from the "
            "column is lost; if the sensor is gone for good, leave the column out of source and target alike.")  # fmt: skip


def make_recipe(
    domain: Domain, shape: tuple[int, ...], pad: int | str = 0, source: Domain | None = None, architecture: str = "auto",
    reader: str | None = "the model",
) -> Recipe:
    """The recipe that brings ``domain`` to the model input ``shape`` (``architecture``: the
    shared layers that read it; a ``cnn1d``'s series are refused at another size, not resized;
    ``reader``: how its notes name the model; None: no colour note, the caller gives it)."""
    if domain.is_image != (len(shape) == 3):
        c, steps = domain.input_shape[-2:] if domain.is_image else (0, 0)
        kind = (("images" if is_picture((c, steps)) else f"series of {c} channel{'s' * (c != 1)} x {steps} steps")
                if domain.is_image else f"vectors of {domain.input_shape[0]} features")  # fmt: skip  # (N, 1, 24): a series
        side = int(round(domain.input_shape[0] ** 0.5)) if not domain.is_image else 0
        reshape = (f" ({domain.input_shape[0]} = {side}x{side}: if they are flattened images, store x with shape "
                   f"(N, {side}, {side}) (in Python: X.reshape(-1, {side}, {side})), or for a table (a pixel CSV) set "
                   f"image_shape: [{side}, {side}] in its section; rank: --image-shape {side} {side})") if side > 1 and side * side == domain.input_shape[0] and len(shape) == 3 else ""
        if domain.is_image and len(shape) == 1 and int(np.prod(domain.input_shape)) == shape[0]:
            h, w = domain.input_shape[-2:]  # e.g. series saved as (N, 1, L), aeon's layout, read as 1xL images
            from transferkit.data.builtin import is_builtin

            other = f"the model's data (the source) with x of shape (N, {h}, {w})"  # a built-in cannot be re-saved
            # (N, L, 1) is no layout a model reads (L channels of 1 step): then only the reshape
            fixes = [*([] if is_builtin(domain.name) else ["x as x.reshape(len(x), -1)"]), *([other] if h <= w else [])]
            reshape = f" (its {h}x{w} values are the model's {shape[0]} features: store {', or '.join(fixes)})" if fixes else ""
        raise TransferkitError(
            f"{domain.name} holds {kind} but the model expects input {shape}.",
            f"use source and target of the same kind (both images or both vectors of equal length){reshape}.",
        )
    if not domain.is_image:
        if domain.input_shape != tuple(shape):
            raise TransferkitError(
                f"{domain.name} has {domain.input_shape[0]} features but the model expects {shape[0]}.",
                "give source and target the same feature columns"
                + ("." if domain.meta.get("columns") else f" (series of another length: resample each to {shape[0]} "
                   "values first, e.g. with np.interp)."),
            )
        # The same feature columns share one scale, the source's: a range of the target's own
        # (its min and max) would move its values against the source's for no reason.
        ref = source if source is not None else domain
        # a source without names (an .npz) reads the target's columns in their order: their names, if any, are the model's
        named = ref.meta.get("columns") or domain.meta.get("columns")
        if source is not None and source is not domain and not source.meta.get("columns") and domain.meta.get("columns"):
            cols = [str(c) for c in domain.meta["columns"]]
            order = ", ".join(cols[:4]) + (f", ... ({len(cols)} columns)" if len(cols) > 4 else "")
            warnings.warn(f"{domain.name}: its columns have names and the source's have none (an .npz or an array), "
                          f"so they are read by position, in the order {order}: check that it is the source's.",
                          TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        # series (N, L) for the cnn1d, which reads a pattern wherever it occurs: one step's range says where a
        # shape sat in time, not its units; the whole range is checked (here and in predict), not step by step
        steps = reads_series(shape, architecture)
        if source is not None and source is not domain:
            _warn_outside_range(domain, source, per_column=not steps)
            dead = None if steps else dead_columns_note(domain, source)
            if dead:
                warnings.warn(dead, TransferkitWarning, stacklevel=user_stacklevel())
        return Recipe(ref.value_range, tuple(shape), 0, columns=tuple(named) if named else None,
                      column_ranges=None if steps else column_ranges(ref.x), per_column=not steps,
                      heavy_columns=() if steps else heavy_columns(ref.x))  # fmt: skip
    turned = turned_note(tuple(domain.input_shape[-2:]), tuple(shape[1:]), reads_series(tuple(shape), architecture))
    if turned:
        raise TransferkitError(f"{domain.name} {turned[0]}", turned[1])
    side = min(domain.input_shape[-2:])
    scaled = tuple(domain.input_shape[-2:]) != tuple(shape[1:])  # at its own size, the shared layers say it
    h, w = domain.input_shape[-2:]
    if scaled and (side >= MIN_IMAGE_SIDE or h < w):  # (3 sensors, 100 steps) too: a series, said as one
        series_size_check(domain.name, tuple(domain.input_shape[-2:]), tuple(shape), architecture)
    if side < MIN_IMAGE_SIDE and scaled:  # (N, L, 1) sequences or 1x1 "images": nothing for a convolution to see
        raise TransferkitError(
            f"{domain.name} holds images of {h}x{w} pixels, too small to scale up to the model's "
            f"{shape[1]}x{shape[2]} input (images need at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}).",
            "if each example is a feature vector or a sequence, store x with shape (N, D).",
        )
    for note in (colour_note(domain, shape, reader), alpha_note(domain.x, shape[0], domain.name),
                 grey_beside_colour_note(domain, source, shape)) if reader is not None \
            else ():  # None: the caller says them  # fmt: skip
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    if source is not None and source is not domain and reads_series(shape, architecture):
        # A multichannel series (N, C, L) for the cnn1d: the same sensors share the source's scale,
        # as feature columns do; the target's own min and max (a spike, a missing extreme) would
        # move its values against the source's.
        _warn_outside_range(domain, source)
        dead = dead_sensors_note(domain, source)
        if dead:
            warnings.warn(dead, TransferkitWarning, stacklevel=user_stacklevel())
        return Recipe(source.value_range, tuple(shape), 0)
    if pad == "auto":
        if source is None or source is domain:
            pad = 0
        else:
            pad = auto_pad(
                unit_range(source.x[spread_rows(len(source.x))], source.value_range),
                unit_range(domain.x[spread_rows(len(domain.x))], domain.value_range),
                shape[1:],
            )
    if not isinstance(pad, int) or pad < 0 or 2 * pad >= min(shape[1:]):
        raise TransferkitError(
            f"pad={pad!r} does not fit an input of size {shape[1:]}.", "use `auto` or 0 <= pad < size/2."
        )
    return Recipe(domain.value_range, tuple(shape), pad, background=background_of(domain) if pad else 0.0,
                  block_average=True)


def background_of(domain: Domain, sample: int = 500) -> float:
    """The images' background on [0, 1]: the median of their border pixels (channels averaged).

    The pad border is filled with it, so white-background images get a white border, not a
    black frame the source never showed; for black-background images (digits) it is 0.
    """
    x = unit_range(domain.x[spread_rows(len(domain.x), sample)], domain.value_range).mean(axis=1)  # (n, H, W)
    return float(np.clip(np.median(_border_pixels(x)), 0.0, 1.0))


def mixed_polarity_note(domain: Domain, sample: int = 500) -> str | None:
    """A note when a tenth or more (and 5 or more) of a domain's images are dark on light and as many
    light on dark (each image's border median, on a sample spread over the domain): scans
    from two sources, say. The domain's overall median hides it, so :func:`polarity_note`
    cannot; a model then meets each kind of image with features learned for the other."""
    border = _grey_border_medians(domain, sample)
    if border is None or not mixed_polarity(border):
        return None
    light, dark = float((border >= 0.8).mean()), float((border <= 0.2).mean())
    return (f"{domain.name}: {100 * light:.0f} % of its images are dark on a light background and {100 * dark:.0f} % "
            "light on a dark one (the median of each image's border pixels): features learned from one kind read "
            "the other inverted; bring them to one polarity first (invert the others: x -> max - x).")  # fmt: skip


MIN_MIXED = 5  # images of each polarity, at least, before a set is called mixed (2 of 20 photos say little)


def mixed_polarity(borders: np.ndarray) -> bool:
    """A tenth or more of the images (their border medians on 0..1), and ``MIN_MIXED`` or more,
    dark on light, and as many light on dark."""
    borders = np.asarray(borders)
    light, dark = int((borders >= 0.8).sum()), int((borders <= 0.2).sum())
    return len(borders) > 0 and min(light, dark) >= max(MIN_MIXED, 0.1 * len(borders))


def polarity_reference(borders: np.ndarray) -> float | None:
    """What inputs are compared with for polarity (:func:`inputs_polarity_note`): the median of
    the training images' border medians, or None when they were of both polarities (a model
    trained on both reads either; the median of such a mix names one of them at random)."""
    borders = np.asarray(borders)
    return None if len(borders) == 0 or mixed_polarity(borders) else float(np.median(borders))


def domain_polarity_reference(domain: Domain) -> float | None:
    """:func:`background_of` the domain, or None when its images are of both polarities."""
    border = _grey_border_medians(domain)
    return None if border is not None and mixed_polarity(border) else background_of(domain)


def _grey_border_medians(domain: Domain, sample: int = 500) -> np.ndarray | None:
    """Each image's border median on 0..1, on a sample spread over a grey image domain; None
    for vectors, colour pictures (photos: light and dark backgrounds are content, not ink on
    paper), fewer than 10 images, or images under 8 pixels (the "border" is most of them)."""
    if not getattr(domain, "is_image", False) or len(domain.x) < 10 or min(domain.input_shape[-2:]) < 8 \
            or reads_series(tuple(domain.input_shape)):  # fmt: skip
        return None  # (under 8 pixels a side the "border" is most of the image; series have none)
    picked = domain.x[spread_rows(len(domain.x), sample)]
    if in_colour(picked):
        return None
    x = unit_range(picked, domain.value_range).mean(axis=1)  # (n, H, W)
    return np.median(_border_pixels(x), axis=1)


def ink_contrasts(t, pad: int = 0) -> np.ndarray:
    """Each model input's middle half's mean minus its border median (N,), channels averaged:
    > 0 light ink on a darker background, < 0 dark ink on a lighter one (:func:`ink_contrast`,
    image by image, inside the recipe's ``pad``)."""
    x = _grey_inside(t, pad)
    h, w = x.shape[-2:]
    middle = x[:, h // 4 : h - h // 4, w // 4 : w - w // 4].mean(axis=(1, 2))
    return middle - np.median(_border_pixels(x), axis=1)


def border_medians(t, pad: int = 0) -> np.ndarray:
    """Each model input's border median (N,), channels averaged: the border of the image inside
    the recipe's ``pad`` (that frame is filled with the training background, whatever the input)."""
    return np.median(_border_pixels(_grey_inside(t, pad)), axis=1)


def _grey_inside(t, pad: int = 0) -> np.ndarray:
    """(N, H, W): model inputs (N, C, H, W) with their channels averaged, inside the recipe's ``pad``."""
    x = np.asarray(t, dtype=np.float32).mean(axis=1)
    return x[:, pad:-pad, pad:-pad] if pad else x


LIGHT, DARK = 0.7, 0.3  # a background (border median on 0..1) this light or dark sides with paper or with night


def inputs_polarity_note(borders: np.ndarray, trained: float, what: str, names: list[str] | None = None,
                         trained_other: list[int] | None = None, inverted: bool = False,
                         inks: np.ndarray | None = None, trained_ink: float | None = None) -> str | None:  # fmt: skip
    """A note when inputs (their ``border_medians``) have the other polarity than the images the
    model was trained on (``trained``, their median): the model then reads them inverted, and its
    confident predictions are about chance. A tenth of the inputs or more, or any number when
    ``trained_other`` ([images of the other polarity, images] in training) shows the training
    images held next to none (fewer than 1 in 200, of 100 or more: scanned digits; grey photos have
    a few light skies among dark rooms, so a few of them among the inputs say nothing). ``names``
    name the first. ``inverted``: the run read its images as max - x (``invert: true``) and so were
    ``borders``; the note then describes the files as given, before that inversion.

    ``inks`` (:func:`ink_contrasts` of the inputs) and ``trained_ink`` (the training images' median
    ink contrast; from their background when not recorded) also flag tinted sheets: an input whose
    background is past the middle on the other side from the training images' and whose ink goes
    the other way (a trial's inverted, tinted digits, background 0.68 and ink 0.16, went unsaid
    beside a model trained on MNIST's 0.00, and every prediction was one class), as `run` says of a
    tinted target (:func:`polarity_note`)."""
    borders = np.asarray(borders)
    if trained <= 0.2:
        flipped, light_ink = borders >= 0.8, True
    elif trained >= 0.8:
        flipped, light_ink = borders <= 0.2, False
    else:
        flipped, light_ink = np.zeros(len(borders), bool), None
    if trained_ink is not None and abs(trained_ink) >= MIN_INK:
        light_ink = trained_ink > 0
    if inks is not None and light_ink is not None and len(inks) == len(borders):
        inks = np.asarray(inks)
        other_ink = inks <= -MIN_INK if light_ink else inks >= MIN_INK
        flipped = flipped | (other_ink & ((borders - MID) * (trained - MID) < 0))
    if light_ink is None:
        return None
    look, was = (("dark on a light background", "light on a dark one") if light_ink
                 else ("light on a dark background", "dark on a light one"))  # fmt: skip
    n = int(flipped.sum())
    pure = trained_other is not None and trained_other[1] >= 100 and trained_other[0] <= 0.005 * trained_other[1]
    if n == 0 or (n < 0.1 * len(borders) and not pure):
        return None
    shown = [names[i] for i in np.flatnonzero(flipped)[:3]] if names is not None and len(names) == len(borders) else []
    which = f" ({', '.join(shown)}{', ...' if n > len(shown) else ''})" if shown else ""
    if inverted:  # the files as given are the other way round from what the model sees
        look, was = ("light on a dark background", "dark on a light one") if look.startswith("dark") else \
            ("dark on a light background", "light on a dark one")  # fmt: skip
        return (f"{what}: {n} of the {len(borders)} input images{which} are {look} as given, where the run's target "
                f"images were {was}; the run read its images inverted (`invert: true`) and predict does the same, so "
                "the model reads these the other way round: give them as the run's own files were, not inverted.")
    return (f"{what}: {n} of the {len(borders)} input images{which} are {look}, the images the model was trained on "
            f"{was}: it reads them inverted; invert them first (x -> max - x).")


def other_polarity(borders: np.ndarray, reference: float | None) -> list[int] | None:
    """[how many of ``borders`` are of the other polarity than ``reference``, how many there are]
    (None when the reference is on neither side): what :func:`inputs_polarity_note` weighs."""
    if reference is None or 0.2 < reference < 0.8:
        return None
    borders = np.asarray(borders)
    other = borders >= 0.8 if reference <= 0.2 else borders <= 0.2
    return [int(other.sum()), len(borders)]


def swapped_inputs_note(borders: np.ndarray, trained: float, what: str, colour: bool = False) -> str | None:
    """The fit-time check of inputs against the source's images as a whole (the API's counterpart of
    :func:`polarity_note`, in its words and by its rule): their median background and the source's
    on opposite sides of LIGHT / DARK (0.8 / 0.2 when both are colour pictures)."""
    light, dark = (0.8, 0.2) if colour else (LIGHT, DARK)
    med = float(np.median(borders)) if len(borders) else 0.5
    if not ((trained >= light and med <= dark) or (trained <= dark and med >= light)):
        return None
    look = lambda b: "dark on a light background" if b >= light else "light on a dark background"  # noqa: E731
    return (f"{what}: its images are {look(med)} ({med:.2f} on 0..1, the median of their border pixels) and the "
            f"source's {look(trained)} ({trained:.2f}): ink and background are swapped, so the source's features "
            "read them inverted; invert one of them first (x -> max - x) unless that contrast is the task.")


def blank_note(images: list[np.ndarray], what: str, names: list[str] | None = None) -> str | None:
    """A note when input images hold one value throughout (blank, or a transparent sheet with
    nothing on it): the model still names a class, often with a high probability."""
    def flat(a: np.ndarray) -> np.ndarray:  # (N,) one value per channel throughout (a flat red is blank too)
        a = a.reshape(len(a), a.shape[1] if a.ndim > 2 else 1, -1)
        return (a.max(2) == a.min(2)).all(1)

    blank = np.concatenate([flat(a) for a in images if len(a)] or [np.zeros(0, bool)])
    n = int(blank.sum())
    if n == 0:
        return None
    first = f", e.g. {names[int(np.argmax(blank))]}" if names is not None and len(names) == len(blank) else ""
    return (f"{what}: {n} of the {len(blank)} inputs are blank (one value throughout{first}): their "
            "predictions say nothing about them, whatever the probability.")


def polarity_note(source: Domain, target: Domain) -> str | None:
    """A note when one domain's images are dark on light and the other's light on dark (black
    ink on white scans against white-on-black digits): every feature the source learned is
    inverted on the target. ``None`` when they match, or either is not images."""
    if not (getattr(source, "is_image", False) and getattr(target, "is_image", False)):
        return None
    if reads_series(tuple(source.input_shape)) or reads_series(tuple(target.input_shape)):
        return None  # series stored as (N, channels, length), as `auto` reads them: no ink, no paper
    if any(b is not None and mixed_polarity(b) for b in (_grey_border_medians(source), _grey_border_medians(target))):
        return None  # a domain of both polarities: mixed_polarity_note says so; inverting one would not help
    bs, bt = background_of(source), background_of(target)
    # opposite sides (light colour sheets, 0.79, against MNIST's 0.00 went unsaid under 0.8 / 0.2); colour
    # photos on both sides only at the extremes: their light and dark backgrounds are content
    photos = in_colour(source.x[:200]) and in_colour(target.x[:200])
    light, dark = (0.8, 0.2) if photos else (LIGHT, DARK)
    if min(bs, bt) > dark or max(bs, bt) < light:
        # a background between (tinted sheets: 0.60 against MNIST's 0.00; inverting them took a trial from 20 %
        # to 85 %) is the other side only where the ink says so: darker than it here, lighter there
        cs, ct = ink_contrast(source), ink_contrast(target)
        if photos or min(bs, bt) > dark or max(bs, bt) < MID or cs * ct >= 0 or min(abs(cs), abs(ct)) < MIN_INK:
            return None
    look = lambda b: "dark on a light background" if b == max(bs, bt) else "light on a dark background"  # noqa: E731
    return (f"the source's images are {look(bs)} ({bs:.2f} on 0..1, the median of their border pixels) and the "
            f"target's {look(bt)} ({bt:.2f}): ink and background are swapped, so the source's features read the "
            "target inverted; invert one of them first (x -> max - x; in an experiment file, `invert: true` under source or "
            "target) unless that contrast is the task.")  # fmt: skip


MID, MIN_INK = 0.5, 0.05  # a background past the middle, and ink at least this far from it on average


def ink_contrast(domain: Domain, sample: int = 500) -> float:
    """How much lighter (> 0) or darker (< 0) the middle of the images is than their border, on
    0..1 (channels averaged; the median over images of the middle half's mean minus the border's
    median): light ink on a dark background, or dark ink on a light one."""
    return float(np.median(ink_contrasts(unit_range(domain.x[spread_rows(len(domain.x), sample)], domain.value_range))))


def _border_pixels(x: np.ndarray) -> np.ndarray:
    """(n, 2H + 2W) pixels on the edges of each of the (n, H, W) images."""
    return np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)


def match_resolution(source: Recipe, target_native: tuple[int, int], target: Recipe) -> Recipe:
    """The source recipe, degraded to the target's effective resolution when that is lower.

    A target stored at 8x8 and shown to the model at 20x20 (inside a 28x28 frame) carries
    no detail finer than 1/2.5 of the model's pixels. Shared layers trained on sharp
    28x28 source images learn strokes the target never shows; passing the source through
    the same bottleneck (28 / 2.5 = 11 pixels, then back up) makes them learn features
    that exist in both domains. When the target is at least as sharp as the source, the
    source recipe is returned unchanged.
    """
    if len(target.shape) != 3:
        return source
    inner = (target.shape[1] - 2 * target.pad, target.shape[2] - 2 * target.pad)
    scale = min(inner[0] / target_native[0], inner[1] / target_native[1])
    if scale <= 1.25:
        return source
    res = (max(4, round(source.shape[1] / scale)), max(4, round(source.shape[2] / scale)))
    return Recipe(source.value_range, source.shape, source.pad, res, block_average=source.block_average)



def fit_size(t: torch.Tensor, size: tuple[int, int], block_average: bool = True) -> torch.Tensor:
    """Images (N, C, H, W) brought to ``size`` with antialiased bilinear interpolation, or,
    shrunk by a whole factor on both sides (56x56 to 28x28), by averaging each block of
    input pixels (``area``): that gives back an image stored at 2 or 3 times its size
    exactly, where the bilinear filter blurred it (a source model scored 95.8 % on 28x28
    digits and 66.5 % on the same digits stored pixel-doubled at 56x56). Other factors keep
    the bilinear filter, which torchvision's pretrained models were trained with."""
    h, w = t.shape[2:]
    if block_average and (h, w) != tuple(size) and h % size[0] == 0 and w % size[1] == 0:
        return F.interpolate(t, size=size, mode="area")
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)

def apply_recipe(x: np.ndarray, recipe: Recipe) -> torch.Tensor:
    """Raw inputs (N, ...) -> model inputs (N, *recipe.shape), float32 tensor."""
    if len(x) == 0:
        raise TransferkitError("there are no inputs (0 examples).", "give at least one example.")
    ranges = recipe.column_ranges if recipe.per_column and len(recipe.shape) == 1 else None
    if ranges is not None and x.ndim == 2 and x.shape[1] == len(ranges):  # vectors: each column on its own range
        lo = np.array([r[0] for r in ranges], dtype=np.float64)
        span = np.array([r[1] - r[0] for r in ranges], dtype=np.float64)
        t = torch.from_numpy(((x.astype(np.float64) - lo) / np.where(span > 0, span, 1.0)).astype(np.float32))
    else:
        t = torch.from_numpy(unit_range(x, recipe.value_range))
    if recipe.invert and len(recipe.shape) == 3:  # after scaling to 0..1: max - x is 1 - x
        t = 1.0 - t
    if len(recipe.shape) == 1:
        if t.ndim < 2 or t[0].numel() != recipe.shape[0]:  # 1-D x would be read as N one-feature rows
            d = recipe.shape[0]
            if x.ndim == 1 and d > 1:  # one example as a 1-D array, or a DataFrame's row (a pandas Series)
                raise TransferkitError(
                    f"a 1-D array of {len(x)} values would be read as {len(x)} examples of one value each; the model "
                    f"takes {d} features per example, shape (N, {d}).",
                    f"Reshape your data: one example as x.reshape(1, -1) (a DataFrame's row: df.iloc[[i]], with double brackets); "
                    f"several: one row of {d} features each.",
                )
            if sum(n != 1 for n in x.shape[1:]) > 1:  # images or multichannel series for a model of vectors
                raise TransferkitError(
                    f"examples of shape {tuple(x.shape[1:])} hold {t[0].numel()} values each; the model takes {d} "
                    f"features per example, shape (N, {d}): they are not the kind of data it was trained on.",
                    f"give it examples like those it was trained on: {d} features each, the same columns.",
                )
            raise TransferkitError(
                f"examples of shape {tuple(x.shape[1:])} do not fit the model, which takes {d} features per example, "
                f"shape (N, {d}).",
                (f"pass one row of {d} features per example (one example: x.reshape(1, -1)), the columns it was trained on"
                 if d > 1 else "pass one value per example as a column: x.reshape(-1, 1)")
                + ("." if recipe.columns or t.ndim < 2 else
                   f" (series of another length: resample each to {d} values first, e.g. with np.interp)."),
            )  # fmt: skip
        return t.reshape(len(t), -1)
    if t.ndim != 4:
        raise TransferkitError(
            f"examples of shape {tuple(x.shape[1:])} are not images; the model expects {recipe.shape}.",
            "give images (a folder, or an .npz x of shape (N, H, W) or (N, C, H, W)) like those it was trained on"
            + _image_hint(tuple(x.shape)),
        )
    c, h, w = recipe.shape
    if t.shape[1] != c:
        if t.shape[1] == 1:
            t = t.expand(-1, c, -1, -1)
        elif t.shape[1] in (3, 4) and c in (1, 3):  # colour (alpha dropped: alpha_note says so) to grey or RGB
            t = t[:, :3].mean(dim=1, keepdim=True) if c == 1 else t[:, :3]
        else:
            last = ""
            if x.ndim == 4 and x.shape[-1] <= min(x.shape[1:3]):  # fewer channels than pixels a side
                last = f" If they are channels-last ({x.shape[-1]} channels), pass x.transpose(0, 3, 1, 2)."
            elif int(np.prod(x.shape[1:])) == c * h * w:  # e.g. (N, C, 1, L) for a model of (1, C, L)
                last = f" If each example holds the model's {c}x{h}x{w} values, reshape: x.reshape(len(x), {c}, {h}, {w})."
            raise TransferkitError(
                f"examples of shape {tuple(x.shape[1:])} read as {t.shape[1]} channels of {t.shape[2]}x{t.shape[3]} pixels "
                f"cannot be mapped to the model's {c}.",
                f"give {'grey or RGB' if c in (1, 3) else f'grey or {c}-channel'} images in (N, C, H, W) layout.{last}",
            )
    inner = (h - 2 * recipe.pad, w - 2 * recipe.pad)
    if recipe.resolution is not None and tuple(t.shape[2:]) != tuple(recipe.resolution):
        t = F.interpolate(t, size=tuple(recipe.resolution), mode="bilinear", align_corners=False, antialias=True)
    if tuple(t.shape[2:]) != inner:
        t = fit_size(t, inner, recipe.block_average)
    if recipe.pad:
        t = F.pad(t, (recipe.pad,) * 4, value=float(recipe.background))
    return t.contiguous()
