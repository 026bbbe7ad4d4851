"""Printing helpers shared by commands."""

from __future__ import annotations


def print_summary(summary: dict) -> None:
    from transferkit.report.table import text_table

    print(text_table(summary["results"]))
    if summary["negative_transfer"]:
        print("NEGATIVE TRANSFER: " + ", ".join(summary["negative_transfer"]))
    print(f"run folder: {summary['run_dir']}  ({summary['wall_time_s']:.0f} s)")
