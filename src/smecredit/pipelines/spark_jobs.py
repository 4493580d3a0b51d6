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

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.features.builder import META_COLUMNS, POPULATIONS, parse_snapshots
from smecredit.features.folder import featurise_ids, folder_plan
from smecredit.features.catalog import feature_specs
from smecredit.io import atomic_path
from smecredit.scoring.job import MANIFEST, model_info, resolve_model
from smecredit.scoring.spark import _POS, SparkJobFolder, _plain, score_dataframe, spark_manifest, spark_session


def feature_schema():
    from pyspark.sql import types as T

    fields = [T.StructField("enterprise_id", T.StringType()), T.StructField("snapshot_date", T.TimestampType()),
              T.StructField("bad", T.DoubleType()), T.StructField("observable", T.BooleanType())]
    fields += [T.StructField(s.name, T.StringType() if s.dtype == "categorical" else T.DoubleType())
               for s in feature_specs()]
    return T.StructType(fields)


def features_dataframe(spark, raw_dir, snapshots, *, horizon: int = 12, population: str = "active_loan",
                       chunk_size: int = 20_000, positions: bool = False):
    """A Spark DataFrame of the features of ``raw_dir`` at ``snapshots`` (rows as :func:`build_features`).

    With ``positions`` two more columns: ``_chunk`` (the enterprise chunk of the row) and ``_smecredit_pos``
    (the row's position in its chunk's features), from which the monthly job numbers its rows as the local one.
    """
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
    if positions:
        from pyspark.sql import types as T

        schema = T.StructType([*schema.fields, T.StructField("_chunk", T.LongType()),
                               T.StructField(_POS, T.LongType())])

    def featurise(pdf: pd.DataFrame) -> pd.DataFrame:
        k = int(pdf["_chunk"].iloc[0])
        out = featurise_ids(plan, pdf["enterprise_id"].tolist(), population, k=k, n_chunks=n_chunks)
        out = _plain(out[names])
        if positions:
            out["_chunk"] = np.full(len(out), k, dtype="int64")
            out[_POS] = np.arange(len(out), dtype="int64")
        return out

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
    """``smecredit run-batch --engine spark``: features at ``as_of`` (applyInPandas) → scores (mapInPandas).

    ``source_row`` as in the local monthly job (position in the population's feature table, sorted by
    enterprise id); the output folder is written all at once (:class:`SparkJobFolder`): a rerun after a
    crash redoes the job, a rerun of a finished job does nothing (``already_complete`` in the result).
    """
    from smecredit.pipelines.monthly import raw_folder_fingerprint

    t0 = time.perf_counter()
    model, model_ref = resolve_model(model)
    (snap,) = parse_snapshots(as_of)
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataContractError(f"raw folder not found: {raw_dir}")
    fingerprint, n_files = raw_folder_fingerprint(raw_dir)
    identity = {"input": {"path": str(raw_dir), "format": "raw-folder", "files": n_files, "fingerprint": fingerprint},
                "model": model_info(model, model_ref), "as_of": str(snap.date()), "population": population,
                "horizon": int(horizon), "chunk_enterprises": int(chunk_size)}
    folder = SparkJobFolder(out_dir, identity)
    prev = folder.open()
    if prev is not None:
        return {**prev, "already_complete": True}
    spark = spark or spark_session(master)
    feats = features_dataframe(spark, raw_dir, as_of, horizon=horizon, population=population, chunk_size=chunk_size,
                               positions=True)
    n_scored, n_rej = score_dataframe(model, feats, folder.stage, pass_through=["enterprise_id", "snapshot_date"],
                                      keys=["_chunk"], key_order=lambda k: k[0])
    folder.commit(spark_manifest(folder, "monthly", spark, n_scored, n_rej, t0))
    return json.loads((folder.dir / MANIFEST).read_text(encoding="utf-8"))


__all__ = ["META_COLUMNS", "feature_schema", "features_dataframe", "run_monthly_spark", "write_features_spark"]
