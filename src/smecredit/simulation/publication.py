"""Publication lags: the ``available_date`` of every periodic source row (when a lender could first see it).

The city's files are the record as eventually published; ``available_date`` says when each row became
known, so point-in-time features can use only what was available at a snapshot (rows published after
the window's end are kept; a consumer filters them). The lags follow the filing and publication rules
in docs/simulator.md ("Publication lags"):

- ``tax_monthly``: general taxpayers declare a month's VAT by the 15th of the next month, small-scale
  taxpayers a quarter's by the 15th of the month after the quarter (every row of the quarter becomes
  known then); the deadline moves about a week later in the Spring Festival month and in October. Most
  declare in the last days before it; late declarations (逾期申报, 1–60 days) rise with distress. The
  row reaches the bank through the tax-bank platform (银税互动) the day after the declaration.
- ``social_insurance_monthly``: declared and paid within the month, shared on a day 5–20 of the next.
- ``utilities_monthly``: meter read at month end, bill and data 3–10 days later.
- ``judicial_events``: a lawsuit's filing (event_date) shows in court announcements 30–90 days later;
  an enforcement case and a dishonest-debtor listing in 3–10 days; a removal in 1–5 days.
- ``admin_events``: market-supervision and environmental penalties and abnormal-operation listings are
  publicised within 20 working days (1–28 calendar days).
- ``tax_credit_annual``, ``green_annual``: their ``published_date``.

Lags are drawn from a random stream of their own, so every other column keeps its bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smecredit.simulation.firms import Firms
from smecredit.simulation.latent import SPRING_FESTIVAL_MONTH

COLUMN = "available_date"
# tables given an available_date; the loan tables are the bank's own books (known at once)
TABLES_WITH_LAG = ("tax_monthly", "social_insurance_monthly", "utilities_monthly", "judicial_events",
                   "admin_events", "tax_credit_annual", "green_annual")
EVENT_LAG_DAYS = {  # (low, high) calendar days from event_date to publication
    "lawsuit_defendant": (30, 90), "enforcement": (3, 10), "dishonest_debtor_listed": (3, 10),
    "dishonest_debtor_removed": (1, 5), "market_penalty": (1, 28), "environmental_penalty": (1, 28),
    "abnormal_operation_in": (1, 28), "abnormal_operation_out": (1, 28),
}


def _month_index(dates: pd.Series, months: np.ndarray) -> np.ndarray:
    d = pd.DatetimeIndex(dates)
    m0 = pd.Timestamp(months[0])
    return np.asarray((d.year - m0.year) * 12 + d.month - m0.month, dtype=np.int64)


def filing_deadline(period_end: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Declaration deadline for a period ending at ``period_end``: the 15th of the next month, a week
    later when that month is the Spring Festival month or October (holiday extensions)."""
    nxt = period_end + pd.offsets.MonthEnd(1)
    sf = np.array([SPRING_FESTIVAL_MONTH.get(y, 2) for y in nxt.year])
    day = np.where((nxt.month == sf) | (nxt.month == 10), 22, 15)
    return pd.DatetimeIndex(nxt.to_period("M").to_timestamp(how="start")) + pd.to_timedelta(day - 1, unit="D")


def add_available_dates(out: dict[str, pd.DataFrame], firms: Firms, h: np.ndarray, months: np.ndarray,
                        rng: np.random.Generator) -> None:
    """Add ``available_date`` to the periodic tables of ``out`` (in place)."""
    eix = pd.Index(firms.eid)
    T = len(months)

    tax = out["tax_monthly"]
    i = eix.get_indexer(tax["enterprise_id"])
    t = _month_index(tax["month_end"], months)
    me = pd.DatetimeIndex(tax["month_end"])
    general = firms.revenue[i] > 5_000_000  # small-scale taxpayers (小规模纳税人) declare quarterly
    q_end = me + pd.offsets.QuarterEnd(0)
    period_end = pd.DatetimeIndex(np.where(general, me, q_end))
    deadline = filing_deadline(period_end)
    # one declaration per enterprise and period: most just before the deadline, late ones (逾期申报) rising
    # with distress (health in the period's last month)
    t_last = np.where(general, t, t + (q_end.month - me.month))  # may run past the window (quarter not over)
    n, width = firms.n, T + 3
    early = np.minimum(rng.exponential(3.0, (n, width)).astype(np.int64), 13)
    late = rng.random((n, width)) < 0.02 + 0.3 * expit(-2.5 - 2.0 * h[:, np.minimum(np.arange(width), T - 1)])
    delay = np.where(late, rng.integers(1, 61, (n, width)), -early)[i, t_last]
    tax[COLUMN] = (deadline + pd.to_timedelta(delay + 1, unit="D")).astype("datetime64[ns]")

    si = out["social_insurance_monthly"]
    si[COLUMN] = (pd.DatetimeIndex(si["month_end"]) + pd.to_timedelta(rng.integers(5, 21, len(si)), unit="D")
                  ).astype("datetime64[ns]")
    ut = out["utilities_monthly"]
    ut[COLUMN] = (pd.DatetimeIndex(ut["month_end"]) + pd.to_timedelta(rng.integers(3, 11, len(ut)), unit="D")
                  ).astype("datetime64[ns]")

    for name in ("judicial_events", "admin_events"):
        ev = out[name]
        kind = ev["event_type"].astype(object).to_numpy()
        lo = np.array([EVENT_LAG_DAYS[k][0] for k in kind], dtype=np.int64)
        hi = np.array([EVENT_LAG_DAYS[k][1] for k in kind], dtype=np.int64)
        lag = lo + (rng.random(len(ev)) * (hi - lo + 1)).astype(np.int64)
        ev[COLUMN] = (pd.DatetimeIndex(ev["event_date"]) + pd.to_timedelta(lag, unit="D")).astype("datetime64[ns]")

    for name in ("tax_credit_annual", "green_annual"):
        df = out[name]
        df[COLUMN] = pd.to_datetime(df["published_date"]).astype("datetime64[ns]")
