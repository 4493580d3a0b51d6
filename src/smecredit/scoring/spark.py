"""The batch scoring job on Spark (``smecredit score --engine spark``): the same chunk code in ``mapInPandas``.

Each Spark partition's Arrow batches go through :func:`smecredit.scoring.job.score_chunk` — the same
validators and :meth:`CreditModel.predict` as the local job — inside ``mapInPandas``; the model travels
to the executors with the task (it is a plain Python object). The output folder holds ``scores/`` and
``rejects/`` (Parquet datasets written by Spark) and ``manifest.json`` with the counts. ``source_row`` is
numbered as by the local job (row of the input, counted over the files in path order), from the hidden
``_metadata`` columns of each file split. The output folder is written all at once
(:class:`SparkJobFolder`): a rerun after a crash redoes the job, a rerun of a finished job does nothing.

pyspark is an optional dependency (``pip install smecredit[spark]``); Java 17 must be installed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from smecredit.exceptions import ConfigError
from smecredit.io import atomic_path
from smecredit.models import CreditModel
from smecredit.models.credit_model import DEFAULT_FLAG
from smecredit.scoring.folder import job_id_of, previous_manifest
from smecredit.scoring.ids import ID_COLUMNS
from smecredit.scoring.job import (DEFAULT_VALIDATORS, MANIFEST, Validator, model_info,
                                   pass_through_columns, resolve_model, score_chunk)

log = logging.getLogger(__name__)

_REASON = "_reject_reason"


def spark_session(master: str | None = None, app_name: str = "smecredit"):
    """The active Spark session, or a new one (``master`` e.g. ``local[2]``; ``None``: spark-submit's)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("--engine spark needs pyspark: pip install 'smecredit[spark]' (and Java 17)") from exc
    import os
    import sys

    # Python workers run this interpreter (with smecredit and its dependencies), unless told otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
        if master.startswith("local"):
            builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4"))
    # dates are naive calendar dates: no shift by the machine's time zone between pandas and Spark
    return (builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def _arrow_to_spark(t: pa.DataType):
    from pyspark.sql import types as T

    if pa.types.is_floating(t):
        return T.DoubleType()
    if pa.types.is_integer(t):
        return T.LongType()
    if pa.types.is_boolean(t):
        return T.BooleanType()
    if pa.types.is_timestamp(t):
        return T.TimestampType()
    if pa.types.is_date(t):
        return T.DateType()
    return T.StringType()


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Numpy-backed columns (text as Python objects): what PySpark's Arrow serializer expects under pandas 3."""
    out = {}
    for c in df.columns:
        s = df[c]
        if s.dtype.kind == "M":
            out[c] = s.to_numpy(dtype="datetime64[ns]")
        elif s.dtype.kind == "f":
            out[c] = s.to_numpy(dtype="float64", na_value=np.nan)
        elif s.dtype.kind in "iub":
            out[c] = s.to_numpy()
        else:
            out[c] = pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
                                for v in s.tolist()], dtype=object).to_numpy()
    return pd.DataFrame(out)


class SparkJobFolder:
    """The output folder of a Spark job, written all at once (see docs/batch.md, "The same job on Spark").

    Spark writes a dataset through its own committer (a task's files appear as the task commits), so a
    partly written Spark output cannot be resumed partition by partition. The job therefore writes
    ``scores/``, ``rejects/`` and ``manifest.json`` into a hidden staging folder beside ``out_dir``
    (``.NAME.spark-JOBID.tmp``) and renames it to ``out_dir`` when everything is written: ``out_dir`` holds
    a complete job or nothing. A rerun of the same job after a crash or ``kill -9`` removes the staging
    folder of the interrupted run and runs the job again; a rerun of a finished job does nothing.
    """

    def __init__(self, out_dir, identity: dict):
        self.dir = Path(out_dir)
        self.identity = identity
        self.job_id = job_id_of(identity)
        self.stage = self.dir.parent / f".{self.dir.name}.spark-{self.job_id[:16]}.tmp"

    def open(self) -> dict | None:
        """The manifest of the finished same job (nothing to do), else ``None`` after clearing the stage."""
        prev = previous_manifest(self.dir, self.job_id)
        if prev is not None:
            if prev.get("status") == "complete":
                return prev
            raise ConfigError(f"output folder {self.dir} holds an unfinished job; delete it to restart the job")
        if self.stage.exists():  # an interrupted run of this job: never visible, redone from the start
            log.info("removing the partial output of an interrupted run (%s)", self.stage.name)
            shutil.rmtree(self.stage)
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        return None

    def commit(self, manifest: dict) -> None:
        """Write the manifest into the stage and make the stage the output folder (one rename)."""
        with atomic_path(self.stage / MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        if self.dir.exists():
            self.dir.rmdir()  # empty (checked in open)
        os.replace(self.stage, self.dir)


def spark_manifest(folder: SparkJobFolder, job: str, spark, n_scored: int, n_rej: int, t0: float, **extra) -> dict:
    from smecredit import __version__

    return {"job": job, "engine": "spark", "job_id": folder.job_id, "status": "complete",
            "master": spark.sparkContext.master, **folder.identity, **extra,
            "rows_in": int(n_scored + n_rej), "rows_scored": int(n_scored), "rows_rejected": int(n_rej),
            "seconds": round(time.perf_counter() - t0, 3), "smecredit_version": __version__}


def _input_listing(df, base: str) -> list:
    """Relative names and sizes of the files Spark reads (part of the job's identity)."""
    out = []
    for u in sorted(df.inputFiles(), key=_path_key):
        p = _uri_path(u)
        try:
            size = os.stat(p).st_size
        except OSError:  # not on this machine's file system (HDFS, S3): the name only
            size = None
        out.append([os.path.relpath(p, base) if base else p, size])
    return out


def _uri_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    u = urlparse(uri)
    return unquote(u.path) if u.scheme in ("file", "") else uri


def _path_key(uri: str) -> tuple:
    """Sort key of a file: the local job's order (``sorted`` of paths, part by part)."""
    return Path(_uri_path(uri)).parts


def score_spark(model, input_path, out_dir, *, keep: Sequence[str] = (), spark=None, master: str | None = None,
                validators: Sequence[Validator] = DEFAULT_VALIDATORS) -> dict:
    """Score ``input_path`` (Parquet file/folder or CSV) on Spark into ``out_dir``; return the manifest
    (with ``already_complete: True`` when the same job had finished there: nothing done)."""
    t0 = time.perf_counter()
    model, model_ref = resolve_model(model)
    spark = spark or spark_session(master)
    path = str(input_path)
    if path.endswith(".csv"):
        df = spark.read.option("header", True).csv(path)  # every column as text: the validators type them
    else:
        df = spark.read.parquet(path)
    pass_through = pass_through_columns(df.columns, model, keep, path)
    base = _uri_path(path) if os.path.isdir(_uri_path(path)) else os.path.dirname(_uri_path(path))
    identity = {"input": {"path": path, "format": "csv" if path.endswith(".csv") else "parquet",
                          "files": _input_listing(df, base)},
                "model": model_info(model, model_ref), "keep": list(keep), "pass_through": pass_through,
                "validators": [getattr(v, "__name__", repr(v)) for v in validators]}
    folder = SparkJobFolder(out_dir, identity)
    prev = folder.open()
    if prev is not None:
        return {**prev, "already_complete": True}
    from pyspark.sql import functions as F

    # the local job's row numbers: each file split (file, first byte) is read in order by one task
    df = df.select("*", F.col("_metadata.file_path").alias("_file"),
                   F.col("_metadata.file_block_start").alias("_block"))
    n_scored, n_rej = score_dataframe(model, df, folder.stage, pass_through=pass_through, validators=validators,
                                      keys=["_file", "_block"], key_order=lambda k: (_path_key(k[0]), k[1]))
    folder.commit(spark_manifest(folder, "score", spark, n_scored, n_rej, t0))
    return json.loads((folder.dir / MANIFEST).read_text(encoding="utf-8"))


_POS = "_smecredit_pos"


def score_dataframe(model: CreditModel, df, out_dir, *, pass_through: list[str],
                    validators: Sequence[Validator] = DEFAULT_VALIDATORS, keys: Sequence[str] = (),
                    key_order=None) -> tuple[int, int]:
    """Score the Spark DataFrame ``df`` into ``out_dir/scores`` and ``out_dir/rejects``; ``(scored, rejected)``.

    ``source_row`` numbers the rows as the local job does: ``keys`` name columns grouping the rows into runs
    that one task reads in order (a file split; a chunk of enterprises), ``key_order`` sorts the runs into
    the input's order; a row's number is the rows of the runs before its own plus its position in its run
    (column ``_smecredit_pos`` when ``df`` has it, else counted as the task reads the run).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    out_dir = Path(out_dir)
    keys = list(keys)
    given_pos = _POS in df.columns
    needed = list(dict.fromkeys(pass_through + list(model.feature_names_)
                                + [c for c in (DEFAULT_FLAG, *ID_COLUMNS) if c in df.columns]))
    df = df.select(*needed, *keys, *([_POS] if given_pos else []))
    by_name = {f.name: f for f in df.schema.fields}
    out_fields = [T.StructField(c, by_name[c].dataType) for c in pass_through]
    out_fields += [T.StructField("source_row", T.LongType())]
    out_fields += [T.StructField("pd", T.DoubleType()), T.StructField("score", T.DoubleType()),
                   T.StructField("grade", T.StringType())]
    out_fields += [T.StructField(f"reason_{r}", T.StringType()) for r in (1, 2, 3)]
    out_fields += [T.StructField(_REASON, T.StringType())] + [T.StructField(k, by_name[k].dataType) for k in keys]
    schema = T.StructType(out_fields)
    checks = list(validators)

    def score_batches(batches):
        seen: dict = {}  # rows of each run read so far by this task
        for pdf in batches:
            if given_pos:
                pos = pdf[_POS].to_numpy(dtype="int64")
            elif keys:
                run = pd.Series(list(zip(*(pdf[k].tolist() for k in keys), strict=True)), dtype=object)
                pos = run.groupby(run, sort=False).cumcount().to_numpy(dtype="int64")
                pos = pos + np.array([seen.get(r, 0) for r in run.tolist()], dtype="int64")
                for r, n in run.value_counts(sort=False).items():
                    seen[r] = seen.get(r, 0) + int(n)
            else:
                pos = np.zeros(len(pdf), dtype="int64")
            table = pa.Table.from_pandas(pdf[[c for c in needed]], preserve_index=False)
            scores, rejects = score_chunk(model, table, 0, pass_through=pass_through, validators=checks)
            s = scores.to_pandas()
            idx_s = s["source_row"].to_numpy()
            s["source_row"] = pos[idx_s]
            s[_REASON] = None
            r = rejects.to_pandas()
            idx_r = r["source_row"].to_numpy()
            r["source_row"] = pos[idx_r]
            for c in ("pd", "score", "grade", "reason_1", "reason_2", "reason_3"):
                r[c] = None
            r = r.rename(columns={"reason": _REASON})
            for k in keys:
                s[k] = pdf[k].to_numpy()[idx_s]
                r[k] = pdf[k].to_numpy()[idx_r]
            out = pd.concat([s, r[s.columns]], ignore_index=True) if len(r) else s
            yield _plain(out[[f.name for f in out_fields]])

    scored = df.mapInPandas(score_batches, schema).persist()
    try:
        if keys:  # runs in input order → the number of rows before each run
            counts = sorted(((tuple(row[k] for k in keys), row["count"]) for row in
                             scored.groupBy(*keys).count().collect()), key=lambda kc: key_order(kc[0]))
            firsts = np.concatenate([[0], np.cumsum([c for _, c in counts])[:-1]]).astype("int64") if counts else []
            offsets = scored.sparkSession.createDataFrame(
                [(*k, int(f)) for (k, _), f in zip(counts, firsts, strict=True)],
                T.StructType([T.StructField(k, by_name[k].dataType) for k in keys]
                             + [T.StructField("_first", T.LongType())]))
            numbered = (scored.join(F.broadcast(offsets), on=keys)
                        .withColumn("source_row", F.col("_first") + F.col("source_row")))
        else:
            numbered = scored
        numbered = numbered.drop(*keys, "_first").sortWithinPartitions("source_row")
        good = numbered.filter(F.col(_REASON).isNull()).drop(_REASON)
        bad = numbered.filter(F.col(_REASON).isNotNull()).select("source_row", *pass_through,
                                                                  F.col(_REASON).alias("reason"))
        good.write.mode("errorifexists").parquet(str(out_dir / "scores"))
        n_rej = bad.count()
        if n_rej:
            bad.write.mode("errorifexists").parquet(str(out_dir / "rejects"))
        n_scored = good.count()
    finally:
        scored.unpersist()
    return int(n_scored), int(n_rej)
