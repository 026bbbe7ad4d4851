"""The results table as text (terminal) and Markdown (report)."""

from __future__ import annotations

import re


def md_text(text: object) -> str:
    """``text`` for a line or table cell of a Markdown report, with the characters that CommonMark
    and GitHub's tables read as markup backslash-escaped (a backslash before them renders them as
    they are). Class names are the user's: ``Q|q`` split a table's columns, ``<S>`` vanished as an
    HTML tag, ``T*t*`` and ``_background_noise_`` turned italic, ``[x](y)`` became a link (a trial)."""
    return re.sub(r"([\\`*_\[\]<>|~#])", r"\\\1", str(text))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def points(v: float, sign: str = "") -> str:
    """A proportion as percentage points, one decimal; a value that would print as 0.0 keeps
    as many more (up to 4) as show a digit, so that a bound just below 0 beside a 'negative'
    flag does not read "-0.0" (nor "-0.00": one test example in 30,000 is 0.003 points)."""
    v = 0.0 if abs(v) < 1e-12 else v  # float noise of equal means: "+0.0", not "-0.00"
    decimals = 1
    while decimals < 4 and v != 0 and not f"{100 * v:.{decimals}f}".strip("-0."):
        decimals += 1
    return f"{100 * v:{sign}.{decimals}f}"


def _ci(ci: list[float] | None) -> str:
    return "—" if ci is None else f"[{points(ci[0])}, {points(ci[1])}]"


def _gain(r: dict) -> str:
    flag = "  NEGATIVE TRANSFER" if r["negative_transfer"] else ""
    if r["gain_vs_scratch"] is None:
        if r.get("gain_vs_source_only") is None:
            return "—"  # k = 0 without source_only: nothing to compare with
        return f"{points(r['gain_vs_source_only'], '+')} {_ci(r['gain_vs_source_only_ci95'])} vs source_only{flag}"
    return f"{points(r['gain_vs_scratch'], '+')} {_ci(r['gain_ci95'])}{flag}"


def _method(r: dict) -> str:
    """The method, marked where some seeds kept their stage-1 probe (their second stage
    diverged): those seeds' models are a linear probe on the frozen shared layers, whatever
    the row's name says (not `head`'s own, whose l2 is cross-validated)."""
    kept = r.get("probe_kept_seeds")
    return f"{r['method']} (probe kept: seed {', '.join(map(str, kept))})" if kept else r["method"]


def rows_for(results: list[dict]) -> list[list[str]]:
    return [
        [_method(r), str(r["shots"]), _pct(r["accuracy_mean"]), _ci(r["accuracy_ci95"]), _gain(r), str(len(r["seeds"]))]
        for r in results
    ]


HEADER = ["method", "k", "acc %", "95% CI", "gain vs scratch (pts) [95% CI]", "seeds"]


def header(results: list[dict]) -> list[str]:
    """HEADER, its gain column named after the baseline when no gain is against scratch (k = 0 only)."""
    if any(r.get("gain_vs_scratch") is not None for r in results):
        return HEADER  # k = 0 cells, if any, say "vs source_only" themselves
    if any(r.get("gain_vs_source_only") is not None for r in results) or (
        results and all(str(r.get("shots", 1)) == "0" for r in results)  # k = 0 only: scratch cannot be the baseline
    ):
        return [*HEADER[:4], "gain vs source_only (pts) [95% CI]", HEADER[5]]
    return HEADER


def text_table(results: list[dict]) -> str:
    rows = [header(results)] + rows_for(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: list[dict]) -> str:
    lines = ["| " + " | ".join(header(results)) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows_for(results)]
    return "\n".join(lines)
