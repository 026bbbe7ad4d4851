"""Every error the user can meet names the problem *and* the fix (house rule for bad input)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "transferkit"


def test_every_transferkit_error_is_raised_with_a_fix():
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("TransferkitError", "TrainingDiverged"):
                given = len(node.args) + sum(k.arg == "fix" for k in node.keywords)
                if given < 2:
                    missing.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not missing, f"TransferkitError without a fix: {missing}"
