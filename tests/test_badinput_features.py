"""Bad input to `smecredit features`: infinite or missing numbers and ambiguous tables are refused
with table, column and rows named, and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.simulation import simulate


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    return simulate(200, 24, 9, tmp_path_factory.mktemp("bf") / "raw")


@pytest.fixture
def city(small_city, tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(small_city, dst)
    return dst


def _features(city: Path, capsys, *extra):
    out = city.parent / "feat"
    when = list(extra) if "--snapshots" in extra else ["--every", "6M", *extra]
    rc = main(["features", "--raw", str(city), "--out", str(out), *when])
    return rc, capsys.readouterr(), out


def test_clean_city_gives_finite_features(city, capsys):
    rc, io, out = _features(city, capsys)
    assert rc == 0, io.err
    f = pd.read_parquet(out / "features.parquet")
    num = f.select_dtypes("number").to_numpy(dtype="float64")
    assert not np.isinf(num).any()


@pytest.mark.parametrize("chunk", [[], ["--snapshots", "2024-06-30,2024-12-31", "--chunk-size", "50"]])
def test_infinite_raw_value_is_refused_not_turned_into_infinite_features(city, capsys, chunk):
    t = pd.read_parquet(city / "tax_monthly.parquet")
    t.loc[7, "invoiced_sales"] = np.inf
    t.to_parquet(city / "tax_monthly.parquet")
    rc, io, out = _features(city, capsys, *chunk)
    assert rc == 3
    assert "tax_monthly.invoiced_sales: infinite value: expected a finite number" in io.err
    if not chunk:  # whole-file reading names the row of the file
        assert "first spreadsheet rows [9]" in io.err
    assert not out.exists()


def test_missing_value_in_a_required_number_is_refused(city, capsys):
    t = pd.read_parquet(city / "loan_monthly.parquet")
    t.loc[3, "balance"] = np.nan
    t.to_parquet(city / "loan_monthly.parquet")
    rc, io, out = _features(city, capsys)
    assert rc == 3
    assert "loan_monthly.balance: missing values in a non-nullable column" in io.err and "[5]" in io.err
    assert not out.exists()


def test_a_table_in_both_formats_is_refused(city, capsys):
    pd.read_parquet(city / "tax_monthly.parquet").head(3).to_csv(city / "tax_monthly.csv", index=False)
    rc, io, out = _features(city, capsys)
    assert rc == 3 and "tax_monthly" in io.err and "ambiguous" in io.err
    assert not out.exists()
