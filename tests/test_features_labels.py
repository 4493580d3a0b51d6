"""Default label, observability and population on hand-made loans at the horizon boundary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_world import enterprise_ids

from smecredit.data import from_frames
from smecredit.features import FeatureConfig, build_features

MONTHS = pd.date_range("2023-01-31", "2025-06-30", freq="ME")  # 30 months of data
SNAP = pd.Timestamp("2024-03-31")  # anchor 2024-03; 12-month window 2024-04 … 2025-03


def _world(paths: dict[int, dict[pd.Timestamp, tuple[int, str]]], n: int = 6, months=MONTHS):
    """One loan per enterprise in ``paths``: {month_end: (dpd, class)} overrides of a clean path."""
    ids = enterprise_ids(n)
    ent = pd.DataFrame({
        "enterprise_id": ids, "name": [f"E{i}" for i in range(n)], "county": "jiaojiang",
        "mountain_county": False, "urban": True, "industry": "C",
        "registration_date": pd.Timestamp("2010-01-01"), "registered_capital": 1e6, "legal_form": "company",
        "size_class": "small", "employees": 10, "tech_sme": False, "green": False})
    loans, lm = [], []
    for k, override in paths.items():
        lid = f"L{k}"
        loans.append({"loan_id": lid, "enterprise_id": ids[k], "lender": "bank_a",
                      "start_date": pd.Timestamp("2022-12-15"), "maturity_date": pd.Timestamp("2026-12-15"),
                      "amount": 1e6, "product": "working_capital", "collateral_type": "unsecured",
                      "collateral_value": np.nan, "guarantor_type": "none", "guaranteed_share": 0.0,
                      "guarantee_insurance": False, "renewed_without_repayment": False,
                      "renewed_from_loan_id": None, "risk_class_5": "正常"})
        for m in months:
            dpd, cls = override.get(m, (0, "正常"))
            lm.append({"loan_id": lid, "enterprise_id": ids[k], "month_end": m, "balance": 5e5,
                       "days_past_due": dpd, "risk_class_5": cls, "interest_arrears": False})
    frames = {"enterprises": ent, "loans": pd.DataFrame(loans), "loan_monthly": pd.DataFrame(lm)}
    return ids, from_frames(frames)


def _row(out: pd.DataFrame, eid: str) -> pd.Series:
    return out.set_index("enterprise_id").loc[eid]


def test_default_in_last_month_of_window_is_bad_and_one_month_later_is_not():
    ids, raw = _world({0: {pd.Timestamp("2025-03-31"): (91, "次级")},
                       1: {pd.Timestamp("2025-04-30"): (120, "次级")},
                       2: {}})
    out = build_features(raw, SNAP, horizon=12)
    assert _row(out, ids[0])["bad"] == 1.0
    assert _row(out, ids[1])["bad"] == 0.0
    assert _row(out, ids[2])["bad"] == 0.0
    assert out["observable"].all()


def test_exactly_90_days_is_not_default_but_91_is():
    ids, raw = _world({0: {pd.Timestamp("2024-06-30"): (90, "关注")},
                       1: {pd.Timestamp("2024-06-30"): (91, "关注")}})
    out = build_features(raw, SNAP)
    assert _row(out, ids[0])["bad"] == 0.0
    assert _row(out, ids[1])["bad"] == 1.0


def test_nonperforming_class_without_90_dpd_is_default():
    ids, raw = _world({0: {pd.Timestamp("2024-05-31"): (0, "可疑")}, 1: {pd.Timestamp("2024-05-31"): (0, "关注")}})
    out = build_features(raw, SNAP)
    assert _row(out, ids[0])["bad"] == 1.0
    assert _row(out, ids[1])["bad"] == 0.0


def test_default_on_snapshot_month_is_not_in_window_and_excludes_from_active_population():
    ids, raw = _world({0: {SNAP: (95, "次级")}, 1: {}})
    active = build_features(raw, SNAP)
    assert ids[0] not in set(active["enterprise_id"])
    everyone = build_features(raw, SNAP, population="all")
    assert _row(everyone, ids[0])["cr_dpd_now"] == 95.0


def test_window_past_the_data_end_is_unobservable_with_empty_label():
    ids, raw = _world({0: {pd.Timestamp("2025-05-31"): (120, "次级")}})
    out = build_features(raw, "2024-06-30,2024-07-31", horizon=12)
    june, july = (_row(out[out.snapshot_date == d], ids[0]) for d in ("2024-06-30", "2024-07-31"))
    assert june["observable"] and june["bad"] == 1.0  # window 2024-07 … 2025-06 = last data month
    assert not july["observable"] and np.isnan(july["bad"])


def test_horizon_shortens_the_window():
    ids, raw = _world({0: {pd.Timestamp("2024-10-31"): (100, "次级")}})
    assert _row(build_features(raw, SNAP, horizon=6), ids[0])["bad"] == 0.0
    assert _row(build_features(raw, SNAP, horizon=7), ids[0])["bad"] == 1.0


def test_default_threshold_is_configurable():
    ids, raw = _world({0: {pd.Timestamp("2024-06-30"): (45, "关注")}})
    assert _row(build_features(raw, SNAP), ids[0])["bad"] == 0.0
    out = build_features(raw, SNAP, config=FeatureConfig(default_dpd=30))
    assert _row(out, ids[0])["bad"] == 1.0


def test_enterprise_without_loans_is_outside_active_population_and_flagged_thin_file_under_all():
    ids, raw = _world({0: {}})
    active = build_features(raw, SNAP)
    assert list(active["enterprise_id"]) == [ids[0]]
    everyone = build_features(raw, SNAP, population="all")
    row = _row(everyone, ids[5])
    assert row["credit_missing"] == 1.0 and row["bad"] == 0.0
    assert np.isnan(row["cr_max_dpd_12m"]) and row["cr_loans_total"] == 0.0


def test_explicit_population_lists_enterprises():
    ids, raw = _world({0: {}})
    out = build_features(raw, SNAP, population=[ids[3], ids[1]])
    assert list(out["enterprise_id"]) == sorted([ids[1], ids[3]])


@pytest.mark.parametrize("horizon", [0, 61, 2.5, "12"])
def test_bad_horizon_is_refused(horizon):
    from smecredit.exceptions import ConfigError

    _, raw = _world({0: {}})
    with pytest.raises(ConfigError, match=r"invalid feature configuration: 1 problem\(s\)\n  - horizon: "):
        build_features(raw, SNAP, horizon=horizon)


def test_feature_config_is_frozen_forbids_unknown_fields_and_reports_every_problem_at_once():
    from pydantic import ValidationError

    from smecredit.exceptions import ConfigError

    with pytest.raises(ConfigError) as info:
        FeatureConfig(horizon=0, default_dpd=400, no_event_days=float("inf"), horizn=12)
    text = str(info.value)
    assert text.startswith("invalid feature configuration: 4 problem(s)")
    for field in ("horizon", "default_dpd", "no_event_days", "horizn: unknown field"):
        assert f"  - {field}" in text
    assert info.value.exit_code == 2
    cfg = FeatureConfig(default_dpd=30)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.default_dpd = 60
    assert cfg.with_horizon(6) == FeatureConfig(horizon=6, default_dpd=30)
    with pytest.raises(ConfigError, match="config must be a smecredit.features.FeatureConfig"):
        build_features(_world({0: {}})[1], SNAP, config={"default_dpd": 30})
