"""Guarantee networks (担保链, 互保/联保) and related-enterprise groups: contagion features.

Sources: ``loans.guarantor_enterprise_id`` (optional column: the enterprise guaranteeing a loan),
``loans.start_date`` / ``maturity_date``, ``loan_monthly`` (status of the linked enterprises) and
``related_persons`` (shared legal representatives, controllers, shareholders).

Definitions at snapshot *s* (anchor month *a*):

* A **guarantee link** borrower → guarantor comes from a loan started on or before *s* and maturing
  after *s* − 365 days (in force at some time in the last 12 months: a guarantor stays liable for a loan
  that went bad), guarantor ≠ borrower. *Partners* of an enterprise: its guarantors and the firms it
  guarantees. Its **guarantee chain** (担保圈): the connected component of the links, itself included.
* An enterprise is **in distress** when one of its loans was past due, in interest arrears or classed
  关注 or worse in ``loan_monthly`` in the last 3 months (*a* − 2 … *a*); it **defaulted in the last 12
  months** when a month *a* − 11 … *a* shows more than ``FeatureConfig.default_dpd`` days past due or a
  non-performing class (次级/可疑/损失), the label's definition. Only ``loan_monthly`` rows known at *s*
  count (month on or before *a*, ``available_date`` on or before *s*). An enterprise without loan
  records counts as not in distress.
* A **group**: the enterprises sharing a related person (connected components), itself included.
  ``related_persons`` has no history: the current list is used at every snapshot (as in the ``rp_``
  family).

Links and statuses of *other* enterprises are needed, so the inputs (:class:`NetworkData`) are those
of the whole data even when features are built chunk by chunk (``PreparedRaw.network``).

Missing data: without any ``guarantor_enterprise_id`` value in ``loans`` (column absent or empty) the
guarantee features are NaN and ``net_missing`` = 1 — never a misleading 0; without ``related_persons``
the group features are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from smecredit.data.reference import RISK_CLASSES
from smecredit.data.schemas import AVAILABLE_DATE
from smecredit.features._panel import (NONPERFORMING_RANK, FeatureConfig, PreparedRaw, anchor_month, day_index,
                                       frame, month_index, snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec

FAMILY = "net"
SRC = "loans+loan_monthly"
GUARANTOR = "guarantor_enterprise_id"
LINK_MEMORY_DAYS = 365  # a link stays in the network this long after the loan's maturity
DISTRESS_MONTHS = 3
DEFAULT_MONTHS = 12
WATCH_RANK = RISK_CLASSES.index("关注")

SPECS: list[FeatureSpec] = [
    FeatureSpec("net_guarantors", FAMILY, "loans", None, "count", "Guarantor enterprises of its loans",
                "为其贷款担保的企业数", "enterprises", "up"),
    FeatureSpec("net_guaranteed_firms", FAMILY, "loans", None, "count", "Enterprises whose loans it guarantees",
                "其担保的企业数", "enterprises", "up"),
    FeatureSpec("net_chain_size", FAMILY, "loans", None, "count", "Enterprises in its guarantee chain",
                "所在担保圈企业数", "enterprises", "up"),
    FeatureSpec("net_guarantors_distress", FAMILY, SRC, DISTRESS_MONTHS, "count",
                "Guarantors past due, in arrears or classed special mention or worse", "担保企业逾期、欠息或关注类及以下家数",
                "enterprises", "up"),
    FeatureSpec("net_chain_distress", FAMILY, SRC, DISTRESS_MONTHS, "count",
                "Other enterprises of its guarantee chain past due, in arrears or classed special mention or worse",
                "担保圈内其他企业逾期、欠息或关注类及以下家数", "enterprises", "up"),
    FeatureSpec("net_partner_default_12m", FAMILY, SRC, DEFAULT_MONTHS, "count",
                "Guarantee partners (guarantors or guaranteed firms) in default", "担保关联企业（担保人或被担保人）违约家数",
                "enterprises", "up"),
    FeatureSpec("net_chain_default_12m", FAMILY, SRC, DEFAULT_MONTHS, "count",
                "Other enterprises of its guarantee chain in default", "担保圈内其他企业违约家数", "enterprises", "up"),
    FeatureSpec("net_group_size", FAMILY, "related_persons", None, "count",
                "Enterprises of its group (sharing a related person)", "关联企业集团企业数（共同关联自然人）", "enterprises",
                "none"),
    FeatureSpec("net_group_distress", FAMILY, "related_persons+loan_monthly", DISTRESS_MONTHS, "count",
                "Other enterprises of its group past due, in arrears or classed special mention or worse",
                "集团内其他企业逾期、欠息或关注类及以下家数", "enterprises", "up"),
    missing_spec(FAMILY, "loans", "guarantee-network", "担保关系"),
]


@dataclass(frozen=True)
class NetworkData:
    """Whole-data inputs of the family: links, person links and the loan statuses of the linked enterprises.

    ``links``: ``borrower, guarantor, start_day, maturity_day`` (one row per loan with an enterprise
    guarantor); ``persons``: ``enterprise_id, person_id`` of persons related to two or more enterprises
    (None when ``related_persons`` is absent); ``status``: ``enterprise_id, month, dpd, arrears, rank,
    available_day`` rows of ``loan_monthly`` of every linked enterprise; ``has_guarantors``: whether the
    data hold any guarantor value at all.
    """

    links: pd.DataFrame
    persons: pd.DataFrame | None
    status: pd.DataFrame
    has_guarantors: bool


def linked_enterprises(loans: pd.DataFrame, persons: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None,
                                                                                   set]:
    """The guarantee links of ``loans``, the person links of ``persons`` and the set of linked enterprises."""
    if GUARANTOR in loans.columns:
        g = loans[loans[GUARANTOR].notna()]
        g = g[g[GUARANTOR].astype(object) != g["enterprise_id"].astype(object)]
    else:
        g = loans.iloc[:0]
    links = pd.DataFrame({"borrower": g["enterprise_id"].astype(object).to_numpy(),
                          "guarantor": (g[GUARANTOR].astype(object).to_numpy() if len(g) else
                                        np.array([], dtype=object)),
                          "start_day": day_index(g["start_date"]), "maturity_day": day_index(g["maturity_date"])})
    linked = set(links["borrower"]) | set(links["guarantor"])
    plinks = None
    if persons is not None:
        p = persons[["enterprise_id", "person_id"]].drop_duplicates()
        many = p.groupby("person_id")["enterprise_id"].transform("nunique") > 1
        plinks = p[many.to_numpy()].astype(object).reset_index(drop=True)
        linked |= set(plinks["enterprise_id"])
    return links, plinks, linked


def status_rows(loan_monthly: pd.DataFrame) -> pd.DataFrame:
    """The status columns of ``loan_monthly`` rows (typed frames)."""
    rank = pd.Index(RISK_CLASSES).get_indexer(loan_monthly["risk_class_5"]).astype(np.float64)
    rank[rank < 0] = np.nan
    avail = (day_index(loan_monthly[AVAILABLE_DATE]) if AVAILABLE_DATE in loan_monthly.columns
             else np.full(len(loan_monthly), np.nan))
    return pd.DataFrame({
        "enterprise_id": loan_monthly["enterprise_id"].astype(object).to_numpy(),
        "month": month_index(loan_monthly["month_end"]),
        "dpd": pd.to_numeric(loan_monthly["days_past_due"], errors="coerce").to_numpy(dtype=np.float64,
                                                                                    na_value=np.nan),
        "arrears": loan_monthly["interest_arrears"].fillna(False).to_numpy(dtype=bool),
        "rank": rank, "available_day": avail})


def network_data(loans: pd.DataFrame, loan_monthly: pd.DataFrame, persons: pd.DataFrame | None,
                 rows_of=None) -> NetworkData:
    """:class:`NetworkData` of whole (typed) tables; ``loan_monthly`` may already be limited to linked enterprises.

    ``rows_of(linked)``, when given, returns the boolean mask of the ``loan_monthly`` rows of the enterprises
    ``linked`` (a faster lookup than by id)."""
    links, plinks, linked = linked_enterprises(loans, persons)
    if not linked:
        lm = loan_monthly.iloc[:0]
    else:
        mask = rows_of(linked) if rows_of is not None else loan_monthly["enterprise_id"].isin(linked).to_numpy()
        lm = loan_monthly[mask]
    return NetworkData(links, plinks, status_rows(lm.reset_index(drop=True)), bool(len(links)) or
                       (GUARANTOR in loans.columns and loans[GUARANTOR].notna().any()))


def network_of(raw: PreparedRaw) -> NetworkData:
    """The network inputs of ``raw``: those given for the whole data, or built from its own tables (cached)."""
    if raw.network is not None:
        return raw.network

    def rows_of(linked: set) -> np.ndarray:
        wanted = np.zeros(raw.n + 1, dtype=bool)
        wanted[raw.index.get_indexer(pd.Index(list(linked), dtype=object))] = True  # -1 (unknown) lands on the pad
        wanted[-1] = False
        return wanted[raw.codes("loan_monthly")]

    return raw.cached(("network",), lambda: network_data(raw.raw["loans"], raw.raw["loan_monthly"],
                                                         raw.table("related_persons"), rows_of))


def _components(a: np.ndarray, b: np.ndarray) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes, component label per node, component size per node, and the node positions of ``a`` and ``b``
    (undirected edges a[i]–b[i])."""
    nodes = pd.Index(pd.unique(np.concatenate([a, b]).astype(object)))
    if len(nodes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return nodes, empty, empty, empty, empty
    ia, ib = nodes.get_indexer(a), nodes.get_indexer(b)
    m = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(len(nodes), len(nodes)))
    labels = connected_components(m, directed=False)[1]
    return nodes, labels, np.bincount(labels)[labels], ia, ib


def _others_in_component(labels: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Per node: how many *other* members of its component are flagged."""
    if len(labels) == 0:
        return np.zeros(0)
    return np.bincount(labels, weights=flag.astype(np.float64))[labels] - flag


def _distinct_counts(owner: np.ndarray, other: np.ndarray, n_nodes: int, weight: np.ndarray | None = None) -> np.ndarray:
    """Per node: distinct ``other`` nodes of its rows in ``owner`` (counting only flagged ones given ``weight``)."""
    if len(owner) == 0:
        return np.zeros(n_nodes)
    pairs = np.unique(owner.astype(np.int64) * n_nodes + other.astype(np.int64))
    o, x = pairs // n_nodes, pairs % n_nodes
    return np.bincount(o, weights=None if weight is None else weight[x].astype(np.float64), minlength=n_nodes)


def _at(n: int, node_pos: np.ndarray, values: np.ndarray, outside: float) -> np.ndarray:
    """Per enterprise (``n`` of them): the value of its node, ``outside`` when it is no node; ``node_pos`` is the
    position of each node among the enterprises (-1 for nodes outside them)."""
    out = np.full(n, outside, dtype=np.float64)
    inside = node_pos >= 0
    out[node_pos[inside]] = values[inside]
    return out


def network_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Guarantee-network and group features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS]
    n = raw.n
    net = network_of(raw)
    s_day = snapshot_day(snapshot)
    a = anchor_month(snapshot)

    st = net.status
    months = st["month"].to_numpy()
    known = (months <= a) & ~(st["available_day"].to_numpy() > s_day)
    dpd, rank = st["dpd"].to_numpy(), st["rank"].to_numpy()
    bad_now = (dpd > 0) | st["arrears"].to_numpy() | (rank >= WATCH_RANK)
    in_default = (dpd > cfg.default_dpd) | (rank >= NONPERFORMING_RANK)
    eids = st["enterprise_id"].to_numpy()
    distressed = pd.unique(eids[known & (months > a - DISTRESS_MONTHS) & bad_now])
    defaulted = pd.unique(eids[known & (months > a - DEFAULT_MONTHS) & in_default])

    cols: dict[str, np.ndarray] = {}
    if net.has_guarantors:
        lk = net.links
        on = (lk["start_day"].to_numpy() <= s_day) & (lk["maturity_day"].to_numpy() > s_day - LINK_MEMORY_DAYS)
        nodes, labels, size, ib, ig = _components(lk["borrower"].to_numpy()[on], lk["guarantor"].to_numpy()[on])
        k = len(nodes)
        dist, dflt = nodes.isin(distressed), nodes.isin(defaulted)
        pos = raw.index.get_indexer(nodes)  # hashes the few nodes, not every id
        both_o, both_x = np.concatenate([ib, ig]), np.concatenate([ig, ib])  # partners in either direction
        cols.update({
            "net_guarantors": _at(n, pos, _distinct_counts(ib, ig, k), 0.0),
            "net_guaranteed_firms": _at(n, pos, _distinct_counts(ig, ib, k), 0.0),
            "net_chain_size": _at(n, pos, size.astype(np.float64), 1.0),
            "net_guarantors_distress": _at(n, pos, _distinct_counts(ib, ig, k, dist), 0.0),
            "net_chain_distress": _at(n, pos, _others_in_component(labels, dist), 0.0),
            "net_partner_default_12m": _at(n, pos, _distinct_counts(both_o, both_x, k, dflt), 0.0),
            "net_chain_default_12m": _at(n, pos, _others_in_component(labels, dflt), 0.0),
            "net_missing": np.zeros(n),
        })
    else:
        for c in names[:7]:
            cols[c] = np.full(n, np.nan)
        cols["net_missing"] = np.ones(n)
    if net.persons is not None:
        p = net.persons
        # enterprises linked through a shared person: edges from each person's first enterprise to the others
        first = p.groupby("person_id")["enterprise_id"].transform("min").to_numpy()
        nodes, labels, size, _, _ = _components(p["enterprise_id"].to_numpy(), first)
        pos = raw.index.get_indexer(nodes)  # hashes the few nodes, not every id
        cols["net_group_size"] = _at(n, pos, size.astype(np.float64), 1.0)
        cols["net_group_distress"] = _at(n, pos, _others_in_component(labels, nodes.isin(distressed)), 0.0)
    else:
        cols["net_group_size"] = np.full(n, np.nan)
        cols["net_group_distress"] = np.full(n, np.nan)
    return frame(raw, cols)[names]
