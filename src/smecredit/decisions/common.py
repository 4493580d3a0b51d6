"""Helpers shared by the loan and renewal engines: score checks, model reasons, audit columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError

#: Columns every decision row carries, in this order (the audit contract, docs/interfaces.md).
AUDIT_COLUMNS = ["enterprise_id", "loan_id", "decision", "reasons", "pd", "grade", "model_name", "model_version",
                 "policy_sha256", "as_of", "decided_at"]
REASON_COLUMNS = ["reason_1", "reason_2", "reason_3"]


def check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Validate a scores frame (``enterprise_id, pd, grade`` and optional ``reason_1..3``).

    Returns it indexed by ``enterprise_id``. Raises :class:`DataContractError` naming the
    column and the offending row positions (never the identifiers).
    """
    miss = [c for c in ("enterprise_id", "pd", "grade") if c not in scores.columns]
    if miss:
        raise DataContractError(f"scores frame lacks column(s) {miss}; expected enterprise_id, pd, grade, reason_1..3")
    pd_ = pd.to_numeric(scores["pd"], errors="coerce")
    bad = np.flatnonzero(~(pd_.isna() | pd_.between(0, 1)).to_numpy())
    if len(bad):
        raise DataContractError(f"scores column 'pd' must be in [0, 1]; offending rows {bad[:10].tolist()}")
    dup = np.flatnonzero(scores["enterprise_id"].duplicated().to_numpy())
    if len(dup):
        raise DataContractError(f"scores column 'enterprise_id' has duplicates at rows {dup[:10].tolist()}: "
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


def default_override(f: dict) -> dict:
    """Grade D and PD 1 for an enterprise in default or non-performing, whatever the model says.

    ``f`` holds the facts (``in_default``, ``max_dpd_all_loans``, ``worst_class_now``) and the model's
    ``pd``/``grade``; returns the updated facts with ``model_pd``, ``model_grade`` (the model's own
    score, kept for the audit) and ``default_override`` (the reason in Chinese, empty when none).
    """
    f = dict(f)
    f["model_pd"], f["model_grade"], f["default_override"] = f.get("pd"), f.get("grade"), ""
    if bool(f.get("in_default")):
        why = []
        dpd, wc = f.get("max_dpd_all_loans"), f.get("worst_class_now")
        if dpd is not None and not pd.isna(dpd) and dpd > 90:
            why.append(f"现有贷款逾期{int(dpd)}天（超过90天）")
        if isinstance(wc, str) and wc in ("次级", "可疑", "损失"):
            why.append(f"现有贷款五级分类为{wc}类（不良）")
        f["pd"], f["grade"] = 1.0, "D"
        f["default_override"] = "已违约或不良：" + "，".join(why) + "，评级定为D、违约概率100%（不采用模型评分）"
    return f
