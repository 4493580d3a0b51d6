"""Expected loss per decision row and the split between risk-sharing parties.

Each row's sharing scheme follows its guarantee set-up and the policy
(``expected_loss`` section): a policy guarantor → the policy's government scheme (the tech-SME
scheme for recognised tech SMEs); loan guarantee insurance → the insurance scheme; another
guarantor → a bank/guarantor split of the loan's ``guaranteed_share``; none → the bank alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.decisions import risk_sharing as rs
from smecredit.decisions.policy import ExpectedLossPolicy
from smecredit.exceptions import DataContractError

EL_PARTY_COLUMNS = [f"el_{p}" for p in rs.PARTIES]
#: Columns :func:`add_expected_loss` adds (recomputed by the portfolio under another policy).
EL_COLUMNS = ["lgd", "el", "scheme", "scheme_note", *EL_PARTY_COLUMNS, "loss_on_default", "compensatory_payment",
              "reguarantee_claims", "recovery_on_default", "bank_net_loss_on_default", "guarantor_net_loss",
              "break_even_fee"]
THIRD_PARTY = ("policy_guarantor", "commercial_guarantor")
OWN_GUARANTEES = ("related_enterprise", "individual")


def _yuan(x) -> str:
    return f"¥{float(x):,.0f}"


def _known_true(flag) -> bool:
    """A yes/no field that is known and yes: a missing flag (an enterprise absent from the registry) is no."""
    return not pd.isna(flag) and bool(flag)


def scheme_for(guarantor_type, guarantee_insurance, guaranteed_share, tech_sme, el: ExpectedLossPolicy,
               exposure=None, guarantor_distress: str | None = "") -> tuple[rs.RiskShareStructure, str, float]:
    """The loss-sharing scheme of one exposure, a note (Chinese) when a guarantee moves no loss, and the
    factor applied to the LGD.

    Only third-party risk takers move loss off the bank: a policy guarantor → the policy's government
    scheme (the tech-SME scheme for recognised tech SMEs), loan guarantee insurance → the insurance
    scheme, a commercial guarantor → bank / guarantor at the loan's ``guaranteed_share``. A scheme
    covers an exposure only up to its single-firm cap (``exposure``: the enterprise's exposure under
    the scheme, default the row's EAD); above it the bank carries the loss. A guarantee by the owner,
    a family member or a related enterprise shares the borrower's risk: the bank carries the loss and
    the LGD is lowered by ``own_guarantee_lgd_relief``. A guarantor enterprise that is itself in distress at
    the decision date (``guarantor_distress``: why, in Chinese — arrears, default, non-performing loans or a
    dishonest-debtor listing, :func:`smecredit.decisions.groups.distress_reasons`) is no risk taker at all:
    the bank carries the loss, without the own-guarantee LGD relief.
    """
    def capped(name: str) -> tuple[rs.RiskShareStructure, str, float]:
        s = el.scheme(name)
        if s.max_exposure is not None and exposure is not None and not pd.isna(exposure) \
                and float(exposure) > s.max_exposure + 1e-6:
            return (rs.get_scheme("bank_only"),
                    f"敞口{_yuan(exposure)}超过{name}方案单户上限{_yuan(s.max_exposure)}，不纳入分险，损失由银行承担", 1.0)
        return s, "", 1.0

    if isinstance(guarantor_distress, str) and guarantor_distress and guarantor_type in (*THIRD_PARTY, *OWN_GUARANTEES):
        return (rs.get_scheme("bank_only"),
                f"保证人自身{guarantor_distress}，不视为第三方风险承担方，不转移损失，损失由银行承担", 1.0)
    if guarantor_type == "policy_guarantor":
        return capped(el.tech_sme_scheme if _known_true(tech_sme) else el.policy_guarantor_scheme)
    if _known_true(guarantee_insurance):
        return capped(el.insurance_scheme)
    if guarantor_type == "commercial_guarantor":
        share = 0.0 if guaranteed_share is None or pd.isna(guaranteed_share) else float(guaranteed_share)
        return rs.bilateral_scheme(share), "", 1.0
    if guarantor_type in OWN_GUARANTEES:
        who = "关联企业保证" if guarantor_type == "related_enterprise" else "自然人（企业主或家庭成员）保证"
        return (rs.get_scheme("bank_only"),
                f"{who}与借款人风险同源，不转移损失，仅将违约损失率下调{el.own_guarantee_lgd_relief:.0%}",
                1.0 - el.own_guarantee_lgd_relief)
    return rs.get_scheme("bank_only"), "", 1.0


def add_expected_loss(frame: pd.DataFrame, el: ExpectedLossPolicy) -> pd.DataFrame:
    """Return a copy of ``frame`` with expected-loss columns (:data:`EL_COLUMNS`).

    ``lgd`` (by collateral type, lowered for own/related guarantees), ``el`` (PD × LGD × EAD), ``scheme``,
    ``scheme_note`` (why a guarantee moves no loss), ``el_<party>`` for every party (summing exactly to
    ``el``), and the cash flows if the borrower defaults, on the same LGD basis
    (:func:`smecredit.decisions.risk_sharing.default_cash_flows`): ``loss_on_default`` (LGD × EAD),
    ``compensatory_payment`` (代偿 the front guarantor or insurer pays the bank: (1 − s_bank) × EAD),
    ``reguarantee_claims`` (what it claims back from re-guarantors and funds), ``recovery_on_default``
    ((1 − LGD) × EAD, shared pro rata), ``bank_net_loss_on_default``, ``guarantor_net_loss`` (the front
    payer's s × LGD × EAD) and ``break_even_fee`` (PD × LGD × the front payer's share).

    ``frame`` needs ``pd, ead, collateral_type, guarantor_type, guarantee_insurance, guaranteed_share,
    tech_sme``; an optional ``scheme_exposure`` (the enterprise's exposure under its scheme) is checked
    against the scheme's single-firm cap (default: the row's EAD); an optional ``guarantor_in_distress`` (why the
    row's guarantor enterprise is in distress, empty when it is not) moves no loss. Rows without a PD or EAD get NaN.
    """
    need = ["pd", "ead", "collateral_type", "guarantor_type", "guarantee_insurance", "guaranteed_share", "tech_sme"]
    miss = [c for c in need if c not in frame.columns]
    if miss:
        raise DataContractError(f"decisions table lacks column(s) {miss} needed for expected loss")
    out = frame.drop(columns=[c for c in EL_COLUMNS if c in frame.columns])
    n = len(out)
    base_lgd = out["collateral_type"].map(el.lgd).astype(float).to_numpy()
    num = {c: np.full(n, np.nan) for c in EL_COLUMNS if c not in ("scheme", "scheme_note")}
    schemes = np.empty(n, dtype=object)
    notes = np.empty(n, dtype=object)
    cols = [out[c].to_numpy() for c in need]
    expo = out["scheme_exposure"].to_numpy() if "scheme_exposure" in out.columns else cols[1]
    bad = out["guarantor_in_distress"].to_numpy() if "guarantor_in_distress" in out.columns else np.full(n, "")
    for i in range(n):
        p, ead, _ctype, gt, ins, gs, tech = (c[i] for c in cols)
        s, note, factor = scheme_for(gt, ins, gs, tech, el, expo[i], bad[i])
        schemes[i], notes[i] = s.name, note
        lgd = base_lgd[i] * factor if not pd.isna(base_lgd[i]) else np.nan
        num["lgd"][i] = lgd
        if pd.isna(p) or pd.isna(ead) or pd.isna(lgd):
            continue
        e = rs.expected_loss(float(p), float(lgd), float(ead))
        num["el"][i] = float(e)
        for party, amount in rs.split_loss(e, s).items():
            num[f"el_{party}"][i] = float(amount)
        flows = rs.default_cash_flows(float(ead), float(lgd), s)
        front = rs.front_payer(s)
        num["loss_on_default"][i] = float(rs.loss_on_default(float(lgd), float(ead)))
        num["recovery_on_default"][i] = float(sum(f["recovery"] for f in flows.values()))
        num["bank_net_loss_on_default"][i] = float(flows["bank"]["net_loss"])
        num["compensatory_payment"][i] = float(flows["bank"]["receives"])
        num["reguarantee_claims"][i] = float(flows[front]["receives"]) if front else 0.0
        num["guarantor_net_loss"][i] = float(flows[front]["net_loss"]) if front else 0.0
        share = s.shares[front] if front else 0
        num["break_even_fee"][i] = float(rs.break_even_fee(float(p), float(lgd), share))
    for c in EL_COLUMNS:
        out[c] = schemes if c == "scheme" else notes if c == "scheme_note" else num[c]
    return out
