"""Scorecard, GBM, calibration and master-scale behaviour on real fits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from smecredit.exceptions import ConfigError, NotFittedError
from smecredit.models import GBMPD, MasterScale, PDCalibrator, ScorecardPD, fit_credit_model
from smecredit.models.dataset import coerce_features, feature_columns

DATA = Path(__file__).resolve().parents[1] / "data" / "external"


@pytest.fixture(scope="module")
def german():
    df = pd.read_csv(DATA / "german_credit.csv")
    X = coerce_features(df, feature_columns(df, "bad"))
    return X, df["bad"].to_numpy()


def _synthetic(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    overdue = rng.gamma(1.0, 2.0, n)
    sales_growth = rng.normal(0, 1, n)
    sector = rng.choice(["retail", "manufacturing", "services"], n)
    z = -2.5 + 0.5 * overdue - 0.8 * sales_growth + np.where(sector == "retail", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    overdue[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"overdue_days": overdue, "sales_growth": sales_growth, "sector": sector})
    return X, y


CATALOG = pd.DataFrame({"name": ["overdue_days", "sales_growth"], "direction": ["up", "down"]})


def test_scorecard_scaling_gives_600_points_at_odds_50_and_20_more_per_doubling(german):
    X, y = german
    sc = ScorecardPD().fit(X, y)
    z = sc.decision_function(X)
    points = sc.total_points(X)
    # a row's points equal offset - factor * logit, with 600 at odds 50:1 and +20 per doubling
    odds_good = np.exp(-z)
    expected = 600 + 20 * np.log2(odds_good / 50)
    np.testing.assert_allclose(points, expected, rtol=0, atol=1e-9)
    assert sc.offset_ + sc.factor_ * math.log(50) == pytest.approx(600, abs=1e-12)
    assert sc.offset_ + sc.factor_ * math.log(100) == pytest.approx(620, abs=1e-12)


def test_scorecard_custom_scaling_parameters_are_honoured(german):
    X, y = german
    sc = ScorecardPD(pdo=40, base_points=500, base_odds=20).fit(X, y)
    z = sc.decision_function(X)
    np.testing.assert_allclose(sc.total_points(X), 500 + 40 * np.log2(np.exp(-z) / 20), atol=1e-9)


def test_scorecard_points_lost_are_zero_in_the_best_bin_and_never_negative(german):
    X, y = german
    sc = ScorecardPD().fit(X, y)
    lost = sc.points_lost(X)
    pts = sc.points(X)
    assert (lost.to_numpy() >= 0).all()
    for c in lost.columns:
        best_rows = np.isclose(pts[c], pts[c].max())
        assert np.allclose(lost.loc[best_rows, c], 0.0)
    assert set(sc.table_["Variable"]) == set(sc.selected_features_)


def test_scorecard_follows_catalogue_direction_as_monotone_event_rate():
    X, y = _synthetic()
    sc = ScorecardPD(directions={"overdue_days": "up", "sales_growth": "down"}).fit(X, y)
    for var, sign in (("overdue_days", 1), ("sales_growth", -1)):
        t = sc.table_[(sc.table_["Variable"] == var) & ~sc.table_["Bin"].isin(["Special", "Missing"])]
        rates = t["Event rate"].to_numpy()
        assert len(rates) >= 2
        assert (np.diff(rates) * sign >= -1e-12).all(), rates
    # missing values have their own bin
    assert (sc.table_[(sc.table_["Variable"] == "overdue_days") & (sc.table_["Bin"] == "Missing")]["Count"] > 0).all()


def test_scorecard_auto_bin_size_gives_a_rare_decisive_tail_its_own_bin(german):
    rng = np.random.default_rng(1)
    n = 100000
    dpd = np.where(rng.random(n) < 0.02, rng.integers(1, 90, n), 0).astype(float)
    growth = rng.normal(0, 1, n)
    z = -3.5 + 3.0 * (dpd > 0) - 0.6 * growth
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X = pd.DataFrame({"dpd": dpd, "growth": growth})
    sc = ScorecardPD(directions={"dpd": "up", "growth": "down"}).fit(X, y)
    assert 0.005 <= sc.min_bin_size_ < 0.02 and 20 < sc.max_n_prebins_ <= 50
    pts = sc.decision_function(pd.DataFrame({"dpd": [0.0, 45.0], "growth": [0.0, 0.0]}))
    assert pts[1] > pts[0] + 1.0  # the delinquent 2 % are not merged into the bin of zeros
    fixed = ScorecardPD(directions={"dpd": "up", "growth": "down"}, min_bin_size=0.05).fit(X, y)
    assert fixed.decision_function(pd.DataFrame({"dpd": [0.0, 45.0], "growth": [0.0, 0.0]}))[1] < pts[1]
    Xg, yg = german
    assert ScorecardPD().fit(Xg, yg).min_bin_size_ == 0.05  # small tables keep 5 % bins


def test_scorecard_drops_weak_characteristics_by_iv():
    X, y = _synthetic()
    rng = np.random.default_rng(5)
    X = X.assign(noise=rng.normal(size=len(X)))
    sc = ScorecardPD().fit(X, y)
    assert "noise" not in sc.selected_features_
    assert "IV" in sc.dropped_features_["noise"]


@pytest.mark.parametrize("param, value, match", [
    ("pdo", 0, r"The .pdo. parameter of ScorecardPD must be a float in the range \(0.0, inf\)\. Got 0 instead"),
    ("min_bin_size", 0.9,
     r"The .min_bin_size. parameter of ScorecardPD must be a str among \{.auto.\} or a float in the range "
     r"\(0.0, 0.5\]"),
    ("directions", {"x": "sideways"}, "directions must be"),
])
def test_scorecard_rejects_bad_parameters(german, param, value, match):
    X, y = german
    with pytest.raises(ConfigError, match=match):
        ScorecardPD(**{param: value}).fit(X, y)


def test_gbm_monotone_constraints_hold_along_each_constrained_feature():
    X, y = _synthetic(4000)
    m = fit_credit_model(X, y, kind="gbm", catalog=CATALOG)
    base = X.iloc[:50].reset_index(drop=True)
    for var, sign in (("overdue_days", 1), ("sales_growth", -1)):
        grid = np.linspace(np.nanmin(X[var]), np.nanmax(X[var]), 40)
        for _, row in base.iterrows():
            frame = pd.DataFrame([row] * len(grid)).assign(**{var: grid})
            p = m.predict_pd(frame)
            assert (np.diff(p) * sign >= -1e-12).all(), (var, p)


def test_gbm_cross_validation_is_honest_and_adds_trees_for_what_the_linear_base_misses():
    def sample(n, seed, noise=80):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.normal(0, 1, (n, 4 + noise)), columns=["a", "b", "c", "d"] + [f"n{i}" for i in range(noise)])
        z = -3.5 + 0.8 * X.a + 1.6 * ((X.b > 0) & (X.c > 0)) - 0.8 * ((X.b < 0) & (X.c < 0))
        return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)

    X, y = sample(15000, 0)
    m = GBMPD().fit(X, y)
    Xt, yt = sample(20000, 1)
    test_auc = roc_auc_score(yt, m.decision_function(Xt))
    assert m.n_rounds_ >= 20
    assert test_auc > roc_auc_score(yt, m.linear_.decision_function(Xt)) + 0.02  # the trees carry the interaction
    # the held-out folds see a linear base fitted without them: the CV AUC is not optimistic
    assert abs(m.cv_auc_ - test_auc) < 0.012
    np.testing.assert_allclose(roc_auc_score(y, m.oof_decision_), m.cv_auc_, atol=0.01)


def _linear_with_noise_levels(n, seed):
    """A consumer-credit-like table: the truth is linear; states, job titles, zip areas are pure noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(0, 1, (n, 8)), columns=[f"x{i}" for i in range(8)])
    for name, k in (("state", 50), ("job_title", 45), ("zip3", 35)):
        p = 1 / np.arange(1, k + 1) ** 0.8  # a few big levels, a long tail of small ones
        X[name] = np.array([f"{name[0]}{i}" for i in range(k)], dtype=object)[rng.choice(k, n, p=p / p.sum())]
    z = -1.6 + X[[f"x{i}" for i in range(8)]].to_numpy() @ np.array([0.6, -0.5, 0.4, 0.3, -0.3, 0.2, 0.0, 0.0])
    return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)


def test_gbm_never_loses_to_its_linear_base_when_the_truth_is_linear_and_categoricals_are_many_levelled_noise():
    """Issue 13: boosted trees on top of the base used to cost ~0.008 AUC out of sample here."""
    X, y = _linear_with_noise_levels(6000, 0)
    Xt, yt = _linear_with_noise_levels(30000, 100)
    m = GBMPD().fit(X, y)
    full = roc_auc_score(yt, m.decision_function(Xt))
    base = roc_auc_score(yt, m.linear_.decision_function(Xt))
    assert full >= base - 0.001, (full, base, m.tree_decision_)
    d = m.tree_decision_
    assert set(d["linear_only_categoricals"]) == {"state", "job_title", "zip3"}  # the trees never split on them
    assert d["oof_auc_gain"] <= 0.002  # nothing for the trees to learn, and the criterion sees it
    if not m.trees_kept_:
        assert m.n_rounds_ == 0 and m.booster_ is None and d["decision"] == "linear base"
        np.testing.assert_allclose(m.decision_function(Xt), m.linear_.decision_function(Xt))
        np.testing.assert_allclose(m.cv_auc_, d["oof_auc_base"])
    # even with the many-levelled categoricals handed to the trees, the out-of-fold AUC drops them
    native = GBMPD(max_cat_levels=None).fit(X, y)
    assert not native.trees_kept_ and native.n_rounds_ == 0, native.tree_decision_
    assert native.tree_decision_["linear_only_categoricals"] == []
    assert roc_auc_score(yt, native.decision_function(Xt)) == pytest.approx(base, abs=1e-12)


def test_gbm_keeps_its_trees_when_interactions_matter():
    rng = np.random.default_rng(1)

    def sample(n):
        X = pd.DataFrame(rng.normal(0, 1, (n, 4)), columns=["a", "b", "c", "d"])
        X["region"] = rng.choice(["north", "south", "east"], n)
        z = (-2.0 + 0.5 * X.a + 1.5 * ((X.b > 0) & (X.c > 0)) - 0.8 * ((X.b < 0) & (X.c < 0))
             + np.where(X.region == "south", 0.8 * X.d, -0.4 * X.d))
        return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)

    X, y = sample(6000)
    Xt, yt = sample(20000)
    m = GBMPD().fit(X, y)
    d = m.tree_decision_
    assert m.trees_kept_ and m.n_rounds_ == d["best_n_trees"] >= 20 and d["decision"] == "linear base + trees"
    assert d["oof_auc_gain"] > 0.02 and d["oof_auc_gain"] > 3 * d["oof_auc_gain_se"]
    assert d["oof_logloss_full"] < d["oof_logloss_base"]
    assert min(d["oof_auc_gain_folds"]) > 0 and len(d["oof_auc_gain_folds"]) == d["folds"] == 5
    full = roc_auc_score(yt, m.decision_function(Xt))
    assert full > roc_auc_score(yt, m.linear_.decision_function(Xt)) + 0.02
    assert abs(m.cv_auc_ - d["oof_auc_full"]) < 1e-12 and abs(m.cv_auc_ - full) < 0.015

@pytest.mark.slow  # two GBM fits on 20,000 rows with 5-fold tree selection (~20 s quiet, 60+ s under load)
def test_gbm_monotone_trees_false_frees_only_the_trees():
    def sample(n, seed):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame({"u": rng.normal(0, 1, n), "v": rng.normal(0, 1, n), "w": rng.normal(0, 1, n)})
        z = -3.5 + 0.9 * X.u ** 2 + 0.5 * X.v - 0.6 * X.w  # u declared "up", but risk also rises for low u
        return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)

    X, y = sample(20000, 0)
    Xt, yt = sample(20000, 1)
    dirs = {"u": "up", "v": "up", "w": "up"}  # w is declared against its true effect
    grid = pd.DataFrame({"u": np.linspace(-2.5, 2.5, 41), "v": 0.0, "w": 0.0})
    tied = GBMPD(directions=dirs).fit(X, y)
    free = GBMPD(directions=dirs, monotone_trees=False).fit(X, y)
    assert (np.diff(tied.decision_function(grid)) >= -1e-12).all()
    zf = free.decision_function(grid)
    assert zf[0] > zf[20] + 1.0  # the free trees learn the left branch the constraint forbids
    assert roc_auc_score(yt, free.decision_function(Xt)) > roc_auc_score(yt, tied.decision_function(Xt)) + 0.02
    assert free.linear_.coef_[0] >= 0  # the linear base still follows the direction
    assert "w" in free.linear_.zeroed_ and "w" in tied.linear_.zeroed_
    with pytest.raises(ConfigError, match="The .monotone_trees. parameter of GBMPD must be an instance of .bool."):
        GBMPD(monotone_trees="no").fit(X, y)


def test_linear_base_holds_catalogue_signs_and_keeps_rare_tails():
    from smecredit.models.gbm import _LinearBase

    rng = np.random.default_rng(0)
    n = 30000
    x1 = rng.normal(0, 1, n)
    x2 = x1 + rng.normal(0, 0.3, n)  # marginally risk-increasing, negative given x1
    dpd = np.where(rng.random(n) < 0.015, rng.integers(1, 120, n), 0).astype(float)  # rare but decisive tail
    z = -3.0 + 2.0 * x1 - 1.0 * x2 + 0.04 * dpd
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X = pd.DataFrame({"x1": x1, "x2": x2, "dpd": dpd})
    free = _LinearBase(["x1", "x2", "dpd"], [], {}, 0.01, 0).fit(X, y)
    bound = _LinearBase(["x1", "x2", "dpd"], [], {"x1": "up", "x2": "up", "dpd": "up"}, 0.01, 0).fit(X, y)
    j = {c: bound.owners_.index(c) for c in ("x1", "x2", "dpd")}
    assert free.coef_[j["x2"]] < 0 <= bound.coef_[j["x2"]] and bound.zeroed_ == ["x2"]
    assert bound.coef_[j["x1"]] > 0 and bound.coef_[j["dpd"]] > 0
    # days past due of 60 and of 10 get different scores: the 1.5 % tail is not winsorised away
    probe = pd.DataFrame({"x1": [0.0, 0.0], "x2": [0.0, 0.0], "dpd": [10.0, 60.0]})
    d = bound.decision_function(probe)
    assert d[1] > d[0] + 0.5


def test_gbm_contributions_add_up_to_the_raw_score(german):
    X, y = german
    m = GBMPD().fit(X, y)
    contrib, bias = m.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy() + bias, m.decision_function(X), atol=1e-9)


def test_gbm_is_deterministic_and_clonable(german):
    X, y = german
    a = GBMPD(random_state=3).fit(X, y).decision_function(X)
    b = clone(GBMPD(random_state=3)).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert GBMPD(num_leaves=5).get_params()["num_leaves"] == 5


def test_gbm_rejects_bad_parameters_naming_them(german):
    X, y = german
    match = r"The .learning_rate. parameter of GBMPD must be a float in the range \(0.0, 1.0\]\. Got 2 instead"
    with pytest.raises(ConfigError, match=match):
        GBMPD(learning_rate=2).fit(X, y)
    with pytest.raises(ConfigError, match="class_weight"):
        GBMPD(class_weight="heavy").fit(X, y)


def test_unfitted_models_raise_not_fitted(german):
    X, _ = german
    with pytest.raises(NotFittedError):
        GBMPD().decision_function(X)
    with pytest.raises(NotFittedError):
        ScorecardPD().decision_function(X)
    with pytest.raises(NotFittedError):
        PDCalibrator().predict([0.0])


def test_calibrator_applies_the_pd_floor_and_is_monotone():
    rng = np.random.default_rng(1)
    s = rng.normal(0, 2, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(s - 3)))).astype(int)
    for method in ("platt", "isotonic", "auto"):
        cal = PDCalibrator(method, pd_floor=0.001).fit(s, y)
        grid = np.linspace(-12, 12, 500)
        p = cal.predict_pd(grid)
        assert p.min() == pytest.approx(0.001)
        assert (np.diff(p) >= -1e-15).all()
    assert set(PDCalibrator().fit(s, y).brier_) == {"platt", "isotonic"}


def test_calibrator_picks_isotonic_when_the_score_is_not_logistic():
    rng = np.random.default_rng(2)
    s = rng.uniform(-3, 3, 20000)
    true = np.where(s > 1, 0.6, 0.02)  # a step, which a logistic curve cannot fit
    y = (rng.random(len(s)) < true).astype(int)
    cal = PDCalibrator().fit(s, y)
    assert cal.method_ == "isotonic"
    assert cal.brier_["isotonic"] < cal.brier_["platt"]


def test_calibrator_rejects_bad_floor():
    match = r"The .pd_floor. parameter of PDCalibrator must be a float in the range \[0.0, 0.5\)\. Got 0.7 instead"
    with pytest.raises(ConfigError, match=match):
        PDCalibrator(pd_floor=0.7).fit([0.0, 1.0], [0, 1])


def test_master_scale_is_geometric_monotone_and_has_ten_grades_plus_default():
    ms = MasterScale()
    b = np.array(ms.bounds)
    np.testing.assert_allclose(b[1:] / b[:-1], 2.0)
    assert ms.grades == [str(k) for k in range(1, 11)] + ["D"]
    p = np.sort(np.random.default_rng(0).uniform(0.0005, 0.9999, 5000))
    g = ms.assign(p).astype(int)
    assert (np.diff(g) >= 0).all()
    assert set(g) == set(range(1, 11))
    assert list(ms.assign([0.01, 0.5], in_default=[False, True])) == ["5", "D"]
    with pytest.raises(ConfigError, match="n_grades must be an integer >= 7"):
        MasterScale(n_grades=5)


def test_credit_model_pd_is_floored_calibrated_and_graded(german):
    X, y = german
    m = fit_credit_model(X.iloc[:700], y[:700], kind="scorecard", pd_floor=0.01)
    out = m.predict(X.iloc[700:])
    assert list(out.columns) == ["pd", "score", "grade", "reason_1", "reason_2", "reason_3", "data_quality"]
    assert out["pd"].min() >= 0.01
    assert roc_auc_score(y[700:], out["pd"]) > 0.7
    assert abs(out["pd"].mean() - y[700:].mean()) < 0.06
    # grade follows the master scale of the PD
    assert (out["grade"].to_numpy() == m.master_scale_.assign(out["pd"])).all()


def test_same_seed_and_data_give_identical_predictions(german):
    X, y = german
    a = fit_credit_model(X, y, kind="scorecard", random_state=4).predict(X)
    b = fit_credit_model(X, y, kind="scorecard", random_state=4).predict(X)
    pd.testing.assert_frame_equal(a, b)


def test_optuna_tuning_respects_its_budget_and_never_returns_worse_than_defaults(german):
    import time

    from smecredit.models.tuning import tune_gbm

    X, y = german
    t0 = time.perf_counter()
    params = tune_gbm(X, y, time_budget=4, max_trials=3)
    assert time.perf_counter() - t0 < 60
    if params:  # tuned parameters beat the defaults in CV
        assert GBMPD(**params).fit(X, y).cv_auc_ > GBMPD().fit(X, y).cv_auc_
    with pytest.raises(ConfigError, match="time_budget must be a number of seconds > 0"):
        tune_gbm(X, y, time_budget=0)


def test_scorecard_drops_constant_and_empty_characteristics_instead_of_failing():
    X, y = _synthetic(1500)
    X = X.assign(always_zero=0.0, never_observed=np.nan)
    m = fit_credit_model(X, y, kind="scorecard")
    dropped = m.estimator_.dropped_features_
    assert "constant" in dropped["always_zero"] and "missing" in dropped["never_observed"]
    assert len(m.predict(X.head(5))) == 5


def test_cv_folds_never_split_one_enterprise_across_train_and_validation():
    """A panel of snapshots repeats enterprises: grouped folds stop early stopping from memorising them."""
    from smecredit.models.gbm import cv_folds

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(300), 4)
    y = (rng.random(len(groups)) < 0.2).astype(int)
    for train_idx, valid_idx in cv_folds(3, y, groups, 0):
        assert not set(groups[train_idx]) & set(groups[valid_idx])
        assert 0.1 < y[valid_idx].mean() < 0.3
    plain = cv_folds(3, y, None, 0)
    assert any(set(groups[a]) & set(groups[b]) for a, b in plain)


def test_gbm_with_fewer_defaults_than_cv_folds_fits_with_fixed_shrinkage_and_no_warning(recwarn):
    from smecredit.models.linear_base import FEW_EVENTS_C

    rng = np.random.default_rng(4)
    X = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    for n_bad in (1, 2):
        y = np.zeros(300, dtype=int)
        y[np.argsort(X["x1"].to_numpy())[-n_bad:]] = 1
        model = GBMPD(n_rounds=5).fit(X, y)
        assert model.linear_.C_ == FEW_EVENTS_C
        pd_ = model.predict_proba(X)[:, 1]
        assert np.isfinite(pd_).all() and pd_[y == 1].mean() > pd_[y == 0].mean()
    # with enough defaults, C is still chosen by cross-validation
    y = (X["x1"] + rng.normal(size=300) > 1.5).astype(int).to_numpy()
    assert y.sum() >= 10
    assert GBMPD(n_rounds=5).fit(X, y).linear_.C_ in np.logspace(-4, 4, 8)
    assert not [w for w in recwarn if "least populated class" in str(w.message)]
