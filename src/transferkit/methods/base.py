"""The method contract and registry.

A method is one file in ``transferkit/methods/`` holding one class decorated with
:func:`register_method`. It declares its hyper-parameters as a pydantic model
(validated, with defaults), and implements ``fit(task) -> TransferModel``. Nothing else
needs to change to add a method: the package imports every module in this folder, the
CLI lists it, the protocol runs it and ``tests/methods/test_contract.py`` checks it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from pydantic import ConfigDict, ValidationError

from transferkit.data.splits import TargetData
from transferkit.errors import BOUNDS, TransferkitError, colon_hint, did_you_mean, install_hint
from transferkit.models import TransferModel
from transferkit.strict_numbers import NoTruthValues


class Params(NoTruthValues):
    """Base of every method's hyper-parameters: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass
class TransferTask:
    """Everything a method may use. Target labels exist only for the k-shot examples.

    Attributes:
        target: Labelled k-shot examples and unlabelled pool of the target.
        classes: Target class names.
        seed: Run seed; methods seed their own generators from it.
        new_model: Builds a freshly initialised model for the target classes (same
            architecture and input normalisation as the source model).
        source_model: The model trained on the source (shared + source head), or None.
        source_x, source_y: Source training split (the source model trained on exactly
            this), for methods that train on both domains.
        source_val_x, source_val_y: Held-out source validation split (never trained on):
            label-free model selection for domain adaptation may use it.
        source_classes: Source class names.
        on_log: Called as ``on_log(phase, step, loss, epoch)`` while training (``epoch``:
            passes over the labelled examples so far, or None when not meaningful).
        monitor: Optional ``monitor(model, step)`` the protocol may pass to *record* target
            test accuracy during training for the report's curves. Its value is never
            returned to the method: nothing may select on it.
    """

    target: TargetData
    classes: list[str]
    seed: int
    new_model: Callable[[], TransferModel]
    source_model: TransferModel | None = None
    source_x: torch.Tensor | None = None
    source_y: torch.Tensor | None = None
    source_classes: list[str] | None = None
    on_log: Callable[[str, int, float, float | None], None] | None = None
    source_val_x: torch.Tensor | None = None
    source_val_y: torch.Tensor | None = None
    monitor: Callable[[TransferModel, int], None] | None = None
    extras: dict = field(default_factory=dict)

    @property
    def same_label_space(self) -> bool:
        return self.source_classes is not None and list(self.source_classes) == list(self.classes)

    def log(self, phase: str) -> Callable[..., None]:
        def record(step: int, loss: float, epoch: float | None = None) -> None:
            if self.on_log is not None:
                self.on_log(phase, step, loss, epoch)

        return record


class Method:
    """Base of all methods: stores validated hyper-parameters; subclasses implement fit."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    uses_source: ClassVar[bool] = True  # needs the source model
    optional_source: ClassVar[bool] = False  # uses the source model when the task has one (e.g. auto)
    min_shots: ClassVar[int] = 1  # fewest labelled target examples per class it can use
    needs_same_classes: ClassVar[bool] = False
    uses_unlabelled: ClassVar[bool] = False  # adapts with unlabelled target inputs (TargetData.x_unlabelled)
    trains_on_source: ClassVar[bool] = False  # trains on source examples beside the target's (methods/_adapt.py)
    uses_target_labels: ClassVar[bool] = True  # False: labelled target examples never train it (source_only, adabn)
    weighs_classes: ClassVar[bool] = True  # its losses on the labelled examples take TargetData.class_weight
    optional_imports: ClassVar[tuple[str, ...]] = ()  # modules of an extra it needs (e.g. "peft")

    def __init__(self, **params) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "params"
            msg, fix = err["msg"].removeprefix("Value error, "), f"valid fields: {', '.join(self.Params.model_fields)}."
            if err["type"] == "value_error" and "; " in msg:  # a validator's own "problem; fix"
                msg, fix = msg.rsplit("; ", 1)
                fix = fix if fix.endswith(".") else fix + "."
            elif err["type"] in BOUNDS and "ctx" in err:  # out of range: the range, with the default beside it
                key, words = BOUNDS[err["type"]]
                default = self.Params.model_fields[str(err["loc"][-1])].default if err["loc"] else None
                fix = f"set {where} to {words.format(float(err['ctx'][key]))}" + (
                    f" (default {default})." if isinstance(default, int | float) else ".")
            fix = colon_hint(err["loc"][-1] if err["loc"] else None, err.get("input")) or fix  # {steps:100}
            raise TransferkitError(f"method {self.name!r}: {where}: {msg} (got {err.get('input')!r}).", fix) from None

    def check(self, shots: int, same_label_space: bool, has_source: bool, classes_differ: str = "") -> None:
        """Raise a clear error if this method cannot run on such a task.

        ``classes_differ``: how the class names differ (see :func:`class_difference`), for the message.
        """
        for module in self.optional_imports:  # before any training: not after the methods listed before it ran
            try:
                importlib.import_module(module)
            except ImportError:
                raise TransferkitError(f"method {self.name!r} needs the optional package {module!r}, which is not "
                                       "installed.", install_hint(module)) from None  # fmt: skip
        if shots < self.min_shots:
            raise TransferkitError(
                f"method {self.name!r} needs at least {self.min_shots} labelled target example(s) per class, got shots={shots}.",
                "raise `shots` or use a method that works without target labels.",
            )
        if self.uses_source and not has_source:  # before the classes: with no source there are none to compare
            raise TransferkitError(f"method {self.name!r} needs a source.", "add a `source:` section.")
        if self.needs_same_classes and not same_label_space:
            raise TransferkitError(
                f"method {self.name!r} keeps the source's head (it applies or adapts it, with its classes), so source "
                "and target must have the same "
                f"classes{f' ({classes_differ})' if classes_differ else ''}.",
                "drop it from `methods`, or use source and target with the same class names"
                + (" (a .npz names label i by its `classes` array: classes[i])." if any(
                    c.isdigit() for c in classes_differ.split("'")[1::2]) else "."),
            )

    def needs_source_data(self) -> bool:
        """Whether this method, with its parameters, trains on source examples (a network given as it is, from
        split_module or pretrained weights, comes with none)."""
        return self.trains_on_source

    def fit(self, task: TransferTask) -> TransferModel:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.name}({self.params.model_dump()})"


METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    if not getattr(cls, "name", None) or not getattr(cls, "description", None):
        raise TypeError(f"{cls.__name__} must define `name` and `description`")
    if cls.name in METHODS:
        raise TypeError(f"method name {cls.name!r} registered twice")
    METHODS[cls.name] = cls
    return cls


def get_method(name: str, **params) -> Method:
    if name not in METHODS:
        raise TransferkitError(
            f"unknown method {name!r}.", f"use one of: {did_you_mean(name, sorted(METHODS))}."
        )
    return METHODS[name](**params)


def class_difference(source: list[str], target: list[str]) -> str:
    """'classes only in the target: [...]; only in the source: [...]' for two lists of class
    names ('' when the sets are equal). Not "source only", which reads as the method's name."""
    only_t, only_s = [c for c in target if c not in source], [c for c in source if c not in target]
    parts = [f"only in the {name}: {cs[:5]}{' ...' if len(cs) > 5 else ''}" for name, cs in (("target", only_t), ("source", only_s)) if cs]
    if parts:
        parts[0] = "classes " + parts[0]
    from transferkit.data.splits import source_case_twins

    twins = source_case_twins(source, target)
    if twins:
        parts.append(", ".join(f"{t!r} and {s!r}" for t, s in twins[:3]) + " differ only in case or surrounding spaces")
    return "; ".join(parts)
