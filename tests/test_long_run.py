"""Calibration to the long-run average default rate with a margin of conservatism (GL/2017/16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.models.rating import MasterScale
from smecredit.validation.long_run import (grade_pd_table, long_run_calibration, long_run_default_rate,
                                           margin_of_conservatism, scale_to_central_tendency, window_years)


def _history(rates, n=2000, seed=0, start="2018-12-31"):
    rng = np.random.default_rng(seed)
    snaps = pd.date_range(start, periods=len(rates), freq="12ME")
    t = np.repeat(snaps, n)
    y = np.concatenate([(rng.random(n) < r).astype(float) for r in rates])
    return t, y


def test_long_run_average_is_the_mean_of_the_snapshot_default_rates():
    t, y = _history([0.02, 0.03, 0.08, 0.03, 0.02, 0.02])
    y[:10] = np.nan  # unlabelled rows are ignored
    lr = long_run_default_rate(t, y)
    per = pd.DataFrame({"t": t, "y": y}).dropna().groupby("t")["y"].mean()
    assert lr["lra"] == pytest.approx(per.mean())
    assert lr["n_snapshots"] == 6 and lr["years"] == 6.0 and lr["enough_years"]
    assert lr["downturn"]  # 8 % >= 1.5 x the average
    assert lr["upper90"] > lr["lra"]
    short = long_run_default_rate(*_history([0.03, 0.031]))
    assert short["years"] == 2.0 and not short["enough_years"] and not short["downturn"]


def test_margin_of_conservatism_categories_follow_the_stated_rules():
    short = long_run_default_rate(*_history([0.03, 0.031]))
    moc = margin_of_conservatism(short, train_years=1.0, hl_p=0.01, n_grades_too_low=3)
    assert moc["A"]["value"] == pytest.approx(0.10 * 3 / 5 + 0.05)
    assert moc["B"]["value"] == pytest.approx(0.05 + 0.05 + 0.10)
    assert moc["C"]["value"] == pytest.approx(short["upper90"] / short["lra"] - 1)
    assert moc["total"] == pytest.approx(moc["A"]["value"] + moc["B"]["value"] + moc["C"]["value"])
    long = long_run_default_rate(*_history([0.02, 0.03, 0.08, 0.03, 0.02, 0.02]))
    clean = margin_of_conservatism(long, train_years=6.0, hl_p=0.5)
    assert clean["A"]["value"] == 0 and clean["B"]["value"] == 0 and clean["C"]["value"] > 0


def test_central_tendency_scaling_and_grade_pds():
    rng = np.random.default_rng(1)
    p = np.clip(rng.lognormal(np.log(0.02), 1.0, 5000), 0.0005, 0.99)
    scaled, k = scale_to_central_tendency(p, 0.04)
    assert scaled.mean() == pytest.approx(0.04) and k > 1
    assert np.all(np.diff(scaled[np.argsort(p)]) >= 0)  # ranking kept
    ms = MasterScale()
    grades = ms.assign(p)
    y = (rng.random(5000) < p).astype(float)
    rows = grade_pd_table(grades, p, y, [g for g in ms.grades if g != "D"], lra=0.04, moc=0.2,
                          bounds=ms.table().to_dict("records"))
    used = [r for r in rows if r["n"]]
    assert sum(r["n"] for r in rows) == 5000
    for r in used:
        assert r["pd_final"] == pytest.approx(min(1.0, r["pd_long_run"] * 1.2))
        assert r["pd_long_run"] > r["pd_model"]
    finals = [r["pd_final"] for r in used]
    assert finals == sorted(finals)  # monotone over the master scale
    assert window_years(["2023-12-31", "2024-03-31"]) == pytest.approx(1.25)


def test_long_run_calibration_leaves_defaulted_rows_out():
    t, y = _history([0.02, 0.03])
    p = np.full(len(y), 0.025)
    g = np.where(np.arange(len(y)) % 100 == 0, "D", "6")
    out = long_run_calibration(t, y, g, p, order=MasterScale().grades, bounds=MasterScale().table().to_dict("records"))
    keep = g != "D"
    assert out["long_run"]["lra"] == pytest.approx(np.mean([y[keep][t[keep] == s].mean() for s in np.unique(t)]))
    assert [r["grade"] for r in out["grades"]][-1] == "10"
    assert out["central_tendency"]["lra_with_moc"] == pytest.approx(out["long_run"]["lra"] * (1 + out["moc"]["total"]))
