"""Exits unrelated to loans: enterprises without bank loans deregistering (about ``exit_rate`` of all
entities a year; births are drawn with the enterprises, :func:`smecredit.simulation.firms.make_firms`).

An enterprise that borrows settles its loans before it may deregister, so exits are drawn among the
enterprises that never borrow in the window; their records stop at the exit month. Their true PDs (the PD
they would have with an exposure) are exact up to the exit and absent after it; defaults are recorded only
for borrowers, so exits never touch ``_truth/defaults``. Exit months are drawn from a stream of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms

# table → the date after which an exited enterprise has no rows
_DATED = {
    "tax_monthly": "month_end", "utilities_monthly": "month_end", "social_insurance_monthly": "month_end",
    "judicial_events": "event_date", "admin_events": "event_date", "supply_chain": "issue_date",
    "tax_credit_annual": "published_date", "green_annual": "published_date", "ip_assets": "grant_date",
    "loan_applications": "application_date", "application_history": "application_date",
    "_truth/pd_true": "month_end", "_truth/pd_term": "month_end",
}


def apply_exits(cfg: SimConfig, out: dict[str, pd.DataFrame], firms: Firms, months: np.ndarray,
                rng: np.random.Generator) -> None:
    """Draw exits among enterprises without loans, drop their later rows (in place), add ``_truth/exits``."""
    T = len(months)
    out["_truth/exits"] = pd.DataFrame({"enterprise_id": pd.Series([], dtype=object),
                                        "exit_month": pd.Series([], dtype="datetime64[ns]")})
    if cfg.exit_rate <= 0:
        return
    eligible = ~pd.Index(firms.eid).isin(out["loans"]["enterprise_id"])  # hashed (object arrays: np.isin is quadratic)
    start = np.maximum(firms.birth, 0) + 1  # at least a month after registration (or the window start)
    exposure = float(np.maximum(T - start, 0)[eligible].sum())  # eligible enterprise-months
    q = 0.0
    if exposure and cfg.exit_rate > 0:  # the whole population's exits, borne by the eligible months
        q = min(0.5, cfg.exit_rate / 12 * firms.n * T / exposure)
    wait = rng.geometric(q, firms.n) if q > 0 else np.full(firms.n, T + 1)
    exit_m = start + wait - 1
    gone = eligible & (exit_m < T)
    ex = pd.Series(exit_m[gone], index=pd.Index(firms.eid[gone]))
    first_day = months.astype("datetime64[M]").astype("datetime64[D]")  # first day of each month
    for name, col in _DATED.items():
        df = out[name]
        if not len(df) or not len(ex):
            continue
        m = df["enterprise_id"].map(ex)
        cut = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        has = m.notna().to_numpy()
        cut[has] = pd.to_datetime(first_day[m[has].astype(np.int64).to_numpy()]).astype("datetime64[ns]")
        drop = has & (pd.to_datetime(df[col]).astype("datetime64[ns]") >= cut).to_numpy()
        if drop.any():
            out[name] = df[~drop].reset_index(drop=True)
    out["_truth/exits"] = pd.DataFrame({"enterprise_id": firms.eid[gone],
                                        "exit_month": months[exit_m[gone]].astype("datetime64[ns]")})
