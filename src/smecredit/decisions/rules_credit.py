"""Credit-history rules R08–R12 of the renewal review: repayment record, use of funds, risk class, the
model's new-loan criteria and related persons / guarantee network (see :mod:`smecredit.decisions.rules`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from smecredit.data.reference import PERSON_ROLES
from smecredit.decisions.policy_model import RenewalPolicy
from smecredit.decisions.rules_common import RuleResult, _missing, _na, _yuan, grade_number


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
