"""Renewal-without-repayment (无还本续贷) eligibility rules R01–R17, one pure function each.

Each rule takes ``f`` (the facts of one loan and its enterprise as of DATE, a mapping built by
:mod:`smecredit.decisions.facts`, plus the model's ``pd`` and ``grade``), the
:class:`~smecredit.decisions.policy.RenewalPolicy` ``p`` and the review date ``as_of``, and
returns a :class:`RuleResult`: rule id, the data value it looked at, a status and a sentence in
English and Chinese. Statuses:

``pass``       the condition is met;
``condition``  met only subject to a condition (reduced amount, added guarantee or collateral);
``refer``      a credit officer must decide (soft failure, or data missing: "missing data: …");
``fail``       a hard condition is not met: the loan is not eligible for renewal;
``info``       an output of the review (R15 classification after renewal);
``decline``    (new-loan checks L01–L08 only) the application is declined.

Which rules are regulation and which bank policy is documented in the policy file (``rules:``)
and in docs/decisions.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from smecredit.data.reference import COLLATERAL_TYPES, PERSON_ROLES, PRODUCTS, SIZE_CLASSES
from smecredit.decisions.policy import RenewalPolicy
from smecredit.decisions.risk_sharing import round_down

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


def r08_credit(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R08: good credit over ``overdue_lookback_months`` (24), all loans at every lender.

    Fail: a loan past due now, interest in arrears now, a dishonest judgment debtor, or an overdue
    pattern reaching ``max_consecutive_overdue_months`` consecutive (连三) or
    ``max_cumulative_overdue_months`` cumulative (累六) overdue months (past due or interest arrears).
    Refer: court enforcement cases (被执行人) in ``enforcement_lookback_months``.
    """
    dpd, arr = f.get("max_dpd_all_loans"), f.get("any_interest_arrears")
    if _na(dpd) or _na(arr):
        return _missing("R08", "loan_monthly (no current record of the enterprise's loans)", "贷款月度逾期记录")
    dis = bool(f.get("dishonest_debtor"))
    run, cum = int(f.get("overdue_run_max") or 0), int(f.get("overdue_months") or 0)
    enf = int(f.get("enforcement_cases") or 0)
    n = p.overdue_lookback_months
    value = (f"max dpd {int(dpd)}, interest arrears {'yes' if arr else 'no'}, dishonest debtor {'yes' if dis else 'no'}, "
             f"overdue months {n}m: {cum} (longest run {run}), enforcement cases {enf}")
    bad = []
    if dpd > 0:
        bad.append((f"{int(dpd)} days past due on a current loan", f"现有贷款逾期{int(dpd)}天"))
    if arr:
        bad.append(("interest in arrears", "存在欠息"))
    if dis:
        bad.append(("listed as a dishonest judgment debtor (失信被执行人)", "被列为失信被执行人"))
    if run >= p.max_consecutive_overdue_months:
        bad.append((f"{run} consecutive overdue months in the last {n} months (limit {p.max_consecutive_overdue_months})",
                    f"近{n}个月连续逾期或欠息{run}个月（达到连续{p.max_consecutive_overdue_months}期）"))
    if cum >= p.max_cumulative_overdue_months:
        bad.append((f"{cum} overdue months in the last {n} months (limit {p.max_cumulative_overdue_months})",
                    f"近{n}个月累计逾期或欠息{cum}个月（达到累计{p.max_cumulative_overdue_months}期）"))
    if bad:
        return RuleResult("R08", value, "fail", "Credit not good: " + "; ".join(b[0] for b in bad),
                          "信用状况不良：" + "；".join(b[1] for b in bad))
    if enf:
        amt = f.get("enforcement_amount")
        amt_en = "" if _na(amt) else f", enforced amount {_yuan(amt)}"
        amt_zh = "" if _na(amt) else f"，执行标的金额{_yuan(amt)}"
        return RuleResult("R08", value, "refer",
                          f"{enf} court enforcement case(s) (被执行人) in the last {p.enforcement_lookback_months} months"
                          f"{amt_en}: officer to check they are settled",
                          f"近{p.enforcement_lookback_months}个月有{enf}宗被执行案件{amt_zh}，须人工核实是否已履行")
    hist = f" ({cum} overdue month(s) in {n} months, below the limits)" if cum else ""
    return RuleResult("R08", value, "pass", f"No overdue, no interest arrears, not a dishonest debtor{hist}",
                      f"无逾期、无欠息，非失信被执行人（近{n}个月累计逾期或欠息{cum}个月）" if cum
                      else f"近{n}个月无逾期、无欠息，非失信被执行人")


def r09_misuse(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R09: no misuse of the loan's funds detected."""
    if bool(f.get("funds_misuse")):
        return RuleResult("R09", "misuse detected", "fail", "Misuse of loan funds detected (挪用贷款资金)", "发现挪用贷款资金")
    return RuleResult("R09", "none", "pass", "No misuse of loan funds recorded", "未发现挪用贷款资金")


def r10_risk_class(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R10: original loan 正常 → pass; 关注 → refer (no safe harbour); 次级/可疑/损失 → ineligible."""
    rc = f.get("risk_class_now")
    if _na(rc):
        return _missing("R10", "loan_monthly.risk_class_5 (no recent monthly record)", "五级分类")
    if rc == "正常":
        return RuleResult("R10", rc, "pass", "Original loan classified 正常 (normal)", "原贷款为正常类")
    if rc == "关注":
        return RuleResult("R10", rc, "refer", "Original loan classified 关注 (special mention): officer review, "
                          "classify on repayment capacity", "原贷款为关注类：需人工审查，按还款能力分类")
    return RuleResult("R10", rc, "fail", f"Original loan classified {rc} (non-performing): not eligible",
                      f"原贷款为{rc}类（不良），不得续贷")


def r11_new_loan_criteria(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R11: meets the new-loan PD and grade criteria (approve band pass, refer band refer)."""
    pd_, g = f.get("pd"), grade_number(f.get("grade"))
    if _na(pd_) or math.isnan(g):
        return _missing("R11", "model score (pd, grade)", "模型评分")
    value = f"PD {float(pd_):.2%}, grade {f.get('grade')}"
    if g > 10:
        return RuleResult("R11", value, "fail", "Obligor graded D (in default)", "评级为D（违约）")
    if pd_ <= p.approve_pd_max and g <= p.approve_grade_max:
        return RuleResult("R11", value, "pass",
                          f"{value} within new-loan criteria (PD ≤ {p.approve_pd_max:.2%}, grade ≤ {p.approve_grade_max})",
                          f"违约概率{float(pd_):.2%}、评级{f.get('grade')}符合新发放贷款标准")
    if pd_ <= p.refer_pd_max and g <= p.refer_grade_max:
        return RuleResult("R11", value, "refer",
                          f"{value} in the refer band (PD ≤ {p.refer_pd_max:.2%}, grade ≤ {p.refer_grade_max})",
                          f"违约概率{float(pd_):.2%}、评级{f.get('grade')}处于人工审查区间")
    return RuleResult("R11", value, "fail",
                      f"{value} outside new-loan criteria (PD > {p.refer_pd_max:.2%} or grade > {p.refer_grade_max})",
                      f"违约概率{float(pd_):.2%}、评级{f.get('grade')}不符合新发放贷款标准")


def r12_related_persons(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R12: legal representative, actual controller and main shareholders have no bad records; no
    guarantor of the loans, and no firm the borrower guarantees, is in distress (担保链 contagion)."""
    gd, od = int(f.get("guarantors_in_distress") or 0), int(f.get("guaranteed_in_distress") or 0)
    if gd or od:
        chain = int(f.get("guarantee_chain_size") or 1)
        zh = "；".join(x for x in (f"为其担保的{gd}家企业出现逾期、关注类或失信" if gd else "",
                                   f"其担保的{od}家企业出现逾期、关注类或失信，或有负债可能转为实际负债" if od else "") if x)
        return RuleResult("R12", f"guarantors in distress {gd}, guaranteed firms in distress {od}", "refer",
                          f"Guarantee network risk (担保链, {chain} firms): {gd} guarantor(s) and {od} guaranteed "
                          "firm(s) in distress", f"担保圈风险（担保圈共{chain}家企业）：{zh}")
    if not f.get("persons_known", False):
        return _missing("R12", "related_persons (legal representative, controller, shareholders)", "关联自然人信息")
    flagged = f.get("persons_flagged")
    if not _na(flagged) and str(flagged):
        return RuleResult("R12", str(flagged), "refer", f"Related persons with bad records: {flagged}",
                          f"关联自然人存在不良记录：{persons_zh(str(flagged))}")
    return RuleResult("R12", "clean", "pass", "Related persons have no bad credit record and are not dishonest debtors",
                      "关联自然人无不良信用记录、非失信被执行人")


def persons_zh(flags: str) -> str:
    """Chinese reading of the related-person flags (``role: dishonest debtor; role: bad credit record``)."""
    out = flags
    for code, zh in PERSON_ROLES.items():
        out = out.replace(code, zh)
    return out.replace(": dishonest debtor", "为失信被执行人").replace(": bad credit record", "有不良信用记录").replace("; ", "；")


def r13_amount_term(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R13 (bank policy): renewal amount (outstanding principal) ≤ original; term ≤ original and ≤ max.

    A balance above the original amount fails. A term longer than ``max_term_months`` is renewed for
    ``max_term_months`` as an explicit condition. An amount above ``max_amount`` (the 普惠 statistical
    definition, not a renewal condition) is a condition (or a referral, ``amount_cap_action``).

    Group, guarantor, industry and county limits (:func:`limit_amount`) are applied: when one binds, the
    renewal amount is reduced to fit as a condition if the cut is at most ``max_limit_reduction`` of the
    balance (the borrower repays the difference at maturity), else the case is referred to the credit
    committee for a reduction plan (no forced repayment: a limit is bank policy, and abrupt 抽贷/压贷 of a
    firm that meets the regulation's conditions is what the national guidance warns against). The
    binding limit is named, with its amounts, in the reason.
    """
    bal, amt, term = f.get("balance"), f.get("amount"), f.get("term_months")
    if _na(bal) or _na(amt) or _na(term):
        return _missing("R13", "loans.amount / loan_monthly.balance", "贷款金额或余额")
    new_term = int(max(1, min(term, p.max_term_months)))
    value = f"{_yuan(bal)} for {new_term} months (original {_yuan(amt)}, {int(term)} months)"
    if bal > amt:
        return RuleResult("R13", value, "fail", f"Outstanding {_yuan(bal)} exceeds the original amount {_yuan(amt)}",
                          f"贷款余额{_yuan(bal)}超过原贷款金额{_yuan(amt)}")
    en, zh, status = [], [], "pass"
    if term > p.max_term_months:
        status = "condition"
        en.append(f"term shortened from {int(term)} to {new_term} months (policy maximum)")
        zh.append(f"续贷期限由原{int(term)}个月调整为{new_term}个月（行内上限）")
    if bal > p.max_amount:
        status = "refer" if p.amount_cap_action == "refer" else ("condition" if status == "pass" else status)
        en.append(f"renewal amount {_yuan(bal)} above {_yuan(p.max_amount)}: outside the 普惠 small/micro definition, "
                  "approve at the bank's higher authority")
        zh.append(f"续贷金额{_yuan(bal)}超过{_yuan(p.max_amount)}：不属于普惠型小微企业贷款口径，须按行内相应权限审批")
    limited, binding = limit_amount(f, p)
    if binding:
        cut = float(bal) - limited
        names = "、".join(b[1] for b in binding)
        names_en = ", ".join(b[0] for b in binding)
        detail = "；".join(b[2] for b in binding)
        value = f"{value}; limited to {_yuan(limited)} by {names_en}"
        if limited > 0 and cut <= p.max_limit_reduction * float(bal) + EPS:
            status = "condition" if status == "pass" else status
            en.append(f"renewal amount reduced from {_yuan(bal)} to {_yuan(limited)} by the {names_en} limit; "
                      f"{_yuan(cut)} repaid at maturity")
            zh.append(f"续贷金额由贷款余额{_yuan(bal)}压降至{_yuan(limited)}，到期归还差额{_yuan(cut)}（受{names}约束：{detail}）")
        else:
            status = "refer"
            en.append(f"the {names_en} limit would cut the renewal from {_yuan(bal)} to {_yuan(limited)} "
                      f"({cut / float(bal):.0%} of the balance, more than the {p.max_limit_reduction:.0%} a renewal may be "
                      "reduced by as a condition): credit committee to decide a reduction plan, not a forced repayment")
            zh.append(f"受{names}约束，续贷金额须由贷款余额{_yuan(bal)}压降至{_yuan(limited)}（压降{_yuan(cut)}，占余额"
                      f"{cut / float(bal):.0%}，超过附条件压降上限{p.max_limit_reduction:.0%}）：提交贷审会确定压降方案，"
                      f"不直接抽贷、断贷（{detail}）")
    if status == "pass":
        return RuleResult("R13", value, "pass", f"Renewal of {_yuan(bal)} for {new_term} months within limits",
                          f"续贷金额{_yuan(bal)}、期限{new_term}个月，符合限额")
    if status == "refer":
        return RuleResult("R13", value, status, "Refer: " + "; ".join(en), "提交人工审查：" + "；".join(zh))
    return RuleResult("R13", value, status, "Renew with: " + "; ".join(en), "续贷条件：" + "；".join(zh))


def limit_amount(f: Mapping, p: RenewalPolicy) -> tuple[float, list[tuple[str, str, str, float]]]:
    """The largest renewal amount the group, guarantor, industry and county limits allow, and the
    binding ones (key, Chinese name, Chinese sentence with labelled amounts, headroom), tightest first.

    ``f["limit_checks"]`` holds every limit as (key, name, sentence, headroom): the headroom is the
    largest amount this loan may be renewed at (:func:`smecredit.decisions.renewal.renewal_limit_checks`).
    A limit binds when its headroom is below the balance; the amount is rounded down to
    ``reduced_amount_rounding`` and never negative. Without a balance or limits: (balance, []).
    """
    bal = f.get("balance")
    checks = f.get("limit_checks") or []
    if _na(bal):
        return math.nan, []
    binding = sorted([c for c in checks if c[3] < float(bal) - EPS], key=lambda c: c[3])
    if not binding:
        return float(bal), []
    return max(0.0, float(round_down(max(binding[0][3], 0.0), p.reduced_amount_rounding))), binding


def r14_collateral(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R14: a new guarantee contract on file for a guaranteed loan; collateral revalued (haircut) still
    covers the balance. A guarantee not yet signed, or a collateral shortfall, is a condition."""
    ctype, val, bal = f.get("collateral_type"), f.get("collateral_value"), f.get("balance")
    if _na(ctype):
        return _missing("R14", "loans.collateral_type", "担保方式")
    gt = f.get("guarantor_type")
    guaranteed = ctype == "guarantee" or (isinstance(gt, str) and gt not in ("none", ""))
    signed = f.get("guarantee_signed_date")
    g_res = None
    if guaranteed and _na(signed):
        g_res = ("new guarantee contract not on file", "Guaranteed loan without a new guarantee contract on file: "
                 "sign it before maturity", "保证贷款尚无新的保证合同：须在到期前签订新的保证合同")
    elif guaranteed:
        g_res = (f"new guarantee contract signed {_date(signed)}", f"New guarantee contract signed on {_date(signed)}, "
                 "before maturity", f"已于{_date(signed)}（到期前）签订新的保证合同")
    bad_guarantor = f.get("guarantor_in_distress")
    if guaranteed and isinstance(bad_guarantor, str) and bad_guarantor:
        g_res = (f"guarantor in distress ({'; '.join(_DISTRESS_EN.get(x, x) for x in bad_guarantor.split('、'))})",
                 "The guarantor is itself in arrears, default or non-performing: it is no effective guarantee and "
                 "takes no risk off the bank; replace the guarantor or add collateral before maturity",
                 f"保证人自身{bad_guarantor}，不能作为有效担保、不视为第三方风险承担方：须在到期前更换保证人或追加担保")
        signed = None
    if ctype in ("guarantee", "unsecured"):
        if g_res is None:
            return RuleResult("R14", "unsecured", "pass", "Credit (unsecured) loan: no collateral to revalue", "信用贷款，无押品")
        return RuleResult("R14", g_res[0], "condition" if _na(signed) else "pass", g_res[1], g_res[2])
    if _na(val) or _na(bal):
        return _missing("R14", "loans.collateral_value" if _na(val) else "loan_monthly.balance", "押品价值或贷款余额")
    czh = COLLATERAL_TYPES.get(ctype, "押品")
    stressed = float(val) * (1 - p.collateral_decline_tolerance)
    cov = stressed / float(bal) if bal > 0 else math.inf
    value = f"{ctype}, coverage {cov:.2f} after -{p.collateral_decline_tolerance:.0%} revaluation"
    if cov >= p.min_collateral_coverage - EPS:
        status, en, zh = "pass", (f"Collateral ({ctype}) covers the balance {cov:.2f}x after a "
                                  f"{p.collateral_decline_tolerance:.0%} revaluation haircut"), \
            f"{czh}押品按{p.collateral_decline_tolerance:.0%}折价重估后覆盖贷款余额{cov:.2f}倍"
    else:
        gap = float(bal) * p.min_collateral_coverage - stressed
        status, en, zh = "condition", (f"Collateral ({ctype}) covers only {cov:.2f}x after revaluation: add a guarantee or "
                                       f"collateral of {_yuan(gap)}"), \
            f"{czh}押品重估后覆盖率仅{cov:.2f}倍：须追加担保或押品价值{_yuan(gap)}"
    if g_res is not None:
        value = f"{value}; {g_res[0]}"
        en, zh = f"{en}; {g_res[1]}", f"{zh}；{g_res[2]}"
        if _na(signed):
            status = "condition"
    return RuleResult("R14", value, status, en, zh)


_DISTRESS_EN = {"欠息": "interest arrears", "失信被执行人": "dishonest debtor", "贷款为关注类": "a loan classed 关注",
                "贷款为次级类（不良）": "a non-performing loan (次级)", "贷款为可疑类（不良）": "a non-performing loan (可疑)",
                "贷款为损失类（不良）": "a non-performing loan (损失)"}


def r16_monitoring(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R16: refer after ``max_consecutive_renewals`` renewals in a row; set the next monitoring date."""
    n = int(f.get("consecutive_renewals") or 0)
    mat = f.get("maturity_date")
    nxt = "" if _na(mat) else _date(pd.Timestamp(mat) + pd.DateOffset(months=p.monitoring_interval_months))
    if n >= p.max_consecutive_renewals:
        return RuleResult("R16", f"{n} consecutive renewals", "refer",
                          f"Already renewed {n} times in a row (policy limit {p.max_consecutive_renewals}): "
                          "check renewal is not hiding deterioration",
                          f"已连续续贷{n}次（上限{p.max_consecutive_renewals}次）：须核查是否掩盖风险")
    return RuleResult("R16", f"{n} consecutive renewals", "pass",
                      f"{n} previous consecutive renewals; re-check operation and credit (R07, R08) by {nxt}",
                      f"此前连续续贷{n}次；须于{nxt}前复核经营与信用状况")


def restructuring_signs(f: Mapping, p: RenewalPolicy) -> list[tuple[str, str]]:
    """Signs of financial difficulty (2023 风险分类办法): with them a renewal (借新还旧) is a restructuring."""
    out = []
    if f.get("worst_class_now") == "关注":
        out.append(("a loan classified 关注 (special mention)", "有贷款为关注类"))
    if int(f.get("overdue_months_3m") or 0) > 0:
        out.append(("overdue or interest arrears in the last 3 months", "近3个月有逾期或欠息"))
    if int(f.get("arrears_months_12m") or 0) > 0:
        out.append((f"interest arrears in {int(f['arrears_months_12m'])} of the last 12 months",
                    f"近12个月有{int(f['arrears_months_12m'])}个月欠息"))
    sales, key = primary_change(f, p)
    if not math.isnan(sales) and sales < -p.max_sales_decline - EPS:
        out.append((f"{key} {_pct(sales)} year on year", f"{_NAMES_ZH[key]}同比{_pct(sales)}"))
    return out


def r17_restructuring(f: Mapping, p: RenewalPolicy, as_of) -> RuleResult:
    """R17: a restructuring case is handled under the restructuring rules, not as a renewal.

    Fail when a restructuring is on record, or when the borrower shows ``restructuring_signs_fail``
    signs of financial difficulty (a renewal would then itself be a restructuring); refer on one sign.
    """
    if bool(f.get("loan_restructured")) or bool(f.get("restructured_recently")):
        return RuleResult("R17", "restructuring on record", "fail",
                          f"Restructuring on record (last {p.restructuring_lookback_months} months): handle under the "
                          "2023 risk-classification rules for restructured assets, not as a renewal",
                          "存在贷款重组记录：按2023年风险分类办法的重组资产规定处理，不得按无还本续贷办理")
    signs = restructuring_signs(f, p)
    if not signs:
        return RuleResult("R17", "none", "pass", "No restructuring on record and no sign of financial difficulty",
                          "无贷款重组记录，无财务困难迹象")
    value = f"{len(signs)} sign(s) of financial difficulty"
    en, zh = "; ".join(x[0] for x in signs), "；".join(x[1] for x in signs)
    if len(signs) >= p.restructuring_signs_fail:
        return RuleResult("R17", value, "fail",
                          f"Financial difficulty ({en}): renewing would be a restructuring (借新还旧), to be handled "
                          "under the 2023 risk-classification rules, not as a renewal",
                          f"借款人存在财务困难迹象（{zh}）：续贷即构成重组（借新还旧），须按2023年风险分类办法处理")
    return RuleResult("R17", value, "refer",
                      f"A sign of financial difficulty ({en}): officer to decide whether the renewal is a restructuring",
                      f"存在财务困难迹象（{zh}）：须人工判断续贷是否构成重组")


def r15_classification(f: Mapping, results: Mapping[str, RuleResult]) -> RuleResult:
    """R15: after renewal the loan stays 正常 when R06–R11 pass and it was 正常; never downgraded by renewal alone."""
    rc = f.get("risk_class_now")
    core = [r for r in ("R06", "R07", "R08", "R09", "R10", "R11") if results[r].status not in ("pass", "condition")]
    if _na(rc):
        return RuleResult("R15", "unknown", "info", "Classification after renewal: on repayment capacity (current class unknown)",
                          "续贷后按还款能力分类（当前分类未知）")
    if rc == "正常" and not core:
        return RuleResult("R15", "正常", "info", "Stays 正常 after renewal (R06–R11 met); renewal alone never downgrades",
                          "续贷后保持正常类（R06–R11均满足），不因续贷本身下调分类")
    return RuleResult("R15", str(rc), "info",
                      f"Classify on repayment capacity; no downgrade from {rc} solely because of renewal" +
                      (f" ({', '.join(core)} not met)" if core else ""),
                      f"按还款能力分类，不因续贷本身从{rc}下调")


#: The eligibility rules in order (R15 is derived from the others by :func:`r15_classification`).
RULES: dict[str, Callable[[Mapping, RenewalPolicy, object], RuleResult]] = {
    "R01": r01_product, "R02": r02_size, "R03": r03_application, "R04": r04_review_timing,
    "R05": r05_financing_need, "R06": r06_lawful, "R07": r07_operation, "R08": r08_credit,
    "R09": r09_misuse, "R10": r10_risk_class, "R11": r11_new_loan_criteria, "R12": r12_related_persons,
    "R13": r13_amount_term, "R14": r14_collateral, "R16": r16_monitoring, "R17": r17_restructuring,
}


def apply_severity(res: Mapping[str, RuleResult], severities: Mapping[str, str]) -> dict[str, RuleResult]:
    """Turn the failures of rules the policy marks ``soft`` into referrals (the bank's choice)."""
    out = {}
    for rid, r in res.items():
        if r.status == "fail" and severities.get(rid) == "soft":
            r = RuleResult(rid, r.value, "refer", r.text_en + " (soft rule in this policy: referred)",
                           r.text_zh + "（本政策为软性规则：提交人工审查）")
        out[rid] = r
    return out


def evaluate(f: Mapping, p: RenewalPolicy, as_of, severities: Mapping[str, str] | None = None) -> dict[str, RuleResult]:
    """Run R01–R17 on one loan's facts; results keyed R01..R17 in order.

    ``severities`` (rule id → hard/soft/…, from the policy's ``rules`` section) turns failures of
    soft rules into referrals.
    """
    res = {rid: fn(f, p, as_of) for rid, fn in RULES.items()}
    if severities:
        res = apply_severity(res, severities)
    res["R15"] = r15_classification(f, res)
    return {rid: res[rid] for rid in sorted(res)}
