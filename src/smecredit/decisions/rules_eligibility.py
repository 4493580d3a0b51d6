"""Eligibility rules R01–R07 of the renewal review: product, enterprise size, application, review timing,
financing need, lawful operation and normal operation (see :mod:`smecredit.decisions.rules`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from smecredit.data.reference import PRODUCTS, SIZE_CLASSES
from smecredit.decisions.policy_model import RenewalPolicy
from smecredit.decisions.rules_common import (_NAMES_ZH, _TABLES, EPS, RuleResult, _date, _missing, _na, _pct, _yuan,
                                              no_vat, operating_changes, primary_change)


def r01_product(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R01: the product is a working-capital or operating loan eligible for renewal."""
    prod = f.get("product")
    if _na(prod):
        return _missing("R01", "loans.product")
    if prod in p.eligible_products:
        return RuleResult("R01", prod, "pass", f"Product {prod} is eligible for renewal without repayment",
                          f"贷款品种（{PRODUCTS.get(prod, '其他')}）属于无还本续贷适用范围")
    return RuleResult("R01", prod, "fail", f"Product {prod} is not eligible for renewal without repayment",
                      f"贷款品种（{PRODUCTS.get(prod, '其他')}）不适用无还本续贷")


def r02_size(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R02: small or micro enterprise, or medium with the loan maturing by the cut-off (2027-09-30)."""
    size, mat = f.get("size_class"), f.get("maturity_date")
    if _na(size):
        return _missing("R02", "enterprises.size_class", "企业规模")
    if size in p.eligible_size_classes:
        return RuleResult("R02", size, "pass", f"Enterprise size {size} is eligible",
                          f"企业规模（{SIZE_CLASSES.get(size, '未知')}企业）符合条件")
    cutoff = pd.Timestamp(p.medium_maturity_cutoff)
    if size == "medium":
        if _na(mat):
            return _missing("R02", "loans.maturity_date", "贷款到期日")
        if pd.Timestamp(mat) <= cutoff:
            return RuleResult("R02", f"medium, matures {_date(mat)}", "pass",
                              f"Medium enterprise, loan matures {_date(mat)}, on or before {_date(cutoff)}",
                              f"中型企业，贷款于{_date(mat)}到期，不晚于{_date(cutoff)}")
        return RuleResult("R02", f"medium, matures {_date(mat)}", "fail",
                          f"Medium enterprise, loan matures {_date(mat)}, after {_date(cutoff)}",
                          f"中型企业，贷款于{_date(mat)}到期，晚于{_date(cutoff)}")
    return RuleResult("R02", size, "fail", f"Enterprise size {size} is not eligible",
                      f"企业规模（{SIZE_CLASSES.get(size, '未知')}企业）不符合条件")


def r03_application(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R03: the borrower applied for renewal on its own initiative before maturity."""
    if not p.require_application:
        return RuleResult("R03", "not required", "pass", "Application before review not required by policy",
                          "本政策不要求评审前提交申请")
    app = f.get("application_date")
    if _na(app):
        return RuleResult("R03", "none", "refer",
                          f"No renewal application on file as of {_date(as_of)}: the borrower must apply before maturity",
                          f"截至{_date(as_of)}未收到续贷申请：借款人须在到期前主动申请")
    return RuleResult("R03", _date(app), "pass", f"Borrower applied on {_date(app)}, before maturity",
                      f"借款人于{_date(app)}（到期前）提出申请")


def r04_review_timing(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R04: the review (this decision) is completed at least ``review_lead_days`` before maturity."""
    mat = f.get("maturity_date")
    if _na(mat):
        return _missing("R04", "loans.maturity_date", "贷款到期日")
    days = (pd.Timestamp(mat) - pd.Timestamp(as_of)).days
    if days >= p.review_lead_days:
        return RuleResult("R04", f"{days} days to maturity", "pass",
                          f"Reviewed {days} days before maturity (at least {p.review_lead_days} required)",
                          f"到期前{days}天完成评审（要求至少{p.review_lead_days}天）")
    return RuleResult("R04", f"{days} days to maturity", "fail",
                      f"Only {days} days to maturity: review cannot be completed {p.review_lead_days} days before maturity",
                      f"距到期仅{days}天，无法在到期前{p.review_lead_days}天完成评审")


def r05_financing_need(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R05: continuing financing need (loan still drawn) and operations still invoicing."""
    bal, amt = f.get("balance"), f.get("amount")
    if _na(bal):
        return _missing("R05", "loan_monthly.balance (no recent monthly record)", "贷款月度余额")
    util = float(bal) / float(amt) if amt and amt > 0 else math.nan
    alt_zh = ""
    if no_vat(f, p.alternative_evidence_forms):
        ev = [(k, zh) for k, zh in (("tax_paid_3m_months", "定额纳税"), ("elec_3m_months", "用电"),
                                    ("si_3m_months", "社保缴纳")) if int(f.get(k) or 0) > 0]
        if not ev:
            return _missing("R05", "tax_monthly.tax_paid, utilities_monthly, social_insurance_monthly (last 3 months; "
                            "no VAT invoicing by legal form)", "近3个月定额纳税、用电或社保缴纳记录（无增值税开票）")
        value = f"drawn {util:.0%}, no VAT invoicing; last 3 months: {', '.join(k.split('_3m')[0] for k, _ in ev)}"
        alt_zh = f"（无增值税开票，近3个月有{'、'.join(z for _, z in ev)}记录）"
    else:
        if int(f.get("sales_3m_months") or 0) == 0:
            return _missing("R05", "tax_monthly.invoiced_sales (last 3 months)", "近3个月开票销售额")
        sales3 = float(f.get("sales_3m") or 0.0)
        value = f"drawn {util:.0%}, sales 3m {_yuan(sales3)}"
        if sales3 <= 0:
            return RuleResult("R05", value, "refer", "No invoiced sales in the last 3 months: financing need not evident",
                              "近3个月无开票销售，融资需求存疑")
    if not util >= p.min_utilisation - EPS:
        return RuleResult("R05", value, "refer",
                          f"Loan only {util:.0%} drawn (policy {p.min_utilisation:.0%}): continuing financing need not evident",
                          f"贷款使用率仅{util:.0%}（要求{p.min_utilisation:.0%}），持续融资需求不明显")
    if alt_zh:
        return RuleResult("R05", value, "pass", f"Loan {util:.0%} drawn and still operating (alternative evidence): "
                          "financing need continues", f"贷款使用率{util:.0%}且持续经营{alt_zh}，仍有融资需求")
    return RuleResult("R05", value, "pass", f"Loan {util:.0%} drawn and still invoicing: financing need continues",
                      f"贷款使用率{util:.0%}且持续开票，仍有融资需求")


def r06_lawful(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R06: no major administrative penalty in the look-back, not on the abnormal-operation list."""
    if not f.get("registered", False):
        return _missing("R06", "enterprises (no registry record)", "企业登记信息")
    pen, ab = int(f.get("major_penalties") or 0), bool(f.get("abnormal_operation"))
    value = f"major penalties {pen}, abnormal list {'yes' if ab else 'no'}"
    if pen > 0:
        return RuleResult("R06", value, "fail",
                          f"{pen} major administrative penalt{'ies' if pen > 1 else 'y'} in the last {p.penalty_lookback_months} months",
                          f"近{p.penalty_lookback_months}个月有{pen}次重大行政处罚")
    if ab:
        return RuleResult("R06", value, "fail", "Listed on the abnormal-operation list (经营异常名录)", "列入经营异常名录")
    return RuleResult("R06", value, "pass", "No major penalty and not on the abnormal-operation list",
                      "无重大行政处罚，未列入经营异常名录")


def r07_operation(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R07: normal operation: turnover (VAT sales), electricity and headcount not down beyond the thresholds.

    A firm that cannot have VAT invoices (:func:`no_vat`) is judged on alternative evidence: fixed-quota
    tax paid and electricity (at least one must be known, else missing data), and headcount if insured.
    """
    ch = operating_changes(f, p.min_history_months)
    alt = no_vat(f, p.alternative_evidence_forms)
    skipped = {"tax_paid"}
    if alt:
        skipped = {"sales"} | {k for k in ("tax_paid", "electricity") if math.isnan(ch[k])}
        if {"tax_paid", "electricity"} <= skipped:
            return _missing("R07", f"tax_monthly.tax_paid or utilities_monthly.electricity_kwh (24 months to "
                            f"{_date(as_of)}; no VAT invoicing by legal form)", "定额纳税或用电记录（近24个月，无增值税开票）")
    if math.isnan(ch["headcount"]) and f.get("legal_form") not in p.headcount_required_for:
        skipped.add("headcount")
    miss = [k for k, v in ch.items() if math.isnan(v) and k not in skipped]
    if miss:
        return _missing("R07", ", ".join(f"{_TABLES[k]} (24 months to {_date(as_of)})" for k in miss),
                        "、".join(_NAMES_ZH[k] for k in miss) + "（近24个月）")
    shown = [k for k in ch if k not in skipped or k == "headcount"]
    value = ", ".join(f"{k} {'n/a' if k in skipped else _pct(ch[k])}" for k in shown)
    zh_value = "，".join(f"{_NAMES_ZH[k]}{'不适用' if k in skipped else _pct(ch[k])}" for k in shown)
    if alt:
        zh_value = "无增值税开票，以替代数据判断：" + zh_value
        value = "no VAT invoicing (alternative evidence): " + value
    prim, key = primary_change(f, p)
    if prim <= -p.hard_sales_decline + EPS:
        return RuleResult("R07", value, "fail",
                          f"Not operating normally: {value} year on year ({key} drop beyond {p.hard_sales_decline:.0%})",
                          f"生产经营不正常：同比{zh_value}（{_NAMES_ZH[key]}降幅超过{p.hard_sales_decline:.0%}）")
    limits = {"sales": p.max_sales_decline, "tax_paid": p.max_sales_decline, "electricity": p.max_electricity_decline,
              "headcount": p.max_headcount_decline}
    over = [k for k in ch if k not in skipped and ch[k] < -limits[k] - EPS]
    if over:
        return RuleResult("R07", value, "refer",
                          f"Operations weakening: {value} year on year (limit " +
                          ", ".join(f"{k} -{limits[k]:.0%}" for k in over) + ")",
                          f"经营指标下滑：同比{zh_value}")
    if prim < -p.reduce_amount_above_decline - EPS:
        return RuleResult("R07", value, "condition",
                          f"{key} down {-prim:.0%} year on year: renew with the amount reduced in proportion",
                          f"{_NAMES_ZH[key]}同比下降{-prim:.0%}：按比例压降续贷金额")
    return RuleResult("R07", value, "pass", f"Operating normally: {value} year on year", f"生产经营正常：同比{zh_value}")
