"""Tax family: VAT invoicing level, growth, trend, volatility, months without invoices, tax grade.

Sources: ``tax_monthly`` (as of ``month_end``) and ``tax_credit_annual`` (as of
``published_date``). ``tax_missing`` = 1 when the tax table is absent or the enterprise has no
tax record in the 12 months up to the snapshot (e.g. individual businesses without VAT invoices);
the other tax features are then NaN, except ``tax_zero_months_*`` which counts such months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (THREE_YEARS_DAYS, FeatureConfig, PreparedRaw, anchor_month, cv, day_index,
                                       frame, last_per_group, mean_per_group, month_index, nan_count, nan_mean,
                                       nan_sum, rel_slope, snapshot_day, yoy_registered)
from smecredit.features.spec import FeatureSpec, missing_spec, windowed

FAMILY = "tax"
SRC = "tax_monthly"
GRADE_RANK = {"A": 1.0, "B": 2.0, "M": 3.0, "C": 4.0, "D": 5.0}
#: The category tax_grade is capped at C: D (a grade lenders rarely lend to, so often absent from training
#: panels) reads as the worst known level, not as a category unseen in training and scored as missing; the
#: full scale stays in tax_grade_rank (A=1 … D=5). See docs/features.md.
GRADE_CATEGORY_CAP = "C"
GRADE_LABELS = {g: (g, g) for g in GRADE_RANK if GRADE_RANK[g] <= GRADE_RANK[GRADE_CATEGORY_CAP]}

SPECS: list[FeatureSpec] = [
    *windowed("tax_sales_{w}m", (3, 6, 12), family=FAMILY, source=SRC, kind="level",
              en="Invoiced sales", zh="开票销售额", unit="CNY", direction="down"),
    *windowed("tax_sales_yoy_{w}m", (3, 6, 12), family=FAMILY, source=SRC, kind="change",
              en="Invoiced sales", zh="开票销售额", unit="ratio", direction="down"),
    *windowed("tax_sales_trend_{w}m", (12, 24), family=FAMILY, source=SRC, kind="trend",
              en="Invoiced sales", zh="开票销售额", unit="ratio per month", direction="down"),
    *windowed("tax_sales_cv_{w}m", (12, 24), family=FAMILY, source=SRC, kind="cv",
              en="Invoiced sales", zh="开票销售额", unit="ratio", direction="up"),
    *windowed("tax_zero_months_{w}m", (6, 12), family=FAMILY, source=SRC, kind="count",
              en="Months without invoices", zh="无开票月数", unit="months", direction="up"),
    FeatureSpec("tax_paid_12m", FAMILY, SRC, 12, "total", "Tax paid", "纳税额", "CNY", "down"),
    FeatureSpec("tax_grade", FAMILY, "tax_credit_annual", None, "category", "Tax credit grade", "纳税信用等级",
                "", "none", GRADE_LABELS),
    FeatureSpec("tax_grade_rank", FAMILY, "tax_credit_annual", None, "rank", "Tax credit grade", "纳税信用等级",
                "A=1 … D=5", "up", {str(v): (k, k) for k, v in GRADE_RANK.items()}),
    FeatureSpec("tax_grade_rank_mean_3y", FAMILY, "tax_credit_annual", 36, "rank",
                "Tax credit grade, average rank of the grades published in the last 3 years",
                "近3年公布的纳税信用等级平均档次", "A=1 … D=5", "up"),
    missing_spec(FAMILY, SRC, "tax", "纳税"),
]


def tax_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Tax features of every enterprise at ``snapshot`` (see module docstring)."""
    a = anchor_month(snapshot)
    cols: dict[str, np.ndarray] = {}
    if raw.has(SRC):
        sales = raw.panel(SRC, "invoiced_sales")
        paid = raw.panel(SRC, "tax_paid")
        for w in (3, 6, 12):
            cols[f"tax_sales_{w}m"] = nan_mean(sales.window(a, w))
        for w in (3, 6, 12):
            cols[f"tax_sales_yoy_{w}m"] = yoy_registered(raw, sales, a, w)
        for w in (12, 24):
            cols[f"tax_sales_trend_{w}m"] = rel_slope(sales.window(a, w))
        for w in (12, 24):
            cols[f"tax_sales_cv_{w}m"] = cv(sales.window(a, w))
        reg_m = raw.cached("reg_month", lambda: month_index(
            raw.registry["registration_date"]))
        for w in (6, 12):
            win = sales.window(a, w)
            months = np.arange(a - w + 1, a + 1)[None, :]
            # count only months inside the data, after registration and already published (publication lags)
            in_scope = (months >= reg_m[:, None]) & (months >= sales.m0) & (months <= raw.published_through(SRC, snapshot))
            no_inv = (np.isnan(win) | (win == 0)) & in_scope
            cols[f"tax_zero_months_{w}m"] = no_inv.sum(axis=1).astype(np.float64)
        cols["tax_paid_12m"] = nan_sum(paid.window(a, 12))
        missing = nan_count(sales.window(a, 12)) == 0
    else:
        for s in SPECS:
            if s.source == SRC:
                cols[s.name] = np.full(raw.n, np.nan)
        missing = np.ones(raw.n, dtype=bool)
    for name in list(cols):
        if name.startswith("tax_zero_months"):
            continue
        cols[name] = np.where(missing, np.nan, cols[name])
    grade, rank, mean3 = _tax_grade(raw, snapshot)
    cols["tax_grade"] = grade
    cols["tax_grade_rank"] = rank
    cols["tax_grade_rank_mean_3y"] = mean3
    cols["tax_missing"] = missing.astype(np.float64)
    out = frame(raw, cols)
    out["tax_grade"] = out["tax_grade"].astype(object)
    return out[[s.name for s in SPECS]]


def _tax_grade(raw: PreparedRaw, snapshot: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latest tax grade published on or before the snapshot (capped at C), its rank (A=1 … D=5), and the mean
    rank of the grades published in the 3 years (1,096 days) up to the snapshot (None / NaN when none)."""
    grade = np.full(raw.n, None, dtype=object)
    rank = np.full(raw.n, np.nan)
    df = raw.table("tax_credit_annual")
    if df is None or df.empty:
        return grade, rank, rank.copy()
    day = raw.cached(("days", "tax_credit_annual"), lambda: day_index(df["published_date"]))
    codes = raw.codes("tax_credit_annual")
    known = day <= snapshot_day(snapshot)
    r = df["tax_grade"].map(GRADE_RANK).to_numpy(dtype=np.float64)
    year = df["year"].to_numpy(dtype=np.float64)
    rank = last_per_group(codes[known], [day[known], year[known]], raw.n, r[known])
    ok = ~np.isnan(rank)
    letters = np.array(list(GRADE_RANK), dtype=object)
    capped = np.minimum(rank[ok], GRADE_RANK[GRADE_CATEGORY_CAP])  # D in the category is C (see GRADE_CATEGORY_CAP)
    grade[ok] = letters[capped.astype(np.int64) - 1]
    recent = known & (day > snapshot_day(snapshot) - THREE_YEARS_DAYS)
    return grade, rank, mean_per_group(codes[recent], raw.n, r[recent])


__all__ = ["SPECS", "tax_features"]
