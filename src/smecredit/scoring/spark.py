"""The batch scoring job on Spark (``smecredit score --engine spark``): the same chunk code in ``mapInPandas``.

Each Spark partition's Arrow batches go through :func:`smecredit.scoring.job.score_chunk` — the same
validators and :meth:`CreditModel.predict` as the local job — inside ``mapInPandas``; the model travels
to the executors with the task (it is a plain Python object). The output folder holds ``scores/`` and
``rejects/`` (Parquet datasets written by Spark) and ``manifest.json`` with the counts. Spark has no
input row numbers, so the Spark output has no ``source_row`` column; rows are identified by the id
columns. Resuming is Spark's business (a failed task is retried; a failed job is rerun as a whole).

pyspark is an optional dependency (``pip install smecredit[spark]``); Java 17 must be installed.
"""

from __future__ import annotations

import json
import logging
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


def new_job_folder(out_dir) -> Path:
    """``out_dir`` as a Path; :class:`ConfigError` when it holds anything (a Spark job writes a new folder)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"output folder {out_dir} is not empty; the Spark engine writes into a new folder")
    return out_dir


def score_spark(model, input_path, out_dir, *, keep: Sequence[str] = (), spark=None, master: str | None = None,
                validators: Sequence[Validator] = DEFAULT_VALIDATORS) -> dict:
    """Score ``input_path`` (Parquet file/folder or CSV) on Spark into ``out_dir``; return the manifest."""
    t0 = time.perf_counter()
    model, model_ref = resolve_model(model)
    out_dir = new_job_folder(out_dir)
    spark = spark or spark_session(master)
    path = str(input_path)
    if path.endswith(".csv"):
        df = spark.read.option("header", True).csv(path)  # every column as text: the validators type them
    else:
        df = spark.read.parquet(path)
    pass_through = pass_through_columns(df.columns, model, keep, path)
    n_scored, n_rej = score_dataframe(model, df, out_dir, pass_through=pass_through, validators=validators)
    manifest = {"job": "score", "engine": "spark", "status": "complete", "master": spark.sparkContext.master,
                "input": {"path": path}, "model": model_info(model, model_ref), "keep": list(keep),
                "pass_through": pass_through, "rows_in": int(n_scored + n_rej), "rows_scored": int(n_scored),
                "rows_rejected": int(n_rej), "seconds": round(time.perf_counter() - t0, 3)}
    with atomic_path(out_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return manifest


def score_dataframe(model: CreditModel, df, out_dir, *, pass_through: list[str],
                    validators: Sequence[Validator] = DEFAULT_VALIDATORS) -> tuple[int, int]:
    """Score the Spark DataFrame ``df`` into ``out_dir/scores`` and ``out_dir/rejects``; ``(scored, rejected)``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    out_dir = Path(out_dir)
    needed = list(dict.fromkeys(pass_through + list(model.feature_names_)
                                + [c for c in (DEFAULT_FLAG, *ID_COLUMNS) if c in df.columns]))
    df = df.select(*needed)
    out_fields = [T.StructField(f.name, f.dataType) for f in df.schema.fields if f.name in pass_through]
    out_fields += [T.StructField("pd", T.DoubleType()), T.StructField("score", T.DoubleType()),
                   T.StructField("grade", T.StringType())]
    out_fields += [T.StructField(f"reason_{r}", T.StringType()) for r in (1, 2, 3)]
    out_fields += [T.StructField(_REASON, T.StringType())]
    schema = T.StructType(out_fields)
    checks = list(validators)

    def score_batches(batches):
        for pdf in batches:
            table = pa.Table.from_pandas(pdf, preserve_index=False)
            scores, rejects = score_chunk(model, table, 0, pass_through=pass_through, validators=checks)
            s = scores.drop(["source_row"]).to_pandas()
            s[_REASON] = None
            r = rejects.drop(["source_row"]).to_pandas()
            for c in ("pd", "score", "grade", "reason_1", "reason_2", "reason_3"):
                r[c] = None
            r = r.rename(columns={"reason": _REASON})
            out = pd.concat([s, r[s.columns]], ignore_index=True) if len(r) else s
            yield _plain(out)

    scored = df.mapInPandas(score_batches, schema).persist()
    try:
        good = scored.filter(F.col(_REASON).isNull()).drop(_REASON)
        bad = scored.filter(F.col(_REASON).isNotNull()).select(*pass_through, F.col(_REASON).alias("reason"))
        good.write.mode("errorifexists").parquet(str(out_dir / "scores"))
        n_rej = bad.count()
        if n_rej:
            bad.write.mode("errorifexists").parquet(str(out_dir / "rejects"))
        n_scored = good.count()
    finally:
        scored.unpersist()
    return int(n_scored), int(n_rej)
