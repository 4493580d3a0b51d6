"""Exposure, groups and guarantee networks at a decision date.

*Exposure* of an enterprise: the balances of all its current loans at every lender (``loans.lender``),
from the latest ``loan_monthly`` record of each loan within ``max_data_age_days`` of the date.

*Group* (集团/关联企业): enterprises linked by a shared related person (``related_persons.person_id``:
legal representative, actual controller or main shareholder) or by a guarantee (a current loan of one
guaranteed by the other, ``loans.guarantor_enterprise_id``), taken transitively — the connected
components of those links. *Guarantee chain* (担保链/互保/联保): the component of guarantee links only.
A guarantor *in distress* (:func:`distress_reasons`): a current loan past due, with interest in arrears,
classed 关注 or worse, or a dishonest-debtor listing.
Without ``related_persons`` or ``guarantor_enterprise_id`` every enterprise is its own group and has no
guarantee network.

Only records dated on or before the decision date are used. Group identifiers are ordinals
(``G00001`` …) assigned in order of the members' ids: they carry no enterprise identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from smecredit.data.loaders import RawData

DISTRESS_CLASSES = ("关注", "次级", "可疑", "损失")


def current_loans(raw: RawData, as_of, max_data_age_days: int = 62) -> pd.DataFrame:
    """Loans with a positive balance at ``as_of``: loan fields plus ``balance, days_past_due, risk_class_5``."""
    d = pd.Timestamp(as_of).normalize()
    lm = raw["loan_monthly"]
    lm = lm[(lm["month_end"] <= d) & (lm["month_end"] > d - pd.Timedelta(days=max_data_age_days))]
    cur = lm.sort_values(["loan_id", "month_end"], kind="mergesort").drop_duplicates("loan_id", keep="last")
    cur = cur[cur["balance"] > 0][["loan_id", "balance", "days_past_due", "risk_class_5", "interest_arrears"]]
    loans = raw["loans"]
    loans = loans[loans["start_date"] <= d].drop_duplicates("loan_id")
    keep = ["loan_id", "enterprise_id", "lender", "guarantor_type"]
    if "guarantor_enterprise_id" in loans.columns:
        keep.append("guarantor_enterprise_id")
    out = cur.merge(loans[keep], on="loan_id", how="inner")
    if "guarantor_enterprise_id" not in out.columns:
        out["guarantor_enterprise_id"] = None
    return out


def distress_reasons(raw: RawData, as_of, max_data_age_days: int = 62, *, cur: pd.DataFrame | None = None) -> dict:
    """Enterprises *in distress* at ``as_of`` → why, in Chinese.

    In distress: a current loan at any lender past due, with interest in arrears, or classed 关注 or worse
    (次级/可疑/损失 are non-performing), or a dishonest-debtor listing in force. Point in time: the
    latest monthly record of each current loan within ``max_data_age_days``, judicial events dated on or
    before ``as_of``. Such a guarantor cannot be relied on to pay: it is no third-party risk taker, and
    the firms it guarantees (or that guarantee it) carry its contagion risk (担保链).
    """
    d = pd.Timestamp(as_of).normalize()
    cur = current_loans(raw, d, max_data_age_days) if cur is None else cur
    key = cur["enterprise_id"]
    dpd = pd.to_numeric(cur["days_past_due"], errors="coerce").groupby(key).max()
    arrears = cur["interest_arrears"].astype("boolean").fillna(False).astype(bool).groupby(key).any()
    rank = {c: i for i, c in enumerate(DISTRESS_CLASSES)}
    worst_rank = cur["risk_class_5"].map(rank).groupby(key).max()
    worst = worst_rank.dropna().astype(int).map(dict(enumerate(DISTRESS_CLASSES)))
    out: dict[str, list[str]] = {}
    for eid, v in dpd.items():
        if pd.notna(v) and v > 0:
            out.setdefault(eid, []).append(f"贷款逾期{int(v)}天")
    for eid, v in arrears.items():
        if v:
            out.setdefault(eid, []).append("欠息")
    for eid, v in worst.items():
        if isinstance(v, str):
            out.setdefault(eid, []).append(f"贷款为{v}类" + ("（不良）" if v != "关注" else ""))
    jud = raw["judicial_events"]
    jud = jud[(jud["event_date"] <= d) & jud["event_type"].isin(["dishonest_debtor_listed", "dishonest_debtor_removed"])]
    last = jud.sort_values(["enterprise_id", "event_date"], kind="mergesort").drop_duplicates("enterprise_id", keep="last")
    for eid in last.loc[last["event_type"] == "dishonest_debtor_listed", "enterprise_id"]:
        out.setdefault(eid, []).append("失信被执行人")
    return {k: "、".join(v) for k, v in sorted(out.items())}


def _components(nodes: pd.Index, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of every node given undirected edges (a[i], b[i]) as node positions."""
    n = len(nodes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    m = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(m, directed=False)[1]


def _ordinal_ids(nodes: pd.Index, labels: np.ndarray, prefix: str) -> pd.Series:
    """Ordinal ids (prefix00001 …) by the smallest member id of each component (deterministic)."""
    first = pd.Series(nodes, index=nodes).groupby(labels).min().sort_values()
    rank = {lab: i + 1 for i, lab in enumerate(first.index)}
    return pd.Series([f"{prefix}{rank[x]:05d}" for x in labels], index=nodes)


def exposure_and_groups(raw: RawData, as_of, enterprise_ids, *, max_data_age_days: int = 62) -> pd.DataFrame:
    """One row per enterprise of ``enterprise_ids`` (index ``enterprise_id``).

    Columns: ``total_exposure`` (all current loans, all lenders), ``lenders_now``,
    ``policy_guaranteed_exposure`` (current loans with a policy guarantor), ``group_id``, ``group_size``,
    ``group_exposure``, ``guarantee_chain_size`` (enterprises in its guarantee network, itself included),
    ``guarantors`` / ``guarantors_in_distress`` (guarantor enterprises of its current loans),
    ``guaranteed_for_others`` (balances of other firms' loans it guarantees) and
    ``guaranteed_in_distress`` (how many of the firms it guarantees are in distress).
    """
    d = pd.Timestamp(as_of).normalize()
    ids = pd.Index(pd.unique(pd.Series(list(enterprise_ids), dtype=object)), name="enterprise_id")
    cur = current_loans(raw, d, max_data_age_days)
    g = cur.groupby("enterprise_id")
    exposure = g["balance"].sum()
    lenders = g["lender"].nunique()
    pol = cur[cur["guarantor_type"] == "policy_guarantor"].groupby("enterprise_id")["balance"].sum()
    distressed = set(distress_reasons(raw, d, max_data_age_days, cur=cur))

    # links: guarantees of current loans, shared related persons
    gl = cur[cur["guarantor_enterprise_id"].notna() & (cur["guarantor_enterprise_id"] != cur["enterprise_id"])]
    ga, gb = gl["enterprise_id"].astype(object).to_numpy(), gl["guarantor_enterprise_id"].astype(object).to_numpy()
    pa_, pb_ = np.array([], dtype=object), np.array([], dtype=object)
    rp = raw.get("related_persons")
    if rp is not None and len(rp):
        r = rp[["person_id", "enterprise_id"]].drop_duplicates()
        first = r.groupby("person_id")["enterprise_id"].transform("min")
        link = r[r["enterprise_id"] != first]
        pa_, pb_ = link["enterprise_id"].astype(object).to_numpy(), first[link.index].astype(object).to_numpy()
    nodes = pd.Index(pd.unique(np.concatenate([ids.to_numpy(dtype=object), ga, gb, pa_, pb_])))
    pos = pd.Series(np.arange(len(nodes)), index=nodes)
    all_a = np.concatenate([pos[ga].to_numpy(), pos[pa_].to_numpy()]) if len(nodes) else np.array([], int)
    all_b = np.concatenate([pos[gb].to_numpy(), pos[pb_].to_numpy()]) if len(nodes) else np.array([], int)
    grp = _components(nodes, all_a.astype(np.int64), all_b.astype(np.int64))
    chain = _components(nodes, pos[ga].to_numpy().astype(np.int64), pos[gb].to_numpy().astype(np.int64))
    node_exposure = exposure.reindex(nodes).fillna(0.0).to_numpy()
    grp_size = pd.Series(grp).map(pd.Series(grp).value_counts()).to_numpy()
    grp_expo = pd.Series(node_exposure).groupby(grp).transform("sum").to_numpy()
    chain_size = pd.Series(chain).map(pd.Series(chain).value_counts()).to_numpy()
    out = pd.DataFrame(index=ids)
    out["total_exposure"] = exposure.reindex(ids).fillna(0.0).astype(float)
    out["lenders_now"] = lenders.reindex(ids).fillna(0).astype(int)
    out["policy_guaranteed_exposure"] = pol.reindex(ids).fillna(0.0).astype(float)
    at = pos[ids].to_numpy()
    out["group_id"] = _ordinal_ids(nodes, grp, "G").reindex(ids).to_numpy()
    out["group_size"] = grp_size[at].astype(int)
    out["group_exposure"] = grp_expo[at].astype(float)
    out["guarantee_chain_size"] = chain_size[at].astype(int)
    gpairs = gl[["enterprise_id", "guarantor_enterprise_id"]].drop_duplicates()
    out["guarantors"] = gpairs.groupby("enterprise_id").size().reindex(ids).fillna(0).astype(int)
    gd = gpairs[gpairs["guarantor_enterprise_id"].isin(distressed)]
    out["guarantors_in_distress"] = gd.groupby("enterprise_id").size().reindex(ids).fillna(0).astype(int)
    out["guaranteed_for_others"] = gl.groupby("guarantor_enterprise_id")["balance"].sum().reindex(ids).fillna(0.0).astype(float)
    od = gpairs[gpairs["enterprise_id"].isin(distressed)]
    out["guaranteed_in_distress"] = od.groupby("guarantor_enterprise_id").size().reindex(ids).fillna(0).astype(int)
    return out


def book_concentration(raw: RawData, as_of, *, lender: str | None = None, max_data_age_days: int = 62) -> dict:
    """The bank's book at ``as_of`` (current balances; of ``lender`` only when given): total, by industry
    and by county. Returns ``{"total": float, "industry": Series, "county": Series}``."""
    cur = current_loans(raw, as_of, max_data_age_days)
    if lender is not None:
        cur = cur[cur["lender"] == lender]
    ent = raw["enterprises"].drop_duplicates("enterprise_id").set_index("enterprise_id")
    seg = cur.assign(industry=cur["enterprise_id"].map(ent["industry"]), county=cur["enterprise_id"].map(ent["county"]))
    return {"total": float(seg["balance"].sum()),
            "industry": seg.groupby("industry")["balance"].sum(), "county": seg.groupby("county")["balance"].sum()}


def guarantor_exposure(raw: RawData, as_of, *, max_data_age_days: int = 62) -> pd.Series:
    """Current balances guaranteed by each guarantor enterprise (index ``guarantor_enterprise_id``)."""
    cur = current_loans(raw, as_of, max_data_age_days)
    cur = cur[cur["guarantor_enterprise_id"].notna()]
    return cur.groupby("guarantor_enterprise_id")["balance"].sum()
