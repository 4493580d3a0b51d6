"""Renewal-specific rules: R13 amount and term (with the group, guarantor, industry and county limits),
R14 guarantee and collateral, R16 monitoring, R17 restructuring and the derived R15 classification
(see :mod:`smecredit.decisions.rules`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from smecredit.data.reference import COLLATERAL_TYPES
from smecredit.decisions.policy_model import RenewalPolicy
from smecredit.decisions.risk_sharing import round_down
from smecredit.decisions.rules_common import (_NAMES_ZH, EPS, RuleResult, _date, _missing, _na, _pct, _yuan,
                                              primary_change)


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
