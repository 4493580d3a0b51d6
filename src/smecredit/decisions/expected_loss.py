"""Expected loss per decision row and the split between risk-sharing parties.

Each row's sharing scheme follows its guarantee set-up and the policy
(``expected_loss`` section): a policy guarantor → the policy's government scheme (the tech-SME
scheme for recognised tech SMEs); loan guarantee insurance → the insurance scheme; another
guarantor → a bank/guarantor split of the loan's ``guaranteed_share``; none → the bank alone.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from smecredit.decisions import risk_sharing as rs
from smecredit.decisions.policy import ExpectedLossPolicy
from smecredit.exceptions import DataContractError

EL_PARTY_COLUMNS = [f"el_{p}" for p in rs.PARTIES]


def scheme_for(guarantor_type, guarantee_insurance, guaranteed_share, tech_sme, el: ExpectedLossPolicy
               ) -> rs.RiskShareStructure:
    """The loss-sharing scheme of one exposure (see the module docstring)."""
    if guarantor_type == "policy_guarantor":
        return el.scheme(el.tech_sme_scheme if bool(tech_sme) else el.policy_guarantor_scheme)
    if bool(guarantee_insurance):
        return el.scheme(el.insurance_scheme)
    if guarantor_type in ("commercial_guarantor", "related_enterprise", "individual"):
        share = 0.0 if guaranteed_share is None or pd.isna(guaranteed_share) else float(guaranteed_share)
        return rs.bilateral_scheme(share)
    return rs.get_scheme("bank_only")


def add_expected_loss(frame: pd.DataFrame, el: ExpectedLossPolicy) -> pd.DataFrame:
    """Return a copy of ``frame`` with expected-loss columns.

    Added: ``lgd``, ``el`` (PD × LGD × EAD), ``scheme``, ``el_<party>`` for every party,
    ``guarantor_compensatory_payment`` (代偿 on default: guarantor share × EAD),
    ``guarantor_loss_on_default`` (guarantor share × LGD × EAD), ``guarantor_net_loss`` (after the
    policy's recovery rate) and ``break_even_fee`` (PD × LGD × guarantor share × (1 − recovery)).

    ``frame`` needs ``pd, ead, collateral_type, guarantor_type, guarantee_insurance,
    guaranteed_share, tech_sme``. Rows without a PD or EAD get NaN expected loss. Party amounts
    sum exactly (to the fen) to ``el``.
    """
    need = ["pd", "ead", "collateral_type", "guarantor_type", "guarantee_insurance", "guaranteed_share", "tech_sme"]
    miss = [c for c in need if c not in frame.columns]
    if miss:
        raise DataContractError(f"decisions table lacks column(s) {miss} needed for expected loss")
    out = frame.copy()
    n = len(out)
    lgd = out["collateral_type"].map(el.lgd).astype(float)
    els = np.full(n, np.nan)
    parts = {c: np.full(n, np.nan) for c in EL_PARTY_COLUMNS}
    schemes = np.empty(n, dtype=object)
    g_pay, g_lod, g_net, fee = (np.full(n, np.nan) for _ in range(4))
    cols = [out[c].to_numpy() for c in need]
    for i in range(n):
        p, ead, ctype, gt, ins, gs, tech = (c[i] for c in cols)
        s = scheme_for(gt, ins, gs, tech, el)
        schemes[i] = s.name
        if pd.isna(p) or pd.isna(ead) or pd.isna(lgd.iat[i]):
            continue
        e = rs.expected_loss(float(p), float(lgd.iat[i]), float(ead))
        split = rs.split_loss(e, s)
        els[i] = float(e)
        for party, amount in split.items():
            parts[f"el_{party}"][i] = float(amount)
        gshare = s.guarantor_share
        gdec = Decimal(gshare.numerator) / Decimal(gshare.denominator)
        lod_g = (rs.loss_on_default(float(lgd.iat[i]), float(ead)) * gdec).quantize(rs.CENT)
        g_pay[i] = float(rs.compensatory_payment(float(ead), gdec))
        g_lod[i] = float(lod_g)
        g_net[i] = float(rs.net_loss_after_recovery(lod_g, el.recovery_rate))
        fee[i] = float(rs.break_even_fee(float(p), float(lgd.iat[i]), gshare, el.recovery_rate))
    out["lgd"] = lgd.to_numpy()
    out["el"] = els
    out["scheme"] = schemes
    for c in EL_PARTY_COLUMNS:
        out[c] = parts[c]
    out["guarantor_compensatory_payment"] = g_pay
    out["guarantor_loss_on_default"] = g_lod
    out["guarantor_net_loss"] = g_net
    out["break_even_fee"] = fee
    return out
