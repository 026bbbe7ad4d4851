"""``transferkit predict RUN_DIR INPUT``: class index, name and probability per input."""

from __future__ import annotations

from transferkit.shots import shots_arg


def add_parser(sub) -> None:
    pr = sub.add_parser("predict", help="predict with a model from a run folder")
    pr.add_argument("run_dir", help="a folder written by `transferkit run` (choose among its models with --method, --shots, --seed)")
    pr.add_argument("input", help=".npz (array x) or .npy, an image file or a folder of images, a CSV/TSV of features; for a text model: .txt (one text per line), .jsonl, or .csv/.tsv with a text column")
    pr.add_argument("--out", help="write predictions CSV here (default: print)")
    pr.add_argument("--method", help="which method's model (default: the run's deploy method)")
    pr.add_argument("--shots", type=shots_arg, help="the model trained on this many labelled examples per class, or all "
                    "(a run's `shots: all`: every training-pool example) (default: the run's largest k)")
    pr.add_argument("--seed", type=int, help="the model of this seed (default: the run's first)")
    pr.add_argument("--id-column", help="CSV/TSV/JSONL inputs: name each prediction by this column's values "
                    "(default: the row or line number); never read as a feature")
    pr.add_argument("--text-column", help="text models: the CSV column or JSON key of the texts (default: the run's target.text_column)")
    pr.add_argument("--proba", action="store_true",
                    help="also write every class's probability, one column each (p_CLASS), e.g. to set your own "
                         "threshold for a rare class")  # fmt: skip


def execute(args) -> int:
    import csv
    import sys

    from transferkit.prediction import model_path, predict

    def warn(message: str) -> None:  # stderr: stdout may be the predictions CSV
        print(f"transferkit: warning: {message}", file=sys.stderr)

    rows = predict(args.run_dir, args.input, args.out, on_warning=warn, text_column=args.text_column,
                   id_column=args.id_column, proba=args.proba, method=args.method, shots=args.shots,
                   seed=args.seed)  # fmt: skip
    used = f"model {model_path(args.run_dir, args.method, args.shots, args.seed).name}"  # e.g. finetune_k10_seed0
    if args.out:
        print(f"wrote {len(rows)} prediction{'s' if len(rows) != 1 else ''} to {args.out} ({used})")
    else:  # valid CSV: names with commas or quotes are quoted, as in the --out file
        print(f"predicting with {used}", file=sys.stderr)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        every = [k for k in rows[0] if k.startswith("p_")] if rows and args.proba else []
        writer.writerow(["input", "class_index", "class_name", "probability", *every])
        writer.writerows([r["input"], r["class_index"], r["class_name"], f"{r['probability']:.4f}",
                          *(f"{r[k]:.4f}" for k in every)] for r in rows)  # fmt: skip
    return 0
