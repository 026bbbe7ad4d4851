"""``transferkit fewshot EXPERIMENT.yaml``: N-way K-shot episodes over novel classes."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fewshot",
        help="few-shot evaluation: episodes over classes the source never saw",
        description="Train (or load) shared layers on the source classes, cache the novel-class "
        "features once, and evaluate every method on N-way K-shot episodes (mean, 95% CI).",
    )
    p.add_argument("experiment", help="experiment YAML with a `fewshot:` section (see configs/fewshot_fashion.yaml)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a field, e.g. fewshot.episodes=100"
    )
    p.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines while it runs")


def execute(args) -> int:
    from transferkit.fewshot.experiment import run_fewshot
    from transferkit.fewshot.report import NOVEL_SAMPLE, markdown_table, twin_warnings
    from transferkit.report.markdown import sampled_line

    summary = run_fewshot(args.experiment, args.out, args.set, progress=not args.quiet)
    print(markdown_table(summary))
    for warning in twin_warnings(summary, markdown=False):  # right under the numbers it qualifies
        print(f"warning: {warning}")
    for role, what in (("source", None), ("target", NOVEL_SAMPLE)):  # the counts are the sample's
        if line := sampled_line(role, summary.get(role), what):
            print(f"note: {line}")
    print(f"run folder: {summary['run_dir']}  ({summary['wall_time_s']:.0f} s)")
    return 0
