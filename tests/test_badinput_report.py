"""Misleading report output on a single table: categorical bins as plain text, and discrimination
on the model's held-out rows rather than on rows it was trained on."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.registry import load_model
from smecredit.models.scorecard import bin_label

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("brep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.setenv("SMECREDIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
        rc = main(["train", "--data", str(GERMAN), "--target", "bad", "--out", str(root / "sc"), "--kind", "scorecard",
                   "--no-compare"])
        assert rc == 0
        out = root / "report.html"
        rc = main(["report", "--model", str(root / "sc"), "--data", str(GERMAN), "--out", str(out), "--n-boot", "50"])
        assert rc == 0
    return {"model": root / "sc", "uri": f"sqlite:///{root / 'mlflow.db'}", "report": out.read_text(encoding="utf-8"),
            "validation": json.loads((root / "sc" / "validation.json").read_text())}


@pytest.mark.slow  # trains and reports once for the module (~25 s)
def test_scorecard_table_prints_categorical_bins_as_plain_text(trained):
    table = pd.read_csv(trained["model"] / "scorecard_table.csv")
    assert not table["Bin"].str.contains("Array|Length:|dtype", regex=True).any()
    assert "no checking account" in set(table["Bin"])
    assert "Array" not in trained["report"] and "Length: 1" not in trained["report"]
    assert "no checking account" in trained["report"]
    assert list(load_model(trained["model"]).scorecard_table()["Bin"]) == list(table["Bin"])


def test_a_table_saved_by_an_older_version_is_cleaned_on_read():
    assert bin_label("<ArrowStringArray>\n['no checking account', 'x']\nLength: 2, dtype: str") == \
        "no checking account, x"
    assert bin_label("(-inf, 12.50)") == "(-inf, 12.50)"


def _auc_of(report: str, sample: str) -> float:
    row = re.search(rf"<td>{re.escape(html.escape(sample))}</td><td class=\"n\">[^<]*</td><td class=\"n\">[^<]*</td>"
                    r"<td class=\"n\">([0-9.]+)", report)
    assert row, sample
    return float(row.group(1))


@pytest.mark.slow  # trains and reports once for the module (~25 s)
def test_report_on_the_training_table_shows_the_held_out_rows_first(trained):
    rep, val = trained["report"], trained["validation"]
    held = _auc_of(rep, "held-out test rows (not used in training)")
    insample = _auc_of(rep, "all labelled rows (in-sample: includes the training rows)")
    assert held == pytest.approx(val["metrics"]["auc"]["value"], abs=0.0005)  # the same 200 test rows
    assert insample > held  # training rows flatter the model
    assert "include the training rows and overstate discrimination" in html.unescape(rep)


@pytest.mark.slow  # trains and reports once for the module (~25 s)
def test_report_on_other_data_labels_labelled_rows_as_possibly_in_sample(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])  # the model's run lives there
    other = pd.read_csv(GERMAN).iloc[::-1]  # same rows, other order: not the training table
    p = tmp_path / "other.csv"
    other.to_csv(p, index=False)
    out = tmp_path / "r.html"
    rc = main(["report", "--model", str(trained["model"]), "--data", str(p), "--out", str(out), "--n-boot", "20"])
    assert rc == 0
    text = html.unescape(out.read_text(encoding="utf-8"))
    assert "all labelled rows (may include training rows)" in text and "held-out test rows" not in text
