"""The new-loan checks L01–L09 and the credit limits of :func:`smecredit.decisions.loan.decide_loans`.

:func:`evaluate_application` runs the checks on one application's facts; :func:`credit_limits` lists
every limit (revenue, collateral, enterprise, group, guarantor, industry and county) with its headroom;
:func:`revenue_proxy` estimates the annual revenue the revenue limit is based on.
"""

from __future__ import annotations

import math

import pandas as pd

from smecredit.data.reference import COLLATERAL_TYPES
from smecredit.decisions.policy_model import LendingPolicy
from smecredit.decisions.risk_sharing import round_down
from smecredit.decisions.rules_common import RuleResult, grade_number
from smecredit.decisions.rules_credit import persons_zh

SECURED = ("real_estate", "movable_property", "ip_pledge", "receivables")
#: Chinese names of the new-loan checks.
CHECK_TITLES_ZH = {"L01": "企业登记", "L02": "否决事项", "L03": "重大行政处罚", "L04": "关联自然人", "L05": "重组记录",
                   "L06": "评级与违约概率", "L07": "年收入估计", "L08": "授信额度", "L09": "担保圈"}
CHECKS = tuple(f"L{i:02d}" for i in range(1, 10))


def _r(cid: str, value, status: str, en: str, zh: str) -> RuleResult:
    return RuleResult(cid, str(value), status, en, zh)


def _missing(cid: str, what: str, zh: str) -> RuleResult:
    return RuleResult(cid, "missing", "refer", f"missing data: {what}", f"数据缺失：{zh}")


def revenue_proxy(f: dict, lp: LendingPolicy) -> tuple[float, str]:
    """Annual revenue proxy and its basis.

    ``vat``: 12-month VAT sales, cut by the fall in electricity when it exceeds the threshold (basis
    ``vat, electricity -25% …``). For a firm that cannot have VAT invoices (no VAT invoicing in 24 months
    and a legal form in ``alternative_evidence_forms``): ``fixed_quota`` — 12-month tax paid / the
    fixed-quota tax rate — or, with electricity records only, NaN and basis ``electricity`` (the limit is
    then the alternative-evidence cap). NaN and ``""`` when nothing establishes revenue.
    """
    from smecredit.decisions.rules import no_vat

    if no_vat(f, lp.alternative_evidence_forms):
        n = int(f.get("tax_paid_12m_months") or 0)
        if n >= lp.min_history_months and pd.notna(f.get("tax_paid_12m")):
            return float(f["tax_paid_12m"]) * 12.0 / n / lp.fixed_quota_tax_rate, "fixed_quota"
        if int(f.get("elec_12m_months") or 0) >= lp.min_history_months and pd.notna(f.get("elec_12m")):
            return math.nan, "electricity"
        return math.nan, ""
    if int(f.get("sales_12m_months") or 0) < lp.min_history_months or pd.isna(f.get("sales_12m")):
        return math.nan, ""
    sales = float(f["sales_12m"]) * 12.0 / int(f["sales_12m_months"])
    e_now, e_prev = f.get("elec_12m"), f.get("elec_prev_12m")
    if (int(f.get("elec_12m_months") or 0) >= lp.min_history_months and int(f.get("elec_prev_12m_months") or 0)
            >= lp.min_history_months and pd.notna(e_now) and pd.notna(e_prev) and e_prev > 0):
        change = float(e_now) / float(e_prev) - 1
        if change < -lp.electricity_haircut_above:
            return sales * (1 + change), f"vat, electricity {change:+.0%} year on year"
    return sales, "vat"


def evaluate_application(f: dict, app: dict, lp: LendingPolicy) -> tuple[list[RuleResult], float, dict]:
    """Run L01–L08 on one application; returns (results, credit limit, pricing)."""
    res: list[RuleResult] = []
    if not f.get("registered", False):
        res.append(_missing("L01", "enterprises (no registry record)", "企业登记信息"))
    else:
        res.append(_r("L01", f.get("size_class"), "pass", "Enterprise registered", "企业已登记"))
    # L02 knock-outs
    dpd, arr = f.get("max_dpd_all_loans"), f.get("any_interest_arrears")
    ko = []
    if bool(f.get("dishonest_debtor")):
        ko.append(("dishonest judgment debtor (失信被执行人)", "失信被执行人"))
    if bool(f.get("abnormal_operation")):
        ko.append(("on the abnormal-operation list", "列入经营异常名录"))
    if pd.notna(dpd) and dpd > 0:
        ko.append((f"{int(dpd)} days past due on a current loan", f"现有贷款逾期{int(dpd)}天"))
    if pd.notna(arr) and bool(arr):
        ko.append(("interest in arrears", "存在欠息"))
    first = pd.isna(dpd)
    if ko:
        res.append(_r("L02", "; ".join(k[0] for k in ko), "decline", "Knock-out: " + "; ".join(k[0] for k in ko),
                      "否决项：" + "；".join(k[1] for k in ko)))
    else:
        res.append(_r("L02", "first loan" if first else "clean", "pass",
                      "No current loans (first loan, 首贷)" if first else "No overdue, arrears or dishonest listing",
                      "无存量贷款（首贷）" if first else "无逾期、欠息或失信记录"))
    pen = int(f.get("major_penalties") or 0)
    res.append(_r("L03", pen, "refer" if pen else "pass",
                  f"{pen} major administrative penalties in {lp.penalty_lookback_months} months" if pen
                  else "No major administrative penalty", f"重大行政处罚{pen}次" if pen else "无重大行政处罚"))
    if not f.get("persons_known", False):
        res.append(_missing("L04", "related_persons", "关联自然人信息"))
    elif isinstance(f.get("persons_flagged"), str) and f["persons_flagged"]:
        res.append(_r("L04", f["persons_flagged"], "refer", f"Related persons with bad records: {f['persons_flagged']}",
                      f"关联自然人存在不良记录：{persons_zh(f['persons_flagged'])}"))
    else:
        res.append(_r("L04", "clean", "pass", "Related persons clean", "关联自然人无不良记录"))
    rs_ = bool(f.get("restructured_recently"))
    res.append(_r("L05", "restructuring" if rs_ else "none", "refer" if rs_ else "pass",
                  "Restructuring on record" if rs_ else "No restructuring on record", "存在重组记录" if rs_ else "无重组记录"))
    # L06 PD / grade
    p_, g = f.get("pd"), grade_number(f.get("grade"))
    if pd.isna(p_) or math.isnan(g):
        res.append(_missing("L06", "model score (pd, grade)", "模型评分"))
    else:
        val = f"PD {p_:.2%}, grade {f.get('grade')}"
        if g <= lp.approve_grade_max and p_ <= lp.approve_pd_max:
            res.append(_r("L06", val, "pass", f"{val} in the approve band", f"违约概率{p_:.2%}、评级{f.get('grade')}处于批准区间"))
        elif g <= lp.refer_grade_max and p_ <= lp.refer_pd_max:
            res.append(_r("L06", val, "refer", f"{val} in the refer band", f"违约概率{p_:.2%}、评级{f.get('grade')}处于人工审查区间"))
        else:
            res.append(_r("L06", val, "decline", f"{val} above the refer band (PD > {lp.refer_pd_max:.2%} or grade > "
                          f"{lp.refer_grade_max})", f"违约概率{p_:.2%}、评级{f.get('grade')}超出可接受范围"))
    # L07 revenue proxy
    rev, note = revenue_proxy(f, lp)
    if note == "electricity":
        res.append(_r("L07", "electricity records", "pass",
                      "No VAT invoicing by legal form: operation evidenced by 12 months of electricity records; limit "
                      f"capped at ¥{lp.alternative_evidence_limit:,.0f}",
                      f"无增值税开票（个体工商户、农户等）：以近12个月用电记录为经营证据，额度以"
                      f"¥{lp.alternative_evidence_limit:,.0f}为限"))
    elif math.isnan(rev):
        if f.get("legal_form") in lp.alternative_evidence_forms:
            res.append(_missing("L07", "tax_monthly (invoiced sales or tax paid) or utilities_monthly "
                                f"({lp.min_history_months}+ of the last 12 months)", "近12个月开票、纳税或用电记录"))
        else:
            res.append(_missing("L07", f"tax_monthly.invoiced_sales ({lp.min_history_months}+ of the last 12 months)",
                                "近12个月开票销售额"))
    elif note == "fixed_quota":
        res.append(_r("L07", f"¥{rev:,.0f}", "pass", f"Annual revenue proxy ¥{rev:,.0f} (fixed-quota tax paid / "
                      f"{lp.fixed_quota_tax_rate:.0%})", f"年收入估计¥{rev:,.0f}（按近12个月定额纳税额÷征收率"
                      f"{lp.fixed_quota_tax_rate:.0%}推算，无增值税开票）"))
    else:
        cut = note.split(", ", 1)[1] if ", " in note else ""
        res.append(_r("L07", f"¥{rev:,.0f}", "pass", f"Annual revenue proxy ¥{rev:,.0f} (VAT sales" +
                      (f", cut for {cut})" if cut else ")"),
                      f"年收入估计¥{rev:,.0f}（增值税开票销售额" +
                      (f"，按用电量同比降幅{cut.split()[1]}下调）" if cut else "）")))
    # L08 limit, net of what the enterprise (and its group) already owe at every lender
    limit, pricing = math.nan, {"price_tier": None, "spread_bp": math.nan, "limits_binding": ""}
    ctype, cval = app["collateral_type"], app.get("collateral_value")
    if ctype in SECURED and pd.isna(cval):
        res.append(_missing("L08", "collateral_value of the offered collateral", "押品评估价值"))
    elif (not math.isnan(rev) or note == "electricity") and not math.isnan(g) and g <= 10:
        lims = credit_limits(f, app, lp, rev, g)
        head = min(h for _, _, _, h in lims)
        limit = max(0.0, float(round_down(max(head, 0.0), lp.limit_rounding)))
        req = float(app["requested_amount"])
        binding = sorted([x for x in lims if x[3] < req or x[3] <= head + 1e-6], key=lambda x: x[3])
        pricing["limits_binding"] = "；".join(x[1] for x in binding)
        detail_en = "; ".join(f"{k} ¥{h:,.0f}" for k, _, _, h in lims)
        detail_zh = "；".join(f"{zh}" for _, _, zh, _ in lims)
        first = min(lims, key=lambda x: x[3])
        val = f"¥{limit:,.0f}"
        if limit < lp.min_limit:
            res.append(_r("L08", val, "decline",
                          f"Credit limit ¥{limit:,.0f} below the minimum ¥{lp.min_limit:,.0f} (bound by {first[0]}; {detail_en})",
                          f"可用授信额度¥{limit:,.0f}，低于最低授信额度¥{lp.min_limit:,.0f}；受{first[1]}约束。"
                          f"各项额度：{detail_zh}"))
        else:
            res.append(_r("L08", val, "pass", f"Credit limit ¥{limit:,.0f} (bound by {first[0]}; {detail_en})",
                          f"可用授信额度¥{limit:,.0f}，受{first[1]}约束。各项额度：{detail_zh}"))
        tier = next(t for t in lp.price_tiers if t.max_grade >= g) if g <= lp.price_tiers[-1].max_grade else None
        if tier is not None:
            pricing.update(price_tier=tier.tier, spread_bp=tier.spread_bp)
    # L09 group and guarantee network: contagion from guarantors in distress
    gd, od = int(f.get("guarantors_in_distress") or 0), int(f.get("guaranteed_in_distress") or 0)
    chain = int(f.get("guarantee_chain_size") or 1)
    bad = f.get("guarantor_in_distress")
    if isinstance(bad, str) and bad:
        res.append(_r("L09", "offered guarantor in distress", "refer",
                      "The offered guarantor is itself in arrears, default or non-performing: no effective guarantee, "
                      "no risk transfer; replace the guarantor", f"所提供的保证人自身{bad}，不能作为有效担保、不视为第三方"
                      "风险承担方：须更换保证人"))
    elif gd or od:
        zh = "；".join(x for x in (f"为其担保的{gd}家企业出现逾期、关注类或失信" if gd else "",
                                   f"其担保的{od}家企业出现逾期、关注类或失信，或有负债可能转为实际负债" if od else "") if x)
        res.append(_r("L09", f"guarantors in distress {gd}, guaranteed firms in distress {od}", "refer",
                      f"Guarantee network risk (担保链): {gd} guarantor(s) and {od} guaranteed firm(s) in distress",
                      f"担保圈风险（担保圈共{chain}家企业）：{zh}"))
    else:
        res.append(_r("L09", f"guarantee network {chain}", "pass",
                      "No guarantor or guaranteed firm in distress" + (f" (guarantee network of {chain})" if chain > 1 else ""),
                      f"担保圈共{chain}家企业，无风险企业" if chain > 1 else "无互保、联保关系"))
    return res, limit, pricing


def _concentration_headroom(cap: float, book: float, segment: float) -> float:
    """Largest new amount x keeping (segment + x) / (book + x) <= cap."""
    return (cap * book - segment) / (1.0 - cap) if cap < 1 else math.inf


def credit_limits(f: dict, app: dict, lp: LendingPolicy, rev: float, g: float) -> list[tuple[str, str, str, float]]:
    """Every limit on a new loan as (key, Chinese name, Chinese sentence with its labelled amounts, headroom).

    Revenue: annual revenue proxy × the grade's multiple, minus what the enterprise owes at every lender;
    collateral: value × advance rate (or the unsecured / guarantee cap); enterprise: single-borrower cap
    minus its exposure; group: group cap minus the group's exposure (groups of 2+); guarantor: cap per
    guarantor enterprise minus what it already guarantees; industry and county: the largest amount
    keeping the segment's share of the book within the cap.
    """
    expo = float(f.get("total_exposure") or 0.0)
    mult = lp.revenue_multiple_by_grade[str(int(g))]
    if math.isnan(rev):   # no VAT invoices, operation evidenced by electricity only
        cap = lp.alternative_evidence_limit
        out = [("alternative evidence cap", "无开票经营额度", f"无开票经营额度¥{max(cap - expo, 0):,.0f}（以用电记录为"
                f"经营证据，上限¥{cap:,.0f}，扣除现有各行负债¥{expo:,.0f}）", cap - expo)]
    else:
        rev_lim = rev * mult
        out = [("revenue", "收入口径额度", f"收入口径额度¥{max(rev_lim - expo, 0):,.0f}（年收入估计¥{rev:,.0f}×{mult:.2f}倍"
                f"=¥{rev_lim:,.0f}，扣除现有各行负债¥{expo:,.0f}）", rev_lim - expo)]
    ctype, cval = app["collateral_type"], app.get("collateral_value")
    if ctype in SECURED:
        rate = lp.advance_rate.get(ctype, 0.0)
        c_lim = float(cval) * rate
        out.append(("collateral", "押品额度", f"押品额度¥{c_lim:,.0f}（{COLLATERAL_TYPES[ctype]}评估价值¥{float(cval):,.0f}"
                    f"×抵质押率{rate:.0%}）", c_lim))
    elif ctype == "guarantee":
        out.append(("guarantee cap", "保证贷款上限", f"保证贷款上限¥{lp.guarantee_cap:,.0f}", lp.guarantee_cap))
    else:
        out.append(("unsecured cap", "信用贷款上限", f"信用贷款上限¥{lp.unsecured_cap:,.0f}", lp.unsecured_cap))
    out.append(("enterprise cap", "单户授信上限", f"单户授信余额¥{max(lp.max_limit - expo, 0):,.0f}（单户上限"
                f"¥{lp.max_limit:,.0f}，扣除现有各行负债¥{expo:,.0f}）", lp.max_limit - expo))
    gsize, gexpo = int(f.get("group_size") or 1), float(f.get("group_exposure") or expo)
    if gsize > 1:
        out.append(("group cap", "集团授信上限", f"集团授信余额¥{max(lp.max_group_exposure - gexpo, 0):,.0f}（关联企业"
                    f"{gsize}家，集团上限¥{lp.max_group_exposure:,.0f}，扣除集团现有负债¥{gexpo:,.0f}）",
                    lp.max_group_exposure - gexpo))
    gexp = f.get("guarantor_guaranteed")
    if gexp is not None and not pd.isna(gexp):
        out.append(("guarantor cap", "单一保证人担保上限", f"保证人可担保余额¥{max(lp.max_guarantor_exposure - gexp, 0):,.0f}"
                    f"（单一保证人上限¥{lp.max_guarantor_exposure:,.0f}，扣除其已担保余额¥{float(gexp):,.0f}）",
                    lp.max_guarantor_exposure - float(gexp)))
    book = f.get("book_total")
    if book is not None and not pd.isna(book) and book >= max(lp.concentration_min_book, 1.0):
        for key, zh, cap, seg in (("industry", "行业集中度上限", lp.max_industry_share, f.get("book_industry", 0.0)),
                                  ("county", "区县集中度上限", lp.max_county_share, f.get("book_county", 0.0))):
            h = _concentration_headroom(cap, float(book), float(seg or 0.0))
            out.append((key, zh, f"{zh}{cap:.0%}：本行该{'行业' if key == 'industry' else '区县'}贷款余额¥{float(seg or 0):,.0f}"
                        f"，占全部¥{float(book):,.0f}，可新增¥{max(h, 0):,.0f}", h))
    return out
