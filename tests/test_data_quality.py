"""Data quality in the report: PSI/CSI of every feature, structural breaks, coverage per snapshot, outliers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.models import fit_credit_model
from smecredit.report.data_quality import coverage_by_snapshot, data_quality_section, structural_breaks
from smecredit.validation.stability import psi


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(2)
    snaps = pd.to_datetime(["2023-06-30", "2023-12-31", "2024-06-30", "2024-12-31"])
    n = 600
    f = pd.DataFrame({"snapshot_date": np.repeat(snaps, n), "a": rng.normal(size=4 * n),
                      "gap": rng.normal(size=4 * n), "b": rng.exponential(size=4 * n)})
    f.loc[f["snapshot_date"] == snaps[0], "gap"] = np.nan  # source not delivered at the first snapshot
    f.loc[4 * n - 3:, "b"] = 1e6  # three absurd values in the last snapshot
    f["util_missing"] = (rng.random(4 * n) < np.where(f["snapshot_date"] == snaps[-1], 0.5, 0.1)).astype(float)
    y = (rng.random(4 * n) < 1 / (1 + np.exp(-(f["a"] - 2.5)))).astype(int)
    return f, y


def test_structural_break_is_flagged_instead_of_drift(panel):
    f, y = panel
    assert structural_breaks(f, ["a", "gap", "b"]) == {"gap": ["2023-06-30"]}
    model = fit_credit_model(f[["a", "gap", "b"]], y, kind="scorecard", cv=2)
    ref = f["snapshot_date"] <= "2023-12-31"
    out = data_quality_section(model, f, f[ref], f[~ref], None, "train", "later")
    rows = {r["feature"]: r for r in out["features"]}
    assert set(rows) == {"a", "gap", "b"}  # every feature, not only the top ones
    assert rows["gap"]["status"] == "structural break" and rows["gap"]["break"] == "2023-06-30"
    assert rows["a"]["psi"] == pytest.approx(psi(f.loc[ref, "a"], f.loc[~ref, "a"]))
    assert out["counts"]["structural break"] == 1
    outl = {r["feature"]: r for r in out["outliers"]}
    lo, hi = np.nanquantile(f.loc[ref, "b"], [0.001, 0.999])
    later = f.loc[~ref, "b"]
    assert outl["b"]["share_outside"] == pytest.approx(float(((later < lo) | (later > hi)).mean()))
    assert outl["b"]["act_max"] == 1e6 and "capped" in outl["b"]["treatment"]
    # the model's own caps (training quantiles) and how many later values they change
    clo, chi = model.outlier_caps_["b"]
    assert (outl["b"]["cap_low"], outl["b"]["cap_high"]) == (clo, chi)
    assert outl["b"]["n_capped"] == int(((later < clo) | (later > chi)).sum()) >= 3
    assert out["caps"]["n_features"] == len(model.outlier_caps_)
    assert out["caps"]["n_values_capped"] == sum(
        int(((f.loc[~ref, c] < lo_) | (f.loc[~ref, c] > hi_)).sum()) for c, (lo_, hi_) in model.outlier_caps_.items())
    # a model saved without caps says how it treats extremes instead
    plain = fit_credit_model(f[["a", "gap", "b"]], y, kind="scorecard", cv=2, outlier_tail=None)
    out2 = data_quality_section(plain, f, f[ref], f[~ref], None, "train", "later")
    assert "outer bin" in {r["feature"]: r for r in out2["outliers"]}["b"]["treatment"]
    assert out2["caps"] == {"n_features": 0}


def test_coverage_per_snapshot_uses_the_family_indicator(panel):
    f, _ = panel
    cat = pd.DataFrame({"name": ["a", "b", "gap"], "family": ["util", "util", "cons"]})
    cov = coverage_by_snapshot(f, cat, ["a", "b", "gap"])
    assert cov["families"] == ["cons", "util"]
    by = {r["snapshot"]: r["coverage"] for r in cov["rows"]}
    assert by["2023-06-30"]["cons"] == 0.0 and by["2024-06-30"]["cons"] == 1.0
    last = f["snapshot_date"] == "2024-12-31"
    assert by["2024-12-31"]["util"] == pytest.approx(1 - f.loc[last, "util_missing"].mean())


def test_migration_places_defaulters_in_the_default_column():
    from smecredit.report.builder import _with_defaults
    from smecredit.validation.stability import migration_matrix, paired_grades

    g = pd.DataFrame({"enterprise_id": ["a", "a", "b", "c", "c", "d"],
                      "snapshot_date": pd.to_datetime(["2023-12-31", "2024-12-31", "2023-12-31", "2023-12-31",
                                                       "2024-12-31", "2024-12-31"]),
                      "grade": ["3", "4", "7", "5", "5", "2"]})
    y = pd.Series([0.0, np.nan, 1.0, 0.0, np.nan, np.nan])  # b defaults within 12 months and leaves the panel
    pairs = paired_grades(g, months=12)
    assert "D" not in set(pairs["to"])  # empty by construction without outcomes
    with_d, n = _with_defaults(g, y, 12, pairs)
    assert n == 1
    assert sorted(map(tuple, with_d.to_numpy().tolist())) == [("3", "4"), ("5", "5"), ("7", "D")]
    m = migration_matrix(with_d["from"], with_d["to"], grades=[str(i) for i in range(1, 11)] + ["D"],
                         normalize=False)
    assert m.loc["7", "D"] == 1 and m["D"].sum() == 1


def test_family_importance_is_the_mean_absolute_joint_contribution():
    from smecredit.report.builder import family_importance

    v = pd.DataFrame({"s3": [1.0, -1.0, 2.0], "s6": [-1.0, 1.0, 1.0], "e": [0.5, 0.5, -0.5]})
    cat = pd.DataFrame({"name": ["s3", "s6", "e"], "family": ["tax", "tax", "util"]})
    rows = {r["family"]: r for r in family_importance(v, cat)}
    assert rows["tax"]["joint"] == pytest.approx((0 + 0 + 3) / 3)  # offsetting features cancel
    assert rows["tax"]["sum_of_features"] == pytest.approx(4 / 3 + 1)
    assert rows["util"]["joint"] == pytest.approx(0.5) and rows["tax"]["n_features"] == 2
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)
    assert family_importance(v, None) == []
