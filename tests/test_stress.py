"""Sensitivity and stress: features rebuilt from stressed raw data, PD, grades and expected loss."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.features import build_features
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, save_model
from smecredit.pipelines.stress import SCENARIOS, stress_raw, stress_test

pytestmark = pytest.mark.slow
AS_OF = pd.Timestamp("2025-06-30")
FEATURES = ["cr_max_dpd_12m", "tax_sales_yoy_6m", "tax_sales_3m", "elec_yoy_3m", "elec_kwh_3m", "reg_age_years"]


@pytest.fixture(scope="module")
def setup(sim_city):
    raw = load_raw(sim_city)
    train = build_features(raw, ["2023-12-31", "2024-06-30"])
    train = train[train["bad"].notna()]
    model = fit_credit_model(train[FEATURES], train["bad"].astype(int).to_numpy(), kind="scorecard", cv=2)
    return raw, model, train


def test_stressed_raw_moves_the_derived_features_consistently(setup):
    raw, _, _ = setup
    base = build_features(raw, [AS_OF]).set_index("enterprise_id")
    low = build_features(stress_raw(raw, SCENARIOS["sales -30%"], AS_OF, 6), [AS_OF]).set_index("enterprise_id")
    ok = base["tax_sales_3m"].notna() & (base["tax_sales_3m"] > 0)
    np.testing.assert_allclose(low.loc[ok, "tax_sales_3m"], 0.7 * base.loc[ok, "tax_sales_3m"], rtol=1e-9)
    # untouched sources stay as they are
    pd.testing.assert_series_equal(low["elec_kwh_3m"], base["elec_kwh_3m"])
    # year-on-year: lower wherever defined; missing in both where the prior period precedes registration
    lo, hi = low.loc[ok, "tax_sales_yoy_6m"], base.loc[ok, "tax_sales_yoy_6m"]
    assert (lo.isna() == hi.isna()).all() and hi.notna().sum() > 0.5 * ok.sum()
    assert (lo[hi.notna()] < hi[hi.notna()] + 1e-12).all()


def test_stress_test_reports_pd_grades_and_expected_loss(setup, tmp_path):
    raw, model, train = setup
    res = stress_test(model, raw, AS_OF, lgd=0.4)
    rows = {r["scenario"]: r for r in res["scenarios"]}
    assert list(rows) == list(SCENARIOS)
    feats = build_features(raw, [AS_OF])
    pred = model.predict(feats)
    ead = feats["cr_balance"].fillna(0).to_numpy()
    assert rows["base"]["el"] == pytest.approx(float(np.sum(pred["pd"].to_numpy() * 0.4 * ead)))
    assert rows["base"]["mean_pd"] == pytest.approx(float(pred["pd"].mean()))
    for r in rows.values():
        assert sum(r["grade_distribution"].values()) == pytest.approx(1.0)
        assert r["n"] == len(feats)
    both = rows["sales and electricity -30%"]
    assert both["mean_pd_change"] == pytest.approx(both["mean_pd"] / rows["base"]["mean_pd"] - 1)
    # the CLI writes the same result
    save_model(model, tmp_path / "m", example=input_example(model, train))
    out = tmp_path / "stress.json"
    assert main(["stress", "--model", str(tmp_path / "m"), "--raw", raw.folder, "--as-of", "2025-06-30",
                 "--out", str(out), "--lgd", "0.4"]) == 0
    assert json.loads(out.read_text())["scenarios"][0]["el"] == pytest.approx(rows["base"]["el"])
    assert main(["stress", "--model", str(tmp_path / "m"), "--raw", raw.folder, "--as-of", "2025-06-30",
                 "--out", str(tmp_path / "x.json"), "--lgd", "2"]) == 2
    assert not (tmp_path / "x.json").exists()
