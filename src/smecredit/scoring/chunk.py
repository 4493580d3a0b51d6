"""One chunk of the batch job: validate, score, and split into scores and rejects (pure; no I/O)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from smecredit.models import CreditModel
from smecredit.models.credit_model import DEFAULT_FLAG
from smecredit.scoring.ids import ID_COLUMNS
from smecredit.scoring.validators import _TRUE, DEFAULT_VALIDATORS, Validator, validate_chunk

_OUT_FIELDS = [("pd", pa.float64()), ("score", pa.float64()), ("grade", pa.string()),
               ("reason_1", pa.string()), ("reason_2", pa.string()), ("reason_3", pa.string())]


def _features_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    return table.select(names).to_pandas()


def _as_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool)
    return s.astype(str).str.strip().str.lower().isin(_TRUE) & s.notna()


def score_chunk(model: CreditModel, table: pa.Table, first_row: int, *, pass_through: list[str],
                validators: Sequence[Validator] = DEFAULT_VALIDATORS,
                predict: Callable[[CreditModel, pd.DataFrame], pd.DataFrame] | None = None,
                ) -> tuple[pa.Table, pa.Table]:
    """Validate and score one chunk: ``(scores, rejects)`` Arrow tables (pure; no I/O)."""
    names = list(model.feature_names_) + ([DEFAULT_FLAG] if DEFAULT_FLAG in table.column_names else [])
    extra = [c for c in ID_COLUMNS if c in table.column_names and c not in names]
    frame = _features_frame(table, names + extra)
    reason = validate_chunk(frame, model, validators)
    bad = reason != ""
    good_idx = np.flatnonzero(~bad)
    rows = np.arange(first_row, first_row + table.num_rows, dtype="int64")
    scores: dict[str, pa.Array] = {c: table.column(c).take(pa.array(good_idx)) for c in pass_through}
    scores["source_row"] = pa.array(rows[good_idx], type=pa.int64())
    if len(good_idx):
        X = frame.iloc[good_idx][names].reset_index(drop=True)
        if DEFAULT_FLAG in X.columns:
            X[DEFAULT_FLAG] = _as_bool(X[DEFAULT_FLAG])
        out = (predict or _predict)(model, X)
    else:
        out = pd.DataFrame({f: pd.Series([], dtype="float64" if t == pa.float64() else object) for f, t in _OUT_FIELDS})
    for name, typ in _OUT_FIELDS:
        col = out[name]
        if typ == pa.string():
            scores[name] = pa.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                                     for v in col.tolist()], type=pa.string())
        else:
            scores[name] = pa.array(col.to_numpy(dtype="float64"), type=typ)
    bad_idx = pa.array(np.flatnonzero(bad))
    rejects = {"source_row": pa.array(rows[bad], type=pa.int64())}
    for c in pass_through:
        rejects[c] = table.column(c).take(bad_idx)
    rejects["reason"] = pa.array(reason[bad].tolist(), type=pa.string())
    return pa.table(scores), pa.table(rejects)


def _predict(model: CreditModel, X: pd.DataFrame) -> pd.DataFrame:
    return model.predict(X, source="input chunk")
