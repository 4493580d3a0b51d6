"""Guarantee-chain and group features on hand-made enterprises: definitions, point in time, missing data, chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_world import enterprise_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smecredit.data import from_frames
from smecredit.data.schemas import AVAILABLE_DATE
from smecredit.features import build_features, feature_catalog

MONTHS = pd.date_range("2023-01-31", "2025-06-30", freq="ME")
SNAP = pd.Timestamp("2024-06-30")
NET = [c for c in feature_catalog()["name"] if c.startswith("net_")]
IDS = enterprise_ids(7)
A, B, C, D, E, F, G = IDS


def _world(guarantees: dict[str, str | None], paths: dict[str, dict[pd.Timestamp, int]] | None = None,
           starts: dict[str, str] | None = None, persons: list[tuple[str, str]] | None = None,
           with_guarantor_column: bool = True):
    """One loan per enterprise 2023-01 … 2025-06 (start overridable), guaranteed by ``guarantees[e]``;
    ``paths[e]`` = {month_end: days past due}; ``persons`` = (enterprise, person) pairs."""
    paths = paths or {}
    starts = starts or {}
    n = len(IDS)
    ent = pd.DataFrame({
        "enterprise_id": IDS, "name": [f"E{i}" for i in range(n)], "county": "jiaojiang",
        "mountain_county": False, "urban": True, "industry": "C",
        "registration_date": pd.Timestamp("2015-01-01"), "registered_capital": 1e6, "legal_form": "company",
        "size_class": "small", "employees": 10, "tech_sme": False, "green": False})
    loans, lm = [], []
    for i, e in enumerate(IDS):
        start = pd.Timestamp(starts.get(e, "2023-01-15"))
        loan = {"loan_id": f"L{i}", "enterprise_id": e, "lender": "bank_a", "start_date": start,
                "maturity_date": pd.Timestamp("2025-07-15"), "amount": 1e6, "product": "working_capital",
                "collateral_type": "guarantee", "collateral_value": np.nan, "guarantor_type": "none",
                "guaranteed_share": 0.0, "guarantee_insurance": False, "renewed_without_repayment": False,
                "renewed_from_loan_id": None, "risk_class_5": "正常"}
        if with_guarantor_column:
            loan["guarantor_enterprise_id"] = guarantees.get(e)
        loans.append(loan)
        for m in MONTHS[MONTHS >= start]:
            dpd = paths.get(e, {}).get(m, 0)
            lm.append({"loan_id": f"L{i}", "enterprise_id": e, "month_end": m, "balance": 5e5,
                       "days_past_due": dpd, "risk_class_5": "次级" if dpd > 90 else ("关注" if dpd else "正常"),
                       "interest_arrears": False})
    frames = {"enterprises": ent, "loans": pd.DataFrame(loans), "loan_monthly": pd.DataFrame(lm)}
    if persons is not None:
        frames["related_persons"] = pd.DataFrame({
            "enterprise_id": [e for e, _ in persons], "person_id": [p for _, p in persons],
            "role": "actual_controller", "dishonest_debtor": False, "dishonest_since": pd.NaT,
            "bad_credit_record": False, "bad_record_since": pd.NaT})
    return frames


def _net(frames, snapshot=SNAP, **kw) -> pd.DataFrame:
    out = build_features(from_frames(frames, validate=False), [snapshot], population="all", **kw)
    return out.set_index("enterprise_id")[NET]


# chain A-B-C-D (A guaranteed by B, B by C, D by A); E, F, G outside; F guaranteed by G from 2024-09 only
CHAIN = {A: B, B: C, D: A, F: G}
ARREARS_B = {B: {pd.Timestamp("2024-06-30"): 30}}
DEFAULT_C = {C: {m: 120 for m in pd.date_range("2024-01-31", "2024-03-31", freq="ME")}}


def test_chain_size_partners_distress_and_contagion_follow_their_definitions():
    frames = _world(CHAIN, {**ARREARS_B, **DEFAULT_C}, starts={F: "2024-09-10"})
    net = _net(frames)
    assert net.loc[[A, B, C, D, E, F, G], "net_chain_size"].tolist() == [4, 4, 4, 4, 1, 1, 1]
    assert net.loc[[A, B, C, D], "net_guarantors"].tolist() == [1, 1, 0, 1]
    assert net.loc[[A, B, C, D], "net_guaranteed_firms"].tolist() == [1, 1, 1, 0]
    # B is past due in June: A's guarantor is in distress; C defaulted in Q1 and is current again from April:
    # not in distress now (last 3 months clean) but defaulted within the last 12 months
    assert net.loc[[A, B, C, D], "net_guarantors_distress"].tolist() == [1, 0, 0, 0]
    assert net.loc[[A, B, C, D, E], "net_chain_distress"].tolist() == [1, 0, 1, 1, 0]
    # partners of B: A (guaranteed) and C (guarantor, defaulted); of A: B and D; of C: B
    assert net.loc[[A, B, C, D], "net_partner_default_12m"].tolist() == [0, 1, 0, 0]
    assert net.loc[[A, B, C, D, E], "net_chain_default_12m"].tolist() == [1, 1, 0, 1, 0]
    assert (net["net_missing"] == 0).all()
    assert net.loc[E].drop("net_chain_size").fillna(0).eq(0).all() and np.isnan(net.loc[E, "net_group_size"])


def test_events_after_the_snapshot_are_unknown_at_the_snapshot():
    # B past due only in July, C defaulting only from July, a guarantee of F by G signed in September
    later = {B: {pd.Timestamp("2024-07-31"): 30}, C: {pd.Timestamp("2024-07-31"): 120}}
    net = _net(_world(CHAIN, later, starts={F: "2024-09-10"}))
    clean = _net(_world(CHAIN, {}, starts={F: "2024-09-10"}))
    pd.testing.assert_frame_equal(net, clean)
    assert net[["net_guarantors_distress", "net_chain_distress", "net_partner_default_12m"]].sum().sum() == 0
    # the same events are seen at the end of July, and G's guarantee of F at the end of September
    july = _net(_world(CHAIN, later, starts={F: "2024-09-10"}), pd.Timestamp("2024-07-31"))
    assert july.loc[A, "net_guarantors_distress"] == 1 and july.loc[B, "net_partner_default_12m"] == 1
    sept = _net(_world(CHAIN, later, starts={F: "2024-09-10"}), pd.Timestamp("2024-09-30"))
    assert sept.loc[F, "net_guarantors"] == 1 and sept.loc[G, "net_chain_size"] == 2
    # a default more than 12 months before the snapshot no longer counts as recent contagion
    old = {C: {pd.Timestamp("2023-05-31"): 120}}
    assert _net(_world(CHAIN, old)).loc[B, "net_partner_default_12m"] == 0


def test_a_partners_status_published_after_the_snapshot_is_not_used():
    frames = _world(CHAIN, {**ARREARS_B, **DEFAULT_C})
    lm = frames["loan_monthly"]
    lm[AVAILABLE_DATE] = lm["month_end"] + pd.Timedelta(days=20)  # each month known on the 20th of the next
    net = _net(frames)
    # June (B's arrears) is not yet published on 30 June; C's Q1 default is
    assert net.loc[A, "net_guarantors_distress"] == 0 and net.loc[B, "net_partner_default_12m"] == 1
    assert _net(frames, pd.Timestamp("2024-07-25")).loc[A, "net_guarantors_distress"] == 1


def test_without_guarantor_data_the_guarantee_features_are_missing_never_zero():
    for frames in (_world({}, with_guarantor_column=False), _world({})):  # column absent, column empty
        net = _net(frames)
        assert (net["net_missing"] == 1).all()
        assert net.drop(columns=["net_missing", "net_group_size", "net_group_distress"]).isna().all().all()


def test_groups_come_from_shared_related_persons():
    persons = [(A, "P1"), (E, "P1"), (E, "P2"), (F, "P2"), (G, "P3")]
    net = _net(_world({}, ARREARS_B | {F: {pd.Timestamp("2024-05-31"): 10}}, persons=persons))
    assert net.loc[[A, E, F, G, B], "net_group_size"].tolist() == [3, 3, 3, 1, 1]
    assert net.loc[[A, E, F, G], "net_group_distress"].tolist() == [1, 1, 0, 0]


def test_chunks_and_folders_see_links_across_chunks(tmp_path):
    from smecredit.features.folder import build_features_from_folder

    frames = _world(CHAIN, {**ARREARS_B, **DEFAULT_C}, persons=[(A, "P1"), (G, "P1")])
    raw = from_frames(frames, validate=False)
    whole = build_features(raw, "2024-06-30,2024-12-31", population="all")
    pd.testing.assert_frame_equal(build_features(raw, "2024-06-30,2024-12-31", population="all", chunk_size=1),
                                  whole)
    for name, df in frames.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    folder, _ = build_features_from_folder(tmp_path, "2024-06-30,2024-12-31", chunk_size=2, population="all")
    pd.testing.assert_frame_equal(folder, whole)
    assert whole.set_index("enterprise_id").loc[A, "net_chain_size"].tolist() == [4, 4]


def test_catalogue_declares_the_family_with_monotone_directions():
    cat = feature_catalog().set_index("name").loc[NET]
    assert set(cat["family"]) == {"net"}
    assert (cat.drop(index=["net_group_size", "net_missing"])["direction"] == "up").all()
    assert cat.loc["net_missing", "description_zh"] == "缺少担保关系数据（缺失指示）"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(who=st.sampled_from(IDS), month=st.integers(0, 11), dpd=st.integers(1, 200),
       guarantor=st.sampled_from([None, *IDS]), start_days=st.integers(1, 300))
def test_random_events_after_the_snapshot_never_change_the_network_features(who, month, dpd, guarantor, start_days):
    base = _world(CHAIN, {**ARREARS_B, **DEFAULT_C})
    before = _net(base)
    frames = {k: v.copy() for k, v in base.items()}
    lm = frames["loan_monthly"]
    m = pd.Timestamp("2024-07-31") + pd.offsets.MonthEnd(month)
    hit = (lm["enterprise_id"] == who) & (lm["month_end"] == m)
    lm.loc[hit, "days_past_due"] = dpd
    lm.loc[hit, "risk_class_5"] = "次级" if dpd > 90 else "关注"
    loans = frames["loans"]
    new = loans[loans["enterprise_id"] == who].copy()
    new["loan_id"] = "NEW"
    new["start_date"] = SNAP + pd.Timedelta(days=start_days)
    new["guarantor_enterprise_id"] = guarantor
    frames["loans"] = pd.concat([loans, new], ignore_index=True)
    pd.testing.assert_frame_equal(_net(frames), before)
