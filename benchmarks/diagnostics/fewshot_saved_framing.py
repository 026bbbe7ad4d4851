"""Novel images framed differently from a saved model's training images (a diagnostic).

A new user's trial (session 29): letters A–M rendered with PIL's default font, 28x28, train a
source (``tk.pretrain``, affine augmentation, 3 epochs) and a ``head`` classifier on it, saved
with ``TransferClassifier.save``. Few-shot on the unseen letters N–Z then runs with
``source: {model: ...}`` twice: the letters as rendered, and the same letters padded into a
64x64 frame (their content small in it). ``pad: auto`` can add a border but not crop, so the
second reading is said with both content fractions. 5-way 1-shot, 15 queries, prototypes.

    python benchmarks/diagnostics/fewshot_saved_framing.py [--episodes 600]

Prints a table and writes benchmarks/results/diagnostics/fewshot_saved_framing.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

import transferkit as tk

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"


def letters(chars: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28x28 renderings of each letter: font size 14-21, shifted, rotated up to 15 degrees."""
    x, y = [], []
    for c, ch in enumerate(chars):
        for _ in range(n):
            size = int(rng.integers(14, 22))
            try:
                font = ImageFont.load_default(size=size)
            except TypeError:  # Pillow < 10.1: one size
                font = ImageFont.load_default()
            im = Image.new("L", (40, 40), 0)
            ImageDraw.Draw(im).text((8 + int(rng.integers(-3, 4)), 6 + int(rng.integers(-3, 4))), ch, fill=255, font=font)
            im = im.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR).resize((28, 28), Image.BILINEAR)
            x.append(np.clip(np.asarray(im, float) + rng.normal(0, 10, (28, 28)), 0, 255).astype(np.uint8))
            y.append(c)
    return np.stack(x), np.array(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=600)
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    xs, ys = letters("ABCDEFGHIJKLM", 150, rng)
    xn, yn = letters("NOPQRSTUVWXYZ", 40, rng)
    src = tk.pretrain(xs, ys, augment="affine", random_state=0, epochs=3)
    clf = tk.TransferClassifier("head", source=src).fit(xs[::10], ys[::10])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clf.save(Path(tmp) / "letters")
        names = np.array(list("NOPQRSTUVWXYZ"))
        for label, x in (("as rendered (28x28)", xn), ("padded into 64x64", np.pad(xn, ((0, 0), (18, 18), (18, 18))))):
            path = Path(tmp) / f"{len(rows)}.npz"
            np.savez(path, x=x, y=yn, classes=names)
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always")
                s = tk.run_fewshot({"source": {"model": str(Path(tmp) / "letters")}, "target": {"data": str(path)},
                                    "seeds": 1, "fewshot": {"n_way": 5, "k_shot": [1], "n_query": 15,
                                                            "episodes": args.episodes, "methods": ["prototypes"]}},
                                   out=Path(tmp) / f"run{len(rows)}", progress=False)  # fmt: skip
            r = s["results"][0]
            framing = next((str(w.message) for w in said if "content spans" in str(w.message)), None)
            rows.append({"novel images": label, "accuracy": 100 * r["accuracy_mean"],
                         "ci95": 100 * r["ci95_half_width"], "pad": s["target"]["recipe"]["pad"],
                         "framing_note": framing})  # fmt: skip
    print(f"| novel letters N-Z, 5-way 1-shot prototypes, {args.episodes} episodes | accuracy | border added | said |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['novel images']} | {r['accuracy']:.1f} ± {r['ci95']:.1f} | {r['pad']} | "
              f"{'yes' if r['framing_note'] else 'no'} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fewshot_saved_framing.json").write_text(json.dumps(
        {"episodes": args.episodes, "rows": rows, "wall_s": time.perf_counter() - start}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
