"""scikit-learn's own estimator checks: TransferClassifier behaves as a classifier there expects
(cloning, fit/predict on arrays and lists, errors and warnings in scikit-learn's words where its
checks look for them, n_features_in_). Seven failed before session 33, on the words only."""

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from transferkit import TransferClassifier, TransferkitWarning


@parametrize_with_checks([TransferClassifier("scratch", method_params={"steps": 5})])
def test_scikit_learn_estimator_checks(estimator, check):
    if getattr(check, "func", check).__name__ == "check_class_weight_classifiers":  # class_weight={0: 1000, ...}
        estimator = estimator.set_params(method_params={"steps": 300})  # must tilt predictions: 5 steps cannot
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=TransferkitWarning)  # its notes on tiny random data
        check(estimator)
