"""Exact TreeSHAP by decision-pattern lookup equals LightGBM's pred_contrib, and predict is unchanged."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from smecredit.models.credit_model import fit_credit_model
from smecredit.models.reasons import top_reasons
from smecredit.models.treeshap import PatternSHAP, lgb_matrix, pattern_shap

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


def _awkward_rows(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """X with missing values, exact zeros, unseen categories and extreme values sprinkled in."""
    rng = np.random.default_rng(seed)
    Z = X.copy()
    for c in Z.columns:
        idx = rng.choice(len(Z), size=len(Z) // 10, replace=False)
        if pd.api.types.is_numeric_dtype(Z[c]):
            Z.loc[idx[: len(idx) // 3], c] = np.nan
            Z.loc[idx[len(idx) // 3: 2 * len(idx) // 3], c] = 0.0
            Z.loc[idx[2 * len(idx) // 3:], c] = Z[c].max() * 10
        else:
            Z[c] = Z[c].astype(object)
            Z.loc[idx[: len(idx) // 2], c] = None
            Z.loc[idx[len(idx) // 2:], c] = "never seen in training"
    return Z


@pytest.fixture(scope="module")
def german_model():
    df = pd.read_csv(GERMAN)
    X = df.drop(columns="bad")
    return fit_credit_model(X, df["bad"], kind="gbm", params={"n_rounds": 60, "num_leaves": 8}), X


def test_pattern_shap_equals_pred_contrib_and_the_leaf_sum_equals_predict(german_model):
    model, X = german_model
    est = model.estimator_
    Xf = model.prepare(_awkward_rows(pd.concat([X] * 3, ignore_index=True), 0))
    names = list(est.feature_names_in_)
    A = lgb_matrix(Xf, names, est.tree_category_levels())
    ps = PatternSHAP(est.booster_)
    assert any(t.is_cat[i] for t in ps.trees for i in range(t.n_nodes))  # categorical splits are covered
    c, bias, raw = ps.contributions(A)
    exact = est.booster_.predict(est._lgb_frame(Xf), pred_contrib=True)
    np.testing.assert_allclose(c.T, exact[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bias, exact[:, -1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(raw, est.booster_.predict(est._lgb_frame(Xf), raw_score=True))
    leaves = est.booster_.predict(est._lgb_frame(Xf), pred_leaf=True)
    for i, tree in enumerate(ps.trees):
        np.testing.assert_array_equal(tree.leaves(tree.decisions(A)), leaves[:, i])


def test_pattern_shap_handles_zero_as_missing_splits():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 4))
    X[rng.random(X.shape) < 0.3] = 0.0
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + (X[:, 1] == 0) + rng.normal(size=3000) > 0.5).astype(int)
    bst = lgb.train({"objective": "binary", "num_leaves": 8, "zero_as_missing": True, "verbosity": -1},
                    lgb.Dataset(X, y), num_boost_round=30)
    c, bias, raw = PatternSHAP(bst).contributions(X)
    exact = bst.predict(X, pred_contrib=True)
    np.testing.assert_allclose(c.T, exact[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(raw, bst.predict(X, raw_score=True))


def test_credit_model_predict_keeps_pd_and_reasons_of_the_exact_path(german_model):
    model, X = german_model
    Z = _awkward_rows(X, 1)
    out = model.predict(Z)
    Xf = model.prepare(Z)
    np.testing.assert_array_equal(out["pd"].to_numpy(),
                                  model.calibrator_.predict_pd(model.estimator_.decision_function(Xf)))
    # LightGBM pred_contrib + the row-by-row reason loop; the texts quote the observed (uncapped) values
    ref = top_reasons(model._contrib(Xf), model.prepare(Z, cap=False))
    for c in ref.columns:
        assert out[c].tolist() == ref[c].tolist()
    assert pattern_shap(model.estimator_.booster_) is pattern_shap(model.estimator_.booster_)  # built once


def test_pattern_shap_handles_trees_without_any_split():
    """A boosting round that finds no split leaves a one-leaf tree (no leaf index in LightGBM's dump)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4, "min_data_in_leaf": 20,
              "min_gain_to_split": 1e9}  # no split is ever worth it: every tree is one leaf
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=3)
    assert all("split_index" not in t["tree_structure"] for t in booster.dump_model()["tree_info"])
    c, bias, raw = PatternSHAP(booster).contributions(X)
    exact = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(c.T, exact[:, :-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bias, exact[:, -1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(raw, booster.predict(X, raw_score=True), rtol=0, atol=1e-12)
