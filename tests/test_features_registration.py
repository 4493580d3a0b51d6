"""Young enterprises at a snapshot: no prior period before registration, no row before registration.

Hand-made enterprises (the feature world): a firm registered less than a window ago has no records before
its registration, so a comparison with a prior period that starts (even partly) before the registration
date is missing (NaN), not growth against absent or zero months; an enterprise registered after a
snapshot is not in that snapshot's population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_world import enterprise_ids, raw_of, world

from smecredit.features import build_features
from smecredit.features.catalog import feature_specs

SNAP = pd.Timestamp("2024-12-31")
MONTHLY = ("tax_monthly", "utilities_monthly", "social_insurance_monthly")
# the comparisons with a prior period and the first month of that period at SNAP (anchor 2024-12)
PRIOR_START = {
    "tax_sales_yoy_3m": "2023-10", "tax_sales_yoy_6m": "2023-07", "tax_sales_yoy_12m": "2023-01",
    "elec_yoy_3m": "2023-10", "elec_yoy_6m": "2023-07", "elec_yoy_12m": "2023-01",
    "water_yoy_12m": "2023-01", "gas_yoy_12m": "2023-01", "elec_chg_1m": "2024-11", "elec_chg_3m": "2024-07",
    "si_headcount_chg_6m": "2024-04", "si_headcount_chg_12m": "2023-10",
}


def _young_world(registrations: dict[int, str], zeros_before: bool = False) -> dict[str, pd.DataFrame]:
    """The feature world with enterprises ``i`` registered on the given dates: their monthly records start at the
    registration month (or, with ``zeros_before``, the months before it hold zero declarations)."""
    frames = {k: v.copy() for k, v in world(seed=11).items()}
    ids = enterprise_ids(len(frames["enterprises"]))
    ent = frames["enterprises"]
    for i, date in registrations.items():
        reg = pd.Timestamp(date)
        ent.loc[ent["enterprise_id"] == ids[i], "registration_date"] = reg
        first_month_end = reg + pd.offsets.MonthEnd(0)
        for t in MONTHLY:
            df = frames[t]
            before = (df["enterprise_id"] == ids[i]) & (df["month_end"] < first_month_end)
            if zeros_before:
                num = [c for c in df.columns if c not in ("enterprise_id", "month_end", "contribution_arrears")]
                df.loc[before, num] = 0
            else:
                frames[t] = df[~before].reset_index(drop=True)
    return frames


def _row(frames, eid, snapshot=SNAP) -> pd.Series:
    out = build_features(raw_of(frames), [snapshot], population="all").set_index("enterprise_id")
    return out.loc[eid]


@pytest.mark.parametrize("zeros_before", [False, True])
def test_prior_period_before_registration_is_missing(zeros_before):
    ids = enterprise_ids(8)
    # 2: registered 2024-03-15 (only the changes over recent months have their prior period after registration);
    # 3: registered 2023-05-01 (also the 3- and 6-month year-on-year changes)
    frames = _young_world({2: "2024-03-15", 3: "2023-05-01"}, zeros_before=zeros_before)
    table = build_features(raw_of(frames), [SNAP], population="all").set_index("enterprise_id")
    young, mid, old = table.loc[ids[2]], table.loc[ids[3]], table.loc[ids[4]]
    missing = {}
    for name, start in PRIOR_START.items():
        assert not np.isnan(old[name]), name  # registered 2015: every comparison computed
        for row, reg in ((young, "2024-03-15"), (mid, "2023-05-01")):
            before = pd.Timestamp(start + "-01") < pd.Timestamp(reg)
            assert np.isnan(row[name]) == before, (name, reg, row[name])
            missing[name, reg] = before
    # both cases occur: the young firm keeps its recent changes but no yoy, the older loses its 12-month yoy only
    assert not missing["si_headcount_chg_6m", "2024-03-15"] and missing["tax_sales_yoy_3m", "2024-03-15"]
    assert not missing["tax_sales_yoy_3m", "2023-05-01"] and missing["tax_sales_yoy_12m", "2023-05-01"]
    # derived from the year-on-year changes, and the consistency gaps that compare them
    for name in ("elec_drop_sa_3m", "cons_sales_elec_gap_12m", "cons_head_elec_gap_12m"):
        assert np.isnan(young[name]) and np.isnan(mid[name]) and not np.isnan(old[name]), name
    # levels and counts over the months since registration stay computed
    for name in ("tax_sales_3m", "elec_kwh_3m", "si_headcount_3m", "reg_age_years"):
        assert not np.isnan(young[name]), name
    assert young["tax_missing"] == 0 and young["utilities_missing"] == 0


def test_the_registration_day_decides_a_partial_first_month():
    """Registered on the first day of the prior period's first month: the whole month is covered, the change is
    computed; registered one day later, that month is partial and the change is missing."""
    ids = enterprise_ids(8)
    frames = _young_world({2: "2023-10-01", 3: "2023-10-02"})
    table = build_features(raw_of(frames), [SNAP], population="all").set_index("enterprise_id")
    assert not np.isnan(table.loc[ids[2], "tax_sales_yoy_3m"])
    assert np.isnan(table.loc[ids[3], "tax_sales_yoy_3m"])
    # the value on the first day is the ordinary year-on-year change of the sums
    tax = frames["tax_monthly"]
    own = tax[tax["enterprise_id"] == ids[2]].set_index("month_end")["invoiced_sales"]
    cur = own.loc["2024-10-31":"2024-12-31"].sum()
    prev = own.loc["2023-10-31":"2023-12-31"].sum()
    assert table.loc[ids[2], "tax_sales_yoy_3m"] == pytest.approx(cur / prev - 1)


def test_enterprise_registered_after_the_snapshot_is_absent():
    ids = enterprise_ids(8)
    frames = _young_world({2: "2025-01-10"}, zeros_before=True)  # records before registration are ignored too
    for population in ("all", "active_loan", [ids[2], ids[4]]):
        table = build_features(raw_of(frames), [SNAP], population=population)
        assert ids[2] not in set(table["enterprise_id"]), population
    assert ids[4] in set(build_features(raw_of(frames), [SNAP], population=[ids[2], ids[4]])["enterprise_id"])
    # registered on the snapshot day: in the population, aged 0
    frames = _young_world({2: "2024-12-31"})
    assert _row(frames, ids[2])["reg_age_years"] == 0.0


def test_old_enterprises_unchanged_by_a_young_neighbour():
    """Making one enterprise young changes no other enterprise's features (the rule is per enterprise)."""
    ids = enterprise_ids(8)
    base = build_features(raw_of(world(seed=11)), [SNAP], population="all").set_index("enterprise_id")
    young = build_features(raw_of(_young_world({2: "2024-03-15"})), [SNAP], population="all").set_index(
        "enterprise_id")
    others = [e for e in base.index if e != ids[2]]
    pd.testing.assert_frame_equal(young.loc[others], base.loc[others])


def test_every_prior_period_feature_of_the_catalogue_is_covered():
    """A new year-on-year or period-on-period feature must be added to the young-enterprise rule (and here)."""
    compared = {s.name for s in feature_specs() if s.kind in ("change", "growth")}
    # cr_balance_chg_12m: same rule, but the world's young firms have no loan a year earlier (NaN either way)
    assert compared == set(PRIOR_START) | {"cr_balance_chg_12m"}
