"""Supply chain: receivables and commercial bills with core enterprises.

Source: ``supply_chain`` (as of ``issue_date``; ``paid_date`` counts only when on or before the
snapshot). At the snapshot an instrument is *outstanding* when issued on or before it and not yet
paid; *overdue* when also past its due date. Late payment share: among instruments due in the
last 12 months, the share paid after the due date or still unpaid. Days-sales-outstanding uses the
12-month invoiced sales of ``tax_monthly``. Counterparty ratings map AAA=1 … B=6 (amount-weighted
over instruments issued in the last 12 months). When the table is absent every feature is NaN and
``sc_missing`` = 1; an enterprise without instruments has zero amounts and NaN ratios.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data.reference import RATINGS_CORE
from smecredit.features._panel import (absent_source, FeatureConfig, PreparedRaw, anchor_month, bincount, day_index, frame,
                                       nan_sum, safe_ratio, snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "sc"
SRC = "supply_chain"
RATING_RANK = {r: float(i + 1) for i, r in enumerate(RATINGS_CORE)}

SPECS: list[FeatureSpec] = [
    FeatureSpec("sc_outstanding", FAMILY, SRC, None, "total", "Receivables and bills outstanding with core enterprises",
                "对核心企业应收账款及票据余额", "CNY", "none"),
    FeatureSpec("sc_issued_12m", FAMILY, SRC, 12, "total", "Receivables and bills issued", "新增应收账款及票据",
                "CNY", "down"),
    FeatureSpec("sc_dso", FAMILY, SRC + "+tax_monthly", 12, "ratio", "Days sales outstanding (core enterprises)",
                "应收账款周转天数（核心企业）", "days", "up"),
    FeatureSpec("sc_counterparty_hhi_12m", FAMILY, SRC, 12, "share", "Concentration on one core enterprise (HHI)",
                "核心企业集中度（HHI）", "ratio", "up"),
    FeatureSpec("sc_rating_12m", FAMILY, SRC, 12, "ratio", "Core enterprises' rating (AAA=1 … B=6)",
                "核心企业评级（AAA=1 … B=6）", "rank", "up"),
    FeatureSpec("sc_late_share_12m", FAMILY, SRC, 12, "share", "Share of instruments paid late or unpaid",
                "逾期付款或未付票据占比", "ratio", "up"),
    FeatureSpec("sc_overdue_amount", FAMILY, SRC, None, "total", "Overdue unpaid receivables", "逾期未付应收账款",
                "CNY", "up"),
    missing_spec(FAMILY, SRC, "supply-chain", "供应链"),
]


def supply_chain_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Supply-chain features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n = raw.n
    if not raw.has(SRC):
        return absent_source(raw, names, "sc_missing")
    df = raw.raw[SRC]

    def build():
        return {"code": raw.codes(SRC), "issue": day_index(df["issue_date"]), "due": day_index(df["due_date"]),
                "paid": day_index(df["paid_date"]), "amount": df["amount"].to_numpy(dtype=np.float64),
                "rating": df["counterparty_rating"].map(RATING_RANK).to_numpy(dtype=np.float64),
                "cp": pd.factorize(df["counterparty"])[0].astype(np.int64)}
    a = raw.cached(("sc",), build)
    s = snapshot_day(snapshot)
    code, amt = a["code"], a["amount"]
    issued = a["issue"] <= s
    paid_by_s = a["paid"] <= s  # NaN (unpaid) compares False
    outstanding = issued & ~paid_by_s
    overdue = outstanding & (a["due"] < s)
    recent = issued & (a["issue"] > s - 365.25)
    cols: dict[str, np.ndarray] = {
        "sc_outstanding": bincount(code[outstanding], n, amt[outstanding]),
        "sc_issued_12m": bincount(code[recent], n, amt[recent]),
    }
    if raw.has("tax_monthly"):
        sales12 = nan_sum(raw.panel("tax_monthly", "invoiced_sales").window(anchor_month(snapshot), 12))
        cols["sc_dso"] = safe_ratio(cols["sc_outstanding"] * 365.0, sales12)
    else:
        cols["sc_dso"] = np.full(n, np.nan)
    cols["sc_counterparty_hhi_12m"] = _hhi(code[recent], a["cp"][recent], amt[recent], n)
    cols["sc_rating_12m"] = safe_ratio(bincount(code[recent], n, (amt * a["rating"])[recent]), cols["sc_issued_12m"])
    due12 = issued & (a["due"] <= s) & (a["due"] > s - 365.25)
    late = due12 & (~paid_by_s | (a["paid"] > a["due"]))
    cols["sc_late_share_12m"] = safe_ratio(bincount(code[late], n), bincount(code[due12], n))
    cols["sc_overdue_amount"] = bincount(code[overdue], n, amt[overdue])
    cols["sc_missing"] = np.zeros(n)
    return frame(raw, cols)[names]


def _hhi(code: np.ndarray, cp: np.ndarray, amount: np.ndarray, n: int) -> np.ndarray:
    """Herfindahl index of amounts over counterparties per enterprise (NaN without amounts)."""
    if code.size == 0:
        return np.full(n, np.nan)
    per = pd.DataFrame({"c": code, "p": cp, "a": amount}).groupby(["c", "p"], sort=False)["a"].sum()
    codes = per.index.get_level_values(0).to_numpy()
    tot = bincount(codes, n, per.to_numpy())
    share = safe_ratio(per.to_numpy(), tot[codes])
    hhi = bincount(codes, n, share * share)
    hhi[tot == 0] = np.nan
    return hhi
