"""Loading a raw folder into typed DataFrames.

>>> raw = load_raw("city")            # doctest: +SKIP
>>> raw["tax_monthly"].head()         # doctest: +SKIP

Tables are read from ``<table>.parquet`` or ``<table>.csv``, checked against the data model
(see :mod:`smecredit.data.validate`) and returned with model types: dates as
``datetime64[ns]``, numbers as float64 (ints stay int64 where no value is missing), booleans
as bool, text as object. Missing optional tables are listed in ``RawData.missing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from smecredit.data.schemas import TABLES
from smecredit.data.validate import ValidationReport, coerce_types, find_table_file, validate_table
from smecredit.exceptions import DataContractError
from smecredit.io import read_table_file


@dataclass
class RawData(Mapping):
    """A mapping table name → DataFrame, plus what was missing."""

    tables: dict[str, pd.DataFrame]
    folder: str = ""
    missing: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self.tables:
            if key in TABLES:
                raise DataContractError(f"table {key!r} is not available in raw folder {self.folder or '(memory)'}")
            raise KeyError(key)
        return self.tables[key]

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def get(self, key, default=None):
        return self.tables.get(key, default)


def _finalise(df: pd.DataFrame, name: str) -> pd.DataFrame:
    spec = TABLES[name]
    out = {}
    for c in spec.all_columns:
        if c.name not in df.columns:   # an optional column of a table loaded without validation
            out[c.name] = pd.Series([None] * len(df), index=df.index, dtype=object)
            continue
        s = df[c.name]
        if c.dtype == "int" and not s.isna().any():
            s = s.astype("int64")
        elif c.dtype == "bool":
            s = s.fillna(False).astype(bool)
        out[c.name] = s
    return pd.DataFrame(out)


def load_raw(folder: str | Path, tables: Iterable[str] | None = None, *, validate: bool = True) -> RawData:
    """Load (and by default validate) the raw tables of ``folder``.

    Raises :class:`DataContractError` listing every violation when a table breaks the model,
    or when a required table is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataContractError(f"raw folder not found: {folder}")
    names = list(TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise DataContractError(f"unknown table(s) {unknown}; the data model has {list(TABLES)}")
    report = ValidationReport(str(folder))
    out: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for name in names:
        spec = TABLES[name]
        path = find_table_file(folder, name)
        if path is None:
            if spec.required:
                raise DataContractError(f"required table {name!r} missing in {folder} "
                                        f"(expected {name}.parquet or {name}.csv)")
            missing.append(name)
            continue
        df = read_table_file(path, csv_kwargs={"dtype": str})  # corrupt or mislabelled: DataContractError
        typed = validate_table(df, spec, report) if validate else coerce_types(df, spec, report)
        if typed is not None:
            out[name] = _finalise(typed, name)
    report.raise_if_invalid()
    return RawData(out, str(folder), missing)


def from_frames(frames: Mapping[str, pd.DataFrame], *, validate: bool = True) -> RawData:
    """Build :class:`RawData` from in-memory frames (e.g. hand-made test enterprises)."""
    report = ValidationReport("(memory)")
    out = {}
    for name, df in frames.items():
        if name not in TABLES:
            raise DataContractError(f"unknown table {name!r}; the data model has {list(TABLES)}")
        typed = validate_table(df, TABLES[name], report) if validate else df
        if typed is not None:
            out[name] = _finalise(typed, name)
    report.raise_if_invalid()
    missing = [n for n in TABLES if n not in out]
    return RawData(out, "(memory)", missing)
