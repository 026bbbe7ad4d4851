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


def test_every_experiment_field_is_in_the_config_doc():
    """docs/config.md's annotated file lists every field of each section (a new field must be documented)."""
    import re

    from transferkit.config import ExperimentConfig, ModelConfig, SourceConfig, TargetConfig

    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    block = doc[doc.index("```yaml") : doc.index("```", doc.index("```yaml") + 7)]
    sections = {"source": SourceConfig, "target": TargetConfig, "model": ModelConfig, None: ExperimentConfig}
    for section, model in sections.items():
        if section is None:
            text = block
        else:  # the lines of that section: from "section:" to the next unindented key
            text = re.search(rf"^{section}:.*?(?=^\w)", block, re.S | re.M).group(0)
        missing = [f for f in model.model_fields if not re.search(rf"^\s*{f}:", text, re.M)]
        assert not missing, f"docs/config.md's {section or 'top level'} lacks {missing}"
