"""New-loan decisions: approve / refer / decline, a credit limit, a price tier and every reason.

:func:`decide_loans` is a pure function of (raw data as of DATE, applications, scores, policy).
Checks, each with a pass / refer / decline status and a sentence in English and Chinese:

L01 registry record; L02 credit knock-outs (dishonest debtor, abnormal-operation list, current
overdue or interest arrears); L03 major administrative penalties; L04 related persons;
L05 restructuring on record; L06 PD and grade bands; L07 revenue proxy (VAT sales over 12 months,
cut by a fall in electricity use); L08 credit limit (revenue × multiple by grade, collateral ×
advance rate or the unsecured / guarantee cap, the single-borrower cap).

Missing required data refer the application ("missing data: …"); nothing is approved on
missing data.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.data.reference import COLLATERAL_TYPES, PRODUCTS
from smecredit.decisions import facts as F
from smecredit.decisions import groups as G
from smecredit.decisions.common import (AUDIT_COLUMNS, as_date, check_scores, decided_at_now, default_override,
                                        format_reasons, model_reasons)
from smecredit.decisions.expected_loss import add_expected_loss
from smecredit.decisions.policy import LendingPolicy, Policy
from smecredit.decisions.risk_sharing import round_down
from smecredit.decisions.rules import RuleResult, grade_number, persons_zh
from smecredit.exceptions import DataContractError, sheet_rows

log = logging.getLogger(__name__)

DECISIONS = ("approve", "refer", "decline")
DECISION_ZH = {"approve": "批准", "refer": "提交人工审查", "decline": "拒绝"}
APPLICATION_COLUMNS = ["enterprise_id", "requested_amount", "product", "term_months", "collateral_type"]
SECURED = ("real_estate", "movable_property", "ip_pledge", "receivables")
#: Chinese names of the new-loan checks.
CHECK_TITLES_ZH = {"L01": "企业登记", "L02": "否决事项", "L03": "重大行政处罚", "L04": "关联自然人", "L05": "重组记录",
                   "L06": "评级与违约概率", "L07": "年收入估计", "L08": "授信额度", "L09": "担保圈"}


def check_applications(apps: pd.DataFrame, policy: Policy | None = None) -> pd.DataFrame:
    """Validate an applications frame; :class:`DataContractError` naming column and (spreadsheet) rows.

    Checked: the required columns; ``enterprise_id`` filled; ``application_id`` (when given) filled
    and unique; ``requested_amount`` a finite number > 0; ``collateral_value`` empty or a finite
    number >= 0; ``term_months`` a whole number within the policy's ``lending.min_term_months`` …
    ``max_term_months``; ``application_date`` (when given) a date; ``product`` and ``collateral_type``
    from their code lists. Every problem is reported at once.
    """
    miss = [c for c in APPLICATION_COLUMNS if c not in apps.columns]
    if miss:
        raise DataContractError(f"applications lack column(s) {miss}; expected {APPLICATION_COLUMNS} "
                                "(+ application_id, collateral_value)")
    out = apps.copy()
    problems = []
    if "application_id" not in out.columns:
        out["application_id"] = [f"APP{i:06d}" for i in range(len(out))]
    else:
        aid = out["application_id"]
        empty = (aid.isna() | (aid.astype("string").str.strip() == "")).fillna(True).to_numpy(dtype=bool)
        if empty.any():
            problems.append(f"column 'application_id' is empty at {sheet_rows(empty)}")
        dup = (~empty) & aid.astype("string").duplicated(keep=False).to_numpy(dtype=bool)
        if dup.any():
            shown = sorted({str(v) for v in aid[dup]})[:5]
            problems.append(f"column 'application_id' has duplicates {shown} at {sheet_rows(dup)}: "
                            "each application is decided once")
    if "collateral_value" not in out.columns:
        out["collateral_value"] = np.nan
    eid = out["enterprise_id"]
    no_id = (eid.isna() | (eid.astype("string").str.strip() == "")).fillna(True).to_numpy(dtype=bool)
    if no_id.any():
        problems.append(f"column 'enterprise_id' is empty at {sheet_rows(no_id)}")
    for col, required, lo_ok in (("requested_amount", True, "> 0"), ("collateral_value", False, ">= 0")):
        raw = out[col]
        v = pd.to_numeric(raw, errors="coerce").astype("float64") if raw.dtype != bool else \
            pd.Series(np.nan, index=raw.index)
        arr = v.to_numpy()
        given = raw.notna().to_numpy(dtype=bool)
        bad = (given & ~np.isfinite(arr)) | (required & ~given)
        bad |= np.isfinite(arr) & ((arr <= 0) if lo_ok == "> 0" else (arr < 0))
        if bad.any():
            problems.append(f"column {col!r} must be a finite number {lo_ok}"
                            f"{'' if required else ' or empty'} ({sheet_rows(bad)})")
        out[col] = v
    lo, hi = (policy.lending.min_term_months, policy.lending.max_term_months) if policy is not None else (1, 360)
    raw = out["term_months"]
    t = (pd.to_numeric(raw, errors="coerce").astype("float64") if raw.dtype != bool
         else pd.Series(np.nan, index=raw.index))
    ta = t.to_numpy()
    bad = ~np.isfinite(ta) | (ta != np.floor(np.where(np.isfinite(ta), ta, 0))) | (ta < lo) | (ta > hi)
    if bad.any():
        shown = sorted({str(x) for x in raw[bad].tolist()})[:5]
        problems.append(f"column 'term_months' must be a whole number of months from {lo} to {hi} (policy "
                        f"lending.min_term_months/max_term_months); got {shown} at {sheet_rows(bad)}")
    out["term_months"] = t
    if "application_date" in out.columns:
        raw = out["application_date"]
        when = pd.to_datetime(raw, errors="coerce")
        bad = (raw.notna() & when.isna()).to_numpy(dtype=bool)
        if bad.any():
            shown = sorted({str(v) for v in raw[bad].tolist()})[:5]
            problems.append(f"column 'application_date' must be a date like 2025-12-31; got {shown} at {sheet_rows(bad)}")
    for col, allowed in (("product", PRODUCTS), ("collateral_type", COLLATERAL_TYPES)):
        bad = np.flatnonzero(~out[col].isin(list(allowed)).to_numpy())
        if len(bad):
            problems.append(f"column {col!r} must be one of {list(allowed)} ({sheet_rows(bad)})")
    if problems:
        raise DataContractError("applications are invalid: " + "; ".join(problems))
    return out.reset_index(drop=True)


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


def _outcome(res: list[RuleResult]) -> str:
    st = {r.status for r in res}
    return "decline" if "decline" in st else "refer" if "refer" in st else "approve"


def decide_loans(raw: RawData, applications: pd.DataFrame, scores: pd.DataFrame, policy: Policy, as_of, *,
                 model_name: str = "", model_version: str = "", decided_at=None) -> pd.DataFrame:
    """Decide every application as of ``as_of``; one row per application, in input order.

    Returns the audit columns (``loan_id`` empty), then ``application_id, decision_zh, reasons_zh,
    requested_amount, credit_limit, approved_amount, price_tier, spread_bp, revenue_proxy``, the
    application and segment columns, ``Lnn_value``/``Lnn_status`` per check, and expected-loss
    columns (EAD = approved amount, else the requested amount).
    """
    d = as_date(as_of)
    apps = check_applications(applications, policy)
    if "application_date" in apps.columns:
        late = pd.to_datetime(apps["application_date"], errors="coerce") > d
        if late.any():
            raise DataContractError(f"applications dated after as_of {d.date()} at {sheet_rows(late.to_numpy())}: "
                                    "decide an application as of its date or later")
    sc = check_scores(scores)
    lp = policy.lending
    ef = F.enterprise_facts(raw, d, apps["enterprise_id"], penalty_lookback_months=lp.penalty_lookback_months)
    ef = ef.join(G.exposure_and_groups(raw, d, apps["enterprise_id"]))
    book = G.book_concentration(raw, d, lender=lp.own_lender)
    ef["book_total"] = book["total"]
    ef["book_industry"] = ef["industry"].map(book["industry"]).fillna(0.0).astype(float)
    ef["book_county"] = ef["county"].map(book["county"]).fillna(0.0).astype(float)
    guaranteed_by = G.guarantor_exposure(raw, d)
    distress = G.distress_reasons(raw, d)
    erec = ef.to_dict("index")
    srec = sc.to_dict("index")
    rows = []
    # approvals earlier in the batch (input order) use up the headroom of the later applications
    used: dict[tuple[str, object], float] = {}
    for app in apps.to_dict("records"):
        eid = app["enterprise_id"]
        f = dict(erec[eid])
        gid = app.get("guarantor_enterprise_id")
        gid = gid if isinstance(gid, str) and gid else None
        f["guarantor_in_distress"] = distress.get(gid, "") if gid else ""
        f["guarantor_guaranteed"] = None if gid is None else float(guaranteed_by.get(gid, 0.0)) + used.get(("guarantor", gid), 0.0)
        f["total_exposure"] = float(f.get("total_exposure") or 0.0) + used.get(("enterprise", eid), 0.0)
        f["group_exposure"] = float(f.get("group_exposure") or 0.0) + used.get(("group", f.get("group_id")), 0.0)
        f["book_total"] = float(f.get("book_total") or 0.0) + used.get(("book", None), 0.0)
        f["book_industry"] = float(f.get("book_industry") or 0.0) + used.get(("industry", f.get("industry")), 0.0)
        f["book_county"] = float(f.get("book_county") or 0.0) + used.get(("county", f.get("county")), 0.0)
        s = srec.get(eid)
        f["pd"] = np.nan if s is None else s["pd"]
        f["grade"] = np.nan if s is None else s["grade"]
        f = default_override(f)
        res, limit, pricing = evaluate_application(f, app, lp)
        dec = _outcome(res)
        approved = min(app["requested_amount"], limit) if dec == "approve" else np.nan
        if dec == "approve":
            for key in (("enterprise", eid), ("group", f.get("group_id")), ("book", None),
                        ("industry", f.get("industry")), ("county", f.get("county")), ("guarantor", gid)):
                used[key] = used.get(key, 0.0) + float(approved)
        lead_en = ["in default or non-performing: grade D, PD 1 (model score not used)"] if f["default_override"] else []
        lead_zh = [f["default_override"]] if f["default_override"] else []
        ok_en = ok_zh = ""
        if dec == "approve":
            ok_en = f"approved ¥{approved:,.0f}"
            ok_zh = f"各项审查通过，批准金额¥{approved:,.0f}"
            if approved < app["requested_amount"]:
                ok_en += f" of ¥{app['requested_amount']:,.0f} requested (credit limit)"
                by = pricing.get("limits_binding") or "授信额度"
                ok_zh += f"（申请金额¥{app['requested_amount']:,.0f}，受{by}约束，可用授信额度¥{limit:,.0f}）"
        texts = format_reasons(res, CHECK_TITLES_ZH, [] if s is None else model_reasons(s), lead_en=lead_en,
                               lead_zh=lead_zh, ok_zh=ok_zh, ok_en=ok_en)
        rev, _ = revenue_proxy(f, lp)
        row = {"enterprise_id": eid, "loan_id": None, "decision": dec, "reasons": texts["reasons"], "pd": f["pd"],
               "grade": f["grade"], "model_pd": f["model_pd"], "model_grade": f["model_grade"],
               "default_override": f["default_override"], "application_id": app["application_id"], "decision_zh": DECISION_ZH[dec],
               "reasons_zh": texts["reasons_zh"], "main_reason": texts["main_reason"],
               "reasons_passed": texts["reasons_passed"], "reasons_passed_zh": texts["reasons_passed_zh"],
               "requested_amount": app["requested_amount"], "credit_limit": limit,
               "approved_amount": approved, **pricing, "revenue_proxy": rev, "product": app["product"],
               "term_months": app["term_months"], "collateral_type": app["collateral_type"],
               "collateral_value": app["collateral_value"],
               **{k: f.get(k) for k in ("county", "mountain_county", "industry", "size_class", "tech_sme", "legal_form",
                                        "total_exposure",
                                        "group_id", "group_size", "group_exposure", "guarantee_chain_size",
                                        "guarantors_in_distress")},
               "guarantor_type": lp_guarantor(app["collateral_type"], policy), "guaranteed_share": np.nan,
               "guarantee_insurance": False, "guarantor_in_distress": f["guarantor_in_distress"]}
        for r in res:
            row[f"{r.rule}_value"] = r.value
            row[f"{r.rule}_status"] = r.status
        rows.append(row)
    out = pd.DataFrame(rows, columns=_loan_columns())
    out["model_name"] = model_name
    out["model_version"] = str(model_version)
    out["policy_sha256"] = policy.sha256
    out["as_of"] = d
    out["decided_at"] = decided_at_now() if decided_at is None else pd.Timestamp(decided_at)
    out["ead"] = out["approved_amount"].where(out["approved_amount"].notna(), out["requested_amount"])
    # a scheme's single-firm cap applies to the enterprise's policy-guaranteed exposure including this loan
    pol = out["enterprise_id"].map(ef["policy_guaranteed_exposure"]).astype(float).fillna(0.0)
    out["scheme_exposure"] = out["ead"] + pol
    for c in ("pd", "model_pd", "requested_amount", "credit_limit", "approved_amount", "spread_bp", "revenue_proxy", "ead", "term_months",
              "collateral_value", "guaranteed_share"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["tech_sme"] = out["tech_sme"].astype("boolean")
    out["mountain_county"] = out["mountain_county"].astype("boolean")
    out["guarantee_insurance"] = out["guarantee_insurance"].astype("boolean")
    out = add_expected_loss(out, policy.expected_loss)
    log.info("loan decisions as of %s: %d applications, %s", d.date(), len(out), out["decision"].value_counts().to_dict())
    return out[AUDIT_COLUMNS + [c for c in out.columns if c not in AUDIT_COLUMNS]]


CHECKS = tuple(f"L{i:02d}" for i in range(1, 10))


def _loan_columns() -> list[str]:
    """Every column of a loan-decision row before expected loss (a 0-row output has them all too)."""
    base = ["enterprise_id", "loan_id", "decision", "reasons", "pd", "grade", "model_pd", "model_grade",
            "default_override", "application_id", "decision_zh", "reasons_zh", "main_reason", "reasons_passed",
            "reasons_passed_zh", "requested_amount", "credit_limit", "approved_amount", "price_tier", "spread_bp",
            "limits_binding", "revenue_proxy", "product", "term_months", "collateral_type", "collateral_value",
            "county", "mountain_county", "industry", "size_class", "tech_sme", "legal_form", "total_exposure",
            "group_id", "group_size", "group_exposure", "guarantee_chain_size", "guarantors_in_distress",
            "guarantor_type", "guaranteed_share", "guarantee_insurance", "guarantor_in_distress"]
    return base + [f"{c}_{k}" for c in CHECKS for k in ("value", "status")]


def lp_guarantor(collateral_type: str, policy: Policy) -> str:
    """Guarantor type assumed for an application (the policy's choice when a guarantee is offered)."""
    return policy.expected_loss.application_guarantor_type if collateral_type == "guarantee" else "none"
