"""Errors meant for people: what was wrong, the offending value, and the fix.

Every user-facing problem (bad file, bad shape, unknown name, invalid config field)
raises :class:`TransferkitError`. The CLI prints its message on one line and exits
with code 2; the Python API lets it propagate.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class TransferkitError(ValueError):
    """A problem with the user's input. The message names the problem and the fix."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        message = problem if fix is None else f"{problem} Fix: {fix}"
        super().__init__(message)
        self.problem = problem
        self.fix = fix


class TransferkitWarning(UserWarning):
    """Something the user should know about their inputs or results that does not stop
    the work (e.g. images resized, inputs on another scale). The CLI prints it as one
    ``transferkit: warning:`` line; the Python API issues it with :mod:`warnings`."""


@contextmanager
def collected_warnings(once: bool = False) -> Iterator[list[str]]:
    """Collects the warnings raised inside and issues them again on leaving, also when an
    error leaves it; yields a list that then holds transferkit's messages (for a report).
    ``once``: each transferkit message is issued once (the same note about a target, raised
    per candidate). Other warnings are issued again as they were raised."""
    ours: list[str] = []
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TransferkitWarning)
            yield ours
    finally:
        for w in caught:
            mine = issubclass(w.category, TransferkitWarning)
            if mine and once and str(w.message) in ours:
                continue
            if mine:
                ours.append(str(w.message))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


class NotNumbers(TransferkitError, TypeError):
    """Inputs whose cells are not numbers (a dict, an object): a TypeError too, as numpy and
    scikit-learn raise for them."""


class TrainingDiverged(TransferkitError, FloatingPointError):
    """The training loss became NaN or infinite (too high a learning rate, or bad inputs)."""


# pydantic's range errors: (the key of the limit in the error's ctx, how a fix says the range)
BOUNDS = {"greater_than_equal": ("ge", "{:g} or more"), "greater_than": ("gt", "more than {:g}"),
          "less_than_equal": ("le", "{:g} or less"), "less_than": ("lt", "less than {:g}")}


def colon_hint(key, value) -> str | None:
    """The fix when a field name holds a colon and no value (YAML read ``{steps:100}`` as one
    name, ``steps:100``, with no value), else None."""
    if not isinstance(key, str) or value is not None or not re.fullmatch(r"[A-Za-z_]\w*:[^\s:/][^:]*", key):
        return None  # (not `http://x`, `a:b:c` or `steps :100`)
    name, _, rest = key.partition(":")
    return f"write `{name}: {rest.strip()}`, with a space after the colon: YAML reads `{key}` as one name with no value."


_FIELD_TEXT = re.compile(r"[A-Za-z_]\w*:[^\s:/\\].*")


def colon_text_hint(value) -> str | None:
    """The fix when a section or a method's parameters came as text made of ``name:value`` pieces
    (block-style YAML: ``params:`` then ``steps:100`` on the next line is the text
    ``'steps:100'``), else None."""
    if not isinstance(value, str):
        return None
    pieces = re.split(r"\s+(?=[A-Za-z_]\w*:)", value.strip())
    if not all(_FIELD_TEXT.fullmatch(p) for p in pieces):
        return None
    fields = " and ".join(f"`{name}: {rest.strip()}`" for name, _, rest in (p.partition(":") for p in pieces))
    each = "each colon" if len(pieces) > 1 else "the colon"
    return f"write {fields}, with a space after {each}: YAML reads `{value.strip()}` as text, not as fields."


def did_you_mean(value: str, choices: list[str]) -> str:
    """A short hint listing the valid choices, closest first."""
    import difflib

    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.5)
    rest = [c for c in choices if c not in close]
    return ", ".join(close + rest)


def user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside transferkit and
    scikit-learn: the user's line, also when ``cross_val_score`` or ``score`` made the call.
    Call it in the function that calls ``warnings.warn``."""
    internal = [Path(__file__).resolve().parent]
    for name in ("sklearn", "joblib"):  # cross_val_score calls fit through joblib
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            internal.append(Path(module.__file__).resolve().parent)
    wrapper = Path(contextlib.__file__).resolve()  # a context manager used as a decorator (rank's) calls from there

    def inside(frame) -> bool:
        where = Path(frame.f_code.co_filename).resolve()
        return where == wrapper or any(where.is_relative_to(d) for d in internal)

    frame, level = sys._getframe(1), 1
    while frame is not None and inside(frame):
        frame, level = frame.f_back, level + 1
    return level


TORCHVISION_CPU = "pip install torchvision --index-url https://download.pytorch.org/whl/cpu"


def install_hint(extra: str) -> str:
    """How to install an optional extra: quoted (zsh reads brackets), and from a checkout with
    the constraints file, which keeps the pinned torch (without it pip may replace a CPU torch
    with a multi-GB CUDA build). timm needs a torchvision built for the installed torch."""
    hint = f'pip install "transferkit[{extra}]" (from a checkout: pip install -c constraints.txt -e ".[{extra}]")'
    if extra == "timm":
        hint += f"; timm imports torchvision, which must be built for your torch (a CPU torch: {TORCHVISION_CPU})"
    return hint
