"""Population stability: PSI of scores, grades and features, and grade migration.

The population stability index compares the distribution of a variable in a *reference*
sample (the model's training data) with an *actual* sample (the data being scored or
reported on)::

    PSI = sum_i (a_i - r_i) * ln(a_i / r_i)

over bins ``i``, where ``r_i`` and ``a_i`` are the shares of the reference and actual rows in
bin ``i``. Bins always come from the reference data: quantile bins of a numeric variable
(missing values in a bin of their own), the levels of a categorical variable (plus one bin
for levels never seen in the reference, and one for missing values). The index itself is
:func:`smecredit.psi.psi_terms`, the one PSI of the project: a share below ``eps`` (1e-4) is
floored at ``eps`` so that the index stays finite, and bins empty in both samples are left out.

Industry rule of thumb (not regulation): PSI < 0.10 stable, 0.10–0.25 monitor, > 0.25 shift.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.psi import psi_terms

log = logging.getLogger(__name__)

PSI_MONITOR = 0.10
PSI_SHIFT = 0.25
MISSING_BIN = "missing"
UNSEEN_BIN = "other (unseen in reference)"


def psi_status(value: float) -> str:
    """Verbal status of a PSI value: ``stable`` (< 0.10), ``monitor`` (0.10–0.25) or ``shift`` (> 0.25).

    Examples
    --------
    >>> psi_status(0.02), psi_status(0.12), psi_status(0.4)
    ('stable', 'monitor', 'shift')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    if value < PSI_MONITOR:
        return "stable"
    if value <= PSI_SHIFT:
        return "monitor"
    return "shift"


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, Integral) or bins < 2:
        raise ConfigError(f"bins must be an integer >= 2; got {bins!r}")


def _check_eps(eps: float) -> None:
    if not isinstance(eps, Real) or not 0 < eps < 0.01:
        raise ConfigError(f"eps must be a number in (0, 0.01); got {eps!r}")


def _is_numeric(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype))


def numeric_edges(reference, bins: int = 10) -> np.ndarray:
    """Inner bin edges of a numeric variable: distinct quantiles of the reference values.

    Examples
    --------
    >>> numeric_edges(np.arange(100.0), bins=4).tolist()
    [24.75, 49.5, 74.25]
    """
    _check_bins(bins)
    v = np.asarray(reference, dtype="float64")
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.array([], dtype="float64")
    qs = np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(qs)


def _numeric_labels(edges: np.ndarray) -> list[str]:
    if len(edges) == 0:
        return ["all values"]
    fmt = [f"{e:.4g}" for e in edges]
    labels = [f"<= {fmt[0]}"]
    labels += [f"({a}, {b}]" for a, b in zip(fmt[:-1], fmt[1:], strict=True)]
    labels.append(f"> {fmt[-1]}")
    return labels


def _numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    miss = np.isnan(v)
    # bins (-inf, e0], (e0, e1], ...: a value equal to an edge stays below it, so a heavily tied
    # value (e.g. the zeros of an event count) gets a bin of its own
    idx = np.searchsorted(edges, v[~miss], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype("float64")
    return np.r_[counts, miss.sum()]


def _categorical_counts(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    s = pd.Series(values).astype(object)
    miss = s.isna().to_numpy()
    txt = s[~miss].astype(str)
    vc = txt.value_counts()
    known = np.array([float(vc.get(level, 0)) for level in levels])
    unseen = float(len(txt) - known.sum())
    return np.r_[known, unseen, miss.sum()]


def psi_table(reference, actual, *, bins: int = 10, categorical: bool | None = None,
              eps: float = 1e-4) -> pd.DataFrame:
    """Bin-level PSI table of one variable (bins from ``reference``).

    Parameters
    ----------
    reference, actual : array-like
        Values of the variable in the reference (training) and actual samples.
    bins : int, default=10
        Number of quantile bins of a numeric variable (fewer when quantiles coincide).
    categorical : bool or None
        Treat the variable as categorical; ``None`` decides from the reference dtype.
    eps : float, default=1e-4
        Share given to empty bins (keeps the logarithm finite).

    Returns
    -------
    DataFrame
        Columns ``bin, ref_count, act_count, ref_share, act_share, psi`` (one row per bin;
        bins empty in both samples are left out).

    Raises
    ------
    DataContractError
        The reference or actual sample is empty.
    """
    _check_bins(bins)
    _check_eps(eps)
    ref = pd.Series(reference) if not isinstance(reference, pd.Series) else reference
    act = pd.Series(actual) if not isinstance(actual, pd.Series) else actual
    if len(ref) == 0 or len(act) == 0:
        raise DataContractError(
            f"PSI needs rows in both samples; got {len(ref)} reference and {len(act)} actual rows"
        )
    if categorical is None:
        categorical = not _is_numeric(ref)
    if categorical:
        levels = sorted(ref.dropna().astype(str).unique().tolist())
        labels = levels + [UNSEEN_BIN, MISSING_BIN]
        rc, ac = _categorical_counts(ref, levels), _categorical_counts(act, levels)
    else:
        edges = numeric_edges(ref.to_numpy(dtype="float64", na_value=np.nan), bins)
        labels = _numeric_labels(edges) + [MISSING_BIN]
        rc = _numeric_counts(ref.to_numpy(dtype="float64", na_value=np.nan), edges)
        ac = _numeric_counts(act.to_numpy(dtype="float64", na_value=np.nan), edges)
    keep = (rc + ac) > 0
    table = pd.DataFrame({
        "bin": labels, "ref_count": rc.astype("int64"), "act_count": ac.astype("int64"),
        "ref_share": rc / rc.sum(), "act_share": ac / ac.sum(), "psi": psi_terms(rc, ac, eps=eps),
    })
    return table[keep].reset_index(drop=True)


def psi(reference, actual, *, bins: int = 10, categorical: bool | None = None, eps: float = 1e-4) -> float:
    """Population stability index of one variable (see the module docstring).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=5000)
    >>> psi(a, rng.normal(size=5000)) < 0.01, psi(a, rng.normal(1.0, size=5000)) > 0.25
    (True, True)
    """
    return float(psi_table(reference, actual, bins=bins, categorical=categorical, eps=eps)["psi"].sum())


def feature_psi(reference: pd.DataFrame, actual: pd.DataFrame, features: Iterable[str], *,
                bins: int = 10) -> pd.DataFrame:
    """PSI of each feature, sorted by PSI (largest first).

    Returns
    -------
    DataFrame
        Columns ``feature, psi, status, ref_missing, act_missing`` (missing shares).

    Raises
    ------
    DataContractError
        A feature is absent from one of the frames (names the frame and the columns).
    """
    features = list(features)
    for label, frame in (("reference", reference), ("actual", actual)):
        absent = [f for f in features if f not in frame.columns]
        if absent:
            raise DataContractError(f"{label} data lack feature column(s) {', '.join(absent)} needed for PSI")
    rows = []
    for f in features:
        value = psi(reference[f], actual[f], bins=bins)
        rows.append({"feature": f, "psi": value, "status": psi_status(value),
                     "ref_missing": float(reference[f].isna().mean()),
                     "act_missing": float(actual[f].isna().mean())})
    out = pd.DataFrame(rows, columns=["feature", "psi", "status", "ref_missing", "act_missing"])
    return out.sort_values(["psi", "feature"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def migration_matrix(from_grades, to_grades, *, grades: Sequence[str] | None = None,
                     normalize: bool = True) -> pd.DataFrame:
    """Grade migration matrix: rows = grade at the start, columns = grade at the end.

    Parameters
    ----------
    from_grades, to_grades : array-like of str
        Grade of the same obligors at two dates (paired by position).
    grades : sequence of str or None
        Grade order (e.g. ``["1", …, "10", "D"]``); ``None`` sorts the grades seen naturally.
    normalize : bool, default=True
        Row shares (each row sums to 1) instead of counts.

    Examples
    --------
    >>> migration_matrix(["1", "1", "2"], ["1", "2", "2"], normalize=False).to_numpy().tolist()
    [[1, 1], [0, 1]]
    """
    a = pd.Series(np.asarray(from_grades, dtype=object)).astype(str)
    b = pd.Series(np.asarray(to_grades, dtype=object)).astype(str)
    if len(a) != len(b):
        raise DataContractError(f"migration needs paired grades; got {len(a)} start and {len(b)} end grades")
    if grades is None:
        seen = set(a) | set(b)
        grades = sorted(seen, key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0, g))
    grades = [str(g) for g in grades]
    unknown = sorted((set(a) | set(b)) - set(grades))
    if unknown:
        raise DataContractError(f"grades {unknown} are not on the scale {grades}")
    counts = pd.crosstab(pd.Categorical(a, categories=grades), pd.Categorical(b, categories=grades),
                         dropna=False).reindex(index=grades, columns=grades, fill_value=0)
    counts.index.name, counts.columns.name = "from", "to"
    if not normalize:
        return counts.astype("int64")
    totals = counts.sum(axis=1).replace(0, np.nan)
    return counts.div(totals, axis=0).fillna(0.0)


def paired_grades(frame: pd.DataFrame, *, id_col: str = "enterprise_id", time_col: str = "snapshot_date",
                  grade_col: str = "grade", months: int = 12) -> pd.DataFrame:
    """Pair each obligor's grade at a snapshot with its grade ``months`` later.

    Returns a frame with columns ``from`` and ``to`` (one row per obligor and start snapshot
    that has a snapshot exactly ``months`` later); empty when there is none.
    """
    if isinstance(months, bool) or not isinstance(months, Integral) or months < 1:
        raise ConfigError(f"months must be an integer >= 1; got {months!r}")
    missing = [c for c in (id_col, time_col, grade_col) if c not in frame.columns]
    if missing:
        raise DataContractError(f"grade migration needs column(s) {', '.join(missing)}")
    t = pd.to_datetime(frame[time_col])
    key = t.dt.year * 12 + t.dt.month
    left = pd.DataFrame({"id": frame[id_col].to_numpy(), "k": key.to_numpy(),
                         "from": frame[grade_col].astype(str).to_numpy()})
    right = pd.DataFrame({"id": frame[id_col].to_numpy(), "k": key.to_numpy() - months,
                          "to": frame[grade_col].astype(str).to_numpy()})
    pairs = left.merge(right, on=["id", "k"], how="inner")
    return pairs[["from", "to"]]


def information_value(x, y, *, bins: int = 10, eps: float = 0.5) -> float:
    """Information value of one variable for a binary outcome, on quantile (or level) bins.

    ``IV = sum_i (g_i - b_i) * ln(g_i / b_i)`` with ``g_i`` and ``b_i`` the shares of
    non-defaults and defaults in bin ``i``; bins are deciles of a numeric variable (missing
    values apart) or the levels of a categorical one; ``eps`` is added to every count.

    Examples
    --------
    >>> x = np.r_[np.zeros(50), np.ones(50)]
    >>> round(information_value(x, np.r_[np.zeros(45), np.ones(5), np.zeros(5), np.ones(45)]), 2)
    3.31
    """
    _check_bins(bins)
    xs = pd.Series(x).reset_index(drop=True)
    yv = np.asarray(y, dtype="float64")
    if len(xs) != len(yv):
        raise DataContractError(f"information value needs x and y of equal length; got {len(xs)} and {len(yv)}")
    if _is_numeric(xs):
        v = xs.to_numpy(dtype="float64", na_value=np.nan)
        edges = numeric_edges(v, bins)
        key = np.where(np.isnan(v), -1, np.searchsorted(edges, v, side="left"))
    else:
        key = xs.astype(object).where(xs.notna(), "__missing__").astype(str).to_numpy()
    tab = pd.crosstab(key, yv)
    good = tab.get(0.0, pd.Series(0, index=tab.index)).to_numpy(dtype="float64") + eps
    bad = tab.get(1.0, pd.Series(0, index=tab.index)).to_numpy(dtype="float64") + eps
    g, b = good / good.sum(), bad / bad.sum()
    return float(np.sum((g - b) * np.log(g / b)))
