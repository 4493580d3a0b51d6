"""Discrimination and calibration metrics of PD models: pure functions on arrays.

All functions take ``y`` (0/1 outcomes) and ``p`` (predicted PD or any risk score where
higher = riskier) and return plain floats or dicts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from smecredit.exceptions import ConfigError, DataContractError


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype="float64").ravel()
    p = np.asarray(p, dtype="float64").ravel()
    if y.shape != p.shape:
        raise DataContractError(f"y and p must have the same length; got {len(y)} and {len(p)}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataContractError("y must contain only 0 and 1")
    return y, p


def _midranks(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _class_counts(y: np.ndarray, metric: str) -> tuple[int, int]:
    """Numbers of bads and goods; an error naming ``metric`` when one class is absent."""
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise DataContractError(f"{metric} needs both classes in y")
    return n1, n0


def auc(y, p) -> float:
    """Area under the ROC curve (Mann-Whitney; ties count 1/2).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, p = _arrays(y, p)
    n1, n0 = _class_counts(y, "AUC")
    r = _midranks(p)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def gini(y, p) -> float:
    """Gini coefficient (accuracy ratio) = 2 AUC - 1.

    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    return 2.0 * auc(y, p) - 1.0


def ks(y, p) -> float:
    """Kolmogorov-Smirnov statistic: max distance between the score distributions of bads and goods.

    >>> ks([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    1.0
    """
    y, p = _arrays(y, p)
    n1, n0 = _class_counts(y, "KS")
    order = np.argsort(p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # evaluate the ECDFs after each distinct score
    cdf1 = np.cumsum(ys)[last] / n1
    cdf0 = np.cumsum(1 - ys)[last] / n0
    return float(np.max(np.abs(cdf1 - cdf0)))


def brier(y, p) -> float:
    """Brier score: mean squared error of the PD.

    >>> brier([0, 1], [0.0, 0.5])
    0.125
    """
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y, p, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the PD (clipped at ``eps``).

    >>> round(log_loss([0, 1], [0.5, 0.5]), 6)
    0.693147
    """
    y, p = _arrays(y, p)
    q = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


METRICS: dict[str, Callable] = {"auc": auc, "gini": gini, "ks": ks, "brier": brier, "log_loss": log_loss}


def bootstrap_ci(y, p, metric: Callable | str = "auc", *, n_boot: int = 500, level: float = 0.95,
                 random_state: int = 0) -> dict:
    """Point estimate and percentile bootstrap confidence interval of ``metric``.

    Resamples are stratified by class so every resample has both classes.

    >>> r = bootstrap_ci([0, 0, 1, 1] * 25, [0.1, 0.4, 0.35, 0.8] * 25, "auc", n_boot=200)
    >>> r["value"], r["ci_low"] <= 0.75 <= r["ci_high"]
    (0.75, True)
    """
    fn = METRICS[metric] if isinstance(metric, str) else metric
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1); got {level!r}")
    if not isinstance(n_boot, int) or n_boot < 10:
        raise ConfigError(f"n_boot must be an integer >= 10; got {n_boot!r}")
    y, p = _arrays(y, p)
    rng = np.random.default_rng(random_state)
    i1, i0 = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    vals = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(i1, len(i1)), rng.choice(i0, len(i0))])
        vals[b] = fn(y[idx], p[idx])
    a = (1 - level) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return {"value": float(fn(y, p)), "ci_low": float(lo), "ci_high": float(hi), "level": level, "n_boot": n_boot}


def hosmer_lemeshow(y, p, n_groups: int = 10) -> dict:
    """Hosmer-Lemeshow goodness-of-fit test over ``n_groups`` PD deciles (chi-square, ``n_groups - 2`` df).

    >>> r = hosmer_lemeshow([0, 1] * 50, [0.5] * 100, n_groups=2)
    >>> r["statistic"], r["p_value"]
    (0.0, 1.0)
    """
    y, p = _arrays(y, p)
    if not isinstance(n_groups, int) or n_groups < 2:
        raise ConfigError(f"n_groups must be an integer >= 2; got {n_groups!r}")
    order = np.argsort(p, kind="mergesort")
    groups = np.array_split(order, n_groups)
    stat = 0.0
    rows = []
    for g in groups:
        if len(g) == 0:
            continue
        obs, exp, n = y[g].sum(), p[g].sum(), len(g)
        pbar = exp / n
        denom = n * pbar * (1 - pbar)
        if denom > 0:
            stat += (obs - exp) ** 2 / denom
        rows.append({"n": int(n), "observed": int(obs), "expected": float(exp)})
    dof = max(len(rows) - 2, 1)
    return {"statistic": float(stat), "dof": dof, "p_value": float(stats.chi2.sf(stat, dof)), "groups": rows}


def binomial_test(n_defaults: int, n: int, pd_mean: float) -> float:
    """One-sided exact binomial p-value that defaults are not higher than the PD predicts.

    >>> round(binomial_test(5, 100, 0.02), 4)
    0.0508
    """
    if n == 0:
        return float("nan")
    return float(stats.binom.sf(n_defaults - 1, n, pd_mean))


def jeffreys_test(n_defaults: int, n: int, pd_mean: float) -> float:
    """Jeffreys test p-value (ECB): P(PD >= pd_mean) under the Beta(d + 1/2, n - d + 1/2) posterior.

    Small values mean the observed default rate is significantly above the PD.

    >>> round(jeffreys_test(5, 100, 0.02), 4)
    0.0286
    """
    if n == 0:
        return float("nan")
    return float(stats.beta.cdf(pd_mean, n_defaults + 0.5, n - n_defaults + 0.5))


def grade_tests(y, p, grades, order=None) -> list[dict]:
    """Per-grade count, defaults, mean PD, observed rate and binomial / Jeffreys p-values."""
    y, p = _arrays(y, p)
    g = np.asarray(grades).astype(str)
    labels = order or sorted(set(g), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    out = []
    for lab in labels:
        m = g == lab
        n = int(m.sum())
        if n == 0:
            out.append({"grade": lab, "n": 0})
            continue
        d, pdm = int(y[m].sum()), float(p[m].mean())
        out.append({"grade": lab, "n": n, "defaults": d, "pd_mean": pdm, "default_rate": d / n,
                    "binomial_p": binomial_test(d, n, pdm), "jeffreys_p": jeffreys_test(d, n, pdm)})
    return out


def _placements(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong structural components V10 (per positive) and V01 (per negative) via midranks."""
    m, n = len(pos), len(neg)
    allr = _midranks(np.concatenate([pos, neg]))
    rx, ry = _midranks(pos), _midranks(neg)
    v10 = (allr[:m] - rx) / n
    v01 = 1.0 - (allr[m:] - ry) / m
    return v10, v01


def delong_test(y, p1, p2) -> dict:
    """DeLong test of two correlated AUCs on the same rows (two-sided).

    Returns both AUCs, their difference, its standard error, z and p-value.

    >>> r = delong_test([0, 0, 1, 1, 0, 1], [0.1, 0.2, 0.8, 0.9, 0.3, 0.7], [0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    >>> r["auc_diff"], r["p_value"]
    (0.0, 1.0)
    """
    y, p1 = _arrays(y, p1)
    _, p2 = _arrays(y, p2)
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:
        raise DataContractError("DeLong test needs at least two rows of each class")
    v10 = np.empty((2, m))
    v01 = np.empty((2, n))
    for k, p in enumerate((p1, p2)):
        v10[k], v01[k] = _placements(p[pos], p[neg])
    aucs = v10.mean(axis=1)
    s = np.cov(v10) / m + np.cov(v01) / n
    var = float(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    diff = float(aucs[0] - aucs[1])
    if var <= 1e-18:
        z, pval = 0.0, 1.0
    else:
        z = diff / np.sqrt(var)
        pval = float(2 * stats.norm.sf(abs(z)))
    return {"auc_1": float(aucs[0]), "auc_2": float(aucs[1]), "auc_diff": diff, "se": float(np.sqrt(max(var, 0))),
            "z": float(z), "p_value": pval}
