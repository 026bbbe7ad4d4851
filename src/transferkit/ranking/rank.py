"""``rank``: which source model, and where to cut it, for a target — before fine-tuning.

The target's labelled examples are drawn exactly as the protocol draws them (fixed
stratified test split from ``split_seed``, then ``shots`` per class from the pool with
the run ``seed``), so a ranking can be checked later against a run on the same splits.
Candidates are built-in or user data sets used as sources (trained on the fly with
:func:`transferkit.train.source.pretrain_source`, cached and shared with ``transferkit
run``), saved model files, and run folders (their deployed model and, when it is still
in the cache, their source model), and pretrained encoders used as they are
(``--pretrained``: MobileNetV2, ``timm:``/``hf:`` models; the only candidates for text
targets). Each candidate is scored at every cut point.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from warnings import warn

import numpy as np
import torch
from pydantic import ValidationError

from transferkit.config import DataConfig, SourceConfig
from transferkit.data import Domain
from transferkit.data.files import columns_read, order_columns, range_of_rows
from transferkit.data.overlap import NEAR_WHAT, count_test_in_source
from transferkit.data.preprocess import (
    Recipe,
    alpha_note,
    apply_recipe,
    colour_note,
    make_recipe,
    polarity_note,
    reads_series,
    shrunk_note,
    stretched_note,
)
from transferkit.data.splits import check_not_ids, draw_shots, either, leave_out, split_target, too_small_classes
from transferkit.errors import TransferkitError, TransferkitWarning, collected_warnings, user_stacklevel
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file, model_stem, read_model_json
from transferkit.paths import cache_dir
from transferkit.prediction import deployed, model_path
from transferkit.ranking._registry import get_score
from transferkit.ranking.candidates import (
    REFERENCE,
    Candidate,
    cut_numbers,
    pretrained_text_encoder,
    random_reference,
    rank_rows,
    resolve_scores,
    score_candidates,
)
from transferkit.ranking.source_shapes import check_source_shapes
from transferkit.rng import callers_rng_kept
from transferkit.shots import ALL
from transferkit.source import NOT_FROM_ARRAYS
from transferkit.train.source import load_cached

DEFAULT_BY = "logme"

# A LogME lead over random weights counts when its log Bayes factor reaches 3, "strong"
# evidence (Kass & Raftery, JASA 1995), as auto's evidence_log_bf (methods/auto.py).
CLEAR_LOG_BF = 3.0


def source_candidate(
    spec: str, max_per_class: int | None = None, epochs: int | None = None, seed: int = 0,
    target: Domain | None = None, pad: int | str = "auto", label_column: str = "label", shared: str = "auto",
    id_column: str | None = None,
) -> tuple[Candidate, Domain]:
    """Train (or load from the cache) a model on the data set ``spec``, as ``transferkit run`` would.

    The same settings (``epochs`` None: the run's default), and for image targets the same
    source recipe (``resolution: match`` degrades the source to ``target``'s resolution), so
    the cache key is the run's and a source trained by a run is reused. ``shared``: the
    shared-layer architecture, as ``model.shared`` in an experiment file (auto: by the input).
    """
    from transferkit.data.preprocess import match_resolution
    from transferkit.devices import resolve_device
    from transferkit.evaluate.prepare import load_section
    from transferkit.train.source import pretrain_source

    section = SourceConfig(data=spec, max_per_class=max_per_class, label_column=label_column, id_column=id_column,
                           **({} if epochs is None else {"epochs": epochs}))  # fmt: skip
    domain = load_section(section)
    check_not_ids(domain.y, f"source {spec}", "--source-label-column")  # as the target's labels are checked when split
    recipe = make_recipe(domain, domain.input_shape, 0, architecture=shared)
    if target is not None and target.is_image and domain.is_image and section.resolution == "match":
        recipe = match_resolution(recipe, target.input_shape[1:],
                                  make_recipe(target, domain.input_shape, pad, source=domain, reader=None))  # (rank says it)
    swapped = polarity_note(domain, target) if target is not None else None
    if swapped:  # as a run says it: the candidate's scores read its features inverted
        warnings.warn(f"{spec}: {swapped}", TransferkitWarning, stacklevel=user_stacklevel())
    settings = {k: getattr(section, k) for k in ("epochs", "batch_size", "lr", "weight_decay", "augment")}
    identity = {"data": domain.fingerprint(), "recipe": recipe.identity(), "head_hidden": 0}
    device = resolve_device("auto")  # where a run (device: auto) trains it: the cache key names the device
    res = pretrain_source(
        apply_recipe(domain.x, recipe).to(device), torch.from_numpy(domain.y).to(device), domain.classes,
        architecture=shared, arch_kwargs={}, settings=settings, seed=seed, identity=identity,
    )  # fmt: skip
    from transferkit.evaluate.source_check import source_steps, weak_source_warning
    from transferkit.train.source import source_val_split

    tr, va = source_val_split(domain.y, seed=seed)
    weak = weak_source_warning(res.val_accuracy, domain.y[va], seed, source_steps(len(tr), section.batch_size,
                                                                                 section.epochs))  # fmt: skip
    from transferkit.data.builtin import is_builtin

    # scored on the CPU, as every other candidate (and this one when it comes from the cache); a source at chance is
    # said as a run says it, once it is scored (a trial's at 19.5 %, under its majority's 22 %, ranked without a word)
    name = spec if is_builtin(spec) else Path(spec).name
    return Candidate(name, res.model.cpu(), warning=f"{name}: {weak}" if weak else None), domain


def _named_apart(cand: Candidate, spec: str, clash: set[str]) -> None:
    """``cand`` named by its path as given when another candidate's file has its file name
    (``clash``): a/data.npz and b/data.npz were both 'data.npz', and the table could not tell
    them apart, nor could the check of which candidate saw the scored examples."""
    short = Path(spec).name
    if short in clash:
        cand.name = cand.name.replace(short, str(spec), 1) if cand.name.startswith(short) else f"{spec}:{cand.name}"


def _reference_inputs(ref: TransferModel, arch: str, labelled: Domain, pool: Domain, pad) -> torch.Tensor:
    """The labelled examples as the random-weights reference reads them, the same whatever the
    order of the sources: a recipe of the target alone (no source's range or framing; ``pad``
    auto: none), and ``ref``'s input statistics set from the target's pool (up to 2,000 of it,
    spread over it), as a scratch model's are."""
    import warnings as _warnings

    from transferkit.train.source import input_stats

    with _warnings.catch_warnings():  # the candidates' recipes have said what there is to say of the target
        _warnings.simplefilter("ignore")
        recipe = make_recipe(pool, tuple(ref.config["input_shape"]), 0 if pad == "auto" else pad, architecture=arch)
    rows = np.unique(np.linspace(0, len(pool.x) - 1, min(2000, len(pool.x))).astype(int))
    mean, std = input_stats(apply_recipe(pool.x[rows], recipe), arch)
    device = ref.input_mean.device
    ref.register_buffer("input_mean", mean.float().to(device))  # replaced, not copied into: an old cnn1d's are (1,)
    ref.register_buffer("input_std", std.float().to(device))
    return apply_recipe(labelled.x, recipe)


def head_at_chance_warning(row: dict, y: np.ndarray) -> str | None:
    """A candidate whose class names are the target's but whose source head predicts the
    labelled examples at chance (within one binomial sd of the most frequent class's rate, and
    not clearly above it, z < 2; judged on 20 labelled examples or more): the same names may mean other classes
    (labels shifted or permuted in one of the two files), or the domains differ too much for
    the head to carry over. Its features may still transfer; what reads its head does not."""
    acc = row.get("source_only")
    if acc is None or len(y) < 20:
        return None
    chance = float(np.bincount(y).max()) / len(y)
    sd = math.sqrt(chance * (1 - chance) / len(y))
    if sd == 0 or (1.0 - chance) / sd < 2 or (acc - chance) / sd >= 2:  # too few to tell, or clearly above chance
        return None
    if acc > chance + sd:  # not shown above chance, but not at it either: a weak head, not other classes
        return None
    return (f"{row['candidate']}: its source head gets {100 * acc:.1f} % of the {len(y)} labelled target examples right "
            f"(chance: {100 * chance:.0f} %) although its class names are the target's: the same names may mean "
            "other classes in the two data sets (labels shifted or permuted?), or the domains differ too much for "
            "its head to carry over. Its features can still transfer (head, finetune); source_only, adabn and the "
            "adaptation methods read its head: check the source's labels.")


def no_lead_warning(by: str, random_copy: bool, one_each: bool = False) -> str:
    """No candidate beats the random-weights reference on ``by``. ``random_copy``: that reference
    is a pretrained text encoder's own random weights, which LogME favours on few examples;
    ``one_each``: one labelled example a class, where knn and linear_cv score nothing (said
    beside this; pointing to them then contradicted it)."""
    said = f"no source beats random weights on {by}: transfer may not help here"
    if not (random_copy and by == "logme"):
        return said + "."
    if one_each:
        return (said + ". But the reference is a pretrained text encoder's own random weights, which LogME favours on "
                "a few dozen examples (docs/auto.md), and with one example a class knn and linear_cv cannot tell: rank "
                "with --shots 2 or more, or let a run against scratch settle it.")  # fmt: skip
    return (said + ". But the reference is a pretrained text encoder's own random weights, which LogME favours on a "
            "few dozen examples (on sentiment snippets its random copy won 13 of 16 draws where knn and linear_cv "
            "mostly ranked the pretrained one first; docs/auto.md): read knn and linear_cv here, and a run against "
            "scratch settles it.")


def hscore_floor_warning(dims: int | list[int], y: np.ndarray, draws: int = 1, share: float = 0.25) -> str | None:
    """What pure noise scores on hscore with these labels and each of ``dims`` feature
    counts, when that is over ``share`` of its maximum C - 1: with few examples against many
    dimensions even the shrunk covariance leaves room for noise to look separable (8
    examples x 384 dimensions, 2 classes: about 0.95 of 1), so hscore's ranking says little
    there. One warning for all the dimensions it concerns (candidates cut at six depths gave
    six near-identical lines). One draw by default: a draw costs what hscore itself does
    (20 s at 50 x 2048 on 2 cores)."""
    from transferkit.ranking.hscore import hscore

    top = len(np.unique(y)) - 1
    if top < 1:
        return None
    floors = {}
    for dim in sorted({dims} if isinstance(dims, int) else set(dims)):
        rng = np.random.default_rng(0)
        floors[dim] = float(np.mean([hscore(rng.normal(size=(len(y), dim)), y) for _ in range(draws)]))
    high = {d: f for d, f in floors.items() if f > share * top}
    if not high:
        return None
    if len(high) == 1:
        ((dim, floor),) = high.items()
        scores = f"random noise of {dim} dimensions scores {floor:.2f}"
    else:
        listed = ", ".join(f"{f:.2f} at {d}" for d, f in high.items())
        scores = f"random noise scores {listed} dimensions"
    return (f"hscore: {scores} of its maximum {top} on these {len(y)} labelled examples, so its ranking says little "
            "at this size: read logme, or label more examples.")


def hscore_reference_warning(rows: list[dict], top: int) -> str | None:
    """A note when a random-weights reference has the highest hscore of all rows, sources beside it: random
    features of many dimensions separate few examples per class (a trial's 62 characters: the reference at 54.9
    of 61 above every source, where the noise-floor note stayed silent at 7.5)."""
    scored = [r for r in rows if r.get("hscore") is not None]
    if not scored or not any(not r["reference"] for r in scored):
        return None
    best = max(scored, key=lambda r: r["hscore"])
    if not best["reference"]:
        return None
    return (f"hscore ranks the reference {best['candidate']} (random weights) above every source ({best['hscore']:.2f} "
            f"of its maximum {top}): random features of many dimensions can separate a few examples per class, so "
            "hscore says little of transfer here; read logme, knn or linear_cv.")


def held_out_reference_warning(rows: list[dict], n: int) -> str | None:
    """A note when the random-weights reference scores above every source on each held-out score computed
    (knn, linear_cv), over ``n`` labelled examples: the sources' features separate these classes no better
    than random ones (a trial: 0.76 and 0.76 against at best 0.64 and 0.72, no word said, and head from the
    best source lost 9.3 points to scratch)."""
    names = [s for s in ("knn", "linear_cv") if any(r.get(s) is not None for r in rows)]
    sources = [r for r in rows if not r["reference"]]
    refs = [r for r in rows if r["reference"]]
    if not names or not sources or not refs:
        return None
    best = {s: max((r[s] for r in sources if r.get(s) is not None), default=None) for s in names}
    ref = {s: max((r[s] for r in refs if r.get(s) is not None), default=None) for s in names}
    if any(best[s] is None or ref[s] is None or ref[s] <= best[s] for s in names):
        return None
    said = " and ".join(f"{s} {ref[s]:.2f} against at best {best[s]:.2f}" for s in names)
    return (f"random weights (the reference) score above every source on held-out examples ({said}, over {n} labelled "
            "examples, each 1/{n} of a score): the sources' features tell these classes apart no better than random "
            "ones here, whatever the order above; expect little from transfer, and check with `transferkit run` "
            "(scratch beside the methods).").replace("{n}", str(n))


def _one_row_each(rows: list[dict]) -> list[dict]:
    """The first row of each candidate (its cuts share one source head)."""
    seen: dict[str, dict] = {}
    for r in rows:
        seen.setdefault(r["candidate"], r)
    return list(seen.values())


def pretrained_candidate(name: str, labelled, pad: int | str = "auto", pool=None,
                         size: int | None = None) -> tuple[Candidate, torch.Tensor]:  # fmt: skip
    """A pretrained encoder as it is (no source data) and ``labelled`` brought to its input
    (framed as ``pool``, the target's training pool, is; default: ``labelled`` itself).
    ``size``: images of ``size`` x ``size`` pixels, or the first ``size`` tokens of texts,
    instead of the spec's (``model.input_shape`` in an experiment file).

    Inputs as ``transferkit run`` prepares them for ``source: {pretrained: name}``
    (:mod:`transferkit.evaluate.pretrained`): the encoder's tokenizer for texts, its input
    size and normalisation for images. The model's head is untrained, so it is marked as
    having no source head: LEEP and NCE stay empty for it.
    """
    from transferkit.data.text import TextDomain, count_truncated, tokenize, truncation_note
    from transferkit.models.pretrained import load_base
    from transferkit.train.pretrained_source import build_pretrained_model

    is_text = isinstance(labelled, TextDomain)

    def refuse(modality: str):
        kind = "texts" if is_text else ("images" if labelled.is_image else "vectors")
        raise TransferkitError(f"the target holds {kind} but the pretrained candidate {name!r} reads {modality}s.",
                               "rank image encoders on image targets and text encoders (hf:...) on text targets.")  # fmt: skip

    from transferkit.pretrained.registry import SOURCES

    vectors = not is_text and not labelled.is_image  # no encoder reads them: refused before any download
    if (is_text or vectors) and (name in SOURCES or name.startswith("timm:")):  # image encoders
        refuse("image")  # (an unknown name goes on to the registry's did-you-mean)
    if vectors and name.startswith("hf:"):
        refuse("text")
    encoder, spec = load_base(name)
    if is_text != (spec.modality == "text") or not (is_text or labelled.is_image):
        refuse(spec.modality)
    if is_text:
        longest = int(spec.max_length or 512)
        if size is not None and size > longest:
            raise TransferkitError(f"input size {size} is more tokens than {name!r} reads ({longest}).",
                                   f"give an input size of at most {longest}, or leave it out.")  # fmt: skip
        shape: tuple[int, ...] = (size or longest,)
        x = tokenize(encoder.tokenizer, labelled.texts, shape[0])
        note = truncation_note(count_truncated(encoder.tokenizer, labelled.texts, shape[0]), len(labelled.texts),
                               shape[0], "labelled texts scored", "--input-size")  # as run and predict say it
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    else:
        shape = tuple(spec.input_size) if size is None else (spec.input_size[0], size, size)
        x = apply_recipe(labelled.x, make_recipe(pool if pool is not None else labelled, shape, 0 if pad == "auto" else pad))
    model = build_pretrained_model(name, None, shape, labelled.classes).eval()
    return Candidate(name, model, source_head=False), x


def checkpoint_candidates(spec: str) -> list[tuple[Candidate, int | None, Recipe | None]]:
    """A saved model (``.safetensors``/``.json`` pair) or a run folder -> [(candidate, pad, recipe)].

    ``pad`` is the framing (pixels) the model's own target was given, when recorded;
    ``recipe`` the input recipe saved with the model (for a run folder's source model, the
    deployed model's: the run brought its target to both by it), None when absent.
    """
    p = Path(spec)
    if p.is_dir():
        summary_path = p / "summary.json"
        if not summary_path.exists():
            raise TransferkitError(f"{p} is not a finished transferkit run (no summary.json).",
                                   "give a run folder or a model's .safetensors file.")  # fmt: skip
        summary = json.loads(summary_path.read_text())
        dep = deployed(summary, p)
        path = model_path(p)  # a run with save_models: false, or whose models/ is gone: said in one line
        pad = int(summary["target"]["recipe"].get("pad", 0))
        recipe = _stored_recipe(path)
        out = [(Candidate(f"{p.name}:{path.name}", TransferModel.load(path)), pad, recipe)]
        key = ((summary.get("source") or {}).get("models") or {}).get(str(dep["seed"]), {}).get("key")
        cached = cache_dir() / "source_models" / str(key)
        loaded = load_cached(cached) if key and cached.with_suffix(".safetensors").exists() else None
        if loaded is not None:  # a damaged entry is said (load_cached) and left out
            out.append((Candidate(f"{p.name}:source", loaded[0]), pad, recipe))
        return out
    if p.suffix not in (".safetensors", ".json", "") and not model_file(p, ".json").exists():
        raise TransferkitError(f"model {spec!r} is neither a run folder nor a saved model.",
                               "give a run folder or a .safetensors file written by transferkit.")  # fmt: skip
    model = TransferModel.load(p)
    recipe = _stored_recipe(p)
    return [(Candidate(model_stem(p).name, model), None if recipe is None else recipe.pad, recipe)]


def _stored_recipe(path: Path) -> Recipe | None:
    """The image/vector input recipe saved beside a model, or None (none saved, or texts)."""
    meta = read_model_json(path)
    stored = meta.get("recipe") or {}
    if stored.get("kind") == "text" or "value_range" not in stored:
        return None
    recipe = Recipe.from_dict(stored)
    if recipe.columns is None and meta.get("feature_names"):  # TransferClassifier.save keeps them here
        recipe = dataclasses.replace(recipe, columns=tuple(meta["feature_names"]))
    return recipe


def seen_by_run_model(spec: str, target: Domain, lab: np.ndarray) -> tuple[int, int, str | None]:
    """(fine-tuned on, adapted on without labels, the method): how many of ``lab`` a run's model
    trained on with their labels, and how many more it read as unlabelled target inputs (a
    domain-adaptation method reads the run's whole pool, labels or not, so any draw from it
    overlaps, k = 0 too). The deployed model of run folder
    ``spec``, or the saved model ``spec`` in a run folder's ``models/`` (0 when ``spec`` is
    neither, or its target is another data set). The run's target is recognised by its path
    or by the fingerprint of its content, so a copy under another name is recognised too, and
    so are a class subset's rows saved to a file of their own (whose value range may differ)."""
    p = Path(spec)
    if (p / "summary.json").is_file():
        summary = json.loads((p / "summary.json").read_text())
        dep = summary.get("deploy") or {}
    elif p.parent.name == "models" and (p.parent.parent / "summary.json").is_file() and model_file(p, ".json").is_file():
        summary = json.loads((p.parent.parent / "summary.json").read_text())
        dep = read_model_json(p)  # a run's saved model records its shots and seed
    else:
        return 0, 0, None
    tgt = summary.get("target") or {}
    reordered = _in_columns(target, (tgt.get("recipe") or {}).get("columns"))  # None: not a table of the run's columns
    same = (_same_data(tgt.get("data"), target.name) or tgt.get("fingerprint") == target.fingerprint()
            or tgt.get("content_fingerprint") == target.content_fingerprint()
            or (reordered is not None and reordered == tgt.get("content_fingerprint")))  # fmt: skip
    method = dep.get("method")
    from transferkit.methods import METHODS

    adapts = method in METHODS and METHODS[method].uses_unlabelled and method != "auto"
    if method == "auto":  # what it trained decides (a run folder's deploy entry names the model whose JSON says)
        saved = p / "models" / f"auto_k{dep.get('shots')}_seed{dep.get('seed')}.json"
        decision = dep.get("auto_decision") or (json.loads(saved.read_text()).get("auto_decision") if saved.is_file()
                                                else None)  # fmt: skip
        chosen = (decision or {}).get("method")
        adapts = chosen in METHODS and METHODS[chosen].uses_unlabelled
    if not same or tgt.get("examples") != len(target.y) or not (dep.get("shots") or adapts):
        return 0, 0, method
    # the order its draws went by: the target's own (``draw_order``), or, for runs before it was
    # recorded, the order of its classes
    run_classes = [str(c) for c in tgt.get("draw_order") or tgt.get("classes") or []]
    if run_classes != list(target.classes) and sorted(run_classes) == sorted(target.classes):
        target = target.subset(run_classes)  # the same rows, labelled in the run's class order: the run's draw
    split_seed, fraction = tgt.get("split_seed", 0), tgt.get("test_fraction", 0.3)
    labelled = set(lab.tolist())
    seen = set()
    if dep.get("shots"):
        drawn, _ = labelled_examples(target, dep["shots"], dep["seed"], split_seed, fraction)
        seen = labelled & set(drawn.tolist())
    adapted = 0
    if adapts:  # the rest of the run's pool went in as unlabelled inputs
        pool = split_target(target, fraction, split_seed).pool_idx
        adapted = len((labelled & set(pool.tolist())) - seen)
    return len(seen), adapted, method


def _in_columns(target: Domain, columns: list[str] | None) -> str | None:
    """``target``'s content fingerprint with its columns in the run's model order (``columns``),
    as the run read them: rank reads a CSV whole, so a copy of the run's target under another
    name had other bytes to hash and went unrecognised (a tabular trial). None: not a table
    holding those columns."""
    named = target.meta.get("columns")
    if not columns or not named or not set(columns) <= set(named) or target.x.ndim != 2:
        return None
    idx = [list(named).index(c) for c in columns]
    return Domain(target.name, target.x[:, idx], target.y, target.classes, target.value_range).content_fingerprint()


def _same_data(a: str | None, b: str) -> bool:
    """Whether two data specs name the same data: equal, or paths to the same file however written."""
    if a is None:
        return False
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def labelled_examples(
    target: Domain, shots: int, seed: int, split_seed: int = 0, test_fraction: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``shots`` labelled examples per class the protocol would draw, and of
    the pool they come from (the target less its test part); ``shots="all"`` (a run's): the whole pool."""
    if shots != ALL and shots < 1:
        raise TransferkitError(f"shots={shots}: ranking needs labelled target examples.", "use --shots 1 or more.")
    split = split_target(target, test_fraction, split_seed)  # the run's split, copies on one side
    try:
        lab, _ = draw_shots(target.y, split.pool_idx, shots, seed, target.classes)
    except TransferkitError as e:  # its fix names the run's `test_fraction`, which rank has no option for
        most = min(int((target.y[split.pool_idx] == c).sum()) for c in np.unique(target.y))  # as a run says it
        leave = leave_out(len(too_small_classes(target.y, split.pool_idx, shots)), len(np.unique(target.y)))
        raise TransferkitError(
            f"{e.problem.removesuffix('.')} (the protocol's test part, {test_fraction:.0%} of each class, is held "
            "out first).",  # one period: rstrip took a list's "..." too (a trial)
            either(f"use --shots of at most {most} (the smallest class's examples outside the test part)" if most >= 1
                   else "", leave, "add examples") + ".",
        ) from None
    return lab, split.pool_idx


def _candidate_columns(sources: list[str], label_column: str, id_column: str | None = None) -> list[str] | None:
    """The feature columns of the --source CSVs (all of them): a target CSV holding them and more is
    read without the others, text ones too, as `transferkit run` reads it (None: no CSV source)."""
    from transferkit.data.files import csv_header, load_csv

    columns: list[str] = []
    for spec in sources:
        if Path(spec).suffix.lower() in (".csv", ".tsv") and Path(spec).is_file():
            header = csv_header(Path(spec))
            if label_column not in header:  # its own error first: read as a feature, the missing label column sent
                load_csv(Path(spec), label_column, id_column)  # the target's reading astray (a trial)
            columns += [c for c in header if c not in (label_column, id_column) and c not in columns]
    return columns or None


@callers_rng_kept()  # it seeds torch to draw and train: the caller's draws after it stay theirs
def rank(
    target: str,
    shots: int = 10,
    sources: list[str] | None = None,
    models: list[str] | None = None,
    pretrained: list[str] | None = None,
    *,
    seed: int = 0,
    scores: list[str] | None = None,
    by: str = DEFAULT_BY,
    cuts: str | list[int] | None = None,
    reference: bool = True,
    pad: int | str = "auto",
    target_max_per_class: int | None = None,
    source_max_per_class: int | None = None,
    source_epochs: int | None = None,
    split_seed: int = 0,
    test_fraction: float = 0.3,
    label_column: str = "label",
    text_column: str = "text",
    input_size: int | None = None,
    source_label_column: str = "label",
    id_column: str | None = None,
    source_id_column: str | None = None,
    classes: list[int | str] | None = None,
    image_shape: list[int] | None = None,
    shared: str = "auto",
    say: Callable[[str], None] | None = None,
) -> dict:
    """Score every candidate × cut point on the target's labelled examples; best first.

    Args:
        target: Built-in domain name or path.
        shots: Labelled examples per class, drawn as the protocol draws them.
        sources: Data sets to train source models on (cached), e.g. ``["mnist5k"]``.
        models: Saved models (``.safetensors``) or run folders.
        pretrained: Pretrained encoders used as they are, e.g. ``["mobilenet_v2_imagenet"]``
            or ``["hf:sentence-transformers/all-MiniLM-L6-v2"]`` (text targets take only these).
        by: The score that orders the table (every score is reported).
        cuts: Cut points, ``"all"`` (default: 1..num_blocks) or e.g. ``"1,3"``.
        reference: Add the random-weights reference of the first model's architecture.
        pad: Target framing: ``auto`` (match each source's framing), or pixels.
        label_column, text_column, id_column: Of a CSV (or JSONL) target, as in an experiment file.
        source_label_column, source_id_column: Of CSV ``sources``.
        classes: Keep only these target classes (names or positions), as ``classes:`` in an
            experiment file's target section.
        shared: The shared-layer architecture ``sources`` are trained with, as ``model.shared``
            in an experiment file (auto: by the input; e.g. ``cnn1d`` for series stored (N, L)).
        image_shape: Read each row of a table target as an image of this shape, [H, W],
            [C, H, W] or [H, W, C] (a pixel CSV), as ``image_shape:`` in an experiment file.
        input_size: Pretrained candidates read images of this many pixels a side, or this
            many tokens of each text, instead of their spec's (faster on a CPU; as
            ``model.input_shape`` in an experiment file). Other candidates keep their own.
        say: Receives a line as each source is trained and each candidate scored (the
            command line prints them: a ranking can take minutes).

    Returns:
        A JSON-ready dict: ``target``, ``shots``, ``seed``, ``by``, ``scores``, ``input_size``,
        ``candidates`` (ranked rows), ``best``, ``best_beats_reference``, ``warnings`` (every
        TransferkitWarning raised, and what the ranking itself warns of), ``wall_time_s``.
    """
    from transferkit.evaluate.prepare import load_section

    start = time.perf_counter()
    if shared != "auto":
        from transferkit.source import check_shared

        check_shared(shared)
        if not sources:
            raise TransferkitError(f"shared={shared!r} sets the architecture of the sources trained here, and there "
                                   "are none; saved models and pretrained encoders keep their own.",
                                   "give --source DATA, or leave --shared out.")  # fmt: skip
    resolve_scores([by])
    names = resolve_scores(scores)
    if cuts is not None and cuts not in ("all", "last"):  # said before minutes of source training
        cut_numbers(cuts)
    if by not in names:  # the score that orders the table is always computed
        names = [*names, by]
    for what, value, least in (("seed", seed, 0), ("split_seed", split_seed, 0),
                               ("target_max_per_class", target_max_per_class, 1),
                               ("source_max_per_class", source_max_per_class, 1), ("source_epochs", source_epochs, 1),
                               ("input_size", input_size, 1)):  # fmt: skip
        if value is not None and (not isinstance(value, int) or value < least):
            raise TransferkitError(f"{what}={value!r} must be a whole number >= {least}.", f"give {what} >= {least}.")
    if not sources and not models and not pretrained:
        raise TransferkitError(
            "no candidates to rank.", "give at least one --source DATA, --model FILE_OR_RUN or --pretrained NAME."
        )
    if pad != "auto" and (not isinstance(pad, int) or pad < 0):
        raise TransferkitError(
            f"pad={pad!r} must be 'auto' or a number of pixels >= 0.", "use --pad auto or e.g. --pad 4."
        )
    if input_size is not None and not pretrained:
        raise TransferkitError("an input size is given, but no pretrained candidate reads it.",
                               "drop it, or add --pretrained NAME (source and saved models keep their own).")  # fmt: skip
    try:  # the experiment file's checks, image_shape's among them
        section = DataConfig(data=target, max_per_class=target_max_per_class, label_column=label_column,
                             text_column=text_column, id_column=id_column, classes=classes, image_shape=image_shape)  # fmt: skip
    except ValidationError as e:
        if image_shape is None:
            raise
        raise TransferkitError(f"--image-shape {' '.join(map(str, image_shape))} is not an image shape "
                               f"({e.errors()[0]['msg'].removeprefix('Value error, ')}).",
                               "give H W, or C H W with C = 1, 3 or 4 (a row of 784 grey pixels: --image-shape 28 28).") from None  # fmt: skip
    with collected_warnings() as loading:  # e.g. images resized while loading: kept in the JSON too
        # (with a --model, whose columns are its own, the target is read whole, each candidate taking its columns)
        tgt = load_section(section, only_columns=None if models else _candidate_columns(sources or [], source_label_column, source_id_column))
    if getattr(tgt, "texts", None) is not None and (sources or models):
        raise TransferkitError(
            f"{target} holds texts: rank scores text targets on pretrained text encoders only.",
            "give --pretrained hf:<model> candidates instead of --source/--model (docs/ranking.md).",
        )
    check_not_ids(tgt.y, "target", "--label-column")  # as the split would, with rank's option named
    present = np.unique(tgt.y)
    if len(present) < 2:  # before any source is trained
        raise TransferkitError(
            f"{target} holds one class ({tgt.classes[int(present[0])]!r}); a ranking needs at least two to tell apart.",
            "give a target with examples of two or more classes.",
        )
    with collected_warnings() as splitting:  # the target's copies, kept on one side of the split: in the JSON too
        lab, pool_idx = labelled_examples(tgt, shots, seed, split_seed, test_fraction)
    loading += splitting
    ranged = range_of_rows(tgt, pool_idx)  # as `transferkit run`: value range and framing from the pool, no test rows
    labelled, pool = ranged.select(lab), ranged.select(pool_idx)  # `tgt` keeps its as-loaded fingerprint
    if sources:  # every source that could not read the target, named before any is trained
        check_source_shapes(sources, pool, shared, bool(models or pretrained), source_label_column, source_id_column)
    entries: list[tuple[Candidate, torch.Tensor]] = []  # each candidate with the labelled inputs it reads

    def inputs_for(cand: Candidate, p, src: Domain | None = None, stored: Recipe | None = None) -> torch.Tensor:
        """``labelled`` as ``transferkit run``/``predict`` give it to the candidate: feature
        columns in its source's (or saved model's) order, vectors on that range."""
        if getattr(cand.model.shared, "is_text", False) or cand.model.config.get("architecture") == "textcnn":
            raise TransferkitError(f"candidate {cand.name} reads texts, but {target} holds images or vectors.",
                                   "rank text models on text targets (with --pretrained), image models here.")  # fmt: skip
        try:
            x, read = labelled.x, pool
            wanted = list(stored.columns) if stored is not None and stored.columns else (src.meta.get("columns") if src else None)
            named = labelled.meta.get("columns")
            if wanted and named and not labelled.is_image:
                reference = "the model's" if stored is not None else "the source's"
                keep = columns_read(list(named), list(wanted)) or list(range(len(named)))  # others left out, as in run
                kept = [named[j] for j in keep]
                x = order_columns(x[:, keep], kept, list(wanted), str(target), reference)
                # the pool too: make_recipe compares its columns' scale with the source's, by position
                read = dataclasses.replace(pool, x=order_columns(pool.x[:, keep], kept, list(wanted), str(target), reference),
                                           meta={**pool.meta, "columns": list(wanted)})  # fmt: skip
            arch = cand.model.config.get("architecture", "auto")
            shape = tuple(cand.model.config["input_shape"])
            recipe: Recipe = make_recipe(read, shape, p, source=src, architecture=arch, reader=None)
            if colour_note(read, shape) is not None:  # said once for all, naming which read grey (a trial)
                grey_readers.append(cand.name)
            stretched = stretched_note(read, shape, arch)  # as a run says it: a 12x25 target read at 16x25
            if stretched:
                warn(f"candidate {cand.name}: {stretched}", TransferkitWarning, stacklevel=user_stacklevel())
            if src is not None and len(shape) == 3 and len(read.input_shape) == 3 and not reads_series(shape, arch):
                h, w = read.input_shape[1:]  # as a run says it: a 28x28 target read at 8x8
                shrunk = shrunk_note(read, shape, src.name, fix=(
                    f"Its scores are those of the target at {shape[1]}x{shape[2]}, not of the source alone: to compare "
                    f"it at {h}x{w}, run it with `model.input_shape: [{shape[0]}, {h}, {w}]` (`transferkit run`)."))
                if shrunk:
                    warn(f"candidate {cand.name}: {shrunk}", TransferkitWarning, stacklevel=user_stacklevel())
            alpha = alpha_note(read.x, shape[0], str(target)) if len(shape) == 3 else None
            if alpha:  # RGBA arrays: the 4th channel dropped (said once: the same words for every candidate)
                warn(alpha, TransferkitWarning, stacklevel=user_stacklevel())
            # vectors and series: the range the model was trained on (the source's)
            if stored is not None and (not labelled.is_image or reads_series(tuple(cand.model.config["input_shape"]), arch)):
                recipe = dataclasses.replace(recipe, value_range=stored.value_range, per_column=stored.per_column,
                                             column_ranges=stored.column_ranges if stored.per_column else recipe.column_ranges,
                                             heavy_columns=stored.heavy_columns if stored.per_column else recipe.heavy_columns)
            if stored is not None and len(stored.shape) == 3:  # a saved model: the shrink filter it trained with
                recipe = dataclasses.replace(recipe, block_average=stored.block_average)
        except TransferkitError as e:  # several candidates: say which one does not fit
            raise TransferkitError(f"candidate {cand.name}: {e.problem}", e.fix) from None
        return apply_recipe(x, recipe)

    warnings: list[str] = []
    grey_readers: list[str] = []  # candidates that average the target's colour away
    from transferkit.data.builtin import is_builtin

    files = [Path(s).name for s in [*(s for s in sources or [] if not is_builtin(s)), *(models or [])]]
    clash = {n for n in files if files.count(n) > 1}  # one file name, two files: named by their paths
    trained_on: dict[str, int] = {}  # candidate -> how many of the scored examples its model was fine-tuned on
    with collected_warnings(once=True) as noted:  # a note about the target, once, not once per candidate; said even
        # when a later candidate fails. Pretrained encoders first: a mistyped name or the wrong modality
        # fails before minutes of source training
        try:
            encoders = [pretrained_candidate(name, labelled, pad, pool, input_size) for name in pretrained or []]
            for spec in sources or []:
                said = time.perf_counter()
                if say:
                    say(f"source {spec}: training its model (or reading it from the cache)")
                cand, src = source_candidate(spec, source_max_per_class, source_epochs, seed, target=pool, pad=pad,
                                             label_column=source_label_column, shared=shared,
                                             id_column=source_id_column)  # fmt: skip
                _named_apart(cand, spec, clash)
                entries.append((cand, inputs_for(cand, pad, src)))
                if cand.warning:
                    warnings.append(cand.warning)
                if say:
                    say(f"source {spec}: ready ({time.perf_counter() - said:.1f} s)")
                copies = count_test_in_source(src, tgt, lab)
                exact = copies.found - copies.near
                if exact:
                    trained_on[cand.name] = exact  # the best line and the JSON say so, as for a run's model
                    same = copies.same_class - copies.near_same_class
                    same = f", {same} with the same class" if same else ""
                    warnings.append(f"{cand.name}: {exact} of the {len(lab)} labelled examples scored here are "
                                    f"also in this source (exact copies{same}): its model was trained on them, so its "
                                    "scores are optimistic; rank sources that do not hold the target's examples.")  # fmt: skip
                if copies.near:  # said, not held against it: distinct frames of one fixed scene correlate as much
                    warnings.append(f"{cand.name}: {copies.near} of the {len(lab)} labelled examples scored here are "
                                    f"near copies of images in this source ({NEAR_WHAT}): if they are copies, its model "
                                    "was trained on them and its scores are optimistic.")  # fmt: skip
            for spec in models or []:
                found = checkpoint_candidates(spec)
                for cand, recorded, stored in found:
                    _named_apart(cand, spec, clash)
                    entries.append((cand, inputs_for(cand, (recorded or 0) if pad == "auto" else pad, stored=stored)))
                seen, adapted, method = seen_by_run_model(spec, tgt, lab)
                if seen or adapted:  # the deployed (or named) model; a run's `:source` never saw the target
                    trained_on[found[0][0].name] = seen + adapted
                if seen:
                    warnings.append(f"{Path(spec).name}: {seen} of the {len(lab)} labelled examples scored here are among "
                                    "those the run's model was fine-tuned on, so its scores are optimistic and not "
                                    "comparable with the others'; another --seed draws other examples, but a model "
                                    "fine-tuned on much of the target overlaps any draw.")  # fmt: skip
                if adapted:
                    warnings.append(f"{Path(spec).name}: its model ({method}) adapted on the target's unlabelled inputs, "
                                    f"among them {adapted} of the {len(lab)} examples scored here (their inputs, not "
                                    "their labels), so its scores are optimistic and not comparable with the others'; "
                                    "another --seed draws from the same pool: score a model that never read this "
                                    "target, such as the run's source model (listed as NAME:source while it is cached).")  # fmt: skip
        finally:  # said even when a later candidate fails, as the notes collected here are (a review)
            if grey_readers:  # a note on the target, with the candidates it concerns (the list `warnings` shadows the module)
                named = "candidate " + grey_readers[0] if len(grey_readers) == 1 else "candidates " + ", ".join(grey_readers)
                warn(colour_note(pool, (1, 1, 1), named), TransferkitWarning, stacklevel=user_stacklevel())
    warnings = [*loading, *noted, *warnings]  # TransferkitWarnings (the target's scale...) go into the JSON too
    entries += encoders
    if get_score(by).needs_source_probs:  # LEEP, NCE: they read the source head's predictions
        headless = [c.name for c, _ in entries if not c.source_head]
        if len(headless) == len(entries):
            raise TransferkitError(
                f"--by {by} reads a source head's predictions, and no candidate has one (pretrained encoders "
                "used as they are have none).",
                "rank by logme (the default), hscore, knn or linear_cv.",
            )
        if headless:
            warnings.append(f"{', '.join(headless)}: no source head, so no {by} score; they are listed last, "
                            "unranked. Rank by logme to compare them with the others.")  # fmt: skip
    if reference:
        first, x = entries[0]
        ref = random_reference(first.model, seed)
        arch = first.model.config.get("architecture", "auto")
        if arch not in NOT_FROM_ARRAYS and x.is_floating_point():  # the target as it is, with its own statistics
            x = _reference_inputs(ref, arch, labelled, pool, pad)  # (not the first source's framing and scale)
        entries.append((Candidate(REFERENCE, ref, reference=True, source_head=False), x))  # a random head: no leep, nce
    y = torch.from_numpy(labelled.y)
    rows = []
    for i, (cand, x) in enumerate(entries):
        said = time.perf_counter()
        heads = [str(c) for c in cand.model.classes] if cand.source_head else None
        same, y_cand = heads == [str(c) for c in tgt.classes], y
        if heads and not same and sorted(heads) == sorted(map(str, tgt.classes)):  # its names in another order:
            y_cand = torch.as_tensor([heads.index(str(c)) for c in tgt.classes])[y]  # read in its head's, as run does
            same = True
        rows += score_candidates([cand], x, y_cand, names, cuts, same)
        if say:
            say(f"[{i + 1}/{len(entries)}] scored {cand.name}{' (reference)' if cand.reference else ''} "
                f"({time.perf_counter() - said:.1f} s)")
    ranked = rank_rows(rows, by)
    if "hscore" in names:
        warnings += [w for w in [hscore_floor_warning([r["dim"] for r in ranked], labelled.y),
                                 hscore_reference_warning(ranked, len(np.unique(labelled.y)) - 1)] if w]
    held_out = [n for n in ("knn", "linear_cv") if n in names]
    if held_out and int(np.bincount(labelled.y).min()) == 1:  # one held out leaves its class without an example
        warnings.append(f"{' and '.join(held_out)} hold each labelled example out, and a class with one example then "
                        "has none left to be recognised by: with 1 per class they score 0 for every candidate and "
                        "rank nothing; read logme, or rank with --shots 2 or more.")  # fmt: skip
    if held_out and int(np.bincount(labelled.y).min()) > 1 and (w := held_out_reference_warning(ranked, len(labelled.y))):
        warnings.append(w)  # (with 1 per class they score 0 throughout: said above)
    headed = [r for r in ranked if r.get("source_only") is not None and not r["reference"]]  # the head cut's rows
    warnings += [w for w in (head_at_chance_warning(r, labelled.y) for r in _one_row_each(headed)) if w]
    scored = [r for r in ranked if not r["reference"] and r[by] is not None]
    # the best source among those that never saw the scored examples: one that did (a run's model fine-tuned on
    # them, a source holding copies) scores optimistically, and took the verdict against random weights with it
    best = next((r for r in scored if r["candidate"] not in trained_on), scored[0] if scored else None)
    if scored and best is not scored[0]:
        warnings.append(f"{scored[0]['candidate']} ranks above {best['candidate']} on examples it saw (see above), so "
                        f"the best source and its comparison with random weights are taken among the candidates "
                        "that did not.")  # fmt: skip
    ref_best = max((r[by] for r in ranked if r["reference"] and r[by] is not None), default=None)
    beats = None if ref_best is None or best is None else bool(best[by] > ref_best)
    if reference and get_score(by).needs_source_probs and best is not None:  # the reference's head is random: no score
        warnings.append(f"--by {by} reads a source head's predictions, and the random-weights reference has none (its "
                        "head is random), so whether the best source beats random weights is not judged; rank by "
                        "logme (the default) for that verdict.")  # fmt: skip
    if beats is False:
        warnings.append(no_lead_warning(by, reference and pretrained_text_encoder(entries[0][0].model),
                                        int(np.bincount(labelled.y).min()) == 1))  # fmt: skip
    log_bf = None  # LogME's lead over random weights as a log Bayes factor, N C (LogME_s - LogME_r) (evidence.py)
    if beats and by == "logme":
        log_bf = len(lab) * len(tgt.classes) * (best[by] - ref_best)
        if log_bf < CLEAR_LOG_BF:
            warnings.append(f"{best['candidate']} leads random weights on logme by a log Bayes factor of only "
                            f"{log_bf:.2f} on {len(lab)} examples (under {CLEAR_LOG_BF:g}, short of strong "
                            "evidence): the ranking may be noise; a run against scratch will tell.")  # fmt: skip
    return {
        "target": tgt.name, "target_classes": tgt.classes, "shots": shots, "seed": seed,
        "split_seed": split_seed, "labelled_examples": int(len(lab)), "by": by, "scores": names,
        "input_size": input_size,
        "candidates": ranked, "best": best,
        "best_beats_reference": beats, "best_log_bayes_factor_vs_reference": log_bf, "trained_on_scored": trained_on,
        "warnings": warnings, "wall_time_s": time.perf_counter() - start,
    }  # fmt: skip
