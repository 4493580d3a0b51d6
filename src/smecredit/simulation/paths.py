"""One chunk of enterprises through time: latent health, delinquency, defaults and their exact PDs.

The paths are drawn from the chain of :mod:`smecredit.simulation.latent`; each enterprise's exact PDs
are read from the backward tables, except for mutual-guarantee members whose anchor is still alive,
whose PDs mix exactly over the anchor's default month (``forward_default``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms, make_clusters
from smecredit.simulation.latent import (
    EVERGREEN,
    TYPE_LEV,
    TYPE_STRATEGIC,
    evergreen_exit,
    forward_default,
    hazard,
    roll_rates,
    surface_rate,
    theta_grid,
)

DEFAULTED = 5  # latent code of default in the path (the exported ``bucket`` uses 4)
PENALTY = np.array([0.0, 0.5, 0.9, 1.3, 0.5, 1.7])  # observed-health penalty by latent bucket (4: evergreened)


@dataclass
class Paths:
    """Latent paths of a chunk (n enterprises × T months)."""

    anchor: np.ndarray  # index of the mutual-guarantee cluster's anchor (-1: none, or the anchor itself)
    cluster: np.ndarray  # cluster number (-1 outside)
    group: np.ndarray  # the cluster is a group under one actual controller
    x_idx: np.ndarray  # (n, T + 1) health state index (column 0: the month before the window)
    bucket: np.ndarray  # (n, T) 0 current, 1..3 delinquency bucket, 4 defaulted (this month or before)
    forborne: np.ndarray  # (n, T) held in the 61–90 bucket by forbearance this month
    evergreen: np.ndarray  # (n, T) in an evergreening spell (a missed payment hidden by a new loan)
    default_m: np.ndarray  # (n,) default month (-1: none)
    pd_h: dict[int, np.ndarray]  # exact PDs by horizon, (n, T), NaN from the default month on
    x: np.ndarray  # (n, T) latent health
    closed: np.ndarray  # (n, T) business closed (three months after default)
    h: np.ndarray  # (n, T) observed health: latent + systematic − arrears penalty


def latent_paths(cfg: SimConfig, firms: Firms, rng: np.random.Generator, z: np.ndarray, P: np.ndarray,
                 pd_tab: dict[int, np.ndarray], s_path: np.ndarray, forb_path: np.ndarray,
                 s_haz: np.ndarray | None = None, rng_e: np.random.Generator | None = None,
                 roll_shift: np.ndarray | None = None) -> Paths:
    """Simulate the chunk's health and delinquency month by month, with the exact PDs of every month.

    ``rng_e`` draws the evergreening decisions (a stream of its own: without evergreening the other draws
    are those of a city without it).
    """
    rng_e = rng_e or np.random.default_rng(0)
    strategic = TYPE_STRATEGIC[firms.ftype]
    out_p = evergreen_exit(cfg)
    n, T = firms.n, cfg.months
    cumP = np.cumsum(P, axis=1)
    s_obs = s_path[firms.ind_idx]  # (n, T + max horizon) systematic term of each firm
    hz_row = firms.ind_idx if firms.hz_row is None else firms.hz_row
    s_hz = (s_path if s_haz is None else s_haz)[hz_row]  # the hazard's (calendar effects, downturn exposure)
    r_sh = None if roll_shift is None else roll_shift[hz_row]  # (n, T + H) roll-rate shift of an exposed downturn

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

    def step(xi, d, s_t, forb, flag, r_t=0.0):
        """One month: new health state, then the delinquency bucket moves; returns (xi, d, defaulted, forborne)."""
        u = rng.random(n)
        xi = (cumP[xi] < u[:, None]).sum(axis=1).clip(0, nz - 1)
        lam = hazard(cfg, np.where(flag, thetas[jump_idx], firms.theta), z[xi], s_t, TYPE_LEV[firms.ftype])
        r = roll_rates(cfg, z[xi], strategic, r_t)
        v = rng.random(n)
        held = (d == 3) & (rng.random(n) < forb)
        nd = np.where(d == 0, (v < lam).astype(np.int64),
                      np.where(v < r[np.clip(d - 1, 0, 2), np.arange(n)], d + 1, 0))
        nd = np.where((d == 3) & (nd == 4), DEFAULTED, nd)
        nd = np.where(held, 3, nd)
        # evergreening: a missed payment hidden by a new loan; the spell ends in arrears or a cure
        w, w2 = rng_e.random(n), rng_e.random(n)
        nd = np.where((d == 0) & (nd == 1) & (w < cfg.evergreen_share), EVERGREEN, nd)
        ends_in_arrears = w2 < surface_rate(cfg, z[xi], strategic)
        nd = np.where(d == EVERGREEN, np.where(w < out_p, ends_in_arrears.astype(np.int64), EVERGREEN), nd)
        return xi, nd, nd == DEFAULTED, held

    # burn-in before the window: a delinquent stock at the start (enterprises defaulting here are replaced)
    for _ in range(cfg.burn_in):
        xi, d, dflt, _held = step(xi, d, np.zeros(n), 0.0, no_flag)
        d[dflt] = 0
    x_idx[:, 0] = xi
    lb = np.zeros((n, T), dtype=np.int64)  # latent bucket: 0..3, 4 evergreened, 5 defaulted (this month or before)
    forborne = np.zeros((n, T), dtype=bool)
    default_m = np.full(n, -1, dtype=np.int64)
    pd_h = {h: np.full((n, T), np.nan) for h in pd_tab}
    alive = np.ones(n, dtype=bool)
    a_safe = np.maximum(anchor, 0)
    for t in range(T):
        # a member's hazard jumps from the month after its anchor defaulted
        flag = member & (default_m[a_safe] >= 0) & (default_m[a_safe] < t)
        xi, nd, dflt, held = step(xi, d, s_hz[:, t], float(forb_path[t]), flag, 0.0 if r_sh is None else r_sh[:, t])
        # not yet registered (born later in the window): no debts yet, health runs on; exact from the birth month
        pre = firms.birth > t
        nd, dflt, held = np.where(pre, 0, nd), dflt & ~pre, held & ~pre
        x_idx[:, t + 1] = xi
        nd = np.where(alive, nd, DEFAULTED)
        newly = alive & dflt
        default_m[newly] = t
        alive &= ~dflt
        d = np.where(alive, nd, DEFAULTED)
        lb[:, t] = d
        forborne[:, t] = held & alive
        jumped = member & (default_m[a_safe] >= 0)  # anchor defaulted by t: the jump holds for every later month
        th_idx = np.where(jumped, jump_idx, firms.theta_idx)
        for hz, tab in pd_tab.items():
            val = tab[t, hz_row, th_idx, firms.ftype, xi, np.minimum(d, EVERGREEN)]
            pd_h[hz][:, t] = np.where(alive & ~pre, val, np.nan)
    # members whose anchor is alive: exact PDs mix over the anchor's default month (forward in time)
    H = max(pd_tab)
    hz_cols = np.array(sorted(pd_tab)) - 1
    for t in range(T):
        mm = np.nonzero(member & (lb[:, t] < DEFAULTED) & (lb[a_safe, t] < DEFAULTED) & (firms.birth <= t))[0]
        if not len(mm):
            continue
        aa = anchor[mm]
        ua, inv = np.unique(aa, return_inverse=True)
        fa = forward_default(cfg, z, P, firms.theta[ua], s_hz[ua, t + 1:t + 1 + H], forb_path[t + 1:t + 1 + H],
                             x_idx[ua, t + 1], lb[ua, t], H, ftype=firms.ftype[ua],
                             roll_shift=None if r_sh is None else r_sh[ua, t + 1:t + 1 + H])
        prev = np.concatenate([np.zeros((len(ua), 1)), fa[:, :-1]], axis=1)
        q = np.where(prev < 1, (fa - prev) / np.maximum(1 - prev, 1e-300), 1.0)[inv]
        fm = forward_default(cfg, z, P, firms.theta[mm], s_hz[mm, t + 1:t + 1 + H], forb_path[t + 1:t + 1 + H],
                             x_idx[mm, t + 1], lb[mm, t], H, theta_jump=thetas[jump_idx[mm]], q=q,
                             ftype=firms.ftype[mm], roll_shift=None if r_sh is None else r_sh[mm, t + 1:t + 1 + H])
        for hz, col in zip(sorted(pd_tab), hz_cols, strict=True):
            pd_h[hz][mm, t] = fm[:, col]
    x = z[x_idx[:, 1:]]  # (n, T) health by month
    tgrid = np.arange(T)[None, :]
    closed = (default_m[:, None] >= 0) & (tgrid > default_m[:, None] + 2)  # business closed after default
    closed |= tgrid < firms.birth[:, None]  # or not yet registered
    # observed health: latent + systematic, minus a penalty that deepens with arrears and after default
    h = x + s_obs[:, :T] - PENALTY[lb]
    # the books: an evergreened loan is current; 4 = defaulted (this month or before)
    bucket = np.where(lb == EVERGREEN, 0, np.where(lb == DEFAULTED, 4, lb))
    return Paths(anchor, cluster, group, x_idx, bucket, forborne, lb == EVERGREEN, default_m, pd_h, x, closed, h)
