import math

import pytest

from transferkit.evaluate.stats import is_negative_transfer, paired_gain, t_interval


def test_t_interval_matches_hand_computation():
    # values 0.5, 0.7, 0.9: mean 0.7, s = 0.2, t_{0.975, 2} = 4.302653
    ci = t_interval([0.5, 0.7, 0.9])
    half = 4.302653 * 0.2 / math.sqrt(3)
    assert ci.mean == pytest.approx(0.7)
    assert ci.low == pytest.approx(0.7 - half, abs=1e-6) and ci.high == pytest.approx(0.7 + half, abs=1e-6)


def test_single_value_has_no_interval():
    ci = t_interval([0.8])
    assert ci.mean == 0.8 and ci.as_list() is None


def test_paired_gain_uses_per_seed_differences():
    gain = paired_gain([0.9, 0.8, 0.85], [0.7, 0.6, 0.65])  # constant +0.2 per seed
    assert gain.mean == pytest.approx(0.2) and gain.low == pytest.approx(0.2) and gain.high == pytest.approx(0.2)
    assert not is_negative_transfer(gain)


def test_negative_transfer_only_when_whole_ci_below_zero():
    assert is_negative_transfer(paired_gain([0.5, 0.52, 0.49], [0.7, 0.71, 0.69]))
    assert not is_negative_transfer(paired_gain([0.5, 0.9, 0.49], [0.7, 0.71, 0.69]))
    assert not is_negative_transfer(paired_gain([0.5], [0.7]))  # one seed: no CI, no claim


def test_accuracy_interval_is_clipped_to_its_range():
    raw = t_interval([0.9, 1.0, 1.0])
    assert raw.high > 1.0  # the t interval alone runs past 100 %
    clipped = t_interval([0.9, 1.0, 1.0], bounds=(0.0, 1.0))
    assert clipped.high == 1.0 and clipped.low == raw.low and clipped.mean == raw.mean
