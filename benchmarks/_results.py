"""What every benchmark's results file starts with: the machine line, the JSON, the Markdown header."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

OUT = Path(__file__).parent / "results"


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    return f"{cpu}, {os.cpu_count()} cores (shared), torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def write_json(stem: str, title: str, results: dict) -> list[str]:
    """Writes ``results/<stem>.json``; returns the Markdown file's first lines (title, command, machine)."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    return [f"# {title}", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", ""]
