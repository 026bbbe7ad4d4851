"""Does the probe guard fire, and what does it keep? (a diagnostic, not a benchmark)

``--part shapes``: MobileNetV2 (ImageNet weights) on a small colour data set drawn here
(circles, squares and triangles in random colours, 64 x 64, 20 per class, seed 0), k = 5,
seed 0: ``head``, then ``finetune`` (50 probe steps, 20 steps, bn: frozen) at its default
rates with the guard switched off (what it did before the guard) and on, and at
``shared_lr_mult: 0.01``. Prints each method's accuracy and the guard's
warnings (a new-user check found finetune going from the probe's accuracy to chance here).

``--part fashion`` / ``--part digits``: the few-shot benchmark's ``finetune``
(benchmarks/few_shot.py), source seed 0, its first 20 episodes at K = 1 and 5: how often the
guard fires, and the mean accuracies.

    python benchmarks/diagnostics/probe_guard.py --part shapes

Writes benchmarks/results/diagnostics/probe_guard_PART.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import few_shot  # noqa: E402

from transferkit.errors import TransferkitWarning  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"


def draw_shapes(root: Path, per_class: int = 20, seed: int = 0) -> None:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for shape in ("circle", "square", "triangle"):
        (root / shape).mkdir(parents=True)
        for i in range(per_class):
            bg, fg = (tuple(int(v) for v in rng.integers(0, 255, 3)) for _ in range(2))
            img = Image.new("RGB", (64, 64), bg)
            draw = ImageDraw.Draw(img)
            (cx, cy), r = rng.integers(20, 44, 2), int(rng.integers(10, 18))
            box = [cx - r, cy - r, cx + r, cy + r]
            if shape == "circle":
                draw.ellipse(box, fill=fg)
            elif shape == "square":
                draw.rectangle(box, fill=fg)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
            img.save(root / shape / f"{i}.png")


def shapes() -> dict:
    import transferkit.methods._probe_guard as guard
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol

    out, real = {}, guard.diverged
    with tempfile.TemporaryDirectory() as tmp:
        draw_shapes(Path(tmp) / "shapes")
        for label, extra, on in (("default rates, guard off", {}, False), ("default rates", {}, True),
                                 ("shared_lr_mult 0.01", {"shared_lr_mult": 0.01}, True)):  # fmt: skip
            guard.diverged = real if on else (lambda probe_loss, tuned_loss, num_classes=2: False)
            ft = {"finetune": {"probe_steps": 50, "steps": 20, "bn": "frozen", **extra}}
            raw = {"name": "probe-guard", "source": {"pretrained": "mobilenet_v2_imagenet"},
                   "target": {"data": str(Path(tmp) / "shapes"), "shots": [5]},
                   "model": {"input_shape": [3, 64, 64]}, "methods": ["head", ft], "seeds": [0]}  # fmt: skip
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TransferkitWarning)
                result = run_protocol(validate(raw))
            guard.diverged = real
            out[label] = {"accuracy": {r.method: r.accuracy for r in result.records},
                          "guard": [str(w.message) for w in caught if "raised the loss" in str(w.message)]}  # fmt: skip
    return out


def fewshot(part: str) -> dict:
    from transferkit.fewshot.config import load_fewshot_config
    from transferkit.fewshot.experiment import evaluate_fewshot

    args = argparse.Namespace(seeds=1, episodes=600, train_episodes=20)
    cfg = load_fewshot_config(None, raw=few_shot.config(part, args, ["finetune"], source_augment=True))
    # shifts: the source augmentation when these results were recorded (the few-shot default is now affine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TransferkitWarning)
        run = evaluate_fewshot(cfg, lambda msg: None)
    return {"accuracy": {f"{r.k}-shot": r.result.mean for r in run.records}, "episodes_per_k": 20,
            "guard": [str(w.message) for w in caught if "raised the loss" in str(w.message)]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["shapes", "fashion", "digits"], default="shapes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = shapes() if args.part == "shapes" else fewshot(args.part)
    print(json.dumps(res, indent=1))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"probe_guard_{args.part}.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
