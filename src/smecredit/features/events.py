"""Judicial and administrative events: counts, amounts, days since last, current list status.

Sources: ``judicial_events`` and ``admin_events`` (as of ``event_date``). Windows count events
with ``snapshot − w months < event_date ≤ snapshot``. Status features replay the list events up
to the snapshot: an enterprise is a dishonest debtor (失信被执行人) at the snapshot when its last
``dishonest_debtor_listed``/``…_removed`` event on or before the snapshot is a listing (a removal
on the same day wins); the same for the abnormal-operation list (经营异常名录). Days since the
last event are capped at ``cfg.no_event_days`` (3650 = none in ten years). When a table is absent
its features are NaN and ``judicial_missing`` / ``admin_missing`` is 1; an enterprise without
events simply has zero counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.features._panel import (absent_source, FeatureConfig, PreparedRaw, bincount, day_index, frame, group_max,
                                       last_per_group, snapshot_day)
from smecredit.features.spec import FeatureSpec, missing_spec, windowed

JUD = "judicial_events"
ADM = "admin_events"

SPECS: list[FeatureSpec] = [
    *windowed("jud_lawsuits_{w}m", (12, 24), family="judicial", source=JUD, kind="count",
              en="Lawsuits as defendant", zh="作为被告的诉讼", unit="cases", direction="up"),
    *windowed("jud_enforcements_{w}m", (12, 24), family="judicial", source=JUD, kind="count",
              en="Enforcement cases", zh="被执行案件", unit="cases", direction="up"),
    FeatureSpec("jud_amount_24m", "judicial", JUD, 24, "total", "Amount in court cases", "涉诉及被执行金额",
                "CNY", "up"),
    FeatureSpec("jud_days_since_last", "judicial", JUD, None, "days", "court event", "司法事件", "days", "down"),
    FeatureSpec("jud_dishonest_now", "judicial", JUD, None, "flag", "Listed as a dishonest debtor",
                "被列入失信被执行人名单", "", "up", {"0.0": ("Not listed as a dishonest debtor", "未被列入失信被执行人名单")}),
    missing_spec("judicial", JUD, "court", "司法"),
    *windowed("adm_penalties_{w}m", (12, 24), family="admin", source=ADM, kind="count",
              en="Administrative penalties", zh="行政处罚", unit="cases", direction="up"),
    FeatureSpec("adm_major_penalties_24m", "admin", ADM, 24, "count", "Major administrative penalties",
                "重大行政处罚", "cases", "up"),
    FeatureSpec("adm_penalty_amount_24m", "admin", ADM, 24, "total", "Penalty amounts", "罚款金额", "CNY", "up"),
    FeatureSpec("adm_env_penalties_24m", "admin", ADM, 24, "count", "Environmental penalties", "环保处罚",
                "cases", "up"),
    FeatureSpec("adm_days_since_last", "admin", ADM, None, "days", "administrative penalty or listing",
                "行政处罚或列入经营异常", "days", "down"),
    FeatureSpec("adm_abnormal_now", "admin", ADM, None, "flag", "On the abnormal-operation list",
                "被列入经营异常名录", "", "up", {"0.0": ("Not on the abnormal-operation list", "未被列入经营异常名录")}),
    missing_spec("admin", ADM, "administrative", "行政"),
]

PENALTIES = ("market_penalty", "environmental_penalty")


def _events(raw: PreparedRaw, table: str) -> dict[str, np.ndarray]:
    def build():
        df = raw.raw[table]
        return {
            "code": raw.codes(table),
            "day": day_index(df["event_date"]),
            "type": df["event_type"].to_numpy(dtype=object),
            "amount": pd.to_numeric(df["amount"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
            "severity": (df["severity"].to_numpy(dtype=object) if "severity" in df.columns
                         else np.full(len(df), None, dtype=object)),
        }
    return raw.cached(("events", table), build)


def _window_mask(day: np.ndarray, s: int, months: int | None) -> np.ndarray:
    known = day <= s
    if months is None:
        return known
    return known & (day > s - months * 30.4375)


def _list_status(ev: dict, mask: np.ndarray, listed: str, removed: str, n: int) -> np.ndarray:
    sel = mask & np.isin(ev["type"], [listed, removed])
    is_listed = (ev["type"][sel] == listed).astype(np.float64)
    # order: by day, then listing before removal on the same day (removal wins)
    status = last_per_group(ev["code"][sel], [1.0 - is_listed, ev["day"][sel]], n, is_listed, fill=0.0)
    return status


def _days_since(ev: dict, mask: np.ndarray, s: int, n: int, cap: float) -> np.ndarray:
    last = group_max(ev["code"][mask], ev["day"][mask], n)
    out = s - last
    return np.where(np.isnan(out), cap, np.minimum(out, cap))


def judicial_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Court-event features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS if s.family == "judicial"]
    if not raw.has(JUD):
        return absent_source(raw, names, "judicial_missing")
    ev, s, n = _events(raw, JUD), snapshot_day(snapshot), raw.n
    cols: dict[str, np.ndarray] = {}
    for w in (12, 24):
        m = _window_mask(ev["day"], s, w)
        cols[f"jud_lawsuits_{w}m"] = bincount(ev["code"][m & (ev["type"] == "lawsuit_defendant")], n)
        cols[f"jud_enforcements_{w}m"] = bincount(ev["code"][m & (ev["type"] == "enforcement")], n)
    m24 = _window_mask(ev["day"], s, 24) & ~np.isnan(ev["amount"]) \
        & np.isin(ev["type"], ["lawsuit_defendant", "enforcement"])
    cols["jud_amount_24m"] = bincount(ev["code"][m24], n, ev["amount"][m24])
    known = _window_mask(ev["day"], s, None)
    cols["jud_days_since_last"] = _days_since(ev, known, s, n, cfg.no_event_days)
    cols["jud_dishonest_now"] = _list_status(ev, known, "dishonest_debtor_listed", "dishonest_debtor_removed", n)
    cols["judicial_missing"] = np.zeros(n)
    return frame(raw, cols)[names]


def admin_features(raw: PreparedRaw, snapshot: pd.Timestamp, cfg: FeatureConfig) -> pd.DataFrame:
    """Administrative-event features of every enterprise at ``snapshot`` (see module docstring)."""
    names = [s.name for s in SPECS if s.family == "admin"]
    if not raw.has(ADM):
        return absent_source(raw, names, "admin_missing")
    ev, s, n = _events(raw, ADM), snapshot_day(snapshot), raw.n
    pen = np.isin(ev["type"], PENALTIES)
    cols: dict[str, np.ndarray] = {}
    for w in (12, 24):
        cols[f"adm_penalties_{w}m"] = bincount(ev["code"][_window_mask(ev["day"], s, w) & pen], n)
    m24 = _window_mask(ev["day"], s, 24)
    cols["adm_major_penalties_24m"] = bincount(ev["code"][m24 & pen & (ev["severity"] == "major")], n)
    amt = m24 & pen & ~np.isnan(ev["amount"])
    cols["adm_penalty_amount_24m"] = bincount(ev["code"][amt], n, ev["amount"][amt])
    cols["adm_env_penalties_24m"] = bincount(ev["code"][m24 & (ev["type"] == "environmental_penalty")], n)
    known = _window_mask(ev["day"], s, None)
    adverse = known & np.isin(ev["type"], [*PENALTIES, "abnormal_operation_in"])
    cols["adm_days_since_last"] = _days_since(ev, adverse, s, n, cfg.no_event_days)
    cols["adm_abnormal_now"] = _list_status(ev, known, "abnormal_operation_in", "abnormal_operation_out", n)
    cols["admin_missing"] = np.zeros(n)
    return frame(raw, cols)[names]
