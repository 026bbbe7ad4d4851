import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_methods_doc_is_generated_and_current():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from gen_methods_doc import render
    finally:
        sys.path.pop(0)
    current = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    assert current == render(), "docs/methods.md is stale: run `python tools/gen_methods_doc.py`"


def test_every_method_documents_a_formula_and_a_source():
    from transferkit.methods import METHODS

    for name, cls in METHODS.items():
        doc = sys.modules[cls.__module__].__doc__ or ""
        assert "min" in doc or "argmax" in doc or "=" in doc, f"{name}: docstring has no objective"
