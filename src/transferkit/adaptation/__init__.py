"""Domain adaptation losses, pure PyTorch: gradient reversal, DANN, CDAN, MK-MMD,
CORAL, MCC and entropy. Each module states its formula and paper."""

from transferkit.adaptation.cdan import (
    MAX_MULTILINEAR_DIM,
    CDANLoss,
    RandomizedMultilinearMap,
    multilinear_map,
)
from transferkit.adaptation.coral import coral_loss
from transferkit.adaptation.dann import dann_loss
from transferkit.adaptation.domain_discriminator import DomainDiscriminator, domain_adversarial_loss
from transferkit.adaptation.entropy import (
    entropy,
    entropy_from_logits,
    entropy_loss,
    entropy_weights,
)
from transferkit.adaptation.grl import GradientReverse, grad_reverse, warmup_coeff
from transferkit.adaptation.mcc import mcc_loss
from transferkit.adaptation.mmd import mk_mmd

__all__ = [
    "MAX_MULTILINEAR_DIM",
    "CDANLoss",
    "DomainDiscriminator",
    "GradientReverse",
    "RandomizedMultilinearMap",
    "coral_loss",
    "dann_loss",
    "domain_adversarial_loss",
    "entropy",
    "entropy_from_logits",
    "entropy_loss",
    "entropy_weights",
    "grad_reverse",
    "mcc_loss",
    "mk_mmd",
    "multilinear_map",
    "warmup_coeff",
]
