"""Section 4 of the governance report: discrimination (AUC, Gini, KS, Brier with bootstrap intervals; ROC
and KS plots).
"""

from __future__ import annotations

import numpy as np

from smecredit.report import plots
from smecredit.report.sections.common import ReportSettings, _both_classes, _ci


def discrimination_section(samples: dict[str, tuple[np.ndarray, np.ndarray]], settings: ReportSettings) -> dict:
    """AUC, Gini, KS and Brier with bootstrap CIs per sample; ROC and KS plots."""
    rows, curves = [], {}
    for label, (y, p) in samples.items():
        if not _both_classes(y):
            rows.append({"sample": label, "n": len(y), "defaults": int(np.sum(y)), "note": "needs both classes"})
            continue
        a, k, b = _ci(y, p, "auc", settings), _ci(y, p, "ks", settings), _ci(y, p, "brier", settings)
        rows.append({"sample": label, "n": len(y), "defaults": int(y.sum()), "auc": a, "ks": k, "brier": b,
                     "gini": {"value": 2 * a["value"] - 1, "ci_low": 2 * a["ci_low"] - 1,
                              "ci_high": 2 * a["ci_high"] - 1}})
        curves[label] = (y, p, a["value"])
    out = {"rows": rows, "available": bool(curves)}
    if curves:
        out["roc_plot"] = plots.roc_plot(curves)
        main = next(iter(curves))
        y, p, _ = curves[main]
        ks_value = next(r["ks"]["value"] for r in rows if r["sample"] == main)
        out["ks_plot"] = plots.ks_plot(y, p, ks_value)
        out["ks_sample"] = main
    return out
