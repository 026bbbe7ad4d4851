"""Printing helpers shared by commands."""

from __future__ import annotations

import shlex


def print_summary(summary: dict) -> None:
    """The results table, then what the report says in bold: negative transfer, possible
    negative transfer, a baseline no better than the most frequent class, a missing scratch
    baseline, test examples found in the source."""
    from transferkit.report.markdown import (
        few_seeds_line,
        imbalanced,
        labelled_text,
        many_comparisons_line,
        overconfidence_lines,
        sampled_line,
        source_copies_warning,
        trivial_baseline_lines,
        unchecked_reason,
        unlabelled_note,
        unlabelled_reference_flagged,
    )
    from transferkit.report.table import text_table

    print(text_table(summary["results"]))
    target = summary.get("target") or {}
    if target.get("labelled_at_all"):  # k = all: no draw, the same labelled examples at every seed
        print(f"note: k = all is {labelled_text('all', target)}, the same at every seed: its seeds differ only in "
              "training randomness" + ("; class_weight: balanced weighs each class alike"
                                       if summary.get("class_weight") == "balanced" else ""))  # fmt: skip
    copies = source_copies_warning(summary)
    if copies:  # right under the table whose numbers it qualifies
        print(f"WARNING: {copies}")
    if summary["negative_transfer"]:
        print("NEGATIVE TRANSFER: " + ", ".join(summary["negative_transfer"]))
        if unused := unlabelled_reference_flagged(summary):
            print(f"  ({unlabelled_note(unused, code='')})")
    elif summary.get("negative_transfer_checked", 1) == 0 and summary["results"]:  # silence would read as all-clear
        print(f"negative transfer was not checked: {unchecked_reason(summary)}")
    if summary.get("negative_transfer_balanced") and imbalanced(summary):
        print("NEGATIVE TRANSFER ON BALANCED ACCURACY (the smaller classes pay; accuracy does not show it): "
              + ", ".join(summary["negative_transfer_balanced"]))
    if summary.get("below_source_only"):
        print("BELOW THE SOURCE MODEL AS IT IS (source_only): " + ", ".join(summary["below_source_only"])
              + "  (adapting it to the target made it worse than not adapting it)")
    if summary.get("below_baseline_not_significant"):
        print("below the baseline, not significant: " + ", ".join(summary["below_baseline_not_significant"]))
    if line := few_seeds_line(summary):
        print("note: " + line.replace("`", ""))
    if line := many_comparisons_line(summary):
        print("note: " + line)
    if imbalanced(summary) and any(r.get("balanced_accuracies") for r in summary.get("results") or []):
        print("note: the test split is imbalanced; the run's report.md gives each row's balanced accuracy (the mean "
              "of the per-class accuracies) beside its accuracy")  # fmt: skip
    for line in [*trivial_baseline_lines(summary), *overconfidence_lines(summary)]:  # a trivial baseline; sure, wrong models
        if line:
            print("note: " + line.replace("**", "").replace("`", ""))
    from transferkit.shots import has_labels

    no_scratch = [k for k, b in (summary.get("baseline") or {}).items() if has_labels(k) and b != "scratch"]
    if no_scratch:
        print(f"no scratch baseline at k = {', '.join(no_scratch)}: add scratch to methods to compare with it")
    for info in ((summary.get("source") or {}).get("models") or {}).values():
        if info.get("warning"):
            print(f"warning: {info['warning']}")
    for note in [*((summary.get("source") or {}).get("warnings") or []),
                 *((summary.get("target") or {}).get("warnings") or []), *(summary.get("method_warnings") or [])]:
        print(f"warning: {note}")
    for role in ("source", "target"):  # the counts above describe the sample
        if line := sampled_line(role, summary.get(role)):
            print(f"note: {line}")
    shared = (summary.get("target") or {}).get("test_examples_in_source")
    if shared and not copies:
        print(f"note: {shared} target test examples are also in the source (copies)")
    if summary.get("resumed_runs"):  # also under --quiet, which prints no progress lines
        print(f"note: {summary['resumed_runs']} of the runs had finished before an interrupt and were taken from the "
              "cache, not trained again (each seeds itself: the same results)")  # fmt: skip
    print(f"run folder: {summary['run_dir']}  ({summary['wall_time_s']:.0f} s); read {summary['run_dir']}/report.md")
    d = summary.get("deploy")
    if d and summary.get("models_saved", True):
        row = next((r for r in summary.get("results") or [] if r.get("method") == d["method"]
                    and r.get("shots") == d["shots"]), {})  # fmt: skip
        flag = ("flagged as negative transfer" if row.get("negative_transfer") else
                "below the source model as it is (source_only)" if row.get("below_unadapted") else None)  # fmt: skip
        print(f"predict with: transferkit predict {shlex.quote(str(summary['run_dir']))} INPUTS  "
              f"(model {d['method']}_k{d['shots']}_seed{d['seed']}; --method/--shots/--seed for another)"
              + (f"; {d['method']} is {flag} at k = {d['shots']} in this run: set deploy: or "
                 "give --method" if flag else ""))  # fmt: skip
