"""Bad input to `smecredit decide loan|renewal`: invalid applications are refused naming column and
rows, an unknown enterprise is referred (not the whole batch failed), raw infinities and dates
outside the data are refused, and a 0-row output has every column."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import decisions_world as w
from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.simulation import simulate
from smecredit.decisions.loan import check_applications
from smecredit.decisions.policy import load_policy
from smecredit.exceptions import DataContractError
from smecredit.features import build_features
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, save_model

AS_OF = "2025-12-31"
POLICY = load_policy()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 300-enterprise city (2023-01 … 2025-12) and a scorecard trained on its 2024-06-30 snapshot."""
    root = tmp_path_factory.mktemp("bd")
    raw_dir = simulate(300, 36, 7, root / "raw")
    X = build_features(load_raw(raw_dir), ["2024-06-30"], population="all")
    X = X[X["observable"].astype(bool)].reset_index(drop=True)
    m = fit_credit_model(X.drop(columns=["bad"]), X["bad"].astype(int), kind="scorecard", cv=2)
    model = save_model(m, root / "model", example=input_example(m, X))
    return {"raw": raw_dir, "model": model}


@pytest.fixture
def raw(world, tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(world["raw"], dst)
    return dst


def _apps(world) -> pd.DataFrame:
    return pd.read_parquet(world["raw"] / "loan_applications.parquet")


def _loan(world, raw, tmp_path, capsys, apps: pd.DataFrame | None = None, as_of=AS_OF):
    a = tmp_path / "apps.parquet"
    (_apps(world) if apps is None else apps).to_parquet(a)
    out = tmp_path / "loans.parquet"
    rc = main(["decide", "loan", "--model", str(world["model"]), "--raw", str(raw), "--applications", str(a),
               "--as-of", as_of, "--out", str(out)])
    return rc, capsys.readouterr(), out


def test_duplicate_application_ids_are_refused(world, raw, tmp_path, capsys):
    apps = _apps(world)
    apps.loc[2, "application_id"] = apps.loc[0, "application_id"]
    rc, io, out = _loan(world, raw, tmp_path, capsys, apps)
    assert rc == 3 and "column 'application_id' has duplicates" in io.err and "spreadsheet rows 2, 4" in io.err
    assert not out.exists()


@pytest.mark.parametrize("term", [0, 1.5, 999, -12, np.nan, np.inf])
def test_term_months_must_be_a_whole_number_in_the_policy_range(term):
    apps = w.frames()["loan_applications"].astype({"term_months": "float64"})
    apps.loc[0, "term_months"] = term
    with pytest.raises(DataContractError, match=r"'term_months' must be a whole number of months from 1 to 60.*"
                                                r"spreadsheet row 2"):
        check_applications(apps, POLICY)


def test_a_999_month_loan_is_refused_by_the_cli(world, raw, tmp_path, capsys):
    apps = _apps(world)
    apps.loc[1, "term_months"] = 999
    rc, io, out = _loan(world, raw, tmp_path, capsys, apps)
    assert rc == 3 and "term_months" in io.err and "['999']" in io.err and "spreadsheet row 3" in io.err
    assert not out.exists()


def test_empty_enterprise_id_is_a_clean_error(world, raw, tmp_path, capsys):
    apps = _apps(world)
    apps.loc[4, "enterprise_id"] = None
    rc, io, out = _loan(world, raw, tmp_path, capsys, apps)
    assert rc == 3 and "column 'enterprise_id' is empty at spreadsheet row 6" in io.err
    assert "Traceback" not in io.err and not out.exists()


@pytest.mark.parametrize("col, value", [("requested_amount", np.inf), ("requested_amount", np.nan),
                                        ("requested_amount", 0.0), ("collateral_value", np.inf),
                                        ("collateral_value", -1.0)])
def test_amounts_must_be_finite(col, value):
    apps = w.frames()["loan_applications"]
    apps.loc[0, col] = value
    with pytest.raises(DataContractError, match=rf"column '{col}' must be a finite number.*spreadsheet row 2"):
        check_applications(apps, POLICY)


def test_an_unknown_enterprise_is_referred_and_the_rest_of_the_batch_decided(world, raw, tmp_path, capsys, caplog):
    rc, io, ref_out = _loan(world, raw, tmp_path, capsys)
    assert rc == 0, io.err
    ref = pd.read_parquet(ref_out)
    apps = _apps(world)
    apps.loc[1, "enterprise_id"] = "91331002MA0000000X"
    (tmp_path / "b").mkdir()
    with caplog.at_level(logging.WARNING, logger="smecredit"):
        rc, io, out = _loan(world, raw, tmp_path / "b", capsys, apps)
    assert rc == 0, io.err
    dec = pd.read_parquet(out)
    assert len(dec) == len(apps)
    row = dec.iloc[1]
    assert row["decision"] == "refer" and row["L01_status"] == "refer" and np.isnan(row["pd"])
    assert "missing data: enterprises (no registry record)" in row["reasons"]
    assert f"spreadsheet row 3 (application_id {apps.loc[1, 'application_id']})" in caplog.text
    assert "91331002MA0000000X" not in caplog.text  # identifiers are not logged
    others = dec.drop(index=1).reset_index(drop=True)
    base = ref.drop(index=1).reset_index(drop=True)
    assert others["decision"].tolist() == base["decision"].tolist()
    np.testing.assert_allclose(others["pd"].to_numpy(), base["pd"].to_numpy())


def test_an_infinite_raw_value_is_refused_naming_table_column_and_rows(world, raw, tmp_path, capsys):
    t = pd.read_parquet(raw / "tax_monthly.parquet")
    t.loc[5, "invoiced_sales"] = np.inf
    t.to_parquet(raw / "tax_monthly.parquet")
    rc, io, out = _loan(world, raw, tmp_path, capsys)
    assert rc == 3 and "tax_monthly.invoiced_sales: infinite value" in io.err and "[7]" in io.err
    assert not out.exists()
    rc = main(["decide", "renewal", "--model", str(world["model"]), "--raw", str(raw), "--as-of", AS_OF,
               "--out", str(tmp_path / "r.parquet")])
    assert rc == 3 and "infinite value" in capsys.readouterr().err


def test_renewal_as_of_far_in_the_future_is_refused_like_loan(world, raw, tmp_path, capsys):
    rc, io, out = _loan(world, raw, tmp_path, capsys, as_of="2030-06-30")
    assert rc == 2 and "outside the data range" in io.err
    ren = tmp_path / "r.parquet"
    rc = main(["decide", "renewal", "--model", str(world["model"]), "--raw", str(raw), "--as-of", "2030-06-30",
               "--out", str(ren)])
    err = capsys.readouterr().err
    assert rc == 2 and "as_of 2030-06-30 cannot be decided on" in err and "outside the data range" in err
    assert not ren.exists()


def test_a_zero_row_loan_output_has_every_column(world, raw, tmp_path, capsys):
    rc, io, full_out = _loan(world, raw, tmp_path, capsys)
    assert rc == 0, io.err
    (tmp_path / "e").mkdir()
    rc, io, out = _loan(world, raw, tmp_path / "e", capsys, _apps(world).head(0))
    assert rc == 0, io.err
    empty, full = pd.read_parquet(out), pd.read_parquet(full_out)
    assert len(empty) == 0 and list(empty.columns) == list(full.columns) and len(full.columns) > 50
    for c in ("pd", "requested_amount", "approved_amount", "el", "ead"):
        assert empty[c].dtype == full[c].dtype == "float64"


def test_an_unreadable_application_date_is_refused_not_ignored():
    apps = w.frames()["loan_applications"].astype({"application_date": object})
    apps.loc[0, "application_date"] = "next week"
    with pytest.raises(DataContractError, match=r"'application_date' must be a date.*\['next week'\] at spreadsheet row 2"):
        check_applications(apps, POLICY)
