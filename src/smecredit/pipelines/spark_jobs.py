"""Features and the monthly job on Spark: the local pandas code, distributed over enterprise groups.

:func:`features_dataframe` groups the sorted enterprise ids into chunks and runs
:func:`smecredit.features.folder.featurise_ids` — the code of ``smecredit features`` — on each chunk with
``applyInPandas``: every task reads its enterprises' rows of every raw table (Parquet filters; the raw
folder must be readable by the executors: HDFS, S3, NFS, or local in ``local[*]``) and featurises them
with the month ranges of the whole data computed once on the driver, so the rows equal the local build's.
:func:`run_monthly_spark` scores those features with :func:`smecredit.scoring.spark.score_dataframe`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError
from smecredit.features.builder import META_COLUMNS, POPULATIONS
from smecredit.features.folder import featurise_ids, folder_plan
from smecredit.features.catalog import feature_specs
from smecredit.io import atomic_path
from smecredit.scoring.job import MANIFEST, model_info, resolve_model
from smecredit.scoring.spark import _plain, new_job_folder, score_dataframe, spark_session


def feature_schema():
    from pyspark.sql import types as T

    fields = [T.StructField("enterprise_id", T.StringType()), T.StructField("snapshot_date", T.TimestampType()),
              T.StructField("bad", T.DoubleType()), T.StructField("observable", T.BooleanType())]
    fields += [T.StructField(s.name, T.StringType() if s.dtype == "categorical" else T.DoubleType())
               for s in feature_specs()]
    return T.StructType(fields)


def features_dataframe(spark, raw_dir, snapshots, *, horizon: int = 12, population: str = "active_loan",
                       chunk_size: int = 20_000):
    """A Spark DataFrame of the features of ``raw_dir`` at ``snapshots`` (rows as :func:`build_features`)."""
    if population not in POPULATIONS:
        raise ConfigError(f"population must be one of {POPULATIONS}; got {population!r}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    plan = folder_plan(raw_dir, snapshots, horizon=horizon)
    ids = plan.pop("ids")
    n_chunks = max(1, (len(ids) + chunk_size - 1) // chunk_size)
    groups = pd.DataFrame({"enterprise_id": [str(i) for i in ids],
                           "_chunk": (np.arange(len(ids)) // chunk_size).astype("int64")})
    schema = feature_schema()
    names = [f.name for f in schema.fields]

    def featurise(pdf: pd.DataFrame) -> pd.DataFrame:
        k = int(pdf["_chunk"].iloc[0])
        out = featurise_ids(plan, pdf["enterprise_id"].tolist(), population, k=k, n_chunks=n_chunks)
        return _plain(out[names])

    ids_df = spark.createDataFrame(_plain(groups)).repartition(min(n_chunks, 200), "_chunk")
    return ids_df.groupBy("_chunk").applyInPandas(featurise, schema)


def write_features_spark(raw_dir, snapshots, out, *, horizon: int = 12, population: str = "active_loan",
                         chunk_size: int = 20_000, spark=None, master: str | None = None) -> dict:
    """``smecredit features --engine spark``: ``out/features.parquet`` (a Parquet dataset sorted by snapshot and
    enterprise, readable wherever the single file is), ``catalog.csv`` and ``manifest.json``."""
    from smecredit import __version__
    from smecredit.features.catalog import feature_catalog
    from smecredit.io import write_table

    spark = spark or spark_session(master)
    out = Path(out)
    if (out / "features.parquet").exists():
        raise ConfigError(f"{out / 'features.parquet'} exists; the Spark engine writes into a new folder")
    df = features_dataframe(spark, raw_dir, snapshots, horizon=horizon, population=population,
                            chunk_size=chunk_size)
    df = df.orderBy("snapshot_date", "enterprise_id")
    out.mkdir(parents=True, exist_ok=True)
    df.write.parquet(str(out / "features.parquet"))
    rows = spark.read.parquet(str(out / "features.parquet")).count()
    write_table(feature_catalog(), out / "catalog.csv")
    manifest = {"snapshots": [str(s.date()) for s in folder_plan(raw_dir, snapshots, horizon=horizon)["snapshots"]],
                "horizon": horizon, "population": population, "rows": int(rows), "engine": "spark",
                "features": len(feature_specs()), "raw_fingerprint": None, "smecredit_version": __version__}
    with atomic_path(out / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def run_monthly_spark(model, raw_dir, as_of, out_dir, *, population: str = "all", chunk_size: int = 20_000,
                      horizon: int = 12, spark=None, master: str | None = None) -> dict:
    """``smecredit run-batch --engine spark``: features at ``as_of`` (applyInPandas) → scores (mapInPandas)."""
    t0 = time.perf_counter()
    model, model_ref = resolve_model(model)
    out_dir = new_job_folder(out_dir)
    spark = spark or spark_session(master)
    feats = features_dataframe(spark, raw_dir, as_of, horizon=horizon, population=population, chunk_size=chunk_size)
    n_scored, n_rej = score_dataframe(model, feats, out_dir, pass_through=["enterprise_id", "snapshot_date"])
    manifest = {"job": "monthly", "engine": "spark", "status": "complete", "master": spark.sparkContext.master,
                "input": {"path": str(raw_dir), "format": "raw-folder"}, "as_of": str(pd.Timestamp(as_of).date()),
                "population": population, "model": model_info(model, model_ref), "rows_in": n_scored + n_rej,
                "rows_scored": n_scored, "rows_rejected": n_rej, "seconds": round(time.perf_counter() - t0, 3)}
    with atomic_path(out_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return manifest


__all__ = ["META_COLUMNS", "feature_schema", "features_dataframe", "run_monthly_spark", "write_features_spark"]
