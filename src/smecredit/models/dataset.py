"""Model input tables: which columns are features, their types, and target checks.

Id and date columns (``enterprise_id``, ``snapshot_date``, any ``*_id`` / ``*_date`` column,
datetime dtypes) and the meta columns of a features folder are never features.
Numeric, integer and boolean columns become float64 features; string, object and category
columns become categorical features.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils._param_validation import InvalidParameterError as _SkInvalidParameterError
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from smecredit.exceptions import ConfigError, DataContractError, sheet_rows

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
    return sheet_rows(np.asarray(mask, dtype=bool), limit)


#: A text column whose non-missing values are at least this share numbers is a numeric column
#: with typing errors, not a categorical feature.
NUMERIC_SHARE = 0.9


def check_text_in_numeric(df: pd.DataFrame, types: dict[str, str], *, source: str = "input table") -> None:
    """Refuse a text column that is mostly numbers (a numeric column with a few typos such as ``"abc"``).

    Read as text, such a column would silently become a categorical feature. Raises
    :class:`DataContractError` naming each such column, its text values and their rows.
    """
    problems = []
    for name, kind in types.items():
        if kind != "categorical":
            continue
        s = df[name]
        given = s.notna() & (s.astype("string").str.strip() != "").fillna(False)
        if not given.any():
            continue
        num = pd.to_numeric(s.where(given), errors="coerce")
        is_num = num.notna() & given
        share = float(is_num.sum()) / float(given.sum())
        if share >= NUMERIC_SHARE and not is_num[given].all():
            bad = (given & ~is_num).to_numpy(dtype=bool)
            shown = sorted({str(v) for v in s[bad].tolist()})[:5]
            problems.append(f"column {name!r} holds numbers in {share:.1%} of its filled rows but text {shown} in "
                            f"{_rows(bad)}")
    if problems:
        raise DataContractError(f"{source}: " + "; ".join(problems) + " — fix or empty those cells (a number column "
                                "with text would otherwise become a categorical feature)")


def check_finite(df: pd.DataFrame, types: dict[str, str], *, source: str = "input table") -> None:
    """Refuse ``inf``/``-inf`` in the numeric feature columns of ``df`` (names columns and rows)."""
    problems = []
    for name, kind in types.items():
        if kind != "numeric":
            continue
        v = pd.to_numeric(df[name], errors="coerce") if not pd.api.types.is_numeric_dtype(df[name].dtype) else df[name]
        inf = np.isinf(np.asarray(v, dtype="float64"))
        if inf.any():
            problems.append(f"column {name!r} has infinite values in {_rows(inf)}")
    if problems:
        raise DataContractError(f"{source}: " + "; ".join(problems))


def _check_scoring_dtype(name: str, s: pd.Series, source: str, trained_bool: bool | None) -> None:
    """A numeric feature given as dates, or as True/False when it was not boolean in training, is refused."""
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or isinstance(dtype, pd.PeriodDtype):
        raise DataContractError(f"{source}: column {name!r} is a numeric feature of the model but holds dates "
                                f"({dtype}); give it as numbers")
    if dtype == object and len(s):
        kinds = s.dropna().map(type)
        odd = kinds.map(lambda t: issubclass(t, (pd.Timestamp, np.datetime64)) or t.__name__ in ("datetime", "date"))
        if odd.any():
            mask = s.notna().to_numpy() & odd.reindex(s.index, fill_value=False).to_numpy()
            raise DataContractError(f"{source}: column {name!r} is a numeric feature of the model but holds dates in "
                                    f"{_rows(mask)}")
    if trained_bool is False and (pd.api.types.is_bool_dtype(dtype) or (
            dtype == object and len(s) and s.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).any())):
        raise DataContractError(f"{source}: column {name!r} is a numeric feature of the model (a number in "
                                "training) but holds True/False values; give it as numbers")


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
    bool_features: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return a new frame of the feature columns in ``types`` order: numeric → float64, categorical → object str.

    ``bool_features`` (when known: the numeric features that were True/False in training) makes
    True/False values in any other numeric feature an error; dates in a numeric feature always are.

    Raises
    ------
    DataContractError
        A numeric column holds text that is not a number, dates, True/False where numbers were
        trained, or infinite values (names column and rows).
    """
    cols: dict[str, pd.Series] = {}
    bools = None if bool_features is None else set(bool_features)
    for name, kind in types.items():
        s = df[name]
        if kind == "numeric":
            _check_scoring_dtype(name, s, source, None if bools is None else name in bools)
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


# --------------------------------------------------------------------------- scikit-learn input contract
class InvalidInputError(DataContractError, ValueError):
    """Input of an estimator breaks its contract (shape, feature names, target).

    A :class:`DataContractError` (exit 3) that is also the ``ValueError`` scikit-learn's tools
    (``GridSearchCV(error_score=...)``, its estimator checks) expect.
    """


class InvalidParameterError(ConfigError, _SkInvalidParameterError):
    """An estimator parameter is invalid: a :class:`ConfigError` (exit 2) that is also scikit-learn's
    ``InvalidParameterError`` (``ValueError`` and ``TypeError``), with scikit-learn's message."""


def validate_params(est) -> None:
    """Validate ``est``'s parameters against its ``_parameter_constraints`` (scikit-learn's declared checks)."""
    try:
        est._validate_params()
    except _SkInvalidParameterError as exc:
        raise InvalidParameterError(str(exc)) from None


def _positional_names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


def _check_array(X) -> np.ndarray:
    try:
        return check_array(X, dtype=None, ensure_all_finite="allow-nan", ensure_2d=True, ensure_min_samples=1,
                           input_name="X")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(str(exc)) from None


def _array_frame(X, *, categorical: Sequence[str] = (), numeric: Sequence[str] = (),
                 names: list[str] | None = None) -> pd.DataFrame:
    """A frame of a 2-D array-like: numeric columns as float64, text columns as Python ``str`` (missing kept).

    Columns named in ``categorical`` are text, those in ``numeric`` numbers (text in them is an error);
    any other column is numeric when every filled value is a number, else text.
    """
    A = _check_array(X)
    if A.dtype.kind in "US":
        A = A.astype(object)
    names = names or _positional_names(A.shape[1])
    if A.dtype.kind != "O":
        if A.dtype.kind not in "biuf":
            raise InvalidInputError(f"X must hold numbers or text; got an array of dtype {A.dtype}")
        return pd.DataFrame(A.astype("float64", copy=False), columns=names)
    cols = {}
    for j, name in enumerate(names):
        s = pd.Series(A[:, j], dtype=object)
        num = pd.to_numeric(s, errors="coerce")
        text = name in categorical or (name not in numeric and bool((num.isna() & s.notna()).any()))
        if text:
            vals = s.to_numpy(copy=True)
            given = s.notna().to_numpy()
            vals[given] = np.array([str(v) for v in vals[given].tolist()], dtype=object)
            cols[name] = pd.Series(vals, dtype=object)
        else:
            bad = num.isna() & s.notna()
            if bad.any():
                raise InvalidInputError(f"X column {j} ({name!r}) is a numeric feature of the model but holds text in "
                                        f"{_rows(bad.to_numpy())}")
            cols[name] = num.astype("float64")
    out = pd.DataFrame(cols)
    inf = [c for c in names if out[c].dtype == "float64" and np.isinf(out[c].to_numpy()).any()]
    if inf:
        raise InvalidInputError(f"Input X contains infinity in column(s) {', '.join(inf)}")
    return out


def _check_finite_frame(X: pd.DataFrame, name: str) -> None:
    bad = [str(c) for c in X.columns if pd.api.types.is_float_dtype(X[c].dtype)
           and np.isinf(X[c].to_numpy(dtype="float64", na_value=np.nan)).any()]
    if bad:
        raise InvalidInputError(f"{name}: Input X contains infinity in column(s) {', '.join(bad[:5])}")


def check_fit_input(est, X, y) -> tuple[pd.DataFrame, np.ndarray]:
    """Check and convert an estimator's training input; set ``n_features_in_``, ``feature_names_in_``, ``classes_``.

    ``X``: a DataFrame (its string column names are the feature names; numeric columns are numeric
    features, other columns categorical) or a 2-D array-like (features ``x0, x1, …``; a column of
    numbers is numeric, a column with text categorical). ``y``: two classes; ``classes_`` are they,
    sorted, and the second is the event (default). Returns the frame and ``y`` as 0/1 int64.
    """
    name = type(est).__name__
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        frame = X
        if frame.shape[1] == 0:
            raise InvalidInputError(f"{name}: X has 0 feature(s) (shape {frame.shape}) while a minimum of 1 is "
                                    "required")
        _check_finite_frame(frame, name)
    else:
        frame = _array_frame(X.to_numpy() if isinstance(X, pd.DataFrame) else X)
    try:
        yy = column_or_1d(y, warn=True)
        if yy.dtype.kind in "fc":
            check_array(yy, ensure_2d=False, dtype=None, input_name="y")  # NaN or infinity
        check_consistent_length(frame, yy)
        check_classification_targets(yy)
        y_type = type_of_target(yy, input_name="y", raise_unknown=True)
    except ValueError as exc:
        raise InvalidInputError(f"{name}: {exc}") from None
    classes = np.unique(yy)
    if y_type not in ("binary",) or len(classes) != 2:
        if len(classes) < 2:
            raise InvalidInputError(f"{name}: y has a single class ({classes[0]!r}); a PD model needs both defaults "
                                    "and non-defaults (1 class found, 2 needed)")
        raise InvalidInputError(f"{name}: Only binary classification is supported. The type of the target is "
                                f"{y_type} ({len(classes)} classes); a PD model needs 0/1 (no default / default).")
    est.classes_ = classes
    est.n_features_in_ = int(frame.shape[1])
    y01 = (yy == classes[1]).astype("int64")
    return frame, y01


def check_predict_input(est, X, *, categorical: Sequence[str] = (), numeric: Sequence[str] = ()) -> pd.DataFrame:
    """Check and convert an estimator's scoring input against what it was fitted on.

    A DataFrame must have the fitted feature names in the fitted order (extra, missing or reordered
    columns raise :class:`InvalidInputError` naming them); an array must have ``n_features_in_``
    columns, taken in the fitted order (``categorical`` / ``numeric``: the fitted kinds of its columns).
    """
    name = type(est).__name__
    fitted = [str(c) for c in est.feature_names_in_]
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        given = list(X.columns)
        if given != fitted:
            raise InvalidInputError(f"{name}: " + _names_message(fitted, given))
        _check_finite_frame(X, name)
        return X
    A = _check_array(X.to_numpy() if isinstance(X, pd.DataFrame) else X)
    if not _positional(fitted):
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with feature names",
                      UserWarning, stacklevel=3)
    if A.shape[1] != len(fitted):
        raise InvalidInputError(f"X has {A.shape[1]} features, but {name} is expecting {len(fitted)} features as "
                                "input.")
    return _array_frame(A, categorical=categorical, numeric=numeric, names=fitted)


def _positional(names: list[str]) -> bool:
    return names == _positional_names(len(names))


def _names_message(fitted: list[str], given: list[str]) -> str:
    """scikit-learn's message for feature names that differ from those of fit."""
    msg = "The feature names should match those that were passed during fit.\n"
    f, g = set(fitted), set(given)
    unexpected, missing = sorted(g - f), sorted(f - g)

    def listing(names: list[str]) -> str:
        shown = "".join(f"- {n}\n" for n in names[:5])
        return shown + ("- ...\n" if len(names) > 5 else "")

    if unexpected:
        msg += "Feature names unseen at fit time:\n" + listing(unexpected)
    if missing:
        msg += "Feature names seen at fit time, yet now missing:\n" + listing(missing)
    if not unexpected and not missing:
        msg += "Feature names must be in the same order as they were in fit.\n"
    return msg
