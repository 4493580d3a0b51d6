"""The enterprises of the city: registry attributes, static risk and type, mutual-guarantee clusters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smecredit.data import reference as ref
from smecredit.data import uscc
from smecredit.simulation.config import SimConfig
from smecredit.simulation.latent import theta_grid

_COUNTY_P = np.array([0.16, 0.13, 0.15, 0.12, 0.15, 0.10, 0.07, 0.06, 0.06])
_IND_P = np.array([0.05, 0.35, 0.06, 0.25, 0.05, 0.08, 0.03, 0.05, 0.02, 0.06])
_IND_EFFECT = {"A": 0.2, "C": 0.0, "E": 0.3, "F": 0.1, "G": 0.1, "H": 0.35, "I": -0.1, "L": 0.1, "M": -0.2, "O": 0.15}
_NAME_WORDS = list("华盛兴达泰恒鑫源宏昌隆丰利顺安嘉明信诚德瑞祥和通宇新")
_IND_WORDS = {"A": "农业", "C": "机械制造", "E": "建筑工程", "F": "商贸", "G": "物流", "H": "餐饮",
              "I": "信息技术", "L": "商务服务", "M": "科技", "O": "服务"}
_LEGAL_SUFFIX = {"company": "有限公司", "individual_business": "经营部", "farmer_cooperative": "专业合作社"}


def classify_size(industry: np.ndarray, employees: np.ndarray, revenue: np.ndarray,
                  wholesale: np.ndarray | None = None) -> np.ndarray:
    """Size class under the national SME standard (simplified: both bounds must be met).

    ``wholesale`` marks section-F firms that are wholesalers (批发业), classified on the wholesale
    thresholds; other section-F firms on the retail ones.
    """
    out = np.full(len(industry), "micro", dtype=object)
    wholesale = np.zeros(len(industry), dtype=bool) if wholesale is None else np.asarray(wholesale)
    for code, info in ref.INDUSTRIES.items():
        for wh in (False, True):
            m = (industry == code) & (wholesale == wh)
            if not m.any():
                continue
            std = ref.SIZE_STANDARD["wholesale" if (wh and code == "F") else info["standard"]]
            small = (employees >= std["small"][0]) & (revenue >= std["small"][1])
            medium = (employees >= std["medium"][0]) & (revenue >= std["medium"][1])
            out[m & small] = "small"
            out[m & medium] = "medium"
    return out


@dataclass
class Firms:
    n: int
    eid: np.ndarray
    name: np.ndarray
    county: np.ndarray
    mountain: np.ndarray
    urban: np.ndarray
    industry: np.ndarray
    ind_idx: np.ndarray
    legal_form: np.ndarray
    reg_date: np.ndarray
    age_years: np.ndarray
    employees: np.ndarray
    revenue: np.ndarray  # annual, CNY, long-run level
    size_class: np.ndarray
    capital: np.ndarray
    tech: np.ndarray
    green: np.ndarray
    u: np.ndarray
    theta_idx: np.ndarray
    theta: np.ndarray
    ftype: np.ndarray  # 2 × highly leveraged + strategic defaulter (see N_TYPES)
    fraud: np.ndarray  # invoice-fraud firm (虚开发票): inflated invoices, higher static risk
    birth: np.ndarray  # month of registration inside the window (-1: registered before it)
    hz_row: np.ndarray | None = None  # row of the hazard's systematic term (industry, or exposed to a downturn)


def make_firms(cfg: SimConfig, n: int, first_serial: int, window_start: pd.Timestamp,
               rng: np.random.Generator, id_map: Callable[[np.ndarray], np.ndarray],
               rng_b: np.random.Generator | None = None) -> Firms:
    """The chunk's enterprises. ``rng_b`` (a stream of its own) draws the births inside the window: about
    ``birth_rate`` of the stock a year register in the window, with a newborn's age risk."""
    counties = np.array(list(ref.COUNTIES))
    county = counties[rng.choice(len(counties), n, p=_COUNTY_P)]
    mountain = np.array([ref.COUNTIES[c]["mountain"] for c in county])
    urban = np.array([ref.COUNTIES[c]["urban"] for c in county])
    inds = np.array(list(ref.INDUSTRIES))
    ind_idx = rng.choice(len(inds), n, p=_IND_P)
    industry = inds[ind_idx]
    # sole proprietors (个体工商户) are about two-thirds of market entities nationally
    p_ind = np.where(industry == "A", 0.7, np.where(np.isin(industry, ["F", "H", "O"]), 0.82, 0.5))
    r = rng.random(n)
    legal = np.where(r < p_ind, "individual_business", "company").astype(object)
    legal[(industry == "A") & (rng.random(n) < 0.35)] = "farmer_cooperative"
    ind_bus = legal == "individual_business"
    age = np.clip(rng.lognormal(np.log(7.0), 0.7, n), 0.3, 40.0)
    # births inside the window (their own stream): registered in month ``birth``, newborn age risk
    rng_b = rng_b or np.random.default_rng(0)
    years = cfg.months / 12
    born = rng_b.random(n) < cfg.birth_rate * years / (1 + cfg.birth_rate * years)
    birth = np.where(born, rng_b.integers(1, cfg.months, n), -1)
    b_day = rng_b.integers(0, 28, n)
    age = np.where(born, 0.3, age)
    reg = (window_start - pd.to_timedelta(np.round(age * 365.25), unit="D")).to_numpy(dtype="datetime64[D]")
    b_reg = (np.datetime64(window_start.to_period("M").start_time.date(), "M") + birth.astype("timedelta64[M]")
             ).astype("datetime64[D]") + b_day.astype("timedelta64[D]")
    reg = np.where(born, b_reg, reg)
    # companies: mostly micro (about 80 %), a few larger established firms (medium about 1 %)
    larger = rng.random(n) < 0.03
    emp = np.where(ind_bus, rng.lognormal(np.log(4), 0.6, n),
                   np.where(larger, rng.lognormal(np.log(80), 0.9, n), rng.lognormal(np.log(4.5), 1.1, n)))
    emp = np.maximum(1, np.round(emp)).astype(np.int64)
    rev_per_emp = np.where(np.isin(industry, ["F", "G"]), 900_000, 450_000) * rng.lognormal(0, cfg.productivity_sd, n)
    revenue = emp * rev_per_emp
    wholesale = (industry == "F") & (rng.random(n) < 0.4)
    size = classify_size(industry, emp, revenue, wholesale)
    capital = np.round(np.maximum(10_000, revenue * rng.lognormal(np.log(0.15), 0.6, n)), -4)
    tech = (rng.random(n) < np.where(np.isin(industry, ["C", "I", "M"]), 0.16, 0.02)) & ~ind_bus
    green = rng.random(n) < np.where(np.isin(industry, ["A", "C", "E"]), 0.08, 0.04)
    u = rng.normal(0, cfg.u_sd, n)
    reg_part = (0.35 * ind_bus + 0.2 * (legal == "farmer_cooperative")
                + np.select([size == "micro", size == "medium"], [cfg.micro_risk, -0.2], 0.0)
                - 0.25 * np.log(age / 7.0).clip(-1.5, 1.5)
                + np.array([_IND_EFFECT[c] for c in industry])
                + 0.25 * mountain - 0.15 * tech - 0.1 * green)
    thetas = theta_grid(cfg.theta_step)
    fraud = (rng.random(n) < cfg.fraud_share) & (legal == "company")
    raw_theta = reg_part - 0.1 + u + 0.8 * fraud
    theta_idx = np.clip(np.round((raw_theta - thetas[0]) / cfg.theta_step), 0, len(thetas) - 1).astype(np.int64)
    divisions = np.array([ref.COUNTIES[c]["division"] for c in county])
    types = np.array([ref.LEGAL_FORM_USCC_TYPE[x] for x in legal])
    eid = uscc.make_codes(id_map(np.arange(first_serial, first_serial + n)), divisions, types)
    w = rng.integers(0, len(_NAME_WORDS), (n, 2))
    name = np.array([f"台州{ref.COUNTIES[c]['zh'][:2]}{_NAME_WORDS[a]}{_NAME_WORDS[b]}{_IND_WORDS[i]}{_LEGAL_SUFFIX[lf]}"
                     for c, a, b, i, lf in zip(county, w[:, 0], w[:, 1], industry, legal, strict=True)], dtype=object)
    lev = rng.random(n) < cfg.leverage_share * np.where(np.isin(industry, ["C", "E", "F"]), 1.2, 0.8)
    strategic = rng.random(n) < cfg.strategic_share
    ftype = 2 * lev.astype(np.int64) + strategic.astype(np.int64)
    return Firms(n, eid, name, county, mountain, urban, industry, ind_idx, legal, reg, age, emp, revenue, size,
                 capital, tech, green, u, theta_idx, thetas[theta_idx], ftype, fraud, birth)


def make_clusters(cfg: SimConfig, firms: Firms, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mutual-guarantee clusters (互保/联保) of 3–10 companies of one county and industry.

    Returns (anchor, cluster, group): ``anchor[i]`` is the index of the cluster's anchor (its largest
    firm) for the other members, -1 for the anchor itself and for firms outside clusters; ``cluster[i]``
    the cluster number (-1 outside); ``group[i]`` whether the cluster is a group under one actual
    controller (related persons). A member's hazard jumps when its anchor defaults; the anchor's
    does not depend on the members (a star), which keeps every PD exact.
    """
    n = firms.n
    anchor = np.full(n, -1, dtype=np.int64)
    cluster = np.full(n, -1, dtype=np.int64)
    group = np.zeros(n, dtype=bool)
    cand = np.nonzero((firms.legal_form == "company") & np.isin(firms.industry, ["C", "E", "F", "G"])
                      & (rng.random(n) < cfg.guarantee_cluster_share) & (firms.birth < 0))[0]
    if len(cand) < 3:
        return anchor, cluster, group
    order = np.lexsort((rng.random(len(cand)), firms.industry[cand], firms.county[cand]))
    cand = cand[order]
    sizes = rng.integers(3, 11, len(cand))
    pos, c = 0, 0
    while pos + 3 <= len(cand):
        k = int(min(sizes[c], len(cand) - pos))
        members = cand[pos:pos + k]
        same = (firms.county[members] == firms.county[members[0]]) & (firms.industry[members] == firms.industry[members[0]])
        members = members[same]
        if len(members) >= 3:
            a = members[np.argmax(firms.revenue[members])]
            cluster[members] = c
            anchor[members[members != a]] = a
            group[members] = rng.random() < 0.4
            c += 1
        pos += k
    return anchor, cluster, group

