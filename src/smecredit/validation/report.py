"""The validation summary written to ``MODEL_DIR/validation.json`` and logged to MLflow."""

from __future__ import annotations

import numpy as np

from smecredit.validation.clustered import hosmer_lemeshow_clustered
from smecredit.validation.metrics import (ALPHA, METRICS, MIN_DEFAULTS, MIN_EXPECTED, bootstrap_ci, delong_test,
                                          grade_tests, hosmer_lemeshow)


def grade_test_rules(clustered: bool) -> dict:
    """How the per-grade tests were gated, corrected and clustered (stated in validation.json and the report)."""
    return {"min_defaults": MIN_DEFAULTS, "min_expected_defaults": MIN_EXPECTED, "alpha": ALPHA,
            "multiplicity": "Holm-Bonferroni over the grades passing the gate, per one-sided family",
            "verdict_test": "Jeffreys (PD too low), exact binomial lower tail (PD conservative)",
            "clustering": ("rows and defaults divided by the design effect of enterprise clusters"
                           if clustered else "rows treated as independent (one row per enterprise)")}


def validate_predictions(y, pd_values, grades, *, grade_order=None, n_boot: int = 500, random_state: int = 0,
                         benchmark: dict | None = None, clusters=None, in_sample: bool = False) -> dict:
    """Metrics with bootstrap 95 % CIs, Hosmer-Lemeshow, per-grade tests and an optional DeLong comparison.

    Parameters
    ----------
    benchmark : dict or None
        ``{"name": str, "pd": array}``: a second model's PD on the same rows, compared by DeLong.
    clusters : array-like or None
        Enterprise id per row when rows repeat (snapshot panels): per-grade tests use the design effect.
    in_sample : bool, default=False
        The rows are the model's training rows (Hosmer-Lemeshow with ``g - 2`` df instead of ``g``).
    """
    y = np.asarray(y, dtype="float64")
    p = np.asarray(pd_values, dtype="float64")
    out = {
        "n": int(len(y)),
        "defaults": int(y.sum()),
        "default_rate": float(y.mean()),
        "mean_pd": float(p.mean()),
        "metrics": {name: bootstrap_ci(y, p, name, n_boot=n_boot, random_state=random_state) for name in METRICS},
        "hosmer_lemeshow": hosmer_lemeshow(y, p, in_sample=in_sample),
        "hosmer_lemeshow_clustered": hosmer_lemeshow_clustered(y, p, clusters, in_sample=in_sample),
        "grades": grade_tests(y, p, grades, order=grade_order, clusters=clusters),
        "grade_test_rules": grade_test_rules(clusters is not None),
    }
    if benchmark is not None:
        out["delong"] = {"model": "this", "benchmark": benchmark["name"],
                         **delong_test(y, p, np.asarray(benchmark["pd"], dtype="float64"))}
    return out
