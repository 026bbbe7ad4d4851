"""Does training the head on features of augmented views help? Fashion-MNIST k = 10, 224 px. (a diagnostic)

Views of each labelled image: the image, its mirror image, and 6 random shifts of up to
16 px (1/14 of the side, the toolkit's shift rule) of either. Features of every view are
computed once; the head (L2 chosen by CV on the original images' features) trains on 1, 2
or 8 views per image. Same target and draws as images_224.py; prints one line per seed.

    python benchmarks/diagnostics/images_augmented_probe.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.data.splits import draw_shots  # noqa: E402
from transferkit.evaluate.prepare import prepare  # noqa: E402
from transferkit.train.augment import random_shift  # noqa: E402
from transferkit.train.pretrained_source import build_pretrained_model  # noqa: E402
from transferkit.train.probe import _train_head, cross_validate_l2  # noqa: E402
from transferkit.train.supervised import extract_features  # noqa: E402

MOBILENET = "mobilenet_v2_imagenet"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = validate({"source": {"pretrained": MOBILENET}, "methods": ["head"],
                    "target": {"data": "fashion-mnist", "max_per_class": 100, "test_fraction": 0.5, "shots": [10]}})  # fmt: skip
    data = prepare(cfg)
    model = build_pretrained_model(MOBILENET, None, data.input_shape, data.target.classes).eval()
    test = torch.as_tensor(np.asarray(data.split.test_idx))
    f_test, y_test = extract_features(model, data.xt[test], 50), data.yt[test]
    g = torch.Generator().manual_seed(0)
    for seed in range(args.seeds):
        lab = torch.as_tensor(np.asarray(draw_shots(data.target.y, data.split.pool_idx, 10, seed)[0]))
        x, y = data.xt[lab], data.yt[lab]
        views = [x, x.flip(-1)] + [random_shift(x if i % 2 else x.flip(-1), 16, g) for i in range(6)]
        f_views = [extract_features(model, v, 50) for v in views]
        accs = []
        for n_views in (1, 2, 8):
            torch.manual_seed(seed)
            head = torch.nn.Linear(f_views[0].shape[1], 10)
            l2 = cross_validate_l2(head, f_views[0], y, seed=seed).l2
            _train_head(head, torch.cat(f_views[:n_views]), y.repeat(n_views), 300, 1e-2, 0.0, l2, False, None)
            with torch.no_grad():
                accs.append(float((head(f_test).argmax(1) == y_test).float().mean()))
        print(seed, "views 1/2/8:", [round(a, 3) for a in accs], flush=True)


if __name__ == "__main__":
    main()
