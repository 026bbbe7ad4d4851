"""Truth values are not numbers in an experiment file or a method's parameters.

pydantic's lax mode reads ``true`` as 1 where a field takes a number, so ``epochs: true`` trained
one epoch and ``max_per_class: yes`` kept one image a class, without a word (a trial's
findings). YAML reads ``yes``, ``on`` and ``true`` as truth values, so they are refused too.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator


def _kinds(annotation: Any) -> set[type]:
    """The plain types a field's annotation admits, through Optional, unions and Annotated."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_kinds(a) for a in get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else set()


def _items(annotation: Any) -> Any | None:
    """The element annotation of a list field (``list[int]``), else None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _items(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = [_items(a) for a in get_args(annotation)]
        return next((f for f in found if f is not None), None)
    return get_args(annotation)[0] if origin in (list, tuple) and get_args(annotation) else None


def _numbers_only(annotation: Any) -> bool:
    kinds = _kinds(annotation)
    return bool(kinds & {int, float}) and bool not in kinds


class NoTruthValues(BaseModel):
    """A model whose number fields refuse ``true``/``false`` (and lists of numbers too)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_a_truth_value(cls, v: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return v
        if isinstance(v, bool) and _numbers_only(field.annotation):
            raise ValueError("Input should be a number, not a truth value (YAML reads yes, no, on, off, true and "
                             "false as such); write the number itself")  # fmt: skip
        items = _items(field.annotation)
        if isinstance(v, list) and items is not None and _numbers_only(items) and any(isinstance(e, bool) for e in v):
            if str in _kinds(items):  # classes: [yes, no] are names YAML read as truth values
                raise ValueError("YAML reads yes, no, on, off, true and false unquoted as truth values, not names; "
                                 'quote them: ["yes", "no"]')  # fmt: skip
            raise ValueError("Input should be a list of numbers, not of truth values; write the numbers themselves")
        return v
