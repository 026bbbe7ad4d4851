"""``transferkit``: demo, run, predict, list. Bad input: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import sys

from transferkit.errors import TransferkitError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="transferkit", description="Transfer learning, measured against training from scratch.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="MNIST-5k -> optdigits: five methods, k = 1/5/10, 3 seeds")
    d.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    d.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a field")
    d.add_argument("--quiet", action="store_true")
    r = sub.add_parser("run", help="run an experiment file")
    r.add_argument("experiment", help="experiment YAML")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a field, e.g. seeds=5")
    r.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    r.add_argument("--quiet", action="store_true")
    pr = sub.add_parser("predict", help="predict with a model from a run folder")
    pr.add_argument("run_dir")
    pr.add_argument("input", help=".npz (array x), .csv, or a folder of images")
    pr.add_argument("--out", help="write predictions CSV here (default: print)")
    pr.add_argument("--method", help="which method's model (default: the run's deploy method)")
    pr.add_argument("--shots", type=int)
    pr.add_argument("--seed", type=int)
    sub.add_parser("list", help="built-in domains, shared-layer architectures, methods")
    return p


def _print_summary(summary: dict) -> None:
    from transferkit.report.table import text_table

    print(text_table(summary["results"]))
    if summary["negative_transfer"]:
        print("NEGATIVE TRANSFER: " + ", ".join(summary["negative_transfer"]))
    print(f"run folder: {summary['run_dir']}  ({summary['wall_time_s']:.0f} s)")


def _list() -> None:
    from transferkit.data import list_domains
    from transferkit.methods import list_methods
    from transferkit.models import list_architectures

    for title, items in (("domains", list_domains()), ("shared-layer architectures", list_architectures()),
                         ("methods", list_methods())):  # fmt: skip
        print(f"{title}:")
        width = max(len(n) for n, _ in items)
        for name, desc in items:
            print(f"  {name.ljust(width)}  {desc}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            _list()
        elif args.command == "demo":
            from transferkit.api import demo

            _print_summary(demo(args.out, args.set, progress=not args.quiet))
        elif args.command == "run":
            from transferkit.api import run

            _print_summary(run(args.experiment, args.out, args.set, progress=not args.quiet))
        elif args.command == "predict":
            from transferkit.predict import predict

            rows = predict(args.run_dir, args.input, args.out, method=args.method, shots=args.shots, seed=args.seed)
            if args.out:
                print(f"wrote {len(rows)} predictions to {args.out}")
            else:
                print("input,class_index,class_name,probability")
                for r in rows:
                    print(f"{r['input']},{r['class_index']},{r['class_name']},{r['probability']:.4f}")
    except TransferkitError as e:
        print(f"transferkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("transferkit: interrupted; nothing was written for the unfinished run.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
