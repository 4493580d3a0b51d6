"""Report content on the model's scope: model card and performance by population and days past due.

Kept apart from :mod:`smecredit.report.builder` (which calls :func:`scope_section`); rendered by
``templates/_scope_card.html`` (section 1) and ``templates/_scope.html`` (section 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.validation.metrics import bootstrap_ci, ks
from smecredit.validation.scope import DPD_BUCKETS, DPD_COL, POPULATION_RULE, dpd_bucket, scope_card

MIN_AUC_ROWS = 30
IN_ARREARS_SHARE = 0.5


def _both(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < y.sum() < len(y)


def _view(label: str, y: np.ndarray, p: np.ndarray, n_boot: int, seed: int) -> dict:
    row = {"view": label, "n": int(len(y)), "defaults": int(y.sum()) if len(y) else 0,
           "default_rate": float(y.mean()) if len(y) else None, "mean_pd": float(p.mean()) if len(p) else None,
           "auc": None, "ks": None}
    if len(y) >= MIN_AUC_ROWS and _both(y):
        row["auc"] = bootstrap_ci(y, p, "auc", n_boot=n_boot, random_state=seed)
        row["ks"] = ks(y, p)
    return row


def model_card(meta: dict) -> dict:
    """The scope fields recorded at training, or a card saying they were not recorded."""
    card = meta.get("scope")
    if isinstance(card, dict) and card.get("population"):
        return dict(card) | {"recorded": True}
    horizon = meta.get("horizon_months") or meta.get("horizon")
    fallback = scope_card("behavioural", horizon_months=horizon)
    fallback["intended_use"] = ("not recorded at training (model trained before scope was recorded, or outside "
                                "smecredit train); treated as behavioural: " + fallback["intended_use"])
    return fallback | {"recorded": False}


def scope_section(meta: dict, frame: pd.DataFrame, y: pd.Series | None, preds: pd.DataFrame,
                  mask: np.ndarray, sample_label: str, *, n_boot: int, seed: int) -> dict:
    """Performance of the model by population view and by days-past-due bucket on the rows of ``mask``.

    Views: every row (behavioural), rows without current arrears (application) and rows outside the
    *in-arrears grades* (grades where at least half of the rows are past due). ``smecredit train``
    (``validation.json`` → ``by_population``) and the report call it with the same ``n_boot`` and seed, so
    the behavioural view's interval is the headline out-of-time interval.
    """
    out: dict = {"card": model_card(meta), "sample": sample_label, "available": False, "views": [], "buckets": [],
                 "in_arrears_grades": [], "dpd_column": DPD_COL}
    if y is None or DPD_COL not in frame.columns:
        out["note"] = (f"The data have no {DPD_COL} column (days past due at the snapshot): the split by "
                       "population and days-past-due bucket cannot be shown." if y is not None else
                       "No observed outcomes.")
        return out
    lab = mask & y.notna().to_numpy()
    if not lab.any():
        out["note"] = "No labelled rows in the sample."
        return out
    yy = y.to_numpy()[lab]
    pp = preds["pd"].to_numpy()[lab]
    gg = preds["grade"].astype(str).to_numpy()[lab]
    dpd = np.nan_to_num(pd.to_numeric(frame[DPD_COL], errors="coerce").to_numpy(dtype="float64")[lab], nan=0.0)
    arrears = dpd > 0
    share = pd.Series(arrears).groupby(gg).mean()
    hot = [g for g in share.index if share[g] >= IN_ARREARS_SHARE]
    out["in_arrears_grades"] = [{"grade": g, "share_past_due": float(share[g]), "n": int((gg == g).sum()),
                                 "defaults": int(yy[gg == g].sum())} for g in hot]
    views = [_view("behavioural: all rows", yy, pp, n_boot, seed),
             _view(f"application: {POPULATION_RULE['application']}", yy[~arrears], pp[~arrears], n_boot, seed)]
    if hot:
        keep = ~np.isin(gg, hot)
        views.append(_view(f"without the in-arrears grade(s) {', '.join(hot)}", yy[keep], pp[keep], n_boot, seed))
    out["views"] = views
    buckets = dpd_bucket(dpd)
    total_defaults = max(int(yy.sum()), 1)
    for _, _, label in DPD_BUCKETS:
        m = buckets == label
        if not m.any():
            continue
        row = _view(label, yy[m], pp[m], n_boot, seed)
        row["share_rows"] = float(m.mean())
        row["share_defaults"] = float(yy[m].sum() / total_defaults)
        out["buckets"].append(row)
    out["available"] = True
    a_all, a_app = views[0]["auc"], views[1]["auc"]
    if a_all and a_app:
        out["auc_drop"] = a_all["value"] - a_app["value"]
    return out
