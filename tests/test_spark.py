"""The Spark engine (local[2], 127.0.0.1) gives the local engine's scores row for row."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
                                                   reason="Spark needs Java (17); none on this machine")]
pyspark = pytest.importorskip("pyspark")  # installed by `make test` (the spark extra)

from smecredit.cli import main  # noqa: E402
from smecredit.models.credit_model import fit_credit_model  # noqa: E402
from smecredit.models.pyfunc import input_example, save_model  # noqa: E402
from smecredit.scoring.job import read_scores  # noqa: E402

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from smecredit.scoring.spark import spark_session

    s = spark_session("local[2]")
    yield s
    s.stop()


def test_spark_scores_equal_the_local_engine_row_for_row(spark, tmp_path):
    df = pd.read_csv(GERMAN)
    X = df.drop(columns="bad")
    model = fit_credit_model(X, df["bad"], kind="gbm", params={"n_rounds": 40})
    model_dir = save_model(model, tmp_path / "gbm", example=input_example(model, X))
    data = pd.concat([X] * 3, ignore_index=True)
    data.insert(0, "enterprise_id", [f"E{i:05d}" for i in range(len(data))])
    data["duration_in_month"] = data["duration_in_month"].astype(object)
    data.loc[5, "duration_in_month"] = "five"  # rejected by both engines
    inp = tmp_path / "in.csv"
    data.to_csv(inp, index=False)
    assert main(["score", "--model", str(model_dir), "--input", str(inp), "--output", str(tmp_path / "local")]) == 10
    from smecredit.scoring.spark import score_spark

    man = score_spark(str(model_dir), inp, tmp_path / "spark", spark=spark)
    assert (man["rows_in"], man["rows_scored"], man["rows_rejected"]) == (3000, 2999, 1)
    local = read_scores(tmp_path / "local").drop(columns="source_row")
    sp = pd.read_parquet(tmp_path / "spark" / "scores").sort_values("enterprise_id").reset_index(drop=True)
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    np.testing.assert_allclose(sp["pd"].to_numpy(), local["pd"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sp["score"].to_numpy(), local["score"].to_numpy(), rtol=0, atol=1e-9)
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert sp[c].fillna("").tolist() == local[c].fillna("").tolist()
    rej = pd.read_parquet(tmp_path / "spark" / "rejects")
    assert rej["enterprise_id"].tolist() == ["E00005"] and rej["reason"].tolist() == ["duration_in_month: not a number"]
    assert json.loads((tmp_path / "spark" / "manifest.json").read_text())["engine"] == "spark"
