"""The PD estimators in scikit-learn's model selection: Pipeline, GridSearchCV over GroupKFold, metadata routing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import is_classifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from smecredit.exceptions import DataContractError
from smecredit.models import GBMPD, PDCalibrator, ScorecardPD
from smecredit.models.dataset import coerce_features


def _panel(n_firms=300, n_snaps=3, seed=0):
    """A snapshot panel: each enterprise repeated over snapshots, its risk persistent."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_snaps)
    frailty = rng.normal(0, 1, n_firms)[firm]
    overdue = rng.gamma(1.0, 2.0, len(firm)) + np.maximum(frailty, 0)
    growth = rng.normal(0, 1, len(firm))
    sector = rng.choice(["retail", "manufacturing", "services"], n_firms)[firm]
    z = -2.6 + 0.4 * overdue - 0.6 * growth + 0.8 * frailty + np.where(sector == "retail", 0.4, 0.0)
    y = (rng.random(len(firm)) < 1 / (1 + np.exp(-z))).astype(int)
    X = pd.DataFrame({"enterprise_id": [f"E{i:04d}" for i in firm], "overdue_days": overdue,
                      "sales_growth": growth, "sector": sector})
    return X, y, X["enterprise_id"].to_numpy()


TYPES = {"overdue_days": "numeric", "sales_growth": "numeric", "sector": "categorical"}


def _features():
    return FunctionTransformer(coerce_features, kw_args={"types": TYPES})


def test_the_pd_estimators_are_classifiers_for_sklearn():
    assert is_classifier(GBMPD()) and is_classifier(ScorecardPD()) and is_classifier(PDCalibrator())


def test_grid_search_over_group_kfold_with_a_fixed_number_of_trees_matches_a_manual_loop():
    X, y, groups = _panel()
    pipe = Pipeline([("features", _features()), ("model", GBMPD(n_rounds=20, num_leaves=4))])
    cv = GroupKFold(n_splits=3)
    search = GridSearchCV(pipe, {"model__num_leaves": [4, 8]}, scoring="roc_auc", cv=cv)
    search.fit(X, y, groups=groups)
    # the outer folds are grouped by enterprise; each split's score is the one of a model fitted on it alone
    for j, (a, b) in enumerate(cv.split(X, y, groups)):
        assert not set(groups[a]) & set(groups[b])
        for i, leaves in enumerate((4, 8)):
            m = GBMPD(n_rounds=20, num_leaves=leaves).fit(coerce_features(X.iloc[a], TYPES), y[a])
            auc = roc_auc_score(y[b], m.decision_function(coerce_features(X.iloc[b], TYPES)))
            assert search.cv_results_[f"split{j}_test_score"][i] == pytest.approx(auc, abs=1e-12)
    assert search.best_estimator_.named_steps["model"].n_rounds_ == 20


def test_metadata_routing_groups_the_gbms_inner_cv_by_the_outer_folds_enterprises():
    X, y, groups = _panel()
    params = {"max_rounds": 60, "early_stopping_rounds": 10, "cv_folds": 3, "num_leaves": 4}
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("features", _features()), ("model", GBMPD(**params).set_fit_request(groups=True))])
        cv = GroupKFold(n_splits=3)
        search = GridSearchCV(pipe, {"model__learning_rate": [0.1]}, scoring="roc_auc", cv=cv)
        search.fit(X, y, groups=groups)
    Xf = coerce_features(X, TYPES)
    # the refitted model chose its trees on folds grouped by enterprise (groups reached GBMPD.fit) ...
    grouped = GBMPD(**params, learning_rate=0.1).fit(Xf, y, groups=groups)
    ungrouped = GBMPD(**params, learning_rate=0.1).fit(Xf, y)
    refit = search.best_estimator_.named_steps["model"]
    np.testing.assert_array_equal(refit.oof_decision_, grouped.oof_decision_)
    assert not np.array_equal(refit.oof_decision_, ungrouped.oof_decision_)
    # ... and so did the model of every outer split, with the groups of its own training rows
    for j, (a, b) in enumerate(cv.split(X, y, groups)):
        m = GBMPD(**params, learning_rate=0.1).fit(Xf.iloc[a], y[a], groups=groups[a])
        auc = roc_auc_score(y[b], m.decision_function(Xf.iloc[b]))
        assert search.cv_results_[f"split{j}_test_score"][0] == pytest.approx(auc, abs=1e-12)


def test_estimators_take_numpy_and_name_wrong_columns_with_a_data_contract_error():
    X, y, _ = _panel(200, 2)
    Xf = coerce_features(X, TYPES)
    for est in (GBMPD(n_rounds=10), ScorecardPD()):
        from_frame = est.fit(Xf, y).predict_proba(Xf)
        from_array = type(est)(**est.get_params()).fit(Xf.to_numpy(), y)
        assert list(from_array.feature_names_in_) == ["x0", "x1", "x2"] and from_array.n_features_in_ == 3
        np.testing.assert_allclose(from_array.predict_proba(Xf.to_numpy()), from_frame, rtol=0, atol=1e-12)
        with pytest.raises(DataContractError, match="seen at fit time, yet now missing:\n- sector"):
            est.predict_proba(Xf.drop(columns="sector"))
        with pytest.raises(DataContractError, match="X has 2 features, but .* is expecting 3 features"):
            from_array.predict_proba(Xf.to_numpy()[:, :2])
        with pytest.raises(DataContractError, match="Only binary classification is supported"):
            type(est)().fit(Xf, np.arange(len(y)) % 3)


def test_metadata_routing_passes_the_scorecards_time_index_to_its_stability_selection():
    X, y, groups = _panel(300, 3)
    Xf = coerce_features(X, TYPES).assign(drifting=np.tile([0.0, 1.0, 2.0], 300) + np.random.default_rng(1).normal(
        0, 0.1, len(X)))  # shifts over time: dropped by the PSI rule only when the dates arrive
    dates = np.tile(np.array(["2023-06-30", "2023-12-31", "2024-06-30"], dtype="datetime64[ns]"), 300)
    y = np.where(Xf["drifting"] > 1.5, np.maximum(y, np.random.default_rng(2).random(len(y)) < 0.2), y).astype(int)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(ScorecardPD().set_fit_request(time_index=True), {"C": [1.0]}, scoring="roc_auc",
                              cv=GroupKFold(n_splits=3))
        search.fit(Xf, y, groups=groups, time_index=dates)
    routed = search.best_estimator_
    assert "PSI" in routed.dropped_features_.get("drifting", "")
    assert "drifting" in ScorecardPD().fit(Xf, y).selected_features_  # without the dates it stays
    np.testing.assert_array_equal(routed.decision_function(Xf),
                                  ScorecardPD().fit(Xf, y, time_index=dates).decision_function(Xf))
