"""BatchNorm's batch statistics need a batch: below ``MIN_BN_BATCH`` labelled examples the
source's statistics are kept.

With ``bn: train`` a trainable block's BatchNorm normalises each batch by its own mean and
variance. Two examples normalise every feature to -1 and +1 whatever the input, three leave
two degrees of freedom: the features the source learned are gone. A trial's 2-class series at
k = 1 (batches of 2) lost 20-30 points with finetune and l2sp (0.75 / 0.75 / 0.58 against head's
1.00 on 3 seeds), all regained with ``bn: frozen``. Group Normalization's authors measured BN's
error rising steeply below 8 examples a batch (Wu & He, ECCV 2018); we keep ``bn: train`` from 4
on, so that 5-way 1-shot episodes (5 images) train as they did.
"""

from __future__ import annotations

import warnings

from transferkit.errors import TransferkitWarning, user_stacklevel

MIN_BN_BATCH = 4


TRAINS = {"lora": "; BatchNorm's scale and shift stay as the source's, as every source weight does under lora",
          "bitfit": " and only BatchNorm's shift trains (a bias, as bitfit trains), not its scale"}
SCALE_AND_SHIFT = " and only BatchNorm's scale and shift train"  # finetune, gradual: what still trains of BatchNorm
# (a review: lora and bitfit were told this too)


def bn_for_batch(method: str, policy: str, labelled: int, batch_size: int) -> str:
    """``policy``, or ``"frozen"`` (said) when ``bn: train`` would normalise batches of under
    ``MIN_BN_BATCH`` examples."""
    batch = min(labelled, batch_size)
    if policy != "train" or batch >= MIN_BN_BATCH:
        return policy
    warnings.warn(f"{method}: batches of {batch} labelled example{'s' if batch != 1 else ''} are too few for "
                  "BatchNorm's batch statistics (two examples normalise every feature to -1 and +1), so the source's "
                  f"statistics are kept (bn: frozen){TRAINS.get(method, SCALE_AND_SHIFT)}.",
                  TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    return "frozen"
