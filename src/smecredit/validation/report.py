"""The validation summary written to ``MODEL_DIR/validation.json`` and logged to MLflow."""

from __future__ import annotations

import numpy as np

from smecredit.validation.metrics import METRICS, bootstrap_ci, delong_test, grade_tests, hosmer_lemeshow


def validate_predictions(y, pd_values, grades, *, grade_order=None, n_boot: int = 500, random_state: int = 0,
                         benchmark: dict | None = None) -> dict:
    """Metrics with bootstrap 95 % CIs, Hosmer-Lemeshow, per-grade tests and an optional DeLong comparison.

    Parameters
    ----------
    benchmark : dict or None
        ``{"name": str, "pd": array}``: a second model's PD on the same rows, compared by DeLong.
    """
    y = np.asarray(y, dtype="float64")
    p = np.asarray(pd_values, dtype="float64")
    out = {
        "n": int(len(y)),
        "defaults": int(y.sum()),
        "default_rate": float(y.mean()),
        "mean_pd": float(p.mean()),
        "metrics": {name: bootstrap_ci(y, p, name, n_boot=n_boot, random_state=random_state) for name in METRICS},
        "hosmer_lemeshow": hosmer_lemeshow(y, p),
        "grades": grade_tests(y, p, grades, order=grade_order),
    }
    if benchmark is not None:
        out["delong"] = {"model": "this", "benchmark": benchmark["name"],
                         **delong_test(y, p, np.asarray(benchmark["pd"], dtype="float64"))}
    return out
