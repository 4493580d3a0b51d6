"""Id formats: the shape of the enterprise ids (and credit codes) a model was trained on, checked at scoring.

A batch job rejects a row whose ``enterprise_id`` (or ``credit_code``, when the input has that column)
does not have the format of the ids the model was trained on — a row from another register, a
truncated or mistyped code, an internal number where a code was expected — instead of scoring it.

The reference format of a column is

1. the format recorded at training (``model.metadata_["id_formats"]``, written by ``smecredit train``
   with :func:`id_formats_of`), else
2. the data model's (docs/data_model.md): ``enterprise_id`` is an 18-character unified social credit
   code (统一社会信用代码, GB 32100-2015) with a valid check character; so is ``credit_code``.

A learned format is either ``{"kind": "uscc"}`` (every training id is a valid code) or
``{"kind": "pattern", "patterns": [...]}``: one regular expression per shape of the training ids, where a
shape is the sequence of runs of digits, upper-case letters, lower-case letters and single other
characters; a run of letters that never varies across at least :data:`MIN_LITERAL` ids is kept literally
(the ``E`` of ``E000123``), digits and varying letters become classes with the run lengths seen
(``E[0-9]{6}``; a digit run of varying length has no upper bound: ``E[0-9]{1,}`` for ``E1`` … ``E999``).
More than
:data:`MAX_SHAPES` shapes collapse to the lengths seen (``.{m,n}``). Missing values are not judged here
(a missing ``enterprise_id`` is rejected by its own check). Reasons never quote the id itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from smecredit.data import uscc

#: Columns whose format is checked when the input has them.
ID_COLUMNS = ("enterprise_id", "credit_code")
#: The data model's format of those columns (used when the model recorded none).
DATA_MODEL_FORMATS = {c: {"kind": "uscc"} for c in ID_COLUMNS}
#: Shapes kept as separate patterns; beyond, a format is the lengths seen.
MAX_SHAPES = 16
#: Ids of a shape needed before its constant letters are kept literally (no part of a lone id is recorded).
MIN_LITERAL = 20

_TOKEN = re.compile(r"[0-9]+|[A-Z]+|[a-z]+|[^0-9A-Za-z]", re.S)
_CLASS = {"d": "[0-9]", "U": "[A-Z]", "l": "[a-z]"}


def _kind(token: str) -> str:
    c = token[0]
    if c.isascii() and c.isdigit():
        return "d"
    if "A" <= c <= "Z":
        return "U"
    if "a" <= c <= "z":
        return "l"
    return "=" + c  # any other character: itself


def _run(lo: int, hi: int) -> str:
    return "" if lo == hi == 1 else (f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")


def learn_id_format(values: Iterable) -> dict | None:
    """The format of the non-missing ``values`` (``None`` when there are none); see the module docstring."""
    s = pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=object).dropna()
    uniq = [str(v) for v in pd.unique(s)]
    if not uniq:
        return None
    if bool(uscc.valid_mask(pd.Series(uniq, dtype=object)).all()):
        return {"kind": "uscc"}
    groups: dict[tuple, list[list[str]]] = {}
    for v in uniq:
        tokens = _TOKEN.findall(v)
        groups.setdefault(tuple(_kind(t) for t in tokens), []).append(tokens)
    if len(groups) > MAX_SHAPES:
        lengths = [len(v) for v in uniq]
        return {"kind": "pattern", "patterns": [f"(?s).{_run(min(lengths), max(lengths)) or '{1}'}"]}
    patterns = []
    for key in sorted(groups):
        rows = groups[key]
        parts = []
        for i, kind in enumerate(key):
            col = [r[i] for r in rows]
            if kind.startswith("="):
                parts.append(re.escape(kind[1:]))
            elif kind in ("U", "l") and len(set(col)) == 1 and len(rows) >= MIN_LITERAL:
                parts.append(re.escape(col[0]))
            else:
                lo, hi = min(len(t) for t in col), max(len(t) for t in col)
                # numbering of varying length (E1 ... E999) goes on growing: no upper bound
                parts.append(_CLASS[kind] + (f"{{{lo},}}" if kind == "d" and lo < hi else _run(lo, hi)))
        patterns.append("".join(parts))
    return {"kind": "pattern", "patterns": patterns}


def id_formats_of(frame: pd.DataFrame) -> dict:
    """``{column: format}`` of the id columns of a training table (recorded as ``metadata["id_formats"]``)."""
    out = {}
    for c in ID_COLUMNS:
        if c in frame.columns:
            fmt = learn_id_format(frame[c])
            if fmt is not None:
                out[c] = fmt
    return out


def reference_formats(model) -> dict:
    """The format each id column must have: recorded at training, else the data model's."""
    recorded = (getattr(model, "metadata_", None) or {}).get("id_formats") or {}
    return {**DATA_MODEL_FORMATS, **{c: f for c, f in recorded.items() if isinstance(f, dict)}}


def describe(fmt: dict) -> str:
    if fmt.get("kind") == "uscc":
        return "a unified social credit code: 18 characters, GB 32100-2015 check character"
    pats = fmt.get("patterns") or []
    return "the training ids' format " + " or ".join(pats[:3]) + (" ..." if len(pats) > 3 else "")


def matches(values: pd.Series, fmt: dict) -> np.ndarray:
    """Boolean per value: missing, or of format ``fmt``."""
    present = (values.notna() & (values.astype(object).map(lambda v: str(v).strip()) != "")).to_numpy(bool)
    if fmt.get("kind") == "uscc":
        ok = uscc.valid_mask(values.astype(object)).to_numpy(bool)
    elif fmt.get("kind") == "pattern" and fmt.get("patterns"):
        rx = "|".join(f"(?:{p})" for p in fmt["patterns"])
        text = values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v))
        ok = text.astype("string").str.fullmatch(rx).fillna(False).to_numpy(bool)
    else:  # unknown kind: nothing to check against
        ok = np.ones(len(values), dtype=bool)
    return ok | ~present


def check_id_format(frame: pd.DataFrame, model) -> np.ndarray:
    """Validator: reject rows whose ``enterprise_id`` / ``credit_code`` has an unseen format."""
    out = np.full(len(frame), "", dtype=object)
    formats = reference_formats(model)
    for c in ID_COLUMNS:
        if c not in frame.columns:
            continue
        bad = ~matches(frame[c], formats[c])
        if bad.any():
            msg = f"{c}: unseen id format (expected {describe(formats[c])})"
            out[bad] = np.where(out[bad] == "", msg, out[bad] + "; " + msg)
    return out
