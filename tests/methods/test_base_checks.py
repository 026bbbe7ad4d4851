"""Method.check: what a method needs is said before any method trains."""

from __future__ import annotations

import sys

import pytest

from transferkit.errors import TransferkitError
from transferkit.methods import get_method


def test_a_missing_optional_package_is_named_before_training(monkeypatch):
    """peft missing: scratch and head trained first, then lora failed (minutes lost at 224 px)."""
    monkeypatch.setitem(sys.modules, "peft", None)  # as if not installed
    with pytest.raises(TransferkitError, match=r"method 'lora' needs the optional package 'peft'") as e:
        get_method("lora").check(5, same_label_space=False, has_source=True)
    assert e.value.fix == "pip install transferkit[peft]"


def test_a_method_that_needs_a_source_says_so_not_that_classes_differ():
    """No `source:` at all: mcc said source and target 'must have the same classes'."""
    with pytest.raises(TransferkitError, match=r"method 'mcc' needs a source\."):
        get_method("mcc").check(0, same_label_space=False, has_source=False)



def test_class_ids_against_class_names_point_to_the_npz_classes_array():
    """A source stored with labels 0..9 and no names against a folder of named classes."""
    from transferkit.methods.base import class_difference

    ids = class_difference(["0", "1", "2"], ["bag", "boot", "coat"])
    with pytest.raises(TransferkitError, match="same classes") as e:
        get_method("source_only").check(0, same_label_space=False, has_source=True, classes_differ=ids)
    assert "its `classes` array" in e.value.fix
    names = class_difference(["cat", "dog"], ["bag", "boot"])
    with pytest.raises(TransferkitError, match="same classes") as e:
        get_method("source_only").check(0, same_label_space=False, has_source=True, classes_differ=names)
    assert "classes` array" not in e.value.fix
