"""Validation metrics against scikit-learn, closed forms and a bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.registry.tracking import configure, tracking_uri
from smecredit.validation import (auc, bootstrap_ci, brier, delong_test, gini, grade_tests, hosmer_lemeshow,
                                  jeffreys_test, ks, log_loss)
from smecredit.validation.metrics import design_effect, holm


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


def test_hosmer_lemeshow_degrees_of_freedom_are_g_out_of_sample_and_g_minus_2_in_sample(sample):
    y, p, _ = sample
    q = np.clip(p * 1.3, 0, 1)
    oos, ins = hosmer_lemeshow(y, q), hosmer_lemeshow(y, q, in_sample=True)
    assert len(oos["groups"]) == 10
    assert (oos["dof"], ins["dof"]) == (10, 8)
    assert oos["statistic"] == ins["statistic"]
    assert oos["p_value"] == pytest.approx(stats.chi2.sf(oos["statistic"], 10))
    assert ins["p_value"] == pytest.approx(stats.chi2.sf(oos["statistic"], 8))
    assert oos["p_value"] > ins["p_value"]  # two more df: the same statistic is less extreme out of sample
    assert oos["sample"] == "out-of-sample" and ins["sample"] == "in-sample"


def _grade(n, d, pd_value, label):
    return [1] * d + [0] * (n - d), [pd_value] * n, [label] * n


def _tests(*parts, **kw):
    y, p, g = (sum((list(part[i]) for part in parts), []) for i in range(3))
    return {r["grade"]: r for r in grade_tests(y, p, g, **kw)}


def test_grade_tests_give_no_verdict_below_the_default_and_expected_default_gates():
    rows = _tests(_grade(19, 1, 0.001, "2"),   # 1 default where 0.02 expected: raw p tiny, but 1 default
                  _grade(36, 0, 0.01, "5"),    # 0 defaults where 0.36 expected: not "conservative"
                  _grade(6, 0, 0.02, "6"),
                  _grade(2000, 60, 0.01, "7"),  # 60 defaults where 20 expected: PD too low
                  _grade(2000, 10, 0.02, "8"),  # 10 defaults where 40 expected: conservative
                  _grade(2000, 40, 0.02, "9"))  # consistent
    assert rows["2"]["binomial_p"] < 0.05 and rows["2"]["jeffreys_p"] < 0.05
    assert rows["2"]["verdict"] == "insufficient evidence"
    assert rows["5"]["conservative_p"] == pytest.approx(stats.binom.cdf(0, 36, 0.01))
    assert rows["5"]["verdict"] == rows["6"]["verdict"] == "insufficient evidence"
    assert rows["7"]["verdict"] == "PD too low"
    assert rows["8"]["verdict"] == "PD conservative"
    assert rows["9"]["verdict"] == "consistent"
    assert rows["7"]["expected_defaults"] == pytest.approx(20.0)
    # lowering the gates turns grade 2 into a finding: the gate, not the test, withheld it
    assert _tests(_grade(19, 1, 0.001, "2"), min_defaults=1, min_expected=0)["2"]["verdict"] == "PD too low"


def test_grade_tests_holm_correction_runs_over_the_gated_grades():
    rows = _tests(_grade(19, 1, 0.001, "2"), _grade(400, 14, 0.02, "6"), _grade(400, 13, 0.02, "7"),
                  _grade(400, 8, 0.02, "8"))
    gated = [r for r in rows.values() if r["gate_low"]]
    assert len(gated) == 3 and rows["6"]["m_tests"]["too_low"] == 3
    assert holm([r["jeffreys_p"] for r in gated]) == pytest.approx([r["jeffreys_p_holm"] for r in gated])
    smallest = min(gated, key=lambda r: r["jeffreys_p"])
    assert smallest["jeffreys_p_holm"] == pytest.approx(3 * smallest["jeffreys_p"])
    assert np.isnan(rows["2"]["jeffreys_p_holm"])
    # grade 6 is significant alone (p < 0.05) but not after the correction
    assert rows["6"]["jeffreys_p"] < 0.05 < rows["6"]["jeffreys_p_holm"]
    assert rows["6"]["verdict"] == "consistent"


def test_holm_matches_statsmodels_style_step_down():
    p = np.array([0.04, 0.001, np.nan, 0.02, 0.5])
    adj = holm(p)
    assert np.isnan(adj[2])
    assert adj[[1, 3, 0, 4]] == pytest.approx([0.004, 0.06, 0.08, 0.5])


def test_grade_tests_on_rows_repeated_per_enterprise_equal_the_tests_on_distinct_rows():
    rng = np.random.default_rng(3)
    n = 3000
    p = rng.choice([0.01, 0.03, 0.08], n)
    y = (rng.random(n) < p * 1.4).astype(int)
    g = np.where(p < 0.02, "4", np.where(p < 0.05, "6", "8"))
    ent = np.arange(n)
    once = {r["grade"]: r for r in grade_tests(y, p, g, clusters=ent)}
    k = 4  # every enterprise in four overlapping snapshots with the same outcome
    rep = {r["grade"]: r for r in grade_tests(np.repeat(y, k), np.repeat(p, k), np.repeat(g, k),
                                              clusters=np.repeat(ent, k))}
    naive = {r["grade"]: r for r in grade_tests(np.repeat(y, k), np.repeat(p, k), np.repeat(g, k))}
    assert design_effect(np.repeat(y, k), np.repeat(p, k), np.repeat(ent, k)) == pytest.approx(k)
    for grade in once:
        assert rep[grade]["deff"] == pytest.approx(k * once[grade]["deff"])
        for key in ("binomial_p", "jeffreys_p", "conservative_p", "jeffreys_p_holm"):
            assert rep[grade][key] == pytest.approx(once[grade][key], rel=1e-9), (grade, key)
        assert rep[grade]["verdict"] == once[grade]["verdict"]
    assert min(r["jeffreys_p"] for r in naive.values()) < min(r["jeffreys_p"] for r in rep.values()) / 10


def test_grade_test_gates_are_validated():
    with pytest.raises(ConfigError, match="min_defaults"):
        grade_tests([0, 1], [0.1, 0.2], ["1", "1"], min_defaults=-1)
    with pytest.raises(ConfigError, match="alpha"):
        grade_tests([0, 1], [0.1, 0.2], ["1", "1"], alpha=1.5)
    with pytest.raises(DataContractError, match="one entry per row"):
        grade_tests([0, 1], [0.1, 0.2], ["1", "1"], clusters=["a"])


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
