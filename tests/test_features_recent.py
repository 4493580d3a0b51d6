"""Recent-momentum electricity features and multi-year grade averages, checked by hand on a small world."""

from __future__ import annotations

import numpy as np
import pandas as pd
from features_world import SNAPSHOT, raw_of, world

from smecredit.features import build_features, describe
from smecredit.features.green import ENV_RANK
from smecredit.features.tax import GRADE_RANK


def _features(frames):
    return build_features(raw_of(frames), [SNAPSHOT], horizon=12, population="all").set_index("enterprise_id")


def test_electricity_momentum_is_computed_from_the_latest_months_only():
    frames = world(seed=3)
    util = frames["utilities_monthly"]
    out = _features(frames)
    later = util.assign(electricity_kwh=util["electricity_kwh"] * 50)  # records after the snapshot must not count
    later = later[pd.to_datetime(later["month_end"]) > SNAPSHOT]
    frames_later = {**frames, "utilities_monthly": pd.concat([util[pd.to_datetime(util.month_end) <= SNAPSHOT], later])}
    pd.testing.assert_frame_equal(out.filter(like="elec_"), _features(frames_later).filter(like="elec_"))
    for eid, g in util.assign(month_end=pd.to_datetime(util.month_end)).groupby("enterprise_id"):
        if eid not in out.index:  # registered after the snapshot
            continue
        s = g.set_index("month_end")["electricity_kwh"].sort_index()
        s = s[s.index <= SNAPSHOT]
        last6 = s.iloc[-6:].to_numpy()
        assert np.isclose(out.at[eid, "elec_kwh_1m"], last6[-1])
        assert np.isclose(out.at[eid, "elec_chg_1m"], last6[-1] / last6[-2] - 1)
        assert np.isclose(out.at[eid, "elec_chg_3m"], last6[3:].mean() / last6[:3].mean() - 1)
        assert np.isclose(out.at[eid, "elec_vs_own_12m"], last6[3:].mean() / s.iloc[-12:].mean())
    no_util = set(frames["enterprises"].enterprise_id) - set(util.enterprise_id)
    assert no_util and out.loc[sorted(no_util & set(out.index)), ["elec_kwh_1m", "elec_chg_1m", "elec_chg_3m"]].isna().all().all()


def test_grade_averages_use_grades_published_in_the_three_years_before_the_snapshot():
    frames = world(seed=5)
    tca = frames["tax_credit_annual"]
    ids = sorted(tca.enterprise_id.unique())
    extra = pd.DataFrame({"enterprise_id": [ids[0], ids[0], ids[2]], "year": [2019, 2024, 2020],
                          "published_date": pd.to_datetime(["2020-04-20", "2025-04-20", "2021-04-20"]),
                          "tax_grade": ["D", "D", "A"]})
    frames["tax_credit_annual"] = pd.concat([tca, extra], ignore_index=True)
    out = _features(frames)
    pub = frames["tax_credit_annual"].assign(published_date=lambda d: pd.to_datetime(d.published_date))
    window = pub[(pub.published_date <= SNAPSHOT) & (pub.published_date > SNAPSHOT - pd.Timedelta(days=1096))]
    expected = window.assign(r=window.tax_grade.map(GRADE_RANK)).groupby("enterprise_id")["r"].mean()
    got = out["tax_grade_rank_mean_3y"]
    expected = expected[expected.index.isin(out.index)]
    assert len(expected) >= 5 and np.allclose(got.loc[expected.index], expected)
    # the 2019 grade (published 2020, > 3 years before) and the 2025 publication do not count for ids[0]
    own = tca[tca.enterprise_id == ids[0]].tax_grade.map(GRADE_RANK).mean()
    assert np.isclose(got.loc[ids[0]], own)
    # the latest grade is still the one published last before the snapshot
    latest = pub[pub.published_date <= SNAPSHOT].sort_values("published_date").groupby("enterprise_id").last()
    latest = latest[latest.index.isin(out.index)]
    assert (out.loc[latest.index, "tax_grade"] == latest.tax_grade.replace({"D": "C"})).all()
    # D is the worst known level C in the category (never an unseen category scored as missing); the rank keeps it
    is_d = latest.index[latest.tax_grade == "D"]
    assert len(is_d) and (out.loc[is_d, "tax_grade"] == "C").all() and (out.loc[is_d, "tax_grade_rank"] == 5).all()


def test_environmental_grade_average_follows_the_same_three_year_window():
    frames = world(seed=6)
    out = _features(frames)
    g = frames["green_annual"].assign(published_date=lambda d: pd.to_datetime(d.published_date))
    window = g[(g.published_date <= SNAPSHOT) & (g.published_date > SNAPSHOT - pd.Timedelta(days=1096))]
    expected = window.assign(r=window.env_credit_grade.map(ENV_RANK)).groupby("enterprise_id")["r"].mean().dropna()
    expected = expected[expected.index.isin(out.index)]
    assert len(expected) >= 1
    assert np.allclose(out.loc[expected.index, "green_env_grade_rank_mean_3y"], expected)
    others = sorted(set(out.index) - set(expected.index))
    assert out.loc[others, "green_env_grade_rank_mean_3y"].isna().all()


def test_momentum_reads_as_period_growth_not_year_on_year():
    assert describe("elec_chg_1m", 0.12) == "Electricity use up 12% over the last month"
    assert describe("elec_chg_1m", 0.12, lang="zh") == "较上月用电量增长12%"
    assert describe("elec_chg_3m", -0.2) == "Electricity use down 20% over the last 3 months"
    assert describe("si_headcount_chg_6m", -0.1) == "Insured employees down 10% over the last 6 months"


def test_an_average_rank_is_described_as_a_rounded_number():
    from smecredit.features.catalog import describe

    en = describe("tax_grade_rank_mean_3y", 10 / 3)
    zh = describe("tax_grade_rank_mean_3y", 10 / 3, lang="zh")
    assert en.endswith(": 3.33") and zh.endswith("3.33") and "3333" not in en + zh
    assert describe("tax_grade_rank", 2.0).endswith(": B")  # a rank on the scale keeps its label
