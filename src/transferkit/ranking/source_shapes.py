"""Sources whose models could not read the target, found before any of them is trained.

A source's model reads inputs of the source's shape. Vectors of another length, and series
of another length or number of channels (the ``cnn1d``'s), are refused rather than resized
(:func:`transferkit.data.preprocess.make_recipe`); ``rank`` found that out source by source,
after training the ones before, and its fix (resample the target to that source's length)
broke every other source. Pictures are resized, so image sources are not checked here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from transferkit.config import SourceConfig
from transferkit.data import Domain
from transferkit.data.preprocess import is_picture, make_recipe, reads_series
from transferkit.errors import TransferkitError


def inputs_said(domain: Domain) -> str:
    """``domain``'s inputs in words: vectors of D features, images of H x W, or series of C channels x L steps."""
    if not domain.is_image:
        return f"vectors of {domain.input_shape[0]} features"
    c, steps = domain.input_shape[-2:]
    return f"images of {c}x{steps}" if is_picture((c, steps)) else f"series of {c} channel{'s' * (c != 1)} x {steps} steps"


def check_source_shapes(sources: list[str], pool: Domain, shared: str = "auto", others: bool = False,
                        label_column: str = "label", id_column: str | None = None) -> None:  # fmt: skip
    """Refuse, in one line naming every one, the ``sources`` (data set files) whose inputs a model
    trained on them could not read of ``pool``, the target's training pool. ``others``: other
    candidates (saved models, pretrained encoders) are ranked too, so leaving them out leaves some."""
    from transferkit.data.builtin import is_builtin
    from transferkit.evaluate.prepare import load_section

    misfits: list[tuple[str, Domain]] = []
    for spec in sources:
        if is_builtin(spec) or Path(spec).is_dir():  # built-ins are pictures and texts, folders pictures: resized
            continue
        with warnings.catch_warnings():  # its notes are said when it is loaded to be trained
            warnings.simplefilter("ignore")
            src = load_section(SourceConfig(data=spec, label_column=label_column, id_column=id_column))
        shape = src.input_shape
        if shape == pool.input_shape or (src.is_image and not reads_series(shape, shared)):
            continue
        if not src.is_image and not pool.is_image and src.meta.get("columns") and pool.meta.get("columns"):
            continue  # named columns are read by name, the target's others left out
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make_recipe(pool, shape, 0, source=src, architecture=shared, reader=None)
        except TransferkitError as e:
            if len(sources) == 1 and not others:  # the one candidate: its own fix (resample the target) breaks no other
                raise TransferkitError(f"candidate {Path(spec).name}: {e.problem}", e.fix) from None
            misfits.append((spec, src))
    if not misfits:
        return
    said = ", ".join(f"{Path(spec).name} holds {inputs_said(src)}" for spec, src in misfits)
    longer = all(src.is_image == pool.is_image and src.input_shape[:-1] == pool.input_shape[:-1] for _, src in misfits)
    them, their, do = ("them", "their", "do") if len(misfits) > 1 else ("it", "its", "does")
    n = pool.input_shape[-1]
    fix = (f"give {them} inputs of the target's shape" if not longer else
           f"resample each of {their} series to the target's {n} steps first (e.g. with np.interp, over the same "
           "duration)" if pool.is_image else
           f"give {them} the target's {n} feature columns (series of another length: resample each to {n} values, "
           "e.g. with np.interp)")
    raise TransferkitError(
        f"{len(misfits)} of the {len(sources)} sources {do} not fit the target, which holds {inputs_said(pool)}: "
        f"{said}; a source's model reads only inputs of its source's shape (nothing was trained).",
        f"{fix}, or leave {them} out of --source.",
    )  # fmt: skip
