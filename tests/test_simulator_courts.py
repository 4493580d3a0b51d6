"""Court signals of the simulator: lawsuits → enforcement → dishonest-debtor listings, rising before default.

Observations only: the court chain never feeds the hazard, so the ground truth and every other table are
unchanged by its parameters. Directions and generous ranges, not figures of one seed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from smecredit.exceptions import ConfigError
from smecredit.simulation import SimConfig, simulate

COURT = ["lawsuit_defendant", "enforcement", "dishonest_debtor_listed"]


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """A realistic city (every mechanism on): 8,000 enterprises × 36 months."""
    return simulate(out=tmp_path_factory.mktemp("courts") / "raw",
                    config=SimConfig(n_enterprises=8_000, months=36, seed=5))


@pytest.fixture(scope="module")
def data(city):
    jud = pd.read_parquet(city / "judicial_events.parquet")
    jud["m"] = jud["event_date"] + pd.offsets.MonthEnd(0)
    truth = {n: pd.read_parquet(city / "_truth" / f"{n}.parquet") for n in ("pd_true", "defaults")}
    lm = pd.read_parquet(city / "loan_monthly.parquet")
    months = sorted(truth["pd_true"]["month_end"].unique())
    return jud, truth, lm, months


def _borrowers(lm, truth, snap):
    """Borrowers at ``snap`` not yet in default, and whether they default in the next 12 months."""
    cur = lm[lm["month_end"] == snap].groupby("enterprise_id")["days_past_due"].max()
    ids = cur[cur <= 90].index
    dm = truth["defaults"].set_index("enterprise_id")["default_month"].reindex(ids)
    return ids, ((dm > snap) & (dm <= snap + pd.offsets.MonthEnd(12))).to_numpy()


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def test_court_records_rise_before_default(data):
    """Most defaulters are sued or under enforcement in the year before the bank default; few others are."""
    jud, truth, lm, months = data
    filed = jud[jud["event_type"].isin(["lawsuit_defendant", "enforcement"])]
    dflt = truth["defaults"][truth["defaults"]["default_month"] >= months[12]]
    assert len(dflt) > 80
    j = filed.merge(dflt, on="enterprise_id")
    before = j[(j["m"] < j["default_month"]) & (j["m"] >= j["default_month"] - pd.offsets.MonthEnd(12))]
    share_bad = before["enterprise_id"].nunique() / len(dflt)
    good = []
    for i in (12, 18, 24, 30):
        snap = pd.Timestamp(months[i])
        ids, y = _borrowers(lm, truth, snap)
        recent = filed[(filed["m"] < snap) & (filed["m"] >= snap - pd.offsets.MonthEnd(12))]
        good.append(ids[~y].isin(recent["enterprise_id"]).mean())
    assert 0.25 < share_bad < 0.85, share_bad
    assert share_bad > 5 * np.mean(good), (share_bad, good)


def test_lawsuits_lead_to_enforcement_then_listing_in_that_order(data):
    jud = data[0]
    first = {t: jud[jud["event_type"] == t].groupby("enterprise_id")["event_date"].min() for t in
             ("lawsuit_defendant", "enforcement", "dishonest_debtor_listed", "dishonest_debtor_removed")}
    enf = jud[jud["event_type"] == "enforcement"]
    law_before = enf["enterprise_id"].map(first["lawsuit_defendant"]) < enf["event_date"]
    assert len(enf) > 200 and law_before.mean() > 0.7, law_before.mean()  # the rest: lawsuits filed before the window
    listed = jud[jud["event_type"] == "dishonest_debtor_listed"]
    assert len(listed) > 30 and listed["enterprise_id"].is_unique
    assert (listed["enterprise_id"].map(first["enforcement"]) < listed["event_date"]).all()
    removed = jud[jud["event_type"] == "dishonest_debtor_removed"]
    assert len(removed) > 0 and removed["enterprise_id"].is_unique
    assert (removed["enterprise_id"].map(first["dishonest_debtor_listed"]) < removed["event_date"]).all()
    # a share of lawsuits only: most judgments are paid
    assert len(enf) < len(jud[jud["event_type"] == "lawsuit_defendant"]) and len(listed) < len(enf)


def test_court_events_are_more_frequent_where_the_true_pd_is_high_and_for_bigger_firms(data, city):
    jud, truth, _, _ = data
    pdt = truth["pd_true"].copy()
    pdt["band"] = pd.qcut(pdt["pd_12m"], 5, labels=False, duplicates="drop")
    for etype in COURT:
        counts = jud[jud["event_type"] == etype].groupby(["enterprise_id", "m"]).size().rename("k")
        j = pdt.join(counts, on=["enterprise_id", "month_end"])
        rate = j["k"].fillna(0).groupby(j["band"]).mean()
        assert rate.iloc[-1] > 5 * max(rate.iloc[0], 1e-6), (etype, rate.to_dict())
    # healthy firms: most never have a case; bigger ones are sued more often than the smallest
    ent = pd.read_parquet(city / "enterprises.parquet").set_index("enterprise_id")
    calm = pdt.groupby("enterprise_id")["pd_12m"].max() < pdt["pd_12m"].quantile(0.5)
    calm_ids = calm[calm].index
    sued = pd.Index(calm_ids).isin(jud.loc[jud["event_type"] == "lawsuit_defendant", "enterprise_id"])
    assert sued.mean() < 0.1, sued.mean()
    big = ent.loc[calm_ids, "employees"].to_numpy() >= 10
    assert sued[big].mean() > sued[~big].mean(), (sued[big].mean(), sued[~big].mean())


def test_court_records_predict_default_with_realistic_strength(data):
    """Borrowers with a published enforcement case or listing default far more often, yet a count of court
    events alone stays a weak-to-moderate ranker (low coverage)."""
    jud, truth, lm, months = data
    court = jud[jud["event_type"].isin(COURT)]
    ys, cnts, flags = [], [], []
    for i in (11, 17, 23):
        snap = pd.Timestamp(months[i])
        ids, y = _borrowers(lm, truth, snap)
        seen = court[(court["available_date"] <= snap) & (court["event_date"] > snap - pd.DateOffset(months=12))]
        ys.append(y)
        cnts.append(seen.groupby("enterprise_id").size().reindex(ids).fillna(0).to_numpy())
        flags.append(ids.isin(seen.loc[seen["event_type"] != "lawsuit_defendant", "enterprise_id"]))
    y, cnt, flag = np.concatenate(ys), np.concatenate(cnts), np.concatenate(flags)
    assert flag.sum() > 30
    assert y[flag].mean() > 2.5 * y[~flag].mean(), (y[flag].mean(), y[~flag].mean())
    assert 0.52 < roc_auc_score(y, cnt) < 0.75


def test_court_chain_never_feeds_the_ground_truth_or_other_tables(tmp_path):
    """Other court parameters: only the court (and, through the lag stream, the administrative events'
    available dates) change; the same configuration gives the same bytes."""
    cfg = SimConfig(n_enterprises=800, months=24, seed=9)
    a = _digests(simulate(out=tmp_path / "a", config=cfg))
    b = _digests(simulate(out=tmp_path / "b", config=cfg))
    other = cfg.model_copy(update={"court_arrears": 0.3, "court_lawsuit_base": -5.0, "court_listing_share": 0.5})
    c = _digests(simulate(out=tmp_path / "c", config=SimConfig(**other.model_dump())))
    assert a == b
    changed = {k for k in a if a[k] != c[k]}
    assert "judicial_events.parquet" in changed
    assert changed <= {"judicial_events.parquet", "admin_events.parquet"}, changed


@pytest.mark.parametrize("field, value", [("court_enforcement_share", 1.5), ("court_distress", -1.0),
                                          ("court_arrears", 0.9), ("court_lawsuit_base", 2.0)])
def test_court_fields_are_validated(field, value):
    with pytest.raises(ConfigError, match=field):
        SimConfig(**{field: value})
