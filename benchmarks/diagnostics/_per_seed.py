"""The per-seed table and JSON that several diagnostics end with."""

from __future__ import annotations

import json
import time
from pathlib import Path


def write_per_seed(first: str, by: dict[str, list[float]], rows: list[dict], name: str, start: float) -> None:
    """Prints ``| first | per seed (%) | mean |`` for each entry of ``by`` (accuracies in %),
    and writes ``rows`` to benchmarks/results/diagnostics/NAME.json with the seconds taken."""
    print(f"| {first} | per seed (%) | mean |\n|---|---|---|")
    for label, accs in by.items():
        print(f"| {label} | {' / '.join(f'{a:.1f}' for a in accs)} | {sum(accs) / len(accs):.1f} |")
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / f"{name}.json"
    out.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}, indent=1))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")
