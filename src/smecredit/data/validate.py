"""Validation of raw tables against the data model (``smecredit validate``).

:func:`validate_raw` checks a folder of Parquet or CSV files, one per table, and returns a
:class:`ValidationReport` listing every violation with table, column, check, the first
offending rows and their values. Rows are spreadsheet row numbers: the header line is row 1,
so the first record of a file (CSV or Parquet) is row 2. Values of PII columns
(enterprise ids, names) are masked in the report.

Checks: required tables and columns present; types (dates, numbers, booleans parse);
non-nullable columns filled; allowed values; numeric ranges (amounts never negative); valid
unified social credit codes (GB 32100-2015); no duplicate keys; no dates in the future;
``enterprise_id`` of every table known in ``enterprises``; numbers finite (``inf`` refused).
A table with a missing column still has its other columns checked; a cell reported once (e.g.
text in a number column) is not reported again by a later check.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # pandera imports pyspark.pandas when pyspark is installed: it warns about pandas 3
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    import pandera.pandas as pa

from smecredit.data import uscc
from smecredit.data.schemas import TABLES, Column, TableSpec
from smecredit.exceptions import DataContractError, sheet_row

log = logging.getLogger(__name__)
MAX_ROWS_SHOWN = 5
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass
class Violation:
    table: str
    column: str | None
    check: str
    rows: list[int] = field(default_factory=list)  # spreadsheet row numbers (header = row 1)
    values: list[str] = field(default_factory=list)
    n_rows: int = 0

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where}: {self.check}"
        if self.n_rows:
            text += f" — {self.n_rows} row(s), first spreadsheet rows {self.rows}"
            if self.values:
                text += f" values {self.values}"
        return text


@dataclass
class ValidationReport:
    folder: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    missing_optional: list[str] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        lines = [f"raw folder {self.folder}: {len(self.tables)} table(s) read"]
        for name, n in self.tables.items():
            lines.append(f"  {name}: {n:,} rows")
        for name in self.missing_optional:
            lines.append(f"  {name}: optional table not provided (its features will be missing)")
        for name in self.unknown_files:
            lines.append(f"  {name}: not a table of the data model, ignored")
        if self.violations:
            lines.append(f"{len(self.violations)} violation(s) (rows are spreadsheet rows: header = row 1):")
            lines += [f"  - {v}" for v in self.violations]
        else:
            lines.append("no violations")
        return "\n".join(lines)

    def add(self, violation: Violation) -> None:
        """Record ``violation`` unless the very same one is already recorded."""
        if str(violation) not in {str(v) for v in self.violations}:
            self.violations.append(violation)

    def raise_if_invalid(self) -> None:
        if not self.ok:
            raise DataContractError(self.summary())


def find_table_file(folder: Path, name: str) -> Path | None:
    """``<name>.parquet`` or ``<name>.csv`` in ``folder`` (None if neither); both is ambiguous:
    :class:`DataContractError` rather than a silent pick."""
    found = [p for p in (folder / f"{name}.parquet", folder / f"{name}.csv") if p.exists()]
    if len(found) > 1:
        raise DataContractError(f"table {name!r} is ambiguous in {folder}: both {name}.parquet and {name}.csv exist; "
                                "keep one of them")
    return found[0] if found else None


def _mask(value: object, column: Column) -> str:
    text = str(value)
    if column.pii:
        return text[:4] + "…" if len(text) > 4 else "…"
    return text[:40]


def _bad(report: ValidationReport, spec: TableSpec, column: Column | None, check: str,
         mask: pd.Series, values: pd.Series | None = None) -> None:
    mask = mask.fillna(False).astype(bool)
    n = int(mask.sum())
    if not n:
        return
    pos = np.flatnonzero(mask.to_numpy())[:MAX_ROWS_SHOWN]
    shown: list[str] = []
    if values is not None and column is not None:
        shown = [_mask(v, column) for v in values.iloc[pos]]
    report.add(Violation(spec.name, column.name if column else None, check, [sheet_row(i) for i in pos], shown, n))


def coerce_types(df: pd.DataFrame, spec: TableSpec, report: ValidationReport,
                 reported: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Convert columns to their model types; record values that cannot be converted.

    Numbers must be finite: ``inf``/``-inf`` are reported and set missing. ``reported`` (when
    given) receives, per column, the mask of cells reported here, so later checks skip them.
    """
    out = {}
    for col in spec.all_columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if col.dtype == "date":
            conv = pd.to_datetime(s, errors="coerce")
            if isinstance(conv.dtype, pd.DatetimeTZDtype):
                conv = conv.dt.tz_localize(None)
            conv = conv.astype("datetime64[ns]")
        elif col.dtype in ("float", "int"):
            if s.dtype == bool:  # True/False is not an amount
                conv = pd.Series(np.nan, index=s.index)
            else:
                conv = pd.to_numeric(s, errors="coerce").astype("float64")
            inf = pd.Series(np.isinf(conv.to_numpy()), index=s.index)
            _bad(report, spec, col, "infinite value: expected a finite number", inf, s)
            conv = conv.where(~inf, np.nan)
            if col.dtype == "int":
                frac = conv.notna() & (conv != np.floor(conv))
                _bad(report, spec, col, "wrong type: expected whole numbers", frac, s)
        elif col.dtype == "bool":
            if s.dtype == bool:
                conv = s
            else:
                low = s.astype("string").str.strip().str.lower()
                conv = pd.Series(pd.NA, index=s.index, dtype="boolean")
                conv[low.isin(_TRUE).fillna(False)] = True
                conv[low.isin(_FALSE).fillna(False)] = False
        else:
            conv = s.astype("string").astype(object).where(s.notna(), None)
        failed = s.notna() & pd.Series(conv, index=s.index).isna()
        if col.dtype in ("float", "int"):
            inf_cells = inf
            failed &= ~inf_cells
        else:
            inf_cells = pd.Series(False, index=s.index)
        _bad(report, spec, col, f"wrong type: expected {col.dtype}", failed, s)
        if reported is not None:
            reported[col.name] = (failed | inf_cells).to_numpy(dtype=bool)
        out[col.name] = conv
    return pd.DataFrame(out, index=df.index)


def pandera_schema(spec: TableSpec, today: dt.date | None = None, columns=None) -> pa.DataFrameSchema:
    """The pandera schema of a table (or of its ``columns`` only), for frames already converted to model types."""
    today_ts = pd.Timestamp(today or dt.date.today())
    cols = {}
    for c in spec.all_columns:
        if columns is not None and c.name not in columns:
            continue
        checks = []
        if c.allowed:
            checks.append(pa.Check.isin(list(c.allowed), error="allowed values"))
        if c.min_value is not None:
            checks.append(pa.Check.ge(c.min_value, error=f"must be >= {c.min_value:g}"))
        if c.max_value is not None:
            checks.append(pa.Check.le(c.max_value, error=f"must be <= {c.max_value:g}"))
        if c.dtype == "date" and not c.future_ok:
            checks.append(pa.Check.le(today_ts, error="date in the future"))
        if c.uscc:
            checks.append(pa.Check(lambda s: uscc.valid_mask(s), element_wise=False,
                                   error="invalid unified social credit code (GB 32100 check character)"))
        cols[c.name] = pa.Column(nullable=c.nullable, checks=checks, required=True)
    unique = list(spec.key) if all(k in cols for k in spec.key) else None
    return pa.DataFrameSchema(cols, unique=unique, report_duplicates="all", strict=False)


def validate_table(df: pd.DataFrame, spec: TableSpec, report: ValidationReport,
                   today: dt.date | None = None) -> pd.DataFrame | None:
    """Validate one table; append violations to ``report``; return the typed frame."""
    missing = [c.name for c in spec.columns if c.name not in df.columns]
    absent = [c.name for c in spec.optional_columns if c.name not in df.columns]
    if absent:  # an optional column absent from the file is read as all missing
        df = df.assign(**{c: pd.Series([None] * len(df), index=df.index, dtype=object) for c in absent})
    before = len(report.violations)
    if missing:  # reported, and the columns present are still checked
        report.add(Violation(spec.name, ", ".join(missing), "missing required column(s)"))
    reported: dict[str, np.ndarray] = {}
    typed = coerce_types(df, spec, report, reported)
    schema = pandera_schema(spec, today, columns=list(typed.columns))
    try:
        with warnings.catch_warnings():  # pandera probes for pyspark.pandas, which warns about pandas 3 on import
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
            schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        for (column, check), grp in fc.groupby(["column", "check"], sort=False, dropna=False):
            col = spec.column(column) if isinstance(column, str) and column in [c.name for c in spec.all_columns] else None
            idx = pd.to_numeric(grp["index"], errors="coerce").dropna().astype(int)
            rows = sorted(set(idx.tolist()))
            name = str(check)
            if name == "not_nullable":
                name = "missing values in a non-nullable column"
            elif "unique" in name:  # pandera's field_uniqueness / multiple_fields_uniqueness
                name = f"duplicate key ({', '.join(spec.key)})"
                col = None
            elif name == "allowed values" and col is not None:
                name = f"values not in the allowed set {list(col.allowed)}"
            mask = pd.Series(False, index=typed.index)
            mask.iloc[[r for r in rows if r < len(mask)]] = True
            if col is not None and col.name in reported:  # already reported as a wrong type or infinite
                mask &= ~reported[col.name]
            if name.startswith("duplicate key"):
                report.add(Violation(spec.name, ", ".join(spec.key), name,
                                     [sheet_row(r) for r in rows[:MAX_ROWS_SHOWN]], [], len(rows)))
            else:
                _bad(report, spec, col, name, mask, typed[col.name] if col is not None else None)
    return typed if len(report.violations) == before else None


def validate_raw(folder: str | Path, *, today: dt.date | None = None) -> ValidationReport:
    """Validate every table file in ``folder`` against the data model."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataContractError(f"raw folder not found: {folder}")
    report = ValidationReport(str(folder))
    typed: dict[str, pd.DataFrame] = {}
    known = set(TABLES)
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix in (".parquet", ".csv") and p.stem not in known:
            report.unknown_files.append(p.name)
    for name, spec in TABLES.items():
        try:
            path = find_table_file(folder, name)
        except DataContractError:
            report.add(Violation(name, None, f"ambiguous: both {name}.parquet and {name}.csv exist; keep one of them"))
            continue
        if path is None:
            if spec.required:
                report.violations.append(Violation(name, None, f"required table missing (expected {name}.parquet or {name}.csv)"))
            else:
                report.missing_optional.append(name)
            continue
        try:
            df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=True)
        except (OSError, ValueError) as exc:
            report.violations.append(Violation(name, None, f"cannot read {path.name}: {exc}"))
            continue
        report.tables[name] = len(df)
        t = validate_table(df, spec, report, today)
        if t is not None:
            typed[name] = t
    # referential integrity: every enterprise_id must be registered
    if "enterprises" in typed:
        ids = pd.Index(typed["enterprises"]["enterprise_id"].unique())
        for name, df in typed.items():
            if name == "enterprises" or "enterprise_id" not in df.columns:
                continue
            unknown = ~df["enterprise_id"].isin(ids)
            _bad(report, TABLES[name], TABLES[name].column("enterprise_id"),
                 "enterprise_id not found in enterprises", unknown, df["enterprise_id"])
    if "loans" in typed and "loan_monthly" in typed:
        unknown = ~typed["loan_monthly"]["loan_id"].isin(typed["loans"]["loan_id"])
        _bad(report, TABLES["loan_monthly"], TABLES["loan_monthly"].column("loan_id"),
             "loan_id not found in loans", unknown, typed["loan_monthly"]["loan_id"])
    return report
