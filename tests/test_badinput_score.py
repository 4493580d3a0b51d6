"""Bad input to `smecredit score`: types checked against the model, infinite values refused, rows
without any data flagged and never graded, and a 0-row output typed like a full one."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, load_model, save_model

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    g = pd.read_csv(GERMAN)
    X = g.drop(columns="bad")
    m = fit_credit_model(X, g["bad"], kind="scorecard", cv=2)
    return save_model(m, tmp_path_factory.mktemp("bs") / "model", example=input_example(m, X))


def _input() -> pd.DataFrame:
    g = pd.read_csv(GERMAN).drop(columns="bad").head(40)
    g.insert(0, "enterprise_id", [f"E{i:03d}" for i in range(len(g))])
    return g


def _score(model_dir, tmp_path, capsys, frame: pd.DataFrame, suffix=".parquet"):
    inp, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    frame.to_parquet(inp) if suffix == ".parquet" else frame.to_csv(inp, index=False)
    rc = main(["score", "--model", str(model_dir), "--input", str(inp), "--output", str(out)])
    return rc, capsys.readouterr(), out


def test_a_date_in_a_numeric_feature_is_refused_naming_the_column(model_dir, tmp_path, capsys):
    f = _input()
    f["duration_in_month"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(f["duration_in_month"], unit="D")
    rc, io, out = _score(model_dir, tmp_path, capsys, f)
    assert rc == 3 and "column 'duration_in_month' is a numeric feature of the model but holds dates" in io.err
    assert not out.exists()


def test_true_false_in_a_numeric_feature_is_refused(model_dir, tmp_path, capsys):
    f = _input()
    f["credit_amount"] = f["credit_amount"] > 3000
    rc, io, out = _score(model_dir, tmp_path, capsys, f)
    assert rc == 3 and "column 'credit_amount'" in io.err and "True/False" in io.err
    assert not out.exists()


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_feature_values_are_refused_with_rows(model_dir, tmp_path, capsys, value):
    f = _input().astype({"credit_amount": "float64"})
    f.loc[[0, 7], "credit_amount"] = value
    rc, io, out = _score(model_dir, tmp_path, capsys, f)
    assert rc == 3 and "column 'credit_amount' has infinite values in spreadsheet rows 2, 9" in io.err
    assert not out.exists()


def test_text_in_a_numeric_feature_is_refused_with_rows(model_dir, tmp_path, capsys):
    f = _input().astype({"age_in_years": object})
    f.loc[4, "age_in_years"] = "forty"
    rc, io, out = _score(model_dir, tmp_path, capsys, f, suffix=".csv")
    assert rc == 3 and "column 'age_in_years' must be numeric" in io.err and "spreadsheet row 6" in io.err
    assert not out.exists()


def test_rows_without_any_feature_are_flagged_and_not_graded(model_dir, tmp_path, capsys, caplog):
    f = _input()
    features = [c for c in f.columns if c != "enterprise_id"]
    f = f.astype({c: object for c in features})
    f.loc[[3, 11], features] = None
    with caplog.at_level(logging.WARNING, logger="smecredit"):
        rc, io, out = _score(model_dir, tmp_path, capsys, f)
    assert rc == 0, io.err
    assert "2 row(s) have every model feature missing (spreadsheet rows 5, 13)" in caplog.text
    res = pd.read_parquet(out)
    empty = res["enterprise_id"].isin(["E003", "E011"])
    assert (res.loc[empty, "data_quality"] == "all_features_missing").all()
    assert res.loc[empty, ["pd", "score", "grade"]].isna().all().all()
    assert res.loc[empty, "reason_1"].str.startswith("No data: every model feature is missing").all()
    assert (res.loc[~empty, "data_quality"] == "ok").all() and res.loc[~empty, "grade"].notna().all()
    # the other rows are scored exactly as without the empty ones
    alone = load_model(model_dir).predict(_input().drop(index=[3, 11]))
    np.testing.assert_allclose(res.loc[~empty, "pd"].to_numpy(), alone["pd"].to_numpy())
    # without the flag the model would have given them an ordinary grade
    raw = load_model(model_dir).predict(f.loc[[3]], flag_missing=False)
    assert raw["grade"].notna().all() and raw["data_quality"].iloc[0] == "all_features_missing"


def test_a_zero_row_input_gives_a_typed_zero_row_output(model_dir, tmp_path, capsys):
    rc, io, out = _score(model_dir, tmp_path, capsys, _input().head(0))
    assert rc == 0, io.err
    (tmp_path / "full").mkdir()
    rc, io, full_out = _score(model_dir, tmp_path / "full", capsys, _input().head(3))
    assert rc == 0, io.err
    empty, full = pd.read_parquet(out), pd.read_parquet(full_out)
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    assert empty["pd"].dtype == full["pd"].dtype == "float64"
    assert empty["score"].dtype == full["score"].dtype == "float64"
