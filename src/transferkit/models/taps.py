"""Features from several shared blocks at once ("taps"), for a head on intermediate layers.

The last shared block is tuned to the source's task; earlier blocks hold more generic
features (edges, textures, parts). When the target differs from the source (grey 28 px
clothes vs ImageNet photos), a linear head on the outputs of several blocks can separate
the target's classes better than one on the last block alone (Evci et al., ICML 2022,
"Head2Toe"; Yosinski et al., NeurIPS 2014, on how generality falls with depth).

With ``shared.taps = (i, j, ...)`` the shared layers return, instead of their last
output, the concatenation over the tapped blocks of

    sqrt(C_b) * pool(h_b) / ||pool(h_b)||

where ``pool`` averages a block's (B, C_b, H, W) feature maps over space (a (B, C_b)
output is used as it is). Scaling each block's vector to norm ``sqrt(C_b)`` gives every
feature a typical magnitude of 1 whatever its block, so one L2 penalty suits them all,
and no block dominates because its activations happen to be large. Nothing is learned:
the taps add no parameters and the state dict is unchanged; ``taps`` is stored in the
model's JSON config (``TransferModel.set_taps``).

Taps need blocks that run one after another on the previous block's output: the
built-in ``cnn`` and ``mlp``, user ``nn.Sequential`` splits and MobileNetV2. Transformers
(whose layers also take an attention mask) and timm models (whose children are not always
a chain) do not support them (:func:`can_tap` is False).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def can_tap(shared: nn.Module) -> bool:
    """True when ``shared``'s blocks form a chain whose outputs can be tapped."""
    if getattr(shared, "is_text", False):
        return False
    if hasattr(shared, "encoder"):  # a pretrained encoder: only MobileNetV2's ``features`` chain
        return isinstance(getattr(shared.encoder, "features", None), nn.Sequential)
    return len(shared.blocks) > 1


def pool(h: torch.Tensor) -> torch.Tensor:
    """A block's output as one vector per input: (B, C, H, W) -> (B, C); (B, D) as is."""
    return h.mean(dim=tuple(range(2, h.ndim))) if h.ndim > 2 else h


def block_outputs(shared: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Normalised input (B, ...) -> every block's pooled output [(B, C_0), (B, C_1), ...]."""
    out = []
    for block in shared.blocks:
        x = block(x)
        out.append(pool(x))
    return out


def combine(outputs: list[torch.Tensor], taps: tuple[int, ...]) -> torch.Tensor:
    """Pooled block outputs -> (B, sum C_b) tapped features (the formula in the module doc)."""
    return torch.cat([F.normalize(outputs[b], dim=1) * math.sqrt(outputs[b].shape[1]) for b in taps], dim=1)


def tapped_forward(shared: nn.Module, x: torch.Tensor, taps: tuple[int, ...]) -> torch.Tensor:
    """Normalised input -> (B, sum C_b): runs the blocks up to the last tap only."""
    outputs = []
    for block in shared.blocks[: max(taps) + 1]:
        x = block(x)
        outputs.append(pool(x))
    return combine(outputs, taps)


def check_taps(taps, num_blocks: int) -> tuple[int, ...]:
    """Validated, sorted, unique block indices (negative ones count from the end)."""
    from transferkit.errors import TransferkitError

    ok = bool(taps) and all(isinstance(t, int) and -num_blocks <= t < num_blocks for t in taps)
    if not ok:
        raise TransferkitError(
            f"taps {taps!r} must be block indices in {-num_blocks}..{num_blocks - 1} "
            f"(the shared layers have {num_blocks} blocks).",
            "give block indices such as [-3, -2, -1] for the last three blocks.",
        )
    idx = sorted({t % num_blocks for t in taps})
    return tuple(idx)
