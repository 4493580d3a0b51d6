"""Chunk validators of the batch jobs: a row with a reason is rejected, not scored (docs/batch.md).

A validator is a function ``(chunk_frame, model) -> array of reason strings`` ("" = fine); the checks of
:data:`DEFAULT_VALIDATORS` run on every chunk and further checks plug into that list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from smecredit.models import CreditModel
from smecredit.models.credit_model import DEFAULT_FLAG
from smecredit.scoring.ids import check_id_format

_TRUE = {"true", "1", "1.0", "yes", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "f", ""}

Validator = Callable[[pd.DataFrame, CreditModel], np.ndarray]

def _no_reason(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def check_enterprise_id(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows whose ``enterprise_id`` (when the input has one) is missing or blank."""
    out = _no_reason(len(frame))
    if "enterprise_id" in frame.columns:
        s = frame["enterprise_id"]
        bad = s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy()
        out[bad] = "enterprise_id: missing"
    return out


def check_numeric_features(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows where a numeric feature holds text that is not a number, or an infinite value."""
    out = _no_reason(len(frame))
    for name, kind in model.feature_types_.items():
        if kind != "numeric" or name not in frame.columns:
            continue
        s = frame[name]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            text = np.zeros(len(s), dtype=bool)
        else:
            num = pd.to_numeric(s, errors="coerce")
            text = (num.isna() & s.notna() & (s.astype(str).str.strip() != "")).to_numpy()
            v = num.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(v)
        for mask, why in ((text, "not a number"), (inf, "infinite value")):
            if mask.any():
                msg = f"{name}: {why}"
                out[mask] = np.where(out[mask] == "", msg, out[mask] + "; " + msg)
    return out


def check_in_default(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows whose ``in_default`` flag (when present) is not a boolean (true/false/1/0/yes/no)."""
    out = _no_reason(len(frame))
    if DEFAULT_FLAG in frame.columns and not pd.api.types.is_bool_dtype(frame[DEFAULT_FLAG].dtype):
        s = frame[DEFAULT_FLAG]
        txt = s.astype(str).str.strip().str.lower()
        ok = s.isna() | txt.isin(_TRUE | _FALSE)
        out[~ok.to_numpy()] = f"{DEFAULT_FLAG}: not true/false"
    return out


#: The checks every chunk goes through; a row with any non-empty reason is rejected.
DEFAULT_VALIDATORS: list[Validator] = [check_enterprise_id, check_id_format, check_numeric_features, check_in_default]


def validate_chunk(frame: pd.DataFrame, model: CreditModel,
                   validators: Sequence[Validator] = DEFAULT_VALIDATORS) -> np.ndarray:
    """One reason string per row ("" = scorable): the reasons of every validator joined by "; "."""
    reason = _no_reason(len(frame))
    for check in validators:
        r = np.asarray(check(frame, model), dtype=object)
        hit = r != ""
        if hit.any():
            reason[hit] = np.where(reason[hit] == "", r[hit], reason[hit] + "; " + r[hit])
    return reason
