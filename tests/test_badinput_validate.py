"""Bad input to `smecredit validate`: every problem of a table, once, with spreadsheet row numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import validate_raw
from smecredit.simulation import simulate


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    return simulate(200, 18, 5, tmp_path_factory.mktemp("bv") / "raw")


@pytest.fixture
def city(small_city, tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(small_city, dst)
    return dst


def _to_csv(city: Path, table: str, fn) -> None:
    path = city / f"{table}.parquet"
    df = fn(pd.read_parquet(path))
    path.unlink()
    df.to_csv(city / f"{table}.csv", index=False)


def _validate(city, capsys):
    rc = main(["validate", "--raw", str(city)])
    return rc, capsys.readouterr().err


def _lines(err: str, table: str) -> list[str]:
    return [ln.strip() for ln in err.splitlines() if ln.strip().startswith(f"- {table}")]


def test_a_missing_column_does_not_hide_the_other_problems_of_the_table(city, capsys):
    def fn(d):
        d = d.drop(columns=["tax_paid"]).astype({"invoiced_sales": object})
        d.loc[4, "invoiced_sales"] = -5.0
        return d
    _to_csv(city, "tax_monthly", fn)
    rc, err = _validate(city, capsys)
    assert rc == 3
    assert "tax_monthly.tax_paid: missing required column(s)" in err
    assert "tax_monthly.invoiced_sales: must be >= 0" in err and "first spreadsheet rows [6]" in err


def test_text_in_a_number_column_is_reported_once_not_again_as_missing(city, capsys):
    def fn(d):
        d = d.astype({"invoiced_sales": object})
        d.loc[3, "invoiced_sales"] = "abc"
        return d
    _to_csv(city, "tax_monthly", fn)
    rc, err = _validate(city, capsys)
    assert rc == 3
    lines = _lines(err, "tax_monthly")
    assert lines == ["- tax_monthly.invoiced_sales: wrong type: expected float — 1 row(s), first spreadsheet "
                     "rows [5] values ['abc']"]


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_numbers_are_refused_in_parquet_and_csv(city, capsys, value):
    t = pd.read_parquet(city / "utilities_monthly.parquet")
    t.loc[[2, 9], "electricity_kwh"] = value
    t.to_parquet(city / "utilities_monthly.parquet")
    rc, err = _validate(city, capsys)
    assert rc == 3
    assert _lines(err, "utilities_monthly") == [
        f"- utilities_monthly.electricity_kwh: infinite value: expected a finite number — 2 row(s), first spreadsheet "
        f"rows [4, 11] values ['{value}', '{value}']"]
    _to_csv(city, "utilities_monthly", lambda d: d)
    rc, err2 = _validate(city, capsys)
    assert rc == 3 and "infinite value" in err2 and "[4, 11]" in err2


def test_each_violation_is_printed_once(city, capsys):
    # a duplicated record of a two-column key used to be reported once per key column
    _to_csv(city, "tax_monthly", lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True))
    rc, err = _validate(city, capsys)
    assert rc == 3
    lines = _lines(err, "tax_monthly")
    assert len(lines) == len(set(lines)) == 1 and "duplicate key (enterprise_id, month_end)" in lines[0]
    rep = validate_raw(city)
    assert len({str(v) for v in rep.violations}) == len(rep.violations)


def test_row_numbers_are_spreadsheet_rows_and_say_so(city, capsys):
    def fn(d):
        d.loc[0, "event_date"] = pd.Timestamp("2099-01-01")  # first record = spreadsheet row 2
        return d
    _to_csv(city, "judicial_events", fn)
    rc, err = _validate(city, capsys)
    assert rc == 3
    assert "rows are spreadsheet rows: header = row 1" in err
    assert "judicial_events.event_date: date in the future — 1 row(s), first spreadsheet rows [2]" in err
    lines = (city / "judicial_events.csv").read_text().splitlines()
    assert "2099-01-01" in lines[2 - 1]  # row 2 of the file as a spreadsheet shows it


def test_a_table_present_as_parquet_and_csv_is_ambiguous_not_silently_picked(city, capsys):
    pd.read_parquet(city / "enterprises.parquet").to_csv(city / "enterprises.csv", index=False)
    rc, err = _validate(city, capsys)
    assert rc == 3 and "enterprises: ambiguous: both enterprises.parquet and enterprises.csv exist" in err
    rc = main(["features", "--raw", str(city), "--out", str(city.parent / "feat"), "--every", "6M"])
    assert rc == 3 and "ambiguous" in capsys.readouterr().err
    assert not (city.parent / "feat").exists()
