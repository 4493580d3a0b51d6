"""Intellectual property: patent and trademark counts, pledged share, valuation.

Source: ``ip_assets`` (as of ``grant_date``). An asset counts as pledged at the snapshot only when
``pledged`` is true and ``pledge_date`` is on or before the snapshot; a pledge without a date cannot
be placed in time and is ignored (point-in-time safe). When the table is absent every feature is
NaN and ``ip_missing`` = 1; an enterprise without assets has zero counts and a NaN pledged share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (absent_source, FeatureConfig, PreparedRaw, bincount, day_index, frame, safe_ratio,
                                       snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "ip"
SRC = "ip_assets"
PATENTS = ("invention_patent", "utility_patent", "design_patent")

SPECS: list[FeatureSpec] = [
    FeatureSpec("ip_patents", FAMILY, SRC, None, "count", "Patents granted", "授权专利", "items", "down"),
    FeatureSpec("ip_invention_patents", FAMILY, SRC, None, "count", "Invention patents", "发明专利", "items", "down"),
    FeatureSpec("ip_trademarks", FAMILY, SRC, None, "count", "Registered trademarks", "注册商标", "items", "down"),
    FeatureSpec("ip_new_12m", FAMILY, SRC, 12, "count", "New patents and trademarks", "新增专利和商标", "items",
                "down"),
    FeatureSpec("ip_pledged_share", FAMILY, SRC, None, "share", "Share of IP assets pledged", "知识产权已质押比例",
                "ratio", "up"),
    FeatureSpec("ip_valuation", FAMILY, SRC, None, "total", "Appraised value of IP assets", "知识产权评估价值",
                "CNY", "down"),
    missing_spec(FAMILY, SRC, "intellectual-property", "知识产权"),
]


def ip_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """IP features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n = raw.n
    if not raw.has(SRC):
        return absent_source(raw, names, "ip_missing")
    df = raw.raw[SRC]

    def build():
        return {"code": raw.codes(SRC), "grant": day_index(df["grant_date"]), "pledge": day_index(df["pledge_date"]),
                "pledged": df["pledged"].to_numpy(dtype=bool), "type": df["asset_type"].to_numpy(dtype=object),
                "value": pd.to_numeric(df["valuation"], errors="coerce").to_numpy(dtype=np.float64,
                                                                                  na_value=np.nan)}
    a = raw.cached(("ip",), build)
    s = snapshot_day(snapshot)
    known = a["grant"] <= s
    code = a["code"]
    n_all = bincount(code[known], n)
    pledged = known & a["pledged"] & (a["pledge"] <= s)
    val = known & ~np.isnan(a["value"])
    cols = {
        "ip_patents": bincount(code[known & np.isin(a["type"], PATENTS)], n),
        "ip_invention_patents": bincount(code[known & (a["type"] == "invention_patent")], n),
        "ip_trademarks": bincount(code[known & (a["type"] == "trademark")], n),
        "ip_new_12m": bincount(code[known & (a["grant"] > s - 365.25)], n),
        "ip_pledged_share": safe_ratio(bincount(code[pledged], n), n_all),
        "ip_valuation": bincount(code[val], n, a["value"][val]),
        "ip_missing": np.zeros(n),
    }
    return frame(raw, cols)[names]
