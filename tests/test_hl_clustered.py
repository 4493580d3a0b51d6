"""Hosmer–Lemeshow corrected for enterprise clusters, beside the plain test."""

from __future__ import annotations

import numpy as np
import pytest

from smecredit.validation.clustered import group_design_effects, hosmer_lemeshow_clustered
from smecredit.validation.metrics import hosmer_lemeshow


def _sample(n=1000, seed=4, shift=0.3):
    rng = np.random.default_rng(seed)
    p = np.sort(rng.uniform(0.005, 0.2, n))  # distinct PDs
    y = (rng.random(n) < np.clip(p * (1 + shift), 0, 1)).astype(float)  # miscalibrated: defaults above the PD
    return y, p


@pytest.mark.parametrize("in_sample", [False, True])
def test_one_row_per_enterprise_equals_the_plain_test(in_sample):
    y, p = _sample()
    ids = [f"e{i}" for i in range(len(y))]
    c = hosmer_lemeshow_clustered(y, p, ids, in_sample=in_sample)
    plain = hosmer_lemeshow(y, p, in_sample=in_sample)
    assert c["deff"] == 1.0 and c["statistic"] == plain["statistic"] and c["p_value"] == plain["p_value"]
    assert c["dof"] == plain["dof"] and c["n_clusters"] == len(y)


def test_repeated_rows_are_not_counted_as_new_evidence():
    y, p = _sample()
    ids = np.array([f"e{i}" for i in range(len(y))])
    yy, pp, cc = np.repeat(y, 3), np.repeat(p, 3), np.repeat(ids, 3)  # every enterprise at three snapshots
    plain_rep = hosmer_lemeshow(yy, pp)
    clustered = hosmer_lemeshow_clustered(yy, pp, cc)
    plain_once = hosmer_lemeshow(y, p)
    # the plain test triples its statistic on copies; the clustered one gives the statistic of the rows once
    assert plain_rep["statistic"] == pytest.approx(3 * plain_once["statistic"], rel=1e-12)
    assert clustered["deff"] == pytest.approx(3.0, rel=1e-12)
    assert clustered["statistic"] == pytest.approx(plain_once["statistic"], rel=1e-12)
    assert clustered["p_value"] == pytest.approx(plain_once["p_value"], rel=1e-9)
    assert clustered["p_value"] > plain_rep["p_value"]
    assert clustered["plain_p_value"] == plain_rep["p_value"]


def test_partly_repeated_panel_has_design_effect_between_one_and_the_repeat_count():
    rng = np.random.default_rng(9)
    n = 3000
    ent = rng.integers(0, 1200, n)  # ~2.5 rows per enterprise
    risk = rng.uniform(0.01, 0.15, 1200)
    p = np.clip(risk[ent] * rng.uniform(0.9, 1.1, n), 1e-4, 1)
    ever = rng.random(1200) < risk * 1.4  # one default event per enterprise, shared by its rows
    y = ever[ent].astype(float)
    d = group_design_effects(y, p, ent)
    assert np.all(d >= 1.0) and 1.2 < d.mean() < 3.0
    c = hosmer_lemeshow_clustered(y, p, ent)
    assert c["statistic"] < c["plain_statistic"] and c["p_value"] > c["plain_p_value"]
