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


def test_the_editable_copy_of_the_default_job_matches_the_demo():
    """configs/mnist_to_optdigits.yaml is offered as the demo to edit: it must be the demo."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    copy = (root / "configs" / "mnist_to_optdigits.yaml").read_text().splitlines()[1:]
    demo = (root / "src" / "transferkit" / "configs" / "demo.yaml").read_text().splitlines()[1:]
    assert copy == demo
