"""Social insurance family: insured headcount, its change, contribution arrears.

Source: ``social_insurance_monthly`` (as of ``month_end``). ``si_missing`` = 1 when the table is
absent or the enterprise has no record in the last 12 months (then the other features are NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (absent_source, FeatureConfig, PreparedRaw, anchor_month, frame, nan_count, nan_mean,
                                       safe_ratio, since_registration)
from smecredit.features.spec import FeatureSpec, missing_spec, windowed

FAMILY = "si"
SRC = "social_insurance_monthly"

SPECS: list[FeatureSpec] = [
    FeatureSpec("si_headcount_3m", FAMILY, SRC, 3, "level", "Insured employees", "参保人数", "persons", "down"),
    *windowed("si_headcount_chg_{w}m", (6, 12), family=FAMILY, source=SRC, kind="growth",
              en="Insured employees", zh="参保人数", unit="ratio", direction="down"),
    *windowed("si_arrears_months_{w}m", (3, 12), family=FAMILY, source=SRC, kind="count",
              en="Months with social-insurance arrears", zh="社保欠缴月数", unit="months", direction="up"),
    FeatureSpec("si_arrears_now", FAMILY, SRC, 1, "flag", "Social-insurance contributions in arrears",
                "当前欠缴社保费", "", "up", {"0.0": ("Social-insurance contributions paid up", "社保费无欠缴")}),
    missing_spec(FAMILY, SRC, "social-insurance", "社保"),
]


def social_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Social-insurance features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    if not raw.has(SRC):
        return absent_source(raw, names, "si_missing")
    a = anchor_month(snapshot)
    head = raw.panel(SRC, "insured_headcount")
    arrears = raw.panel(SRC, "contribution_arrears")
    cols: dict[str, np.ndarray] = {"si_headcount_3m": nan_mean(head.window(a, 3))}
    for w in (6, 12):
        # average of the last 3 months against the average of the 3 months ``w`` months earlier
        before = nan_mean(head.window(a, 3, lag=w))
        cols[f"si_headcount_chg_{w}m"] = safe_ratio(cols["si_headcount_3m"] - before, np.maximum(before, 1.0))
        cols[f"si_headcount_chg_{w}m"][np.isnan(before)] = np.nan
        # the months compared with start before registration: no prior period
        cols[f"si_headcount_chg_{w}m"] = since_registration(raw, cols[f"si_headcount_chg_{w}m"], a - w - 2)
    for w in (3, 12):
        cols[f"si_arrears_months_{w}m"] = np.nansum(arrears.window(a, w), axis=1)
    cols["si_arrears_now"] = np.nan_to_num(arrears.at(a), nan=0.0)
    missing = nan_count(head.window(a, 12)) == 0
    for n in names[:-1]:
        cols[n] = np.where(missing, np.nan, cols[n])
    cols["si_missing"] = missing.astype(np.float64)
    return frame(raw, cols)[names]
