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
from smecredit.registry import input_example, save_model  # noqa: E402
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


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from smecredit.simulation import simulate

    return simulate(400, 24, 12, tmp_path_factory.mktemp("spark_city") / "city")


def test_spark_features_equal_the_local_build(spark, city, tmp_path):
    from smecredit.data import load_raw
    from smecredit.features import build_features
    from smecredit.pipelines.spark_jobs import features_dataframe

    local = build_features(load_raw(city), "2024-12-31,2025-06-30", population="all")
    features_dataframe(spark, city, "2024-12-31,2025-06-30", population="all", chunk_size=150).write.parquet(
        str(tmp_path / "f"))
    sp = pd.read_parquet(tmp_path / "f")
    if getattr(sp["snapshot_date"].dtype, "tz", None) is not None:
        sp["snapshot_date"] = sp["snapshot_date"].dt.tz_convert("UTC").dt.tz_localize(None)
    sp = sp.sort_values(["snapshot_date", "enterprise_id"], kind="mergesort").reset_index(drop=True)
    assert list(sp.columns) == list(local.columns) and len(sp) == len(local)
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    assert (sp["snapshot_date"].astype("datetime64[ns]").to_numpy() == local["snapshot_date"].to_numpy()).all()
    for c in local.columns[2:]:
        a, b = local[c], sp[c]
        if a.dtype == object:
            assert a.fillna("∅").tolist() == b.fillna("∅").tolist(), c
        else:
            np.testing.assert_array_equal(a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64"), err_msg=c)


def test_spark_monthly_job_equals_the_local_monthly_job(spark, city, tmp_path):
    from smecredit.data import load_raw
    from smecredit.features import build_features
    from smecredit.pipelines.monthly import run_monthly_job
    from smecredit.pipelines.spark_jobs import run_monthly_spark

    feats = build_features(load_raw(city), "2024-12-31", population="all")
    X = feats.drop(columns=["enterprise_id", "snapshot_date", "bad", "observable"])
    model = fit_credit_model(X, feats["bad"].fillna(0).astype(int), kind="gbm", params={"n_rounds": 20})
    model_dir = save_model(model, tmp_path / "gbm", example=input_example(model, X))
    run_monthly_job(str(model_dir), city, "2025-12-31", tmp_path / "local", chunk_size=150)
    man = run_monthly_spark(str(model_dir), city, "2025-12-31", tmp_path / "spark", chunk_size=150, spark=spark)
    local = read_scores(tmp_path / "local")
    sp = pd.read_parquet(tmp_path / "spark" / "scores").sort_values("enterprise_id").reset_index(drop=True)
    assert man["rows_in"] == len(local) == len(sp) and man["rows_rejected"] == 0
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    np.testing.assert_allclose(sp["pd"].to_numpy(), local["pd"].to_numpy(), rtol=0, atol=1e-12)
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert sp[c].fillna("").tolist() == local[c].fillna("").tolist()
