"""Progress while a run works: a bar on a terminal, quiet one-line messages otherwise."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

NOT_UNITS = ("source seed=", "warning:", "note:", "skipped:")  # said along the way; not a finished (method, k, seed)
NOW = "now: "  # what starts now (a source, a method): the bar's description; no line of its own
# No remaining time: units differ a hundredfold in cost (dann's minutes, head's second), so a rate
# over units gave false estimates; the elapsed time is redrawn every second while a unit runs.
BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}]"


class Progress:
    """``Progress(total)`` is called with one message per finished unit of work, and with
    messages starting with one of ``NOT_UNITS``, which are shown but not counted, or with
    ``NOW``, which name what starts (on a terminal's bar only)."""

    def __init__(self, total: int, enabled: bool = True, stream=None, tick: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.count = 0
        self.total = total
        self.bar = None
        self._stop = threading.Event()
        self._ticker = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, dynamic_ncols=True, leave=False, bar_format=BAR_FORMAT)
            self._ticker = threading.Thread(target=self._tick, args=(tick,), daemon=True)
            self._ticker.start()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):  # the elapsed time moves while a long unit trains
            self.bar.refresh()

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        if message.startswith(NOW):
            if self.bar is not None:
                self.bar.set_description(f"{message[len(NOW):][:50]} ")
            return
        if message.startswith(NOT_UNITS):
            if self.bar is None:
                print(f"[transferkit] {message}", file=self.stream, flush=True)
            else:
                self.bar.write(f"[transferkit] {message}", file=self.stream)
            return
        self.count += 1
        if self.bar is not None:
            self.bar.write(f"[transferkit] [{self.count}/{self.total}] {message}", file=self.stream)  # kept above the bar
            self.bar.set_description("")
            self.bar.update(1)
        else:
            print(f"[transferkit] [{self.count}/{self.total}] {message}", file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.bar is not None:
            self.bar.close()


def progress_for(cfg, enabled: bool = True) -> Callable[[str], None]:
    from transferkit.methods import METHODS
    from transferkit.shots import ALL

    # a k below a method's min_shots: skipped, not run (`all`: at least one a class, the test split's check)
    runs = [(k, m) for k in cfg.target.shots for m in cfg.methods
            if (1 if k == ALL else k) >= getattr(METHODS.get(m.name), "min_shots", 0)]  # fmt: skip
    return Progress(len(cfg.seeds) * len(runs), enabled)
