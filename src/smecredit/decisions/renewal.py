"""Advance review of renewals without repayment of principal (无还本续贷).

:func:`decide_renewals` selects the loans maturing inside the policy's look-ahead window,
evaluates R01–R17 (:mod:`smecredit.decisions.rules`) on point-in-time facts and the model's
scores, and decides for each loan:

``renew_without_repayment``  every rule passes;
``renew_with_conditions``    rules pass subject to conditions (reduced amount, added guarantee or collateral);
``refer``                    a soft rule fails or required data are missing (never approved on missing data);
``require_repayment``        a hard rule fails: the loan is not eligible and is repaid at maturity.

It is a pure function of (raw data as of DATE, scores, policy): the same inputs give the same
rows, except ``decided_at``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.decisions import facts as F
from smecredit.decisions import groups as G
from smecredit.decisions import rules as R
from smecredit.decisions.common import (AUDIT_COLUMNS, as_date, check_scores, decided_at_now,
                                        default_override, format_reasons, model_reasons)
from smecredit.decisions.expected_loss import add_expected_loss
from smecredit.decisions.policy import Policy
from smecredit.decisions.risk_sharing import round_down
from smecredit.exceptions import ConfigError

log = logging.getLogger(__name__)

DECISIONS = ("renew_without_repayment", "renew_with_conditions", "refer", "require_repayment")
RENEWED = ("renew_without_repayment", "renew_with_conditions")
DECISION_ZH = {"renew_without_repayment": "无还本续贷", "renew_with_conditions": "附条件续贷",
               "refer": "提交人工审查", "require_repayment": "到期还款（不予续贷）"}


def review_window(policy: Policy, window: tuple[int, int] | None = None) -> tuple[int, int]:
    """The review window in days after the decision date: ``window`` (start, end) or the policy's.

    Any window from today (0) up to the policy's horizon ``max_window_days`` may be asked for; beyond
    it, or with the start after the end, :class:`~smecredit.exceptions.ConfigError` (exit code 2).
    """
    p = policy.renewal
    if window is None:
        return p.window_start_days, p.window_end_days
    start, end = (int(x) for x in window)
    if not 0 <= start <= end <= p.max_window_days:
        raise ConfigError(f"review window {start}-{end} days refused: it must start today or later, end after it "
                          f"starts, and end within the policy's horizon max_window_days = {p.max_window_days}")
    return start, end


def select_candidates(raw: RawData, as_of, policy: Policy, *, window: tuple[int, int] | None = None) -> pd.DataFrame:
    """Loans drawn by ``as_of`` maturing within [as_of + start, as_of + end] days (:func:`review_window`).

    Only loans on the books at ``as_of`` are candidates: a positive balance in their latest monthly
    record, dated within the facts' data age (:func:`smecredit.decisions.groups.current_loans`). Loans
    repaid, written off or disposed (zero balance, or no record any more) are excluded: they have
    nothing to renew and no current balance to price. Sorted by maturity date then loan id.
    """
    d = as_date(as_of)
    start, end = review_window(policy, window)
    loans = raw["loans"]
    lo, hi = d + pd.Timedelta(days=start), d + pd.Timedelta(days=end)
    c = loans[(loans["start_date"] <= d) & (loans["maturity_date"] >= lo) & (loans["maturity_date"] <= hi)]
    c = c[c["loan_id"].isin(G.current_loans(raw, d)["loan_id"])]
    return c.sort_values(["maturity_date", "loan_id"], kind="mergesort").reset_index(drop=True)


def outcome(results: dict[str, R.RuleResult]) -> str:
    """Decision from rule statuses: any fail → require_repayment; any refer → refer;
    any condition → renew_with_conditions; else renew_without_repayment."""
    st = {r.status for r in results.values()}
    if "fail" in st:
        return "require_repayment"
    if "refer" in st:
        return "refer"
    if "condition" in st:
        return "renew_with_conditions"
    return "renew_without_repayment"


def _renewal_terms(f: dict, results: dict[str, R.RuleResult], policy: Policy) -> tuple[float, int, list[str]]:
    p = policy.renewal
    bal, term = f.get("balance"), f.get("term_months")
    amount = float(bal) if pd.notna(bal) else np.nan
    new_term = int(max(1, min(term, p.max_term_months))) if pd.notna(term) else p.max_term_months
    conditions = []
    if results["R07"].status == "condition":
        change, key = R.primary_change(f, p)
        decline = -change
        amount = float(round_down(amount * (1 - decline), p.reduced_amount_rounding))
        conditions.append(f"amount reduced to ¥{amount:,.0f} in line with the {decline:.0%} fall in {key}")
    limited, _ = R.limit_amount(f, p)
    if not np.isnan(limited) and not np.isnan(amount):
        amount = min(amount, limited)
    if results["R13"].status == "condition":
        conditions.append(results["R13"].text_en.split(": ", 1)[-1])
    if results["R14"].status == "condition":
        conditions.append(results["R14"].text_en)
    return amount, new_term, conditions


def decide_renewals(raw: RawData, scores: pd.DataFrame, policy: Policy, as_of, *, model_name: str = "",
                    model_version: str = "", decided_at=None, candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Review every renewal candidate as of ``as_of``; one row per loan.

    Parameters
    ----------
    raw : RawData
        Raw tables (only records dated on or before ``as_of`` are used).
    scores : DataFrame
        ``enterprise_id, pd, grade`` and optionally ``reason_1..3`` (the model's scores as of ``as_of``).
        Enterprises without a score are referred ("missing data: model score").
    policy : Policy
        The decision policy.
    as_of : date-like
        The review date.
    model_name, model_version : str
        Recorded in every row.
    decided_at : timestamp, optional
        Recorded in every row (default: now, UTC).
    candidates : DataFrame, optional
        Loans to review (rows of ``raw["loans"]``); default :func:`select_candidates`.

    Returns
    -------
    DataFrame
        The audit columns (``enterprise_id, loan_id, decision, reasons, pd, grade, model_name,
        model_version, policy_sha256, as_of, decided_at``), then ``decision_zh, reasons_zh,
        maturity_date, balance, renewal_amount, renewal_term_months, conditions,
        risk_class_before, risk_class_after, next_review_date``, segment and guarantee columns,
        ``Rnn_value``/``Rnn_status`` for R01–R17, and expected-loss columns
        (:func:`smecredit.decisions.expected_loss.add_expected_loss`; EAD is the renewal amount).
    """
    d = as_date(as_of)
    sc = check_scores(scores)
    cand = select_candidates(raw, d, policy) if candidates is None else candidates.reset_index(drop=True)
    p = policy.renewal
    lf = F.loan_facts(raw, d, cand["loan_id"], max_data_age_days=p.max_data_age_days)
    ef = F.enterprise_facts(raw, d, cand["enterprise_id"], penalty_lookback_months=p.penalty_lookback_months,
                            restructuring_lookback_months=p.restructuring_lookback_months,
                            overdue_lookback_months=p.overdue_lookback_months,
                            enforcement_lookback_months=p.enforcement_lookback_months)
    ef = ef.join(G.exposure_and_groups(raw, d, cand["enterprise_id"], max_data_age_days=p.max_data_age_days))
    lp = policy.lending
    book = G.book_concentration(raw, d, lender=lp.own_lender, max_data_age_days=p.max_data_age_days)
    cur = G.current_loans(raw, d, p.max_data_age_days)
    guaranteed_by = cur[cur["guarantor_enterprise_id"].notna()].groupby("guarantor_enterprise_id")["balance"].sum()
    own_debt = cur.groupby("enterprise_id")["balance"].sum()
    distress = G.distress_reasons(raw, d, p.max_data_age_days, cur=cur)
    lrec, erec = lf.to_dict("index"), ef.to_dict("index")
    # reductions of renewals earlier in the batch (review order) free headroom for the later ones
    freed: dict[tuple[str, object], float] = {}
    severities = {rid: meta.severity for rid, meta in policy.rules.items()}
    titles_zh = {rid: meta.title_zh for rid, meta in policy.rules.items()}
    srec = sc.to_dict("index")
    rows = []
    for lid, eid in zip(cand["loan_id"], cand["enterprise_id"], strict=True):
        f = {**lrec[lid], **erec[eid]}
        s = srec.get(eid)
        f["pd"] = np.nan if s is None else s["pd"]
        f["grade"] = np.nan if s is None else s["grade"]
        f = default_override(f)
        gid = f.get("guarantor_enterprise_id")
        gid = gid if isinstance(gid, str) and gid else None
        f["guarantor_in_distress"] = distress.get(gid, "") if gid else ""
        in_book = lp.own_lender is None or f.get("lender") == lp.own_lender
        ctx = {"group": float(f.get("group_exposure") or 0.0) - freed.get(("group", f.get("group_id")), 0.0),
               "guarantor": None if gid is None else float(guaranteed_by.get(gid, 0.0)) - freed.get(("guarantor", gid), 0.0),
               "guarantor_own_debt": None if gid is None else float(own_debt.get(gid, 0.0)),
               "book": book["total"] - freed.get(("book", None), 0.0),
               "industry": float(book["industry"].get(f.get("industry"), 0.0)) - freed.get(("industry", f.get("industry")), 0.0),
               "county": float(book["county"].get(f.get("county"), 0.0)) - freed.get(("county", f.get("county")), 0.0),
               "in_book": in_book}
        f["limit_checks"] = renewal_limit_checks(f, lp, ctx)
        res = R.evaluate(f, p, d, severities)
        dec = outcome(res)
        amount, term, conditions = _renewal_terms(f, res, policy)
        if dec in RENEWED and pd.notna(f.get("balance")) and amount < float(f["balance"]):
            cut = float(f["balance"]) - amount
            for key in (("group", f.get("group_id")), ("guarantor", gid)):
                freed[key] = freed.get(key, 0.0) + cut
            if in_book:
                for key in (("book", None), ("industry", f.get("industry")), ("county", f.get("county"))):
                    freed[key] = freed.get(key, 0.0) + cut
        mr = [] if s is None else model_reasons(s)
        lead_en = ["in default or non-performing: grade D, PD 1 (model score not used)"] if f["default_override"] else []
        lead_zh = [f["default_override"]] if f["default_override"] else []
        ok = {"renew_without_repayment": "各项续贷条件均满足，可办理无还本续贷",
              "renew_with_conditions": "续贷条件基本满足，按所列条件办理"}.get(dec, "")
        texts = format_reasons(list(res.values()), titles_zh, mr, lead_en=lead_en, lead_zh=lead_zh, ok_zh=ok,
                               ok_en="all renewal conditions met" if ok else "")
        row = {
            "enterprise_id": eid, "loan_id": lid, "decision": dec, "reasons": texts["reasons"],
            "pd": f["pd"], "grade": f["grade"], "decision_zh": DECISION_ZH[dec], "reasons_zh": texts["reasons_zh"],
            "main_reason": texts["main_reason"], "reasons_passed": texts["reasons_passed"],
            "reasons_passed_zh": texts["reasons_passed_zh"],
            "model_pd": f["model_pd"], "model_grade": f["model_grade"], "default_override": f["default_override"],
            "maturity_date": f["maturity_date"], "balance": f["balance"],
            "renewal_amount": amount if dec in RENEWED else np.nan,
            "renewal_term_months": term if dec in RENEWED else np.nan,
            "conditions": "; ".join(conditions) if dec == "renew_with_conditions" else "",
            # class after renewal and the post-renewal review date only exist when the loan is renewed
            "risk_class_before": f.get("risk_class_now"),
            "risk_class_after": res["R15"].value if dec in RENEWED else None,
            "next_review_date": (pd.Timestamp(f["maturity_date"]) + pd.DateOffset(months=p.monitoring_interval_months))
            if dec in RENEWED and pd.notna(f["maturity_date"]) else pd.NaT,
            **{k: f.get(k) for k in ("product", "county", "mountain_county", "industry", "size_class", "tech_sme",
                                     "legal_form",
                                     "collateral_type", "collateral_value", "guarantor_type", "guaranteed_share",
                                     "guarantee_insurance", "total_exposure", "group_id", "group_size", "group_exposure",
                                     "guarantee_chain_size", "guarantors_in_distress", "policy_guaranteed_exposure")},
            "limits_binding": _limits_binding(f, policy),
            "guarantor_in_distress": f["guarantor_in_distress"],
        }
        for rid, r in res.items():
            row[f"{rid}_value"] = r.value
            row[f"{rid}_status"] = r.status
        rows.append(row)
    out = pd.DataFrame(rows, columns=_renewal_columns())
    out["model_name"] = model_name
    out["model_version"] = str(model_version)
    out["policy_sha256"] = policy.sha256
    out["as_of"] = d
    out["decided_at"] = decided_at_now() if decided_at is None else pd.Timestamp(decided_at)
    out["ead"] = out["renewal_amount"].where(out["renewal_amount"].notna(), out["balance"])
    out["scheme_exposure"] = np.maximum(out["ead"].fillna(0.0), out["policy_guaranteed_exposure"].fillna(0.0))
    out = add_expected_loss(_typed(out), policy.expected_loss)
    log.info("renewal review as of %s: %d loans, %s", d.date(), len(out), out["decision"].value_counts().to_dict())
    return out[AUDIT_COLUMNS + [c for c in out.columns if c not in AUDIT_COLUMNS]]


def renewal_limit_checks(f: dict, lp, ctx: dict) -> list[tuple[str, str, str, float]]:
    """The group, guarantor, industry and county limits of one renewal as (key, Chinese name, Chinese sentence
    with its labelled amounts, headroom); the headroom is the largest amount this loan may be renewed at.

    A renewal replaces the loan's balance ``b``: group, ``g − b + x ≤ max_group_exposure`` (groups of 2+,
    balances at every lender); guarantor (the loan's ``guarantor_enterprise_id``), what it guarantees across
    its guarantee network ``s − b + x ≤ max_guarantor_exposure``. Industry and county (on a book of at least
    ``concentration_min_book``): a segment above its share cap is brought back pro rata — every renewal in it
    is cut by the share ``r = (seg − cap·book) / ((1 − cap)·seg)`` that, applied to the whole segment, meets the
    cap (a one-cycle reduction plan) — so the headroom is ``b·(1 − r)``; a loan not in the bank's book (another
    lender's, when ``own_lender`` is set) is not subject to them. ``ctx``: ``group``, ``guarantor``,
    ``guarantor_own_debt``, ``book``, ``industry``, ``county`` (current balances, net of earlier reductions in the
    batch) and ``in_book``. The single-borrower cap is not applied to renewals: ¥10M is the 普惠 statistical
    definition (R13's ``max_amount``), not a renewal condition.
    """
    bal = f.get("balance")
    if bal is None or pd.isna(bal):
        return []
    b = float(bal)
    out = []
    gsize = int(f.get("group_size") or 1)
    if gsize > 1:
        g = float(ctx["group"])
        h = lp.max_group_exposure - (g - b)
        out.append(("group cap", "集团授信上限", f"集团授信上限¥{lp.max_group_exposure:,.0f}，集团（关联企业{gsize}家）"
                    f"各行负债合计¥{g:,.0f}（含本笔余额¥{b:,.0f}），本笔最多续贷¥{max(h, 0):,.0f}", h))
    if ctx.get("guarantor") is not None:
        s_ = max(float(ctx["guarantor"]), b)
        h = lp.max_guarantor_exposure - (s_ - b)
        out.append(("guarantor cap", "单一保证人担保上限", f"单一保证人担保上限¥{lp.max_guarantor_exposure:,.0f}，保证人在担保圈内"
                    f"已担保余额合计¥{s_:,.0f}（含本笔¥{b:,.0f}；保证人自身各行负债¥{float(ctx['guarantor_own_debt'] or 0):,.0f}），"
                    f"本笔最多续贷¥{max(h, 0):,.0f}", h))
    book = float(ctx.get("book") or 0.0)
    if ctx.get("in_book") and book >= max(lp.concentration_min_book, 1.0):
        for key, zh, cap, seg, what in (("industry", "行业集中度上限", lp.max_industry_share, ctx["industry"], "行业"),
                                        ("county", "区县集中度上限", lp.max_county_share, ctx["county"], "区县")):
            seg = float(seg or 0.0)
            if seg <= cap * book + 1e-6 or seg <= 0:
                continue
            r = (seg - cap * book) / ((1.0 - cap) * seg)
            h = b * (1.0 - r)
            out.append((key, zh, f"{zh}{cap:.0%}：本行该{what}贷款余额¥{seg:,.0f}，占全部¥{book:,.0f}的{seg / book:.1%}，"
                        f"按比例压降{r:.1%}，本笔最多续贷¥{max(h, 0):,.0f}", h))
    return out


def _limits_binding(f: dict, policy: Policy) -> str:
    """The limits that cut (or refer) this renewal, then the single-borrower cap the enterprise exceeds at
    every lender (reported for the credit officer, not applied to renewals), in Chinese."""
    lp = policy.lending
    _, binding = R.limit_amount(f, policy.renewal)
    out = [b[1] for b in binding]
    expo = float(f.get("total_exposure") or 0.0)
    if expo > lp.max_limit:
        out.append(f"各行负债合计¥{expo:,.0f}超过单户授信上限¥{lp.max_limit:,.0f}（续贷不适用，仅提示）")
    return "；".join(out)


def _renewal_columns() -> list[str]:
    base = ["enterprise_id", "loan_id", "decision", "reasons", "pd", "grade", "decision_zh", "reasons_zh",
            "main_reason", "reasons_passed", "reasons_passed_zh",
            "model_pd", "model_grade", "default_override", "maturity_date", "balance", "renewal_amount", "renewal_term_months", "conditions", "risk_class_before",
            "risk_class_after", "next_review_date", "product", "county", "mountain_county", "industry", "size_class",
            "tech_sme", "legal_form", "collateral_type", "collateral_value", "guarantor_type", "guaranteed_share",
            "guarantee_insurance", "total_exposure", "group_id", "group_size", "group_exposure", "guarantee_chain_size",
            "guarantors_in_distress", "policy_guaranteed_exposure", "limits_binding", "guarantor_in_distress"]
    return base + [f"{r}_{k}" for r in sorted([*R.RULES, "R15"]) for k in ("value", "status")]


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes (so empty and non-empty outputs, and repeated runs, write identical files)."""
    floats = ["pd", "model_pd", "total_exposure", "group_exposure", "policy_guaranteed_exposure", "balance", "renewal_amount", "renewal_term_months", "collateral_value", "guaranteed_share", "ead"]
    dates = ["maturity_date", "next_review_date", "as_of", "decided_at"]
    bools = ["tech_sme", "guarantee_insurance", "mountain_county"]
    ints = ["group_size", "guarantee_chain_size", "guarantors_in_distress"]
    out = out.copy()
    for c in ints:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    for c in floats:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    for c in dates:
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    for c in bools:
        out[c] = out[c].astype("boolean")
    for c in out.columns:
        if c not in floats + dates + bools + ints:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
