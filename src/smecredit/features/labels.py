"""Default labels and populations at a snapshot.

Definitions (all from ``loan_monthly``; configurable through :class:`FeatureConfig`):

* **Default month** of an enterprise: a month in which any of its loans is more than
  ``cfg.default_dpd`` (90) days past due, or classed 次级, 可疑 or 损失 (non-performing).
* **bad** at snapshot *s* with horizon *h*: a default month among the *h* months after the anchor
  month of *s* (the anchor is the last month fully ended on *s*). 1.0 or 0.0.
* **observable**: the whole outcome window lies inside the data, i.e. anchor + *h* ≤ the last
  month of ``loan_monthly``; otherwise ``bad`` is NaN (the row is for scoring, not training).
* **Populations**: ``active_loan`` — enterprises with a loan outstanding (positive balance) in
  the anchor month that are not in default in that month (already-defaulted obligors are rated
  "D", not scored); ``all`` — every enterprise registered on or before the snapshot; or an explicit
  list of enterprise ids (also restricted to enterprises registered by the snapshot). Under ``all``
  an enterprise without loans has ``bad`` = 0 when observable: no default was observed; use
  ``credit_missing`` to tell such rows apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import FeatureConfig, PreparedRaw, anchor_month, frame
from smecredit.features.credit import default_panel, loan_panels


def label_frame(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """``bad``, ``observable``, ``active_loan`` and ``defaulted_now`` of every enterprise at ``snapshot``."""
    a = anchor_month(snapshot)
    panels = loan_panels(raw)
    active = panels["active"]
    d = raw.cached(("default_panel", cfg.default_dpd), lambda: default_panel(raw, cfg))
    m0, m1 = active.m0, active.m1
    n = raw.n

    def col(m: int) -> np.ndarray:
        if m0 <= m <= m1:
            return d[:, m - m0]
        return np.zeros(n, dtype=bool)

    observable = a + cfg.horizon <= m1
    if observable:
        lo, hi = max(a + 1, m0), a + cfg.horizon
        bad = d[:, lo - m0:hi - m0 + 1].any(axis=1).astype(np.float64) if lo <= hi else np.zeros(n)
    else:
        bad = np.full(n, np.nan)
    return frame(raw, {
        "bad": bad,
        "observable": np.full(n, observable),
        "active_loan": np.nan_to_num(active.at(a), nan=0.0) > 0,
        "defaulted_now": col(a),
    })
