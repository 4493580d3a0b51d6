"""Per-feature explanations of a :class:`~smecredit.models.CreditModel`.

* **GBM** (``kind == "gbm"``): SHAP values in log-odds of default. The model is a linear base
  plus LightGBM trees; the linear part of a feature is exact (coefficient × standardised
  value) and the tree part is the exact TreeSHAP value. Two implementations of TreeSHAP exist:
  LightGBM's native ``Booster.predict(pred_contrib=True)`` and shap's ``TreeExplainer``.
  :func:`compare_tree_methods` times both and checks that they agree to 1e-6;
  ``benchmarks/bench_report.py`` records both timings on 100k rows (benchmarks/README.md). The
  native one is faster and is the one used (it is also what ``CreditModel.contributions`` uses,
  so reports, scores and reason codes come from the same numbers).
* **Scorecard** (``kind == "scorecard"``): the exact points of each characteristic (they add
  up to the score) and the points lost against the characteristic's best bin (higher = riskier).

Reason codes are never recomputed here: :func:`reason_codes` returns the ``reason_1..3``
columns of ``CreditModel.predict``, so ``smecredit score``, the MLflow pyfunc and the report
show identical texts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, SmeCreditError

log = logging.getLogger(__name__)

TREE_METHOD = "native"  # LightGBM pred_contrib; see compare_tree_methods and benchmarks/README.md
AGREEMENT_TOL = 1e-6
REASON_COLUMNS = ["reason_1", "reason_2", "reason_3"]


@dataclass
class Explanation:
    """Per-row, per-feature contributions of a model's prediction.

    Attributes
    ----------
    kind : str
        ``"gbm"`` or ``"scorecard"``.
    unit : str
        ``"log-odds"`` (GBM) or ``"points lost"`` (scorecard).
    values : DataFrame
        One column per model feature; higher = riskier.
    base : ndarray
        GBM: bias per row (``values.sum(1) + base`` = raw log-odds). Scorecard: best possible score.
    data : DataFrame
        The typed feature values the model saw.
    points : DataFrame or None
        Scorecard only: the points of each selected characteristic (they add up to the score).
    """

    kind: str
    unit: str
    values: pd.DataFrame
    base: np.ndarray
    data: pd.DataFrame
    points: pd.DataFrame | None = field(default=None)


def explain(model, X: pd.DataFrame) -> Explanation:
    """Explain ``model``'s predictions on ``X`` (see the module docstring).

    ``X`` is not modified; missing feature columns raise :class:`DataContractError`.
    """
    Xf = model.prepare(X, source="explained data")
    if model.kind == "gbm":
        contrib, bias = model.estimator_.contributions(Xf)
        values = contrib[model.feature_names_]
        return Explanation("gbm", "log-odds", values, np.asarray(bias, dtype="float64"), Xf)
    if model.kind == "scorecard":
        est = model.estimator_
        points = est.points(Xf)
        lost = est.points_lost(Xf)
        values = pd.DataFrame(0.0, index=Xf.index, columns=model.feature_names_)
        values[lost.columns] = lost.to_numpy()
        best = float(sum(est.best_points_.values()))
        return Explanation("scorecard", "points lost", values, np.full(len(Xf), best), Xf, points)
    raise ConfigError(f"cannot explain a model of kind {model.kind!r}; expected 'gbm' or 'scorecard'")


def reason_codes(model, X: pd.DataFrame) -> pd.DataFrame:
    """The model's own reason codes (``reason_1..3`` of ``CreditModel.predict``) for ``X``."""
    return model.predict(X)[REASON_COLUMNS]


def global_importance(expl: Explanation) -> pd.DataFrame:
    """Mean absolute contribution of each feature, largest first.

    Returns
    -------
    DataFrame
        Columns ``feature, mean_abs, mean, share`` (``share`` of the total mean absolute contribution).
    """
    v = expl.values
    mean_abs = v.abs().mean(axis=0)
    total = float(mean_abs.sum())
    out = pd.DataFrame({"feature": v.columns, "mean_abs": mean_abs.to_numpy(), "mean": v.mean(axis=0).to_numpy(),
                        "share": (mean_abs / total).to_numpy() if total > 0 else np.zeros(len(mean_abs))})
    return out.sort_values(["mean_abs", "feature"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def local_explanations(expl: Explanation, rows, *, top: int = 5, describe=None) -> list[list[dict]]:
    """The ``top`` largest risk-raising and risk-lowering contributions of the given row positions.

    Parameters
    ----------
    expl : Explanation
    rows : sequence of int
        Row positions in ``expl.values``.
    top : int, default=5
    describe : callable or None
        ``describe(name, value) -> str`` business text of a feature value (e.g. the models'
        ``reason_text``); ``None`` shows ``name = value``.

    Returns
    -------
    list of list of dict
        Per row, entries ``feature, value, text, contribution`` sorted by absolute contribution.
    """
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ConfigError(f"top must be an integer >= 1; got {top!r}")
    vals = expl.values.to_numpy(dtype="float64")
    cols = list(expl.values.columns)
    out = []
    for i in rows:
        order = np.argsort(-np.abs(vals[i]), kind="stable")[:top]
        entries = []
        for j in order:
            c = cols[j]
            v = expl.data[c].iloc[i]
            text = describe(c, v) if describe is not None else f"{c} = {v}"
            entries.append({"feature": c, "value": v, "text": text, "contribution": float(vals[i, j])})
        out.append(entries)
    return out


@dataclass(frozen=True)
class TreeMethodComparison:
    """Timings and agreement of LightGBM ``pred_contrib`` and shap ``TreeExplainer`` on one sample."""

    n_rows: int
    n_features: int
    native_seconds: float
    shap_seconds: float
    max_abs_diff: float
    max_base_diff: float

    @property
    def faster(self) -> str:
        return "native" if self.native_seconds <= self.shap_seconds else "shap"


def compare_tree_methods(booster, X_lgb: pd.DataFrame, *, tol: float = AGREEMENT_TOL) -> TreeMethodComparison:
    """Time LightGBM's native TreeSHAP and shap's ``TreeExplainer`` on ``X_lgb``; check they agree.

    Parameters
    ----------
    booster : lightgbm.Booster
    X_lgb : DataFrame
        Rows in the booster's input format (numeric columns, pandas categoricals).
    tol : float, default=1e-6
        Largest allowed absolute difference of any SHAP value or base value.

    Raises
    ------
    SmeCreditError
        The two implementations disagree by more than ``tol``.
    """
    import shap  # slow import (numba); only needed here

    t0 = time.perf_counter()
    native = booster.predict(X_lgb, pred_contrib=True)
    t1 = time.perf_counter()
    explainer = shap.TreeExplainer(booster)
    values = np.asarray(explainer.shap_values(X_lgb), dtype="float64")
    t2 = time.perf_counter()
    if values.ndim == 3:  # older shap: one array per class
        values = values[..., -1]
    base = np.asarray(explainer.expected_value, dtype="float64").reshape(-1)[-1]
    diff = float(np.max(np.abs(native[:, :-1] - values))) if values.size else 0.0
    base_diff = float(np.max(np.abs(native[:, -1] - base))) if len(native) else 0.0
    result = TreeMethodComparison(len(X_lgb), values.shape[1] if values.ndim == 2 else 0, t1 - t0, t2 - t1,
                                  diff, base_diff)
    log.info("TreeSHAP on %d rows: native %.3f s, shap %.3f s, max |diff| %.2e", len(X_lgb),
             result.native_seconds, result.shap_seconds, diff)
    if diff > tol or base_diff > tol:
        raise SmeCreditError(
            f"LightGBM pred_contrib and shap TreeExplainer disagree: max |diff| {diff:.3g} "
            f"(base {base_diff:.3g}) > tolerance {tol}"
        )
    return result
