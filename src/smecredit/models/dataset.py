"""Model input tables: which columns are features, their types, and target checks.

Id and date columns (``enterprise_id``, ``snapshot_date``, any ``*_id`` / ``*_date`` column,
datetime dtypes) and the meta columns of a features folder are never features.
Numeric, integer and boolean columns become float64 features; string, object and category
columns become categorical features.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError

ID_COLUMNS = ("enterprise_id", "snapshot_date")
META_COLUMNS = ("enterprise_id", "snapshot_date", "bad", "observable", "in_default")
_ID_LIKE = re.compile(r"(^|_)(id|ids|uuid|guid|key|date|datetime|timestamp|ts|dt)$|^(id|date)_", re.IGNORECASE)


def is_id_like(name: str, dtype=None) -> bool:
    """True when a column is an identifier or a date and so must never be a feature.

    Examples
    --------
    >>> is_id_like("loan_id"), is_id_like("snapshot_date"), is_id_like("Time")
    (True, True, False)
    """
    if dtype is not None and (pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype)):
        return True
    return bool(_ID_LIKE.search(str(name)))


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"rows {shown}{more}"


def feature_columns(df: pd.DataFrame, target: str | None = None, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Map each feature column of ``df`` to ``"numeric"`` or ``"categorical"``, in column order."""
    skip = set(META_COLUMNS) | set(exclude) | ({target} if target else set())
    out: dict[str, str] = {}
    for name in df.columns:
        dtype = df[name].dtype
        if name in skip or is_id_like(name, dtype):
            continue
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            out[str(name)] = "numeric"
        else:
            out[str(name)] = "categorical"
    return out


def check_target(df: pd.DataFrame, target: str, *, source: str = "input table") -> pd.Series:
    """Return ``df[target]`` as int 0/1; raise :class:`DataContractError` when it is not a usable binary target."""
    if target not in df.columns:
        raise DataContractError(
            f"{source}: target column {target!r} not found; columns are {', '.join(map(str, df.columns))}"
        )
    raw = df[target]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype("float64")
    values = pd.to_numeric(raw, errors="coerce")
    bad_type = values.isna() & raw.notna()
    if bad_type.any():
        raise DataContractError(
            f"{source}: target column {target!r} must be binary 0/1; non-numeric values in {_rows(bad_type.to_numpy())}"
        )
    if values.isna().any():
        raise DataContractError(
            f"{source}: target column {target!r} has missing values in {_rows(values.isna().to_numpy())}"
        )
    not_binary = ~values.isin([0, 1])
    if not_binary.any():
        found = ", ".join(f"{v:g}" for v in sorted(pd.unique(values[not_binary]))[:5])
        raise DataContractError(
            f"{source}: target column {target!r} must be binary 0/1; found values {found} in "
            f"{_rows(not_binary.to_numpy())}"
        )
    if values.nunique() < 2:
        raise DataContractError(
            f"{source}: target column {target!r} has a single class ({int(values.iloc[0])}) in {len(values)} rows; "
            "a PD model needs both defaults and non-defaults"
        )
    return values.astype("int64")


def coerce_features(
    df: pd.DataFrame,
    types: dict[str, str],
    *,
    source: str = "input table",
) -> pd.DataFrame:
    """Return a new frame of the feature columns in ``types`` order: numeric → float64, categorical → object str.

    Raises
    ------
    DataContractError
        A numeric column holds text that is not a number (names column and rows).
    """
    cols: dict[str, pd.Series] = {}
    for name, kind in types.items():
        s = df[name]
        if kind == "numeric":
            if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
                cols[name] = s.astype("float64")
            else:
                num = pd.to_numeric(s, errors="coerce")
                bad = num.isna() & s.notna() & (s.astype(str).str.strip() != "")
                if bad.any():
                    raise DataContractError(
                        f"{source}: column {name!r} must be numeric; non-numeric values in {_rows(bad.to_numpy())}"
                    )
                cols[name] = num.astype("float64")
            inf = np.isinf(cols[name].to_numpy())
            if inf.any():
                raise DataContractError(f"{source}: column {name!r} has infinite values in {_rows(inf)}")
        else:
            mask = s.isna().to_numpy()
            vals = s.astype(object).to_numpy(copy=True)
            vals[mask] = np.nan
            if (~mask).any():
                vals[~mask] = np.array([str(v) for v in vals[~mask].tolist()], dtype=object)
            cols[name] = pd.Series(vals, index=df.index, dtype=object)
    return pd.DataFrame(cols, index=df.index)


def missing_columns(df: pd.DataFrame, required: Sequence[str]) -> list[str]:
    """Names in ``required`` that ``df`` lacks, in order."""
    have = set(map(str, df.columns))
    return [c for c in required if c not in have]
