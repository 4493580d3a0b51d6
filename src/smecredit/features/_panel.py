"""Shared machinery of the feature families: month arithmetic, enterprise × month panels, windows.

Every feature family works on a :class:`PreparedRaw`: the raw tables plus, computed once and
cached, the integer code of each row's enterprise and dense ``enterprise × month`` matrices of
the monthly tables (NaN where an enterprise has no record for a month). A snapshot only ever
reads the matrix columns of months that ended on or before it, so records dated after the
snapshot cannot influence its features (the point-in-time rule).

Month indices are integers counted from January 1970 (``datetime64[M]``). The *anchor* month of
a snapshot is the last calendar month that has fully ended on the snapshot date: the snapshot's
own month when the snapshot is a month end, otherwise the month before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from smecredit.data.loaders import RawData
from smecredit.data.schemas import AVAILABLE_DATE, AVAILABLE_DATE_TABLES, TABLES
from smecredit.exceptions import DataContractError
from smecredit.features._vector import (THREE_YEARS_DAYS, bincount, cv, group_max, last_per_group,  # noqa: F401
                                        mean_per_group, nan_count, nan_max, nan_mean, nan_std, nan_sum, rel_slope,
                                        safe_ratio)
from smecredit.features.config import FeatureConfig  # noqa: F401 (the families import it from here)

log = logging.getLogger(__name__)

MONTHLY_TABLES = ("tax_monthly", "utilities_monthly", "social_insurance_monthly", "loan_monthly")
NONPERFORMING_RANK = 2  # rank of 次级 in RISK_CLASSES: 次级/可疑/损失 are non-performing


def _dates(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[ns]")
    return arr


def index_of(index: pd.Index, values: Any) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent), via the distinct values (fast for long columns)."""
    codes, uniques = pd.factorize(values)
    pos = index.get_indexer(pd.Index(uniques))
    out = np.where(codes >= 0, pos[np.maximum(codes, 0)], -1)
    return out.astype(np.int64)


def month_index(values: Any) -> np.ndarray:
    """Integer month index (months since 1970-01) of dates; NaT becomes ``-1``."""
    arr = _dates(values)
    nat = np.isnat(arr)
    out = arr.astype("datetime64[M]").astype(np.int64)
    out[nat] = -1
    return out


def day_index(values: Any) -> np.ndarray:
    """Integer day index (days since 1970-01-01) as float64; NaT becomes NaN."""
    arr = _dates(values)
    nat = np.isnat(arr)
    out = arr.astype("datetime64[D]").astype(np.int64).astype(np.float64)
    out[nat] = np.nan
    return out


def snapshot_day(snapshot: pd.Timestamp) -> int:
    """Day index of a snapshot date."""
    return int(np.datetime64(pd.Timestamp(snapshot).date(), "D").astype(np.int64))


def anchor_month(snapshot: pd.Timestamp) -> int:
    """Index of the last month that has fully ended on ``snapshot``."""
    ts = pd.Timestamp(snapshot)
    m = (ts.year - 1970) * 12 + ts.month - 1
    return m if ts.is_month_end else m - 1


def month_label(m: int) -> str:
    """``YYYY-MM`` text of a month index."""
    return str(np.datetime64(int(m), "M"))


@dataclass
class Panel:
    """A dense ``enterprise × month`` matrix; ``values[:, j]`` is month ``m0 + j``."""

    values: np.ndarray
    m0: int

    @property
    def m1(self) -> int:
        return self.m0 + self.values.shape[1] - 1

    def window(self, anchor: int, months: int, lag: int = 0) -> np.ndarray:
        """Columns of months ``anchor - lag - months + 1 … anchor - lag`` (NaN outside the panel)."""
        hi = anchor - lag
        lo = hi - months + 1
        out = np.full((self.values.shape[0], months), np.nan)
        a, b = max(lo, self.m0), min(hi, self.m1)
        if a <= b:
            out[:, a - lo:b - lo + 1] = self.values[:, a - self.m0:b - self.m0 + 1]
        return out

    def at(self, anchor: int, lag: int = 0) -> np.ndarray:
        """Column of one month (NaN when outside the panel)."""
        return self.window(anchor, 1, lag)[:, 0]


@dataclass
class PreparedRaw:
    """Raw tables with cached enterprise codes and monthly panels (see module docstring).

    Build it with :func:`prepare`. ``ids`` are the enterprise ids in sorted order; every
    feature frame is aligned to them. ``month_ranges`` gives the first and last month of each
    monthly table of the *whole* data when this object holds only part of it (a chunk of
    enterprises): month ranges decide the label's observability and which months lie inside the
    data, so a chunk must use those of the whole data to give the rows the whole build gives.
    """

    raw: RawData
    ids: np.ndarray
    month_ranges: dict[str, tuple[int, int] | None] | None = None
    #: Inputs of the guarantee-network family computed on the whole data (``features.network.NetworkData``):
    #: links and statuses of other enterprises, which a chunk does not hold.
    network: Any = None
    #: Per monthly table of the whole data: ``(months, first day any row of the month was known)``, or None when
    #: the table has no ``available_date`` value (see :meth:`published_through`).
    publication: dict[str, tuple[np.ndarray, np.ndarray] | None] | None = None
    _codes: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def index(self) -> pd.Index:
        """The enterprise ids as an index named ``enterprise_id`` (cached)."""
        return self.cached("ids_index", lambda: pd.Index(self.ids, name="enterprise_id"))

    @property
    def registry(self) -> pd.DataFrame:
        """The enterprises table in the order of :attr:`ids` (cached)."""
        def build():
            ent = self.raw["enterprises"]
            return ent.iloc[np.argsort(self.codes("enterprises"), kind="stable")].reset_index(drop=True)
        return self.cached("registry", build)

    def has(self, table: str) -> bool:
        return table in self.raw.tables

    def table(self, table: str) -> pd.DataFrame | None:
        return self.raw.tables.get(table)

    def codes(self, table: str) -> np.ndarray:
        """Position in :attr:`ids` of each row's enterprise."""
        if table not in self._codes:
            df = self.raw[table]
            codes = index_of(self.index, df["enterprise_id"])
            unknown = np.flatnonzero(codes < 0)
            if unknown.size:
                raise DataContractError(
                    f"{table}.enterprise_id: {unknown.size} row(s) refer to enterprises absent from the "
                    f"enterprises table, first spreadsheet rows {(unknown[:5] + 2).tolist()}")
            self._codes[table] = codes
        return self._codes[table]

    def cached(self, key: Any, build) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def panel(self, table: str, column: str) -> Panel:
        """Dense panel of ``table.column`` (monthly tables keyed by enterprise and month)."""
        return self.cached(("panel", table, column), lambda: self._build_panel(table, column))

    def month_range(self, table: str) -> tuple[int, int] | None:
        """First and last month index present in a monthly table (None if absent or empty), or the range of
        the whole data given as ``month_ranges``."""
        if self.month_ranges is not None and table in self.month_ranges:
            return self.month_ranges[table]

        def build():
            df = self.table(table)
            if df is None or df.empty:
                return None
            m = month_index(df["month_end"])
            return int(m.min()), int(m.max())
        return self.cached(("range", table), build)

    def _build_panel(self, table: str, column: str) -> Panel:
        df = self.raw[table]
        rng = self.month_range(table)
        if rng is None:
            return Panel(np.full((self.n, 1), np.nan), 0)
        m0, m1 = rng
        values = np.full((self.n, m1 - m0 + 1), np.nan)
        m = month_index(df["month_end"]) - m0
        vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        values[self.codes(table), m] = vals
        return Panel(values, m0)

    def publication_of(self, table: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(months, first known day)`` of a monthly table (given for the whole data, or from its own rows)."""
        if self.publication is not None and table in self.publication:
            return self.publication[table]
        return self.cached(("publication", table), lambda: publication_schedule(self.table(table)))

    def published_through(self, table: str, snapshot: pd.Timestamp) -> int:
        """The last month of ``table`` published at ``snapshot`` (at most the anchor month).

        With publication lags, the months after it are *not yet reported* rather than months without a record:
        counting features of months without records (e.g. ``tax_zero_months_12m``) stop there. Without any
        ``available_date`` value in the table, the anchor month (today's rule).
        """
        a = anchor_month(snapshot)
        sched = self.publication_of(table)
        if sched is None:
            return a
        months, first = sched
        ok = (months <= a) & (first <= snapshot_day(snapshot))
        return int(months[ok].max()) if ok.any() else -1  # nothing published yet: no month is in scope

    def known_at(self, snapshot: pd.Timestamp) -> PreparedRaw:
        """The raw tables as the bank knew them on ``snapshot``: rows whose ``available_date`` (publication lag)
        falls after the snapshot are left out. ``self`` when no row is hidden (no lag column, or every dated
        row published by then), so data without publication lags are featurised exactly as before.

        The view keeps the month ranges and the network inputs of the whole data (the network family applies
        the publication lags of the statuses itself): it changes which records are known, not where the
        data start and end.
        """
        day = snapshot_day(snapshot)
        keep: dict[str, np.ndarray] = {}
        for name in AVAILABLE_DATE_TABLES:
            df = self.raw.tables.get(name)
            if df is None or AVAILABLE_DATE not in df.columns:
                continue
            avail = self.cached(("available_day", name), lambda d=df: day_index(d[AVAILABLE_DATE]))
            hidden = avail > day  # NaN (no available date) compares False: known at its as-of date
            if hidden.any():
                keep[name] = ~hidden
        if not keep:
            return self
        from smecredit.features.network import network_of  # noqa: PLC0415 (the family builds on this module)

        tables = {name: (df[keep[name]].reset_index(drop=True) if name in keep else df)
                  for name, df in self.raw.tables.items()}
        codes = {name: (c[keep[name]] if name in keep else c) for name, c in self._codes.items()}
        ranges = {t: self.month_range(t) for t in MONTHLY_TABLES}
        publication = {t: self.publication_of(t) for t in MONTHLY_TABLES}
        return PreparedRaw(RawData(tables, self.raw.folder, list(self.raw.missing)), self.ids, month_ranges=ranges,
                           network=network_of(self), publication=publication, _codes=codes)

    def registered_by_month(self, month: int) -> np.ndarray:
        """True where the enterprise was registered on or before the first day of ``month``, so that its records
        can cover that whole month (True when the registration date is unknown: nothing to compare against).

        A feature comparing with a prior period (year-on-year growth, change against earlier months) is NaN
        where this is False for the first month of the prior period: before registration there are no records,
        and a partial first month or no month at all is not a prior period (see :func:`since_registration`).
        """
        reg = self.cached("reg_day", lambda: day_index(self.registry["registration_date"]))
        first = float(np.datetime64(int(month), "M").astype("datetime64[D]").astype(np.int64))
        return ~(reg > first)

    def data_months(self) -> tuple[int, int]:
        """First and last month covered by any monthly table."""
        ranges = [r for r in (self.month_range(t) for t in MONTHLY_TABLES if self.has(t)) if r is not None]
        if not ranges:
            raise DataContractError("no monthly records at all (loan_monthly, tax_monthly, utilities_monthly, "
                                    "social_insurance_monthly are empty or absent): cannot place snapshots in time")
        return min(r[0] for r in ranges), max(r[1] for r in ranges)


def publication_schedule(df: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray] | None:
    """For a monthly table: its months and, per month, the first day one of its rows was known (the later of the
    month end and the row's ``available_date``); None when the table has no ``available_date`` value."""
    if df is None or AVAILABLE_DATE not in df.columns or df.empty:
        return None
    avail = day_index(df[AVAILABLE_DATE])
    if np.isnan(avail).all():
        return None
    month_end = day_index(df["month_end"])
    known = np.where(np.isnan(avail), month_end, np.fmax(avail, month_end))
    first = pd.Series(known).groupby(month_index(df["month_end"])).min()
    return first.index.to_numpy(dtype=np.int64), first.to_numpy(dtype=np.float64)


def prepare(raw: RawData | PreparedRaw) -> PreparedRaw:
    """Wrap raw data for feature building (idempotent)."""
    if isinstance(raw, PreparedRaw):
        return raw
    if not isinstance(raw, RawData):
        raise DataContractError(f"expected RawData from smecredit.data.load_raw/from_frames; got {type(raw).__name__}")
    for name in ("enterprises", "loans", "loan_monthly"):
        if name not in raw.tables:
            raise DataContractError(f"table {name!r} is required to build features but is missing in "
                                    f"{raw.folder or '(memory)'}")
    for name, df in raw.tables.items():
        missing = [c for c in TABLES[name].column_names if c not in df.columns]
        if missing:
            raise DataContractError(f"{name}: missing column(s) {missing}")
    ent = raw.tables["enterprises"]["enterprise_id"]
    dup = ent.duplicated(keep="first").to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        raise DataContractError(f"enterprises.enterprise_id: {rows.size} duplicate id(s), "
                                f"first spreadsheet rows {(rows[:5] + 2).tolist()}")
    ids = np.sort(ent.to_numpy(dtype=object))
    return PreparedRaw(raw, ids)


# ---------------------------------------------------------------------------------------------
# Helpers on panels and feature frames (the row statistics live in _vector, re-exported here for the families)

def yoy(panel: Panel, anchor: int, months: int) -> np.ndarray:
    """Year-on-year change of the sum over the last ``months`` months.

    Only months observed both this year and a year earlier are compared; NaN when none are or
    when last year's sum is zero. The families use :func:`yoy_registered` (NaN for enterprises registered
    after the prior period began).
    """
    cur = panel.window(anchor, months)
    prev = panel.window(anchor, months, lag=12)
    both = ~np.isnan(cur) & ~np.isnan(prev)
    s_cur = np.where(both, cur, 0.0).sum(axis=1)
    s_prev = np.where(both, prev, 0.0).sum(axis=1)
    out = safe_ratio(s_cur, s_prev) - 1.0
    out[both.sum(axis=1) == 0] = np.nan
    return out


def since_registration(prep: PreparedRaw, values: np.ndarray, first_prior_month: int) -> np.ndarray:
    """``values`` of a comparison with a prior period starting in month ``first_prior_month``, NaN for enterprises
    registered after the first day of that month (the prior period lies, at least partly, before registration:
    comparing with the zeros or absent months before it would read a newborn's start-up as growth)."""
    return np.where(prep.registered_by_month(first_prior_month), values, np.nan)


def yoy_registered(prep: PreparedRaw, panel: Panel, anchor: int, months: int) -> np.ndarray:
    """:func:`yoy` of ``months`` months, NaN where the year-earlier months start before registration."""
    return since_registration(prep, yoy(panel, anchor, months), anchor - 12 - months + 1)


def empty_frame(prep: PreparedRaw, names: list[str]) -> pd.DataFrame:
    """All-NaN frame for the given feature names (used when a family's table is absent)."""
    return pd.DataFrame({n: np.full(prep.n, np.nan) for n in names}, index=prep.index)


def frame(prep: PreparedRaw, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """Feature frame indexed by enterprise id from a dict of column arrays."""
    return pd.DataFrame(cols, index=prep.index)


def absent_source(prep: PreparedRaw, names: list[str], missing: str) -> pd.DataFrame:
    """Features of a family whose source table is absent: every value NaN, the indicator ``missing`` 1."""
    cols = {c: np.full(prep.n, np.nan) for c in names}
    cols[missing] = np.ones(prep.n)
    return frame(prep, cols)
