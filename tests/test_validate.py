"""Bad raw input gets a clear message naming table, column and rows, and a non-zero exit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import from_frames, load_raw, validate_raw
from smecredit.simulation import simulate
from smecredit.exceptions import DataContractError


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    return simulate(300, 18, 11, tmp_path_factory.mktemp("v") / "raw")


@pytest.fixture
def city(small_city, tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(small_city, dst)
    return dst


def _edit(city: Path, table: str, fn) -> None:
    path = city / f"{table}.parquet"
    df = fn(pd.read_parquet(path))
    path.unlink()
    df.to_csv(city / f"{table}.csv", index=False)


def _run(city, capsys):
    code = main(["validate", "--raw", str(city)])
    return code, capsys.readouterr().err


def test_valid_folder_passes_and_reports_tables(city, capsys):
    assert main(["validate", "--raw", str(city)]) == 0
    assert "no violations" in capsys.readouterr().out


def test_csv_copy_of_every_table_is_accepted(city, capsys):
    for p in list(city.glob("*.parquet")):
        pd.read_parquet(p).to_csv(p.with_suffix(".csv"), index=False)
        p.unlink()
    code, err = _run(city, capsys)
    assert code == 0, err


def test_missing_column_is_named(city, capsys):
    _edit(city, "tax_monthly", lambda d: d.drop(columns=["tax_paid"]))
    code, err = _run(city, capsys)
    assert code == 3
    assert "tax_monthly.tax_paid: missing required column" in err


def test_wrong_type_names_rows_and_values(city, capsys):
    def fn(d):
        d = d.astype({"electricity_kwh": object})
        d.loc[3, "electricity_kwh"] = "lots"
        return d
    _edit(city, "utilities_monthly", fn)
    code, err = _run(city, capsys)
    assert code == 3
    assert "utilities_monthly.electricity_kwh: wrong type: expected float" in err
    assert "first spreadsheet rows [5]" in err and "lots" in err


def test_invalid_check_digit_is_reported_without_showing_the_code(city, capsys):
    ent = pd.read_parquet(city / "enterprises.parquet")
    code18 = ent.loc[7, "enterprise_id"]
    wrong = code18[:17] + ("0" if code18[17] != "0" else "1")

    def fn(d):
        d.loc[7, "enterprise_id"] = wrong
        return d
    _edit(city, "enterprises", fn)
    code, err = _run(city, capsys)
    assert code == 3
    assert "enterprises.enterprise_id: invalid unified social credit code" in err
    assert "first spreadsheet rows [9]" in err
    assert wrong not in err and code18 not in err  # codes are masked in messages


def test_duplicate_key_is_reported(city, capsys):
    _edit(city, "loans", lambda d: pd.concat([d, d.iloc[[4]]], ignore_index=True))
    code, err = _run(city, capsys)
    assert code == 3
    assert "duplicate key (loan_id)" in err


def test_future_date_is_reported(city, capsys):
    def fn(d):
        d.loc[2, "event_date"] = pd.Timestamp("2099-01-01")
        return d
    _edit(city, "judicial_events", fn)
    code, err = _run(city, capsys)
    assert code == 3
    assert "judicial_events.event_date: date in the future" in err and "first spreadsheet rows [4]" in err


def test_negative_amount_is_reported(city, capsys):
    def fn(d):
        d.loc[[1, 5], "invoiced_sales"] = -100.0
        return d
    _edit(city, "tax_monthly", fn)
    code, err = _run(city, capsys)
    assert code == 3
    assert "tax_monthly.invoiced_sales: must be >= 0" in err and "first spreadsheet rows [3, 7]" in err


def test_unknown_enterprise_is_reported(city, capsys):
    ent = pd.read_parquet(city / "enterprises.parquet")
    _edit(city, "enterprises", lambda d: d.drop(index=[0]))
    code, err = _run(city, capsys)
    assert code == 3
    assert "enterprise_id not found in enterprises" in err
    assert ent.loc[0, "enterprise_id"] not in err


def test_missing_optional_table_is_allowed_and_reported(city, capsys):
    (city / "ip_assets.parquet").unlink()
    code = main(["validate", "--raw", str(city)])
    out = capsys.readouterr().out
    assert code == 0
    assert "ip_assets: optional table not provided" in out
    assert "ip_assets" in load_raw(city).missing


def test_missing_required_table_fails(city, capsys):
    (city / "loans.parquet").unlink()
    code, err = _run(city, capsys)
    assert code == 3
    assert "loans: required table missing" in err
    with pytest.raises(DataContractError, match="required table 'loans' missing"):
        load_raw(city)


def test_all_violations_are_reported_at_once(city):
    _edit(city, "tax_monthly", lambda d: d.drop(columns=["tax_paid"]))
    _edit(city, "loans", lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True))
    report = validate_raw(city)
    assert {v.table for v in report.violations} >= {"tax_monthly", "loans"}


def test_from_frames_validates_hand_made_tables():
    with pytest.raises(DataContractError, match="enterprises.registered_capital: must be >= 0"):
        from_frames({"enterprises": pd.DataFrame({
            "enterprise_id": ["91350100M000100Y43"], "name": ["x"], "county": ["jiaojiang"],
            "mountain_county": [False], "urban": [True], "industry": ["C"],
            "registration_date": [pd.Timestamp("2015-01-01")], "registered_capital": [-1.0],
            "legal_form": ["company"], "size_class": ["small"], "employees": [12], "tech_sme": [False],
            "green": [False]})})


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    code, err = _run(tmp_path / "nope", capsys)
    assert code == 3 and "raw folder not found" in err


@pytest.mark.parametrize("argv", [["train", "--tagret", "bad"], ["scroe"], ["simulate", "--enterprises", "abc", "--out", "x"],
                                  ["decide"], []])
def test_usage_errors_exit_2_with_a_message_and_no_traceback(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    assert "Usage:" in text or "Commands" in text


def test_error_text_with_brackets_is_printed_verbatim(tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "bad": [0, 1, 2, 5]}).to_csv(table, index=False)
    assert main(["train", "--data", str(table), "--target", "bad", "--out", str(tmp_path / "m")]) == 3
    err = capsys.readouterr().err
    assert "found values 2, 5" in err
    assert not (tmp_path / "m").exists()
