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

The checks and limits themselves are in :mod:`smecredit.decisions.loan_checks` (re-exported here);
this module validates applications and assembles the decision rows.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.data.reference import COLLATERAL_TYPES, PRODUCTS
from smecredit.decisions import facts as F
from smecredit.decisions import groups as G
from smecredit.decisions.common import (AUDIT_COLUMNS, as_date, check_scores, decided_at_now, default_override,
                                        format_reasons, model_reasons)
from smecredit.decisions.expected_loss import add_expected_loss
from smecredit.decisions.loan_checks import (CHECK_TITLES_ZH, CHECKS, SECURED, credit_limits,  # noqa: F401 - re-exported
                                             evaluate_application, revenue_proxy)
from smecredit.decisions.policy import Policy
from smecredit.decisions.rules import RuleResult
from smecredit.exceptions import DataContractError, sheet_rows

log = logging.getLogger(__name__)

DECISIONS = ("approve", "refer", "decline")
DECISION_ZH = {"approve": "批准", "refer": "提交人工审查", "decline": "拒绝"}
APPLICATION_COLUMNS = ["enterprise_id", "requested_amount", "product", "term_months", "collateral_type"]


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
