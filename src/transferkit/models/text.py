"""A small text model trained from scratch: the ``scratch`` baseline for text targets.

Token ids come from the pretrained source's tokenizer (shifted by one, 0 = padding; see
``transferkit.data.text``), so both sides of the comparison read the same tokens. The
model is a one-layer convolutional sentence classifier (Kim, EMNLP 2014, "Convolutional
Neural Networks for Sentence Classification"): embeddings -> 1-D convolution over
3-token windows -> max over time. Ids are hashed into ``buckets`` rows, so no vocabulary
size is needed (BERT's 30,522 ids fit 32,768 buckets without collisions).
"""

from __future__ import annotations

import torch
from torch import nn

from transferkit.models.shared import SharedLayers, register_architecture


class TokenEmbedding(nn.Module):
    """(B, T) ids -> (B, E + 1, T') embeddings, trimmed to the batch's longest text (T' >= 3),
    padding 0; the last channel is the mask of each text's own positions (its tokens, and
    at least the first 3), for :class:`MaxOverText`."""

    def __init__(self, buckets: int, dim: int) -> None:
        super().__init__()
        self.buckets = buckets
        self.embed = nn.Embedding(buckets, dim, padding_idx=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = max(3, int((x != 0).sum(1).max()))
        ids = x[:, :t].long()
        mask = ids != 0
        mask[:, :3] = True  # a text shorter than the kernel still has its 3 first positions
        ids = torch.where(ids > 0, (ids - 1) % (self.buckets - 1) + 1, ids)
        return torch.cat([self.embed(ids).transpose(1, 2), mask[:, None].to(self.embed.weight.dtype)], dim=1)


class MaxOverText(nn.Sequential):
    """Dropout -> 1-D convolution -> ReLU -> max over each text's own positions.

    The max skips the positions a longer text in the same batch added (padding), so a
    text's features never depend on what it is batched with: over padding, the convolution
    gives ``relu(bias)``, which a plain max over the batch's length would pick up.
    """

    def __init__(self, dim: int, feature_dim: int) -> None:
        super().__init__(nn.Dropout(0.2), nn.Conv1d(dim, feature_dim, 3, padding=1), nn.ReLU())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h, mask = h[:, :-1], h[:, -1:]
        h = super().forward(h)  # (B, feature_dim, T')
        return h.masked_fill(mask == 0, float("-inf")).amax(dim=2)


@register_architecture("textcnn", "Small CNN over token ids (embeddings, 1-D conv, max over time): scratch's model on a pretrained text encoder's tokens (texts need one)", "vector")
class TextCNN(SharedLayers):
    def __init__(self, input_shape: tuple[int, ...], buckets: int = 32768, dim: int = 64, feature_dim: int = 128) -> None:
        blocks = [
            TokenEmbedding(buckets, dim),  # (B, T) -> (B, dim + 1, T'): embeddings and the text mask
            MaxOverText(dim, feature_dim),  # -> (B, feature_dim)
        ]
        super().__init__(blocks, feature_dim)
