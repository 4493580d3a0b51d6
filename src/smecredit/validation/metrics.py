"""Discrimination and calibration metrics of PD models: pure functions on arrays.

All functions take ``y`` (0/1 outcomes) and ``p`` (predicted PD or any risk score where
higher = riskier) and return plain floats or dicts. They check the inputs (project errors
naming the problem) and then call the libraries that have the metric: AUC as the Mann-Whitney
statistic of :func:`scipy.stats.mannwhitneyu` (equal to :func:`sklearn.metrics.roc_auc_score`,
twice as fast in the bootstrap), Brier score and log loss from :mod:`sklearn.metrics`, KS from
:func:`scipy.stats.ks_2samp`, the exact binomial test from :func:`scipy.stats.binomtest`; the
report's ROC curve is :func:`sklearn.metrics.roc_curve`. What no library offers here stays written out: DeLong's
test and confidence interval, Hosmer-Lemeshow, the Jeffreys test and the per-grade tests on
cluster-effective counts.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real

import numpy as np
from scipy import special, stats
from sklearn import metrics as skm

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
    # AUC = Mann-Whitney U / (n1 n0): equal to sklearn.metrics.roc_auc_score (a test checks), and about twice
    # as fast, which the bootstrap intervals (hundreds of resamples per figure) need
    u = stats.mannwhitneyu(p[y == 1], p[y == 0], use_continuity=False, method="asymptotic").statistic
    return float(u / (n1 * n0))


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
    _class_counts(y, "KS")
    # the two-sample statistic sup |F_bad - F_good|; the asymptotic method skips the (unused) exact p-value
    return float(stats.ks_2samp(p[y == 1], p[y == 0], method="asymp").statistic)


def brier(y, p) -> float:
    """Brier score: mean squared error of the PD.

    >>> brier([0, 1], [0.0, 0.5])
    0.125
    """
    y, p = _arrays(y, p)
    return float(skm.brier_score_loss(y, p, pos_label=1))


def log_loss(y, p, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the PD (clipped at ``eps``).

    >>> round(log_loss([0, 1], [0.5, 0.5]), 6)
    0.693147
    """
    y, p = _arrays(y, p)
    return float(skm.log_loss(y, np.clip(p, eps, 1 - eps), labels=[0, 1]))


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


def hosmer_lemeshow(y, p, n_groups: int = 10, *, in_sample: bool = False) -> dict:
    """Hosmer-Lemeshow goodness-of-fit test over ``n_groups`` PD deciles (chi-square).

    Degrees of freedom: ``g`` (the number of non-empty groups) when the PDs are tested on data the
    model was not fitted on (out-of-sample / out-of-time, the default), ``g - 2`` on the model's
    own training rows (Hosmer & Lemeshow: two parameters are estimated from the same data).

    >>> r = hosmer_lemeshow([0, 1] * 50, [0.5] * 100, n_groups=2)
    >>> r["statistic"], r["p_value"], r["dof"]
    (0.0, 1.0, 2)
    >>> hosmer_lemeshow([0, 1] * 50, [0.5] * 100, n_groups=4, in_sample=True)["dof"]
    2
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
    g = len(rows)
    dof = max(g - 2, 1) if in_sample else g
    return {"statistic": float(stat), "dof": dof, "p_value": float(stats.chi2.sf(stat, dof)), "groups": rows,
            "sample": "in-sample" if in_sample else "out-of-sample",
            "dof_rule": "g - 2 (in-sample)" if in_sample else "g (out-of-sample)"}


def binomial_test(n_defaults: int, n: int, pd_mean: float) -> float:
    """One-sided exact binomial p-value that defaults are not higher than the PD predicts.

    >>> round(binomial_test(5, 100, 0.02), 4)
    0.0508
    """
    if n == 0:
        return float("nan")
    return float(stats.binomtest(int(n_defaults), int(n), float(pd_mean), alternative="greater").pvalue)


def jeffreys_test(n_defaults: int, n: int, pd_mean: float) -> float:
    """Jeffreys test p-value (ECB): P(PD >= pd_mean) under the Beta(d + 1/2, n - d + 1/2) posterior.

    Small values mean the observed default rate is significantly above the PD.

    >>> round(jeffreys_test(5, 100, 0.02), 4)
    0.0286
    """
    if n == 0:
        return float("nan")
    return float(stats.beta.cdf(pd_mean, n_defaults + 0.5, n - n_defaults + 0.5))


MIN_DEFAULTS = 5
"""Default gate of the per-grade tests: fewer (effective) observed defaults than this cannot support a
"PD too low" finding."""
MIN_EXPECTED = 5.0
"""Default gate of the per-grade tests: fewer (effective) expected defaults than this cannot support a
"PD conservative" finding (nor does a grade with both counts below the gates get any verdict)."""
ALPHA = 0.05
"""Family-wise significance level of the per-grade tests (after Holm's correction)."""
VERDICTS = ("PD too low", "PD conservative", "consistent", "insufficient evidence")


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error rate); NaNs are left out of the family.

    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="mergesort")]
    adj = np.maximum.accumulate(np.minimum((m - np.arange(m)) * p[order], 1.0))
    out[order] = adj
    return out


def design_effect(y, p, clusters) -> float:
    """Design effect of clustered rows: cluster-robust over naive variance of the sum of ``y - p``.

    ``deff = sum_c (sum_{i in c} (y_i - p_i))^2 / sum_i (y_i - p_i)^2``, floored at 1. Rows of the same
    enterprise in overlapping snapshots share one default event, so they carry less evidence than
    independent rows; the per-grade tests divide rows and defaults by ``deff`` (Kish effective
    sample size). ``deff`` equals ``k`` exactly when every row is repeated ``k`` times.

    >>> design_effect([1, 1, 0, 0], [0.5] * 4, ["a", "a", "b", "b"])
    2.0
    >>> design_effect([1, 0, 1, 0], [0.5] * 4, ["a", "b", "c", "d"])
    1.0
    """
    y, p = _arrays(y, p)
    c = np.asarray(clusters)
    if c.shape[0] != y.shape[0]:
        raise DataContractError(f"clusters must have one entry per row; got {c.shape[0]} for {len(y)} rows")
    r = y - p
    naive = float(np.sum(r ** 2))
    if naive <= 0:
        return 1.0
    _, inv = np.unique(c.astype(str), return_inverse=True)
    robust = float(np.sum(np.bincount(inv, weights=r) ** 2))
    return max(1.0, robust / naive)


def _binom_sf(d: float, n: float, q: float) -> float:
    """P(D >= d) for D ~ Binomial(n, q), continued to real d and n (regularised incomplete beta)."""
    if d <= 0:
        return 1.0
    if d > n:
        return 0.0
    return float(special.betainc(d, n - d + 1, q))


def _binom_cdf(d: float, n: float, q: float) -> float:
    """P(D <= d) for D ~ Binomial(n, q), continued to real d and n."""
    if d >= n:
        return 1.0
    return float(special.betainc(n - d, d + 1, 1 - q))


def grade_tests(y, p, grades, order=None, *, clusters=None, min_defaults: float = MIN_DEFAULTS,
                min_expected: float = MIN_EXPECTED, alpha: float = ALPHA) -> list[dict]:
    """Per-grade calibration tests with an evidence gate, Holm correction and clustered rows.

    For each grade: rows ``n``, observed ``defaults``, mean PD, observed rate, expected defaults
    (sum of PDs), the one-sided exact binomial and Jeffreys p-values that the PD is too low and the
    binomial p-value that it is too high (``conservative_p``). With ``clusters`` (e.g. enterprise
    ids of a snapshot panel) the rows and defaults of every grade are divided by the sample's
    :func:`design_effect` before testing (``n_eff``, ``defaults_eff``).

    ``verdict``:

    * ``"insufficient evidence"`` — fewer than ``min_defaults`` effective defaults *and* fewer than
      ``min_expected`` effective expected defaults: the grade is not judged either way;
    * ``"PD too low"`` — Holm-adjusted Jeffreys p (``jeffreys_p_holm``) below ``alpha`` with at least
      ``min_defaults`` effective defaults;
    * ``"PD conservative"`` — Holm-adjusted ``conservative_p`` below ``alpha`` with at least
      ``min_expected`` effective expected defaults;
    * ``"consistent"`` otherwise.

    Holm's correction runs over the grades that pass the gate, separately for each one-sided
    family (``m_tests`` says how many).
    """
    y, p = _arrays(y, p)
    g = np.asarray(grades).astype(str)
    if not (isinstance(min_defaults, Real) and min_defaults >= 0 and isinstance(min_expected, Real)
            and min_expected >= 0):
        raise ConfigError(f"min_defaults and min_expected must be numbers >= 0; got {min_defaults!r}, "
                          f"{min_expected!r}")
    if not (isinstance(alpha, Real) and 0 < alpha < 1):
        raise ConfigError(f"alpha must be in (0, 1); got {alpha!r}")
    deff = 1.0 if clusters is None else design_effect(y, p, clusters)
    labels = order or sorted(set(g), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    out = []
    for lab in labels:
        m = g == lab
        n = int(m.sum())
        if n == 0:
            out.append({"grade": lab, "n": 0})
            continue
        d, pdm = int(y[m].sum()), float(p[m].mean())
        ne, de = n / deff, d / deff
        row = {"grade": lab, "n": n, "defaults": d, "pd_mean": pdm, "default_rate": d / n,
               "expected_defaults": float(p[m].sum()), "deff": deff, "n_eff": ne, "defaults_eff": de,
               "binomial_p": _binom_sf(de, ne, pdm), "jeffreys_p": jeffreys_test(de, ne, pdm),
               "conservative_p": _binom_cdf(de, ne, pdm)}
        row["gate_low"] = de >= min_defaults
        row["gate_high"] = ne * pdm >= min_expected
        out.append(row)
    tested = [r for r in out if r["n"] > 0]
    low = holm([r["jeffreys_p"] if r["gate_low"] else np.nan for r in tested])
    low_b = holm([r["binomial_p"] if r["gate_low"] else np.nan for r in tested])
    high = holm([r["conservative_p"] if r["gate_high"] else np.nan for r in tested])
    m_low, m_high = int(np.sum(~np.isnan(low))), int(np.sum(~np.isnan(high)))
    for r, a, b, c in zip(tested, low, low_b, high, strict=True):
        r.update({"jeffreys_p_holm": float(a), "binomial_p_holm": float(b), "conservative_p_holm": float(c),
                  "m_tests": {"too_low": m_low, "conservative": m_high}})
        if not (r["gate_low"] or r["gate_high"]):
            r["verdict"] = "insufficient evidence"
        elif r["gate_low"] and a < alpha:
            r["verdict"] = "PD too low"
        elif r["gate_high"] and c < alpha:
            r["verdict"] = "PD conservative"
        else:
            r["verdict"] = "consistent"
    return out


def _placements(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong structural components V10 (per positive) and V01 (per negative) via midranks."""
    m, n = len(pos), len(neg)
    allr = _midranks(np.concatenate([pos, neg]))
    rx, ry = _midranks(pos), _midranks(neg)
    v10 = (allr[:m] - rx) / n
    v01 = 1.0 - (allr[m:] - ry) / m
    return v10, v01


def auc_ci(y, p, level: float = 0.95) -> dict:
    """AUC with a DeLong (asymptotic) confidence interval, clipped to [0, 1]; fast, no resampling.

    >>> r = auc_ci([0, 0, 1, 1, 0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.3, 0.7])
    >>> r["value"], r["ci_low"] <= r["value"] <= r["ci_high"]
    (0.9375, True)
    """
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1); got {level!r}")
    y, p = _arrays(y, p)
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:
        raise DataContractError("the AUC confidence interval needs at least two rows of each class")
    v10, v01 = _placements(p[pos], p[neg])
    value = float(v10.mean())
    se = float(np.sqrt(max(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n, 0.0)))
    z = float(stats.norm.ppf(0.5 + level / 2))
    return {"value": value, "ci_low": max(0.0, value - z * se), "ci_high": min(1.0, value + z * se), "se": se,
            "level": level, "method": "DeLong"}


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
