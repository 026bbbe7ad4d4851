"""The evaluation protocol: splits, seeds, baselines, confidence intervals, transfer gain."""
