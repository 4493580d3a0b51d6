"""Consistency across sources: is the enterprise really operating at the size it declares?

Classic cross-checks of multi-source credit evaluation: sales against electricity, headcount
against electricity, tax paid against sales, insured staff against registered staff. Sources:
``tax_monthly``, ``utilities_monthly``, ``social_insurance_monthly``, ``enterprises``.
``consistency_missing`` = 1 when any of the three monthly sources is absent for the enterprise
in the last 12 months (then the gap features that need it are NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (FeatureConfig, PreparedRaw, anchor_month, frame, nan_count, nan_mean,
                                       nan_sum, safe_ratio, since_registration, yoy_registered)
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "consistency"
SRC = "tax_monthly+utilities_monthly+social_insurance_monthly"

SPECS: list[FeatureSpec] = [
    FeatureSpec("cons_sales_per_kwh_12m", FAMILY, "tax_monthly+utilities_monthly", 12, "ratio",
                "Sales per kWh of electricity", "每千瓦时用电对应开票销售额", "CNY/kWh", "none"),
    FeatureSpec("cons_sales_elec_gap_12m", FAMILY, "tax_monthly+utilities_monthly", 12, "share",
                "Gap between sales growth and electricity growth", "开票销售额与用电量同比增速差异",
                "ratio", "up"),
    FeatureSpec("cons_kwh_per_head_12m", FAMILY, "utilities_monthly+social_insurance_monthly", 12, "ratio",
                "Electricity per insured employee (kWh per month)", "人均月用电量（千瓦时）", "kWh/person", "none"),
    FeatureSpec("cons_head_elec_gap_12m", FAMILY, "utilities_monthly+social_insurance_monthly", 12, "share",
                "Gap between headcount growth and electricity growth", "参保人数与用电量同比增速差异",
                "ratio", "up"),
    FeatureSpec("cons_tax_to_sales_12m", FAMILY, "tax_monthly", 12, "share", "Tax paid as a share of sales",
                "纳税额占开票销售额比例", "ratio", "down"),
    FeatureSpec("cons_insured_share", FAMILY, "social_insurance_monthly+enterprises", 3, "share",
                "Insured employees as a share of registered staff", "参保人数占登记从业人数比例", "ratio", "down"),
    FeatureSpec("cons_sales_per_staff_3m", FAMILY, "tax_monthly+enterprises", 3, "ratio",
                "Invoiced sales per registered employee (monthly)", "登记从业人员人均月开票销售额", "CNY/person",
                "down"),
    FeatureSpec("cons_kwh_per_staff_3m", FAMILY, "utilities_monthly+enterprises", 3, "ratio",
                "Electricity per registered employee (kWh per month)", "登记从业人员人均月用电量", "kWh/person",
                "down"),
    FeatureSpec("cons_sales_vs_own_24m", FAMILY, "tax_monthly", 3, "share",
                "Invoiced sales against the enterprise's own 24-month average", "开票销售额相对本企业24个月均值",
                "ratio", "down"),
    FeatureSpec("cons_kwh_vs_own_24m", FAMILY, "utilities_monthly", 3, "share",
                "Electricity use against the enterprise's own 24-month average", "用电量相对本企业24个月均值",
                "ratio", "down"),
    missing_spec(FAMILY, SRC, "cross-source", "多源交叉核验"),
]


def consistency_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Consistency features of every enterprise at ``snapshot`` (see module docstring)."""
    a = anchor_month(snapshot)
    nan = np.full(raw.n, np.nan)
    sales12 = sales_yoy = tax12 = elec12 = elec_yoy = head3 = head_yoy = nan
    sales3 = sales24 = elec3 = elec24 = nan
    have = {}
    if raw.has("tax_monthly"):
        sales = raw.panel("tax_monthly", "invoiced_sales")
        sales12 = nan_sum(sales.window(a, 12))
        sales_yoy = yoy_registered(raw, sales, a, 12)
        tax12 = nan_sum(raw.panel("tax_monthly", "tax_paid").window(a, 12))
        have["tax"] = nan_count(sales.window(a, 12)) > 0
        sales3, sales24 = nan_mean(sales.window(a, 3)), nan_mean(sales.window(a, 24))
    if raw.has("utilities_monthly"):
        elec = raw.panel("utilities_monthly", "electricity_kwh")
        elec12 = nan_sum(elec.window(a, 12))
        elec_yoy = yoy_registered(raw, elec, a, 12)
        have["elec"] = nan_count(elec.window(a, 12)) > 0
        elec3, elec24 = nan_mean(elec.window(a, 3)), nan_mean(elec.window(a, 24))
    if raw.has("social_insurance_monthly"):
        head = raw.panel("social_insurance_monthly", "insured_headcount")
        head3 = nan_mean(head.window(a, 3))
        head_yoy = since_registration(raw, safe_ratio(head3 - nan_mean(head.window(a, 3, lag=12)),
                                                      np.maximum(nan_mean(head.window(a, 3, lag=12)), 1.0)), a - 14)
        have["si"] = nan_count(head.window(a, 12)) > 0
    employees = raw.cached("employees", lambda: raw.registry["employees"].to_numpy(dtype=np.float64))
    months_elec = elec12 / 12.0
    cols = {
        "cons_sales_per_kwh_12m": safe_ratio(sales12, elec12),
        "cons_sales_elec_gap_12m": np.abs(sales_yoy - elec_yoy),
        "cons_kwh_per_head_12m": safe_ratio(months_elec, head3),
        "cons_head_elec_gap_12m": np.abs(head_yoy - elec_yoy),
        "cons_tax_to_sales_12m": safe_ratio(tax12, sales12),
        "cons_insured_share": safe_ratio(head3, employees),
        # levels against the declared size and against the enterprise's own history
        "cons_sales_per_staff_3m": safe_ratio(sales3, employees),
        "cons_kwh_per_staff_3m": safe_ratio(elec3, employees),
        "cons_sales_vs_own_24m": safe_ratio(sales3, sales24),
        "cons_kwh_vs_own_24m": safe_ratio(elec3, elec24),
    }
    complete = np.ones(raw.n, dtype=bool)
    for key in ("tax", "elec", "si"):
        complete &= have.get(key, np.zeros(raw.n, dtype=bool))
    cols["consistency_missing"] = (~complete).astype(np.float64)
    return frame(raw, cols)[[s.name for s in SPECS]]
