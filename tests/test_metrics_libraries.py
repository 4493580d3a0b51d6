"""The metrics are the libraries' own (scikit-learn / scipy) behind the project's input checks, and the
project has one PSI, used by the validation, monitoring and scorecard stages alike."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from smecredit.models import scorecard
from smecredit.psi import psi_of_samples, psi_terms
from smecredit.validation import metrics as m
from smecredit.validation.stability import psi, psi_table


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(7)
    p = np.round(rng.beta(1, 12, 3000), 3)  # rounded: many ties
    y = (rng.uniform(size=3000) < 2 * p).astype(int)
    return y, p


def test_discrimination_and_calibration_metrics_equal_the_libraries(scores):
    y, p = scores
    assert m.auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m.gini(y, p) == pytest.approx(2 * skm.roc_auc_score(y, p) - 1, abs=1e-12)
    assert m.ks(y, p) == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)
    assert m.brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-15)
    assert m.log_loss(y, p) == pytest.approx(skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)), abs=1e-12)
    assert m.binomial_test(int(y.sum()), len(y), float(p.mean())) == pytest.approx(
        stats.binomtest(int(y.sum()), len(y), float(p.mean()), alternative="greater").pvalue, abs=1e-15)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.auc(y, p), abs=1e-12)


def test_one_psi_everywhere():
    rng = np.random.default_rng(3)
    ref = rng.choice([-0.5, 0.1, 0.7, 1.2], size=2000, p=[0.4, 0.3, 0.2, 0.1])
    act = rng.choice([-0.5, 0.1, 0.7, 1.3], size=1500, p=[0.2, 0.3, 0.3, 0.2])  # 1.3 unseen, 1.2 gone
    value = psi_of_samples(ref, act)
    # the validation stage's categorical PSI of the same values is the same number
    assert psi(ref.astype(str), act.astype(str), categorical=True) == pytest.approx(value, abs=1e-12)
    # the scorecard's stability filter uses the same function (no copy of its own)
    assert scorecard.psi_of_samples is psi_of_samples
    assert not hasattr(scorecard, "_psi")
    # smoothing: an empty bin's share is floored at 1e-4, bins empty on both sides contribute nothing
    terms = psi_terms([100, 0, 0], [50, 50, 0])
    assert terms[2] == 0.0
    assert terms[1] == pytest.approx((0.5 - 1e-4) * np.log(0.5 / 1e-4))
    tab = psi_table(ref, act, bins=4)
    assert tab["psi"].sum() == pytest.approx(psi(ref, act, bins=4))
