"""Publication lags: every periodic source row carries the date a lender could first see it (available_date)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smecredit.data import validate_raw
from smecredit.simulation import simulate
from smecredit.simulation.publication import TABLES_WITH_LAG, filing_deadline


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return simulate(3000, 24, 8, tmp_path_factory.mktemp("pub") / "raw")


def _read(city, name):
    return pd.read_parquet(city / f"{name}.parquet")


def test_every_periodic_row_becomes_available_after_the_period_it_describes(city):
    assert validate_raw(city).ok
    for name in TABLES_WITH_LAG:
        df = _read(city, name)
        assert len(df) and df["available_date"].notna().all(), name
        ref_col = next(c for c in ("month_end", "event_date", "published_date") if c in df.columns)
        lag = (df["available_date"] - df[ref_col]).dt.days
        if ref_col == "published_date":
            assert (lag == 0).all(), name
        else:  # a month's figures are never known at its month end, an event never on its day
            assert lag.min() >= 1, (name, lag.min())


def _quarterly_filers(tax):
    """Enterprises whose rows of a quarter always become known on one date (one declaration a quarter)."""
    q = pd.DatetimeIndex(tax["month_end"]).to_period("Q").astype(str)
    g = tax.assign(q=q).groupby(["enterprise_id", "q"])["available_date"]
    stats = pd.DataFrame({"dates": g.nunique(), "rows": g.size()}).groupby(level=0).agg({"dates": "max", "rows": "max"})
    return stats.loc[stats["rows"] > 1, "dates"] == 1


def test_tax_rows_follow_the_monthly_and_quarterly_filing_deadlines(city):
    tax = _read(city, "tax_monthly")
    # small-scale taxpayers: one declaration per quarter, so the three months of a quarter become known together
    quarterly = _quarterly_filers(tax)
    assert 0.5 < quarterly.mean() < 0.95, quarterly.mean()
    qt = tax[tax["enterprise_id"].isin(quarterly[quarterly].index)]
    qe = pd.DatetimeIndex(qt["month_end"]) + pd.offsets.QuarterEnd(0)
    assert (qt["available_date"] > qe).all()
    # monthly filers: most declare by the deadline (15th of the next month, later around the holidays)
    mt = tax[tax["enterprise_id"].isin(quarterly[~quarterly].index)]
    dl = filing_deadline(pd.DatetimeIndex(mt["month_end"]))
    on_time = (mt["available_date"] <= dl + pd.Timedelta(days=1)).mean()
    assert 0.85 < on_time < 1.0, on_time


def test_late_tax_declarations_rise_before_default(city):
    tax = _read(city, "tax_monthly")
    dflt = pd.read_parquet(city / "_truth" / "defaults.parquet").set_index("enterprise_id")["default_month"]
    me = pd.DatetimeIndex(tax["month_end"])
    quarterly = _quarterly_filers(tax)
    q = tax["enterprise_id"].map(quarterly).fillna(False).to_numpy(dtype=bool)
    deadline = filing_deadline(pd.DatetimeIndex(np.where(q, me + pd.offsets.QuarterEnd(0), me)))
    late = (tax["available_date"] > deadline + pd.Timedelta(days=1)).to_numpy()
    dm = pd.DatetimeIndex(tax["enterprise_id"].map(dflt))
    near = ((dm - me).days > 0) & ((dm - me).days <= 183)
    assert near.sum() > 100
    assert late[near].mean() > 1.8 * late[~near].mean(), (late[near].mean(), late[~near].mean())


def test_court_filings_are_published_weeks_later_enforcement_within_days(city):
    jud = _read(city, "judicial_events")
    lag = (jud["available_date"] - jud["event_date"]).dt.days
    law = jud["event_type"] == "lawsuit_defendant"
    assert lag[law].between(30, 90).all() and lag[~law].between(1, 10).all()
    adm = _read(city, "admin_events")
    assert ((adm["available_date"] - adm["event_date"]).dt.days.between(1, 28)).all()  # 20 working days


def test_features_of_the_simulated_city_use_only_what_was_published_by_the_snapshot(city):
    """End to end on the simulator's own lags: the features at a snapshot equal those built from the tables
    without any row published after it — and the lags do hide rows and move features (ignoring the column
    would give other features), so the equality is not vacuous."""
    from smecredit.data import from_frames, load_raw
    from smecredit.features import build_features

    raw = load_raw(city)
    snapshot = pd.Timestamp("2024-12-31")
    with_lags = build_features(raw, [snapshot], population="all")
    published, hidden = {}, 0
    for name, df in raw.tables.items():
        if "available_date" in df.columns:
            late = (df["available_date"] > snapshot).to_numpy()
            ref = next((c for c in ("month_end", "event_date") if c in df.columns), None)
            if ref is not None:  # rows about the past not yet published
                hidden += int((late & (df[ref] <= snapshot).to_numpy()).sum())
            df = df[~late].reset_index(drop=True)  # the column stays: a month not yet published is not a zero month
        published[name] = df
    assert hidden > 100
    pd.testing.assert_frame_equal(with_lags, build_features(from_frames(published), [snapshot], population="all"))
    no_lags = {n: d.drop(columns="available_date") if "available_date" in d.columns else d for n, d in raw.tables.items()}
    assert not with_lags.equals(build_features(from_frames(no_lags), [snapshot], population="all"))
