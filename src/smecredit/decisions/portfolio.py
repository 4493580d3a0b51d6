"""Portfolio expected loss: per exposure and by segment (county, industry, size), with the party split."""

from __future__ import annotations

import pandas as pd

from smecredit.decisions import risk_sharing as rs
from smecredit.decisions.expected_loss import EL_PARTY_COLUMNS, add_expected_loss
from smecredit.decisions.policy import Policy
from smecredit.exceptions import DataContractError

#: Decisions whose exposures are on the book after the decision.
BOOKED = ("approve", "renew_without_repayment", "renew_with_conditions")
SEGMENTS = ("county", "industry", "size_class")


def portfolio_exposures(decisions: pd.DataFrame, policy: Policy, *, booked_only: bool = True) -> pd.DataFrame:
    """Exposures of a decisions table with expected loss recomputed under ``policy``.

    ``booked_only`` keeps the rows whose decision puts an exposure on the book (:data:`BOOKED`).
    """
    if "decision" not in decisions.columns:
        raise DataContractError("decisions table lacks column 'decision'; pass the output of `smecredit decide`")
    rows = decisions[decisions["decision"].isin(BOOKED)] if booked_only else decisions
    keep = [c for c in rows.columns if c not in {"lgd", "el", "scheme", *EL_PARTY_COLUMNS, "guarantor_compensatory_payment",
                                                 "guarantor_loss_on_default", "guarantor_net_loss", "break_even_fee"}]
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
