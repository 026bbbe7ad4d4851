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
    assert e.value.fix.startswith('pip install "transferkit[peft]" (from a checkout: pip install -c constraints.txt -e ".[peft]"')


def test_an_optional_package_that_fails_on_its_own_import_is_named_for_what_is_missing(monkeypatch):
    """timm installed without torchvision was said to be 'not installed', with a hint to
    install timm; timm with a torchvision built for another torch got a hint that would
    have replaced the CPU torch with a CUDA build."""

    import importlib

    from transferkit.pretrained.registry import _require

    def missing_torchvision(name):
        raise ModuleNotFoundError("No module named 'torchvision'", name="torchvision")

    monkeypatch.setattr(importlib, "import_module", missing_torchvision)
    with pytest.raises(TransferkitError, match="needs 'timm', which is installed but imports 'torchvision', which is not") as e:
        _require("timm", "timm", "pretrained source 'timm:resnet18'")
    assert "download.pytorch.org/whl/cpu" in e.value.fix

    def old_torchvision(name):  # installed, without a name timm imports from it
        raise ImportError("cannot import name 'NoSuchThing' from 'torchvision.transforms'", name="torchvision.transforms")

    monkeypatch.setattr(importlib, "import_module", old_torchvision)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())  # torchvision is there
    with pytest.raises(TransferkitError, match="imports 'torchvision', which lacks what it needs \\(another version") as e:
        _require("timm", "timm", "pretrained source 'timm:resnet18'")
    assert e.value.fix.startswith("install the version of torchvision that timm needs")
    monkeypatch.undo()

    def wrong_build(name):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(importlib, "import_module", wrong_build)
    with pytest.raises(TransferkitError, match="the torchvision it imports is built for another torch") as e:
        _require("timm", "timm", "pretrained source 'timm:resnet18'")
    assert "transferkit[timm]" not in e.value.fix and "download.pytorch.org/whl/cpu" in e.value.fix

    def absent(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib, "import_module", absent)
    with pytest.raises(TransferkitError, match="needs the optional package 'timm', which is not installed") as e:
        _require("timm", "timm", "x")
    assert '"transferkit[timm]"' in e.value.fix and "torchvision" in e.value.fix


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
