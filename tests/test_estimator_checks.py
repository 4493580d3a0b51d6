"""ScorecardPD, GBMPD and PDCalibrator pass scikit-learn's own estimator checks.

Every check of ``sklearn.utils.estimator_checks`` runs on small instances of the three
estimators. A check that cannot apply is listed in ``REFUSALS`` with its reason and the exact
failure it must produce; it still runs, and the test fails if it passes or fails any other way.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from smecredit.models import GBMPD, PDCalibrator, ScorecardPD
from smecredit.models.dataset import InvalidInputError, InvalidParameterError

# small instances: the checks fit hundreds of times on tables of 10-150 rows
ESTIMATORS = [
    ScorecardPD(max_n_prebins=5),
    GBMPD(max_rounds=20, early_stopping_rounds=5, cv_folds=3),
    PDCalibrator(),
]

# The calibrator maps ONE raw score to a PD; these checks fit it on several features, which it refuses
# (scikit-learn has no tag for a one-feature estimator). They run again below on a pipeline that first
# reduces X to one score.
ONE_SCORE = ("the check fits on several features; a calibrator maps one raw score and refuses more",
             InvalidInputError, "calibrates one raw score")
SEVERAL_FEATURE_CHECKS = (
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_classifier_data_not_an_array", "check_classifiers_classes",
    "check_classifiers_train", "check_supervised_y_2d", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
)
PIPELINE_IN_PLACE = ("a Pipeline fits its steps in place (a Pipeline property, not the calibrator's)",
                     AssertionError, "")

#: (estimator class, check) -> (reason, exception that must be raised or chained, text it must contain)
REFUSALS = {
    (GBMPD, "check_class_weight_classifiers"): (
        "class_weight is a rule for up-weighting defaults before calibration ('sqrt', 'balanced' or 'none'), "
        "not a {class: weight} mapping", InvalidParameterError, "The 'class_weight' parameter of GBMPD"),
    (PDCalibrator, "check_fit1d"): (
        "a 1-D X is the vector of raw scores itself (as for IsotonicRegression), so fitting on it succeeds",
        AssertionError, "Did not raise"),
    **{(PDCalibrator, name): ONE_SCORE for name in SEVERAL_FEATURE_CHECKS},
    (Pipeline, "check_estimators_overwrite_params"): PIPELINE_IN_PLACE,
    (Pipeline, "check_dont_overwrite_parameters"): PIPELINE_IN_PLACE,
    (Pipeline, "check_estimator_sparse_tag"): (
        "PCA turns sparse input into a dense score, so the pipeline fits sparse data that its default tags "
        "say it refuses (a Pipeline/PCA property)", AssertionError, "didn't fail when fitted on sparse data"),
}

# The checks the calibrator cannot take directly run on a pipeline that reduces X to one score (PCA with
# one component) and then calibrates it: fit/predict contract, classes, pickling, idempotence and
# sample-order invariance of the calibrator on data it accepts.
ONE_SCORE_PIPELINE = Pipeline([("score", PCA(n_components=1)), ("calibrate", PDCalibrator())])


def _check_name(check) -> str:
    while hasattr(check, "func"):
        check = check.func
    return check.__name__


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


@parametrize_with_checks(ESTIMATORS + [ONE_SCORE_PIPELINE])
def test_sklearn_estimator_checks(estimator, check):
    refusal = REFUSALS.get((type(estimator), _check_name(check)))
    if refusal is None:
        check(estimator)
        return
    _reason, error, text = refusal
    with pytest.raises(Exception) as info:
        check(estimator)
    assert any(isinstance(e, error) and text in str(e) for e in _chain(info.value)), info.value


def test_calibrator_accepts_the_scores_as_1d_or_one_column_and_refuses_more():
    rng = np.random.default_rng(0)
    s = rng.normal(0, 2, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(s - 2)))).astype(int)
    flat = PDCalibrator("platt").fit(s, y)
    column = PDCalibrator("platt").fit(s.reshape(-1, 1), y)
    np.testing.assert_array_equal(flat.predict_pd(s), column.predict_pd(s.reshape(-1, 1)))
    np.testing.assert_array_equal(flat.predict_proba(s)[:, 1], flat.predict_pd(s))
    assert flat.n_features_in_ == 1 and list(flat.classes_) == [0, 1]
    with pytest.raises(InvalidInputError, match="calibrates one raw score: X must have 1 column; got 2"):
        PDCalibrator().fit(np.column_stack([s, s]), y)
