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
from smecredit.simulation.latent import TYPE_LEV, TYPE_STRATEGIC, forward_default, hazard, roll_rates, theta_grid


@dataclass
class Paths:
    """Latent paths of a chunk (n enterprises × T months)."""

    anchor: np.ndarray  # index of the mutual-guarantee cluster's anchor (-1: none, or the anchor itself)
    cluster: np.ndarray  # cluster number (-1 outside)
    group: np.ndarray  # the cluster is a group under one actual controller
    x_idx: np.ndarray  # (n, T + 1) health state index (column 0: the month before the window)
    bucket: np.ndarray  # (n, T) 0 current, 1..3 delinquency bucket, 4 defaulted (this month or before)
    forborne: np.ndarray  # (n, T) held in the 61–90 bucket by forbearance this month
    default_m: np.ndarray  # (n,) default month (-1: none)
    pd_h: dict[int, np.ndarray]  # exact PDs by horizon, (n, T), NaN from the default month on
    x: np.ndarray  # (n, T) latent health
    closed: np.ndarray  # (n, T) business closed (three months after default)
    h: np.ndarray  # (n, T) observed health: latent + systematic − arrears penalty


def latent_paths(cfg: SimConfig, firms: Firms, rng: np.random.Generator, z: np.ndarray, P: np.ndarray,
                 pd_tab: dict[int, np.ndarray], s_path: np.ndarray, forb_path: np.ndarray,
                 s_haz: np.ndarray | None = None) -> Paths:
    """Simulate the chunk's health and delinquency month by month, with the exact PDs of every month."""
    n, T = firms.n, cfg.months
    cumP = np.cumsum(P, axis=1)
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
    x = z[x_idx[:, 1:]]  # (n, T) health by month
    tgrid = np.arange(T)[None, :]
    closed = (default_m[:, None] >= 0) & (tgrid > default_m[:, None] + 2)  # business closed after default
    # observed health: latent + systematic, minus a penalty that deepens with arrears and after default
    h = x + s_obs[:, :T] - np.array([0.0, 0.5, 0.9, 1.3, 1.7])[bucket]

    return Paths(anchor, cluster, group, x_idx, bucket, forborne, default_m, pd_h, x, closed, h)
