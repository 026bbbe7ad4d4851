"""`image_shape`: a table's rows read as images (pixel CSVs), in runs and in predict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import tiny_experiment
from transferkit.cli import main
from transferkit.config import load_config
from transferkit.data import Domain
from transferkit.errors import TransferkitError
from transferkit.evaluate.prepare import rows_as_images


def _pixel_csv(path, x: np.ndarray, y: np.ndarray | None, classes) -> None:
    """Kaggle's MNIST layout: a label column, then one column per pixel in row-major order."""
    flat = x.reshape(len(x), -1)
    head = ([] if y is None else ["label"]) + [f"pixel{i}" for i in range(flat.shape[1])]
    rows = [([] if y is None else [classes[int(c)]]) + [f"{v:.4f}" for v in r] for r, c in
            zip(flat, y if y is not None else np.zeros(len(flat)), strict=True)]  # fmt: skip
    path.write_text("\n".join(",".join(r) for r in [head, *rows]) + "\n")


def test_rows_become_the_images_they_were_flattened_from():
    x = np.arange(2 * 12, dtype=np.float32).reshape(2, 12)
    d = Domain("t", x, np.array([0, 1]), ["a", "b"], (0.0, 23.0), {"columns": [f"p{i}" for i in range(12)]})
    grey = rows_as_images(d, (3, 4))
    assert grey.x.shape == (2, 1, 3, 4) and np.array_equal(grey.x[1, 0, 2], x[1, 8:12]) and "columns" not in grey.meta
    assert rows_as_images(d, (3, 2, 2)).x.shape == (2, 3, 2, 2)
    with pytest.raises(TransferkitError, match=r"image_shape \[5, 5\] holds 25 values but its rows have 12"):
        rows_as_images(d, (5, 5))
    with pytest.raises(TransferkitError, match="holds images of shape"):
        rows_as_images(grey, (3, 4))


def test_rows_of_colour_pixels_given_channel_by_channel_or_pixel_by_pixel():
    """A colour pixel CSV is often flattened from (H, W, C) arrays: each pixel's R, G, B in turn."""
    from transferkit.config import validate

    rng = np.random.default_rng(0)
    images = rng.random((2, 3, 6, 5)).astype(np.float32)  # (N, C, H, W)
    last = images.transpose(0, 2, 3, 1).reshape(2, -1)  # rows flattened channels last
    d = Domain("t", last, np.array([0, 1]), ["a", "b"], (0.0, 1.0))
    assert np.array_equal(rows_as_images(d, (6, 5, 3)).x, images)
    first = Domain("t", images.reshape(2, -1), np.array([0, 1]), ["a", "b"], (0.0, 1.0))
    assert np.array_equal(rows_as_images(first, (3, 6, 5)).x, images)
    assert rows_as_images(first, (3, 10, 3)).x.shape == (2, 3, 10, 3)  # both ends could be channels: channels first
    cfg = validate({**tiny_experiment("s.npz", "t.npz"), "target": {"data": "t.npz", "image_shape": [32, 32, 3]}})
    assert cfg.target.image_shape == [32, 32, 3]


@pytest.mark.parametrize("bad", [[28], [2, 28, 28], [0, 28], [1, 2, 3, 4], [28, 28, 2]])
def test_a_bad_image_shape_is_refused_when_the_file_is_read(bad):
    with pytest.raises(TransferkitError, match="image_shape must be"):
        load_config(None, raw={**tiny_experiment("s.npz", "t.npz"), "target": {"data": "t.npz", "image_shape": bad}})


def test_a_pixel_csv_target_runs_as_its_images_do_and_predict_reads_such_rows(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    d = np.load(tgt)
    _pixel_csv(tmp_path / "target.csv", d["x"], d["y"], list(d["classes"]))
    base = tiny_experiment(src, tgt, methods=["scratch", {"name": "head", "params": {"steps": 15}}])
    assert main(["run", "--threads", "1", "--quiet", "--out", str(tmp_path / "npz"), json_file(tmp_path, base)]) == 0
    as_csv = {**base, "target": {**base["target"], "data": str(tmp_path / "target.csv"), "image_shape": [12, 12]}}
    assert main(["run", "--threads", "1", "--quiet", "--out", str(tmp_path / "csv"), json_file(tmp_path, as_csv)]) == 0
    accs = [[r["accuracies"] for r in json.loads((tmp_path / run / "summary.json").read_text())["results"]]
            for run in ("npz", "csv")]  # fmt: skip
    assert accs[0] == accs[1]  # the same images, read from a table
    _pixel_csv(tmp_path / "new.csv", d["x"][:4], None, None)
    capsys.readouterr()
    np.save(tmp_path / "one_declared.npy", d["x"][0])  # one (H, W) image for the run that declared image_shape
    assert main(["predict", str(tmp_path / "csv"), str(tmp_path / "one_declared.npy")]) == 0
    assert "an array of 12x12, the run's image_shape, is read as one image" in capsys.readouterr().err
    for run in ("csv", "npz"):  # declared by the run's image_shape; or the exact pixel count of its target's images
        assert main(["predict", str(tmp_path / run), str(tmp_path / "new.csv"), "--out", str(tmp_path / f"{run}.csv")]) == 0
    assert "each row of 144 values is read as a 1x12x12 image" in capsys.readouterr().err  # said where not declared
    np.save(tmp_path / "one.npy", d["x"][0])  # one (H, W) image, no batch axis: it was "not images"
    assert main(["predict", str(tmp_path / "npz"), str(tmp_path / "one.npy"), "--out", str(tmp_path / "one.csv")]) == 0
    assert "an array of 12x12, the size of the run's target images, is read as one image" in capsys.readouterr().err
    np.savez(tmp_path / "new.npz", x=d["x"][:4])
    assert main(["predict", str(tmp_path / "npz"), str(tmp_path / "new.npz"), "--out", str(tmp_path / "ref.csv")]) == 0
    classes = [[ln.split(",")[1:3] for ln in (tmp_path / f).read_text().splitlines()[1:]] for f in ("npz.csv", "ref.csv")]
    assert classes[0] == classes[1]  # the table's rows (4 decimals) predicted as the images are
    assert (tmp_path / "one.csv").read_text().splitlines()[1].split(",")[1:3] == classes[1][0]
    lines = (tmp_path / "new.csv").read_text().splitlines()  # the label under another name: a column too many
    (tmp_path / "y.csv").write_text("\n".join(["y," + lines[0]] + ["0," + ln for ln in lines[1:]]) + "\n")
    assert main(["predict", str(tmp_path / "npz"), str(tmp_path / "y.csv")]) == 2  # was "shape (145,) are not images"
    assert ("y.csv: its rows have 145 values, 1 more than the 144 of the size of the run's target images (1x12x12): a "
            "label or id column among them? Fix: drop the column(s) that are not pixels (a label column named 'label', "
            "the run's, is left out; name an id column with --id-column).") in capsys.readouterr().err


def json_file(tmp_path, cfg: dict) -> str:
    path = tmp_path / f"{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return str(path)


def test_rank_reads_a_pixel_csv_target_with_image_shape(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    d = np.load(tgt)
    _pixel_csv(tmp_path / "target.csv", d["x"], d["y"], list(d["classes"]))
    args = ["rank", str(tmp_path / "target.csv"), "--source", str(src), "--shots", "3", "--scores", "knn", "--by",
            "knn", "--source-epochs", "1", "--no-reference"]  # fmt: skip
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "bad.json")]) == 2  # a table beside an image source: how to say so
    assert "set image_shape: [12, 12] in its section; rank: --image-shape 12 12" in capsys.readouterr().err
    assert main([*args, "--image-shape", "12", "12", "--out", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["candidates"][0]["candidate"] == "source.npz"
    assert main([*args, "--image-shape", "12", "--out", str(tmp_path / "x.json")]) == 2
    assert "--image-shape 12 is not an image shape" in capsys.readouterr().err


def test_predict_reads_a_runs_channels_last_rows_as_the_run_did(tmp_path):
    import yaml

    from transferkit.prediction import _rows_as_images

    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"target": {"image_shape": [6, 5, 3]}}))
    images = np.random.default_rng(1).random((2, 3, 6, 5)).astype(np.float32)
    rows = images.transpose(0, 2, 3, 1).reshape(2, -1)
    assert np.array_equal(_rows_as_images(rows, tmp_path, None, "p.csv", print), images)


def test_the_flattened_images_hint_needs_an_image_worth_of_columns():
    """A 4-column CSV given to a 16x16 image model was told to x.reshape(-1, 2, 2)."""
    from transferkit.data.preprocess import _image_hint

    assert _image_hint((3, 4)) == "."
    assert "x.reshape(-1, 28, 28)" in _image_hint((3, 784))
