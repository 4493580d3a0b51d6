"""Section 5 of the governance report: calibration by grade (binomial / Jeffreys tests, Hosmer-Lemeshow)
and the grade distribution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.report import plots
from smecredit.report.sections.common import _both_classes
from smecredit.validation.clustered import hosmer_lemeshow_clustered
from smecredit.validation.metrics import grade_tests, hosmer_lemeshow
from smecredit.validation.report import grade_test_rules


def calibration_section(y: np.ndarray, p: np.ndarray, grades: np.ndarray, all_grades: np.ndarray, model, *,
                        clusters: np.ndarray | None = None, in_sample: bool = False,
                        exposure: np.ndarray | None = None) -> dict:
    """Per-grade binomial and Jeffreys tests (gated, Holm-corrected, clustered), Hosmer-Lemeshow, master scale.

    ``clusters`` (enterprise ids) make the grade tests use the design effect of repeated rows;
    ``in_sample`` says the rows are the model's training rows (Hosmer-Lemeshow with g - 2 df).
    """
    order = model.master_scale_.grades
    scale = model.master_scale_.table()
    counts = pd.Series(all_grades).astype(str).value_counts().reindex(order, fill_value=0)
    out = {"scale": scale.to_dict("records"),
           "distribution": [{"grade": g, "n": int(counts[g]), "share": float(counts[g] / max(counts.sum(), 1))}
                            for g in order],
           "distribution_plot": plots.bar_plot(order, (counts / max(counts.sum(), 1)).to_numpy(),
                                               title="Master-scale distribution", xlabel="Grade",
                                               ylabel="Share of rows")}
    out["max_share"] = float(counts.max() / max(counts.sum(), 1))
    shares = (counts / max(counts.sum(), 1)).to_numpy()
    out["hhi_rows"] = float(np.sum(shares ** 2))  # Herfindahl-Hirschman index over grades (1/n_grades .. 1)
    if exposure is not None and np.nansum(exposure) > 0:
        ex = pd.Series(np.nan_to_num(exposure, nan=0.0)).groupby(pd.Series(all_grades).astype(str).to_numpy()).sum()
        ex = ex.reindex(order, fill_value=0.0) / ex.sum()
        for d in out["distribution"]:
            d["exposure_share"] = float(ex[d["grade"]])
        out["hhi_exposure"] = float(np.sum(ex.to_numpy() ** 2))
        out["max_exposure_share"] = float(ex.max())
    if not _both_classes(y):
        out["available"] = False
        return out
    hl_clustered = hosmer_lemeshow_clustered(y, p, clusters, in_sample=in_sample)
    if clusters is not None and len(pd.unique(clusters)) == len(clusters):
        clusters = None  # one row per enterprise: nothing to correct
    tests = pd.DataFrame(grade_tests(y, p, grades, order=order, clusters=clusters))
    tests = tests[tests["n"] > 0].copy()
    tests["flag"] = tests["verdict"]
    out.update({"available": True, "grades": tests.to_dict("records"),
                "plot": plots.calibration_plot(tests), "hosmer_lemeshow": hosmer_lemeshow(y, p, in_sample=in_sample),
                "hosmer_lemeshow_clustered": hl_clustered,
                "mean_pd": float(p.mean()), "default_rate": float(y.mean()),
                "rules": grade_test_rules(clusters is not None),
                "deff": float(tests["deff"].iloc[0]) if len(tests) else 1.0,
                "n_insufficient": int((tests["verdict"] == "insufficient evidence").sum()),
                "n_flagged": int((tests["verdict"] == "PD too low").sum())})
    return out
