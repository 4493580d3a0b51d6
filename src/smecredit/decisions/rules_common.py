"""Shared parts of the renewal rules (:mod:`smecredit.decisions.rules`): the result type, the value
formatters and the operating-change measures that several rules (and the renewal terms) read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from smecredit.decisions.policy_model import RenewalPolicy

#: Tolerance of threshold comparisons on ratios (so a fall of exactly 30% is "30%", not 30.0000000001%).
EPS = 1e-9

STATUSES = ("pass", "condition", "refer", "fail", "decline", "info")


@dataclass(frozen=True)
class RuleResult:
    """Outcome of one rule for one loan."""

    rule: str
    value: str
    status: str
    text_en: str
    text_zh: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


def _na(x) -> bool:
    if x is None or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _missing(rule: str, what: str, what_zh: str | None = None) -> RuleResult:
    return RuleResult(rule, "missing", "refer", f"missing data: {what}", f"数据缺失：{what_zh or what}")


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def _yuan(x: float) -> str:
    return f"¥{x:,.0f}"


def _date(x) -> str:
    return pd.Timestamp(x).strftime("%Y-%m-%d")


def grade_number(grade) -> float:
    """Numeric grade: "1".."10" → 1..10, "D" (default) → 11, missing → NaN."""
    if _na(grade):
        return math.nan
    g = str(grade).strip()
    if g.upper() == "D":
        return 11.0
    try:
        return float(int(float(g)))
    except ValueError:
        return math.nan


def _yoy(now, prev, n_now, n_prev, min_months) -> float:
    if _na(now) or _na(prev) or int(n_now or 0) < min_months or int(n_prev or 0) < min_months or not prev > 0:
        return math.nan
    return float(now) / float(prev) - 1.0


def no_vat(f: Mapping, forms) -> bool:
    """True when VAT invoices cannot be expected: a legal form in ``forms`` (individual business, farmer
    cooperative: often fixed-quota 定期定额 taxpayers) with no VAT invoicing in the last 24 months."""
    return f.get("legal_form") in forms and int(f.get("vat_invoicing_months_24m") or 0) == 0


def operating_changes(f: Mapping, min_months: int) -> dict[str, float]:
    """Year-on-year change of VAT sales, tax paid, electricity and insured headcount (NaN when not computable)."""
    hc_now, hc_ago = f.get("headcount_now"), f.get("headcount_12m_ago")
    hc = math.nan if _na(hc_now) or _na(hc_ago) or not hc_ago > 0 else float(hc_now) / float(hc_ago) - 1.0
    return {
        "sales": _yoy(f.get("sales_12m"), f.get("sales_prev_12m"), f.get("sales_12m_months"),
                      f.get("sales_prev_12m_months"), min_months),
        "tax_paid": _yoy(f.get("tax_paid_12m"), f.get("tax_paid_prev_12m"), f.get("tax_paid_12m_months"),
                         f.get("tax_paid_prev_12m_months"), min_months),
        "electricity": _yoy(f.get("elec_12m"), f.get("elec_prev_12m"), f.get("elec_12m_months"),
                            f.get("elec_prev_12m_months"), min_months),
        "headcount": hc,
    }


def primary_change(f: Mapping, p: RenewalPolicy) -> tuple[float, str]:
    """The change that measures turnover: VAT sales; for a firm without VAT invoices (:func:`no_vat`), the
    fixed-quota tax paid, else electricity. Returns (change, key); NaN when not computable."""
    ch = operating_changes(f, p.min_history_months)
    if not no_vat(f, p.alternative_evidence_forms):
        return ch["sales"], "sales"
    if not math.isnan(ch["tax_paid"]):
        return ch["tax_paid"], "tax_paid"
    return ch["electricity"], "electricity"


_NAMES_ZH = {"sales": "开票销售额", "tax_paid": "定额纳税额", "electricity": "用电量", "headcount": "参保人数"}
_TABLES = {"sales": "tax_monthly.invoiced_sales", "tax_paid": "tax_monthly.tax_paid",
           "electricity": "utilities_monthly.electricity_kwh", "headcount": "social_insurance_monthly.insured_headcount"}
