"""A seeded simulator of a city's SME population with known ground truth.

``simulate(n_enterprises, months, seed, out)`` writes every table of the data model as
Parquet into ``out`` and the ground truth into ``out/_truth/`` (which no feature may read).

The model (documented in ``docs/simulator.md``)
------------------------------------------------
Each enterprise *i* has a static risk offset ``theta_i`` (registry part: legal form, size,
age, industry, mountain county, tech/green flags; plus an unobserved part ``u_i``), rounded
to a grid of step 0.25, and a latent financial health ``x_{i,t}`` that follows a
discrete-state Markov chain (a Tauchen discretisation of a stationary AR(1) with unit
variance on a 41-point grid). Industry cycles and a macro shock give a systematic term
``s_{g,t}`` per industry (see ``scenario``). Delinquency is a second chain: a current
enterprise misses a payment in month *t* with probability ``lambda = sigmoid(a0 + theta_i -
beta * x_{i,t} - gamma * s_{g,t})``; a delinquent one rolls 1–30 → 31–60 → 61–90 → default
(more than 90 days past due) with roll rates that rise as health falls, or cures back to
current; in the macro shock banks hold part of the 61–90 bucket (forbearance). Default is
absorbing; defaulted loans are written off after 2–6 months.

Ground truth: ``pd_h`` at month *t* is the probability of default in months t+1 … t+h given
the joint latent state (health, delinquency bucket) at *t*, computed exactly by backward
recursion over the joint chain (``pd_tables``), conditional on the simulated path of the
systematic term and of forbearance (the scenario). Borrowers always keep at least one loan
outstanding (maturing loans are renewed, or repaid and refinanced, in a month the enterprise
is current; an overdue loan stays outstanding), so for borrowers the recorded default
follows the PDs exactly; for enterprises without a loan they are the PDs they would have
with an exposure.

Underwriting: enterprises apply, the bank approves on a noisy score of risk (rejected
applications are kept in ``application_history``); security is drawn by size, age and that
score, and loss given default depends on it (``_truth/lgd.parquet``).

Every source observes health with noise, lags, missing months and reporting errors;
coverage differs by legal form and county; events become more likely as health
deteriorates.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import expit
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from smecredit.data import reference as ref
from smecredit.data import uscc
from smecredit.data.schemas import TABLES
from smecredit.exceptions import ConfigError
from smecredit.io import atomic_path

log = logging.getLogger(__name__)

CHUNK = 25_000  # enterprises per chunk; fixed so that output bytes never depend on the machine
TRUTH_DIR = "_truth"

# Spring Festival (Chinese New Year) month by year; other years default to February.
SPRING_FESTIVAL_MONTH = {
    2015: 2, 2016: 2, 2017: 1, 2018: 2, 2019: 2, 2020: 1, 2021: 2, 2022: 2, 2023: 1,
    2024: 2, 2025: 1, 2026: 2, 2027: 2, 2028: 1, 2029: 2, 2030: 2, 2031: 1, 2032: 2,
    2033: 1, 2034: 2, 2035: 2,
}


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated city (defaults give realistic figures; see docs/simulator.md)."""

    n_enterprises: int = 20_000
    months: int = 36
    seed: int = 0
    end: str = "2025-12-31"
    # latent health chain
    n_states: int = 41
    phi: float = 0.93
    # hazard of a missed payment (monthly logit), then roll rates 30 -> 60 -> 90 -> default (logits at z = 0)
    a0: float = -6.75
    beta: float = 1.3
    gamma: float = 1.0
    u_sd: float = 0.5
    theta_step: float = 0.25
    roll_1: float = 0.2
    roll_2: float = 0.9
    roll_3: float = 1.6
    roll_health: float = 0.6  # roll rates rise as health falls
    strategic_roll: float = 4.0  # strategic defaulters roll on (logit shift of the roll rates)
    strategic_share: float = 0.04
    leverage_share: float = 0.3  # highly leveraged enterprises
    leverage_kink: float = 0.9  # hazard rises by this × (-health - kink_at) once health is below -kink_at
    kink_at: float = 0.5
    spring_squeeze: float = 0.3  # hazard logit in the month before the Spring Festival
    fraud_share: float = 0.01  # companies inflating invoices (虚开发票)
    inflation_share: float = 0.25  # new applicants window-dressing sales in the months before applying
    extra_loan_rate: float = 0.06  # monthly chance that a weak, current borrower borrows from another bank
    forbearance_share: float = 0.5
    burn_in: int = 12  # months simulated before the window: a delinquent stock at the start
    writeoff_months: tuple[int, int] = (2, 6)  # defaulted loans written off or disposed after this many months
    guarantee_cluster_share: float = 0.15  # of companies in manufacturing, construction, trade, transport
    cluster_guarantee_share: float = 0.7  # of cluster members' loans guaranteed inside the cluster
    contagion_steps: int = 6  # hazard jump of a member when its anchor defaults, in theta steps (6 × 0.25 = +1.5 logit)
    # systematic factors
    cycle_phi: float = 0.85
    cycle_sd: float = 0.06
    macro_shock: float = -0.45
    macro_len: int = 6
    # borrowing
    borrower_share: float = 0.62  # kept for compatibility; underwriting uses applicant_share and approval_cutoff
    applicant_share: float = 0.70
    approval_cutoff: float = 1.0  # approve when the bank's risk score is below this
    bank_score_noise: float = 0.6
    new_borrower_share: float = 0.12
    fixed_asset_share: float = 0.15
    renewal_share: float = 0.45
    weak_renewal_share: float = 0.35  # share of weak (not delinquent) borrowers still renewed without repayment
    application_share: float = 0.04
    # observability: dispersion of enterprise base levels and health loading of the tax ratio
    productivity_sd: float = 0.4
    energy_intensity_sd: float = 0.5
    tax_ratio_health: float = 0.0
    signal_loading: float = 1.0  # multiplies the health loading of sales, utilities and headcount
    # optional industry downturn (off by default): from month ``downturn_start`` (YYYY-MM) the distress
    # hazard logit of industry ``downturn_industry`` rises by ``downturn_severity``; the sources do not show it
    downturn_industry: str | None = None
    downturn_start: str | None = None
    downturn_severity: float = 0.0

    def validate(self) -> None:
        if self.n_enterprises < 1:
            raise ConfigError(f"n_enterprises must be >= 1; got {self.n_enterprises}")
        if not 13 <= self.months <= 240:
            raise ConfigError(f"months must be between 13 and 240; got {self.months}")
        try:
            end = pd.Timestamp(self.end)
        except ValueError as exc:
            raise ConfigError(f"end must be a date (YYYY-MM-DD); got {self.end!r}") from exc
        if end != end + pd.offsets.MonthEnd(0):
            raise ConfigError(f"end must be the last day of a month; got {self.end}")
        if end > pd.Timestamp(dt.date.today()):
            raise ConfigError(f"end must not be in the future; got {self.end}")
        if not 0 < self.phi < 1:
            raise ConfigError(f"phi must be in (0, 1); got {self.phi}")
        if self.downturn_industry is not None or self.downturn_start is not None:
            downturn_term(self, pd.Timestamp(self.end), 1)  # validates the downturn fields


def downturn_term(cfg: SimConfig, window_start: pd.Timestamp, n_total: int) -> np.ndarray:
    """Hazard shift (industries × months) of the optional industry downturn; zeros when it is off."""
    out = np.zeros((len(ref.INDUSTRIES), n_total))
    if cfg.downturn_industry is None and cfg.downturn_start is None:
        return out
    if cfg.downturn_industry not in ref.INDUSTRIES:
        raise ConfigError(f"downturn_industry must be one of {', '.join(ref.INDUSTRIES)}; got {cfg.downturn_industry!r}")
    try:
        start = pd.Period(str(cfg.downturn_start), freq="M")
        if len(str(cfg.downturn_start)) != 7:
            raise ValueError
    except ValueError as exc:
        raise ConfigError(f"downturn_start must be a month (YYYY-MM); got {cfg.downturn_start!r}") from exc
    if not 0 < cfg.downturn_severity <= 5:
        raise ConfigError(f"downturn_severity must be in (0, 5]; got {cfg.downturn_severity!r}")
    k = max(0, (start - window_start.to_period("M")).n)
    out[list(ref.INDUSTRIES).index(cfg.downturn_industry), k:] = cfg.downturn_severity
    return out


# --------------------------------------------------------------------------------------
# the latent model
# --------------------------------------------------------------------------------------

def health_grid(n_states: int, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid points and Tauchen transition matrix of a unit-variance AR(1) with coefficient phi."""
    z = np.linspace(-3.5, 3.5, n_states)
    step = z[1] - z[0]
    sd = np.sqrt(1 - phi**2)
    upper = norm.cdf((z[None, :] + step / 2 - phi * z[:, None]) / sd)
    lower = norm.cdf((z[None, :] - step / 2 - phi * z[:, None]) / sd)
    upper[:, -1] = 1.0
    lower[:, 0] = 0.0
    P = upper - lower
    return z, P / P.sum(axis=1, keepdims=True)


def theta_grid(step: float) -> np.ndarray:
    return np.round(np.arange(-4.0, 4.0 + step / 2, step), 10)


def hazard(cfg: SimConfig, theta: np.ndarray, z: np.ndarray, s: np.ndarray, lev: np.ndarray | float = 0.0) -> np.ndarray:
    """Monthly probability that a current (not delinquent) enterprise misses a payment (enters 1–30 dpd).

    ``logit = a0 + theta - beta z - gamma s + kappa * lev * max(0, -z - kink)``: leverage (``lev`` = 1 for
    highly leveraged enterprises) matters only once health has fallen (leverage × sales decline), so the
    log-odds are not linear in health.
    """
    z = np.asarray(z)
    return expit(cfg.a0 + theta - cfg.beta * z - cfg.gamma * s + cfg.leverage_kink * lev * np.maximum(0.0, -z - cfg.kink_at))


# delinquency buckets of the latent chain: 0 current, 1: 1–30, 2: 31–60, 3: 61–90 days past due;
# default (more than 90 days past due) is absorbing and is not a state of the tables.
N_BUCKETS = 4
HORIZONS = (1, 3, 6, 12, 24, 36)  # months of the exact PDs written to _truth/pd_term.parquet
# enterprise types (a second, orthogonal factor): type = 2 * high leverage + strategic defaulter
N_TYPES = 4
TYPE_LEV = np.array([0.0, 0.0, 1.0, 1.0])
TYPE_STRATEGIC = np.array([0.0, 1.0, 0.0, 1.0])


def roll_rates(cfg: SimConfig, z: np.ndarray, strategic: np.ndarray | float = 0.0) -> np.ndarray:
    """Probability of rolling from bucket k to k+1 (k = 1, 2, 3) given health z: array (3, *broadcast shape).

    Roll rates rise as health falls; strategic defaulters (unwilling rather than unable to pay) roll on
    and hardly ever cure. The rest cures (back to current), except in bucket 3 under forbearance.
    """
    z = np.asarray(z, dtype=float)
    shift = np.asarray(strategic, dtype=float) * cfg.strategic_roll - cfg.roll_health * z
    c = np.array([cfg.roll_1, cfg.roll_2, cfg.roll_3]).reshape((3,) + (1,) * shift.ndim)
    return expit(c + shift[None])


def step_values(lam: np.ndarray, roll: np.ndarray, forb: float, W: np.ndarray) -> np.ndarray:
    """One month of the delinquency chain, backwards: V(x', d) = sum_d' T(d -> d' | x') W(x', d').

    ``W`` has the bucket as last axis; ``lam`` and ``roll[k]`` broadcast against ``W[..., 0]``; ``forb``
    is the share of 61–90 dpd loans held there (forbearance) this month. Default contributes nothing
    (absorbing, survival 0).
    """
    r1, r2, r3 = roll[0], roll[1], roll[2]
    W0, W1, W2, W3 = W[..., 0], W[..., 1], W[..., 2], W[..., 3]
    return np.stack([(1 - lam) * W0 + lam * W1,
                     r1 * W2 + (1 - r1) * W0,
                     r2 * W3 + (1 - r2) * W0,
                     forb * W3 + (1 - forb) * (1 - r3) * W0], axis=-1)


def pd_tables(cfg: SimConfig, z: np.ndarray, P: np.ndarray, thetas: np.ndarray, s_haz: np.ndarray,
              forb_path: np.ndarray, months: int, horizons: tuple[int, ...] = HORIZONS) -> dict[int, np.ndarray]:
    """Exact PDs by horizon: {h: array [t, industry, theta, type, state, bucket]} for enterprises alive at t.

    Backward recursion over the joint (health, delinquency) chain, conditional on the scenario (the
    hazard's systematic term ``s_haz`` (industries, months + max(horizons)) and forbearance):
    ``W_h = 1``; ``W_{j-1}(x, d) = sum_x' P(x, x') V_j(x', d)`` with ``V_j`` one month of the
    delinquency chain at month t+j; ``pd_h = 1 - W_0``.
    """
    n_ind, nz, na = s_haz.shape[0], len(z), len(thetas)
    # layout (state, industry, theta, type, bucket): the health transition is one 2-D matrix product
    roll = roll_rates(cfg, z[None, :], TYPE_STRATEGIC[:, None])  # (3, type, state)
    rr = roll.transpose(0, 2, 1)[:, :, None, None, :]  # (3, state, 1, 1, type)
    shape = (nz, n_ind, na, N_TYPES, N_BUCKETS)
    out = {h: np.empty((months, n_ind, na, N_TYPES, nz, N_BUCKETS)) for h in horizons}
    # the hazard depends on the calendar month only: computed once per month
    lams = [hazard(cfg, thetas[None, None, :, None], z[:, None, None, None], s_haz[:, m][None, :, None, None],
                   TYPE_LEV[None, None, None, :]) for m in range(months + max(horizons))]
    with threadpool_limits(1):
        for t in range(months):
            for h in horizons:
                W = np.ones(shape)
                for j in range(h, 0, -1):
                    V = step_values(lams[t + j], rr, float(forb_path[t + j]), W)
                    W = (P @ V.reshape(nz, -1)).reshape(shape)  # W(x, .) = sum_x' P(x, x') V(x', .)
                out[h][t] = (1.0 - W).transpose(1, 2, 3, 0, 4)
    return out


def forward_default(cfg: SimConfig, z: np.ndarray, P: np.ndarray, theta: np.ndarray, s_rows: np.ndarray,
                    forb: np.ndarray, x0: np.ndarray, d0: np.ndarray, horizon: int,
                    theta_jump: np.ndarray | None = None, q: np.ndarray | None = None,
                    ftype: np.ndarray | None = None) -> np.ndarray:
    """Exact cumulative default probabilities, months 1 … horizon, of given enterprises (forward in time).

    Each enterprise starts at health state ``x0`` and bucket ``d0``; ``s_rows`` (m, horizon) and ``forb``
    (horizon,) are its hazard's systematic term and the forbearance share in months t+1 … t+horizon;
    ``ftype`` its type (default 0). With ``theta_jump`` and ``q`` (m, horizon), a flag switches on in
    month k with probability ``q[:, k]`` (independently of the enterprise's own path: a guarantee
    partner's default), after which the hazard uses ``theta_jump``. Returns (m, horizon).
    """
    m, nz = len(x0), len(z)
    ftype = np.zeros(m, dtype=np.int64) if ftype is None else np.asarray(ftype)
    layers = 1 if q is None else 2
    th = theta[:, None] if q is None else np.stack([theta, theta_jump], axis=1)  # (m, layers)
    pi = np.zeros((m, layers, N_BUCKETS, nz))
    pi[np.arange(m), 0, d0, x0] = 1.0
    roll = roll_rates(cfg, z[None, :], TYPE_STRATEGIC[ftype][:, None])  # (3, m, state)
    r1, r2, r3 = roll[0][:, None, :], roll[1][:, None, :], roll[2][:, None, :]
    lev = TYPE_LEV[ftype][:, None, None]
    out = np.empty((m, horizon))
    dead = np.zeros(m)
    new = np.empty_like(pi)
    with threadpool_limits(1):  # small products: one thread is faster and the sums never depend on the machine
        for k in range(horizon):
            pi = (pi.reshape(-1, nz) @ P).reshape(pi.shape)
            lam = hazard(cfg, th[:, :, None], z[None, None, :], s_rows[:, k][:, None, None], lev)  # (m, layers, nz)
            f = float(forb[k])
            p0, p1, p2, p3 = pi[:, :, 0], pi[:, :, 1], pi[:, :, 2], pi[:, :, 3]
            dead += (p3 * ((1 - f) * r3)).sum(axis=(1, 2))
            new[:, :, 1] = p0 * lam
            new[:, :, 0] = p0 - new[:, :, 1] + p1 * (1 - r1) + p2 * (1 - r2) + p3 * ((1 - f) * (1 - r3))
            new[:, :, 2] = p1 * r1
            new[:, :, 3] = p2 * r2 + p3 * f
            pi, new = new, pi
            if q is not None:
                move = pi[:, 0] * q[:, k][:, None, None]
                pi[:, 0] -= move
                pi[:, 1] += move
            out[:, k] = dead
    return out


def scenario(cfg: SimConfig, s_cyc: np.ndarray, s_macro: np.ndarray,
             window_start: pd.Timestamp | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scenario every exact PD is conditional on.

    Returns ``(s_path, forb_path, s_haz)``: ``s_path[g, t]`` is the systematic term of industry g in month
    t (it moves observed health and, through ``s_haz``, the hazard); ``forb_path[t]`` the share of 61–90
    dpd loans banks hold there (forbearance, 延期还本付息) while the macro shock is at least half its
    depth; ``s_haz = s_path - season / gamma`` adds calendar effects that raise the hazard only: a squeeze
    in the month before the Spring Festival (wages, bonuses and suppliers paid before the holiday) and
    industry seasons (construction's year-end wage settlement, agriculture before the harvest, catering
    after the holiday). The optional industry downturn (``downturn_industry``, off by default) raises the
    hazard logit of one industry by ``downturn_severity`` from ``downturn_start`` on, through ``s_haz``
    only: the sources do not show it (a model trained before it is miscalibrated after it).
    """
    s_path = s_cyc + s_macro[None, :]
    in_shock = (cfg.macro_shock < 0) & (s_macro <= 0.5 * cfg.macro_shock)
    forb_path = np.where(in_shock, cfg.forbearance_share, 0.0)
    season = np.zeros_like(s_path)
    if window_start is not None:
        idx = pd.date_range(window_start, periods=s_path.shape[1], freq="ME")
        nxt = idx + pd.offsets.MonthEnd(1)
        # the month before the Spring Festival month (December when the festival falls in January)
        pre_sf = nxt.month == np.array([SPRING_FESTIVAL_MONTH.get(y, 2) for y in nxt.year])
        season += cfg.spring_squeeze * pre_sf[None, :]
        inds = list(ref.INDUSTRIES)
        for code, months_, bump in (("E", (12, 1), 0.35), ("A", (4, 5, 6), 0.25), ("H", (3,), 0.25),
                                    ("F", (3,), 0.15)):
            season[inds.index(code)] += bump * np.isin(idx.month, months_)
    s_haz = s_path - season / cfg.gamma
    if window_start is not None:
        shift = downturn_term(cfg, window_start, s_path.shape[1])
        if shift.any():  # off: the arrays (and so the output bytes) are untouched
            s_haz = s_haz - shift / cfg.gamma
    return s_path, forb_path, s_haz


def systematic_path(cfg: SimConfig, n_total: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Industry cycles (industries × months) and the macro shock (months)."""
    n_ind = len(ref.INDUSTRIES)
    cyc = np.zeros((n_ind, n_total))
    state = rng.normal(0, cfg.cycle_sd / np.sqrt(1 - cfg.cycle_phi**2), n_ind)
    for t in range(n_total):
        state = cfg.cycle_phi * state + rng.normal(0, cfg.cycle_sd, n_ind)
        cyc[:, t] = state
    macro = np.zeros(n_total)
    start = int(rng.integers(2, 6))  # early in the window: visible in the data, before most outcome windows
    for k in range(cfg.macro_len + 4):
        t = start + k
        if t < n_total:
            ramp = min(1.0, (k + 1) / 2) if k < cfg.macro_len else max(0.0, 1 - (k - cfg.macro_len + 1) / 4)
            macro[t] = cfg.macro_shock * ramp
    return cyc, macro


# --------------------------------------------------------------------------------------
# enterprises
# --------------------------------------------------------------------------------------

_COUNTY_P = np.array([0.16, 0.13, 0.15, 0.12, 0.15, 0.10, 0.07, 0.06, 0.06])
_IND_P = np.array([0.05, 0.35, 0.06, 0.25, 0.05, 0.08, 0.03, 0.05, 0.02, 0.06])
_IND_EFFECT = {"A": 0.2, "C": 0.0, "E": 0.3, "F": 0.1, "G": 0.1, "H": 0.35, "I": -0.1, "L": 0.1, "M": -0.2, "O": 0.15}
_NAME_WORDS = list("华盛兴达泰恒鑫源宏昌隆丰利顺安嘉明信诚德瑞祥和通宇新")
_IND_WORDS = {"A": "农业", "C": "机械制造", "E": "建筑工程", "F": "商贸", "G": "物流", "H": "餐饮",
              "I": "信息技术", "L": "商务服务", "M": "科技", "O": "服务"}
_LEGAL_SUFFIX = {"company": "有限公司", "individual_business": "经营部", "farmer_cooperative": "专业合作社"}
_RISK_MEAN, _RISK_SD = 0.3, 0.85  # centre and scale of the bank's raw risk score (roughly standardised)
# loss given default by security: (mean recovery rate, sd, months from default to recovery);
# guarantees recover the guaranteed share from the guarantor, the rest like an unsecured loan
RECOVERY = {
    "real_estate": (0.70, 0.15, (12, 30)), "movable_property": (0.45, 0.18, (6, 18)),
    "ip_pledge": (0.25, 0.15, (12, 24)), "receivables": (0.50, 0.20, (3, 12)),
    "guarantee": (0.15, 0.10, (3, 9)), "unsecured": (0.15, 0.10, (12, 24)),
}
_LENDERS = np.array(["bank_taizhou", "bank_tailong", "bank_mintai", "bank_rural_commercial", "bank_icbc"])


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


def make_firms(cfg: SimConfig, n: int, first_serial: int, window_start: pd.Timestamp,
               rng: np.random.Generator, id_map: Callable[[np.ndarray], np.ndarray]) -> Firms:
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
    reg = (window_start - pd.to_timedelta(np.round(age * 365.25), unit="D")).to_numpy(dtype="datetime64[D]")
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
                + np.select([size == "micro", size == "medium"], [0.25, -0.2], 0.0)
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
                 capital, tech, green, u, theta_idx, thetas[theta_idx], ftype, fraud)


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
                      & (rng.random(n) < cfg.guarantee_cluster_share))[0]
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


# --------------------------------------------------------------------------------------
# one chunk of enterprises through time
# --------------------------------------------------------------------------------------

class _Rows:
    """Collects per-month column arrays and concatenates them once."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(np.asarray(v))

    def frame(self, columns: list[str]) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: [] for c in columns})
        return pd.DataFrame({c: np.concatenate(self.parts[c]) for c in columns})


def _month_ends(window_start: pd.Timestamp, n: int) -> np.ndarray:
    return pd.date_range(window_start, periods=n, freq="ME").to_numpy(dtype="datetime64[D]")


def _seasonal(month_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log seasonal factors for sales and electricity (Spring Festival dip, summer peak)."""
    idx = pd.DatetimeIndex(month_ends)
    sf = np.array([SPRING_FESTIVAL_MONTH.get(y, 2) for y in idx.year])
    dip = np.where(idx.month == sf, np.log(0.72), np.where(idx.month == sf + 1, np.log(0.92), 0.0))
    summer = np.where(np.isin(idx.month, [7, 8]), np.log(1.12), 0.0)
    dec = np.where(idx.month == 12, np.log(1.08), 0.0)
    return dip + dec, 1.3 * dip + summer


def simulate_chunk(cfg: SimConfig, firms: Firms, rng: np.random.Generator, z: np.ndarray, P: np.ndarray,
                   pd_tab: dict[int, np.ndarray], s_path: np.ndarray, forb_path: np.ndarray,
                   window_start: pd.Timestamp, chunk_index: int, s_haz: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    n, T = firms.n, cfg.months
    months = _month_ends(window_start, T)
    cumP = np.cumsum(P, axis=1)
    seas_sales, seas_elec = _seasonal(months)
    s_obs = s_path[firms.ind_idx]  # (n, T + max horizon) systematic term of each firm
    s_hz = (s_path if s_haz is None else s_haz)[firms.ind_idx]  # the same with the hazard's calendar effects

    # --- latent paths -----------------------------------------------------------------
    nz = len(z)
    thetas = theta_grid(cfg.theta_step)
    anchor, cluster, group = make_clusters(cfg, firms, rng)
    member = anchor >= 0
    jump_idx = np.clip(firms.theta_idx + cfg.contagion_steps, 0, len(thetas) - 1)
    x_idx = np.empty((n, T + 1), dtype=np.int64)
    p0 = np.linalg.matrix_power(P, 200)[0]
    xi = rng.choice(nz, n, p=p0 / p0.sum())
    d = np.zeros(n, dtype=np.int64)
    no_flag = np.zeros(n, dtype=bool)

    def step(xi, d, s_t, forb, flag):
        """One month: new health state, then the delinquency bucket moves; returns (xi, d, defaulted, forborne)."""
        u = rng.random(n)
        xi = (cumP[xi] < u[:, None]).sum(axis=1).clip(0, nz - 1)
        lam = hazard(cfg, np.where(flag, thetas[jump_idx], firms.theta), z[xi], s_t, TYPE_LEV[firms.ftype])
        r = roll_rates(cfg, z[xi], TYPE_STRATEGIC[firms.ftype])
        v = rng.random(n)
        held = (d == 3) & (rng.random(n) < forb)
        nd = np.where(d == 0, (v < lam).astype(np.int64),
                      np.where(v < r[np.clip(d - 1, 0, 2), np.arange(n)], d + 1, 0))
        nd = np.where(held, 3, nd)
        return xi, nd, nd == 4, held

    # burn-in before the window: a delinquent stock at the start (enterprises defaulting here are replaced)
    for _ in range(cfg.burn_in):
        xi, d, dflt, _held = step(xi, d, np.zeros(n), 0.0, no_flag)
        d[dflt] = 0
    x_idx[:, 0] = xi
    bucket = np.zeros((n, T), dtype=np.int64)  # 0..3, 4 = defaulted (this month or before)
    forborne = np.zeros((n, T), dtype=bool)
    default_m = np.full(n, -1, dtype=np.int64)
    pd_h = {h: np.full((n, T), np.nan) for h in pd_tab}
    alive = np.ones(n, dtype=bool)
    a_safe = np.maximum(anchor, 0)
    for t in range(T):
        # a member's hazard jumps from the month after its anchor defaulted
        flag = member & (default_m[a_safe] >= 0) & (default_m[a_safe] < t)
        xi, nd, dflt, held = step(xi, d, s_hz[:, t], float(forb_path[t]), flag)
        x_idx[:, t + 1] = xi
        nd = np.where(alive, nd, 4)
        newly = alive & dflt
        default_m[newly] = t
        alive &= ~dflt
        d = np.where(alive, nd, 4)
        bucket[:, t] = d
        forborne[:, t] = held & alive
        jumped = member & (default_m[a_safe] >= 0)  # anchor defaulted by t: the jump holds for every later month
        th_idx = np.where(jumped, jump_idx, firms.theta_idx)
        for hz, tab in pd_tab.items():
            val = tab[t, firms.ind_idx, th_idx, firms.ftype, xi, np.minimum(d, 3)]
            pd_h[hz][:, t] = np.where(alive, val, np.nan)
    # members whose anchor is alive: exact PDs mix over the anchor's default month (forward in time)
    H = max(pd_tab)
    hz_cols = np.array(sorted(pd_tab)) - 1
    for t in range(T):
        mm = np.nonzero(member & (bucket[:, t] < 4) & (bucket[a_safe, t] < 4))[0]
        if not len(mm):
            continue
        aa = anchor[mm]
        ua, inv = np.unique(aa, return_inverse=True)
        fa = forward_default(cfg, z, P, firms.theta[ua], s_hz[ua, t + 1:t + 1 + H], forb_path[t + 1:t + 1 + H],
                             x_idx[ua, t + 1], bucket[ua, t], H, ftype=firms.ftype[ua])
        prev = np.concatenate([np.zeros((len(ua), 1)), fa[:, :-1]], axis=1)
        q = np.where(prev < 1, (fa - prev) / np.maximum(1 - prev, 1e-300), 1.0)[inv]
        fm = forward_default(cfg, z, P, firms.theta[mm], s_hz[mm, t + 1:t + 1 + H], forb_path[t + 1:t + 1 + H],
                             x_idx[mm, t + 1], bucket[mm, t], H, theta_jump=thetas[jump_idx[mm]], q=q,
                             ftype=firms.ftype[mm])
        for hz, col in zip(sorted(pd_tab), hz_cols, strict=True):
            pd_h[hz][mm, t] = fm[:, col]
    pd_true = pd_h[12]
    x = z[x_idx[:, 1:]]  # (n, T) health by month
    tgrid = np.arange(T)[None, :]
    closed = (default_m[:, None] >= 0) & (tgrid > default_m[:, None] + 2)  # business closed after default
    # observed health: latent + systematic, minus a penalty that deepens with arrears and after default
    h = x + s_obs[:, :T] - np.array([0.0, 0.5, 0.9, 1.3, 1.7])[bucket]

    out: dict[str, pd.DataFrame] = {}
    out["enterprises"] = pd.DataFrame({
        "enterprise_id": firms.eid, "name": firms.name, "county": firms.county,
        "mountain_county": firms.mountain, "urban": firms.urban, "industry": firms.industry,
        "registration_date": firms.reg_date, "registered_capital": firms.capital.astype(float),
        "legal_form": firms.legal_form, "size_class": firms.size_class, "employees": firms.employees,
        "tech_sme": firms.tech, "green": firms.green,
    })
    ind_bus = firms.legal_form == "individual_business"
    coop = firms.legal_form == "farmer_cooperative"
    thin = 0.12 * firms.mountain

    # --- tax -----------------------------------------------------------------------------
    has_inv = rng.random(n) < np.where(ind_bus, 0.35, np.where(coop, 0.6, 0.97)) - thin
    h_lag1 = np.concatenate([h[:, :1], h[:, :-1]], axis=1)
    base_m = np.log(firms.revenue / 12)
    log_sales = base_m[:, None] + 0.45 * cfg.signal_loading * h_lag1 + seas_sales[None, :] + rng.normal(0, 0.16, (n, T))
    sales = np.exp(log_sales)
    # invoice-fraud firms (虚开发票) invoice two to three times what they sell; electricity and staff don't follow
    fraud = firms.fraud
    sales = np.where(fraud[:, None], sales * rng.uniform(2.0, 3.0, n)[:, None], sales)
    err = rng.random((n, T))
    # zero declarations and non-filing rise with distress (informative missingness: non-filing predicts exit)
    p_zero = 0.008 + 0.12 * expit(-3.0 - 1.5 * h)
    sales = np.where(err < 0.004, sales * 10, np.where(err < 0.004 + p_zero, 0.0, sales))  # reporting errors / zero filings
    p_miss = 0.03 + 0.05 * firms.mountain[:, None] + 0.3 * expit(-3.5 - 1.5 * h)
    present = has_inv[:, None] & ~closed & (rng.random((n, T)) > p_miss)
    general_taxpayer = firms.revenue > 5_000_000
    rate = (np.where(general_taxpayer, 0.13 * 0.25, 0.03)[:, None]
            * np.exp(cfg.tax_ratio_health * h_lag1 + rng.normal(0, 0.15, (n, T))))
    tax = sales * rate
    # small-scale taxpayers (小规模纳税人) declare VAT quarterly: invoices monthly, the quarter's tax in its last month
    quarter_end = pd.DatetimeIndex(months).month % 3 == 0
    qtax = np.zeros_like(tax)
    run = np.zeros(n)
    for t in range(T):
        run += np.where(present[:, t], tax[:, t], 0.0)
        if quarter_end[t]:
            qtax[:, t] = run
            run = np.zeros(n)
    tax = np.where(general_taxpayer[:, None], tax, qtax)
    ii, tt = np.nonzero(present)
    out["tax_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "invoiced_sales": np.round(sales[ii, tt], 2), "tax_paid": np.round(tax[ii, tt], 2),
    })

    # --- tax credit grade (annual, published in April of the next year) -------------------
    end = pd.Timestamp(months[-1])
    years = range(pd.Timestamp(months[0]).year - 1, end.year)
    rows = _Rows()
    for y in years:
        pub = np.datetime64(f"{y + 1}-04-30")
        if pub > months[-1]:
            continue
        cols = [k for k in range(T) if pd.Timestamp(months[k]).year == y]
        mean_h = h[:, cols].mean(axis=1) if cols else x[:, 0]
        score = 84 + 9 * mean_h - 12 * firms.u + rng.normal(0, 6, n)
        grade = np.select([score >= 90, score >= 70, score >= 40], ["A", "B", "C"], "D").astype(object)
        young = firms.reg_date > np.datetime64(f"{y}-01-01")
        grade[young & (score >= 70)] = "M"
        alive = ~closed[:, cols[0]] if cols else np.ones(n, bool)
        m = has_inv & (firms.reg_date <= np.datetime64(f"{y}-12-31")) & alive
        rows.add(enterprise_id=firms.eid[m], year=np.full(m.sum(), y), published_date=np.full(m.sum(), pub),
                 tax_grade=grade[m])
    out["tax_credit_annual"] = rows.frame(["enterprise_id", "year", "published_date", "tax_grade"])

    # --- utilities -----------------------------------------------------------------------
    heavy = np.isin(firms.industry, ["C", "A", "E"])
    kwh_base = firms.revenue / 12 * np.where(heavy, 0.08, 0.02) * rng.lognormal(0, cfg.energy_intensity_sd, n)
    log_e = np.log(kwh_base)[:, None] + 0.5 * cfg.signal_loading * h + seas_elec[None, :] + rng.normal(0, 0.12, (n, T))
    elec = np.exp(log_e)
    e_err = rng.random((n, T))
    elec = np.where(e_err < 0.003, elec * 10, elec)
    water = np.exp(np.log(kwh_base * 0.05)[:, None] + 0.3 * cfg.signal_loading * h + rng.normal(0, 0.25, (n, T)))
    gas_user = rng.random(n) < np.where(np.isin(firms.industry, ["C", "H"]), 0.5, 0.1)
    gas = np.exp(np.log(kwh_base * 0.1)[:, None] + 0.4 * cfg.signal_loading * h + rng.normal(0, 0.2, (n, T)))
    has_util = rng.random(n) < np.where(ind_bus, 0.85, 0.96) - thin
    present = has_util[:, None] & ~closed & (rng.random((n, T)) > 0.02 + 0.04 * firms.mountain[:, None])
    ii, tt = np.nonzero(present)
    w_missing = rng.random(len(ii)) < 0.15
    out["utilities_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "electricity_kwh": np.round(elec[ii, tt], 1),
        "water_m3": np.where(w_missing, np.nan, np.round(water[ii, tt], 1)),
        "gas_m3": np.where(gas_user[ii], np.round(gas[ii, tt], 1), np.nan),
    })

    # --- social insurance ----------------------------------------------------------------
    has_si = rng.random(n) < np.where(ind_bus, 0.3, np.where(coop, 0.5, 0.92)) - thin
    h_lag2 = np.concatenate([h[:, :2], h[:, :-2]], axis=1)
    head = np.maximum(0, np.round(firms.employees[:, None] * np.exp(0.25 * cfg.signal_loading * h_lag2 + rng.normal(0, 0.05, (n, T)))))
    arrears = rng.random((n, T)) < expit(-4.2 - 1.3 * h_lag1 + 0.8 * firms.u[:, None])
    present = has_si[:, None] & ~closed & (rng.random((n, T)) > 0.02)
    ii, tt = np.nonzero(present)
    out["social_insurance_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "insured_headcount": head[ii, tt].astype(np.int64), "contribution_arrears": arrears[ii, tt],
    })

    # --- events --------------------------------------------------------------------------
    out["judicial_events"], out["admin_events"] = _events(cfg, firms, rng, h, months, default_m, chunk_index)

    # --- loans ---------------------------------------------------------------------------
    loans, loan_monthly, loan_events, defaults, lgd, app_hist = _loans(cfg, firms, rng, h, x, months, bucket, default_m,
                                                                       forborne, chunk_index, anchor, cluster)
    out["loans"], out["loan_monthly"], out["loan_events"] = loans, loan_monthly, loan_events
    out["application_history"] = app_hist
    # window dressing: some applicants inflate invoiced sales in the three months before applying (tax
    # diverging from electricity)
    dressed = app_hist[rng.random(len(app_hist)) < cfg.inflation_share]
    if len(dressed):
        m0 = pd.Timestamp(months[0])
        app_m = (dressed["application_date"].dt.year - m0.year) * 12 + dressed["application_date"].dt.month - m0.month
        d = pd.DataFrame({"enterprise_id": dressed["enterprise_id"].to_numpy(), "t_app": app_m.to_numpy(),
                          "factor": rng.uniform(1.2, 1.6, len(dressed))}).drop_duplicates("enterprise_id")
        tax = out["tax_monthly"]
        t_row = (tax["month_end"].dt.year - m0.year) * 12 + tax["month_end"].dt.month - m0.month
        j = tax[["enterprise_id"]].assign(t=t_row.to_numpy()).merge(d, on="enterprise_id", how="left")
        hit = ((j["t"] >= j["t_app"] - 3) & (j["t"] < j["t_app"])).to_numpy()
        f = np.where(hit, j["factor"].to_numpy(), 1.0)
        tax["invoiced_sales"] = np.round(tax["invoiced_sales"].to_numpy() * f, 2)
        tax["tax_paid"] = np.round(tax["tax_paid"].to_numpy() * f, 2)
    out["ip_assets"] = _ip(firms, rng, months, chunk_index)
    out["supply_chain"] = _supply_chain(firms, rng, sales, months, closed, chunk_index)
    out["green_annual"] = _green(firms, rng, h, months, closed)
    out["related_persons"] = _persons(firms, rng, months, chunk_index, cluster, group)
    out["loan_applications"] = _applications(cfg, firms, rng, months, bucket, chunk_index)

    # --- ground truth --------------------------------------------------------------------
    ii, tt = np.nonzero(~np.isnan(pd_true))
    out["_truth/pd_true"] = pd.DataFrame({"enterprise_id": firms.eid[ii], "month_end": months[tt],
                                          "pd_12m": pd_true[ii, tt]})
    out["_truth/pd_term"] = pd.DataFrame({"enterprise_id": firms.eid[ii], "month_end": months[tt],
                                          **{f"pd_{hz}m": pd_h[hz][ii, tt] for hz in sorted(pd_h)}})
    out["_truth/defaults"] = defaults
    out["_truth/firm_types"] = pd.DataFrame({
        "enterprise_id": firms.eid, "theta": firms.theta, "high_leverage": TYPE_LEV[firms.ftype] > 0,
        "strategic_defaulter": TYPE_STRATEGIC[firms.ftype] > 0, "guarantee_cluster": np.where(
            cluster >= 0, chunk_index * CHUNK + cluster, -1).astype(np.int64),
        "anchor_enterprise_id": np.where(anchor >= 0, firms.eid[np.maximum(anchor, 0)], None).astype(object),
        "group_controller": group, "invoice_fraud": firms.fraud})
    out["_truth/lgd"] = lgd
    return out


def _events(cfg, firms: Firms, rng, h, months, default_m, chunk_index):
    n, T = h.shape
    size_f = np.log1p(firms.employees) / np.log(20)
    u = firms.u[:, None]
    post_def = (default_m[:, None] >= 0) & (np.arange(T)[None, :] >= default_m[:, None])
    jrows, arows = _Rows(), _Rows()

    def emit(rows, mask, etype, amount, extra=None):
        ii, tt = np.nonzero(mask)
        day = rng.integers(0, 28, len(ii)).astype("timedelta64[D]")
        d = (months[tt].astype("datetime64[M]").astype("datetime64[D]")) + day
        cols = dict(enterprise_id=firms.eid[ii], event_date=d, event_type=np.full(len(ii), etype, dtype=object),
                    amount=np.round(amount[ii, tt], -2), t=tt)
        if extra is not None:
            cols["severity"] = extra(len(ii))
        rows.add(**cols)

    amt = firms.revenue[:, None] * rng.lognormal(np.log(0.03), 1.0, (n, T))
    emit(jrows, rng.random((n, T)) < np.exp(-5.6 - 0.75 * h + 0.6 * u) * size_f[:, None] + 0.15 * post_def,
         "lawsuit_defendant", amt)
    emit(jrows, rng.random((n, T)) < np.exp(-7.2 - 0.9 * h + 0.6 * u) + 0.12 * post_def, "enforcement", amt)
    listed = rng.random((n, T)) < np.exp(-8.6 - 1.0 * h + 0.7 * u) + 0.06 * post_def
    first = listed & (np.cumsum(listed, axis=1) == 1)
    emit(jrows, first, "dishonest_debtor_listed", amt)
    removed = np.zeros_like(first)
    ii, tt = np.nonzero(first)
    delay = rng.integers(4, 18, len(ii))
    ok = (tt + delay < T) & (rng.random(len(ii)) < 0.5) & ~post_def[ii, np.minimum(tt + delay, T - 1)]
    removed[ii[ok], (tt + delay)[ok]] = True
    emit(jrows, removed, "dishonest_debtor_removed", np.zeros((n, T)))

    pen = firms.revenue[:, None] * rng.lognormal(np.log(0.004), 0.8, (n, T))
    sev = lambda k: np.where(rng.random(k) < 0.2, "major", "minor").astype(object)  # noqa: E731
    emit(arows, rng.random((n, T)) < np.exp(-5.9 - 0.35 * h + 0.7 * u), "market_penalty", pen, sev)
    env_ind = np.isin(firms.industry, ["C", "A", "E"])[:, None]
    emit(arows, rng.random((n, T)) < np.where(env_ind, np.exp(-6.3 + 0.6 * u - 0.2 * h), 0.0),
         "environmental_penalty", pen, sev)
    abn = rng.random((n, T)) < np.exp(-7.4 - 0.85 * h) + 0.1 * post_def
    first = abn & (np.cumsum(abn, axis=1) == 1)
    emit(arows, first, "abnormal_operation_in", np.full((n, T), np.nan), lambda k: np.full(k, None, dtype=object))
    out_m = np.zeros_like(first)
    ii, tt = np.nonzero(first)
    delay = rng.integers(2, 8, len(ii))
    ok = (tt + delay < T) & (rng.random(len(ii)) < 0.65) & ~post_def[ii, np.minimum(tt + delay, T - 1)]
    out_m[ii[ok], (tt + delay)[ok]] = True
    emit(arows, out_m, "abnormal_operation_out", np.full((n, T), np.nan), lambda k: np.full(k, None, dtype=object))

    def finish(rows, cols, prefix):
        df = rows.frame(cols + ["t"]).sort_values(["enterprise_id", "event_date", "event_type"], kind="stable")
        df = df.drop(columns="t").reset_index(drop=True)
        df.insert(1, "case_id", [f"{prefix}{chunk_index:03d}{k:07d}" for k in range(len(df))])
        df["event_date"] = df["event_date"].astype("datetime64[ns]")
        return df

    jud = finish(jrows, ["enterprise_id", "event_date", "event_type", "amount"], "J")
    adm = finish(arows, ["enterprise_id", "event_date", "event_type", "severity", "amount"], "A")
    adm = adm[["enterprise_id", "case_id", "event_date", "event_type", "severity", "amount"]]
    return jud, adm


def _product_for(legal: np.ndarray, rng) -> np.ndarray:
    prod = np.where(legal == "individual_business", "sole_prop_operating",
                    np.where(legal == "farmer_cooperative", "farmer_operating", "working_capital")).astype(object)
    owner = (legal == "company") & (rng.random(len(legal)) < 0.12)
    prod[owner] = "owner_operating"
    return prod


def _collateral(firms: Firms, idx: np.ndarray, rng, risk: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Security of a loan, drawn by size, age and the bank's view of risk.

    ``risk`` is the bank's standardised risk score of each loan's enterprise (higher = weaker; 0 when
    unknown). Real estate goes to older, larger companies; guarantees to weaker firms; unsecured
    (credit) loans to firms the bank sees as strong (good tax grade, 银税互动); IP pledges to tech SMEs;
    receivables to manufacturers, traders and hauliers.
    """
    k = len(idx)
    risk = np.zeros(k) if risk is None else np.asarray(risk, dtype=float)
    age = np.log(firms.age_years[idx] / 7.0).clip(-1.5, 1.5)
    big = (firms.size_class[idx] != "micro").astype(float)
    company = (firms.legal_form[idx] == "company").astype(float)
    tech = firms.tech[idx]
    trade = np.isin(firms.industry[idx], ["C", "F", "G"]).astype(float)
    # multinomial logit in the order of ref.COLLATERAL_TYPES
    util = np.stack([
        0.55 + 0.7 * age + 0.8 * big + 0.3 * company - 0.25 * risk,   # real_estate
        -1.2 + 0.3 * company,                                           # movable_property
        -4.0 + 3.0 * tech,                                              # ip_pledge
        -2.0 + 1.0 * trade + 0.3 * company,                             # receivables
        0.2 + 0.75 * risk - 0.3 * big,                                  # guarantee
        -0.1 - 0.9 * risk + 0.2 * big,                                  # unsecured
    ], axis=1)
    prob = np.exp(util - util.max(axis=1, keepdims=True))
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    types = np.array(list(ref.COLLATERAL_TYPES))
    ctype = types[(cum < rng.random(k)[:, None]).sum(axis=1).clip(0, len(types) - 1)].astype(object)
    gtypes = np.array(["policy_guarantor", "commercial_guarantor", "related_enterprise", "individual"])
    # weaker micro firms lean on the policy guarantor (政府性融资担保); others on related firms and owners
    gp = np.stack([np.full(k, 0.5) + 0.1 * risk.clip(-1, 2), np.full(k, 0.2), np.full(k, 0.15), np.full(k, 0.15)], axis=1)
    gcum = np.cumsum(gp / gp.sum(axis=1, keepdims=True), axis=1)
    gdraw = (gcum < rng.random(k)[:, None]).sum(axis=1).clip(0, 3)
    gtype = np.where(ctype == "guarantee", gtypes[gdraw], "none").astype(object)
    share = np.select([gtype == "policy_guarantor", gtype == "commercial_guarantor",
                       np.isin(gtype, ["related_enterprise", "individual"])], [0.8, 0.7, 1.0], 0.0)
    return {"collateral_type": ctype, "guarantor_type": gtype, "guaranteed_share": share,
            "guarantee_insurance": rng.random(k) < 0.05}


def _loans(cfg: SimConfig, firms: Firms, rng, h, x, months, bucket, default_m, forborne, chunk_index, anchor, cluster):
    """Loan lines of borrowers: working-capital/operating loans rolled at maturity, some fixed-asset loans."""
    n, T = h.shape
    # --- underwriting: enterprises apply; the bank approves on a noisy score of risk ----------------
    applicant = rng.random(n) < cfg.applicant_share + 0.1 * (firms.size_class != "micro") - 0.1 * firms.mountain
    # first loan month: before the window (negative) for most, inside the window for new borrowers
    first = np.where(rng.random(n) < cfg.new_borrower_share, rng.integers(1, T - 1, n), -rng.integers(0, 12, n))
    h_first = h[np.arange(n), np.clip(first, 0, T - 1)]
    # the bank sees the registry risk, part of the frailty (tax grade, owner's record) and current health
    risk = (firms.theta - 0.4 * firms.u - 0.5 * h_first - _RISK_MEAN + rng.normal(0, cfg.bank_score_noise, n)) / _RISK_SD
    approved = risk < cfg.approval_cutoff
    # an applicant already delinquent at its first month is declined
    fb = np.clip(first, 0, T - 1)
    approved &= ~((first >= 0) & (bucket[np.arange(n), fb] > 0))
    borrower = applicant & approved
    eids = firms.eid
    # the anchor's own guarantor: another member of its cluster
    partner = np.full(n, -1, dtype=np.int64)
    mem = np.nonzero(anchor >= 0)[0]
    partner[anchor[mem[::-1]]] = mem[::-1]  # the first member listed for each anchor
    loans: list[dict] = []
    lm = _Rows()
    ev = _Rows()
    counter = [0]

    def new_ids(k):
        ids = np.array([f"LN{chunk_index:03d}{counter[0] + j:08d}" for j in range(k)], dtype=object)
        counter[0] += k
        return ids

    def add_loans(idx, start, term, amount, product, renewed_from, rwr, amort, inherit=None):
        k = len(idx)
        if not k:
            return None
        ids = new_ids(k)
        if inherit is None:  # a new loan: security and lender chosen now
            coll = _collateral(firms, idx, rng, risk[idx])
            lender = _LENDERS[rng.integers(0, len(_LENDERS), k)]
            # members of a mutual-guarantee cluster guarantee each other: a member's guarantor is the anchor,
            # the anchor's is another member
            mg = (cluster[idx] >= 0) & (rng.random(k) < cfg.cluster_guarantee_share)
            g_idx = np.where(anchor[idx] >= 0, anchor[idx], partner[idx])
            coll["collateral_type"] = np.where(mg, "guarantee", coll["collateral_type"]).astype(object)
            coll["guarantor_type"] = np.where(mg, "related_enterprise", coll["guarantor_type"]).astype(object)
            coll["guaranteed_share"] = np.where(mg, 1.0, coll["guaranteed_share"])
            coll["guarantor_enterprise_id"] = np.where(mg, eids[np.maximum(g_idx, 0)], None).astype(object)
        else:  # renewals and refinancing keep the lender and the security of the loan they replace
            coll = {c: inherit[c] for c in ("collateral_type", "guarantor_type", "guaranteed_share", "guarantee_insurance",
                                            "guarantor_enterprise_id")}
            lender = inherit["lender"]
        cval = np.where(np.isin(coll["collateral_type"], ["real_estate", "movable_property", "ip_pledge", "receivables"]),
                        np.round(amount * rng.uniform(1.1, 2.2, k), -3), np.nan)
        loans.append(dict(loan_id=ids, idx=idx, start=start, term=term, amount=amount, product=product,
                          renewed_from=renewed_from, rwr=rwr, amort=amort, lender=lender,
                          collateral_value=cval, **coll))
        return ids

    # applications inside the window, approved and rejected (kept for reject inference)
    ai = np.nonzero(applicant & (first >= 0))[0]
    app_hist = {"idx": ai, "month": first[ai], "approved": borrower[ai], "risk": risk[ai]}

    # working-capital lines
    b = np.nonzero(borrower)[0]
    lev_hi = TYPE_LEV[firms.ftype] > 0  # highly leveraged enterprises borrow more for their sales
    amount0 = np.round(np.clip(firms.revenue[b] * rng.uniform(0.15, 0.4, len(b)) * np.exp(-0.15 * risk[b])
                               * np.where(lev_hi[b], 1.8, 1.0), 50_000, 20_000_000), -4)
    term0 = rng.choice([12, 12, 12, 6, 24], len(b))
    first_b = first[b]
    start0 = np.where(first_b < 0, -rng.integers(0, term0), first_b)
    add_loans(b, start0, term0, amount0, _product_for(firms.legal_form[b], rng), np.full(len(b), None, dtype=object),
              np.zeros(len(b), bool), np.zeros(len(b), bool))
    # fixed-asset loans (amortising)
    fa = b[(rng.random(len(b)) < cfg.fixed_asset_share) & (firms.legal_form[b] == "company")]
    fa_term = rng.choice([36, 48, 60], len(fa))
    fa_start = np.maximum(first[fa], -rng.integers(0, 30, len(fa)))
    add_loans(fa, fa_start, fa_term, np.round(firms.revenue[fa] * rng.uniform(0.2, 0.6, len(fa)), -4),
              np.full(len(fa), "fixed_asset", dtype=object), np.full(len(fa), None, dtype=object),
              np.zeros(len(fa), bool), np.ones(len(fa), bool))

    # next month (from each month on) in which the enterprise is current: loans can only be repaid,
    # renewed or refinanced then; an overdue loan stays outstanding until it cures or defaults
    nc = np.full((n, T + 1), T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        nc[:, t] = np.where(bucket[:, t] == 0, t, nc[:, t + 1])

    def settle(f, mat):
        return np.where(mat < T, nc[f, np.clip(mat, 0, T)], mat)

    # roll the working-capital lines month by month: at maturity renew, or repay and refinance
    cur = loans[0]
    generations = [cur]
    while True:
        mat = cur["start"] + cur["term"]
        f = cur["idx"]
        m = settle(f, mat)
        rolls = m < T  # repaid in a month the enterprise is current, inside the window → rolled over
        if not rolls.any():
            break
        idx = f[rolls]
        m = m[rolls]
        on_time = m == mat[rolls]
        hm = h[idx, m]
        applied = rng.random(len(idx)) < 0.6
        # renewal without repayment: for loans current at maturity; mostly healthy borrowers, but a share
        # of weak ones too (renewal hides weakness)
        weak_ok = (hm > -1.8) & (rng.random(len(idx)) < cfg.weak_renewal_share)
        rwr = applied & on_time & ((hm > -0.6) | weak_ok) & (rng.random(len(idx)) < cfg.renewal_share / 0.6)
        grow = np.exp(0.15 * hm + rng.normal(0, 0.05, len(idx)))
        amount = np.round(np.clip(cur["amount"][rolls] * np.where(rwr, 1.0, grow), 50_000, 30_000_000), -4)
        term = np.where(rwr, np.minimum(cur["term"][rolls], 12), rng.choice([12, 12, 6, 24], len(idx)))
        # renewal applications 1-3 months before maturity (also for those refinanced)
        app_m = mat[rolls] - rng.integers(1, 4, len(idx))
        ok = applied & (app_m >= 0)
        day = rng.integers(0, 28, ok.sum()).astype("timedelta64[D]")
        ev.add(enterprise_id=eids[idx[ok]], loan_id=cur["loan_id"][rolls][ok],
               event_date=months[app_m[ok]].astype("datetime64[M]").astype("datetime64[D]") + day,
               event_type=np.full(ok.sum(), "renewal_application", dtype=object))
        add_loans(idx, m, term, amount, cur["product"][rolls],
                  np.where(rwr, cur["loan_id"][rolls], None).astype(object), rwr, np.zeros(len(idx), bool),
                  inherit={c: cur[c][rolls] for c in ("collateral_type", "guarantor_type", "guaranteed_share",
                                                      "guarantee_insurance", "lender", "guarantor_enterprise_id")})
        cur = loans[-1]
        generations.append(cur)
    # renewal applications for loans maturing shortly after the window end (advance review)
    for g in generations:
        mat = g["start"] + g["term"]
        f = g["idx"]
        upcoming = (mat >= T) & (mat <= T + 2) & (bucket[f, T - 1] == 0)
        app_m = mat - rng.integers(1, 4, len(f))
        ok = upcoming & (app_m < T) & (app_m >= 0) & (rng.random(len(f)) < 0.6)
        day = rng.integers(0, 28, ok.sum()).astype("timedelta64[D]")
        ev.add(enterprise_id=eids[f[ok]], loan_id=g["loan_id"][ok],
               event_date=months[app_m[ok]].astype("datetime64[M]").astype("datetime64[D]") + day,
               event_type=np.full(ok.sum(), "renewal_application", dtype=object))

    # leverage drifts up before default: weak (not yet delinquent) borrowers take a short loan from
    # another bank
    tg = np.arange(T)[None, :]
    weak = borrower[:, None] & (h < -1.0) & (bucket == 0) & (tg > np.maximum(first, 0)[:, None])
    draw = weak & (rng.random((n, T)) < cfg.extra_loan_rate)
    has = draw.any(axis=1)
    xi_ = np.nonzero(has)[0]
    if len(xi_):
        xt = draw[xi_].argmax(axis=1)
        add_loans(xi_, xt, np.full(len(xi_), 6), np.round(np.clip(firms.revenue[xi_] * rng.uniform(0.05, 0.15, len(xi_)),
                                                                     50_000, 5_000_000), -4),
                  _product_for(firms.legal_form[xi_], rng), np.full(len(xi_), None, dtype=object),
                  np.zeros(len(xi_), bool), np.zeros(len(xi_), bool))

    L = {k: np.concatenate([g[k] for g in loans]) for k in loans[0]}
    nL = len(L["loan_id"])
    mat = L["start"] + L["term"]
    eidx = L["idx"]
    settle_m = settle(eidx, mat)
    dmL = default_m[eidx]
    # loans outstanding at their enterprise's default stay on the books until written off or disposed
    wo_lag = rng.integers(cfg.writeoff_months[0], cfg.writeoff_months[1] + 1, n)
    in_default = (dmL >= 0) & (L["start"] <= dmL) & (dmL < settle_m)
    end = np.where(in_default, dmL + wo_lag[eidx], settle_m)
    d0 = rng.integers(1, 31, nL)
    base_dpd = np.array([0, 0, 30, 60, 90])
    # month-by-month balances and delinquency within the window
    for t in range(T):
        # a written-off loan shows a last record with zero balance in its write-off month
        live = (L["start"] <= t) & ((t < end) | (in_default & (t == end)))
        if not live.any():
            continue
        k = np.nonzero(live)[0]
        elapsed = t - L["start"][k]
        bal = np.where(L["amort"][k], L["amount"][k] * np.clip(1 - elapsed / L["term"][k], 0, 1), L["amount"][k])
        bal = np.where(t == end[k], 0.0, bal)
        bk = bucket[eidx[k], t]
        dist = bk > 0
        dpd = np.where(dist, base_dpd[bk] + d0[k] + 30 * np.maximum(0, t - dmL[k]) * (bk == 4), 0)
        benign = ~dist & (rng.random(len(k)) < expit(-5.2 - 0.9 * h[eidx[k], t]))
        dpd = np.where(benign, rng.integers(1, 30, len(k)), dpd)
        arrears = (dpd > 0) & (dist | (rng.random(len(k)) < 0.5))
        lm.add(loan_id=L["loan_id"][k], enterprise_id=eids[eidx[k]], month_end=np.full(len(k), months[t]),
               balance=np.round(np.maximum(bal, 0.0), 2), days_past_due=dpd.astype(np.int64),
               risk_class_5=ref.classify_risk_5(dpd), interest_arrears=arrears)
        # forbearance granted this month (first month of a run)
        fb_new = forborne[eidx[k], t] & ~(forborne[eidx[k], t - 1] if t > 0 else False)
        kf = k[fb_new]
        ev.add(enterprise_id=eids[eidx[kf]], loan_id=L["loan_id"][kf],
               event_date=np.full(len(kf), months[t]), event_type=np.full(len(kf), "forbearance", dtype=object))
    loan_monthly = lm.frame(["loan_id", "enterprise_id", "month_end", "balance", "days_past_due", "risk_class_5",
                             "interest_arrears"])
    last_class = loan_monthly.groupby("loan_id", sort=False)["risk_class_5"].last()
    k_wo = np.nonzero(in_default & (end < T))[0]
    ev.add(enterprise_id=eids[eidx[k_wo]], loan_id=L["loan_id"][k_wo], event_date=months[end[k_wo]],
           event_type=np.full(len(k_wo), "write_off", dtype=object))

    # misuse of funds and restructuring
    k_mis = np.nonzero(rng.random(nL) < expit(-4.6 - 0.8 * h[eidx, np.clip(L["start"], 0, T - 1)] + 0.8 * firms.u[eidx]))[0]
    mis_m = np.clip(L["start"][k_mis] + rng.integers(1, 6, len(k_mis)), 0, None)
    ok = mis_m < np.minimum(T, mat[k_mis])
    k_mis, mis_m = k_mis[ok], mis_m[ok]
    ev.add(enterprise_id=eids[eidx[k_mis]], loan_id=L["loan_id"][k_mis],
           event_date=months[mis_m].astype("datetime64[M]").astype("datetime64[D]") + rng.integers(0, 28, len(k_mis)).astype("timedelta64[D]"),
           event_type=np.full(len(k_mis), "funds_misuse_detected", dtype=object))
    k_res = np.nonzero(in_default & (dmL + 1 < np.minimum(T, end)) & (rng.random(nL) < 0.15))[0]
    ev.add(enterprise_id=eids[eidx[k_res]], loan_id=L["loan_id"][k_res],
           event_date=months[dmL[k_res] + 1].astype("datetime64[M]").astype("datetime64[D]"),
           event_type=np.full(len(k_res), "restructuring", dtype=object))
    events = ev.frame(["enterprise_id", "loan_id", "event_date", "event_type"])
    events["event_date"] = events["event_date"].astype("datetime64[ns]")
    events = events.drop_duplicates(["loan_id", "event_date", "event_type"]).sort_values(
        ["enterprise_id", "event_date", "loan_id", "event_type"], kind="stable").reset_index(drop=True)

    ws = months[0].astype("datetime64[M]")
    day = rng.integers(0, 28, nL).astype("timedelta64[D]")
    start_date = (ws + L["start"].astype("timedelta64[M]")).astype("datetime64[D]") + day
    maturity_date = (ws + (L["start"] + L["term"]).astype("timedelta64[M]")).astype("datetime64[D]") + day
    keep = start_date <= months[-1]
    loans_df = pd.DataFrame({
        "loan_id": L["loan_id"], "enterprise_id": eids[eidx], "lender": L["lender"],
        "start_date": start_date.astype("datetime64[ns]"), "maturity_date": maturity_date.astype("datetime64[ns]"),
        "amount": L["amount"].astype(float), "product": L["product"], "collateral_type": L["collateral_type"],
        "collateral_value": L["collateral_value"], "guarantor_type": L["guarantor_type"],
        "guaranteed_share": L["guaranteed_share"].astype(float), "guarantee_insurance": L["guarantee_insurance"],
        "renewed_without_repayment": L["rwr"], "renewed_from_loan_id": L["renewed_from"],
        "risk_class_5": pd.Series(L["loan_id"]).map(last_class).fillna("正常").to_numpy(dtype=object),
        "guarantor_enterprise_id": L["guarantor_enterprise_id"],
    })[np.asarray(keep)]
    loans_df = loans_df.sort_values(["enterprise_id", "start_date", "loan_id"], kind="stable").reset_index(drop=True)
    # an enterprise defaults when in distress with a loan outstanding at its default month
    di = np.unique(eidx[in_default])
    defaults = pd.DataFrame({"enterprise_id": eids[di], "default_month": months[default_m[di]].astype("datetime64[ns]")})
    # loss given default of every loan outstanding at its enterprise's default, by security
    kd = np.nonzero(in_default)[0]
    dm = dmL[kd]
    lgd = _loss_given_default(rng, L, kd, dm, months, eids)
    # applications inside the window, approved and rejected (kept for reject inference)
    ai = app_hist["idx"]
    pos = np.searchsorted(b, ai)
    appr = app_hist["approved"]
    coll = _collateral(firms, ai, rng, app_hist["risk"])
    first_loans = loans[0]
    req = np.where(appr, first_loans["amount"][np.minimum(pos, len(b) - 1)] if len(b) else 0.0,
                   np.round(np.clip(firms.revenue[ai] * rng.uniform(0.15, 0.4, len(ai)), 50_000, 20_000_000), -4))
    ctype = np.where(appr, first_loans["collateral_type"][np.minimum(pos, len(b) - 1)] if len(b) else None,
                     coll["collateral_type"]).astype(object)
    applications = pd.DataFrame({
        "application_id": [f"AH{chunk_index:03d}{j:07d}" for j in range(len(ai))],
        "enterprise_id": eids[ai],
        "application_date": (months[app_hist["month"]].astype("datetime64[M]").astype("datetime64[D]")
                             + rng.integers(0, 20, len(ai)).astype("timedelta64[D]")).astype("datetime64[ns]"),
        "requested_amount": req.astype(float), "product": _product_for(firms.legal_form[ai], rng),
        "collateral_type": ctype,
        "decision": np.where(appr, "approved", "rejected").astype(object),
        "loan_id": np.where(appr, first_loans["loan_id"][np.minimum(pos, len(b) - 1)] if len(b) else None, None).astype(object),
    })
    applications["product"] = np.where(appr, first_loans["product"][np.minimum(pos, len(b) - 1)] if len(b) else None,
                                       applications["product"]).astype(object)
    applications = applications.sort_values(["enterprise_id", "application_date"], kind="stable").reset_index(drop=True)
    return loans_df, loan_monthly, events, defaults, lgd, applications


def _loss_given_default(rng, L, kd, dm, months, eids) -> pd.DataFrame:
    """Exposure at default, recovery and its timing, and the discounted loss rate of defaulted loans."""
    k = len(kd)
    elapsed = dm - L["start"][kd]
    ead = np.where(L["amort"][kd], L["amount"][kd] * np.clip(1 - elapsed / L["term"][kd], 0, 1), L["amount"][kd])
    ctype = L["collateral_type"][kd]
    mean = np.array([RECOVERY[c][0] for c in ctype])
    sd = np.array([RECOVERY[c][1] for c in ctype])
    lo = np.array([RECOVERY[c][2][0] for c in ctype])
    hi = np.array([RECOVERY[c][2][1] for c in ctype])
    rec = np.clip(mean + sd * rng.standard_normal(k), 0.0, 1.0)
    share = L["guaranteed_share"][kd].astype(float)
    rec = share + (1 - share) * rec  # the guarantor pays its share, the rest is recovered like the collateral
    wait = lo + (rng.random(k) * (hi - lo + 1)).astype(np.int64)
    lgd = 1.0 - rec / 1.06 ** (wait / 12)  # discounted at 6 % a year
    ws = months[0].astype("datetime64[M]")
    return pd.DataFrame({
        "loan_id": L["loan_id"][kd], "enterprise_id": eids[L["idx"][kd]],
        "default_month": months[dm].astype("datetime64[ns]"),
        "collateral_type": ctype, "guarantor_type": L["guarantor_type"][kd],
        "ead": np.round(ead, 2), "recovery_rate": np.round(rec, 4),
        "recovery_month": (ws + (dm + wait + 1).astype("timedelta64[M]")).astype("datetime64[D]").astype("datetime64[ns]")
        - np.timedelta64(1, "D"),
        "lgd": np.round(lgd, 4),
    })


def _ip(firms: Firms, rng, months, chunk_index):
    n = firms.n
    n_pat = rng.poisson(np.where(firms.tech, 5.0, 0.25))
    n_tm = rng.poisson(np.where(firms.legal_form == "company", 0.6, 0.15))
    counts = n_pat + n_tm
    owner = np.repeat(np.arange(n), counts)
    k = len(owner)
    pos = np.arange(k) - np.repeat(np.cumsum(counts) - counts, counts)
    is_pat = pos < np.repeat(n_pat, counts)
    ptypes = np.array(["invention_patent", "utility_patent", "design_patent"])
    atype = np.where(is_pat, ptypes[rng.choice(3, k, p=[0.35, 0.5, 0.15])], "trademark").astype(object)
    end = months[-1]
    reg = firms.reg_date[owner]
    span = (end - reg).astype(np.int64)
    grant = reg + (rng.random(k) * span).astype("timedelta64[D]")
    pledged = rng.random(k) < np.where(firms.tech[owner], 0.12, 0.03)
    pledge_date = np.where(pledged, grant + (rng.random(k) * (end - grant).astype(np.int64)).astype("timedelta64[D]"),
                           np.datetime64("NaT"))
    val = np.where(atype == "invention_patent", rng.lognormal(np.log(400_000), 0.8, k), rng.lognormal(np.log(60_000), 0.8, k))
    df = pd.DataFrame({
        "enterprise_id": firms.eid[owner],
        "asset_id": [f"IP{chunk_index:03d}{j:08d}" for j in range(k)],
        "asset_type": atype, "grant_date": grant.astype("datetime64[ns]"), "pledged": pledged,
        "pledge_date": pledge_date.astype("datetime64[ns]"),
        "valuation": np.where(rng.random(k) < 0.3, np.nan, np.round(val, -2)),
    })
    return df


def _supply_chain(firms: Firms, rng, sales, months, closed, chunk_index):
    n, T = sales.shape
    part = (rng.random(n) < np.where(np.isin(firms.industry, ["C", "F", "G"]), 0.28, 0.05)) & (firms.legal_form == "company")
    core_rating = np.array(["AAA", "AA", "AA", "A", "A", "BBB", "BBB", "BB", "B", "AA"] * 3)
    core = rng.integers(0, len(core_rating), n)
    cnt = rng.poisson(0.8, (n, T)) * (part[:, None] & ~closed)
    ii, tt = np.nonzero(cnt)
    reps = cnt[ii, tt]
    ii, tt = np.repeat(ii, reps), np.repeat(tt, reps)
    k = len(ii)
    issue = months[tt].astype("datetime64[M]").astype("datetime64[D]") + rng.integers(0, 28, k).astype("timedelta64[D]")
    due = issue + rng.choice([60, 90, 180], k).astype("timedelta64[D]")
    rating = core_rating[core[ii]]
    late = np.maximum(0, rng.normal(np.select([rating == "BB", rating == "B"], [25, 50], 3), 15, k)).astype(np.int64)
    paid = due + late.astype("timedelta64[D]")
    paid = np.where(paid <= months[-1], paid, np.datetime64("NaT"))
    df = pd.DataFrame({
        "enterprise_id": firms.eid[ii],
        "instrument_id": [f"SC{chunk_index:03d}{j:08d}" for j in range(k)],
        "instrument": np.where(rng.random(k) < 0.7, "receivable", "commercial_bill").astype(object),
        "counterparty": np.array([f"CORE{c:03d}" for c in core[ii]], dtype=object),
        "counterparty_rating": rating.astype(object),
        "amount": np.round(sales[ii, tt] * rng.uniform(0.05, 0.3, k), 2),
        "issue_date": issue.astype("datetime64[ns]"), "due_date": due.astype("datetime64[ns]"),
        "paid_date": paid.astype("datetime64[ns]"),
    })
    return df.sort_values(["enterprise_id", "issue_date", "instrument_id"], kind="stable").reset_index(drop=True)


def _green(firms: Firms, rng, h, months, closed):
    n, T = h.shape
    cover = rng.random(n) < np.where(np.isin(firms.industry, ["A", "C", "E", "G"]), 0.9, 0.35)
    base = np.where(np.isin(firms.industry, ["C", "E"]), 0.6, 0.15) * rng.lognormal(0, 0.5, n)
    rows = _Rows()
    idx = pd.DatetimeIndex(months)
    for y in range(idx[0].year - 1, idx[-1].year):
        pub = np.datetime64(f"{y + 1}-03-31")
        if pub > months[-1]:
            continue
        cols = np.nonzero(idx.year == y)[0]
        mh = h[:, cols].mean(axis=1) if len(cols) else np.zeros(n)
        alive = ~closed[:, cols[-1]] if len(cols) else np.ones(n, bool)
        m = cover & alive
        score = 1.0 * firms.u + 0.3 * -mh + rng.normal(0, 0.5, n)
        grade = np.select([score < -0.4, score < 0.5, score < 1.2, score < 1.8], ["green", "blue", "yellow", "red"], "black")
        grade = np.where(rng.random(n) < 0.1, None, grade).astype(object)
        rows.add(enterprise_id=firms.eid[m], year=np.full(m.sum(), y), published_date=np.full(m.sum(), pub),
                 carbon_intensity=np.round(base[m] * rng.lognormal(0, 0.1, m.sum()), 4),
                 green_credit_label=(firms.green & (rng.random(n) < 0.7))[m], env_credit_grade=grade[m])
    return rows.frame(["enterprise_id", "year", "published_date", "carbon_intensity", "green_credit_label",
                       "env_credit_grade"])


def _persons(firms: Firms, rng, months, chunk_index, cluster, group):
    n = firms.n
    end = months[-1]
    rows = _Rows()
    pid = 0
    roles = [("legal_representative", 1.0), ("actual_controller", 0.5), ("shareholder", 0.6)]
    for role, p in roles:
        m = rng.random(n) < np.where(firms.legal_form == "company", p, p if role == "legal_representative" else 0.1)
        if role == "actual_controller":
            m &= ~group  # group members share one actual controller (below)
        k = int(m.sum())
        ids = np.array([f"P{chunk_index:03d}{pid + j:08d}" for j in range(k)], dtype=object)
        pid += k
        u = firms.u[m]
        dis = rng.random(k) < expit(-4.8 + 1.4 * u)
        bad = rng.random(k) < expit(-3.2 + 1.2 * u)
        since_dis = end - (rng.random(k) * 1800).astype("timedelta64[D]")
        since_bad = end - (rng.random(k) * 1800).astype("timedelta64[D]")
        rows.add(enterprise_id=firms.eid[m], person_id=ids, role=np.full(k, role, dtype=object),
                 dishonest_debtor=dis, dishonest_since=np.where(dis, since_dis, np.datetime64("NaT")).astype("datetime64[ns]"),
                 bad_credit_record=bad, bad_record_since=np.where(bad, since_bad, np.datetime64("NaT")).astype("datetime64[ns]"))
    # groups: one actual controller for every member of the cluster, with one record
    gi = np.nonzero(group)[0]
    if len(gi):
        cl, inv = np.unique(cluster[gi], return_inverse=True)
        u_c = np.bincount(inv, weights=firms.u[gi]) / np.bincount(inv)
        dis = rng.random(len(cl)) < expit(-4.8 + 1.4 * u_c)
        bad = rng.random(len(cl)) < expit(-3.2 + 1.2 * u_c)
        since_dis = end - (rng.random(len(cl)) * 1800).astype("timedelta64[D]")
        since_bad = end - (rng.random(len(cl)) * 1800).astype("timedelta64[D]")
        rows.add(enterprise_id=firms.eid[gi], person_id=np.array([f"PG{chunk_index:03d}{c:07d}" for c in cl[inv]], dtype=object),
                 role=np.full(len(gi), "actual_controller", dtype=object), dishonest_debtor=dis[inv],
                 dishonest_since=np.where(dis, since_dis, np.datetime64("NaT")).astype("datetime64[ns]")[inv],
                 bad_credit_record=bad[inv],
                 bad_record_since=np.where(bad, since_bad, np.datetime64("NaT")).astype("datetime64[ns]")[inv])
    return rows.frame(["enterprise_id", "person_id", "role", "dishonest_debtor", "dishonest_since",
                       "bad_credit_record", "bad_record_since"])


def _applications(cfg: SimConfig, firms: Firms, rng, months, bucket, chunk_index):
    n = firms.n
    T = len(months)
    m = (rng.random(n) < cfg.application_share) & (bucket[:, T - 1] < 4)
    k = int(m.sum())
    end = months[-1]
    date = end - rng.integers(0, 60, k).astype("timedelta64[D]")
    prod = _product_for(firms.legal_form[m], rng)
    idx = np.nonzero(m)[0]
    coll = _collateral(firms, idx, rng)
    amount = np.round(np.clip(firms.revenue[m] * rng.uniform(0.1, 0.5, k), 50_000, 20_000_000), -4)
    cval = np.where(np.isin(coll["collateral_type"], ["real_estate", "movable_property", "ip_pledge", "receivables"]),
                    np.round(amount * rng.uniform(0.8, 2.0, k), -3), np.nan)
    return pd.DataFrame({
        "application_id": [f"AP{chunk_index:03d}{j:07d}" for j in range(k)],
        "enterprise_id": firms.eid[m], "application_date": date.astype("datetime64[ns]"),
        "requested_amount": amount.astype(float), "product": prod, "term_months": rng.choice([6, 12, 12, 24], k).astype(np.int64),
        "collateral_type": coll["collateral_type"], "collateral_value": cval,
    })


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------

def _arrow_table(df: pd.DataFrame, name: str) -> pa.Table:
    """Convert with a fixed Arrow schema per table so every chunk writes identical types."""
    if name.startswith(TRUTH_DIR):
        types = {"enterprise_id": pa.string(), "month_end": pa.timestamp("ns"), "pd_12m": pa.float64(),
                 "default_month": pa.timestamp("ns"), "loan_id": pa.string(), "collateral_type": pa.string(),
                 "guarantor_type": pa.string(), "ead": pa.float64(), "recovery_rate": pa.float64(),
                 "recovery_month": pa.timestamp("ns"), "lgd": pa.float64(), "theta": pa.float64(),
                 "high_leverage": pa.bool_(), "strategic_defaulter": pa.bool_(), "guarantee_cluster": pa.int64(),
                 "anchor_enterprise_id": pa.string(), "group_controller": pa.bool_(),
                 "invoice_fraud": pa.bool_()}
        types.update({c: pa.float64() for c in df.columns if c.startswith("pd_")})
        return pa.Table.from_pandas(df, schema=pa.schema([(c, types[c]) for c in df.columns]), preserve_index=False)
    spec = TABLES[name]
    arrow = {"str": pa.string(), "date": pa.timestamp("ns"), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    # required columns, then the optional ones the simulator writes (loans: the guarantor enterprise, 互保/联保)
    written = [c for c in spec.all_columns if c in spec.columns or c.name in df.columns]
    fields = [(c.name, arrow[c.dtype]) for c in written]
    cols = {}
    for c in written:
        s = df[c.name]
        if c.dtype == "date":
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif c.dtype == "str":
            s = s.astype(object).where(pd.notna(s), None)
        cols[c.name] = s
    cols = {f: cols[f] for f, _ in fields}
    return pa.Table.from_pandas(pd.DataFrame(cols), schema=pa.schema(fields), preserve_index=False)


def simulate(n_enterprises: int = 20_000, months: int = 36, seed: int = 0, out: str | Path = "city", *,
             end: str = "2025-12-31", config: SimConfig | None = None,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Simulate a city and write all tables (Parquet) and the ground truth to ``out``.

    The folder is written atomically: it appears complete or not at all. Same arguments give
    byte-identical files.
    """
    cfg = config or SimConfig(n_enterprises=n_enterprises, months=months, seed=seed, end=end)
    cfg.validate()
    out = Path(out)
    end_ts = pd.Timestamp(cfg.end)
    window_start = (end_ts.to_period("M") - (cfg.months - 1)).to_timestamp(how="start")
    root = np.random.default_rng([cfg.seed, 7_919])
    s_cyc, s_macro = systematic_path(cfg, cfg.months + max(HORIZONS), root)
    s_path, forb_path, s_haz = scenario(cfg, s_cyc, s_macro, window_start)
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    pd_tab = pd_tables(cfg, z, P, thetas, s_haz, forb_path, cfg.months)
    a_mult = int(root.integers(1, 31**8 // 31)) * 31 + int(root.integers(1, 31))  # coprime with 31
    b_add = int(root.integers(0, 31**8))

    def id_map(serial: np.ndarray) -> np.ndarray:
        return np.array([(a_mult * int(s) + b_add) % 31**8 for s in serial], dtype=object)

    n_chunks = -(-cfg.n_enterprises // CHUNK)
    with atomic_path(out, is_dir=True) as tmp:
        (tmp / TRUTH_DIR).mkdir()
        writers: dict[str, pq.ParquetWriter] = {}
        try:
            for c in range(n_chunks):
                n = min(CHUNK, cfg.n_enterprises - c * CHUNK)
                rng = np.random.default_rng([cfg.seed, c])
                firms = make_firms(cfg, n, c * CHUNK, window_start, rng, id_map)
                tables = simulate_chunk(cfg, firms, rng, z, P, pd_tab, s_path, forb_path, window_start, c, s_haz)
                for name, df in tables.items():
                    tab = _arrow_table(df, name)
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(tmp / f"{name}.parquet", tab.schema, compression="zstd")
                    writers[name].write_table(tab, row_group_size=1_000_000)
                if progress:
                    progress(c + 1, n_chunks)
        finally:
            for w in writers.values():
                w.close()
        downturn = cfg.downturn_industry is not None or cfg.downturn_start is not None  # validated: both set
        config = {k: v for k, v in asdict(cfg).items() if downturn or not k.startswith("downturn_")}
        meta = {"config": config, "window_start": str(window_start.date()), "window_end": cfg.end,
                "pd_12m": "exact backward recursion over the discrete health chain (see docs/simulator.md)",
                "default": "more than 90 days past due on any loan (the 61-90 bucket rolling on)",
                "pd_term": f"exact PDs for horizons {list(HORIZONS)} months, same recursion"}
        (tmp / TRUTH_DIR / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    return out
