"""``prototypes`` and ``transductive``: accuracy on separable data, exact agreement with the
few-shot functions on cached features, and save/load of their prototype heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import make_images
from transferkit.data.splits import TargetData
from transferkit.fewshot import get_fewshot_method
from transferkit.methods import TransferTask, get_method
from transferkit.methods.prototypes import DEFAULT_SCALE, features, matched_scale, source_feature_mean
from transferkit.models import TransferModel
from transferkit.train.source import pretrain_source
from transferkit.train.supervised import predict_proba

CLASSES = ["a", "b", "c", "d"]


def blobs(n_per_class: int, centers: np.ndarray, spread: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian clusters around ``centers`` (C, D): inputs (N, D) float32, labels (N,)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(centers)), n_per_class)
    x = centers[y] + spread * rng.standard_normal((len(y), centers.shape[1]))
    return torch.tensor(x, dtype=torch.float32), torch.from_numpy(y)


@pytest.fixture(scope="module")
def vector_source():
    """An MLP trained on 4 source classes; the target has 4 other, well separated classes."""
    rng = np.random.default_rng(0)
    src_centers, tgt_centers = 3 * rng.standard_normal((4, 10)), 3 * rng.standard_normal((4, 10))
    xs, ys = blobs(60, src_centers, 0.6, seed=1)
    res = pretrain_source(
        xs, ys, ["s0", "s1", "s2", "s3"], architecture="mlp", arch_kwargs={"hidden": 32, "feature_dim": 16},
        settings={"epochs": 3, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
        seed=0, identity={}, use_cache=False,
    )  # fmt: skip
    xt, yt = blobs(40, tgt_centers, 0.6, seed=2)
    return res.model, xs, xt, yt


def make_task(source_model, xs, x_lab, y_lab, x_unl) -> TransferTask:
    target = TargetData(x_lab, y_lab, x_unl, len(CLASSES))
    return TransferTask(target, CLASSES, 0, lambda: None, source_model, source_x=xs)


def shots(y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``k`` indices of each class, and all the others."""
    lab = torch.cat([torch.nonzero(y == c)[:k, 0] for c in range(len(CLASSES))])
    rest = torch.tensor(sorted(set(range(len(y))) - set(lab.tolist())))
    return lab, rest


@pytest.mark.parametrize("name", ["prototypes", "transductive"])
def test_separable_novel_classes_are_recognised_from_one_shot(name, vector_source):
    source_model, xs, xt, yt = vector_source
    lab, rest = shots(yt, 1)
    model = get_method(name).fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    acc = (predict_proba(model, xt[rest]).argmax(1) == yt[rest]).float().mean().item()
    assert acc > 0.9
    assert model.classes == CLASSES and model.config["specific"] == "normalised"


def test_prototypes_equal_simpleshot_on_cached_features(vector_source):
    source_model, xs, xt, yt = vector_source
    lab, rest = shots(yt, 3)
    model = get_method("prototypes", scale=7.0).fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    f = features(source_model, xt)
    base_mean = source_feature_mean(source_model, xs)
    expected = get_fewshot_method("simpleshot")(
        f[lab.numpy()], yt[lab].numpy(), f[rest.numpy()], 4, base_mean=base_mean, scale=7.0
    )
    np.testing.assert_allclose(predict_proba(model, xt[rest]).numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("algorithm", ["bd_cspn", "soft_kmeans"])
def test_transductive_equals_its_fewshot_function_when_the_queries_are_the_unlabelled_set(algorithm, vector_source):
    source_model, xs, xt, yt = vector_source
    lab, rest = shots(yt, 1)
    method = get_method("transductive", algorithm=algorithm, n_iter=3, scale=8.0)
    model = method.fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    name, options, base_examples = method.episodic()
    assert name == algorithm and base_examples == 2000
    f = features(source_model, xt)
    expected = get_fewshot_method(name)(
        f[lab.numpy()], yt[lab].numpy(), f[rest.numpy()], 4, base_mean=source_feature_mean(source_model, xs), **options
    )
    np.testing.assert_allclose(predict_proba(model, xt[rest]).numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("algorithm", ["bd_cspn", "soft_kmeans"])
def test_transductive_without_unlabelled_data_is_prototypes(algorithm, vector_source):
    source_model, xs, xt, yt = vector_source
    lab, rest = shots(yt, 2)
    plain = get_method("prototypes", scale=10.0).fit(make_task(source_model, xs, xt[lab], yt[lab], xt[:0]))
    trans = get_method("transductive", algorithm=algorithm).fit(make_task(source_model, xs, xt[lab], yt[lab], xt[:0]))
    torch.testing.assert_close(predict_proba(plain, xt[rest]), predict_proba(trans, xt[rest]))


def test_without_source_data_features_are_centred_on_the_support(vector_source):
    source_model, _, xt, yt = vector_source
    lab, rest = shots(yt, 2)
    model = get_method("prototypes").fit(make_task(source_model, None, xt[lab], yt[lab], xt[rest]))
    center = model.specific[0].center.numpy()
    np.testing.assert_allclose(center, features(source_model, xt[lab]).mean(axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["prototypes", "transductive"])
def test_image_model_round_trips_through_save_and_load(name, tmp_path):  # shift buffer included
    xs, ys = make_images(30, classes=3, seed=1)
    xs = torch.from_numpy(xs / 255.0)
    res = pretrain_source(
        xs, torch.from_numpy(ys), ["a", "b", "c"], architecture="cnn", arch_kwargs={"width": 4, "feature_dim": 16},
        settings={"epochs": 1, "batch_size": 32, "lr": 3e-3, "weight_decay": 0.0, "augment": False},
        seed=0, identity={}, use_cache=False,
    )  # fmt: skip
    y = torch.from_numpy(ys)
    lab = torch.cat([torch.nonzero(y == c)[:2, 0] for c in range(3)])
    task = TransferTask(
        TargetData(xs[lab], y[lab], xs[:20], 3), ["a", "b", "c"], 0, lambda: None, res.model, source_x=xs
    )
    model = get_method(name).fit(task)
    model.save(tmp_path / name)
    reloaded = TransferModel.load(tmp_path / name)
    torch.testing.assert_close(predict_proba(reloaded, xs), predict_proba(model, xs))
    assert reloaded.config["specific"] == "normalised"
    reloaded.reset_specific(["a", "b"])  # back to a plain linear head for a new label space
    assert "specific" not in reloaded.config and reloaded(xs[:2]).shape == (2, 2)


def test_prototypes_scale_matches_held_out_accuracy_on_the_labelled_examples():
    """Each labelled example against its class's mean without it: the mean top probability is
    set to (right + 1) / (n + 2) of those, so a handful all right never claims certainty."""
    rng = np.random.default_rng(0)

    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    centers = unit(rng.standard_normal((3, 8)))
    y = np.repeat(np.arange(3), 5)
    for spread in (0.05, 0.6):
        z = unit(centers[y] + spread * rng.standard_normal((15, 8)))
        scale, info = matched_scale(z, y, 3)
        assert info["held_out"] == 15 and info["matched_confidence"] == (info["right"] + 1) / 17
        sums = np.stack([z[y == c].sum(0) for c in range(3)])
        d = np.stack([((z - sums[c] / 5) ** 2).sum(1) for c in range(3)], 1)
        own = (sums[y] - z) / 4
        d[np.arange(15), y] = ((z - own) ** 2).sum(1)
        top = np.exp(-scale * (d - d.min(1, keepdims=True)))
        assert np.mean(1 / top.sum(1)) == pytest.approx(info["matched_confidence"], abs=1e-6), spread
        assert (info["right"] == 15) == (spread == 0.05), spread  # the wide spread mixes some up
    one_shot = matched_scale(z[::5], y[::5], 3)  # no class has a second example to hold one out
    assert one_shot == (DEFAULT_SCALE, {"held_out": 0})


def test_prototypes_probabilities_are_as_sure_as_they_are_right(vector_source):
    source_model, xs, xt, yt = vector_source
    """Mean top probability against accuracy on the rest, over targets from easy to hard: the
    matched scale is on average about half as far off as a fixed one (0.10 against 0.20)."""
    gaps: dict = {None: [], 10.0: []}
    for noise in (1.0, 2.5, 4.0):  # some mistakes, then many
        noisy = xt + noise * torch.randn(xt.shape, generator=torch.Generator().manual_seed(0))
        for k in (3, 10):
            lab, rest = shots(yt, k)
            for scale, found in gaps.items():
                task = make_task(source_model, xs, noisy[lab], yt[lab], noisy[rest])
                model = get_method("prototypes", scale=scale).fit(task)
                probs = predict_proba(model, noisy[rest])
                found.append(abs(probs.max(1).values.mean().item() - (probs.argmax(1) == yt[rest]).float().mean().item()))
                assert ("prototype_scale" in model.config) == (scale is None)  # a fixed scale is not said matched
    assert np.mean(gaps[None]) < 0.6 * np.mean(gaps[10.0]), gaps


def test_the_deployment_docs_fewshot_gives_fits_saves_and_reloads(tmp_path):
    """docs/fewshot.md, 'Deploying': prototypes fitted on K examples of novel classes with a
    pretrained source, saved and loaded, predicts those classes."""
    import transferkit as tk

    rng = np.random.default_rng(0)
    xs, ys = blobs(60, 3 * rng.standard_normal((4, 10)), 0.6, seed=1)
    novel = 3 * rng.standard_normal((3, 10))
    xn, yn = blobs(25, novel, 0.6, seed=3)
    names = np.array(["owl", "fox", "elk"])[yn.numpy()]
    src = tk.pretrain(xs.numpy(), ys.numpy(), augment="affine", random_state=0, epochs=3)
    support = np.concatenate([np.flatnonzero(yn.numpy() == c)[:5] for c in range(3)])
    rest = np.setdiff1d(np.arange(len(yn)), support)
    clf = tk.TransferClassifier("prototypes", source=src).fit(xn.numpy()[support], names[support])
    assert (clf.predict(xn.numpy()[rest]) == names[rest]).mean() > 0.9
    clf.save(tmp_path / "novel_classes")
    loaded = tk.TransferClassifier.load(tmp_path / "novel_classes")
    np.testing.assert_allclose(loaded.predict_proba(xn.numpy()[rest]), clf.predict_proba(xn.numpy()[rest]), atol=1e-6)


def test_the_source_mean_is_measured_once_per_source_and_again_when_it_changes(vector_source, monkeypatch):
    """A trial's pretrained text encoder spent 5 s a prototypes fit re-encoding the same source
    texts (0.6 s with center: support): a run fits prototypes and transductive at every k."""
    import transferkit.methods.prototypes as protos

    source_model, xs, xt, yt = vector_source
    source_model = source_model.copy()
    calls = []
    real = protos.source_feature_mean
    monkeypatch.setattr(protos, "source_feature_mean", lambda *a, **k: calls.append(1) or real(*a, **k))
    lab, rest = shots(yt, 2)
    first = get_method("prototypes").fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    get_method("transductive").fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    again = get_method("prototypes").fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    assert len(calls) == 1
    assert torch.equal(predict_proba(first, xt[rest]), predict_proba(again, xt[rest]))
    with torch.no_grad():
        next(source_model.shared.parameters()).mul_(0.5)  # changed in place: measured again
    get_method("prototypes").fit(make_task(source_model, xs, xt[lab], yt[lab], xt[rest]))
    assert len(calls) == 2
    get_method("prototypes").fit(make_task(source_model, xs[:50], xt[lab], yt[lab], xt[rest]))  # other source inputs
    assert len(calls) == 3


def test_a_source_of_inference_tensors_is_measured_without_the_cache(vector_source):
    """A review: a source built under torch.inference_mode() raised 'Inference tensors do not
    track version counter' in the source-mean cache."""
    source_model, xs, xt, yt = vector_source
    with torch.inference_mode():
        frozen = source_model.copy()
    lab, rest = shots(yt, 2)
    model = get_method("prototypes").fit(make_task(frozen, xs, xt[lab], yt[lab], xt[rest]))
    assert predict_proba(model, xt[rest]).shape == (len(rest), len(CLASSES))
