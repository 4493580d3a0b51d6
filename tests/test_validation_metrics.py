"""Validation metrics against scikit-learn, closed forms and a bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.tracking import configure, tracking_uri
from smecredit.validation import (auc, bootstrap_ci, brier, delong_test, gini, grade_tests, hosmer_lemeshow,
                                  jeffreys_test, ks, log_loss)


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(x - 2)))
    y = (rng.random(n) < p).astype(int)
    noisy = p + rng.normal(0, 0.05, n)
    return y, p, noisy


def test_auc_brier_log_loss_match_sklearn(sample):
    y, p, _ = sample
    pr = np.round(p, 2)  # with ties
    assert auc(y, pr) == pytest.approx(skm.roc_auc_score(y, pr), abs=1e-12)
    assert gini(y, p) == pytest.approx(2 * skm.roc_auc_score(y, p) - 1, abs=1e-12)
    assert brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), abs=1e-12)


def test_ks_equals_max_tpr_minus_fpr(sample):
    y, p, _ = sample
    fpr, tpr, _ = skm.roc_curve(y, p)
    assert ks(y, p) == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_bootstrap_ci_brackets_the_estimate_and_narrows_with_more_data(sample):
    y, p, _ = sample
    wide = bootstrap_ci(y[:300], p[:300], "auc", n_boot=200)
    narrow = bootstrap_ci(y, p, "auc", n_boot=200)
    assert wide["ci_low"] <= wide["value"] <= wide["ci_high"]
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"]
    with pytest.raises(ConfigError, match="n_boot must be an integer >= 10"):
        bootstrap_ci(y, p, n_boot=3)


def test_hosmer_lemeshow_accepts_true_pd_and_rejects_a_biased_one(sample):
    y, p, _ = sample
    good = hosmer_lemeshow(y, p)
    bad = hosmer_lemeshow(y, np.clip(p * 0.5, 0, 1))
    assert good["p_value"] > 0.01
    assert bad["p_value"] < 1e-6
    # closed form on two groups
    yy = np.array([1, 0, 0, 0, 1, 1, 0, 1])
    pp = np.array([0.2] * 4 + [0.6] * 4)
    exp = (1 - 0.8) ** 2 / (4 * 0.2 * 0.8) + (3 - 2.4) ** 2 / (4 * 0.6 * 0.4)
    assert hosmer_lemeshow(yy, pp, n_groups=2)["statistic"] == pytest.approx(exp)


def test_binomial_and_jeffreys_tests_match_closed_forms():
    # P(X >= 5 | n=100, p=0.02)
    assert grade_tests([1] * 5 + [0] * 95, [0.02] * 100, ["3"] * 100)[0]["binomial_p"] == pytest.approx(
        1 - stats.binom.cdf(4, 100, 0.02))
    assert jeffreys_test(5, 100, 0.02) == pytest.approx(stats.beta.cdf(0.02, 5.5, 95.5))
    rows = grade_tests([0, 1, 0, 0], [0.1, 0.2, 0.3, 0.1], ["1", "2", "10", "1"])
    assert [r["grade"] for r in rows] == ["1", "2", "10"]
    assert rows[0]["n"] == 2 and rows[0]["defaults"] == 0


def test_delong_standard_error_agrees_with_a_paired_bootstrap(sample):
    y, p, noisy = sample
    r = delong_test(y, p, noisy)
    assert r["auc_1"] == pytest.approx(skm.roc_auc_score(y, p))
    assert r["auc_2"] == pytest.approx(skm.roc_auc_score(y, noisy))
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        diffs.append(skm.roc_auc_score(y[i], p[i]) - skm.roc_auc_score(y[i], noisy[i]))
    assert r["se"] == pytest.approx(np.std(diffs), rel=0.2)
    assert 0 < r["p_value"] < 1


def test_delong_detects_a_clearly_better_model(sample):
    y, p, _ = sample
    rng = np.random.default_rng(3)
    weak = p + rng.normal(0, 0.3, len(p))
    assert delong_test(y, p, weak)["p_value"] < 1e-4


def test_metrics_reject_non_binary_outcomes():
    with pytest.raises(DataContractError, match="only 0 and 1"):
        auc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataContractError, match="both classes"):
        auc([1, 1], [0.1, 0.2])


def test_tracking_uri_honours_env_and_defaults_to_sqlite_in_cwd(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert tracking_uri() == "sqlite:///x.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert configure() == f"sqlite:///{tmp_path / 'mlflow.db'}"
