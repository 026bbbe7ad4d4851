"""Per-column scale checks for feature vectors: one column in other units.

Feature vectors are read on one scale, the source's (``Recipe.value_range``); a check of
all values against that one range misses a single column in other units whenever its
values stay inside the widest column's range (wine's ``proline`` in 0..1,700 hides an
``ash`` of about 2 multiplied by 400, or ``proline`` itself divided by 1,000). So the
recipe also keeps each column's (min, max) on the data that set its scale, and inputs
are compared column by column. A column is flagged when

* at least 2 rows, and 10 % or more of them, lie beyond half its training span on either
  side (a long tail or one real outlier is not flagged), or
* any row lies beyond 3 spans (one input alone in other units, or a data-entry error); in a
  column heavy-tailed in training (:func:`heavy_columns`), 2 rows or more and a tenth of its
  non-zero ones beyond 3 spans, or one row beyond 30, or
* in such a heavy-tailed column, with 30 non-zero values or more, the median of the non-zero
  magnitudes (its typical size) moved by 3 times or more from training's (the whole column in
  other units; fewer values' median moves so by chance), or
* with 10 or more rows, the bulk of its values (5th to 95th percentile) lies wholly outside
  its training range, spread over a tenth or less, or ten times or more, of that span:
  the signature of a change of units.

A column constant in training (span 0) is measured against the span of all the values
(``fallback_span``, the recipe's range), not skipped; the spread test does not apply to it.

A heavy-tailed column (incomes, amounts, counts that are nearly always 0) has its span set by a
few rows far from the rest, and new rows of the same distribution pass it by 3 spans now and
then. Drawn twice, 300 rows for training then 1,000, a Pareto column (alpha 1.5) was flagged in
67 of 200 draws with 3 spans and 6 with 30; a log-normal one (sigma 1.5) in 31 and 6. One row
of such a column multiplied by 400 is still found (Pareto: 199 -> 170 of 200; log-normal 200 -> 196;
normal, uniform and exponential columns are not heavy at 300 rows: all found, as before), and a
whole column multiplied by 5 or 10 is found by its typical size as often as before or more (a
review found the 30 spans alone missed most; benchmarks/diagnostics/heavy_tailed_columns.py).
"""

from __future__ import annotations

import numpy as np

MIN_ROWS_FOR_SPREAD = 10  # fewer rows say little of a column's spread
SHARE_BEYOND = 0.1  # rows beyond half the span that make a column off, not a tail
FAR = 3.0  # one row beyond this many spans: other units
HEAVY_FAR = 30.0  # ... in a heavy-tailed column, whose own tail passes 3 spans
RESCALED = 3.0  # a heavy column whose typical non-zero size moved by this factor or more: other units (x 5 or 10)
HEAVY_SPAN = 3.0  # a span over this many times the 5th-95th percentile spread: a heavy tail (a normal column: ~2 at 300 rows)


def union_ranges(a, b) -> tuple[tuple[float, float], ...]:
    """Per column, the range covering both ``a`` and ``b`` ((lo, hi) pairs); ``b`` without ``a``."""
    if a is None or len(a) != len(b):
        return tuple(b)
    return tuple((min(p[0], q[0]), max(p[1], q[1])) for p, q in zip(a, b, strict=True))


def column_ranges(x: np.ndarray) -> tuple[tuple[float, float], ...]:
    """(min, max) of each column of (N, D) ``x``."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return tuple((float(lo), float(hi)) for lo, hi in zip(x.min(axis=0), x.max(axis=0), strict=True))


def heavy_columns(x: np.ndarray) -> tuple[tuple[int, float | None], ...]:
    """(column, typical size) of the columns of (N, D) ``x`` whose span is over ``HEAVY_SPAN`` times
    their 5th-95th percentile spread (a few rows far from the rest: a heavy tail, or a column nearly
    always one value); none with fewer than ``MIN_ROWS_FOR_SPREAD`` rows, which say little of a tail.
    The typical size is the median of the column's non-zero magnitudes (None with fewer than
    ``MIN_NONZERO`` of them): a whole column in other units moves it by the units' factor."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < MIN_ROWS_FOR_SPREAD:
        return ()
    q_lo, q_hi = np.quantile(x, [0.05, 0.95], axis=0)
    span = x.max(axis=0) - x.min(axis=0)
    return tuple((int(j), _typical(x[:, j])) for j in np.flatnonzero(span > HEAVY_SPAN * (q_hi - q_lo)))


MIN_NONZERO = 10  # non-zero training values a typical size needs
# ... and new inputs: a median of 5 to 20 values of a heavy tail moves 3 times by chance (a review: batches of 10
# rows of the training distribution itself were flagged 18 times in 279 with 5)
MIN_NEW_NONZERO = 30


def _typical(col: np.ndarray, least: int = MIN_NONZERO) -> float | None:
    """The median of a column's non-zero magnitudes, or None with fewer than ``least`` of them to tell."""
    size = np.abs(col[col != 0])
    return float(np.median(size)) if len(size) >= least else None


def _heavy_sizes(heavy) -> dict[int, float | None]:
    """``heavy`` as {column: typical size}: (column, size) pairs, or column indices alone (recipes saved
    with this session's first form: no size)."""
    return {(int(h[0]) if isinstance(h, list | tuple) else int(h)):
            (None if h[1] is None else float(h[1])) if isinstance(h, list | tuple) else None
            for h in heavy} if heavy else {}  # fmt: skip


def off_columns(x: np.ndarray, ranges, fallback_span: float = 0.0,
                heavy=()) -> list[tuple[int, float, float, int, float | None]]:  # fmt: skip
    """Columns of (N, D) ``x`` on another scale than ``ranges``: (column, 5th percentile,
    95th percentile, rows beyond half the training span, its typical size over training's when that
    moved, else None), in column order.
    ``fallback_span``: the span for columns constant in training (0: they are skipped).
    ``heavy``: the columns heavy-tailed in training (:func:`heavy_columns`), where one far row is no
    sign of other units."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) == 0 or x.shape[1] != len(ranges):
        return []
    q_lo, q_hi = np.quantile(x, [0.05, 0.95], axis=0)
    out, heavy = [], _heavy_sizes(heavy)
    for j, (lo, hi) in enumerate(ranges):
        span = hi - lo if hi > lo else fallback_span
        if span <= 0:  # constant in training, and no other scale to compare with
            continue
        col = x[:, j]
        beyond = int(((col < lo - 0.5 * span) | (col > hi + 0.5 * span)).sum())
        far = HEAVY_FAR if j in heavy else FAR
        extreme = bool(((col < lo - far * span) | (col > hi + far * span)).any())
        if j in heavy and not extreme:  # beyond 3 spans: a tail's one or two rows, or a tenth of its non-zero ones
            past = int(((col < lo - FAR * span) | (col > hi + FAR * span)).sum())
            extreme = past >= 2 and past >= SHARE_BEYOND * int(np.count_nonzero(col))
        outside = q_hi[j] < lo or q_lo[j] > hi
        spread = q_hi[j] - q_lo[j]
        units = (hi > lo and len(x) >= MIN_ROWS_FOR_SPREAD and outside  # (no spread to compare a constant's with)
                 and (spread <= 0.1 * span or spread >= 10 * span))  # fmt: skip
        typical = heavy.get(j)  # a heavy column: its typical size moved by a factor
        now = _typical(col, MIN_NEW_NONZERO) if typical else None
        rescaled = bool(typical and now and not 1 / RESCALED < now / typical < RESCALED)
        if (beyond >= 2 and beyond >= SHARE_BEYOND * len(x)) or extreme or units or rescaled:
            out.append((j, float(q_lo[j]), float(q_hi[j]), beyond, now / typical if rescaled else None))
    return out


def column_note(
    x: np.ndarray, ranges, names=None, trained_on: str = "the model was trained on", fallback_span: float = 0.0,
    heavy=(),
) -> str | None:
    """One sentence naming the columns of ``x`` off their training scale (at most three,
    with the count of the rest), or None. ``heavy``: as :func:`off_columns`'s."""
    off = off_columns(x, ranges, fallback_span, heavy)
    if not off:
        return None

    name = _namer(names)
    parts = []
    for j, q_lo, q_hi, beyond, moved in off[:3]:
        lo, hi = ranges[j]
        col_lo, col_hi = float(np.min(x[:, j])), float(np.max(x[:, j]))
        if col_lo == col_hi:  # every row the same value
            where = f"{col_lo:.3g}"
        else:
            where = (f"{q_lo:.3g}..{q_hi:.3g} (5th-95th percentile)" if q_lo != q_hi
                     else f"{q_lo:.3g} in 90 % of rows or more")  # fmt: skip
            if f"{col_lo:.3g}..{col_hi:.3g}" != f"{q_lo:.3g}..{q_hi:.3g}":  # the rows that make it far off
                where += f", {col_lo:.3g}..{col_hi:.3g} in all"
        rows = f", {beyond} of {len(x)} rows beyond half that span" if beyond else ""
        if moved is not None:  # inside the range, maybe, but a whole heavy-tailed column rescaled
            rows += f", its typical size (median non-zero magnitude) {moved:.2g} times the training's"
        trained = f"{lo:.3g}..{hi:.3g}" if hi > lo else f"the constant {lo:.3g}"
        col = x[:, j]
        ids = len(col) >= 10 and bool(np.all(col == np.round(col))) and len(np.unique(col)) == len(col)
        ids = ids and not bool(np.all(col % 10 == 0))  # a feature x 1000 is all round numbers; ids are not
        parts.append(f"column {name(j)} at {where} against {trained}{rows}"
                     + (" (every value a different whole number: an id? an id is not a feature)" if ids else ""))  # fmt: skip
    more = f" and {len(off) - 3} more column(s)" if len(off) > 3 else ""
    return (f"{len(off)} feature column(s) lie far outside the values {trained_on}: " + "; ".join(parts) + more
            + ". If they are in other units or scaled differently, bring them to that scale first.")  # fmt: skip


def far_median_note(x: np.ndarray, ranges, names=None, trained_on: str = "X (given to fit) held",
                    spans: float = 3.0) -> str | None:  # fmt: skip
    """A note on columns of (N, D) ``x`` whose *median* lies more than ``spans`` times the
    training span outside the training range, or None: the test for a model whose ranges come
    from a few labelled rows (no source), which new rows often leave by a little; only a change
    of units or scaling moves the bulk that far (wine's columns x 1000, or standardised)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) == 0 or not ranges or x.shape[1] != len(ranges):
        return None
    med = np.median(x, axis=0)
    far = [j for j, (lo, hi) in enumerate(ranges) if hi > lo and not lo - spans * (hi - lo) <= med[j] <= hi + spans * (hi - lo)]
    if not far:
        return None

    name = _namer(names)
    parts = [f"column {name(j)} at a median of {med[j]:.3g} against {ranges[j][0]:.3g}..{ranges[j][1]:.3g}" for j in far[:3]]
    more = f" and {len(far) - 3} more column(s)" if len(far) > 3 else ""
    return (f"{len(far)} feature column(s) lie far outside the values {trained_on}: " + "; ".join(parts) + more
            + ". If they are in other units or scaled differently, bring them to that scale first.")


def _namer(names):
    """How a note names column j: its name, else its position."""
    return lambda j: repr(str(names[j])) if names is not None and j < len(names) else f"{j} (counting from 0)"
