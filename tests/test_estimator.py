import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tests.conftest import make_images
from transferkit import TransferClassifier
from transferkit.errors import TransferkitError


@pytest.fixture(scope="module")
def data():
    xs, ys = make_images(40, seed=1)
    xt, yt = make_images(20, shift=30.0, seed=2)
    return xs, ys, xt, yt


def test_pretrain_fit_predict_score(data):
    xs, ys, xt, yt = data
    clf = TransferClassifier("finetune", source_epochs=3, method_params={"steps": 30, "probe_steps": 30})
    assert clf.pretrain(xs, ys) is clf
    assert clf.fit(xt[:30], yt[:30]) is clf
    pred = clf.predict(xt[30:])
    assert pred.shape == (30,) and set(pred) <= {0, 1, 2}
    assert clf.predict_proba(xt[30:]).shape == (30, 3)
    assert 0.0 <= clf.score(xt[30:], yt[30:]) <= 1.0
    assert clf.score(xt[30:], yt[30:]) > 0.6  # the bars are easy: transfer must work


def test_params_and_clone():
    clf = TransferClassifier("head", random_state=3)
    assert clf.get_params()["method"] == "head" and clf.get_params()["random_state"] == 3
    clf.set_params(method="l2sp")
    assert clone(clf).method == "l2sp" and not hasattr(clone(clf), "model_")


def test_predict_before_fit_is_a_clear_error(data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        TransferClassifier().predict(data[2])


def test_scratch_needs_no_source_and_transfer_needs_one(data):
    _, _, xt, yt = data
    TransferClassifier("scratch", method_params={"steps": 5}).fit(xt, yt)
    with pytest.raises(TransferkitError, match="needs a source"):
        TransferClassifier("head").fit(xt, yt)
