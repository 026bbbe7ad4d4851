"""``transferkit run EXPERIMENT.yaml``: the pipeline on any source and target."""

from __future__ import annotations

from transferkit.commands._shared import print_summary


def add_parser(sub) -> None:
    r = sub.add_parser("run", help="run an experiment file",
                       description="Train the source, fit every method on the target's labelled examples for "
                                   "each shots value and seed, score them on the held-out test split against "
                                   "scratch, and write a run folder (report.md, summary.json, models).")  # fmt: skip
    r.add_argument("experiment", help="experiment YAML")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a field, e.g. seeds=5")
    r.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    r.add_argument("--quiet", action="store_true", help="no progress lines while it runs")


def execute(args) -> int:
    from transferkit.api import run

    print_summary(run(args.experiment, args.out, args.set, progress=not args.quiet))
    return 0
