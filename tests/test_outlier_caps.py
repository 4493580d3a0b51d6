"""Outlier caps: learned on the training rows, saved with the model, applied identically at scoring."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from smecredit.models import fit_credit_model
from smecredit.registry import load_model, save_model
from smecredit.models.outliers import MIN_DISTINCT, count_capped, learn_caps
from smecredit.models.persist import STATE_FILE
from smecredit.models.pyfunc import DATA_DIR, input_example


def _data(n=2500, seed=3):
    rng = np.random.default_rng(seed)
    growth = rng.standard_t(1.5, n)  # heavy tails: a few values in the hundreds
    overdue = rng.gamma(1.0, 2.0, n)
    flag = rng.integers(0, 2, n).astype("float64")
    sector = rng.choice(["retail", "manufacturing", "services"], n)
    z = -2.6 + 0.45 * overdue - 0.5 * np.clip(growth, -3, 3) + 0.4 * flag
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X = pd.DataFrame({"enterprise_id": [f"e{i}" for i in range(n)], "sales_growth": growth, "overdue_days": overdue,
                      "has_guarantee": flag, "sector": sector})
    return X, y


@pytest.fixture(scope="module", params=["gbm", "scorecard"])
def fitted(request):
    X, y = _data()
    groups = X["enterprise_id"].to_numpy()
    return request.param, X, y, fit_credit_model(X, y, kind=request.param, groups=groups, random_state=0)


def test_policy_caps_numeric_features_only_at_training_quantiles():
    X, y = _data()
    m = fit_credit_model(X, y, kind="scorecard")
    lo, hi = np.quantile(X["sales_growth"], [0.001, 0.999])
    assert m.outlier_caps_["sales_growth"] == pytest.approx([lo, hi], abs=0)
    assert "has_guarantee" not in m.outlier_caps_ and "sector" not in m.outlier_caps_
    pol = m.metadata_["outlier_policy"]
    assert pol["not_capped"] == {"has_guarantee": f"at most {MIN_DISTINCT} distinct values", "sector": "categorical"}
    assert pol["train_capped"]["sales_growth"] == [int((X["sales_growth"] < lo).sum()), int((X["sales_growth"] > hi).sum())]
    assert sum(pol["train_capped"]["sales_growth"]) > 0


def test_caps_are_applied_in_training():
    """Fitting with caps = fitting without caps on rows already clipped to the same caps."""
    X, y = _data()
    groups = X["enterprise_id"].to_numpy()
    capped = fit_credit_model(X, y, kind="gbm", groups=groups)
    clipped = X.copy()
    for f, (lo, hi) in capped.outlier_caps_.items():
        clipped[f] = clipped[f].clip(lo, hi)
    plain = fit_credit_model(clipped, y, kind="gbm", groups=groups, outlier_tail=None)
    assert plain.outlier_caps_ == {}
    np.testing.assert_allclose(capped.predict_pd(X), plain.predict_pd(clipped), rtol=0, atol=1e-12)
    # and the raw-data model without caps is a different fit (the caps bind in training)
    raw = fit_credit_model(X, y, kind="gbm", groups=groups, outlier_tail=None)
    assert not np.allclose(raw.predict_pd(X), capped.predict_pd(X), rtol=0, atol=1e-12)


def test_a_value_beyond_the_cap_scores_like_the_cap(fitted):
    kind, X, y, m = fitted
    lo, hi = m.outlier_caps_["sales_growth"]
    rows = X.iloc[:40].copy()
    at_cap, beyond = rows.copy(), rows.copy()
    at_cap["sales_growth"] = np.r_[np.full(20, hi), np.full(20, lo)]
    beyond["sales_growth"] = np.r_[np.full(20, hi * 1000 + 1859.0), np.full(20, lo * 1000 - 5.0)]
    a, b = m.predict(at_cap), m.predict(beyond)
    for c in ("pd", "score", "grade"):
        assert a[c].tolist() == b[c].tolist()
    np.testing.assert_array_equal(m.contributions(at_cap).to_numpy(), m.contributions(beyond).to_numpy())
    # the reason texts quote the observed value, not the cap
    reasons = b.filter(like="reason_")
    named = 0
    for i in range(len(b)):
        for t in reasons.iloc[i]:
            if t.startswith("sales_growth = "):
                named += 1
                assert float(t.split(" = ")[1]) == pytest.approx(beyond["sales_growth"].iloc[i], rel=1e-3)
    assert named, "sales_growth should be among the reasons of an extreme value"
    counts = count_capped(m.prepare(beyond, cap=False), m.outlier_caps_)
    assert counts["sales_growth"] == {"low": 20, "high": 20, "rows": 40}


def test_train_save_load_score_identical(fitted, tmp_path):
    kind, X, y, m = fitted
    X2 = X.iloc[:300].copy()
    X2.loc[X2.index[:5], "sales_growth"] = 1e6  # beyond every cap
    path = save_model(m, tmp_path / "m", example=input_example(m, X))
    state = json.loads((path / "data" / DATA_DIR / STATE_FILE).read_text(encoding="utf-8"))
    assert set(state["outlier_caps"]) == set(m.outlier_caps_)
    loaded = load_model(path)
    assert loaded.outlier_caps_ == m.outlier_caps_
    pd.testing.assert_frame_equal(loaded.predict(X2), m.predict(X2))
    pyf = mlflow.pyfunc.load_model(str(path)).predict(input_example(m, X2, n=len(X2)))
    np.testing.assert_array_equal(pyf["pd"].to_numpy(), m.predict(X2)["pd"].to_numpy())


def test_a_model_saved_without_caps_loads_and_scores_without_caps(tmp_path):
    X, y = _data(n=1500)
    m = fit_credit_model(X, y, kind="scorecard", outlier_tail=None)
    path = save_model(m, tmp_path / "m", example=input_example(m, X))
    assert "outlier_caps" not in json.loads((path / "data" / DATA_DIR / STATE_FILE).read_text(encoding="utf-8"))
    loaded = load_model(path)
    assert loaded.outlier_caps_ == {}
    pd.testing.assert_frame_equal(loaded.predict(X), m.predict(X))


def test_learn_caps_refuses_a_bad_tail():
    from smecredit.exceptions import ConfigError

    X, _ = _data(n=200)
    with pytest.raises(ConfigError, match="outlier tail"):
        learn_caps(X, {"sales_growth": "numeric"}, 0.7)
