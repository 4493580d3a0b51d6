"""Outlier policy of a :class:`~smecredit.models.credit_model.CreditModel`: caps learned on the training data.

Every numeric model feature with more than :data:`MIN_DISTINCT` distinct training values is
**winsorised** at its training quantiles ``tail`` and ``1 − tail`` (default 0.1 % / 99.9 %): a value
below the low cap is replaced by the low cap, above the high cap by the high cap; missing values stay
missing. Binary flags, small counts (≤ :data:`MIN_DISTINCT` distinct values), ``True``/``False`` features
and categorical features are not capped. The caps are learned once, in :func:`fit_credit_model`, applied
to the training rows before the estimator is fitted, saved with the model (``model.json`` →
``outlier_caps``) and applied identically by :meth:`CreditModel.prepare` to every row scored afterwards —
the batch job, the monthly job, the Spark job, the MLflow pyfunc and the decisions all score through it.

Effect, measured on the demo city (docs/governance.md, "Outlier caps"): optbinning's bins are set by
pre-bins of at least 5 % of the rows, so the scorecard is unchanged by 0.1 % caps; the GBM's linear base
already winsorised at the same quantiles; the trees can move where a split fell in the outermost 0.1 %
(LightGBM's histogram bins of the tails). What the caps add is a stated, per-feature, saved guarantee: a
value far beyond the training range (an electricity use up 1859 % in a month) is scored exactly like the
cap, whatever model kind, and the number of capped values is reported.

A model saved before the caps existed has none (``outlier_caps_ == {}``) and scores as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_TAIL = 0.001
MIN_DISTINCT = 10  # features with at most this many distinct training values are not capped
RULE = "winsorised at the training {lo:g} % / {hi:g} % quantiles"


def learn_caps(X: pd.DataFrame, feature_types: dict[str, str], tail: float | None = DEFAULT_TAIL,
               bool_features=()) -> dict:
    """The outlier policy learned on the (typed) training features ``X``.

    Returns ``{"tail": tail, "caps": {feature: [low, high]}, "train_capped": {feature: [n_low, n_high]},
    "not_capped": {feature: reason}}``; an empty policy (no caps) when ``tail`` is ``None`` or 0.
    """
    if tail is None or tail == 0:
        return {"tail": 0.0, "caps": {}, "train_capped": {}, "not_capped": {}}
    tail = float(tail)
    if not 0 < tail < 0.5:
        from smecredit.exceptions import ConfigError

        raise ConfigError(f"outlier tail must be in (0, 0.5); got {tail!r}")
    caps, capped, skipped = {}, {}, {}
    bools = set(bool_features or ())
    for f, t in feature_types.items():
        if t != "numeric":
            skipped[f] = "categorical"
            continue
        if f in bools:
            skipped[f] = "true/false"
            continue
        v = pd.to_numeric(X[f], errors="coerce").to_numpy(dtype="float64")
        v = v[np.isfinite(v)]
        if len(np.unique(v)) <= MIN_DISTINCT:
            skipped[f] = f"at most {MIN_DISTINCT} distinct values"
            continue
        lo, hi = np.quantile(v, [tail, 1 - tail])
        caps[f] = [float(lo), float(hi)]
        capped[f] = [int(np.sum(v < lo)), int(np.sum(v > hi))]
    return {"tail": tail, "caps": caps, "train_capped": capped, "not_capped": skipped}


def apply_caps(Xf: pd.DataFrame, caps: dict[str, list]) -> pd.DataFrame:
    """``Xf`` with each capped column clipped to its ``[low, high]`` (a new frame when anything is capped)."""
    if not caps:
        return Xf
    out = Xf.copy()
    for f, (lo, hi) in caps.items():
        if f in out.columns:
            col = out[f]
            if pd.api.types.is_bool_dtype(col.dtype):
                continue
            out[f] = col.astype("float64").clip(lower=lo, upper=hi)
    return out


def count_capped(Xf: pd.DataFrame, caps: dict[str, list]) -> dict[str, dict[str, int]]:
    """``{feature: {"low": n, "high": n, "rows": n_non_missing}}`` of the values the caps change in ``Xf``."""
    out = {}
    for f, (lo, hi) in caps.items():
        if f not in Xf.columns:
            continue
        v = pd.to_numeric(Xf[f], errors="coerce").to_numpy(dtype="float64")
        ok = ~np.isnan(v)
        out[f] = {"low": int(np.sum(v[ok] < lo)), "high": int(np.sum(v[ok] > hi)), "rows": int(ok.sum())}
    return out


def rule_text(tail: float) -> str:
    return RULE.format(lo=100 * tail, hi=100 * (1 - tail))
