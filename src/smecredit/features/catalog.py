"""The bilingual feature catalogue and business-language descriptions of feature values.

>>> from smecredit.features.catalog import describe
>>> describe("elec_yoy_6m", -0.38)
'Electricity use down 38% year on year (last 6 months)'
>>> describe("elec_yoy_6m", -0.38, lang="zh")
'近6个月用电量同比下降38%'
>>> describe("jud_lawsuits_12m", 2.0)
'Lawsuits as defendant: 2 in the last 12 months'

Every entry is declared as data next to the code of its family (``SPECS`` of each module);
the catalogue is their concatenation in family order. ``direction`` is the way risk moves when
the value rises (used as a monotonic constraint by the scorecard); reason codes use
:func:`describe`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd

from smecredit.exceptions import ConfigError
from smecredit.features import (consistency, credit, events, green, ip, network, registry, related, social,
                                supply_chain, tax, utilities)
from smecredit.features.spec import FeatureSpec

SPEC_MODULES = (registry, tax, utilities, consistency, social, events, ip, supply_chain, credit, green, related,
                network)
CATALOG_COLUMNS = ["name", "family", "source", "window_months", "description_en", "description_zh", "unit",
                   "direction", "dtype"]
LANGS = ("en", "zh")


@lru_cache(maxsize=1)
def _specs() -> dict[str, FeatureSpec]:
    out: dict[str, FeatureSpec] = {}
    for mod in SPEC_MODULES:
        for s in mod.SPECS:
            if s.name in out:
                raise RuntimeError(f"feature {s.name} declared twice")
            out[s.name] = s
    return out


def feature_specs() -> list[FeatureSpec]:
    """All catalogue entries in catalogue order."""
    return list(_specs().values())


def feature_catalog() -> pd.DataFrame:
    """The catalogue: one row per feature (columns: see ``CATALOG_COLUMNS``)."""
    rows = [{
        "name": s.name, "family": s.family, "source": s.source,
        "window_months": float(s.window_months) if s.window_months else float("nan"),
        "description_en": _catalog_text(s, "en"), "description_zh": _catalog_text(s, "zh"),
        "unit": s.unit, "direction": s.direction, "dtype": s.dtype,
    } for s in feature_specs()]
    return pd.DataFrame(rows, columns=CATALOG_COLUMNS)


def _catalog_text(s: FeatureSpec, lang: str) -> str:
    w = s.window_months
    en, zh = s.en, s.zh
    if lang == "en":
        text = {
            "level": f"{en}, monthly average",
            "total": en,
            "change": f"{en}, change year on year",
            "growth": f"{en}, change over the period" if w != 1 else f"{en}, change on the previous month",
            "trend": f"{en}, linear trend per month relative to the average",
            "cv": f"{en}, volatility (coefficient of variation)",
            "count": en,
            "days": f"Days since the last {en}",
            "missing": f"No {en} data for the enterprise (missing-data indicator)",
        }.get(s.kind, en)
        return f"{text} (last {w} months)" if w and w > 1 else text
    text = {
        "level": f"{zh}月均值",
        "change": f"{zh}同比变化",
        "growth": f"{zh}变化率" if w != 1 else f"{zh}环比变化率",
        "trend": f"{zh}月度趋势（相对均值）",
        "cv": f"{zh}波动系数",
        "days": f"距上次{zh}天数",
        "missing": f"缺少{zh}数据（缺失指示）",
    }.get(s.kind, zh)
    return f"近{w}个月{text}" if w and w > 1 else text


# ---------------------------------------------------------------------------------------------
# describe

_UNIT_ZH = {"months": "个月", "cases": "次", "events": "次", "loans": "笔", "banks": "家", "persons": "人",
            "items": "项", "days": "天", "kWh": "千瓦时", "m3": "立方米", "enterprises": "家"}


def _num(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return f"{int(round(v)):,}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def _amount(v: float, unit: str, lang: str) -> str:
    if unit == "CNY":
        if lang == "zh":
            if abs(v) >= 1e8:
                return f"{v / 1e8:.2f}亿元"
            if abs(v) >= 1e4:
                return f"{v / 1e4:.1f}万元"
            return f"{v:.0f}元"
        if abs(v) >= 1e6:
            return f"CNY {v / 1e6:.2f} million"
        if abs(v) >= 1e3:
            return f"CNY {v / 1e3:.0f} thousand"
        return f"CNY {v:.0f}"
    if lang == "zh":
        return f"{_num(v)}{_UNIT_ZH.get(unit, unit)}"
    return f"{_num(v)} {unit}".strip()


def _pct(v: float) -> str:
    p = abs(v) * 100
    return f"{p:.0f}%" if p >= 1 else f"{p:.1f}%"


def _label(s: FeatureSpec, value, lang: str) -> str:
    key = value if s.kind == "category" else str(float(value))
    pair = s.labels.get(key)
    if pair is None:  # e.g. an average of ranks (3.333…): a number, shown as one
        return _num(float(value)) if s.kind != "category" else str(value)
    return pair[0] if lang == "en" else pair[1]


def describe(name: str, value, lang: str = "en") -> str:
    """Business-language text of one feature value.

    Parameters
    ----------
    name : str
        Feature name (a catalogue name; other names fall back to ``"<name> = <value>"``).
    value : float or str
        The feature value (NaN / None means no data).
    lang : {"en", "zh"}
        Language of the text.

    Returns
    -------
    str
        E.g. ``"Electricity use down 38% year on year (last 6 months)"`` or ``"近6个月用电量同比下降38%"``.
    """
    if lang not in LANGS:
        raise ConfigError(f"lang must be one of {LANGS}; got {lang!r}")
    s = _specs().get(name)
    if s is None:
        return f"{name} = {value}"
    en, zh, w, k = s.en, s.zh, s.window_months, s.kind
    isnan = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    last_en = f" (last {w} months)" if w and w > 1 else ""
    last_zh = f"近{w}个月" if w and w > 1 else ""
    if isnan and k != "missing":
        return f"{en}: no data{last_en}" if lang == "en" else f"{last_zh}{zh}：无数据"
    if k == "category":
        return f"{en}: {_label(s, value, 'en')}" if lang == "en" else f"{zh}：{_label(s, value, 'zh')}"
    v = float(value)
    if k == "change":
        if abs(v) < 0.005:
            return f"{en} unchanged year on year{last_en}" if lang == "en" else f"{last_zh}{zh}同比持平"
        if lang == "en":
            return f"{en} {'up' if v > 0 else 'down'} {_pct(v)} year on year{last_en}"
        return f"{last_zh}{zh}同比{'增长' if v > 0 else '下降'}{_pct(v)}"
    if k == "growth":
        if abs(v) < 0.005:
            return f"{en} unchanged{last_en}" if lang == "en" else f"{last_zh}{zh}持平"
        if lang == "en":
            return f"{en} {'up' if v > 0 else 'down'} {_pct(v)} over the last {f'{w} months' if w > 1 else 'month'}"
        return f"{last_zh or '较上月'}{zh}{'增长' if v > 0 else '下降'}{_pct(v)}"
    if k == "trend":
        if lang == "en":
            return f"{en} trending {'up' if v > 0 else 'down'} {_pct(v)} a month{last_en}"
        return f"{last_zh}{zh}月均{'增长' if v > 0 else '下降'}{_pct(v)}"
    if k == "level":
        if lang == "en":
            return f"{en}: {_amount(v, s.unit, 'en')} a month on average{last_en}"
        return f"{last_zh}{zh}月均{_amount(v, s.unit, 'zh')}"
    if k == "total":
        if lang == "en":
            return f"{en}: {_amount(v, s.unit, 'en')}{last_en}"
        return f"{last_zh}{zh}{_amount(v, s.unit, 'zh')}"
    if k == "cv":
        if lang == "en":
            return f"{en} volatile: coefficient of variation {v:.2f}{last_en}"
        return f"{last_zh}{zh}波动系数{v:.2f}"
    if k == "count":
        unit_zh = _UNIT_ZH.get(s.unit, "")
        if lang == "en":
            return f"{en}: {_num(v)} in the last {w} months" if w and w > 1 else f"{en}: {_num(v)}"
        return f"{last_zh}{zh}{_num(v)}{unit_zh}" if last_zh else f"{zh}{_num(v)}{unit_zh}"
    if k == "share":
        if lang == "en":
            return f"{en}: {v * 100:.0f}%{last_en}"
        return f"{last_zh}{zh}{v * 100:.0f}%"
    if k == "ratio":
        if lang == "en":
            return f"{en}: {_num(v)}{last_en}"
        return f"{last_zh}{zh}{_num(v)}"
    if k == "flag":
        if v >= 0.5:
            return en if lang == "en" else zh
        no_en, no_zh = s.labels.get("0.0", (f"No — {en[0].lower()}{en[1:]}", f"否：{zh}"))
        return no_en if lang == "en" else no_zh
    if k == "days":
        if v >= 3650:
            return f"No {en} in the last ten years" if lang == "en" else f"近十年无{zh}"
        return f"{_num(v)} days since the last {en}" if lang == "en" else f"距上次{zh}{_num(v)}天"
    if k == "years":
        return f"{en}: {v:.1f}" if lang == "en" else f"{zh}{v:.1f}年"
    if k == "rank":
        return f"{en}: {_label(s, value, 'en')}" if lang == "en" else f"{zh}：{_label(s, value, 'zh')}"
    if k == "missing":
        yes = not isnan and float(value) >= 0.5
        if lang == "en":
            return f"No {en} data" if yes else f"{en[0].upper()}{en[1:]} data available"
        return f"缺少{zh}数据" if yes else f"有{zh}数据"
    return f"{name} = {value}"  # pragma: no cover - every kind is handled above
