"""Helpers shared by the loan and renewal engines: score checks, model reasons, audit columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError, sheet_rows

#: Columns every decision row carries, in this order (the audit contract, docs/interfaces.md).
AUDIT_COLUMNS = ["enterprise_id", "loan_id", "decision", "reasons", "pd", "grade", "model_name", "model_version",
                 "policy_sha256", "as_of", "decided_at"]
REASON_COLUMNS = ["reason_1", "reason_2", "reason_3"]


def check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Validate a scores frame (``enterprise_id, pd, grade`` and optional ``reason_1..3``).

    Returns it indexed by ``enterprise_id``. Raises :class:`DataContractError` naming the
    column and the offending (spreadsheet) rows, never the identifiers.
    """
    miss = [c for c in ("enterprise_id", "pd", "grade") if c not in scores.columns]
    if miss:
        raise DataContractError(f"scores frame lacks column(s) {miss}; expected enterprise_id, pd, grade, reason_1..3")
    pd_ = pd.to_numeric(scores["pd"], errors="coerce")
    bad = np.flatnonzero(~(pd_.isna() | pd_.between(0, 1)).to_numpy())
    if len(bad):
        raise DataContractError(f"scores column 'pd' must be in [0, 1]; offending {sheet_rows(bad)}")
    dup = np.flatnonzero(scores["enterprise_id"].duplicated().to_numpy())
    if len(dup):
        raise DataContractError(f"scores column 'enterprise_id' has duplicates at {sheet_rows(dup)}: "
                                "score each enterprise once, as of the decision date")
    out = scores.assign(pd=pd_.astype(float))
    for c in REASON_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    out["grade"] = out["grade"].map(lambda g: g if pd.isna(g) else str(g))
    return out.set_index("enterprise_id")[["pd", "grade", *REASON_COLUMNS]]


def model_reasons(row: pd.Series | dict) -> list[str]:
    """The model's reason texts (non-empty ``reason_1..3``) of one scored row."""
    out = []
    for c in REASON_COLUMNS:
        v = row.get(c)
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
    return out


def decided_at_now() -> pd.Timestamp:
    """Current UTC time (seconds), the only non-deterministic field of a decision row."""
    return pd.Timestamp(dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None))


def as_date(value, name: str = "as_of") -> pd.Timestamp:
    """Parse a decision date; :class:`DataContractError` naming ``name`` when it is not a date."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataContractError(f"{name} must be a date like 2025-12-31, got {value!r}") from exc
    if pd.isna(ts):
        raise DataContractError(f"{name} must be a date like 2025-12-31, got {value!r}")
    return ts.normalize()
