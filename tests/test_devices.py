"""Models, sources and estimators stay on one device.

The first group runs everywhere: torch's ``meta`` device stands in for a GPU (a module on
it computes shapes, not values), which is enough to see where new layers are created. The
second group needs CUDA and runs on a GPU machine only; there, ``device: auto`` also sends
every pipeline test of the suite through the GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit import TransferClassifier, pretrain
from transferkit.errors import TransferkitError
from transferkit.models import TransferModel
from transferkit.models.transfer_model import split_module

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _model(shape=(1, 12, 12)) -> TransferModel:
    return TransferModel.build("auto", shape, ["a", "b", "c"])


def test_a_new_head_is_built_where_the_model_is():
    model = _model().to("meta")
    model.reset_specific(["x", "y"])
    assert {p.device.type for p in model.parameters()} == {"meta"}
    model.set_taps((0, 1))  # the tapped width comes from a forward pass on the model's device
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert model.device.type == "meta"


def test_on_copies_to_another_device_and_leaves_the_source_where_it_was():
    model = _model()
    assert model.on("cpu") is model
    moved = model.on("meta")
    assert moved is not model and moved.device.type == "meta"
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_a_user_module_on_another_device_is_split_there():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).to("meta")
    model = split_module(net, 3, (4,), ["a", "b"])  # 3 outputs for 2 classes: a new head
    assert {t.device.type for t in [*model.parameters(), *model.buffers()]} == {"meta"}


def test_saved_weights_are_cpu_tensors(tmp_path):
    from safetensors.torch import load_file

    model = _model()
    model.save(tmp_path / "m")
    assert {t.device.type for t in load_file(str(tmp_path / "m.safetensors")).values()} == {"cpu"}


@pytest.mark.parametrize("where", ["tpu-ish", "gpu"])
def test_an_unknown_device_is_refused_before_any_work(where):
    x, y = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    with pytest.raises(TransferkitError, match=f"unknown device '{where}'"):
        TransferClassifier("scratch", device=where).fit(x, y)
    with pytest.raises(TransferkitError, match=f"unknown device '{where}'"):
        pretrain(x, y, device=where)


@pytest.mark.parametrize("where", ["mps", "xpu", "meta", "hpu", "cpu:1"])
def test_devices_torch_parses_but_transferkit_does_not_run_on_are_refused(where):
    """A trial: device mps, xpu, hpu or meta failed with a traceback from deep inside torch (exit 1),
    and cpu:1 was taken silently."""
    from transferkit.devices import resolve_device

    with pytest.raises(TransferkitError, match=f"device '{where}': ") as e:
        resolve_device(where)
    assert "use" in e.value.fix and "cpu" in e.value.fix
    assert resolve_device("cpu:0").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused_with_the_fix():
    x, y = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    with pytest.raises(TransferkitError, match="no usable CUDA device") as e:
        TransferClassifier("scratch", device="cuda").fit(x, y)
    assert "auto or cpu" in e.value.fix


def test_the_device_is_a_parameter_clone_keeps():
    from sklearn.base import clone

    assert clone(TransferClassifier(device="cpu")).get_params()["device"] == "cpu"


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images.astype(np.float32) / 16, d.target
    return x[y < 5], y[y < 5], x[y >= 5][:100], y[y >= 5][:100]


PARAMS = {"finetune": {"steps": 20}, "l2sp": {"steps": 20}, "dann": {"steps": 20}, "prototypes": {},
          "auto": {"max_steps": 20}}


@cuda
@pytest.mark.parametrize("method", sorted(PARAMS))
def test_pretrain_fit_and_predict_on_the_gpu(method, tmp_path):
    xs, ys, xt, yt = _digits()
    if method == "dann":  # it keeps the source head: the target has the source's classes
        xs, ys, xt, yt = xs[:600], ys[:600], xs[600:], ys[600:]
    src = pretrain(xs, ys, epochs=1, device="cuda")
    assert src.model.device.type == "cuda" and src.parts["source_x"].device.type == "cuda"
    clf = TransferClassifier(method, source=src, device="cuda", method_params=PARAMS[method])
    clf.fit(xt[::2], yt[::2], X_unlabelled=xt[1::2] if method == "dann" else None)
    assert clf.model_.device.type == "cuda"
    on_gpu = clf.predict_proba(xt)
    clf.save(tmp_path / "m")
    on_cpu = TransferClassifier.load(tmp_path / "m")
    assert on_cpu.model_.device.type == "cpu"
    cpu = on_cpu.predict_proba(xt)  # the GPU's convolutions run in TF32 (torch's default): ~1e-3 apart
    np.testing.assert_allclose(cpu, on_gpu, atol=2e-2)
    assert (cpu.argmax(1) == on_gpu.argmax(1)).mean() >= 0.97


@cuda
def test_a_cpu_source_serves_a_gpu_estimator_and_stays_on_the_cpu():
    xs, ys, xt, yt = _digits()
    src = pretrain(xs, ys, epochs=1, device="cpu")
    clf = TransferClassifier("finetune", source=src, device="cuda", method_params={"steps": 10}).fit(xt, yt)
    assert clf.model_.device.type == "cuda"
    assert src.model.device.type == "cpu"
    assert TransferClassifier("head", source=src, device="cpu", method_params={"steps": 10}).fit(xt, yt).model_.device.type == "cpu"


@cuda
def test_a_run_on_the_gpu_writes_models_that_predict_on_the_cpu(tmp_path):
    from transferkit import api
    from transferkit.prediction import predict

    xs, ys, xt, yt = _digits()
    np.savez(tmp_path / "s.npz", x=xs, y=ys)
    np.savez(tmp_path / "t.npz", x=xt, y=yt)
    cfg = {"name": "gpu", "device": "cuda", "source": {"data": str(tmp_path / "s.npz"), "epochs": 1, "cache": False},
           "target": {"data": str(tmp_path / "t.npz"), "shots": [5]}, "methods": ["scratch", "finetune"], "seeds": 1}
    runs = [api.run(cfg, out=tmp_path / name, progress=False) for name in ("run", "again")]
    assert [r["accuracies"] for r in runs[0]["results"]] == [r["accuracies"] for r in runs[1]["results"]]  # one seed, one result
    rows = predict(tmp_path / "run", tmp_path / "t.npz")
    assert len(rows) == len(yt)


def test_deterministic_kernels_sets_cudnns_deterministic_kernels_and_gives_the_callers_back():
    from transferkit.devices import deterministic_kernels

    cudnn = torch.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    try:
        cudnn.deterministic, cudnn.benchmark = False, True
        with deterministic_kernels():
            assert cudnn.deterministic and not cudnn.benchmark
        assert (cudnn.deterministic, cudnn.benchmark) == (False, True)
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


def test_methods_train_under_deterministic_kernels_in_runs_and_the_api(image_npz, monkeypatch):
    from tests.conftest import tiny_experiment
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.methods import METHODS
    from transferkit.methods.scratch import Scratch

    seen = []

    class Spy(Scratch):
        def fit(self, task):
            seen.append((torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))
            return super().fit(task)

    monkeypatch.setitem(METHODS, "scratch", Spy)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)  # a user's own setting, given back after
    src, tgt = image_npz
    run_protocol(validate(tiny_experiment(src, tgt, methods=[{"name": "scratch", "params": {"steps": 2}}], seeds=[0])))
    x, y = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    TransferClassifier("scratch", method_params={"steps": 2}).fit(x, y)
    assert seen and set(seen) == {(True, False)}
    assert torch.backends.cudnn.benchmark


def test_warnings_of_pretrain_and_fit_still_point_at_the_users_line():
    import warnings

    x, y = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        src = pretrain(x, y, epochs=1)  # a weak source: warned of
        TransferClassifier("adabn", source=src).fit(x, y)  # no BatchNorm in... warned of inside the method's fit
    ours = [w for w in seen if "transferkit" in str(w.category)]
    assert ours and {w.filename for w in ours} == {__file__}, [(w.filename, str(w.message)[:60]) for w in ours]


def test_inputs_elsewhere_reach_the_model_one_batch_at_a_time():
    from transferkit.train.supervised import extract_features, predict_proba

    model = _model().to("meta")
    x = torch.rand(5, 1, 12, 12)  # on the CPU, as predict's inputs are: never all on the GPU at once
    assert predict_proba(model, x, batch_size=2).shape == (5, 3)
    assert predict_proba(model, x).device.type == extract_features(model, x).device.type == "meta"


def test_a_loaded_classifier_does_not_keep_the_device_it_was_fitted_on(tmp_path):
    """Fitted with device='cuda' and loaded on a CPU machine, it said 'cuda' and its clone refused to fit."""
    import json

    from sklearn.base import clone

    x, y = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    TransferClassifier("scratch", device="cpu", method_params={"steps": 2}).fit(x, y).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert "device" not in meta["estimator"]
    meta["estimator"]["device"] = "cuda"  # as a file saved before it was left out
    (tmp_path / "m.json").write_text(json.dumps(meta))
    loaded = TransferClassifier.load(tmp_path / "m")
    assert loaded.device == "auto" and clone(loaded).fit(x, y).model_.device.type in ("cpu", "cuda")
