"""Explanations: TreeSHAP agreement, additivity, exact scorecard points, the model's own reason codes."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.explain import compare_tree_methods, explain, global_importance, local_explanations, reason_codes
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, save_model

DATA = Path(__file__).resolve().parents[1] / "data" / "external" / "credit_data.csv"


@pytest.fixture(scope="module")
def credit():
    df = pd.read_csv(DATA)
    y = df.pop("bad").to_numpy()
    return df.iloc[:2500].reset_index(drop=True), y[:2500]


@pytest.fixture(scope="module")
def gbm(credit):
    X, y = credit
    return fit_credit_model(X, y, kind="gbm", cv=2, params={"max_rounds": 200, "early_stopping_rounds": 30})


@pytest.fixture(scope="module")
def scorecard(credit):
    X, y = credit
    return fit_credit_model(X, y, kind="scorecard", cv=2)


def test_native_pred_contrib_agrees_with_shap_tree_explainer_to_1e_6(gbm, credit):
    X, _ = credit
    est = gbm.estimator_
    assert est.booster_ is not None and est.booster_.num_trees() > 0
    X_lgb = est._lgb_frame(gbm.prepare(X))
    assert any(isinstance(X_lgb[c].dtype, pd.CategoricalDtype) for c in X_lgb.columns)  # categorical splits too
    cmp = compare_tree_methods(est.booster_, X_lgb)
    assert cmp.n_rows == len(X) and cmp.n_features == len(gbm.feature_names_)
    assert cmp.max_abs_diff <= 1e-6 and cmp.max_base_diff <= 1e-6
    assert cmp.native_seconds > 0 and cmp.shap_seconds > 0 and cmp.faster in ("native", "shap")


def test_gbm_contributions_add_up_to_the_raw_log_odds(gbm, credit):
    X, _ = credit
    expl = explain(gbm, X)
    assert expl.kind == "gbm" and expl.unit == "log-odds"
    assert list(expl.values.columns) == gbm.feature_names_
    total = expl.values.to_numpy().sum(axis=1) + expl.base
    np.testing.assert_allclose(total, gbm.raw_score(X), atol=1e-9)


def test_scorecard_points_add_up_to_the_score_and_points_lost_are_non_negative(scorecard, credit):
    X, _ = credit
    expl = explain(scorecard, X)
    assert expl.kind == "scorecard" and expl.points is not None
    np.testing.assert_allclose(expl.points.to_numpy().sum(axis=1), scorecard.predict(X)["score"].to_numpy(),
                               atol=1e-8)
    assert (expl.values.to_numpy() >= 0).all()
    np.testing.assert_allclose(expl.base - expl.values.to_numpy().sum(axis=1),
                               expl.points.to_numpy().sum(axis=1), atol=1e-8)
    unused = [c for c in scorecard.feature_names_ if c not in scorecard.estimator_.selected_features_]
    assert all((expl.values[c] == 0).all() for c in unused)


def test_reason_codes_are_the_models_own_and_equal_the_pyfunc_output(gbm, credit, tmp_path):
    X, _ = credit
    rows = X.iloc[:50]
    mine = reason_codes(gbm, rows)
    assert mine.equals(gbm.predict(rows)[["reason_1", "reason_2", "reason_3"]])
    save_model(gbm, tmp_path / "m", example=input_example(gbm, rows))
    pyf = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(input_example(gbm, rows, n=50))
    assert (pyf[["reason_1", "reason_2", "reason_3"]].to_numpy() == mine.to_numpy()).all()
    assert (mine["reason_1"] != "").any()


def test_top_reason_is_the_largest_positive_contribution(gbm, credit):
    X, _ = credit
    rows = X.iloc[:200]
    vals = explain(gbm, rows).values
    reasons = reason_codes(gbm, rows)
    top = vals.idxmax(axis=1)
    positive = vals.max(axis=1) > 0
    starts = [r.split(" = ")[0] for r in reasons["reason_1"]]
    agree = [s == t for s, t, p in zip(starts, top, positive, strict=True) if p]
    assert agree and all(agree)


def test_global_importance_is_sorted_and_shares_sum_to_one(gbm, credit):
    X, _ = credit
    imp = global_importance(explain(gbm, X))
    assert imp["mean_abs"].is_monotonic_decreasing
    assert imp["share"].sum() == pytest.approx(1.0)
    assert set(imp["feature"]) == set(gbm.feature_names_)


def test_local_explanations_sort_by_absolute_contribution(gbm, credit):
    X, _ = credit
    expl = explain(gbm, X.iloc[:10])
    out = local_explanations(expl, [0, 3], top=4)
    assert len(out) == 2 and all(len(e) == 4 for e in out)
    for entries in out:
        mags = [abs(e["contribution"]) for e in entries]
        assert mags == sorted(mags, reverse=True)
    with pytest.raises(ConfigError, match="top must be an integer >= 1; got 0"):
        local_explanations(expl, [0], top=0)


def test_explain_leaves_input_unchanged_and_rejects_missing_columns(gbm, credit):
    X, _ = credit
    before = X.copy()
    explain(gbm, X)
    pd.testing.assert_frame_equal(X, before)
    with pytest.raises(DataContractError, match="Income"):
        explain(gbm, X.drop(columns=["Income"]))
