"""Credit history: loans, utilisation, days past due, 5-category class, renewals, collateral.

Sources: ``loans`` (as of ``start_date``), ``loan_monthly`` (as of ``month_end``) and
``loan_events`` (as of ``event_date``). The class ``risk_class_5`` of ``loans`` is the class *at
data extraction* and is never used (it would leak the outcome); classes come from
``loan_monthly``. A loan is *active* at the snapshot when its ``loan_monthly`` record of the
anchor month shows a positive balance. Collateral features describe the active loans (the
collateral type of the largest one; coverage = appraised collateral value at drawdown over the
outstanding balance; balance-weighted guaranteed share; unsecured share of the balance).

``cr_missing`` = 1 for an enterprise without any loan started on or before the snapshot (no
credit history: thin file); its delinquency features are then NaN rather than a misleading 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data.reference import COLLATERAL_TYPES, RISK_CLASSES
from smecredit.exceptions import DataContractError
from smecredit.features._panel import (FeatureConfig, Panel, PreparedRaw, anchor_month, bincount, day_index, frame,
                                       index_of, last_per_group, month_index, nan_max, safe_ratio, since_registration,
                                       snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec, windowed

FAMILY = "credit"
CLASS_LABELS = {c: ({"正常": "normal", "关注": "special mention", "次级": "substandard", "可疑": "doubtful",
                     "损失": "loss"}[c], c) for c in RISK_CLASSES}
RANK_LABELS = {str(float(i)): v for i, v in enumerate(CLASS_LABELS.values())}
#: Rank at which the category cr_worst_class_12m is capped (1 = 关注): "worse than anything a training
#: panel of performing firms shows" reads as the worst known level, not as missing (see docs/features.md).
WORST_CLASS_CATEGORY_CAP = RISK_CLASSES.index("关注")

SPECS: list[FeatureSpec] = [
    FeatureSpec("cr_loans_total", FAMILY, "loans", None, "count", "Loans ever drawn", "历史贷款笔数", "loans", "none"),
    FeatureSpec("cr_months_since_first_loan", FAMILY, "loans", None, "count", "Months since the first loan",
                "首笔贷款至今月数", "months", "down"),
    FeatureSpec("cr_active_loans", FAMILY, "loan_monthly", 1, "count", "Loans outstanding", "未结清贷款笔数",
                "loans", "up"),
    FeatureSpec("cr_lenders_active", FAMILY, "loans+loan_monthly", 1, "count", "Lending banks", "授信银行家数",
                "banks", "up"),
    FeatureSpec("cr_balance", FAMILY, "loan_monthly", 1, "total", "Loan balance", "贷款余额", "CNY", "none"),
    FeatureSpec("cr_utilisation", FAMILY, "loans+loan_monthly", 1, "share", "Balance as a share of the original amount",
                "贷款余额占原始金额比例", "ratio", "up"),
    FeatureSpec("cr_balance_chg_12m", FAMILY, "loan_monthly", 12, "growth", "Loan balance", "贷款余额", "ratio", "up"),
    FeatureSpec("cr_dpd_now", FAMILY, "loan_monthly", 1, "count", "Days past due now", "当前逾期天数", "days", "up"),
    *windowed("cr_max_dpd_{w}m", (6, 12, 24), family=FAMILY, source="loan_monthly", kind="count",
              en="Maximum days past due", zh="最长逾期天数", unit="days", direction="up"),
    *windowed("cr_months_dpd_{w}m", (12, 24), family=FAMILY, source="loan_monthly", kind="count",
              en="Months past due", zh="逾期月数", unit="months", direction="up"),
    FeatureSpec("cr_interest_arrears_12m", FAMILY, "loan_monthly", 12, "count", "Months with interest arrears",
                "欠息月数", "months", "up"),
    FeatureSpec("cr_worst_class_12m", FAMILY, "loan_monthly", 12, "category", "Worst 5-category class",
                "最差五级分类", "", "none", CLASS_LABELS),
    FeatureSpec("cr_worst_class_rank_12m", FAMILY, "loan_monthly", 12, "rank", "Worst 5-category class",
                "最差五级分类", "正常=0 … 损失=4", "up", RANK_LABELS),
    FeatureSpec("cr_renewals_wo_repay_24m", FAMILY, "loans", 24, "count", "Renewals without repayment of principal",
                "无还本续贷", "loans", "up"),
    FeatureSpec("cr_funds_misuse_24m", FAMILY, "loan_events", 24, "count", "Detected misuse of loan funds",
                "发现挪用贷款资金", "events", "up"),
    FeatureSpec("cr_restructurings_24m", FAMILY, "loan_events", 24, "count", "Loan restructurings", "贷款重组",
                "events", "up"),
    FeatureSpec("cr_collateral_main", FAMILY, "loans", None, "category", "Main collateral", "主要担保方式", "",
                "none", {k: (k.replace("_", " "), v) for k, v in COLLATERAL_TYPES.items()}),
    FeatureSpec("cr_collateral_coverage", FAMILY, "loans+loan_monthly", None, "ratio",
                "Collateral value over loan balance", "押品价值对贷款余额覆盖倍数", "ratio", "down"),
    FeatureSpec("cr_guaranteed_share", FAMILY, "loans+loan_monthly", None, "share", "Guaranteed share of the balance",
                "担保分担比例（按余额加权）", "ratio", "down"),
    FeatureSpec("cr_unsecured_share", FAMILY, "loans+loan_monthly", None, "share", "Unsecured share of the balance",
                "信用贷款余额占比", "ratio", "up"),
    missing_spec(FAMILY, "loans", "credit-history", "信贷记录"),
]


def _loan_arrays(raw: PreparedRaw) -> dict:
    def build():
        loans = raw.raw["loans"]
        lm = raw.raw["loan_monthly"]
        pos = index_of(pd.Index(loans["loan_id"]), lm["loan_id"])
        bad = np.flatnonzero(pos < 0)
        if bad.size:
            raise DataContractError(f"loan_monthly.loan_id: {bad.size} row(s) refer to loans absent from the loans "
                                    f"table, first spreadsheet rows {(bad[:5] + 2).tolist()}")
        rank = pd.Index(RISK_CLASSES).get_indexer(lm["risk_class_5"]).astype(np.float64)
        rank[rank < 0] = np.nan
        return {
            "l_code": raw.codes("loans"), "l_start": day_index(loans["start_date"]),
            "l_start_m": month_index(loans["start_date"]),
            "l_amount": loans["amount"].to_numpy(dtype=np.float64),
            "l_coll": pd.to_numeric(loans["collateral_value"], errors="coerce").to_numpy(dtype=np.float64,
                                                                                       na_value=np.nan),
            "l_coll_type": loans["collateral_type"].to_numpy(dtype=object),
            "l_gshare": loans["guaranteed_share"].to_numpy(dtype=np.float64),
            "l_renewed": loans["renewed_without_repayment"].to_numpy(dtype=bool),
            "l_lender": pd.factorize(loans["lender"])[0].astype(np.int64),
            "m_code": raw.codes("loan_monthly"), "m_month": month_index(lm["month_end"]), "m_loan": pos,
            "m_balance": lm["balance"].to_numpy(dtype=np.float64),
            "m_dpd": lm["days_past_due"].to_numpy(dtype=np.float64),
            "m_arrears": lm["interest_arrears"].to_numpy(dtype=np.float64),
            "m_rank": rank,
        }
    return raw.cached(("loans",), build)


def loan_panels(raw: PreparedRaw) -> dict[str, Panel]:
    """Enterprise × month panels over all loans: balance, max dpd, any arrears, worst class, active loans.

    Months without any ``loan_monthly`` record of the enterprise are NaN.
    """
    def build():
        a = _loan_arrays(raw)
        rng = raw.month_range("loan_monthly")
        if rng is None:
            nan = Panel(np.full((raw.n, 1), np.nan), 0)
            return {k: nan for k in ("balance", "dpd", "arrears", "rank", "active")}
        m0, m1 = rng
        width = m1 - m0 + 1
        key = a["m_code"] * width + (a["m_month"] - m0)
        size = raw.n * width
        count = np.bincount(key, minlength=size).astype(np.float64)
        none = count == 0

        def flat_max(v):
            out = np.full(size, -np.inf)
            ok = ~np.isnan(v)
            np.maximum.at(out, key[ok], v[ok])
            out[np.isinf(out)] = np.nan
            return out

        panels = {
            "balance": np.bincount(key, weights=a["m_balance"], minlength=size),
            "dpd": flat_max(a["m_dpd"]),
            "arrears": flat_max(a["m_arrears"]),
            "rank": flat_max(a["m_rank"]),
            "active": np.bincount(key, weights=(a["m_balance"] > 0).astype(np.float64), minlength=size),
        }
        out = {}
        for k, v in panels.items():
            v = v.astype(np.float64)
            v[none] = np.nan
            out[k] = Panel(v.reshape(raw.n, width), m0)
        return out
    return raw.cached(("loan_panels",), build)


def default_panel(raw: PreparedRaw, cfg: FeatureConfig) -> np.ndarray:
    """Boolean enterprise × month matrix: default in the month (dpd > threshold or 次级/可疑/损失)."""
    p = loan_panels(raw)
    return (np.nan_to_num(p["dpd"].values, nan=0.0) > cfg.default_dpd) | (np.nan_to_num(p["rank"].values, nan=0.0) >= 2)


def credit_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Credit-history features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n, s, am = raw.n, snapshot_day(snapshot), anchor_month(snapshot)
    a = _loan_arrays(raw)
    p = loan_panels(raw)
    started = a["l_start"] <= s
    cols: dict[str, np.ndarray] = {}
    cols["cr_loans_total"] = bincount(a["l_code"][started], n)
    first_m = np.full(n, np.inf)
    np.minimum.at(first_m, a["l_code"][started], a["l_start_m"][started].astype(np.float64))
    cols["cr_months_since_first_loan"] = np.where(np.isinf(first_m), np.nan, am - first_m + 1)

    # loans active at the anchor month (loan level)
    act = (a["m_month"] == am) & (a["m_balance"] > 0)
    act &= a["l_start"][a["m_loan"]] <= s
    code, loan, bal = a["m_code"][act], a["m_loan"][act], a["m_balance"][act]
    cols["cr_active_loans"] = bincount(code, n)
    n_lenders = int(a["l_lender"].max()) + 1 if a["l_lender"].size else 1
    pairs = np.unique(code * n_lenders + a["l_lender"][loan])  # distinct (enterprise, lender)
    cols["cr_lenders_active"] = bincount(pairs // n_lenders, n)
    balance = bincount(code, n, bal)
    cols["cr_balance"] = balance
    cols["cr_utilisation"] = safe_ratio(balance, bincount(code, n, a["l_amount"][loan]))
    b_now = np.nan_to_num(p["balance"].at(am), nan=0.0)
    b_then = np.nan_to_num(p["balance"].at(am, lag=12), nan=0.0)
    # registered less than a year ago: no balance a year earlier to compare with
    cols["cr_balance_chg_12m"] = since_registration(raw, safe_ratio(b_now - b_then, b_then), am - 12)
    cols["cr_dpd_now"] = np.nan_to_num(p["dpd"].at(am), nan=0.0)
    for w in (6, 12, 24):
        cols[f"cr_max_dpd_{w}m"] = np.nan_to_num(nan_max(p["dpd"].window(am, w)), nan=0.0)
    for w in (12, 24):
        cols[f"cr_months_dpd_{w}m"] = (np.nan_to_num(p["dpd"].window(am, w), nan=0.0) > 0).sum(axis=1) * 1.0
    cols["cr_interest_arrears_12m"] = np.nansum(p["arrears"].window(am, 12), axis=1)
    worst = nan_max(p["rank"].window(am, 12))
    cols["cr_worst_class_rank_12m"] = worst
    labels = np.array(RISK_CLASSES, dtype=object)
    worst_lbl = np.full(n, None, dtype=object)
    ok = ~np.isnan(worst)
    # The category is capped at 关注 (WORST_CLASS_CATEGORY_CAP): 次级/可疑/损失 mean default, and firms in
    # default are absent from training panels, so a model would meet them only at scoring time, as unseen
    # categories scored as *missing*. Capped, they take the worst level the model knows. The full scale
    # stays in cr_worst_class_rank_12m, and the decisions stage grades non-performing firms D, PD 1.
    worst_lbl[ok] = labels[np.minimum(worst[ok], WORST_CLASS_CATEGORY_CAP).astype(np.int64)]
    cols["cr_worst_class_12m"] = worst_lbl
    recent = started & (a["l_start"] > s - 730.5)
    cols["cr_renewals_wo_repay_24m"] = bincount(a["l_code"][recent & a["l_renewed"]], n)
    ev = raw.table("loan_events")
    if ev is not None:
        e = raw.cached(("loan_events",), lambda: {"code": raw.codes("loan_events"),
                                                  "day": day_index(ev["event_date"]),
                                                  "type": ev["event_type"].to_numpy(dtype=object)})
        m24 = (e["day"] <= s) & (e["day"] > s - 730.5)
        cols["cr_funds_misuse_24m"] = bincount(e["code"][m24 & (e["type"] == "funds_misuse_detected")], n)
        cols["cr_restructurings_24m"] = bincount(e["code"][m24 & (e["type"] == "restructuring")], n)
    else:
        cols["cr_funds_misuse_24m"] = np.full(n, np.nan)
        cols["cr_restructurings_24m"] = np.full(n, np.nan)
    # collateral of the active loans
    main_pos = last_per_group(code, [loan.astype(np.float64), bal], n, loan.astype(np.float64))
    main = np.full(n, None, dtype=object)
    has = ~np.isnan(main_pos)
    main[has] = a["l_coll_type"][main_pos[has].astype(np.int64)]
    cols["cr_collateral_main"] = main
    coll = np.nan_to_num(a["l_coll"][loan], nan=0.0)
    cols["cr_collateral_coverage"] = safe_ratio(bincount(code, n, coll), balance)
    cols["cr_guaranteed_share"] = safe_ratio(bincount(code, n, bal * a["l_gshare"][loan]), balance)
    unsecured = a["l_coll_type"][loan] == "unsecured"
    cols["cr_unsecured_share"] = safe_ratio(bincount(code[unsecured], n, bal[unsecured]), balance)

    missing = cols["cr_loans_total"] == 0
    for k in ("cr_dpd_now", "cr_max_dpd_6m", "cr_max_dpd_12m", "cr_max_dpd_24m", "cr_months_dpd_12m",
              "cr_months_dpd_24m", "cr_interest_arrears_12m", "cr_balance_chg_12m"):
        cols[k] = np.where(missing, np.nan, cols[k])
    cols["credit_missing"] = missing.astype(np.float64)
    out = frame(raw, cols)
    for k in ("cr_worst_class_12m", "cr_collateral_main"):
        out[k] = out[k].astype(object)
    return out[names]
