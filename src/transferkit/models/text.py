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
    """(B, T) ids -> (B, E, T) embeddings, trimmed to the batch's longest text; padding is 0."""

    def __init__(self, buckets: int, dim: int) -> None:
        super().__init__()
        self.buckets = buckets
        self.embed = nn.Embedding(buckets, dim, padding_idx=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = max(3, int((x != 0).sum(1).max()))
        ids = x[:, :t].long()
        ids = torch.where(ids > 0, (ids - 1) % (self.buckets - 1) + 1, ids)
        return self.embed(ids).transpose(1, 2)


@register_architecture("textcnn", "Small CNN over token ids (embeddings, 1-D conv, max over time), for text", "vector")
class TextCNN(SharedLayers):
    def __init__(self, input_shape: tuple[int, ...], buckets: int = 32768, dim: int = 64, feature_dim: int = 128) -> None:
        blocks = [
            TokenEmbedding(buckets, dim),  # (B, T) -> (B, dim, T)
            nn.Sequential(  # -> (B, feature_dim)
                nn.Dropout(0.2), nn.Conv1d(dim, feature_dim, 3, padding=1), nn.ReLU(),
                nn.AdaptiveMaxPool1d(1), nn.Flatten(),
            ),
        ]  # fmt: skip
        super().__init__(blocks, feature_dim)
