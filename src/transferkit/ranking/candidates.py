"""Candidates for a target task: source models × cut points, scored without fine-tuning.

A *cut point* ``i`` keeps the first ``i`` shared blocks of a source model (frozen, as
transferred) and re-trains the rest; its features are the output after block ``i``:

    phi_i(x) = pool(block_i(... block_1(normalise(x))))        (N, D_i)

Convolutional outputs (N, C, H, W) are average-pooled to a g × g grid, g the largest
power of two with C·g² <= ``max_dim`` (global average pooling when C alone exceeds it),
then flattened; a small grid keeps the spatial layout that the re-trained blocks would
still use. Cut point ``num_blocks`` is the whole shared part (the linear-probe case).

Every candidate is scored by every registered score (:mod:`transferkit.ranking`) on the
labelled target examples. ``leep`` and ``nce`` read the source head, which sits on top
of the last block only, so they are reported at ``cut == num_blocks`` and left empty at
earlier cut points. A *reference* candidate, the same architecture with random weights
(what ``scratch`` starts from), says whether a source beats no transfer at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from transferkit.devices import device_of
from transferkit.errors import TransferkitError
from transferkit.models import TransferModel
from transferkit.ranking._registry import SCORES, get_score

MAX_DIM = 512
REFERENCE = "random-init"


@dataclass
class Candidate:
    """A model whose shared blocks may be transferred, named for tables.

    Attributes:
        name: How tables call it, e.g. ``mnist5k`` or ``runs/demo:finetune_k10_seed0``.
        model: The source model (shared layers + source head).
        reference: True for the random-weights reference (not a real source).
        source_head: Whether ``model``'s specific layers were trained on source labels
            (False for a pretrained encoder used as it is: LEEP and NCE need such a head).
        warning: What was found of it while it was trained (a source at chance), said once it is scored.
    """

    name: str
    model: TransferModel
    reference: bool = False
    source_head: bool = True
    warning: str | None = None


def pooled(h: torch.Tensor, max_dim: int = MAX_DIM) -> torch.Tensor:
    """(N, C, H, W) -> (N, C·g·g) average-pooled on a g × g grid; (N, C, L), a series' feature
    maps (``cnn1d``), -> (N, C·g) pooled on g segments of time; (N, D) unchanged."""
    if h.ndim in (3, 4):
        c, size = h.shape[1], min(h.shape[2:])
        g = 1
        while 2 * g <= size and c * (2 * g) ** (h.ndim - 2) <= max_dim:
            g *= 2
        h = F.adaptive_avg_pool2d(h, g) if h.ndim == 4 else F.adaptive_avg_pool1d(h, g)
    return h.flatten(1)


@torch.no_grad()
def pretrained_text_encoder(model: TransferModel) -> bool:
    """A pretrained text encoder (a transformer, read only whole): its one no-transfer reference
    is itself with random weights, which LogME favours on a few dozen texts (methods/auto.py).
    Not timm's image networks, which cannot be cut either: nothing measured says the same of them."""
    return model.config.get("architecture") == "pretrained" and bool(getattr(model.shared, "is_text", False))


def can_cut(model: TransferModel) -> bool:
    """True when features can be read after any number of shared blocks (0 = the input).

    Not for pretrained encoders whose layers are not one chain of blocks: transformers
    (text; their layers also take an attention mask) and timm models. Those give their
    whole output only (cut = num_blocks).
    """
    shared = model.shared
    if getattr(shared, "is_text", False):
        return False
    if hasattr(shared, "encoder"):
        return isinstance(getattr(shared.encoder, "features", None), torch.nn.Sequential)
    return True


def model_cuts(model: TransferModel, spec: str | list[int] | None, name: str) -> list[int]:
    """The cut points to score on ``model``: ``spec`` parsed, or only the whole model's output
    for one that cannot be cut (:func:`can_cut`), which refuses other explicit cut points."""
    if can_cut(model):
        try:
            return parse_cuts(spec, model.num_blocks)
        except TransferkitError as e:  # several candidates: say which one has fewer blocks
            raise TransferkitError(f"candidate {name}: {e.problem}", e.fix) from None
    whole = model.num_blocks
    if spec not in (None, "all") and parse_cuts(spec, whole) != [whole]:
        raise TransferkitError(
            f"candidate {name}: its encoder is not one chain of blocks (a transformer or timm model), "
            f"so it has no cut point but the whole model ({whole}).",
            f"drop --cuts or give --cuts {whole}.",
        )
    return [whole]


@torch.no_grad()
def cut_features(model: TransferModel, x: torch.Tensor, cut: int, max_dim: int = MAX_DIM) -> torch.Tensor:
    """(N, *input_shape) -> (N, D) pooled output after ``cut`` shared blocks, eval mode."""
    if not 0 <= cut <= model.num_blocks:
        raise TransferkitError(f"cut point {cut} is outside 0..{model.num_blocks}.", "use a block count of the model.")
    was = model.training
    model.eval()
    device = device_of(model)  # each batch goes to the model: x may be on another device
    out = [pooled(model.shared(model.normalise(x[i : i + 512].to(device)), upto=cut), max_dim)
           for i in range(0, len(x), 512)]  # fmt: skip
    model.train(was)
    return torch.cat(out).double()


@torch.no_grad()
def source_probs(model: TransferModel, x: torch.Tensor) -> np.ndarray:
    """(N, Cs) softmax of the source head on the target inputs."""
    model.eval()
    device = device_of(model)
    logits = torch.cat([model(x[i : i + 512].to(device)) for i in range(0, len(x), 512)])
    return F.softmax(logits.double(), dim=1).cpu().numpy()


def random_reference(model: TransferModel, seed: int = 0) -> TransferModel:
    """The same architecture and input normalisation with freshly initialised weights, on
    ``model``'s device; the caller's random state is left as it was.

    The weights are drawn on the CPU, so a model on a GPU gets the same reference as on the
    CPU; only the CPU generator is seeded (``torch.manual_seed`` would reseed the GPU's too).
    """
    device = device_of(model)
    ref = model.copy().cpu()
    gen_state = torch.random.get_rng_state()
    torch.random.default_generator.manual_seed(seed)
    for m in ref.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    torch.random.set_rng_state(gen_state)
    return ref.to(device).eval()


def resolve_scores(names: list[str] | None) -> list[str]:
    """Every registered score by default; unknown names raise a clear error."""
    if not names:
        return sorted(SCORES)
    for n in names:
        get_score(n)
    return list(names)


def score_one(name: str, feats: np.ndarray, y: np.ndarray, probs: np.ndarray | None) -> float | None:
    """One score, or None where it does not apply (no source head at this cut point)."""
    info = get_score(name)
    if info.needs_source_probs and probs is None:
        return None
    value = float(info.fn(feats, y, probs))
    return value if math.isfinite(value) else None


def cut_numbers(spec: str | list[int], example: str = "1,3") -> list[int]:
    """Explicit cut points ("1,3" or a list) as numbers, refused when they are not whole numbers."""
    try:
        return [int(c) for c in (spec.split(",") if isinstance(spec, str) else spec)]
    except (TypeError, ValueError):
        raise TransferkitError(f"cut points {spec!r} are not whole numbers.",
                               f"use 'all', 'last' or e.g. '{example}'.") from None  # fmt: skip


def parse_cuts(spec: str | list[int] | None, num_blocks: int) -> list[int]:
    """``None``/``"all"``: 1..num_blocks; ``"last"``: num_blocks (each model's whole shared part, however
    many blocks it has: candidates of other depths together); else explicit cut points, checked."""
    if spec is None or spec == "all":
        return list(range(1, num_blocks + 1))
    if spec == "last":
        return [num_blocks]
    cuts = cut_numbers(spec, f"1,{num_blocks}")
    bad = [c for c in cuts if not 1 <= c <= num_blocks]  # cut 0 (the raw input) is what the reference measures
    if bad:
        raise TransferkitError(f"cut points {bad} are outside 1..{num_blocks}.", f"use values in 1..{num_blocks}.")
    return sorted(set(cuts))


def score_candidates(
    candidates: list[Candidate],
    x: torch.Tensor,
    y: torch.Tensor,
    scores: list[str] | None = None,
    cuts: str | list[int] | None = None,
    same_label_space: bool = False,
) -> list[dict]:
    """Score every candidate at every cut point on the labelled target examples.

    Args:
        candidates: Source models (and optionally the random reference).
        x: (N, *input_shape) labelled target inputs, already brought to the models' input.
        y: (N,) their labels.
        scores: Score names (default: all registered).
        cuts: Cut points (default: every cut point 1..num_blocks of each model).
        same_label_space: Also report ``source_only``: the source head's accuracy on x.

    Returns:
        One row per (candidate, cut): ``candidate``, ``cut``, ``blocks``, ``dim``,
        ``reference``, ``seconds`` and one entry per score (None where it does not apply).
    """
    names = resolve_scores(scores)
    labels = y.cpu().numpy().astype(np.int64)
    rows = []
    for cand in candidates:
        model = cand.model
        probs = source_probs(model, x) if cand.source_head else None
        for cut in model_cuts(model, cuts, cand.name):
            start = time.perf_counter()
            feats = cut_features(model, x, cut).cpu().numpy()
            at_head = cut == model.num_blocks
            row = {"candidate": cand.name, "cut": cut, "blocks": model.num_blocks, "dim": int(feats.shape[1]),
                   "reference": cand.reference}  # fmt: skip
            for n in names:
                row[n] = score_one(n, feats, labels, probs if at_head else None)
            if same_label_space and at_head and not cand.reference:
                row["source_only"] = float(np.mean(probs.argmax(1) == labels))
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
    return rows


def rank_rows(rows: list[dict], by: str) -> list[dict]:
    """Rows sorted best first by score ``by`` (missing values last), with ``rank`` added."""
    get_score(by)
    ordered = sorted(rows, key=lambda r: (r.get(by) is None, -(r.get(by) or 0.0)))
    for i, r in enumerate(ordered):
        r["rank"] = i + 1 if r.get(by) is not None else None
    return ordered
