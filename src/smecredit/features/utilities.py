"""Utilities family: electricity, water and gas use — level, growth, volatility, seasonal-adjusted drop.

Source: ``utilities_monthly`` (as of ``month_end``). Growth is year on year over the same
calendar months, which removes the enterprise's own seasonality; ``elec_chg_1m`` (latest month vs
the month before) and ``elec_chg_3m`` (last 3 months vs the 3 before) are the most recent
momentum and keep the calendar's seasonality (the same for every enterprise at one snapshot). ``elec_drop_sa_3m`` is the seasonally adjusted recent
drop: the 12-month year-on-year change minus the 3-month year-on-year change (positive = the last
three months fell further, against the same months a year earlier, than the yearly trend). It
depends on the enterprise's own records only, so chunked runs give identical values. ``utilities_missing`` = 1 when the
table is absent or the enterprise has no electricity record in the last 12 months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (FeatureConfig, PreparedRaw, absent_source, anchor_month, cv, frame, nan_count,
                                       nan_mean, safe_ratio, since_registration, yoy_registered)
from smecredit.features.spec import FeatureSpec, missing_spec, windowed

FAMILY = "utilities"
SRC = "utilities_monthly"

SPECS: list[FeatureSpec] = [
    *windowed("elec_kwh_{w}m", (1, 3, 6, 12), family=FAMILY, source=SRC, kind="level",
              en="Electricity use", zh="用电量", unit="kWh", direction="down"),
    *windowed("elec_yoy_{w}m", (3, 6, 12), family=FAMILY, source=SRC, kind="change",
              en="Electricity use", zh="用电量", unit="ratio", direction="down"),
    # period-on-period growth, like si_headcount_chg_*: last month vs the one before, last 3 vs the 3 before
    FeatureSpec("elec_chg_1m", FAMILY, SRC, 1, "growth", "Electricity use", "用电量", "ratio", "down"),
    FeatureSpec("elec_chg_3m", FAMILY, SRC, 3, "growth", "Electricity use", "用电量", "ratio", "down"),
    FeatureSpec("elec_vs_own_12m", FAMILY, SRC, 3, "share", "Electricity use against the enterprise's own 12-month average",
                "用电量相对本企业12个月均值", "ratio", "down"),
    FeatureSpec("elec_cv_12m", FAMILY, SRC, 12, "cv", "Electricity use", "用电量", "ratio", "up"),
    FeatureSpec("elec_drop_sa_3m", FAMILY, SRC, 3, "share",
                "Seasonally adjusted electricity drop beyond the 12-month trend",
                "用电量季节调整后降幅（超出近12个月趋势）", "ratio", "up"),
    FeatureSpec("elec_zero_months_6m", FAMILY, SRC, 6, "count", "Months without electricity use", "无用电月数",
                "months", "up"),
    FeatureSpec("water_m3_12m", FAMILY, SRC, 12, "level", "Water use", "用水量", "m3", "down"),
    FeatureSpec("water_yoy_12m", FAMILY, SRC, 12, "change", "Water use", "用水量", "ratio", "down"),
    FeatureSpec("gas_m3_12m", FAMILY, SRC, 12, "level", "Gas use", "用气量", "m3", "down"),
    FeatureSpec("gas_yoy_12m", FAMILY, SRC, 12, "change", "Gas use", "用气量", "ratio", "down"),
    missing_spec(FAMILY, SRC, "utility", "水电气"),
]


def utilities_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Utilities features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    if not raw.has(SRC):
        return absent_source(raw, names, "utilities_missing")
    a = anchor_month(snapshot)
    elec = raw.panel(SRC, "electricity_kwh")
    water = raw.panel(SRC, "water_m3")
    gas = raw.panel(SRC, "gas_m3")
    cols: dict[str, np.ndarray] = {}
    for w in (1, 3, 6, 12):
        cols[f"elec_kwh_{w}m"] = nan_mean(elec.window(a, w))
    # short-term momentum: month on month (seasonal, but the most recent signal) and quarter on quarter
    # (NaN when the earlier months start before registration: no prior period to compare with)
    chg1 = safe_ratio(cols["elec_kwh_1m"], nan_mean(elec.window(a, 1, lag=1))) - 1
    chg3 = safe_ratio(cols["elec_kwh_3m"], nan_mean(elec.window(a, 3, lag=3))) - 1
    cols["elec_chg_1m"] = since_registration(raw, chg1, a - 1)
    cols["elec_chg_3m"] = since_registration(raw, chg3, a - 5)
    cols["elec_vs_own_12m"] = safe_ratio(cols["elec_kwh_3m"], cols["elec_kwh_12m"])
    for w in (3, 6, 12):
        cols[f"elec_yoy_{w}m"] = yoy_registered(raw, elec, a, w)
    cols["elec_cv_12m"] = cv(elec.window(a, 12))
    cols["elec_drop_sa_3m"] = cols["elec_yoy_12m"] - cols["elec_yoy_3m"]
    w6 = elec.window(a, 6)
    months = np.arange(a - 5, a + 1)
    in_data = ((months >= elec.m0) & (months <= raw.published_through(SRC, snapshot)))[None, :]
    cols["elec_zero_months_6m"] = ((np.isnan(w6) | (w6 == 0)) & in_data).sum(axis=1).astype(np.float64)
    cols["water_m3_12m"] = nan_mean(water.window(a, 12))
    cols["water_yoy_12m"] = yoy_registered(raw, water, a, 12)
    cols["gas_m3_12m"] = nan_mean(gas.window(a, 12))
    cols["gas_yoy_12m"] = yoy_registered(raw, gas, a, 12)
    missing = nan_count(elec.window(a, 12)) == 0
    for n in names[:-1]:
        if n != "elec_zero_months_6m":
            cols[n] = np.where(missing, np.nan, cols[n])
    cols["utilities_missing"] = missing.astype(np.float64)
    return frame(raw, cols)[names]

