"""Bad input to `smecredit train`: typos in a number column, copies of rows, infinite values and a
features folder without its manifest never train silently on the wrong thing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.exceptions import DataContractError
from smecredit.models.dataset import check_text_in_numeric, feature_columns
from smecredit.pipelines.train import TrainingData, duplicate_report, split_data

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


def _german() -> pd.DataFrame:
    return pd.read_csv(GERMAN)


def _train(tmp_path, capsys, frame: pd.DataFrame, *extra):
    inp = tmp_path / "in.csv"
    frame.to_csv(inp, index=False)
    out = tmp_path / "m"
    rc = main(["train", "--data", str(inp), "--target", "bad", "--out", str(out), "--kind", "scorecard",
               "--no-compare", *extra])
    return rc, capsys.readouterr(), out


def test_a_number_column_with_a_few_text_values_is_refused_not_made_categorical(tmp_path, capsys):
    g = _german().astype({"duration_in_month": object})
    g.loc[[3, 50, 700], "duration_in_month"] = "abc"
    rc, io, out = _train(tmp_path, capsys, g)
    assert rc == 3
    assert "column 'duration_in_month' holds numbers in 99.7% of its filled rows but text ['abc']" in io.err
    assert "spreadsheet rows 5, 52, 702" in io.err
    assert not out.exists()


def test_a_text_column_with_a_stray_number_stays_categorical():
    g = _german().astype({"purpose": object})
    g.loc[0, "purpose"] = "42"
    types = feature_columns(g, "bad")
    assert types["purpose"] == "categorical"
    check_text_in_numeric(g, types)  # no error: mostly text, a legitimate category


def test_infinite_value_in_a_feature_is_refused_with_file_rows(tmp_path, capsys):
    g = _german().astype({"credit_amount": "float64"})
    g.loc[9, "credit_amount"] = np.inf
    rc, io, out = _train(tmp_path, capsys, g)
    assert rc == 3 and "column 'credit_amount' has infinite values in spreadsheet row 11" in io.err
    assert not out.exists()


def _content(frame: pd.DataFrame) -> set:
    return set(pd.util.hash_pandas_object(frame, index=False).tolist())


@pytest.mark.parametrize("copies", ["all", "some"])
def test_copies_of_rows_never_straddle_train_and_test(copies):
    g = _german()
    dup = pd.concat([g, g if copies == "all" else g.sample(100, random_state=1)], ignore_index=True)
    train, test, info = split_data(TrainingData(dup, "dup.csv"), "bad", "random")
    assert not _content(train) & _content(test)
    assert info["grouped_by"] == "row content (copies)"
    assert abs(info["test_default_rate"] - info["train_default_rate"]) < 0.03  # still stratified
    rep = duplicate_report(dup, "dup.csv")
    assert rep["duplicate_rows"] == (1000 if copies == "all" else 100)


def test_a_panel_split_at_random_is_grouped_by_enterprise():
    g = _german()
    ids = [f"E{i}" for i in range(len(g))]
    panel = pd.concat([g.assign(enterprise_id=ids),
                       g.assign(enterprise_id=ids, duration_in_month=g["duration_in_month"] + 1)], ignore_index=True)
    train, test, info = split_data(TrainingData(panel, "panel.csv"), "bad", "random")
    assert not set(train["enterprise_id"]) & set(test["enterprise_id"])
    assert info["grouped_by"] == "enterprise_id"


def test_a_table_without_copies_keeps_the_plain_stratified_split():
    g = _german()
    _, test, info = split_data(TrainingData(g, "g.csv"), "bad", "random")
    assert "grouped_by" not in info and len(test) == 200


def test_a_fully_duplicated_table_is_warned_about_in_the_log_and_validation_json(tmp_path, capsys, caplog):
    g = _german()
    with caplog.at_level(logging.WARNING, logger="smecredit"):
        rc, io, out = _train(tmp_path, capsys, pd.concat([g, g], ignore_index=True))
    assert rc == 0, io.err
    assert "1000 of 2000 rows are copies of another row" in caplog.text
    val = json.loads((out / "validation.json").read_text())
    assert val["data_quality"]["duplicate_rows"] == 1000 and val["data_quality"]["duplicate_share"] == 0.5
    assert val["split"]["grouped_by"] == "row content (copies)"


def test_a_features_folder_without_its_manifest_is_refused(tmp_path, capsys):
    folder = tmp_path / "feat"
    folder.mkdir()
    snaps = pd.to_datetime(["2023-06-30", "2024-06-30", "2025-06-30"])
    rng = np.random.default_rng(0)
    panel = pd.concat([pd.DataFrame({"enterprise_id": [f"E{i}" for i in range(200)], "snapshot_date": s,
                                     "x": rng.normal(size=200), "bad": rng.integers(0, 2, 200).astype(float),
                                     "observable": True}) for s in snaps], ignore_index=True)
    panel.to_parquet(folder / "features.parquet")
    rc = main(["train", "--data", str(folder), "--out", str(tmp_path / "m"), "--kind", "scorecard", "--no-compare"])
    err = capsys.readouterr().err
    assert rc == 3 and "no manifest.json" in err and "rebuild it" in err
    assert not (tmp_path / "m").exists()
    (folder / "manifest.json").write_text("[1, 2]")
    rc = main(["train", "--data", str(folder), "--out", str(tmp_path / "m"), "--kind", "scorecard", "--no-compare"])
    assert rc == 3 and "must be a JSON object" in capsys.readouterr().err


def test_library_fit_refuses_text_in_a_number_column():
    from smecredit.models import fit_credit_model

    g = _german().astype({"age_in_years": object})
    g.loc[1, "age_in_years"] = "n/a"
    with pytest.raises(DataContractError, match=r"'age_in_years'.*\['n/a'\] in spreadsheet row 3"):
        fit_credit_model(g.drop(columns="bad"), g["bad"], kind="scorecard")
