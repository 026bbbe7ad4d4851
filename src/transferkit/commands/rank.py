"""``transferkit rank TARGET``: score source models × cut points on a target, best first."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path


def add_parser(sub) -> None:
    r = sub.add_parser(
        "rank",
        help="rank source models and cut points for a target with transferability scores (no fine-tuning)",
        description="Score every candidate (source x cut point) on the target's labelled examples.",
    )
    r.add_argument("target", help="built-in domain name or path (.npz, .csv, image folder)")
    r.add_argument("--shots", type=int, default=10, help="labelled examples per class (default 10)")
    r.add_argument("--source", action="append", default=[], metavar="DATA",
                   help="train a source model on DATA (built-in name or path; cached); repeatable")  # fmt: skip
    r.add_argument("--model", action="append", default=[], metavar="FILE_OR_RUN",
                   help="a saved model (.safetensors) or a run folder; repeatable")  # fmt: skip
    r.add_argument("--pretrained", action="append", default=[], metavar="NAME",
                   help="a pretrained encoder as it is (mobilenet_v2_imagenet, timm:..., hf:...); "
                        "the only kind for text targets; repeatable")  # fmt: skip
    r.add_argument("--input-size", type=int, metavar="N",
                   help="pretrained candidates read N x N images (or N tokens of each text) instead of their "
                        "spec's size: faster on a CPU (as model.input_shape in run)")  # fmt: skip
    r.add_argument("--cuts", default="all",
                   help="cut points: 'all' (1..blocks), 'last' (each candidate's last block) or e.g. '1,3'")
    r.add_argument("--scores", help="comma-separated scores (default: all; see docs/ranking.md)")
    r.add_argument("--by", default="logme", help="score that orders the table (default logme)")
    r.add_argument("--seed", type=int, default=0, help="which labelled examples are drawn (as in a run)")
    r.add_argument("--split-seed", type=int, default=0,
                   help="the seed of the target's test split, as `target.split_seed` in a run (default 0): the "
                        "labelled examples are drawn from the same pool as a run's")
    r.add_argument("--pad", default="auto", help="target framing in pixels, or auto")
    r.add_argument("--classes", metavar="LIST",
                   help="keep only these target classes, e.g. 4,5,6 or 0-4 (names or positions; as `classes:` in an "
                        "experiment file)")
    r.add_argument("--target-max-per-class", type=int, help="subsample the target")
    r.add_argument("--image-shape", type=int, nargs="+", metavar="N",
                   help="read each row of a table target as an image: H W, C H W or H W C (a pixel CSV), as image_shape:")
    r.add_argument("--label-column", default="label", help="the label column of a CSV/TSV target, or key of a JSONL one (default: label)")
    r.add_argument("--source-label-column", default="label", metavar="NAME",
                   help="the label column of CSV/TSV --source files (default: label)")
    r.add_argument("--text-column", default="text", help="a CSV/JSONL text target's text column (default: text)")
    r.add_argument("--id-column", metavar="NAME",
                   help="a column of the target CSV (or key of its JSONL) naming the rows: never read as a feature")
    r.add_argument("--source-id-column", metavar="NAME", help="a column of the --source CSVs naming the rows: never read")
    r.add_argument("--source-max-per-class", type=int, help="subsample built-in sources")
    r.add_argument("--source-epochs", type=int, default=None, help="epochs for sources trained here (default: as `run`)")
    r.add_argument("--shared", default="auto", metavar="ARCH",
                   help="shared layers of sources trained here, as model.shared in an experiment file (default auto; "
                        "e.g. cnn1d for series)")
    r.add_argument("--no-reference", action="store_true", help="omit the random-weights reference")
    r.add_argument("--quiet", action="store_true", help="no progress lines (sources trained, candidates scored)")
    r.add_argument("--out", help="JSON file (default runs/rank-<target>-k<shots>-<time>.json)")


def format_table(result: dict) -> str:
    """The ranked candidates as aligned text, one row per (candidate, cut point)."""
    scores = result["scores"]
    extra = ["source_only"] if any("source_only" in r for r in result["candidates"]) else []
    head = ["rank", "candidate", "cut", "dim", *scores, *extra]
    rows = [head]
    for r in result["candidates"]:
        vals = [r.get(s) for s in scores + extra]
        name = r["candidate"] + (" (reference)" if r["reference"] else "")
        rows.append([str(r["rank"] or "-"), name, f"{r['cut']}/{r['blocks']}", str(r["dim"]),
                     *("-" if v is None else f"{v:.3f}" for v in vals)])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def execute(args) -> int:
    from transferkit.atomic import write_json
    from transferkit.data.builtin import parse_class_spec
    from transferkit.errors import TransferkitError
    from transferkit.prediction import check_out_file
    from transferkit.ranking.rank import rank
    from transferkit.report.summary import package_versions

    pad: int | str = args.pad
    if pad != "auto":
        try:
            pad = int(pad)
        except ValueError:
            raise TransferkitError(f"--pad {args.pad!r} is not a number.", "use --pad auto or e.g. --pad 4.") from None
    out = Path(args.out) if args.out else None
    if out is not None:  # checked before any work: a ranking can take minutes
        check_out_file(args.out, what="the ranking (a .json file)")
        if out.suffix.lower() != ".json":  # r.csv got JSON
            raise TransferkitError(f"--out {args.out}: the ranking is written as JSON.",
                                   f"give a path ending in .json, e.g. --out {out.with_suffix('.json')}.")  # fmt: skip
    else:  # the default file, checked before the work too (a trial lost a finished ranking to a read-only folder)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(args.target).name)
        out = Path("runs") / f"rank-{safe}-k{args.shots}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        try:
            check_out_file(out, what="the ranking")
        except TransferkitError as e:  # (its words name --out, which was not given)
            why = e.problem.removeprefix(f"--out {out}: ").removeprefix(f"--out {out} ").rstrip(".")
            raise TransferkitError(f"cannot write the ranking's default file {out.resolve()} ({why}).",
                                   "give --out a .json path you can write to, or run from another folder.") from None  # fmt: skip
    scores = [s.strip() for s in args.scores.split(",") if s.strip()] if args.scores else None
    shown: list[str] = []  # warnings already printed as they were raised: the JSON keeps them, not said twice
    previous = warnings.showwarning

    def show(message, *rest, **kw):
        shown.append(str(message))
        previous(message, *rest, **kw)

    warnings.showwarning = show
    try:
        result = rank(
            args.target, args.shots, args.source, args.model, args.pretrained, seed=args.seed, scores=scores,
            by=args.by, cuts=args.cuts, reference=not args.no_reference, pad=pad,
            target_max_per_class=args.target_max_per_class, source_max_per_class=args.source_max_per_class,
            source_epochs=args.source_epochs, split_seed=args.split_seed, label_column=args.label_column,
            text_column=args.text_column, id_column=args.id_column, input_size=args.input_size,
            source_label_column=args.source_label_column, source_id_column=args.source_id_column,
            classes=None if args.classes is None else parse_class_spec(args.classes, "--classes"),
            image_shape=args.image_shape, shared=args.shared,
            say=None if args.quiet else (lambda m: print(f"[transferkit] {m}", file=sys.stderr, flush=True)),
        )  # fmt: skip
    finally:
        warnings.showwarning = previous
    result["versions"] = package_versions()
    print(f"target {result['target']}: {result['labelled_examples']} labelled examples "
          f"({result['shots']} per class, seed {result['seed']}); ordered by {result['by']} (higher is better)")  # fmt: skip
    print(format_table(result))
    best = result["best"]
    if best is not None:
        print(best_line(result))
    for warning in result.get("warnings", []):
        if warning not in shown:
            print(f"warning: {warning}")
    write_json(out, result)
    print(f"wrote {out}")
    return 0


def best_line(result: dict) -> str:
    """The top candidate, said not to be a recommendation when random weights score higher."""
    best = result["best"]
    below = " (below the random-weights reference: scratch may do as well)" if result["best_beats_reference"] is False else ""
    from transferkit.ranking.rank import CLEAR_LOG_BF

    log_bf = result.get("best_log_bayes_factor_vs_reference")
    if log_bf is not None and log_bf < CLEAR_LOG_BF:
        below = f" (not clearly above the random-weights reference: log Bayes factor {log_bf:.2f})"
    elif log_bf is not None:  # a trial: a lead of 21.9 where head and finetune from it lost 24.4 and 8.3 points to scratch
        below = (f" (above the random-weights reference by a log Bayes factor of {log_bf:.1f}: its frozen features "
                 "separate the labelled examples better than random ones do, which is not yet a gain over training "
                 "from scratch: `transferkit run` with scratch beside the transfer methods measures that)")
    seen = (result.get("trained_on_scored") or {}).get(best["candidate"])
    if seen:
        below += (f" (optimistic: {seen} of the {result['labelled_examples']} examples scored are in the data its model "
                  "came from)")  # fmt: skip
    return f"best source: {best['candidate']} cut after block {best['cut']} of {best['blocks']}{below}"
