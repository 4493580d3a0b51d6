"""The latent model: health chain, hazard and roll rates, the scenario, and the exact PDs.

Each enterprise has a static risk offset ``theta`` (on a grid) and a type (high leverage, strategic
defaulter); its latent financial health is a discrete Markov chain (Tauchen discretisation of a
stationary unit-variance AR(1)); the systematic term of each industry (cycles, the macro shock, the
optional downturn, calendar effects) is the *scenario*. Delinquency is a second chain (current, 1–30,
31–60, 61–90 days past due, default). ``pd_tables`` gives the exact PDs by backward recursion over the
joint chain; ``forward_default`` the same forward in time for given enterprises (mutual-guarantee
contagion). See docs/simulator.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from smecredit.data import reference as ref
from smecredit.simulation.config import SimConfig

# Spring Festival (Chinese New Year) month by year; other years default to February.
SPRING_FESTIVAL_MONTH = {
    2015: 2, 2016: 2, 2017: 1, 2018: 2, 2019: 2, 2020: 1, 2021: 2, 2022: 2, 2023: 1,
    2024: 2, 2025: 1, 2026: 2, 2027: 2, 2028: 1, 2029: 2, 2030: 2, 2031: 1, 2032: 2,
    2033: 1, 2034: 2, 2035: 2,
}



def downturn_term(cfg: SimConfig, window_start: pd.Timestamp, n_total: int) -> np.ndarray:
    """Hazard shift (industries × months) of the optional industry downturn; zeros when it is off."""
    out = np.zeros((len(ref.INDUSTRIES), n_total))
    if not cfg.downturn_on:
        return out
    start = pd.Period(str(cfg.downturn_start), freq="M")  # validated by SimConfig
    k = max(0, (start - window_start.to_period("M")).n)
    out[list(ref.INDUSTRIES).index(cfg.downturn_industry), k:] = cfg.downturn_severity
    return out


def downturn_roll_shift(cfg: SimConfig, window_start: pd.Timestamp, n_total: int, n_rows: int) -> np.ndarray | None:
    """Roll-rate logit shift (hazard rows × months) of an exposed-share downturn: from its start the exposed
    enterprises of the industry also roll on instead of curing (their orders are gone); None otherwise."""
    if not cfg.downturn_on or cfg.downturn_exposed_share is None:
        return None
    out = np.zeros((n_rows, n_total))
    out[len(ref.INDUSTRIES)] = downturn_term(cfg, window_start, n_total)[list(ref.INDUSTRIES).index(cfg.downturn_industry)]
    return out


def downturn_rows(cfg: SimConfig, industry_idx: np.ndarray, revenue: np.ndarray, theta: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Row of the hazard's systematic term (``s_haz``) of each enterprise: its industry, or, with an
    exposed-share downturn, one extra row for the downturn industry's exposed enterprises.

    Exposure (export dependence, unobserved) is a static trait, drawn with probability
    ``2 · share · sigmoid(2 · (log revenue − median) − 2 · (theta − median))`` (capped at 1): exporters are
    the larger, established firms with good records — the ones a model trained before the downturn ranks
    safest. Being static (independent of the health path given the row), it keeps every PD exact.
    """
    rows = np.asarray(industry_idx).copy()
    if not cfg.downturn_on or cfg.downturn_exposed_share is None:
        return rows
    g = list(ref.INDUSTRIES).index(cfg.downturn_industry)
    lr = np.log(revenue)
    score = 2 * (lr - np.median(lr)) - 2 * (theta - np.median(theta))
    p = np.clip(2 * cfg.downturn_exposed_share * expit(score), 0, 1)
    exposed = (rows == g) & (rng.random(len(rows)) < p)
    rows[exposed] = len(ref.INDUSTRIES)
    return rows


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


# delinquency buckets of the latent chain: 0 current, 1: 1–30, 2: 31–60, 3: 61–90 days past due,
# 4 evergreened (a missed payment hidden by a new loan, 借新还旧: current on the books); default (more than
# 90 days past due) is absorbing and is not a state of the tables.
N_BUCKETS = 5
EVERGREEN = 4
HORIZONS = (1, 3, 6, 12, 24, 36)  # months of the exact PDs written to _truth/pd_term.parquet
# enterprise types (a second, orthogonal factor): type = 2 * high leverage + strategic defaulter
N_TYPES = 4
TYPE_LEV = np.array([0.0, 0.0, 1.0, 1.0])
TYPE_STRATEGIC = np.array([0.0, 1.0, 0.0, 1.0])


def roll_rates(cfg: SimConfig, z: np.ndarray, strategic: np.ndarray | float = 0.0,
               shift: np.ndarray | float = 0.0) -> np.ndarray:
    """Probability of rolling from bucket k to k+1 (k = 1, 2, 3) given health z: array (3, *broadcast shape).

    Roll rates rise as health falls; strategic defaulters (unwilling rather than unable to pay) roll on
    and hardly ever cure. The rest cures (back to current), except in bucket 3 under forbearance.
    """
    z = np.asarray(z, dtype=float)
    shift = np.asarray(strategic, dtype=float) * cfg.strategic_roll - cfg.roll_health * z + np.asarray(shift, dtype=float)
    c = np.array([cfg.roll_1, cfg.roll_2, cfg.roll_3]).reshape((3,) + (1,) * shift.ndim)
    return expit(c + shift[None])


def surface_rate(cfg: SimConfig, z: np.ndarray, strategic: np.ndarray | float = 0.0) -> np.ndarray:
    """Probability that an evergreening spell, when it ends, ends in arrears (1–30 dpd) rather than a cure.

    Like the roll rates it rises as health falls; strategic defaulters almost always fall into arrears.
    """
    z = np.asarray(z, dtype=float)
    return expit(cfg.roll_1 + cfg.evergreen_surface + np.asarray(strategic, dtype=float) * cfg.strategic_roll
                 - cfg.roll_health * z)


def evergreen_exit(cfg: SimConfig) -> float:
    """Monthly probability that an evergreening spell ends (geometric, mean ``evergreen_months``)."""
    return 1.0 / cfg.evergreen_months


def step_values(lam: np.ndarray, roll: np.ndarray, forb: float, W: np.ndarray, ever: float = 0.0,
                out_p: float = 0.0, surf: np.ndarray | float = 1.0) -> np.ndarray:
    """One month of the delinquency chain, backwards: V(x', d) = sum_d' T(d -> d' | x') W(x', d').

    ``W`` has the bucket as last axis; ``lam``, ``roll[k]`` and ``surf`` broadcast against ``W[..., 0]``;
    ``forb`` is the share of 61–90 dpd loans held there (forbearance) this month. A missed payment is
    evergreened with probability ``ever``; an evergreening spell ends with probability ``out_p`` a month,
    in arrears with probability ``surf``, else cured. Default contributes nothing (absorbing, survival 0).
    """
    r1, r2, r3 = roll[0], roll[1], roll[2]
    W0, W1, W2, W3, W4 = W[..., 0], W[..., 1], W[..., 2], W[..., 3], W[..., 4]
    return np.stack([(1 - lam) * W0 + lam * ((1 - ever) * W1 + ever * W4),
                     r1 * W2 + (1 - r1) * W0,
                     r2 * W3 + (1 - r2) * W0,
                     forb * W3 + (1 - forb) * (1 - r3) * W0,
                     (1 - out_p) * W4 + out_p * (surf * W1 + (1 - surf) * W0)], axis=-1)


def pd_tables(cfg: SimConfig, z: np.ndarray, P: np.ndarray, thetas: np.ndarray, s_haz: np.ndarray,
              forb_path: np.ndarray, months: int, horizons: tuple[int, ...] = HORIZONS,
              roll_shift: np.ndarray | None = None) -> dict[int, np.ndarray]:
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
    sf = surface_rate(cfg, z[:, None], TYPE_STRATEGIC[None, :])[:, None, None, :]  # (state, 1, 1, type)
    out_p = evergreen_exit(cfg)
    rrs = [rr] * (months + max(horizons))
    if roll_shift is not None:  # exposed downturn rows roll on: roll rates by row in those months
        for m in np.nonzero(roll_shift.any(axis=0))[0]:
            rrs[m] = roll_rates(cfg, z[:, None, None, None], TYPE_STRATEGIC[None, None, None, :],
                                roll_shift[:, m][None, :, None, None])  # (3, state, row, 1, type)
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
                    V = step_values(lams[t + j], rrs[t + j], float(forb_path[t + j]), W, cfg.evergreen_share, out_p, sf)
                    W = (P @ V.reshape(nz, -1)).reshape(shape)  # W(x, .) = sum_x' P(x, x') V(x', .)
                out[h][t] = (1.0 - W).transpose(1, 2, 3, 0, 4)
    return out


def forward_default(cfg: SimConfig, z: np.ndarray, P: np.ndarray, theta: np.ndarray, s_rows: np.ndarray,
                    forb: np.ndarray, x0: np.ndarray, d0: np.ndarray, horizon: int,
                    theta_jump: np.ndarray | None = None, q: np.ndarray | None = None,
                    ftype: np.ndarray | None = None, roll_shift: np.ndarray | None = None) -> np.ndarray:
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
    sf = surface_rate(cfg, z[None, :], TYPE_STRATEGIC[ftype][:, None])[:, None, :]  # (m, 1, state)
    e, po = cfg.evergreen_share, evergreen_exit(cfg)
    lev = TYPE_LEV[ftype][:, None, None]
    out = np.empty((m, horizon))
    dead = np.zeros(m)
    new = np.empty_like(pi)
    with threadpool_limits(1):  # small products: one thread is faster and the sums never depend on the machine
        for k in range(horizon):
            pi = (pi.reshape(-1, nz) @ P).reshape(pi.shape)
            if roll_shift is not None:  # (m, horizon): exposed downturn months roll on
                rk = roll_rates(cfg, z[None, :], TYPE_STRATEGIC[ftype][:, None], roll_shift[:, k][:, None])
                r1, r2, r3 = rk[0][:, None, :], rk[1][:, None, :], rk[2][:, None, :]
            lam = hazard(cfg, th[:, :, None], z[None, None, :], s_rows[:, k][:, None, None], lev)  # (m, layers, nz)
            f = float(forb[k])
            p0, p1, p2, p3, p4 = pi[:, :, 0], pi[:, :, 1], pi[:, :, 2], pi[:, :, 3], pi[:, :, 4]
            dead += (p3 * ((1 - f) * r3)).sum(axis=(1, 2))
            miss = p0 * lam
            leave = p4 * po
            new[:, :, 1] = miss * (1 - e) + leave * sf
            new[:, :, 0] = (p0 - miss + p1 * (1 - r1) + p2 * (1 - r2) + p3 * ((1 - f) * (1 - r3))
                            + leave * (1 - sf))
            new[:, :, 2] = p1 * r1
            new[:, :, 3] = p2 * r2 + p3 * f
            new[:, :, 4] = miss * e + p4 - leave
            pi, new = new, pi
            if q is not None:
                move = pi[:, 0] * q[:, k][:, None, None]
                pi[:, 0] -= move
                pi[:, 1] += move
            out[:, k] = dead
    return out


def partner_default_effect(cfg: SimConfig, theta_idx: np.ndarray, ftype: np.ndarray | None = None,
                           x0: np.ndarray | None = None, d0: np.ndarray | None = None,
                           horizon: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``horizon``-month PDs of enterprises at the same state with a guarantee partner's default
    ("partner defaulted" flag) off and on: the structural effect of contagion, a counterfactual from the
    same forward recursion as the members' PDs.

    ``theta_idx`` is the static risk's grid index, ``x0`` the health state (default: the median state),
    ``d0`` the delinquency bucket (default current); the scenario is neutral (no systematic term, no
    forbearance), so the ratio isolates the hazard jump (``contagion_steps`` grid steps of theta from the
    partner's default on). Returns ``(pd_off, pd_on)``.
    """
    theta_idx = np.asarray(theta_idx, dtype=np.int64)
    m = len(theta_idx)
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    x0 = np.full(m, len(z) // 2, dtype=np.int64) if x0 is None else np.asarray(x0, dtype=np.int64)
    d0 = np.zeros(m, dtype=np.int64) if d0 is None else np.asarray(d0, dtype=np.int64)
    jump = np.clip(theta_idx + cfg.contagion_steps, 0, len(thetas) - 1)
    s0, f0 = np.zeros((m, horizon)), np.zeros(horizon)
    off = forward_default(cfg, z, P, thetas[theta_idx], s0, f0, x0, d0, horizon, ftype=ftype)[:, -1]
    on = forward_default(cfg, z, P, thetas[jump], s0, f0, x0, d0, horizon, ftype=ftype)[:, -1]
    return off, on


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
            if cfg.downturn_exposed_share is None:
                s_haz = s_haz - shift / cfg.gamma
            else:  # one more hazard row: the industry's exposed enterprises (``downturn_rows``)
                g = list(ref.INDUSTRIES).index(cfg.downturn_industry)
                s_haz = np.vstack([s_haz, s_haz[g] - shift[g] / cfg.gamma])
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

