"""Reason codes: business-language text of the features that raised a PD most."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _describer():
    """``describe(name, value, lang)`` from the feature catalogue, or ``None`` if unavailable."""
    try:
        from smecredit.features.catalog import describe  # noqa: PLC0415 (optional, lower layer)
    except ImportError:
        return None
    return describe


def reason_text(name: str, value, describe=None) -> str:
    """Bilingual ``"English / 中文"`` text of one feature value; ``"<name> = <value>"`` when not catalogued.

    Examples
    --------
    >>> reason_text("Income", 1250.0, describe=None)
    'Income = 1250'
    """
    fallback = f"{name} = {_fmt(value)}"
    if describe is None:
        return fallback
    try:
        en = describe(name, value, lang="en")
        zh = describe(name, value, lang="zh")
    except (KeyError, ValueError, TypeError):
        return fallback
    if not en:
        return fallback
    return en if (not zh or zh == en) else f"{en} / {zh}"


def top_reasons(contrib: pd.DataFrame, X: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """Texts of the ``n`` features with the largest positive contributions (risk-raising) per row."""
    describe = _describer()
    vals = contrib.to_numpy(dtype="float64")
    cols = list(contrib.columns)
    k = min(n, vals.shape[1])
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    out = np.full((len(contrib), n), "", dtype=object)
    cache: dict = {}
    xv = {c: X[c].to_numpy() for c in cols}
    for i in range(len(contrib)):
        for r in range(k):
            j = order[i, r]
            if not vals[i, j] > 0:
                break
            c = cols[j]
            v = xv[c][i]
            key = (c, v if not (isinstance(v, float) and math.isnan(v)) else "__nan__")
            text = cache.get(key)
            if text is None:
                text = cache[key] = reason_text(c, v, describe)
            out[i, r] = text
    return pd.DataFrame(out, index=contrib.index, columns=[f"reason_{r + 1}" for r in range(n)])


def top_reasons_array(vals: np.ndarray, cols: list[str], X: pd.DataFrame, n: int = 3, index=None) -> pd.DataFrame:
    """:func:`top_reasons` on a contribution matrix ``vals`` (rows × ``cols``), vectorised.

    Same result: per row, the ``n`` largest positive contributions, ties broken by column order; each
    distinct (feature, value) is described once.
    """
    describe = _describer()
    vals = np.array(vals, dtype="float64", copy=True)
    m = len(vals)
    k = min(n, vals.shape[1]) if vals.ndim == 2 else 0
    out = np.full((m, n), "", dtype=object)
    rows = np.arange(m)
    for r in range(k):
        j = np.argmax(vals, axis=1)  # first maximum = stable descending order
        best = vals[rows, j]
        vals[rows, j] = -np.inf
        ok = best > 0
        for f in np.unique(j[ok]).tolist():
            sel = rows[ok & (j == f)]
            c = cols[f]
            v = X[c].to_numpy()[sel]
            texts = out[:, r]
            if v.dtype.kind == "f":
                nan = np.isnan(v)
                if nan.any():
                    texts[sel[nan]] = reason_text(c, float("nan"), describe)
                uniq, inv = np.unique(v[~nan], return_inverse=True)
                words = np.array([reason_text(c, float(u), describe) for u in uniq.tolist()], dtype=object)
                texts[sel[~nan]] = words[inv] if len(uniq) else texts[sel[~nan]]
            else:
                cache: dict = {}
                for i, x in zip(sel.tolist(), v.tolist(), strict=True):
                    key = "__nan__" if x is None or (isinstance(x, float) and math.isnan(x)) else x
                    t = cache.get(key)
                    if t is None:
                        t = cache[key] = reason_text(c, x, describe)
                    texts[i] = t
        # a row whose r-th reason is empty keeps the later ones empty too (as top_reasons does)
        vals[~ok] = -np.inf
    return pd.DataFrame(out, index=index if index is not None else X.index,
                        columns=[f"reason_{r + 1}" for r in range(n)])
