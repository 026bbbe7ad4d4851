"""Write docs/methods.md from the registered methods' docstrings (formula + paper).

Each method file's module docstring is the source of truth; `tests/test_docs.py` fails when
docs/methods.md is out of date. Usage: python tools/gen_methods_doc.py
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from transferkit.methods import METHODS

HEADER = """# Methods

Generated from each method's docstring by `python tools/gen_methods_doc.py` (do not edit by
hand). Notation: `CE` is cross-entropy, `phi` the shared layers, `W` / `w_h` the specific
layers, `(x_i, y_i)` the k-shot labelled target examples, `x^t` unlabelled target inputs,
`(x^s, y^s)` source examples.

"""


def render() -> str:
    parts = [HEADER]
    for name in sorted(METHODS):
        cls = METHODS[name]
        module = sys.modules[cls.__module__]
        doc = inspect.cleandoc(module.__doc__ or cls.__doc__ or "")
        fields = ", ".join(f"`{k}={v.get_default(call_default_factory=True)!r}`"
                           for k, v in cls.Params.model_fields.items()) or "none"  # fmt: skip
        parts.append(f"## `{name}`\n\n{cls.description}.\n\n```text\n{doc}\n```\n\nHyper-parameters: {fields}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    Path("docs/methods.md").write_text(render(), encoding="utf-8")
    print(f"wrote docs/methods.md ({len(METHODS)} methods)")
