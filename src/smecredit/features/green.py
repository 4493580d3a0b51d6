"""Green family: carbon intensity, green-credit label, environmental credit grade.

Source: ``green_annual`` (as of ``published_date``): the latest figures published on or before
the snapshot. ``green_missing`` = 1 when the table is absent or nothing was published for the
enterprise by the snapshot (then the other features are NaN / empty).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data.reference import ENV_GRADES
from smecredit.features._panel import (THREE_YEARS_DAYS, FeatureConfig, PreparedRaw, day_index, frame,
                                       last_per_group, mean_per_group, snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "green"
SRC = "green_annual"
ENV_RANK = {g: float(i + 1) for i, g in enumerate(ENV_GRADES)}
ENV_EN = {"green": "green (trustworthy)", "blue": "blue (good)", "yellow": "yellow (warning)", "red": "red (poor)",
          "black": "black (seriously untrustworthy)"}

SPECS: list[FeatureSpec] = [
    FeatureSpec("green_carbon_intensity", FAMILY, SRC, None, "ratio", "Carbon intensity (tCO2 per 10k CNY revenue)",
                "碳排放强度（吨二氧化碳/万元营收）", "tCO2 per 10k CNY", "up"),
    FeatureSpec("green_credit_label", FAMILY, SRC, None, "flag", "Holds a green-credit label", "获得绿色信贷标识",
                "", "down", {"0.0": ("No green-credit label", "未获得绿色信贷标识")}),
    FeatureSpec("green_env_grade", FAMILY, SRC, None, "category", "Environmental credit grade", "企业环境信用等级",
                "", "none", {k: (ENV_EN[k], v) for k, v in ENV_GRADES.items()}),
    FeatureSpec("green_env_grade_rank", FAMILY, SRC, None, "rank", "Environmental credit grade", "企业环境信用等级",
                "green=1 … black=5", "up", {str(v): (ENV_EN[k], ENV_GRADES[k]) for k, v in ENV_RANK.items()}),
    FeatureSpec("green_env_grade_rank_mean_3y", FAMILY, SRC, 36, "rank",
                "Environmental credit grade, average rank of the grades published in the last 3 years",
                "近3年公布的企业环境信用等级平均档次", "green=1 … black=5", "up"),
    missing_spec(FAMILY, SRC, "green", "绿色"),
]


def green_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Green features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n = raw.n
    grade = np.full(n, None, dtype=object)
    if not raw.has(SRC):
        cols = {c: np.full(n, np.nan) for c in names}
        cols["green_env_grade"] = grade
        cols["green_missing"] = np.ones(n)
        out = frame(raw, cols)
        out["green_env_grade"] = out["green_env_grade"].astype(object)
        return out[names]
    df = raw.raw[SRC]
    a = raw.cached(("green",), lambda: {
        "code": raw.codes(SRC), "day": day_index(df["published_date"]),
        "year": df["year"].to_numpy(dtype=np.float64),
        "carbon": pd.to_numeric(df["carbon_intensity"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
        "label": df["green_credit_label"].to_numpy(dtype=np.float64),
        "rank": df["env_credit_grade"].map(ENV_RANK).to_numpy(dtype=np.float64)})
    known = a["day"] <= snapshot_day(snapshot)
    recent = a["day"][known] > snapshot_day(snapshot) - THREE_YEARS_DAYS
    code, keys = a["code"][known], [a["year"][known], a["day"][known]]
    has = np.zeros(n, dtype=bool)
    has[code] = True
    rank = last_per_group(code, keys, n, a["rank"][known])
    letters = np.array(list(ENV_RANK), dtype=object)
    ok = ~np.isnan(rank)
    grade[ok] = letters[rank[ok].astype(np.int64) - 1]
    cols = {
        "green_carbon_intensity": last_per_group(code, keys, n, a["carbon"][known]),
        "green_credit_label": last_per_group(code, keys, n, a["label"][known]),
        "green_env_grade": grade,
        "green_env_grade_rank": rank,
        "green_env_grade_rank_mean_3y": mean_per_group(code[recent], n, a["rank"][known][recent]),
        "green_missing": (~has).astype(np.float64),
    }
    out = frame(raw, cols)
    out["green_env_grade"] = out["green_env_grade"].astype(object)
    return out[names]
