"""Progress while a run works: a bar on a terminal, quiet one-line messages otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable

NOT_UNITS = ("source seed=", "warning:", "note:")  # said along the way; not a finished (method, k, seed)


class Progress:
    """``Progress(total)`` is called with one message per finished unit of work, and with
    messages starting with one of ``NOT_UNITS``, which are shown but not counted."""

    def __init__(self, total: int, enabled: bool = True, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.count = 0
        self.total = total
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, dynamic_ncols=True, leave=False)

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        if message.startswith(NOT_UNITS):
            if self.bar is None:
                print(f"[transferkit] {message}", file=self.stream, flush=True)
            else:
                self.bar.write(f"[transferkit] {message}")
            return
        self.count += 1
        if self.bar is not None:
            self.bar.set_description(message[:60])
            self.bar.update(1)
        else:
            print(f"[transferkit] [{self.count}/{self.total}] {message}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_for(cfg, enabled: bool = True) -> Callable[[str], None]:
    total = len(cfg.seeds) * len(cfg.target.shots) * len(cfg.methods)
    return Progress(total, enabled)
