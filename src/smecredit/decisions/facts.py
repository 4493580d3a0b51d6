"""Point-in-time facts for decisions: what the bank knows about a loan and its enterprise at DATE.

Only records dated on or before ``as_of`` are used (each table's as-of column, see
docs/data_model.md); flags of ``related_persons`` count only when their ``*_since`` date is on
or before ``as_of`` (or unknown). Facts the data cannot establish are NaN, which the rules
turn into "missing data: …" referrals, never approvals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.data.reference import NONPERFORMING_CLASSES, RISK_CLASSES

log = logging.getLogger(__name__)

#: Days past due beyond which an obligor is in default (Basel default definition; 2023 风险分类办法: > 90 days → 次级).
DEFAULT_DPD = 90


def _ts(as_of) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize()


def _window_sum(df: pd.DataFrame, col: str, ids: pd.Index, start: pd.Timestamp, end: pd.Timestamp,
                prefix: str) -> pd.DataFrame:
    """Sum and count of non-missing monthly ``col`` with month_end in (start, end], per enterprise."""
    m = df[(df["month_end"] > start) & (df["month_end"] <= end)]
    g = m.groupby("enterprise_id")[col]
    out = pd.DataFrame({f"{prefix}": g.sum(min_count=1), f"{prefix}_months": g.count()})
    return out.reindex(ids).assign(**{f"{prefix}_months": lambda d: d[f"{prefix}_months"].fillna(0).astype(int)})


def _latest(df: pd.DataFrame, by: str, date_col: str) -> pd.DataFrame:
    return df.sort_values([by, date_col], kind="mergesort").drop_duplicates(by, keep="last").set_index(by)


def _month_index(ts: pd.Series) -> pd.Series:
    return ts.dt.year * 12 + ts.dt.month


def overdue_history(lm: pd.DataFrame, ids: pd.Index, d: pd.Timestamp, months: int) -> pd.DataFrame:
    """Overdue pattern over the last ``months`` months, all loans of each enterprise at every lender.

    A month counts as overdue when any loan of the enterprise was past due or had interest in arrears
    at that month's end. Columns: ``overdue_months`` (cumulative, 累计), ``overdue_run_max`` (longest
    run of consecutive overdue months, 连续), ``arrears_months`` (months with interest arrears),
    ``overdue_history_months`` (months with any loan record; 0 → no credit history in the window).
    """
    w = lm[lm["enterprise_id"].isin(ids) & (lm["month_end"] <= d) & (lm["month_end"] > d - pd.DateOffset(months=months))]
    hist = w.groupby("enterprise_id")["month_end"].nunique()
    bad = w[(w["days_past_due"].fillna(0) > 0) | w["interest_arrears"].fillna(False).astype(bool)]
    m = pd.DataFrame({"enterprise_id": bad["enterprise_id"].to_numpy(), "mi": _month_index(bad["month_end"]).to_numpy()})
    m = m.drop_duplicates().sort_values(["enterprise_id", "mi"], kind="mergesort")
    new_run = (m["mi"].diff() != 1) | (m["enterprise_id"] != m["enterprise_id"].shift())
    m["run"] = new_run.cumsum()
    runs = m.groupby(["enterprise_id", "run"]).size().groupby(level=0).max()
    arr = w[w["interest_arrears"].fillna(False).astype(bool)]
    return pd.DataFrame({
        "overdue_months": m.groupby("enterprise_id").size().reindex(ids, fill_value=0).astype(int),
        "overdue_run_max": runs.reindex(ids, fill_value=0).astype(int),
        "arrears_months": arr.groupby("enterprise_id")["month_end"].nunique().reindex(ids, fill_value=0).astype(int),
        "overdue_history_months": hist.reindex(ids, fill_value=0).astype(int),
    }, index=ids)


def enterprise_facts(raw: RawData, as_of, enterprise_ids: Iterable[str], *, penalty_lookback_months: int = 24,
                     restructuring_lookback_months: int = 24, overdue_lookback_months: int = 24,
                     enforcement_lookback_months: int = 24) -> pd.DataFrame:
    """One row per enterprise (index ``enterprise_id``) of point-in-time facts at ``as_of``.

    Columns: registry fields (size_class, county, industry, tech_sme, status_known), VAT sales and
    electricity over the last 12 months and the 12 before (with month counts), sales over the last
    3 months, insured headcount now and a year ago, major penalties in the look-back, abnormal-
    operation and dishonest-debtor listings, related-person flags, the worst current days past
    due and interest arrears over all the enterprise's loans, and recent restructuring.
    """
    d = _ts(as_of)
    ids = pd.Index(pd.unique(pd.Series(list(enterprise_ids), dtype=object)), name="enterprise_id")
    y1, y2 = d - pd.DateOffset(months=12), d - pd.DateOffset(months=24)
    ent = raw["enterprises"]
    ent = ent[ent["registration_date"] <= d].drop_duplicates("enterprise_id").set_index("enterprise_id")
    out = pd.DataFrame(index=ids)
    for c in ("size_class", "county", "industry", "tech_sme", "legal_form", "mountain_county"):
        out[c] = ent[c].reindex(ids)
    out["registered"] = ids.isin(ent.index)

    tax = raw["tax_monthly"]
    tax = tax[tax["enterprise_id"].isin(ids)]
    out = out.join(_window_sum(tax, "invoiced_sales", ids, y1, d, "sales_12m"))
    out = out.join(_window_sum(tax, "invoiced_sales", ids, y2, y1, "sales_prev_12m"))
    out = out.join(_window_sum(tax, "invoiced_sales", ids, d - pd.DateOffset(months=3), d, "sales_3m"))
    # alternative evidence where VAT invoices cannot exist (个体工商户/农户 on fixed-quota 定期定额 tax):
    # months with VAT invoicing in 24 months, and tax paid without invoices
    inv = tax[(tax["month_end"] > y2) & (tax["month_end"] <= d) & (tax["invoiced_sales"] > 0)]
    out["vat_invoicing_months_24m"] = inv.groupby("enterprise_id").size().reindex(ids, fill_value=0).astype(int)
    paid = tax[tax["tax_paid"] > 0]
    out = out.join(_window_sum(paid, "tax_paid", ids, y1, d, "tax_paid_12m"))
    out = out.join(_window_sum(paid, "tax_paid", ids, y2, y1, "tax_paid_prev_12m"))
    out = out.join(_window_sum(paid, "tax_paid", ids, d - pd.DateOffset(months=3), d, "tax_paid_3m"))

    ut = raw["utilities_monthly"]
    ut = ut[ut["enterprise_id"].isin(ids)]
    out = out.join(_window_sum(ut, "electricity_kwh", ids, y1, d, "elec_12m"))
    out = out.join(_window_sum(ut, "electricity_kwh", ids, y2, y1, "elec_prev_12m"))
    out = out.join(_window_sum(ut, "electricity_kwh", ids, d - pd.DateOffset(months=3), d, "elec_3m"))

    si = raw["social_insurance_monthly"]
    si = si[si["enterprise_id"].isin(ids) & (si["month_end"] <= d)]
    now = si[si["month_end"] > d - pd.DateOffset(months=2)]
    out["headcount_now"] = _latest(now, "enterprise_id", "month_end")["insured_headcount"].reindex(ids).astype(float)
    ago = si[(si["month_end"] > y1 - pd.DateOffset(months=2)) & (si["month_end"] <= y1)]
    out["headcount_12m_ago"] = _latest(ago, "enterprise_id", "month_end")["insured_headcount"].reindex(ids).astype(float)
    out["si_3m_months"] = si[si["month_end"] > d - pd.DateOffset(months=3)].groupby("enterprise_id").size() \
        .reindex(ids, fill_value=0).astype(int)

    adm = raw["admin_events"]
    adm = adm[adm["enterprise_id"].isin(ids) & (adm["event_date"] <= d)]
    pen = adm[adm["event_type"].isin(["market_penalty", "environmental_penalty"]) & adm["severity"].eq("major")
              & (adm["event_date"] > d - pd.DateOffset(months=penalty_lookback_months))]
    out["major_penalties"] = pen.groupby("enterprise_id").size().reindex(ids, fill_value=0).astype(int)
    ab = adm[adm["event_type"].isin(["abnormal_operation_in", "abnormal_operation_out"])]
    last_ab = _latest(ab, "enterprise_id", "event_date")["event_type"].reindex(ids)
    out["abnormal_operation"] = last_ab.eq("abnormal_operation_in").to_numpy()

    jud = raw["judicial_events"]
    jud = jud[jud["enterprise_id"].isin(ids) & (jud["event_date"] <= d)
              & jud["event_type"].isin(["dishonest_debtor_listed", "dishonest_debtor_removed"])]
    last_j = _latest(jud, "enterprise_id", "event_date")["event_type"].reindex(ids)
    out["dishonest_debtor"] = last_j.eq("dishonest_debtor_listed").to_numpy()
    enf = raw["judicial_events"]
    enf = enf[enf["enterprise_id"].isin(ids) & (enf["event_date"] <= d) & enf["event_type"].eq("enforcement")
              & (enf["event_date"] > d - pd.DateOffset(months=enforcement_lookback_months))]
    out["enforcement_cases"] = enf.groupby("enterprise_id").size().reindex(ids, fill_value=0).astype(int)
    out["enforcement_amount"] = enf.groupby("enterprise_id")["amount"].sum(min_count=1).reindex(ids).astype(float)

    rp = raw.get("related_persons")
    if rp is None:
        out["persons_known"] = False
        out["persons_flagged"] = np.nan
    else:
        rp = rp[rp["enterprise_id"].isin(ids)]
        dis = rp["dishonest_debtor"] & (rp["dishonest_since"].isna() | (rp["dishonest_since"] <= d))
        bad = rp["bad_credit_record"] & (rp["bad_record_since"].isna() | (rp["bad_record_since"] <= d))
        flags = pd.Series("", index=rp.index, dtype=object)
        flags = flags.where(~dis, flags + rp["role"].astype(str) + ": dishonest debtor; ")
        flags = flags.where(~bad, flags + rp["role"].astype(str) + ": bad credit record; ")
        agg = flags.groupby(rp["enterprise_id"]).agg(lambda s: "".join(sorted(s)).strip("; "))
        out["persons_known"] = ids.isin(rp["enterprise_id"].unique())
        out["persons_flagged"] = agg.reindex(ids)

    lm_all = raw["loan_monthly"]
    out = out.join(overdue_history(lm_all, ids, d, overdue_lookback_months))
    recent = overdue_history(lm_all, ids, d, 3)
    out["overdue_months_3m"] = recent["overdue_months"]
    out["arrears_months_12m"] = overdue_history(lm_all, ids, d, 12)["arrears_months"]
    lm = lm_all[lm_all["enterprise_id"].isin(ids) & (lm_all["month_end"] <= d)
                & (lm_all["month_end"] > d - pd.Timedelta(days=62))]
    cur = _latest(lm, "loan_id", "month_end")
    cur = cur[cur["balance"] > 0]
    g = cur.groupby("enterprise_id")
    out["max_dpd_all_loans"] = g["days_past_due"].max().reindex(ids).astype(float)
    out["any_interest_arrears"] = g["interest_arrears"].any().reindex(ids).astype(float)
    rank = cur["risk_class_5"].map({c: i for i, c in enumerate(RISK_CLASSES)})
    worst = rank.groupby(cur["enterprise_id"]).max().reindex(ids)
    out["worst_class_now"] = worst.map(lambda r: None if pd.isna(r) else RISK_CLASSES[int(r)])
    # in default (Basel: > 90 days past due) or non-performing (次级/可疑/损失) on any current loan, any lender
    out["in_default"] = (out["max_dpd_all_loans"].gt(DEFAULT_DPD) | out["worst_class_now"].isin(NONPERFORMING_CLASSES)).to_numpy()

    ev = raw["loan_events"]
    ev = ev[ev["enterprise_id"].isin(ids) & (ev["event_date"] <= d)]
    rs_ = ev[(ev["event_type"] == "restructuring")
             & (ev["event_date"] > d - pd.DateOffset(months=restructuring_lookback_months))]
    out["restructured_recently"] = ids.isin(rs_["enterprise_id"].unique())
    return out


def _consecutive_renewals(loans: pd.DataFrame) -> pd.Series:
    """Length of the chain of renewals without repayment ending at each loan (0 for an original loan)."""
    parent = loans.set_index("loan_id")["renewed_from_loan_id"].where(
        loans.set_index("loan_id")["renewed_without_repayment"])
    parent = parent.to_dict()
    out = {}
    for lid in parent:
        n, cur, seen = 0, lid, set()
        while isinstance(parent.get(cur), str) and cur not in seen:
            seen.add(cur)
            n += 1
            cur = parent[cur]
        out[lid] = n
    return pd.Series(out, dtype=int)


def loan_facts(raw: RawData, as_of, loan_ids: Iterable[str], *, max_data_age_days: int = 62) -> pd.DataFrame:
    """One row per loan (index ``loan_id``) of point-in-time facts at ``as_of``.

    Columns: the loan's contract fields, its latest monthly record within ``max_data_age_days``
    (balance, days past due, 5-category class, interest arrears), the latest renewal application
    dated on or before ``as_of`` and before maturity, funds-misuse and restructuring events of the
    loan, and the number of consecutive renewals without repayment that led to it.
    """
    d = _ts(as_of)
    loans = raw["loans"]
    ids = pd.Index(pd.unique(pd.Series(list(loan_ids), dtype=object)), name="loan_id")
    base = loans[loans["start_date"] <= d].drop_duplicates("loan_id").set_index("loan_id").reindex(ids)
    base["term_months"] = ((base["maturity_date"] - base["start_date"]).dt.days / 30.4375).round().astype(float)
    lm = raw["loan_monthly"]
    lm = lm[lm["loan_id"].isin(ids) & (lm["month_end"] <= d) & (lm["month_end"] > d - pd.Timedelta(days=max_data_age_days))]
    cur = _latest(lm, "loan_id", "month_end").reindex(ids)
    base["balance"] = cur["balance"].astype(float)
    base["dpd"] = cur["days_past_due"].astype(float)
    base["risk_class_now"] = cur["risk_class_5"]
    base["interest_arrears_now"] = cur["interest_arrears"].astype(float)
    base["last_month_end"] = cur["month_end"]

    ev = raw["loan_events"]
    ev = ev[ev["loan_id"].isin(ids) & (ev["event_date"] <= d)]
    mats = pd.DataFrame({"loan_id": ids, "maturity_date": base["maturity_date"].to_numpy()})
    app = ev[ev["event_type"] == "renewal_application"].merge(mats, on="loan_id")
    app = app[app["event_date"] < app["maturity_date"]]
    base["application_date"] = app.groupby("loan_id")["event_date"].max().reindex(ids)
    gua = ev[ev["event_type"] == "guarantee_contract_signed"].merge(mats, on="loan_id")
    gua = gua[gua["event_date"] < gua["maturity_date"]]
    base["guarantee_signed_date"] = gua.groupby("loan_id")["event_date"].max().reindex(ids)
    base["funds_misuse"] = ids.isin(ev.loc[ev["event_type"] == "funds_misuse_detected", "loan_id"].unique())
    base["loan_restructured"] = ids.isin(ev.loc[ev["event_type"] == "restructuring", "loan_id"].unique())
    chain = _consecutive_renewals(loans[loans["start_date"] <= d])
    base["consecutive_renewals"] = chain.reindex(ids).fillna(0).astype(int)
    return base
