import pytest
import torch
from torch import nn

from transferkit.errors import TransferkitError
from transferkit.models import TransferModel, build_shared, split_module
from transferkit.models.transfer_model import BN_TYPES


def _model(classes=("a", "b", "c")):
    return TransferModel.build("cnn", (1, 12, 12), list(classes), width=4, feature_dim=8)


def test_shapes_and_blocks():
    m = _model()
    x = torch.randn(5, 1, 12, 12)
    assert m.features(x).shape == (5, 8) and m(x).shape == (5, 3) and m.num_blocks == 3


def test_freeze_depth_sets_requires_grad_per_block():
    m = _model().freeze(2)
    flags = [all(p.requires_grad for p in b.parameters()) for b in m.shared.blocks]
    assert flags == [False, False, True]
    assert all(p.requires_grad for p in m.specific.parameters())
    m.freeze("all")
    assert not any(p.requires_grad for p in m.shared.parameters())


def test_frozen_blocks_keep_batchnorm_statistics_while_training():
    m = _model().freeze(1)
    before = [b.running_mean.clone() for b in m.shared.blocks[0].modules() if isinstance(b, BN_TYPES)]
    trainable_bn = [b for b in m.shared.blocks[1].modules() if isinstance(b, BN_TYPES)][0]
    trainable_before = trainable_bn.running_mean.clone()
    m.train()
    m(torch.randn(8, 1, 12, 12) * 5 + 3)
    after = [b.running_mean for b in m.shared.blocks[0].modules() if isinstance(b, BN_TYPES)]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert not torch.equal(trainable_bn.running_mean, trainable_before)  # trainable BN adapts (bn="train")
    m.set_bn_policy("frozen").train()
    frozen_now = trainable_bn.running_mean.clone()
    m(torch.randn(8, 1, 12, 12) * 5 + 3)
    assert torch.equal(trainable_bn.running_mean, frozen_now)


def test_param_groups_have_their_own_rates():
    m = _model().freeze(1)
    groups = m.param_groups(lr_shared=1e-4, lr_specific=1e-2)
    assert [g["lr"] for g in groups] == [1e-2, 1e-4]
    n_shared = sum(p.numel() for p in groups[1]["params"])
    assert n_shared == sum(p.numel() for b in m.shared.blocks[1:] for p in b.parameters())
    assert len(m.freeze("all").param_groups(1e-4, 1e-2)) == 1


def test_reset_specific_for_new_label_space():
    m = _model().reset_specific(["x", "y"])
    assert m(torch.randn(2, 1, 12, 12)).shape == (2, 2) and m.classes == ["x", "y"]


def test_save_load_round_trip(tmp_path):
    m = _model().eval()
    x = torch.randn(4, 1, 12, 12)
    m.save(tmp_path / "m", {"note": 1})
    loaded = TransferModel.load(tmp_path / "m")
    assert torch.allclose(m(x), loaded(x)) and loaded.classes == ["a", "b", "c"]
    with pytest.raises(TransferkitError, match="no saved model"):
        TransferModel.load(tmp_path / "missing")


def test_dots_in_a_model_name_are_part_of_the_name(tmp_path):
    a, b = _model(), _model(("x", "y", "z"))
    a.save(tmp_path / "m.v1")
    b.save(tmp_path / "m.v2")  # was written over m.v1 (both became m.json / m.safetensors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.v1.json", "m.v1.safetensors", "m.v2.json", "m.v2.safetensors"]
    assert TransferModel.load(tmp_path / "m.v1").classes == ["a", "b", "c"]
    assert TransferModel.load(tmp_path / "m.v2.safetensors").classes == ["x", "y", "z"]
    assert TransferModel.load(str(tmp_path / "m.v2.json")).classes == ["x", "y", "z"]


def test_split_any_module_into_shared_and_specific():
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5))
    m = split_module(net, 3, (1, 4, 4), ["a", "b"])
    assert m.shared.out_dim == 8 and m(torch.randn(3, 1, 4, 4)).shape == (3, 2)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(6, 4)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(self.body(x))

    m2 = split_module(Net(), "fc", (6,), ["a", "b", "c"])
    assert m2.features(torch.randn(2, 6)).shape == (2, 4)
    with pytest.raises(TransferkitError, match="cannot find the head 'head'"):
        split_module(Net(), "head", (6,), ["a"])


def test_a_split_whose_features_are_not_the_heads_input_is_refused():
    """pytorch/examples' MNIST net returns log_softmax(fc(x)): with fc replaced, the 'features'
    were log-probabilities, silently; a cut inside the conv layers failed later in torch."""
    import torch.nn.functional as F

    class LogSoftmaxNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(6, 4)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return F.log_softmax(self.fc(self.body(x)), dim=1)

    with pytest.raises(TransferkitError, match=r"LogSoftmaxNet.forward does more than give 'fc' its features") as e:
        split_module(LogSoftmaxNet(), "fc", (6,), ["a", "b"])
    assert "return self.fc(features)" in e.value.fix
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    for head in (2, "2"):  # by index or by the child's name ("2" was refused as a forward doing more)
        with pytest.raises(TransferkitError, match=r"give \(4, 8, 8\) per input, a feature map, not a vector"):
            split_module(conv, head, (1, 8, 8), ["a", "b"])
    assert split_module(conv, "3", (1, 8, 8), ["a", "b"]).shared.out_dim == 256
    assert split_module(conv, 3, (1, 8, 8), ["a", "b"]).shared.out_dim == 256  # after the flatten: fine
    bn = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.ReLU())

    class Trained(nn.Module):  # fresh from a training loop: in train mode, with BatchNorm and Dropout
        def __init__(self):
            super().__init__()
            self.body, self.fc = bn, nn.Linear(8, 3)

        def forward(self, x):
            return self.fc(self.body(x))

    net = Trained().train()
    running = net.body[2].running_mean.clone()
    split = split_module(net, "fc", (1, 8, 8), ["a", "b"], mean=[0.286], std=0.353)  # was refused in train mode
    assert net.training and torch.equal(net.body[2].running_mean, running)  # its statistics untouched
    assert torch.allclose(split.input_mean, torch.tensor([0.286])) and torch.allclose(split.input_std, torch.tensor([0.353]))
    with pytest.raises(TransferkitError, match=r"give one value, or 1 \(one per channel\)"):
        split_module(net, "fc", (1, 8, 8), ["a", "b"], mean=[0.1, 0.2])
    dense = nn.Sequential(*conv[:3], nn.Linear(4 * 8 * 8, 16), nn.ReLU(), nn.Linear(16, 3))
    with pytest.raises(TransferkitError, match=r"Sequential cannot take inputs of shape \(1, 5, 5\) \(mat1 and mat2"):
        split_module(dense, 5, (1, 5, 5), ["a", "b"])  # its dense layer reads 8x8 maps


def test_a_split_module_saves_and_says_how_to_load_it(tmp_path):
    from safetensors.torch import load_file

    m = split_module(nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2)), 3, (1, 4, 4), ["a", "b"])
    m.save(tmp_path / "user")
    with pytest.raises(TransferkitError, match="split from your own nn.Module.*load_state_dict"):
        TransferModel.load(tmp_path / "user")
    again = split_module(nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2)), 3, (1, 4, 4), ["a", "b"])
    again.load_state_dict(load_file(str(tmp_path / "user.safetensors")))  # what the fix says works
    x = torch.randn(3, 1, 4, 4)
    assert torch.equal(again.eval()(x), m.eval()(x))


def test_unknown_or_mismatched_architecture():
    with pytest.raises(TransferkitError, match="unknown shared-layer architecture 'resnet'"):
        build_shared("resnet", (1, 28, 28))
    with pytest.raises(TransferkitError, match="takes vector inputs"):
        build_shared("mlp", (1, 28, 28))
