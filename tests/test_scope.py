"""Model scope: populations, days-past-due buckets and the report's population views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.report.scope import model_card, scope_section
from smecredit.validation import auc
from smecredit.validation.scope import dpd_bucket, population_mask, scope_card


def test_population_masks_and_errors():
    f = pd.DataFrame({"cr_dpd_now": [0, 15, np.nan, 95, 0]})
    assert population_mask(f, "application").tolist() == [True, False, True, False, True]
    assert population_mask(f, "behavioural").all()
    with pytest.raises(ConfigError, match="population must be one of"):
        population_mask(f, "new")
    with pytest.raises(DataContractError, match="features.parquet: the application population needs column 'cr_dpd_now'"):
        population_mask(pd.DataFrame({"x": [1]}), "application", source="features.parquet")
    assert dpd_bucket([0, 1, 29, 30, 60, 89, 90, 400, np.nan]).tolist() == [
        "current (0 dpd)", "1–29 dpd", "1–29 dpd", "30–59 dpd", "60–89 dpd", "60–89 dpd", "90+ dpd", "90+ dpd",
        "current (0 dpd)"]


def test_scope_card_states_use_population_and_default_definition():
    card = scope_card("application", horizon_months=12, n_rows=10, n_excluded=3)
    assert "no current arrears" in card["intended_use"]
    assert "More than 90 days past due" in card["default_definition"] and "within 12 months" in card["default_definition"]
    assert "次级" in card["default_definition"]
    old = model_card({"horizon_months": 12})
    assert old["recorded"] is False and old["population"] == "behavioural" and "not recorded" in old["intended_use"]


def test_scope_section_splits_performance_by_population_and_dpd_bucket():
    rng = np.random.default_rng(5)
    n = 4000
    dpd = np.where(rng.random(n) < 0.08, rng.choice([10, 45, 120], n), 0)
    x = rng.normal(size=n)
    p_true = 1 / (1 + np.exp(-(x - 3 + 3 * (dpd > 0))))
    y = (rng.random(n) < p_true).astype(float)
    pd_model = 1 / (1 + np.exp(-(0.5 * x - 3 + 3 * (dpd > 0))))
    grade = np.where(dpd > 0, "10", np.where(pd_model > 0.05, "8", "5"))
    frame = pd.DataFrame({"cr_dpd_now": dpd})
    preds = pd.DataFrame({"pd": pd_model, "grade": grade})
    mask = np.arange(n) >= 1000  # the "held-out" rows
    out = scope_section({"scope": scope_card("behavioural", horizon_months=12)}, frame, pd.Series(y), preds, mask,
                        "out-of-time rows", n_boot=20, seed=0)
    assert out["available"] and out["card"]["recorded"]
    views = {v["view"].split(":")[0]: v for v in out["views"]}
    app = mask & (dpd == 0)
    assert views["application"]["n"] == int(app.sum())
    assert views["application"]["auc"]["value"] == pytest.approx(auc(y[app], pd_model[app]))
    assert views["behavioural"]["auc"]["value"] == pytest.approx(auc(y[mask], pd_model[mask]))
    assert views["behavioural"]["auc"]["value"] > views["application"]["auc"]["value"]
    assert [g["grade"] for g in out["in_arrears_grades"]] == ["10"]
    assert out["views"][2]["n"] == int((mask & (grade != "10")).sum())
    buckets = {b["view"]: b for b in out["buckets"]}
    assert sum(b["n"] for b in buckets.values()) == int(mask.sum())
    assert sum(b["share_defaults"] for b in buckets.values()) == pytest.approx(1.0)
    assert buckets["current (0 dpd)"]["defaults"] == int(y[app].sum())
    assert out["auc_drop"] == pytest.approx(views["behavioural"]["auc"]["value"] - views["application"]["auc"]["value"])
    none = scope_section({}, pd.DataFrame({"x": dpd}), pd.Series(y), preds, mask, "s", n_boot=20, seed=0)
    assert not none["available"] and "cr_dpd_now" in none["note"]


def test_scoring_warns_about_rows_outside_an_application_model_population(caplog):
    from smecredit.models import fit_credit_model
    from smecredit.scoring.batch import out_of_scope, score_frame

    rng = np.random.default_rng(0)
    f = pd.DataFrame({"x": rng.normal(size=400), "cr_dpd_now": np.where(rng.random(400) < 0.1, 40.0, 0.0)})
    y = (rng.random(400) < 1 / (1 + np.exp(-(f["x"] - 2)))).astype(int).to_numpy()
    model = fit_credit_model(f[["x"]], y, kind="scorecard", cv=2)
    assert out_of_scope(model, f) == 0  # no recorded scope: nothing to check
    model.metadata_["scope"] = scope_card("application", horizon_months=12)
    assert out_of_scope(model, f) == int((f["cr_dpd_now"] > 0).sum())
    with caplog.at_level("WARNING"):
        out = score_frame(model, f)
    assert len(out) == len(f)  # every row is still scored
    assert f"{out_of_scope(model, f)} of 400 rows have current arrears" in caplog.text
