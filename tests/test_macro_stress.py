"""Macro-shock stress on the simulator: base city vs the same city with a macro shock."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.simulation import SimConfig, simulate
from smecredit.exceptions import ConfigError
from smecredit.features import build_features
from smecredit.models import fit_credit_model
from smecredit.registry import save_model
from smecredit.models.pyfunc import input_example
from smecredit.pipelines.macro_stress import candidate_dates, macro_stress

pytestmark = pytest.mark.slow
FEATURES = ["cr_max_dpd_12m", "cr_dpd_now", "tax_sales_yoy_6m", "tax_sales_3m", "elec_yoy_3m", "reg_age_years"]
N, MONTHS, SEED = 600, 30, 5


@pytest.fixture(scope="module")
def model(sim_city):
    train = build_features(load_raw(sim_city), ["2023-12-31", "2024-06-30"])
    train = train[train["bad"].notna()]
    return fit_credit_model(train[FEATURES], train["bad"].astype(int).to_numpy(), kind="scorecard", cv=2), train


@pytest.fixture(scope="module")
def result(model):
    return macro_stress(model[0], n_enterprises=N, months=MONTHS, seed=SEED, lgd=0.4)


def test_base_city_is_the_simulator_without_shock_scored_twelve_months_in(model, result, tmp_path_factory):
    m, _ = model
    dates = candidate_dates("2025-12-31", MONTHS)  # window 2023-07 … 2025-12: 12 months of look-back, 12 of outcomes
    assert [str(d.date()) for d in (dates[0], dates[-1])] == ["2024-06-30", "2024-12-31"]
    as_of = pd.Timestamp(result["as_of"])
    assert as_of in dates and result["true_pd_ratio_city"] > 1
    folder = simulate(config=SimConfig(n_enterprises=N, months=MONTHS, seed=SEED, end="2025-12-31", macro_shock=0.0),
                      out=tmp_path_factory.mktemp("base") / "raw")
    feats = build_features(load_raw(folder), [as_of])
    pred = m.predict(feats, flag_missing=False)
    base = result["scenarios"][0]
    assert base["n"] == len(feats)
    assert base["mean_pd"] == pytest.approx(float(pred["pd"].mean()), rel=1e-12)
    ead = feats["cr_balance"].fillna(0).to_numpy()
    assert base["el"] == pytest.approx(float(np.sum(pred["pd"].to_numpy() * 0.4 * ead)), rel=1e-12)
    assert base["observed_default_rate"] == pytest.approx(float(feats["bad"].mean()))


def test_the_shock_raises_true_and_model_pd_and_expected_loss(result):
    base, shocked = result["scenarios"]
    assert shocked["shock"] == -0.9 and base["shock"] == 0.0
    assert shocked["true_mean_pd"] > base["true_mean_pd"]  # the simulator's truth: the shock hurts
    assert shocked["mean_pd"] > base["mean_pd"] and shocked["el"] > base["el"]
    assert shocked["mean_pd_change"] == pytest.approx(shocked["mean_pd"] / base["mean_pd"] - 1)
    assert shocked["el_change"] == pytest.approx(shocked["el"] / base["el"] - 1)
    assert shocked["share_grade_8_10"] > base["share_grade_8_10"]
    assert shocked["downgraded"] > shocked["upgraded"]
    for r in result["scenarios"]:
        assert sum(r["grade_distribution"].values()) == pytest.approx(1.0)


def test_bad_macro_options_are_refused(model):
    with pytest.raises(ConfigError, match="macro shock"):
        macro_stress(model[0], shock=0.2)
    with pytest.raises(ConfigError, match="months"):
        macro_stress(model[0], months=18)


def test_cli_stress_adds_the_macro_shock(model, sim_city, tmp_path, result):
    m, train = model
    save_model(m, tmp_path / "m", example=input_example(m, train))
    out = tmp_path / "stress.json"
    assert main(["stress", "--model", str(tmp_path / "m"), "--raw", str(sim_city), "--as-of", "2025-06-30",
                 "--out", str(out), "--lgd", "0.4", "--macro-enterprises", str(N), "--macro-seed", str(SEED),
                 "--macro-months", str(MONTHS)]) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    assert [r["scenario"] for r in got["macro"]["scenarios"]] == ["base (no macro shock)", "macro shock -0.9"]
    assert got["macro"]["scenarios"][1]["mean_pd"] == pytest.approx(result["scenarios"][1]["mean_pd"], rel=1e-12)
    assert len(got["scenarios"]) == 4  # the input stresses are still there


def test_report_section_renders_the_macro_shock(result):
    from smecredit.report.render import environment

    tpl = environment().get_template("_stress.html")
    html = tpl.render(stress={"scenarios": [], "note": "No input stress was run.", "macro": result})
    assert "Macro shock on the simulator" in html and result["as_of"] in html
    assert "macro shock -0.9" in html and "True mean PD" in html
    s1 = result["scenarios"][1]
    ratio = s1["mean_pd_change"] / s1["true_mean_pd_change"]
    verdict = "over-reacts" if ratio > 1.5 else "under-reacts" if ratio < 0.67 else "follows the true PD"
    assert verdict in html
    # without the macro shock the section renders as before (strict templates: no missing key)
    plain = tpl.render(stress={"scenarios": [], "note": "No stress test was run."})
    assert "Macro shock" not in plain and "No stress test was run." in plain
