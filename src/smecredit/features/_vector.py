"""Vectorised helpers of the feature families (rows = enterprises, columns = months): NaN-aware row
statistics, ratios, trends and per-enterprise group reductions. Pure NumPy, no I/O."""

from __future__ import annotations

import numpy as np


def nan_count(x: np.ndarray) -> np.ndarray:
    """Number of non-missing months per row."""
    return np.sum(~np.isnan(x), axis=1).astype(np.float64)


def nan_sum(x: np.ndarray) -> np.ndarray:
    """Row sums ignoring NaN; NaN for rows without any value."""
    out = np.nansum(x, axis=1)
    out[nan_count(x) == 0] = np.nan
    return out


def nan_mean(x: np.ndarray) -> np.ndarray:
    cnt = nan_count(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.nansum(x, axis=1) / cnt
    out[cnt == 0] = np.nan
    return out


def nan_max(x: np.ndarray) -> np.ndarray:
    cnt = nan_count(x)
    out = np.max(np.where(np.isnan(x), -np.inf, x), axis=1)
    out[cnt == 0] = np.nan
    return out


def nan_std(x: np.ndarray) -> np.ndarray:
    """Population standard deviation per row (NaN with fewer than two values)."""
    cnt = nan_count(x)
    mean = nan_mean(x)
    with np.errstate(invalid="ignore"):
        dev = np.where(np.isnan(x), 0.0, x - mean[:, None])
        out = np.sqrt(np.sum(dev * dev, axis=1) / cnt)
    out[cnt < 2] = np.nan
    return out


THREE_YEARS_DAYS = 1096  # look-back of the multi-year averages of annual grades


def mean_per_group(codes: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per enterprise code (NaN values ignored; NaN when the enterprise has none)."""
    ok = ~np.isnan(values)
    cnt = np.bincount(codes[ok], minlength=n).astype(np.float64)
    tot = np.bincount(codes[ok], weights=values[ok], minlength=n)
    out = np.full(n, np.nan)
    np.divide(tot, cnt, out=out, where=cnt > 0)
    return out


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where the denominator is zero or missing."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den != 0) & np.isfinite(num)
    np.divide(num, den, out=out, where=ok)
    return out


def cv(x: np.ndarray) -> np.ndarray:
    """Coefficient of variation per row (std / mean; NaN when the mean is 0 or < 3 values)."""
    out = safe_ratio(nan_std(x), nan_mean(x))
    out[nan_count(x) < 3] = np.nan
    return out


def rel_slope(x: np.ndarray) -> np.ndarray:
    """Least-squares trend of each row per month, relative to the row mean (NaN with < 3 values)."""
    t = np.arange(x.shape[1], dtype=np.float64)[None, :]
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = np.where(ok, t, 0.0).sum(axis=1) / cnt
        x_mean = np.where(ok, x, 0.0).sum(axis=1) / cnt
        dt_ = np.where(ok, t - t_mean[:, None], 0.0)
        dx = np.where(ok, x - x_mean[:, None], 0.0)
        slope = (dt_ * dx).sum(axis=1) / (dt_ * dt_).sum(axis=1)
    out = safe_ratio(slope, x_mean)
    out[cnt < 3] = np.nan
    return out


def bincount(codes: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-enterprise count (or weighted sum) of rows."""
    return np.bincount(codes, weights=weights, minlength=n).astype(np.float64)


def group_max(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-enterprise maximum of ``values`` (NaN for enterprises without rows)."""
    out = np.full(n, -np.inf)
    ok = ~np.isnan(values)
    np.maximum.at(out, codes[ok], values[ok])
    out[np.isinf(out)] = np.nan
    return out


def last_per_group(codes: np.ndarray, order_keys: list[np.ndarray], n: int, values: np.ndarray,
                   fill: float = np.nan) -> np.ndarray:
    """Value of the last row per enterprise, rows ordered by ``order_keys`` (last key primary)."""
    out = np.full(n, fill, dtype=np.float64)
    if codes.size == 0:
        return out
    order = np.lexsort([*order_keys, codes])
    c = codes[order]
    last = np.r_[c[1:] != c[:-1], True]
    out[c[last]] = values[order][last]
    return out
