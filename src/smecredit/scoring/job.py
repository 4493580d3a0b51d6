"""The batch scoring job: streamed, chunked, kill-safe and resumable (see docs/batch.md).

``run_score_job(model, input, out_dir)`` reads a Parquet file, a (hive-)partitioned Parquet dataset
or a CSV file in chunks of ``chunk_rows`` rows (memory bounded by the chunk, not the input), scores
each chunk and writes::

    out_dir/manifest.json              job identity, counts, timings, per-partition status
    out_dir/scores/part-00000.parquet  one Parquet file per input chunk (a Parquet dataset)
    out_dir/rejects/part-00000.parquet rows that could not be scored, with reason and source_row

Partition ``k`` holds the input rows ``k * chunk_rows`` … ``(k + 1) * chunk_rows - 1`` in input
order, so a partition's bytes depend only on the input, the model and the settings. Every file is
written to a hidden temporary name and renamed into place when complete; a partition is done when
its ``scores`` file exists. Rerunning the same command after a crash or ``kill -9`` completes only
the missing partitions; rerunning a finished job does nothing. ``rows_in = rows_scored +
rows_rejected`` always holds, in total and per partition.

Rows are rejected (not scored) by the chunk validators (:data:`DEFAULT_VALIDATORS`): each is a
function ``(frame, model) -> array of reason strings`` ("" = fine) and new checks plug in there.

The parts live in their own modules and are re-exported here: :mod:`.validators` (the checks),
:mod:`.ids` (id formats), :mod:`.source` (the chunked reader), :mod:`.chunk` (one chunk scored),
:mod:`.workers` (the worker processes) and :mod:`.folder` (job folder, manifest, the partition loop).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.models import CreditModel
from smecredit.models.credit_model import DEFAULT_FLAG
from smecredit.registry import load_model
from smecredit.scoring.chunk import score_chunk
from smecredit.scoring.folder import (EXIT_ROWS_REJECTED, MANIFEST, JobFolder, JobResult, Progress, _write_json,
                                      finish_manifest, model_fingerprint, model_info, part_name, run_partitions,
                                      start_manifest)
from smecredit.scoring.ids import ID_COLUMNS, check_id_format
from smecredit.scoring.source import InputSource
from smecredit.scoring.validators import (DEFAULT_VALIDATORS, Validator, check_enterprise_id, check_in_default,
                                          check_numeric_features, validate_chunk)
from smecredit.scoring.workers import _worker_score, default_workers, make_pool

log = logging.getLogger(__name__)

#: Id columns passed through to the output when the input has them.
ID_PASSTHROUGH = ("enterprise_id", "snapshot_date", "application_id", "loan_id")
DEFAULT_CHUNK_ROWS = 50_000

__all__ = ["DEFAULT_CHUNK_ROWS", "DEFAULT_VALIDATORS", "EXIT_ROWS_REJECTED", "ID_PASSTHROUGH", "MANIFEST", "InputSource",
           "JobFolder", "JobResult", "Progress", "Validator", "check_enterprise_id", "check_id_format",
           "check_in_default", "check_numeric_features", "default_workers", "finish_manifest", "is_job_output",
           "make_pool", "model_fingerprint", "model_info", "part_name", "pass_through_columns", "read_rejects",
           "read_scores", "resolve_model", "run_partitions", "run_score_job", "score_chunk", "start_manifest",
           "validate_chunk"]


def resolve_model(model) -> tuple[CreditModel, str]:
    """The model to score with and the reference its manifests record (its URI or folder, else the
    ``source_uri`` of an in-memory model, else ``"in-memory model"``)."""
    if isinstance(model, CreditModel):
        return model, getattr(model, "metadata_", {}).get("source_uri", "in-memory model")
    return load_model(model), str(model)


def pass_through_columns(columns, model: CreditModel, keep: Sequence[str], path) -> list[str]:
    """The columns a job copies to its output (ids present, then ``keep``); :class:`DataContractError` when
    the input at ``path`` lacks a model feature, :class:`ConfigError` when it lacks a ``keep`` column."""
    columns = list(columns)
    missing = [c for c in model.feature_names_ if c not in columns]
    if missing:
        raise DataContractError(f"{path}: {len(missing)} feature column(s) the model needs are missing: "
                                f"{', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}")
    absent = [c for c in keep if c not in columns]
    if absent:
        raise ConfigError(f"--keep: column(s) not in {path}: {', '.join(absent)}")
    return list(dict.fromkeys([c for c in ID_PASSTHROUGH if c in columns] + list(keep)))


def run_score_job(model, input_path, out_dir, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, keep: Sequence[str] = (),
                  validators: Sequence[Validator] = DEFAULT_VALIDATORS,
                  progress: Callable[[Progress], None] | None = None, workers: int | None = None) -> JobResult:
    """Score ``input_path`` into the job folder ``out_dir`` (see the module docstring).

    ``workers`` processes score chunks in parallel (default :func:`default_workers`; 1 = in this process);
    the output does not depend on it.
    """
    if not isinstance(chunk_rows, (int, np.integer)) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a positive integer; got {chunk_rows!r}")
    t0 = time.perf_counter()
    model, model_ref = resolve_model(model)
    src = InputSource.open(input_path)
    pass_through = pass_through_columns(src.columns, model, keep, src.path)
    identity = {"input": {"path": str(src.path), "format": src.kind, "files": len(src.files),
                          "fingerprint": src.fingerprint()},
                "model": model_info(model, model_ref), "chunk_rows": int(chunk_rows), "keep": list(keep),
                "as_of": None}
    folder = JobFolder(out_dir, identity)
    prev = folder.open()
    if prev is not None and prev.get("status") == "complete":
        return JobResult(folder.dir, prev, already_complete=True)
    manifest = start_manifest(folder, "score", {"pass_through": pass_through})
    _write_json(folder.dir / MANIFEST, manifest)
    needed = list(dict.fromkeys(pass_through + list(model.feature_names_)
                                + [c for c in (DEFAULT_FLAG, *ID_COLUMNS) if c in src.columns]))
    n_parts = None if src.rows is None else (src.rows + chunk_rows - 1) // chunk_rows

    def work(k, start, table):
        return score_chunk(model, table, start, pass_through=pass_through, validators=validators)

    if workers is None:  # starting worker processes costs seconds: only for inputs of 100k rows or more
        workers = 1 if src.rows is not None and src.rows < 100_000 else default_workers()
    workers = int(workers)
    if n_parts is not None:
        workers = min(workers, max(1, n_parts - sum(folder.done(k) is not None for k in range(n_parts))))
    pool = make_pool(workers, model, pass_through, validators)
    try:
        ran = run_partitions(folder, manifest, src.chunks(needed, chunk_rows),
                             work if pool is None else _worker_score, partitions_total=n_parts,
                             rows_total=src.rows, progress=progress, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    finish_manifest(folder, manifest, t0)
    log.info("score job %s: %d rows in, %d scored, %d rejected", folder.dir, manifest["rows_in"],
             manifest["rows_scored"], manifest["rows_rejected"])
    return JobResult(folder.dir, manifest, ran_partitions=ran)


def is_job_output(path) -> bool:
    """True when ``--output`` names a job folder (no .parquet / .csv suffix)."""
    return Path(path).suffix.lower() not in (".parquet", ".csv")


def read_scores(out_dir) -> pd.DataFrame:
    """All scored rows of a finished job folder, in source order."""
    files = sorted((Path(out_dir) / "scores").glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()


def read_rejects(out_dir) -> pd.DataFrame:
    files = sorted((Path(out_dir) / "rejects").glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()
