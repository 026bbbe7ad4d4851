"""Linear probes on the pooled output of each MobileNetV2 block group, Fashion-MNIST k = 10. (a diagnostic)

Does a `head` on earlier ImageNet features, or on several concatenated, do better on
Fashion-MNIST than on the last layer's? Same target, split and k-shot draws as
benchmarks/diagnostics/images_224.py (100 images per class, 50 % test, 224 px), seeds 0-2;
logistic regression on standardised features, C by 4-fold CV on the labelled examples.

    python benchmarks/diagnostics/images_layers.py

Prints one line per feature set and writes benchmarks/results/diagnostics/images_layers.json.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegressionCV  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.data.splits import draw_shots  # noqa: E402
from transferkit.evaluate.prepare import prepare  # noqa: E402
from transferkit.train.pretrained_source import build_pretrained_model  # noqa: E402

MOBILENET = "mobilenet_v2_imagenet"


def block_features(model, x: torch.Tensor) -> dict[int, np.ndarray]:
    """(N, 3, H, W) -> {block group i: (N, C_i) globally average-pooled output}."""
    out: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(model.shared.blocks))}
    with torch.inference_mode():
        for s in range(0, len(x), 50):
            h = model.normalise(x[s : s + 50])
            for i, block in enumerate(model.shared.blocks):
                h = block(h)
                out[i].append(h.mean((2, 3)))
    return {i: torch.cat(v).numpy() for i, v in out.items()}


def unit(a: np.ndarray) -> np.ndarray:
    return a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-8)


def fashion_k10():
    """(prepared data, MobileNetV2 TransferModel in eval mode): Fashion-MNIST, 100 per class,
    50 % test, k = 10, at the model's 224 px, as ``benchmarks/pretrained.py --part images224``."""
    cfg = validate({"source": {"pretrained": MOBILENET}, "methods": ["head"], "seeds": 3,
                    "target": {"data": "fashion-mnist", "max_per_class": 100, "test_fraction": 0.5, "shots": [10]}})  # fmt: skip
    data = prepare(cfg)
    return data, build_pretrained_model(MOBILENET, None, data.input_shape, data.target.classes).eval()


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    data, model = fashion_k10()
    feats: dict[str, np.ndarray] = {str(i): f for i, f in block_features(model, data.xt).items()}
    feats["cat4-8"] = np.concatenate([unit(feats[str(i)]) for i in (4, 5, 6, 7, 8)], 1)
    feats["cat6-8"] = np.concatenate([unit(feats[str(i)]) for i in (6, 7, 8)], 1)
    y, test = data.yt.numpy(), np.asarray(data.split.test_idx)
    rows = {}
    for name, f in feats.items():
        accs = []
        for seed in range(3):
            lab = np.asarray(draw_shots(data.target.y, data.split.pool_idx, 10, seed)[0])
            mu, sd = f[lab].mean(0), f[lab].std(0) + 1e-6
            clf = LogisticRegressionCV(Cs=8, cv=4, max_iter=3000).fit((f[lab] - mu) / sd, y[lab])
            accs.append(float(clf.score((f[test] - mu) / sd, y[test])))
        rows[name] = accs
        print(name, f.shape[1], round(100 * float(np.mean(accs)), 1), [round(a, 3) for a in accs], flush=True)
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "images_layers.json"
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
