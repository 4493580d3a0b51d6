"""Monitoring's AUC check: gated on the number of defaults and a one-sided DeLong test, not a bare threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from smecredit.exceptions import ConfigError
from smecredit.monitoring.monitor import MonitorSettings, discrimination_check, light

S = MonitorSettings(n_boot=20)


def _sample(rng, n_bad, n_good, sep):
    """Scores with a binormal AUC of Φ(sep / √2)."""
    s = np.r_[rng.normal(sep, 1, n_bad), rng.normal(0, 1, n_good)]
    y = np.r_[np.ones(n_bad), np.zeros(n_good)]
    return pd.Series(y), pd.DataFrame({"pd": 1 / (1 + np.exp(-(s - 3)))})


SEP = 1.2
TRUE_AUC = float(stats.norm.cdf(SEP / np.sqrt(2)))


def test_noise_with_fifty_defaults_rarely_flags_where_the_fixed_threshold_did():
    rng = np.random.default_rng(0)
    old, new = 0, 0
    reps = 150
    for _ in range(reps):
        y, p = _sample(rng, 50, 1500, SEP)  # same model quality as at development
        r = discrimination_check(y, p, TRUE_AUC, "test", S)
        old += light(r["auc_drop"], S.auc_drop_amber, S.auc_drop_red) in ("amber", "red")
        new += r["status"] in ("amber", "red")
    assert old / reps > 0.15  # the bare threshold fires on noise
    assert new / reps <= 0.07  # the gated one at about its nominal 5 %


def test_a_real_drop_with_enough_defaults_is_red():
    rng = np.random.default_rng(1)
    y, p = _sample(rng, 300, 5000, 0.6)  # AUC ~0.66 against 0.80 at development
    r = discrimination_check(y, p, TRUE_AUC, "test", S)
    assert r["status"] == "red" and r["gate"]["gate"] == "passed" and r["gate"]["significant"]
    assert r["delong"]["p_value"] < 1e-6
    assert r["delong"]["drop"] == pytest.approx(r["auc_drop"], abs=1e-12)


def test_too_few_defaults_is_insufficient_evidence_not_a_flag():
    rng = np.random.default_rng(2)
    y, p = _sample(rng, 20, 2000, 0.0)  # a useless model, but only 20 defaults
    r = discrimination_check(y, p, TRUE_AUC, "test", S)
    assert r["auc_drop"] > S.auc_drop_red
    assert r["status"] == "n/a" and r["gate"]["gate"].startswith("insufficient evidence")
    # with the gate lowered the same data are judged, and red
    r2 = discrimination_check(y, p, TRUE_AUC, "test", MonitorSettings(n_boot=20, auc_min_defaults=10))
    assert r2["status"] == "red"


def test_development_uncertainty_widens_the_test():
    rng = np.random.default_rng(3)
    y, p = _sample(rng, 80, 2000, 0.95)
    fixed = discrimination_check(y, p, TRUE_AUC, "test", S)
    unsure = discrimination_check(y, p, TRUE_AUC, "test", S, development_se=0.05)
    assert unsure["delong"]["p_value"] > fixed["delong"]["p_value"]


def test_bad_auc_settings_are_refused():
    with pytest.raises(ConfigError, match="AUC p-values"):
        MonitorSettings(auc_p_amber=0.01, auc_p_red=0.05).check()
    with pytest.raises(ConfigError, match="auc_min_defaults"):
        MonitorSettings(auc_min_defaults=0).check()


def test_development_se_is_read_from_the_interval_in_validation_json(tmp_path):
    import json

    from smecredit.pipelines.monitor import development_auc_se

    (tmp_path / "validation.json").write_text(json.dumps(
        {"metrics": {"auc": {"value": 0.8, "ci_low": 0.78, "ci_high": 0.82, "level": 0.95}}}), encoding="utf-8")
    assert development_auc_se(str(tmp_path)) == pytest.approx(0.04 / (2 * stats.norm.ppf(0.975)))
    (tmp_path / "validation.json").write_text(json.dumps({"metrics": {"auc": {"value": 0.8}}}), encoding="utf-8")
    assert development_auc_se(str(tmp_path)) is None  # no interval: a fixed reference
    assert development_auc_se(str(tmp_path / "absent")) is None
