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
from smecredit.data.uscc import make_codes  # noqa: E402
from smecredit.models.credit_model import fit_credit_model  # noqa: E402
from smecredit.registry import input_example, save_model  # noqa: E402
from smecredit.scoring.job import read_rejects, read_scores  # noqa: E402

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
    data.insert(0, "enterprise_id", list(make_codes(np.arange(len(data)), np.full(len(data), "330106"),
                                                    np.full(len(data), "1"))))
    data["duration_in_month"] = data["duration_in_month"].astype(object)
    data.loc[5, "duration_in_month"] = "five"  # rejected by both engines
    data.loc[2100, "enterprise_id"] = "E02100"  # not a unified social credit code: an unseen id format
    inp = tmp_path / "in.csv"
    data.to_csv(inp, index=False)
    assert main(["score", "--model", str(model_dir), "--input", str(inp), "--output", str(tmp_path / "local")]) == 10
    from smecredit.scoring.spark import score_spark

    spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")  # the CSV read as several splits (tasks)
    try:
        man = score_spark(str(model_dir), inp, tmp_path / "spark", spark=spark)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert (man["rows_in"], man["rows_scored"], man["rows_rejected"]) == (3000, 2998, 2)
    assert len(list((tmp_path / "spark" / "scores").glob("part-*"))) > 1
    local = read_scores(tmp_path / "local")
    sp = pd.read_parquet(tmp_path / "spark" / "scores").sort_values("source_row").reset_index(drop=True)
    assert list(sp.columns) == list(local.columns)
    assert sp["source_row"].tolist() == local["source_row"].tolist()  # the local engine's row numbers
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    np.testing.assert_allclose(sp["pd"].to_numpy(), local["pd"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sp["score"].to_numpy(), local["score"].to_numpy(), rtol=0, atol=1e-9)
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert sp[c].fillna("").tolist() == local[c].fillna("").tolist()
    rej = pd.read_parquet(tmp_path / "spark" / "rejects").sort_values("source_row").reset_index(drop=True)
    local_rej = read_rejects(tmp_path / "local")
    assert rej["source_row"].tolist() == local_rej["source_row"].tolist() == [5, 2100]
    assert rej["enterprise_id"].tolist() == [data.loc[5, "enterprise_id"], "E02100"]
    assert rej["reason"].tolist() == local_rej["reason"].tolist()
    assert rej["reason"].tolist() == ["duration_in_month: not a number", "enterprise_id: unseen id format (expected a "
                                      "unified social credit code: 18 characters, GB 32100-2015 check character)"]
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
    sp = pd.read_parquet(tmp_path / "spark" / "scores").sort_values("source_row").reset_index(drop=True)
    assert man["rows_in"] == len(local) == len(sp) and man["rows_rejected"] == 0
    assert sp["source_row"].tolist() == local["source_row"].tolist() == list(range(len(local)))
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    np.testing.assert_allclose(sp["pd"].to_numpy(), local["pd"].to_numpy(), rtol=0, atol=1e-12)
    for c in ("grade", "reason_1", "reason_2", "reason_3"):
        assert sp[c].fillna("").tolist() == local[c].fillna("").tolist()


def _visible(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_spark_job_is_all_or_nothing_resumes_by_rerunning_and_a_finished_rerun_is_a_no_op(spark, tmp_path, capsys):
    """A partitioned Parquet input (row numbers across files as the local engine); a run killed with
    SIGKILL leaves no output folder, only its hidden staging folder; the rerun completes the job with
    the rows of an uninterrupted run; rerunning a finished job changes nothing and says so."""
    import signal
    import subprocess
    import sys
    import time

    df = pd.read_csv(GERMAN)
    X = df.drop(columns="bad")
    model = fit_credit_model(X, df["bad"], kind="gbm", params={"n_rounds": 20})
    model_dir = save_model(model, tmp_path / "gbm", example=input_example(model, X))
    data = pd.concat([X] * 4, ignore_index=True).astype({c: "float64" for c in X.select_dtypes("number").columns})
    data.insert(0, "enterprise_id", list(make_codes(np.arange(len(data)), np.full(len(data), "330106"),
                                                    np.full(len(data), "1"))))
    data.loc[[17, 3333], "credit_amount"] = np.inf
    ds = tmp_path / "ds"
    for i, part in enumerate(np.array_split(np.arange(len(data)), 3)):
        (ds / f"branch=b{i}").mkdir(parents=True)
        data.iloc[part].to_parquet(ds / f"branch=b{i}" / "data.parquet", index=False)
    assert main(["score", "--model", str(model_dir), "--input", str(ds), "--output", str(tmp_path / "local"),
                 "--chunk-rows", "1000"]) == 10
    out = tmp_path / "spark"
    cmd = [sys.executable, "-c", "from smecredit.cli import run; run()", "score", "--engine", "spark",
           "--spark-master", "local[2]", "--model", str(model_dir), "--input", str(ds), "--output", str(out)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
           "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    stage = None
    while proc.poll() is None and time.monotonic() < deadline and stage is None:
        stage = next((p for p in tmp_path.glob(".spark.spark-*.tmp") if (p / "scores").exists()), None)
        time.sleep(0.05)
    killed = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and Python workers: the group started above
    proc.wait()
    assert killed and stage is not None  # killed while Spark was writing: nothing visible, the stage left
    assert not out.exists() and stage.exists()
    from smecredit.scoring.spark import score_spark

    man = score_spark(str(model_dir), ds, out, spark=spark)
    assert not list(tmp_path.glob(".spark.spark-*.tmp"))  # the interrupted run's staging folder is gone
    assert (man["rows_in"], man["rows_scored"], man["rows_rejected"]) == (4000, 3998, 2)
    local, sp = read_scores(tmp_path / "local"), pd.read_parquet(out / "scores").sort_values("source_row")
    assert sp["source_row"].tolist() == local["source_row"].tolist()
    assert sp["enterprise_id"].tolist() == local["enterprise_id"].tolist()
    np.testing.assert_allclose(sp["pd"].to_numpy(), local["pd"].to_numpy(), rtol=0, atol=1e-12)
    rej = pd.read_parquet(out / "rejects")
    assert rej["source_row"].tolist() == read_rejects(tmp_path / "local")["source_row"].tolist() == [17, 3333]
    before = _visible(out)
    capsys.readouterr()
    assert main(["score", "--engine", "spark", "--model", str(model_dir), "--input", str(ds), "--output",
                 str(out)]) == 10
    assert "nothing to do" in capsys.readouterr().out and _visible(out) == before
    # another job (another model) into the finished folder: refused, nothing touched
    other = save_model(fit_credit_model(X, df["bad"], kind="gbm", params={"n_rounds": 5}), tmp_path / "gbm5",
                       example=input_example(model, X))
    assert main(["score", "--engine", "spark", "--model", str(other), "--input", str(ds), "--output",
                 str(out)]) == 2
    assert _visible(out) == before
