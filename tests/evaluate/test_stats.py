import math

import numpy as np
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


def test_equal_per_seed_differences_do_not_make_a_gain_certain():
    from transferkit.evaluate.stats import paired_gain

    exact = paired_gain([0.70, 0.80], [0.75, 0.85])  # both seeds -5 points
    assert exact.low == pytest.approx(-0.05) and exact.high == pytest.approx(-0.05)  # a point: "certain"
    floored = paired_gain([0.70, 0.80], [0.75, 0.85], resolution=1 / 120)  # 120 test examples
    assert floored.low < -0.1 and floored.high > 0.0  # t(1) * (1/120) / sqrt(2) = 7.5 points each side


def _result(rows: dict, seeds=(0, 1), test=120):
    from types import SimpleNamespace as NS

    records = [NS(method=m, shots=k, seed=s, accuracy=a[i], seconds=1.0, footprint={})
               for (m, k), a in rows.items() for i, s in enumerate(seeds)]  # fmt: skip
    methods = list(dict.fromkeys(m for m, _ in rows))
    shots = sorted({k for _, k in rows})
    return NS(records=records, config=NS(method_names=methods, target=NS(shots=shots)),
              data=NS(split=NS(test_idx=list(range(test)))))  # fmt: skip


def test_without_target_labels_methods_are_compared_with_source_only():
    from transferkit.report.summary import results_table

    rows = results_table(_result({("source_only", 0): [0.93, 0.94], ("dann", 0): [0.52, 0.50], ("im", 0): [0.95, 0.97]}))
    by = {r["method"]: r for r in rows}
    assert by["dann"]["negative_transfer"] and by["dann"]["gain_vs_source_only"] == pytest.approx(-0.425)
    assert not by["im"]["negative_transfer"] and by["im"]["gain_vs_scratch"] is None
    assert "gain_vs_source_only" not in by["source_only"]


def test_the_report_does_not_give_an_all_clear_it_could_not_check():
    from transferkit.report.markdown import negative_transfer_lines
    from transferkit.report.summary import results_table

    one_seed = results_table(_result({("scratch", 5): [0.8], ("head", 5): [0.6]}, seeds=(0,)))
    assert one_seed[1]["gain_vs_scratch"] == pytest.approx(-0.2) and one_seed[1]["gain_ci95"] is None
    assert one_seed[1]["negative_transfer"] is None  # not checked: not an all-clear `false` in summary.json
    text = "\n".join(negative_transfer_lines(_summary(one_seed)))
    assert "Negative transfer was not checked" in text and "No negative transfer" not in text


def _summary(results):
    return {"name": "t", "results": results, "negative_transfer": [], "skipped": [], "seeds": [0],
            "negative_transfer_checked": sum(bool(r.get("gain_ci95")) for r in results)}  # fmt: skip


def test_skipped_runs_are_listed_once_with_their_seeds():
    from transferkit.report.markdown import skipped_line

    why = "needs at least 1 labelled example(s) per class"
    line = skipped_line([{"method": "scratch", "shots": 0, "seed": s, "reason": why} for s in (0, 1, 2)])
    assert line == f"Skipped: scratch k=0 ({why}; seeds 0, 1, 2)"


def test_gain_intervals_stay_within_what_accuracies_allow():
    """Two seeds far apart: the t interval (12.7 x the std) is clipped to [-1, 1]."""
    for resolution in (0.0, 1 / 120):
        gain = paired_gain([0.2, 0.9], [0.5, 0.4], resolution)
        assert -1.0 <= gain.low < gain.mean < gain.high <= 1.0
        assert gain.low == -1.0 and gain.high == 1.0


def test_cuda_without_cuda_is_a_one_line_error(monkeypatch):
    import pytest
    import torch

    from transferkit.devices import resolve_device
    from transferkit.errors import TransferkitError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TransferkitError, match="no usable CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_intervals_cover_the_sampling_of_test_examples():
    """Seed term s^2/n plus test term var(per-example means)/m, under one t quantile."""
    from scipy import stats as st

    from transferkit.evaluate.stats import t_interval

    values, per_example = [0.70, 0.74, 0.72], np.r_[np.ones(72), np.zeros(28)]  # m = 100 test examples
    ci = t_interval(values, per_example=per_example)
    a, b = np.var(values, ddof=1) / 3, np.var(per_example, ddof=1) / 100
    a_up = a * 2 / st.chi2.ppf(0.10, 2)  # df from the 90 % upper limit of the seeds' term
    df = (a_up + b) ** 2 / (a_up**2 / 2 + b**2 / 99)  # Welch-Satterthwaite: between 2 and 99
    half = st.t.ppf(0.975, df) * np.sqrt(a + b)
    assert 2 < df < 99 and ci.high - ci.mean == pytest.approx(half) and ci.mean - ci.low == pytest.approx(half)
    assert t_interval(values).high < ci.high  # seeds alone: narrower
    same = t_interval([0.72, 0.72, 0.72], per_example=per_example)  # no seed spread: floored at one step, 1/m
    floor = (1 / 100) ** 2 / 3
    floor_up = floor * 2 / st.chi2.ppf(0.10, 2)
    df_same = (floor_up + b) ** 2 / (floor_up**2 / 2 + b**2 / 99)
    assert same.high - same.mean == pytest.approx(st.t.ppf(0.975, df_same) * np.sqrt(floor + b))
    assert same.high - same.mean > st.t.ppf(0.975, 99) * np.sqrt(b)  # wider than the test term alone


def test_a_tiny_consistent_loss_is_not_called_negative_transfer_a_large_one_is():
    """3 seeds, 1,000 test examples. Losing 3 examples every seed, while the two models disagree on
    60, is within the test split's noise; losing 150 (disagreeing on 170) is not."""
    m = 1000

    def per_example(lost: int, won: int) -> np.ndarray:
        return np.r_[-np.ones(lost), np.ones(won), np.zeros(m - lost - won)]

    tiny = paired_gain([0.797] * 3, [0.800] * 3, resolution=1 / m, per_example=per_example(31, 28))
    assert tiny.mean == pytest.approx(-0.003) and not is_negative_transfer(tiny)
    assert is_negative_transfer(paired_gain([0.797] * 3, [0.800] * 3, resolution=1 / m))  # seeds alone: flagged
    large = paired_gain([0.65, 0.66, 0.64], [0.80, 0.81, 0.79], resolution=1 / m, per_example=per_example(160, 10))
    assert is_negative_transfer(large)


def test_results_use_per_example_results_and_the_report_says_what_is_not_significant():
    from types import SimpleNamespace as NS

    from transferkit.report.markdown import negative_transfer_lines
    from transferkit.report.summary import _below_not_significant, results_table

    m, rng = 200, np.random.default_rng(0)
    scratch = [rng.random(m) < 0.8 for _ in range(3)]
    head = [c.copy() for c in scratch]
    for c in head:  # four more errors each seed, and five examples swapped
        c[np.flatnonzero(c)[:4]] = False
        c[np.flatnonzero(c)[2:7]], c[np.flatnonzero(~c)[2:7]] = False, True
    records = [NS(method=name, shots=5, seed=s, accuracy=float(c[s].mean()), seconds=1.0, footprint={}, correct=c[s])
               for name, c in (("scratch", scratch), ("head", head)) for s in range(3)]  # fmt: skip
    result = NS(records=records, config=NS(method_names=["scratch", "head"], target=NS(shots=[5])),
                data=NS(split=NS(test_idx=list(range(m)))))  # fmt: skip
    row = results_table(result)[1]
    assert row["gain_vs_scratch"] == pytest.approx(-0.02) and not row["negative_transfer"]
    seed_only = results_table(NS(**{**vars(result), "records": [NS(**{**vars(r), "correct": None}) for r in records]}))[1]
    assert seed_only["negative_transfer"]  # the same accuracies judged on seeds alone
    assert _below_not_significant(row)
    summary = {**_summary([row]), "below_baseline_not_significant": ["head at k=5"], "baseline": {"5": "scratch"}}
    text = "\n".join(negative_transfer_lines(summary))
    assert "No negative transfer established" in text and "within the noise" in text and "head at k=5" in text
    assert "gain CIs against the baseline lies entirely below 0" in text  # not the intervals against source_only too
    flagged = {**summary, "negative_transfer": ["finetune at k=10"]}  # one flagged: the others are still listed
    text = "\n".join(negative_transfer_lines(flagged))
    assert "Negative transfer detected:** finetune at k=10" in text and "within the noise" in text
    assert "A method not flagged is not thereby shown to help" in text and "or a method not flagged" not in text
    assert "not corrected for their number" not in text  # one comparison: nothing to say of many
    many = "\n".join(negative_transfer_lines({**flagged, "negative_transfer_checked": 16}))
    assert "Each of the 16 gain intervals is a 95 % interval for its own comparison" in many and "about 0.4 of" in many
    assert "head at k=5" in text and "No negative transfer" not in text
    assert "source_only` uses none of the k labelled" not in text
    reference = {**summary, "negative_transfer": ["source_only at k=10"]}  # the demo's: labels beat the raw source
    text = "\n".join(negative_transfer_lines(reference))
    assert "those labels are worth more than the source model as it is, not that methods which also use" in text


def test_the_report_says_when_labelled_runs_have_no_scratch_baseline():
    from transferkit.report.markdown import negative_transfer_lines

    summary = {**_summary([]), "baseline": {"0": "source_only", "2": "source_only"}}
    text = "\n".join(negative_transfer_lines(summary))
    assert "No `scratch` baseline at k = 2:" in text and "k = 0," not in text and "k = 0:" not in text


@pytest.mark.parametrize("n_seeds", [2, 3])
@pytest.mark.parametrize("seed_sd", [0.0, 0.03, 0.1])
def test_intervals_cover_the_true_accuracy_and_gain_at_least_95_percent(n_seeds, seed_sd):
    """Simulation: a new test split of m = 300 examples per trial, each with its own difficulty
    (per-example probability of being right, mean 0.8), and a per-seed shift of sd ``seed_sd``;
    two methods of equal quality for the gain. The intervals must cover the truth (0.8; gain 0)
    in at least 95 % of 600 trials, less 2 points of Monte Carlo error, and must not flag
    negative transfer in more than 2.5 % + 2 points of them."""
    rng, m, trials = np.random.default_rng(n_seeds * 10 + int(seed_sd * 100)), 300, 600
    acc_hits = gain_hits = flags = 0
    for _ in range(trials):
        p = rng.beta(0.4, 0.1, size=m)

        def runs(p=p):
            shift = rng.normal(0, seed_sd, size=n_seeds)[:, None]
            return rng.random((n_seeds, m)) < np.clip(p[None] + shift, 0, 1)

        a, b = runs(), runs()
        ci = t_interval(a.mean(1).tolist(), bounds=(0, 1), per_example=a.mean(0), plus_four=True)
        gain = paired_gain(a.mean(1).tolist(), b.mean(1).tolist(), per_example=(a.astype(float) - b).mean(0))
        acc_hits += ci.low <= 0.8 <= ci.high
        gain_hits += gain.low <= 0 <= gain.high
        flags += is_negative_transfer(gain)
    assert acc_hits / trials >= 0.93 and gain_hits / trials >= 0.93 and flags / trials <= 0.045


def test_an_accuracy_of_100_percent_still_gets_an_interval():
    ci = t_interval([1.0, 1.0, 1.0], bounds=(0, 1), per_example=np.ones(40), plus_four=True)
    assert ci.high == 1.0 and ci.low < 0.97  # plus four: the 40 test examples cannot show more


def test_the_missing_scratch_line_names_each_baseline_and_says_when_there_is_none():
    from transferkit.report.markdown import negative_transfer_lines

    text = "\n".join(negative_transfer_lines({**_summary([]), "baseline": {"2": None, "5": "source_only"}}))
    assert "at k = 2:** no gain is computed there" in text
    assert "at k = 5:** gains there are against `source_only`" in text and "`nothing`" not in text


def test_the_gain_column_is_named_after_the_baseline_it_holds():
    from transferkit.report.table import markdown_table, text_table

    row = {"method": "mcc", "shots": 0, "accuracy_mean": 0.7, "accuracy_ci95": [0.6, 0.8], "seeds": [0, 1],
           "negative_transfer": False, "gain_vs_scratch": None, "gain_vs_source_only": 0.05,
           "gain_vs_source_only_ci95": [0.01, 0.09]}  # fmt: skip
    k0 = text_table([row])  # k = 0 only: every gain is against source_only
    assert "gain vs source_only (pts)" in k0 and "gain vs scratch" not in k0
    k5 = {**row, "shots": 5, "gain_vs_scratch": 0.02, "gain_ci95": [-0.01, 0.05]}
    mixed = markdown_table([row, k5])  # k > 0 against scratch; the k = 0 cell says its own baseline
    assert "| gain vs scratch (pts) [95% CI] |" in mixed and "+5.0 [1.0, 9.0] vs source_only" in mixed


def test_the_unchecked_note_names_what_is_missing():
    from transferkit.report.markdown import unchecked_reason
    from transferkit.report.summary import results_table

    only_scratch = results_table(_result({("scratch", 5): [0.8, 0.7]}))
    reason = unchecked_reason({**_summary(only_scratch), "seeds": [0, 1], "baseline": {"5": "scratch"}})
    assert reason.startswith("every method here is the baseline itself")  # was: "needs scratch and 2 seeds"
    one_seed = results_table(_result({("scratch", 5): [0.8], ("head", 5): [0.6]}, seeds=(0,)))
    assert unchecked_reason(_summary(one_seed)) == "that needs at least 2 seeds, for an interval of the gain"
    no_base = results_table(_result({("head", 5): [0.6, 0.7]}))
    assert unchecked_reason({**_summary(no_base), "seeds": [0, 1]}) == (
        "that needs scratch among the methods (or source_only at k = 0)"
    )
    at_k0 = results_table(_result({("adabn", 0): [0.6, 0.7]}))
    assert unchecked_reason({**_summary(at_k0), "seeds": [0, 1]}) == (
        "that needs source_only among the methods (scratch cannot run without target labels)"
    )


def test_two_models_that_agree_on_every_test_example_get_an_interval_not_a_point():
    """Both right on the same 23 test examples for both seeds: the gain was reported as +0.0 [0.0, 0.0]."""
    from transferkit.evaluate.stats import paired_gain

    gain = paired_gain([0.935, 0.935], [0.935, 0.935], per_example=[0.0] * 23)
    assert gain.mean == 0.0 and gain.low < -0.05 and gain.high > 0.05  # about +-8.8 points on 23 examples
    wide = paired_gain([0.935, 0.935], [0.935, 0.935], per_example=[0.0] * 539)
    assert gain.low < wide.low < 0 < wide.high < 0.03  # a larger split supports a narrower one


def test_a_method_below_the_unadapted_source_is_said_beside_scratch(capsys):
    """finetune 59.7 below source_only 65.3 at k = 1 was only called '+26.7 vs scratch'."""
    from transferkit.commands._shared import print_summary
    from transferkit.report.markdown import negative_transfer_lines
    from transferkit.report.summary import results_table

    rows = results_table(_result({("scratch", 1): [0.33, 0.35, 0.34], ("source_only", 1): [0.65, 0.66, 0.655],
                                  ("finetune", 1): [0.59, 0.60, 0.595], ("head", 1): [0.70, 0.72, 0.71]},
                                 seeds=(0, 1, 2)))  # fmt: skip
    by = {r["method"]: r for r in rows}
    assert by["finetune"]["gain_vs_scratch"] > 0 and by["finetune"]["below_unadapted"]
    assert by["finetune"]["gain_vs_unadapted"] == pytest.approx(-0.06)
    assert not by["head"]["below_unadapted"]  # above source_only
    assert "below_unadapted" not in by["source_only"] and "below_unadapted" not in by["scratch"]
    from transferkit.report.summary import below_source_only

    assert below_source_only(rows) == ["finetune at k=1"]
    summary = {**_summary(rows), "below_source_only": below_source_only(rows), "run_dir": "r", "wall_time_s": 1.0,
               "target": {}}
    text = "\n".join(negative_transfer_lines(summary))
    assert "**Below the source model as it is:** finetune at k=1 scored below `source_only`" in text
    assert "adapting the source model to the target (its labelled examples, and for adaptation methods its unlabelled ones)" in text
    print_summary(summary)
    assert "BELOW THE SOURCE MODEL AS IT IS (source_only): finetune at k=1  (adapting it to the target made it worse" in capsys.readouterr().out
    zero = results_table(_result({("source_only", 0): [0.9, 0.91], ("dann", 0): [0.5, 0.52]}))  # k = 0: its baseline
    assert "below_unadapted" not in zero[1] and zero[1]["negative_transfer"]


def test_two_seeds_that_tie_do_not_make_a_gain_certain():
    """A new user's head scored 16.7 / 21.1 % against scratch's 26.7 / 31.1 % on 90 test examples:
    both seeds' gains exactly -10.0 points, a seed spread of 0, and the interval [-17.3, -2.7]
    flagged negative transfer from 2 seeds. The seeds' std is floored at one step (1/m)."""
    from transferkit.evaluate.stats import is_negative_transfer, paired_gain

    rng = np.random.default_rng(0)
    per_example = np.zeros(90)
    per_example[rng.choice(90, 14, replace=False)] = -1.0  # 14 examples lost, 5 won: net -9 of 90
    per_example[rng.choice(np.flatnonzero(per_example == 0), 5, replace=False)] = 1.0
    gain = paired_gain([0.1667, 0.2111], [0.2667, 0.3111], per_example=per_example)
    assert gain.mean == pytest.approx(-0.1) and not is_negative_transfer(gain) and gain.low < -0.25
    three = paired_gain([0.1667, 0.2111, 0.1889], [0.2667, 0.3111, 0.2889], per_example=per_example)
    assert three.high - three.low < gain.high - gain.low  # a third seed narrows it


def test_the_seed_floor_never_narrows_an_interval():
    """On 5 test examples with 5 tied seeds the floor's extra degrees of freedom had narrowed it
    (0.621 -> 0.561)."""
    from transferkit.evaluate.stats import _half_width, _test_variance, t_interval

    per_example = [0.0, 0.0, 1.0, 0.0, 0.0]  # a gain on 5 test examples, the same on 5 seeds
    ci = t_interval([0.2] * 5, bounds=(-1.0, 1.0), per_example=per_example, paired=True)
    unfloored = _half_width(0.0, 5, _test_variance(per_example, paired=True), 4, 0.95)
    assert -1 < ci.low and ci.high < 1  # not clipped: the width is the computed one
    assert ci.high - ci.mean == pytest.approx(unfloored)  # the wider: here the one without the floor


def test_a_rows_footprint_is_not_one_seeds_when_its_seeds_differ():
    """A new user's bitfit k=5: seed 1 fell back to its probed head (164,328 bytes), and the row
    gave seed 0's 215,360 bytes and 19,618 parameters as the method's."""
    from types import SimpleNamespace as NS

    from transferkit.report.summary import results_table

    fp = {0: {"trainable_params": 19618, "total_params": 2300000, "checkpoint_bytes": 215360},
          1: {"trainable_params": 1280, "total_params": 2300000, "checkpoint_bytes": 164328}}  # fmt: skip
    result = _result({("scratch", 5): [0.8, 0.82], ("bitfit", 5): [0.9, 0.88]})
    result.records = [NS(**{**vars(r), "footprint": fp[r.seed] if r.method == "bitfit" else fp[0]}) for r in result.records]
    by = {r["method"]: r for r in results_table(result)}
    assert by["bitfit"]["checkpoint_bytes"] == 215360 and by["bitfit"]["trainable_params"] == 19618  # the largest
    assert by["bitfit"]["footprint_per_seed"]["1"]["checkpoint_bytes"] == 164328
    assert by["scratch"]["checkpoint_bytes"] == 215360 and "footprint_per_seed" not in by["scratch"]  # seeds agree


def test_negative_transfer_at_k0_blames_the_adaptation_not_the_source():
    """At k = 0 the baseline is the source model itself: 'the source hurts here: prefer the
    baseline' told a new user to prefer the very source the flag was against."""
    from transferkit.report.markdown import negative_transfer_lines

    base = {"negative_transfer_checked": 1, "baseline": {"0": "source_only", "5": "scratch"}}
    zero = " ".join(negative_transfer_lines({**base, "negative_transfer": ["im at k=0 (vs source_only)"]}))
    assert "Adapting this way hurts here (the baseline at k = 0 is the source model as it is)" in zero
    labelled = " ".join(negative_transfer_lines({**base, "negative_transfer": ["head at k=5"]}))
    assert "Used this way, the source hurts here: prefer the baseline" in labelled


def test_a_row_whose_seeds_kept_their_probed_head_is_marked_in_the_table():
    """A new user's lora and bitfit rows were really the linear probe on some seeds, said only in
    a warning below the table."""
    from types import SimpleNamespace as NS

    from transferkit.report.summary import results_table
    from transferkit.report.table import markdown_table

    result = _result({("scratch", 5): [0.8, 0.82], ("lora", 5): [0.9, 0.88]})
    result.records = [NS(**{**vars(r), "probe_kept": r.method == "lora" and r.seed == 1}) for r in result.records]
    rows = results_table(result)
    by = {r["method"]: r for r in rows}
    assert by["lora"]["probe_kept_seeds"] == [1] and "probe_kept_seeds" not in by["scratch"]
    assert "| lora (probe kept: seed 1) | 5 |" in markdown_table(rows)


def test_copies_in_the_test_split_count_as_one_draw():
    """Each test input stored twice: counting every copy as a draw made the 95 % intervals
    cover the truth in 86-89 % of trials (a new user's audit); over the groups of copies they
    cover it at the nominal rate. With every input distinct, groups change nothing."""
    rng, distinct, trials = np.random.default_rng(7), 40, 600
    hits = {True: 0, False: 0}
    groups = np.repeat(np.arange(distinct), 2)
    for _ in range(trials):
        p = rng.beta(0.4, 0.1, size=distinct)
        right = np.repeat(rng.random((1, distinct)) < p[None], 3, axis=0)  # one answer per input, every seed, both copies
        a = right[:, groups].astype(float)
        for grouped in (True, False):
            ci = t_interval(a.mean(1).tolist(), bounds=(0, 1), per_example=a.mean(0), plus_four=True,
                            groups=groups if grouped else None)  # fmt: skip
            hits[grouped] += ci.low <= 0.8 <= ci.high
    assert hits[True] / trials >= 0.93 and hits[False] / trials < hits[True] / trials - 0.03
    values, per = [0.8, 0.75, 0.85], np.random.default_rng(0).random(50) < 0.8
    alone = t_interval(values, bounds=(0, 1), per_example=per, plus_four=True)
    assert t_interval(values, bounds=(0, 1), per_example=per, plus_four=True, groups=np.arange(50)) == alone
    diff = np.random.default_rng(1).choice([-1.0, 0.0, 1.0], size=50)
    assert paired_gain([0.1, 0.0, 0.05], [0.0] * 3, per_example=diff, groups=np.arange(50)) == \
        paired_gain([0.1, 0.0, 0.05], [0.0] * 3, per_example=diff)  # fmt: skip


def test_a_runs_test_copies_are_grouped_for_its_intervals():
    from transferkit.data.domain import Domain
    from transferkit.report.summary import _test_copy_groups

    x = np.random.default_rng(0).random((6, 1, 4, 4)).astype(np.float32)
    x[3] = x[1]  # one input stored twice
    target = Domain("t", x, np.array([0, 1, 0, 1, 0, 1]), ["a", "b"])
    from types import SimpleNamespace as NS

    from transferkit.data.splits import split_target

    groups = _test_copy_groups(target, NS(test_idx=np.array([1, 2, 3])))
    assert groups is not None and groups[0] == groups[2] != groups[1]
    assert _test_copy_groups(target, NS(test_idx=np.array([0, 1, 2]))) is None  # all distinct: per example, as before
    with pytest.warns(UserWarning, match="copy"):
        split = split_target(target, 0.5, 0)  # keeps the groups it found: not hashed again for the intervals
    assert split.groups is not None and split.groups[1] == split.groups[3]


def test_a_runs_intervals_are_wider_when_its_test_inputs_are_stored_twice():
    from types import SimpleNamespace as NS

    from transferkit.data.domain import Domain
    from transferkit.report.summary import results_table

    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 4, 4)).astype(np.float32)
    twice = Domain("t", np.concatenate([x, x]), np.arange(80) % 2, ["a", "b"])
    once = Domain("t", rng.random((80, 1, 4, 4)).astype(np.float32), np.arange(80) % 2, ["a", "b"])
    answers = {m: np.tile(rng.random(40) < p, 2) for m, p in (("scratch", 0.7), ("head", 0.8))}  # copies alike
    records = [NS(method=m, shots=5, seed=s, accuracy=float(c.mean()), seconds=1.0, footprint={}, correct=c)
               for m, c in answers.items() for s in range(3)]  # fmt: skip

    def rows(target):
        result = NS(records=records, config=NS(method_names=list(answers), target=NS(shots=[5])),
                    data=NS(split=NS(test_idx=np.arange(80)), target=target))  # fmt: skip
        return {r["method"]: r for r in results_table(result)}

    grouped, alone = rows(twice)["head"], rows(once)["head"]
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(grouped["accuracy_ci95"]) > 1.3 * width(alone["accuracy_ci95"])
    assert width(grouped["gain_ci95"]) > 1.3 * width(alone["gain_ci95"])


def test_every_interval_can_be_recomputed_from_the_run_folder(tmp_path, image_npz):
    """An audit could not check the intervals from a run folder: the per-example outcomes they
    are computed from were not in it. test_results.csv holds them."""
    import csv
    import json

    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.cli import main

    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=3, methods=[{"name": "scratch", "params": {"steps": 5}},
                                                      {"name": "head", "params": {"steps": 5}}])  # fmt: skip
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = list(csv.DictReader((tmp_path / "run" / "test_results.csv").open()))
    assert len(rows) == summary["target"]["test_examples"]
    groups = [int(r["copy_group"]) for r in rows]
    for row in summary["results"]:
        cols = [f"{row['method']} k={row['shots']} seed={s}" for s in row["seeds"]]
        right = np.array([[float(r[c]) for r in rows] for c in cols])
        assert right.mean(1).tolist() == pytest.approx(row["accuracies"])
        ci = t_interval(right.mean(1).tolist(), bounds=(0, 1), per_example=right.mean(0), plus_four=True,
                        groups=groups if len(set(groups)) < len(groups) else None)  # fmt: skip
        assert ci.as_list() == pytest.approx(row["accuracy_ci95"])
        from transferkit.report.summary import _balanced_intervals

        labels = np.array([r["label"] for r in rows])
        right_by_seed = {s: right[i] for i, s in enumerate(row["seeds"])}
        assert _balanced_intervals(right_by_seed, None, row["seeds"], labels, None)["balanced_accuracy_ci95"] == \
            pytest.approx(row["balanced_accuracy_ci95"])  # fmt: skip
        if row["method"] == "head":
            base = np.array([[float(r[f"scratch k={row['shots']} seed={s}"]) for r in rows] for s in row["seeds"]])
            gain = paired_gain(right.mean(1).tolist(), base.mean(1).tolist(), per_example=(right - base).mean(0))
            assert gain.as_list() == pytest.approx(row["gain_ci95"])


def test_one_input_copied_over_the_whole_test_split_keeps_its_test_term():
    """With every test example a copy of one input (G = 1) the test term lost its degrees of
    freedom and the interval came out narrower than counting each copy (a review's case)."""
    for m in (3, 4):
        for n in (10, 20):
            values = [0.5] * (n // 2) + [0.5 + 1 / m] * (n - n // 2)
            per = [sum(values) / n] * m
            alone = t_interval(values, bounds=(0, 1), per_example=per, plus_four=True)
            one = t_interval(values, bounds=(0, 1), per_example=per, plus_four=True, groups=[0] * m)
            assert one.high - one.low >= alone.high - alone.low - 1e-12  # was 0.960 against 1.000 (m 3, 10 seeds)


def test_a_jsonl_files_first_keys():
    import pathlib
    import tempfile

    from transferkit.prediction import _first_keys

    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "t.jsonl"
        p.write_text('\n{"text": "great", "msg_id": "m1"}\n{"text": "awful"}\n')
        assert _first_keys(p) == {"text", "msg_id"}
        p.write_text("not json\n")
        assert _first_keys(p) == set()


def test_balanced_accuracy_gets_an_interval_that_covers_it():
    """The report pointed to balanced accuracy on imbalanced splits and gave it no interval."""
    from transferkit.report.summary import _balanced_intervals, balanced

    y = np.array([0] * 90 + [1] * 10)
    rng, hits, trials = np.random.default_rng(3), 0, 400
    for _ in range(trials):  # class accuracies 0.9 and 0.5: balanced accuracy 0.7; 3 seeds
        p = np.where(y == 0, 0.9, 0.5)
        right = {s: rng.random(100) < p for s in range(3)}
        ci = _balanced_intervals(right, None, [0, 1, 2], y, None)["balanced_accuracy_ci95"]
        hits += ci[0] <= 0.7 <= ci[1]
    assert hits / trials >= 0.93
    base = {s: rng.random(100) < 0.5 for s in range(3)}
    out = _balanced_intervals(right, base, [0, 1, 2], y, None)
    assert out["balanced_gain"] == pytest.approx(np.mean([balanced(right[s], y) - balanced(base[s], y) for s in range(3)]))
    assert out["balanced_gain_ci95"][0] < out["balanced_gain"] < out["balanced_gain_ci95"][1]


def test_balanced_accuracy_interval_is_stratified_by_class():
    """An audit's case: a model right on every test example of classes of 53, 4 and 18 got a
    balanced accuracy of 100 [69.8, 100]: the test term was the variance of each example's share,
    m / (C n_c) x correct, whose weights alone spread. Stratified by class it is the classes'
    own uncertainty (4 of 4 right: Clopper-Pearson's lower bound 0.40, so about 0.80), and on a
    large split with two small classes it is narrower at unchanged coverage."""
    from transferkit.report.summary import _balanced_intervals

    y = np.array([0] * 53 + [1] * 4 + [2] * 18)
    perfect = {s: np.ones(len(y), bool) for s in range(3)}
    low = _balanced_intervals(perfect, None, [0, 1, 2], y, None)["balanced_accuracy_ci95"][0]
    assert 0.78 < low < 0.9  # was 0.70; Beta(1, 1) posteriors of the class accuracies put it at 0.80
    # a review: Welch-Satterthwaite df over the classes fell to 1 with one class of a single example, [0, 1]
    for sizes, floor in (([50, 50, 1], 0.55), ([200] * 9 + [1], 0.85)):  # posteriors: 0.71 and 0.91
        yy = np.repeat(np.arange(len(sizes)), sizes)
        right = {s: np.ones(len(yy), bool) for s in range(3)}
        assert _balanced_intervals(right, None, [0, 1, 2], yy, None)["balanced_accuracy_ci95"][0] > floor
    # copies are one draw: a class of 3 inputs stored 10 times each is about as uncertain as 3 inputs
    y10, y1 = np.array([0] * 100 + [1] * 30), np.array([0] * 100 + [1] * 3)
    groups = np.concatenate([np.arange(100), 100 + np.repeat(np.arange(3), 10)])
    r10 = np.concatenate([np.ones(100, bool), np.repeat([True, False, True], 10)])
    r1 = np.concatenate([np.ones(100, bool), [True, False, True]])
    copied = _balanced_intervals({s: r10 for s in range(3)}, None, [0, 1, 2], y10, groups)["balanced_accuracy_ci95"]
    distinct = _balanced_intervals({s: r1 for s in range(3)}, None, [0, 1, 2], y1, None)["balanced_accuracy_ci95"]
    assert copied[0] < distinct[0] + 0.1 and copied[0] < 0.6  # 0.75 when the copies counted as draws
    y = np.array([0] * 300 + [1] * 30 + [2] * 30)
    p = np.array([0.9, 0.5, 0.7])[y]
    rng, hits, widths, gains = np.random.default_rng(1), 0, [], 0
    for _ in range(200):  # one test split; 3 seeds that differ on a tenth of its examples
        base = rng.random(len(y)) < p
        right = {s: np.where(rng.random(len(y)) < 0.1, rng.random(len(y)) < p, base) for s in range(3)}
        other = {s: np.where(rng.random(len(y)) < 0.1, rng.random(len(y)) < p, rng.random(len(y)) < p) for s in range(3)}
        out = _balanced_intervals(right, other, [0, 1, 2], y, None)
        ci, gain = out["balanced_accuracy_ci95"], out["balanced_gain_ci95"]
        hits += ci[0] <= 0.7 <= ci[1]
        gains += gain[0] <= 0 <= gain[1]  # same class accuracies: no gain
        widths.append(ci[1] - ci[0])
    assert hits / 200 >= 0.93 and gains / 200 >= 0.93
    assert np.mean(widths) < 0.2  # 0.24 with the share's variance


def test_test_results_name_each_examples_row_in_the_users_file_under_class_subsets_and_samples(tmp_path):
    """A new user's R52 run with target.max_per_class: 30 wrote target_row as the row in the
    sample, so only 2.2 % of its test rows named their own example in the file."""
    import csv

    import yaml

    from tests.conftest import make_images, tiny_experiment
    from transferkit.cli import main

    xs, ys = make_images(60, seed=1)
    xt, yt = make_images(80, seed=2)
    yt, xt = np.arange(len(yt)) % 4, xt[:, 0]  # 4 classes of 20
    np.savez(tmp_path / "s.npz", x=xs[:, 0], y=ys, classes=np.array(["a", "b", "c"]))
    np.savez(tmp_path / "t.npz", x=xt, y=yt, classes=np.array(["w", "x", "y", "z"]))
    raw = tiny_experiment(tmp_path / "s.npz", tmp_path / "t.npz", seeds=1,
                          methods=[{"name": "scratch", "params": {"steps": 2}}])  # fmt: skip
    raw["target"].update(classes=["z", "x"], max_per_class=12, shots=[2])
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    rows = list(csv.DictReader((tmp_path / "run" / "test_results.csv").open()))
    names = ["w", "x", "y", "z"]
    assert rows and all(names[yt[int(r["target_row"])]] == r["label"] for r in rows)
    assert len({int(r["target_row"]) for r in rows}) == len(rows)
    from transferkit.data.domain import file_rows
    from transferkit.data.text import TextDomain

    texts = TextDomain("t", [f"text {i}" for i in range(12)], np.arange(12) % 3, ["p", "q", "r"])
    part = texts.subset(["r", "p"]).select(np.array([3, 0, 1]))
    assert [part.texts[i] for i in range(3)] == [f"text {j}" for j in file_rows(part)]


def test_balanced_accuracys_degrees_of_freedom_follow_the_classes_that_dominate_its_variance():
    """A review: a 500 / 10 test split read the rare class's term, most of the variance, with 509 degrees of
    freedom, and covered 92.2 % of the truth in simulation; Welch-Satterthwaite over the classes (floored at 10:
    a class of one example took it to 2 and a perfect model's interval to [17.5, 100] on 50/50/1) covers 96 %."""
    from transferkit.evaluate.stats import MIN_STRATIFIED_DF, stratified_test_variance

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [500, 10])
    right = np.concatenate([rng.random(500) < 0.9, rng.random(10) < 0.5]).astype(float)
    _, df = stratified_test_variance(right, labels)
    assert 10 <= df < 30  # about the rare class's 10 + 1, not 509
    _, df_one = stratified_test_variance(np.ones(101), np.repeat([0, 1, 2], [50, 50, 1]))
    assert df_one == MIN_STRATIFIED_DF
    _, even = stratified_test_variance(rng.random(300) < 0.8, np.repeat([0, 1, 2], 100))
    assert even > 250  # balanced classes: about the examples' count, as accuracy's


def test_equal_mean_accuracies_are_not_below_the_baseline_by_float_rounding(capsys):
    """440/539 on both seeds against scratch's 438/539 and 442/539: the same mean, but the
    differences summed to -5.6e-17 in float, and the run printed "below the baseline, not
    significant" for a method level with scratch."""
    from transferkit.commands._shared import print_summary
    from transferkit.report.summary import _below_not_significant, results_table

    m, a, b = 539, 440 / 539, [438 / 539, 442 / 539]
    gain = paired_gain([a, a], b, resolution=1 / m)
    assert gain.mean == 0.0 and gain.low < 0 < gain.high
    assert paired_gain([a, a], b, per_example=[0.0] * (m - 2) + [1.0, -1.0]).mean == 0.0
    assert paired_gain([0.5, 0.5], [0.5 + 1e-9, 0.5 + 1e-9], resolution=0.01).mean < 0  # a real difference stays
    rows = results_table(_result({("scratch", 5): b, ("head", 5): [a, a]}, test=m))
    assert rows[1]["gain_vs_scratch"] == 0.0
    summary = {**_summary(rows), "run_dir": "r", "wall_time_s": 1.0, "target": {},
               "below_baseline_not_significant": [r["method"] for r in rows if _below_not_significant(r)]}
    print_summary(summary)
    assert "below the baseline" not in capsys.readouterr().out


def test_many_intervals_are_qualified_whichever_kind_flags(capsys):
    """The caveat that 1 in 40 intervals lies below 0 by chance was given only when a gain over
    scratch was flagged, and counted only those: a flag against the unadapted source among 12
    intervals came without it."""
    from transferkit.commands._shared import print_summary
    from transferkit.report.markdown import many_comparisons_line, negative_transfer_lines
    from transferkit.report.summary import below_source_only, results_table

    def summary_of(rows):
        base = {**_summary(rows), "run_dir": "r", "wall_time_s": 1.0, "target": {}}
        return {**base, "below_source_only": below_source_only(rows)}

    accs = {("scratch", 1): [0.33, 0.35, 0.34], ("source_only", 1): [0.65, 0.66, 0.655],
            ("finetune", 1): [0.59, 0.60, 0.595]}
    few = summary_of(results_table(_result(accs, seeds=(0, 1, 2))))
    assert few["below_source_only"] and few["negative_transfer_checked"] == 2  # 2 vs scratch, 1 vs source_only
    assert many_comparisons_line(few) is None  # 3 intervals: no caveat
    more = dict(accs)
    for k in (5, 10, 20, 50):
        more.update({("scratch", k): [0.5, 0.52, 0.51], ("source_only", k): [0.65, 0.66, 0.655],
                     ("head", k): [0.70, 0.72, 0.71]})
    many = summary_of(results_table(_result(more, seeds=(0, 1, 2))))
    assert not many["negative_transfer"] and many["below_source_only"] == ["finetune at k=1"]
    line = many_comparisons_line(many)  # 2 + 4 * 2 vs scratch, 1 + 4 vs source_only
    assert line.startswith("Each of the 15 gain intervals") and "about 0.38 of them" in line
    assert line in "\n".join(negative_transfer_lines(many))
    print_summary(many)
    assert "note: Each of the 15 gain intervals" in capsys.readouterr().out
    level = summary_of(results_table(_result({k: v for k, v in more.items() if k[0] != "finetune"}, seeds=(0, 1, 2))))
    assert not level["below_source_only"] and many_comparisons_line(level) is None  # nothing flagged: no caveat
