"""Portfolio expected loss: per exposure and by segment (county, industry, size), with the party split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.decisions import risk_sharing as rs
from smecredit.decisions.expected_loss import EL_COLUMNS, EL_PARTY_COLUMNS, add_expected_loss
from smecredit.decisions.policy import Policy
from smecredit.decisions.loan import DECISIONS as LOAN_DECISIONS
from smecredit.decisions.renewal import DECISIONS as RENEWAL_DECISIONS
from smecredit.exceptions import DataContractError, PolicyError, sheet_rows

#: Decisions whose exposures are on the book after the decision.
BOOKED = ("approve", "renew_without_repayment", "renew_with_conditions")
KNOWN_DECISIONS = tuple(dict.fromkeys(LOAN_DECISIONS + RENEWAL_DECISIONS))
SEGMENTS = ("county", "industry", "size_class")
#: Optional columns naming where each row came from (set by :func:`smecredit.pipelines.decide.run_portfolio`).
SOURCE_COLUMN, ROW_COLUMN = "_source_file", "_source_row"


def _where(frame: pd.DataFrame, mask) -> str:
    """``file a.parquet spreadsheet rows 2, 3; file b.csv spreadsheet row 7`` (or rows of the frame)."""
    mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
    if SOURCE_COLUMN not in frame.columns:
        return sheet_rows(mask.to_numpy())
    parts = []
    for src, g in frame[mask].groupby(SOURCE_COLUMN, sort=False):
        parts.append(f"{src} {sheet_rows(g[ROW_COLUMN].to_numpy(dtype='int64'))}")
    return "; ".join(parts)


def check_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """Check a decisions table before it is summed; return it with ``decision`` normalised.

    ``decision`` values are compared without case or surrounding spaces (``" APPROVE"`` is
    ``approve``); a value that is none of the decisions smecredit writes, or missing, is refused.
    Booked rows must have a PD in [0, 1] and a finite EAD >= 0, and no exposure (``loan_id``,
    else ``application_id``) may appear twice — a file passed twice or two decisions on the same
    loan would count it twice. Raises :class:`DataContractError` naming column, file and rows.
    """
    if "decision" not in decisions.columns:
        raise DataContractError("decisions table lacks column 'decision'; pass the output of `smecredit decide`")
    out = decisions.copy()
    raw = out["decision"]
    norm = raw.astype("string").str.strip().str.lower()
    bad = ~norm.isin(list(KNOWN_DECISIONS)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        shown = sorted({str(v) for v in raw[bad].tolist()})[:5]
        raise DataContractError(f"decisions column 'decision' has unknown or missing values {shown} at "
                                f"{_where(out, bad)}; expected one of {list(KNOWN_DECISIONS)}")
    out["decision"] = norm.astype(object)
    booked = out["decision"].isin(BOOKED).to_numpy()
    for col, lo, hi in (("pd", 0.0, 1.0), ("ead", 0.0, np.inf)):
        if col not in out.columns:
            raise DataContractError(f"decisions table lacks column {col!r} needed for expected loss")
        v = pd.to_numeric(out[col], errors="coerce").astype("float64")
        bad = booked & ~(np.isfinite(v.to_numpy()) & (v.to_numpy() >= lo) & (v.to_numpy() <= hi))
        if bad.any():
            rng = "in [0, 1]" if col == "pd" else "a finite amount >= 0"
            raise DataContractError(f"decisions column {col!r} must be {rng} on booked rows (decision in "
                                    f"{list(BOOKED)}); missing, infinite or out-of-range at {_where(out, bad)}")
        out[col] = v
    key = pd.Series(np.nan, index=out.index, dtype=object)
    for c in ("application_id", "loan_id"):
        if c in out.columns:
            key = out[c].astype(object).where(out[c].notna(), key)
    bk = key.where(pd.Series(booked, index=key.index))  # only booked rows can count an exposure twice
    dup = (bk.notna() & bk.duplicated(keep=False)).to_numpy()
    if dup.any():
        raise DataContractError(
            f"the same exposure (loan_id, or application_id of a new loan) appears more than once among booked rows "
            f"at {_where(out, dup)}: a file passed twice, or two decisions on one loan, would count it twice; "
            "pass each decisions file once and keep one decision per loan")
    return out


def portfolio_exposures(decisions: pd.DataFrame, policy: Policy, *, booked_only: bool = True) -> pd.DataFrame:
    """Exposures of a decisions table with expected loss recomputed under ``policy``.

    ``booked_only`` keeps the rows whose decision puts an exposure on the book (:data:`BOOKED`).
    """
    decisions = check_decisions(decisions)
    rows = decisions[decisions["decision"].isin(BOOKED)] if booked_only else decisions
    keep = [c for c in rows.columns if c not in {SOURCE_COLUMN, ROW_COLUMN, *EL_COLUMNS}]
    return add_expected_loss(rows[keep].reset_index(drop=True), policy.expected_loss)


def summarise(exposures: pd.DataFrame) -> pd.DataFrame:
    """EL by segment: one block per segment type (portfolio total, county, industry, size_class).

    Columns: ``segment_type, segment, exposures, ead, el, el_rate`` (EL / EAD) and ``el_<party>``.
    Party columns add up exactly (to the fen) to ``el`` in every row, because each exposure's split does.
    """
    miss = [c for c in ("ead", "el", *SEGMENTS) if c not in exposures.columns]
    if miss:
        raise DataContractError(f"exposures lack column(s) {miss}")
    money = ["ead", "el", *EL_PARTY_COLUMNS]
    x = exposures.copy()
    cents = {c: (x[c].fillna(0) * 100).round().astype("int64") for c in money}
    x = x.assign(**{f"_{c}": v for c, v in cents.items()})
    blocks = []
    total = {"segment_type": "portfolio", "segment": "all", "exposures": len(x),
             **{c: int(x[f"_{c}"].sum()) for c in money}}
    blocks.append(pd.DataFrame([total]))
    for seg in SEGMENTS:
        g = x.groupby(x[seg].astype(str), sort=True)
        b = g[[f"_{c}" for c in money]].sum().rename(columns=lambda c: c[1:])
        b.insert(0, "exposures", g.size())
        b = b.reset_index(names="segment")
        b.insert(0, "segment_type", seg)
        blocks.append(b)
    out = pd.concat(blocks, ignore_index=True)
    for c in money:
        out[c] = out[c].astype("int64") / 100.0
    out["el_rate"] = (out["el"] / out["ead"]).where(out["ead"] > 0)
    return out[["segment_type", "segment", "exposures", "ead", "el", "el_rate", *EL_PARTY_COLUMNS]]


def party_totals(exposures: pd.DataFrame) -> pd.DataFrame:
    """Total expected loss per party (yuan) with its Chinese name and share of the portfolio EL."""
    tot = {p: round(float(exposures[f"el_{p}"].fillna(0).sum()), 2) for p in rs.PARTIES}
    el = sum(tot.values())
    return pd.DataFrame({"party": list(tot), "party_zh": [rs.PARTY_ZH[p] for p in tot], "el": list(tot.values()),
                         "share": [v / el if el else 0.0 for v in tot.values()]})


def compensation_ratio_by_scheme(exposures: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Expected 代偿率 of each risk-sharing scheme against the scheme's cap.

    代偿率 = compensatory payments / guarantees released. Over a year the expected payments are
    Σ PD × 代偿 and the guarantees at stake Σ 代偿 (each exposure's (1 − s_bank) × EAD), on the same
    basis as the rows' ``compensatory_payment``. Columns: ``scheme, exposures, guaranteed_amount,
    expected_compensation, compensation_ratio, cap, within_cap`` (NA when the scheme has no cap).
    """
    miss = [c for c in ("scheme", "pd", "compensatory_payment") if c not in exposures.columns]
    if miss:
        raise DataContractError(f"exposures lack column(s) {miss}")
    x = exposures[exposures["compensatory_payment"].fillna(0) > 0]
    rows = []
    for name, g in x.groupby(x["scheme"].astype(str), sort=True):
        comp = g["compensatory_payment"].astype(float)
        exp_comp = float((g["pd"].astype(float) * comp).sum())
        total = float(comp.sum())
        try:
            cap = policy.expected_loss.scheme(name).compensation_ratio_cap
        except PolicyError:  # bilateral commercial guarantees are not named schemes
            cap = None
        ratio = exp_comp / total if total > 0 else float("nan")
        rows.append({"scheme": name, "exposures": len(g), "guaranteed_amount": round(total, 2),
                     "expected_compensation": round(exp_comp, 2), "compensation_ratio": ratio, "cap": cap,
                     "within_cap": pd.NA if cap is None else bool(ratio <= cap)})
    return pd.DataFrame(rows, columns=["scheme", "exposures", "guaranteed_amount", "expected_compensation",
                                       "compensation_ratio", "cap", "within_cap"])
