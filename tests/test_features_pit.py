"""Point-in-time property: records dated after a snapshot never change that snapshot's features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_world import SNAPSHOT, world, raw_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smecredit.features import META_COLUMNS, build_features

BASE = world(seed=3)
SNAPSHOTS = [SNAPSHOT, pd.Timestamp("2024-06-17"), pd.Timestamp("2024-03-31")]

# as-of column of every dated table (related_persons and loan_applications have none / are not used)
ASOF = {
    "tax_monthly": "month_end", "utilities_monthly": "month_end", "social_insurance_monthly": "month_end",
    "loan_monthly": "month_end", "tax_credit_annual": "published_date", "judicial_events": "event_date",
    "admin_events": "event_date", "ip_assets": "grant_date", "supply_chain": "issue_date",
    "green_annual": "published_date", "loan_events": "event_date", "loans": "start_date",
}
NUMERIC = {
    "tax_monthly": ["invoiced_sales", "tax_paid"], "utilities_monthly": ["electricity_kwh", "water_m3", "gas_m3"],
    "social_insurance_monthly": ["insured_headcount"], "loan_monthly": ["balance", "days_past_due"],
    "judicial_events": ["amount"], "admin_events": ["amount"], "ip_assets": ["valuation"],
    "supply_chain": ["amount"], "green_annual": ["carbon_intensity"], "loans": ["amount", "collateral_value"],
}


def _features(frames, snapshot) -> pd.DataFrame:
    out = build_features(raw_of(frames), [snapshot], population="all")
    return out.drop(columns=["bad", "observable"])


BASELINE = {s: _features(BASE, s) for s in SNAPSHOTS}


def _after(df: pd.DataFrame, col: str, snapshot: pd.Timestamp) -> np.ndarray:
    return np.flatnonzero((df[col] > snapshot).to_numpy())


def _mutate(frames, table, op, pick, factor, days, snapshot):
    """Change, delete or add one record of ``table`` dated after ``snapshot``; None if impossible."""
    frames = {k: v.copy() for k, v in frames.items()}
    df = frames[table]
    col = ASOF[table]
    rows = _after(df, col, snapshot)
    if table == "loans":
        rows = rows[np.isin(df["loan_id"].to_numpy()[rows], frames["loan_monthly"]["loan_id"].unique())]
    if op in ("change", "delete") and rows.size == 0:
        return None
    if op == "change":
        i = df.index[rows[pick % rows.size]]
        for c in NUMERIC.get(table, []):
            v = df.loc[i, c]
            if c in ("insured_headcount", "days_past_due"):
                df.loc[i, c] = int(days % 400)
            else:
                df.loc[i, c] = (0.0 if pd.isna(v) else float(v)) * factor + 1.0
        if table in ("supply_chain", "ip_assets"):
            extra = {"supply_chain": "paid_date", "ip_assets": "pledge_date"}[table]
            df.loc[i, extra] = snapshot + pd.Timedelta(days=int(days) + 1)
        frames[table] = df
    elif op == "delete":
        i = df.index[rows[pick % rows.size]]
        if table == "loans":
            lm = frames["loan_monthly"]
            frames["loan_monthly"] = lm[lm["loan_id"] != df.loc[i, "loan_id"]].reset_index(drop=True)
            ev = frames["loan_events"]
            frames["loan_events"] = ev[ev["loan_id"] != df.loc[i, "loan_id"]].reset_index(drop=True)
        frames[table] = df.drop(index=i).reset_index(drop=True)
    else:  # add: copy a random record, move it after the snapshot with a fresh key
        src = df.iloc[[pick % len(df)]].copy()
        when = snapshot + pd.Timedelta(days=int(days) + 1)
        if col == "month_end":
            when = when + pd.offsets.MonthEnd(0)
            if table == "loan_monthly":
                same = df["loan_id"] == src["loan_id"].iloc[0]
                when = max(when, df.loc[same, "month_end"].max() + pd.offsets.MonthEnd(1))
            else:
                same = df["enterprise_id"] == src["enterprise_id"].iloc[0]
                when = max(when, df.loc[same, "month_end"].max() + pd.offsets.MonthEnd(1))
        src[col] = when
        for key in ("case_id", "asset_id", "instrument_id"):
            if key in src.columns:
                src[key] = f"NEW{pick}"
        if table == "loans":
            src["loan_id"] = f"NEWLOAN{pick}"
        if table in ("tax_credit_annual", "green_annual"):
            src["year"] = 2030 + pick % 50
        for c in NUMERIC.get(table, []):
            if c not in ("insured_headcount", "days_past_due"):
                src[c] = src[c].fillna(0.0) * factor
        frames[table] = pd.concat([df, src], ignore_index=True)
    return frames


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(sorted(ASOF)), op=st.sampled_from(["change", "delete", "add"]),
       pick=st.integers(0, 10_000), factor=st.floats(0.0, 50.0, allow_nan=False), days=st.integers(0, 150),
       snap=st.sampled_from(range(len(SNAPSHOTS))))
def test_records_dated_after_snapshot_never_change_its_features(table, op, pick, factor, days, snap):
    snapshot = SNAPSHOTS[snap]
    frames = _mutate(BASE, table, op, pick, factor, days, snapshot)
    if frames is None:
        return
    pd.testing.assert_frame_equal(_features(frames, snapshot), BASELINE[snapshot])


@settings(max_examples=25, deadline=None)
@given(days=st.integers(1, 300), row=st.integers(0, 100))
def test_secondary_dates_after_snapshot_count_as_unknown(days, row):
    """paid_date, pledge_date, dishonest_since, bad_record_since after the snapshot = not yet happened."""
    later = SNAPSHOT + pd.Timedelta(days=days)
    frames = {k: v.copy() for k, v in BASE.items()}
    sc = frames["supply_chain"]
    i = sc.index[row % len(sc)]
    if sc.loc[i, "paid_date"] is pd.NaT or pd.isna(sc.loc[i, "paid_date"]) or sc.loc[i, "paid_date"] > SNAPSHOT:
        sc.loc[i, "paid_date"] = later
    ip = frames["ip_assets"]
    j = ip.index[row % len(ip)]
    if not (ip.loc[j, "pledged"] and ip.loc[j, "pledge_date"] <= SNAPSHOT):
        ip.loc[j, ["pledged", "pledge_date"]] = [True, later]
    rp = frames["related_persons"]
    k = rp.index[row % len(rp)]
    if not (rp.loc[k, "dishonest_debtor"] and rp.loc[k, "dishonest_since"] <= SNAPSHOT):
        rp.loc[k, ["dishonest_debtor", "dishonest_since"]] = [True, later]
    if not (rp.loc[k, "bad_credit_record"] and rp.loc[k, "bad_record_since"] <= SNAPSHOT):
        rp.loc[k, ["bad_credit_record", "bad_record_since"]] = [True, later]
    pd.testing.assert_frame_equal(_features(frames, SNAPSHOT), BASELINE[SNAPSHOT])


def test_record_on_the_snapshot_date_is_used():
    """A record dated exactly on the snapshot is known at the snapshot (the rule is 'on or before')."""
    frames = {k: v.copy() for k, v in BASE.items()}
    adm = frames["admin_events"]
    extra = adm.iloc[[0]].copy()
    extra["event_date"] = SNAPSHOT
    extra["case_id"] = "ON-SNAPSHOT"
    frames["admin_events"] = pd.concat([adm, extra], ignore_index=True)
    eid = extra["enterprise_id"].iloc[0]
    before = BASELINE[SNAPSHOT].set_index("enterprise_id").loc[eid]
    after = _features(frames, SNAPSHOT).set_index("enterprise_id").loc[eid]
    assert after["adm_penalties_12m"] == before["adm_penalties_12m"] + 1
    assert after["adm_days_since_last"] == 0.0


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_meta_columns_come_first_and_rows_are_registered_enterprises(snapshot):
    out = BASELINE[snapshot]
    assert list(out.columns[:2]) == [c for c in META_COLUMNS if c not in ("bad", "observable")]
    registered = BASE["enterprises"].loc[BASE["enterprises"]["registration_date"] <= snapshot, "enterprise_id"]
    assert sorted(out["enterprise_id"]) == sorted(registered)


def test_enterprise_registered_after_snapshot_changes_nothing():
    frames = {k: v.copy() for k, v in BASE.items()}
    ent = frames["enterprises"]
    new = ent.iloc[[0]].copy()
    new["enterprise_id"] = "91331002MA00000019"
    new["registration_date"] = SNAPSHOT + pd.Timedelta(days=10)
    frames["enterprises"] = pd.concat([ent, new], ignore_index=True)
    tax = frames["tax_monthly"]
    rows = tax[tax["month_end"] > SNAPSHOT].iloc[:3].copy()
    rows["enterprise_id"] = "91331002MA00000019"
    frames["tax_monthly"] = pd.concat([tax, rows], ignore_index=True)
    pd.testing.assert_frame_equal(_features(frames, SNAPSHOT), BASELINE[SNAPSHOT])


# ---------------------------------------------------------------------------------------------
# Publication lags: a row whose available_date falls after the snapshot is unknown at the snapshot

from smecredit.data.schemas import AVAILABLE_DATE, AVAILABLE_DATE_TABLES, TABLES  # noqa: E402

LAG_TABLES = sorted(t for t in AVAILABLE_DATE_TABLES if t in BASE)


def _with_lags(frames, seed: int, max_days: int = 75, share_empty: float = 0.15):
    """Every periodic table with an available_date = as-of date + a random lag of 0..max_days days (some empty)."""
    rng = np.random.default_rng(seed)
    out = {k: v.copy() for k, v in frames.items()}
    for t in LAG_TABLES:
        df = out[t]
        lag = pd.to_timedelta(rng.integers(0, max_days + 1, len(df)), unit="D")
        avail = pd.Series(df[ASOF[t]].to_numpy() + lag.to_numpy(), index=df.index)
        df[AVAILABLE_DATE] = avail.where(rng.random(len(df)) >= share_empty)
        out[t] = df
    return out


def _late_rows_removed(frames, snapshot):
    """The frames without the rows about the past that were published after the snapshot."""
    out = dict(frames)
    for t in LAG_TABLES:
        df = frames[t]
        late = (df[ASOF[t]] <= snapshot) & (df[AVAILABLE_DATE] > snapshot)
        out[t] = df[~late.to_numpy()].reset_index(drop=True)
    return out


LAGGED = _with_lags(BASE, seed=11)
LAG_BASELINE = {s: _features(LAGGED, s) for s in SNAPSHOTS}


def test_the_lags_of_the_test_world_hide_rows_and_change_features():
    """Not vacuous: at each snapshot some rows about the past are not yet published, and features move."""
    for s in SNAPSHOTS:
        hidden = sum(int(((LAGGED[t][ASOF[t]] <= s) & (LAGGED[t][AVAILABLE_DATE] > s)).sum()) for t in LAG_TABLES)
        assert hidden > 10
        assert not LAG_BASELINE[s].equals(BASELINE[s])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), max_days=st.integers(1, 120), snap=st.sampled_from(range(len(SNAPSHOTS))))
def test_a_row_published_after_the_snapshot_counts_as_absent(seed, max_days, snap):
    """Features of lagged data = features of the same data without the late-published rows (whatever the lags)."""
    snapshot = SNAPSHOTS[snap]
    lagged = _with_lags(BASE, seed, max_days)
    pd.testing.assert_frame_equal(_features(lagged, snapshot),
                                  _features(_late_rows_removed(lagged, snapshot), snapshot))


def _mutate_late_row(frames, table, op, pick, factor, days, snapshot):
    """Change, delete or add one row of ``table`` published after ``snapshot`` (its as-of date may lie before)."""
    frames = {k: v.copy() for k, v in frames.items()}
    df = frames[table]
    spec = TABLES[table]
    late = np.flatnonzero((df[AVAILABLE_DATE] > snapshot).to_numpy())
    if op in ("change", "delete") and late.size == 0:
        return None
    if op == "change":
        i = df.index[late[pick % late.size]]
        for c in spec.columns:
            if c.name in spec.key or c.name in ("enterprise_id", ASOF[table]) or c.name.endswith("_id"):
                continue
            v = df.loc[i, c.name]
            if c.allowed:
                df.loc[i, c.name] = c.allowed[pick % len(c.allowed)]
            elif c.dtype == "bool":
                df.loc[i, c.name] = not bool(v)
            elif c.dtype == "int" and c.name != "year":
                df.loc[i, c.name] = int(days % 400)
            elif c.dtype == "float":
                df.loc[i, c.name] = (0.0 if pd.isna(v) else float(v)) * factor + 1.0
            elif c.dtype == "date" and c.nullable:
                df.loc[i, c.name] = snapshot - pd.Timedelta(days=int(days))
        frames[table] = df
    elif op == "delete":
        frames[table] = df.drop(index=df.index[late[pick % late.size]]).reset_index(drop=True)
    else:  # add a row about the past (as-of on or before the snapshot) published after it
        if table in ("tax_monthly", "utilities_monthly"):
            # enterprise 1 has no tax or utility records: a new (enterprise, month) key
            src = df.iloc[[pick % len(df)]].copy()
            src["enterprise_id"] = BASE["enterprises"]["enterprise_id"].iloc[1]
            months = MONTHS_UP_TO(snapshot)
            src["month_end"] = months[pick % len(months)]
        elif table in ("judicial_events", "admin_events", "ip_assets", "supply_chain", "loan_events",
                       "tax_credit_annual", "green_annual"):
            src = df.iloc[[pick % len(df)]].copy()
            src[ASOF[table]] = snapshot - pd.Timedelta(days=int(days))
            for key in ("case_id", "asset_id", "instrument_id"):
                if key in src.columns:
                    src[key] = f"LATE{pick}"
            if table in ("tax_credit_annual", "green_annual"):
                src["year"] = 1990 + pick % 30
            if table == "loan_events":
                src["event_type"] = "restructuring"
        else:
            return None  # a new monthly row of a loan or of social insurance would need a new loan or month
        src[AVAILABLE_DATE] = snapshot + pd.Timedelta(days=int(days) + 1)
        frames[table] = pd.concat([df, src], ignore_index=True)
    return frames


def MONTHS_UP_TO(snapshot):  # noqa: N802
    from features_world import MONTHS

    return MONTHS[MONTHS <= snapshot]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(LAG_TABLES), op=st.sampled_from(["change", "delete", "add"]),
       pick=st.integers(0, 10_000), factor=st.floats(0.0, 50.0, allow_nan=False), days=st.integers(0, 150),
       snap=st.sampled_from(range(len(SNAPSHOTS))))
def test_rows_published_after_snapshot_never_change_its_features(table, op, pick, factor, days, snap):
    snapshot = SNAPSHOTS[snap]
    frames = _mutate_late_row(LAGGED, table, op, pick, factor, days, snapshot)
    if frames is None:
        return
    pd.testing.assert_frame_equal(_features(frames, snapshot), LAG_BASELINE[snapshot])


def test_publication_lag_of_a_month_of_tax_data():
    """June's VAT data published on 15 July: unknown at 30 June, known at 31 July (hand-made check)."""
    frames = {k: v.copy() for k, v in BASE.items()}
    tax = frames["tax_monthly"]
    tax[AVAILABLE_DATE] = tax["month_end"] + pd.offsets.MonthBegin(1) + pd.Timedelta(days=14)
    eid = BASE["enterprises"]["enterprise_id"].iloc[2]
    june = BASE["tax_monthly"]
    june = june[(june["enterprise_id"] == eid) & (june["month_end"] == SNAPSHOT)]
    assert len(june) == 1
    at_june = _features(frames, SNAPSHOT).set_index("enterprise_id").loc[eid]
    no_june = {**BASE, "tax_monthly": BASE["tax_monthly"].drop(index=june.index)}
    expected = _features(no_june, SNAPSHOT).set_index("enterprise_id").loc[eid]
    full = BASELINE[SNAPSHOT].set_index("enterprise_id").loc[eid]
    may_apr = BASE["tax_monthly"].set_index(["enterprise_id", "month_end"]).loc[eid, "invoiced_sales"]
    assert at_june["tax_sales_3m"] == pytest.approx(may_apr.loc["2024-04-30":"2024-05-31"].mean())
    assert at_june["tax_sales_3m"] == expected["tax_sales_3m"] != full["tax_sales_3m"]
    # a month not yet published is not a month without invoices: the count stops at the last published month
    june_zero = float(june["invoiced_sales"].iloc[0] == 0)
    assert at_june["tax_zero_months_12m"] == full["tax_zero_months_12m"] - june_zero
    assert expected["tax_zero_months_12m"] == full["tax_zero_months_12m"] - june_zero + 1  # a missing row counts
    july = pd.Timestamp("2024-07-31")
    # at the end of July, June is published but July is not yet: June and the two months before it are used
    at_july = _features(frames, july).set_index("enterprise_id").loc[eid]
    assert at_july["tax_sales_3m"] == pytest.approx(may_apr.loc["2024-05-31":"2024-06-30"].mean())


def test_empty_or_absent_available_date_is_todays_rule_and_an_invalid_one_is_refused():
    from smecredit.data import from_frames
    from smecredit.exceptions import DataContractError

    empty = {k: (v.assign(**{AVAILABLE_DATE: pd.NaT}) if k in LAG_TABLES else v) for k, v in BASE.items()}
    for s in SNAPSHOTS:
        pd.testing.assert_frame_equal(_features(empty, s), BASELINE[s])
    bad = {**BASE, "tax_monthly": BASE["tax_monthly"].assign(**{AVAILABLE_DATE: "not a date"})}
    with pytest.raises(DataContractError, match=r"tax_monthly.*available_date.*wrong type: expected date"):
        from_frames(bad, validate=True)


def test_a_source_not_published_at_all_yet_counts_no_month_without_records():
    frames = {k: v.copy() for k, v in BASE.items()}
    tax = frames["tax_monthly"]
    tax[AVAILABLE_DATE] = pd.Timestamp("2030-01-01")  # nothing known before 2030
    out = _features(frames, SNAPSHOT)
    assert (out["tax_zero_months_12m"] == 0).all() and (out["tax_missing"] == 1).all()
    assert out["tax_sales_3m"].isna().all()
