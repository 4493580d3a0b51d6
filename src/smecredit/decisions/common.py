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


#: Chinese names of the rule statuses.
STATUS_ZH = {"pass": "通过", "fail": "不通过", "decline": "否决", "refer": "转人工审查", "condition": "附条件", "info": "说明"}
#: Order in which non-passing results are listed (the decisive ones first).
_SEVERITY_ORDER = {"fail": 0, "decline": 0, "refer": 1, "condition": 2}


def split_model_reason(text: str) -> tuple[str, str]:
    """(English, Chinese) of a model reason written ``"English / 中文"`` (the same text twice otherwise)."""
    if " / " in text:
        en, zh = text.split(" / ", 1)
        return en.strip(), zh.strip()
    return text, text


def format_reasons(results, titles_zh: dict, model: list[str], *, lead_en: list[str] | None = None,
                   lead_zh: list[str] | None = None, ok_zh: str = "", ok_en: str = "") -> dict:
    """Reason columns of one decision row.

    ``reasons`` / ``reasons_zh``: the rules that did not pass, the decisive first (fail/decline, then
    refer, then condition), after the ``lead_*`` lines (e.g. a default override) and before the
    model's reasons; ``reasons_passed`` / ``reasons_passed_zh``: the rules that passed and the
    information lines, kept for the audit; ``main_reason``: one Chinese sentence — the first lead
    line, else the first non-passing rule, else ``ok_zh``. Chinese lines read
    ``【不通过】信用状况良好（R08）：…`` with Chinese status and rule names.
    """
    bad = sorted([r for r in results if r.status in _SEVERITY_ORDER], key=lambda r: _SEVERITY_ORDER[r.status])
    good = [r for r in results if r.status not in _SEVERITY_ORDER]

    def zh(r):
        return f"【{STATUS_ZH[r.status]}】{titles_zh.get(r.rule, r.rule)}（{r.rule}）：{r.text_zh}"

    def en(r):
        return f"{r.rule} {r.status}: {r.text_en}"

    m_en = [split_model_reason(x)[0] for x in model]
    m_zh = [split_model_reason(x)[1] for x in model]
    lines_en = list(lead_en or []) + [en(r) for r in bad] + (["model: " + "; ".join(m_en)] if m_en else [])
    lines_zh = list(lead_zh or []) + [zh(r) for r in bad] + (["【模型】主要风险因素：" + "；".join(m_zh)] if m_zh else [])
    if not bad and ok_zh:
        lines_zh.insert(len(lead_zh or []), ok_zh)
        lines_en.insert(len(lead_en or []), ok_en)
    main = (lead_zh or [None])[0] or (f"{titles_zh.get(bad[0].rule, bad[0].rule)}：{bad[0].text_zh}" if bad else ok_zh)
    return {"reasons": "\n".join(lines_en), "reasons_zh": "\n".join(lines_zh),
            "reasons_passed": "\n".join(en(r) for r in good),
            "reasons_passed_zh": "\n".join(zh(r) for r in good), "main_reason": main}
