"""Section 8 of the governance report: performance and approval rate by segment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.report.sections.common import MIN_SEGMENT_AUC_ROWS, SEGMENTS, _both_classes, _flag_label, _segment_column
from smecredit.validation.metrics import auc, auc_ci


def segment_section(frame: pd.DataFrame, y: pd.Series | None, preds: pd.DataFrame, cutoff_pd: float) -> dict:
    """AUC, default rate, mean PD and approval rate (PD <= cut-off) per segment value."""
    tables = []
    mountain_col = _segment_column(frame, SEGMENTS["Mountain county"])
    for label, candidates in SEGMENTS.items():
        col = _segment_column(frame, candidates)
        if col is None:
            continue
        values = frame[col]
        if label in ("Mountain county", "Tech SME", "Green enterprise"):
            keys = values.map(_flag_label)
        else:
            keys = values.astype(object).where(values.notna(), "missing").astype(str)
        rows = []
        for k in sorted(keys.unique()):
            m = (keys == k).to_numpy()
            row = _segment_row(str(k), m, y, preds, cutoff_pd)
            if label == "County" and mountain_col is not None:
                row["mountain"] = bool(_flag_label(frame.loc[m, mountain_col].iloc[0]) == "yes")
            rows.append(row)
        if label == "County" and mountain_col is not None:
            rows.sort(key=lambda r: (r.get("mountain", False), r["value"]))
            mm = (frame[mountain_col].map(_flag_label) == "yes").to_numpy()
            rows.append(_segment_row("all mountain counties", mm, y, preds, cutoff_pd) | {"mountain": True,
                                                                                          "total": True})
            rows.append(_segment_row("all other counties", ~mm, y, preds, cutoff_pd) | {"mountain": False,
                                                                                        "total": True})
        tables.append({"label": label, "column": col, "rows": rows})
    return {"available": bool(tables), "tables": tables, "cutoff_pd": cutoff_pd,
            "overall_approval": float((preds["pd"] <= cutoff_pd).mean())}


def _segment_row(value: str, m: np.ndarray, y: pd.Series | None, preds: pd.DataFrame, cutoff_pd: float) -> dict:
    p = preds["pd"].to_numpy()[m]
    row = {"value": value, "n": int(m.sum()), "mean_pd": float(p.mean()) if len(p) else None,
           "approval": float((p <= cutoff_pd).mean()) if len(p) else None, "default_rate": None, "auc": None,
           "n_labelled": 0, "total": False, "mountain": False}
    if y is not None:
        yy = y.to_numpy()[m]
        lab = ~np.isnan(yy)
        row["n_labelled"] = int(lab.sum())
        if lab.any():
            row["default_rate"] = float(yy[lab].mean())
        if lab.sum() >= MIN_SEGMENT_AUC_ROWS and _both_classes(yy[lab]):
            row["auc"] = auc(yy[lab], p[lab])
            if min(yy[lab].sum(), (1 - yy[lab]).sum()) >= 2:
                row["auc_ci"] = auc_ci(yy[lab], p[lab])
    return row
