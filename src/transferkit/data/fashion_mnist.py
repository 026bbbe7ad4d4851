"""Fashion-MNIST from IDX files: the Debian package, a user cache, or the official download.

Search order: ``$TRANSFERKIT_FASHION_MNIST`` (a folder), ``/usr/share/datasets/fashion-mnist``
(Debian ``dataset-fashion-mnist``), the transferkit cache, then a download from the
official mirror with the published MD5 checks (Xiao et al., 2017, arXiv:1708.07747).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np

from transferkit.atomic import write_atomic
from transferkit.errors import TransferkitError
from transferkit.paths import cache_dir

URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {  # name -> MD5 of the .gz file, as published by the data set's authors
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """Parse an (optionally gzipped) IDX file into a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise TransferkitError(f"{path} is not an unsigned-byte IDX file.", "re-download it.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise TransferkitError(f"{path} is truncated ({arr.size} values, header says {shape}).", "reinstall the data (apt-get install --reinstall dataset-fashion-mnist) or download it again.")
    return arr.reshape(shape)


def find_folder() -> Path:
    candidates = [os.environ.get("TRANSFERKIT_FASHION_MNIST"), SYSTEM_DIR, cache_dir() / "fashion-mnist"]
    for c in candidates:
        if c and all((Path(c) / f).exists() for f in FILES):
            return Path(c)
    return download(cache_dir() / "fashion-mnist")


def download(folder: Path) -> Path:
    for name, sha in FILES.items():
        target = folder / name
        if target.exists():
            continue
        try:
            with urllib.request.urlopen(URL + name, timeout=60) as r:
                data = r.read()
        except OSError as e:
            raise TransferkitError(
                f"Fashion-MNIST is not installed and could not be downloaded ({e}).",
                "apt-get install dataset-fashion-mnist, or put the four IDX .gz files in "
                f"{folder} or $TRANSFERKIT_FASHION_MNIST.",
            ) from None
        if hashlib.md5(data).hexdigest() != sha:
            raise TransferkitError(f"checksum mismatch for downloaded {name}.", "retry the download.")
        write_atomic(target, lambda p, d=data: p.write_bytes(d))
    return folder


def load_fashion_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images (train then test) as float32 (N, 1, 28, 28) in 0..255, labels int64."""
    folder = find_folder()
    xs = [read_idx(folder / f"{s}-images-idx3-ubyte.gz") for s in ("train", "t10k")]
    ys = [read_idx(folder / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")]
    x = np.concatenate(xs).astype(np.float32)[:, None]
    return x, np.concatenate(ys).astype(np.int64)
