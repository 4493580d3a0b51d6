"""The monthly job: raw folder → point-in-time features at the as-of date → PD, grade, score, reasons.

``run_monthly_job(model, raw_dir, as_of, out_dir)`` works through the enterprises of the raw folder in
chunks of ``chunk_size`` (sorted by id): each chunk's tables are read, validated and featurised at the
as-of date (the code of ``smecredit features``), scored, and written as one partition of the job folder
of :mod:`smecredit.scoring.job` (same manifest, rejects, kill-safe resume, exit codes). Memory is
bounded by the chunk. ``source_row`` is the row's position in the feature table of the population
(sorted by enterprise id), so it is stable between runs.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.features.builder import POPULATIONS, parse_snapshots
from smecredit.features.folder import iter_features_from_folder
from smecredit.scoring.job import (DEFAULT_VALIDATORS, JobFolder, JobResult, Progress, Validator,
                                   finish_manifest, model_info, resolve_model, run_partitions, score_chunk, start_manifest)

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ENTERPRISES = 50_000


def raw_folder_fingerprint(raw_dir: Path) -> tuple[str, int]:
    """SHA-256 over the names and bytes of the table files of a raw folder, and their number."""
    files = sorted(f for f in raw_dir.iterdir() if f.is_file() and f.suffix in (".parquet", ".csv"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest(), len(files)


def run_monthly_job(model, raw_dir, as_of, out_dir, *, population: str = "all",
                    chunk_size: int = DEFAULT_CHUNK_ENTERPRISES, horizon: int = 12,
                    validators: Sequence[Validator] = DEFAULT_VALIDATORS,
                    progress: Callable[[Progress], None] | None = None,
                    engine: str = "local") -> JobResult:
    """Features at ``as_of`` for every enterprise of ``population``, scored into the job folder ``out_dir``."""
    if population not in POPULATIONS:
        raise ConfigError(f"population must be one of {POPULATIONS}; got {population!r}")
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    if engine != "local":
        raise ConfigError(f"engine must be 'local' here; got {engine!r}")
    t0 = time.perf_counter()
    (snap,) = parse_snapshots(as_of)
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataContractError(f"raw folder not found: {raw_dir}")
    model, model_ref = resolve_model(model)
    fingerprint, n_files = raw_folder_fingerprint(raw_dir)
    identity = {"input": {"path": str(raw_dir), "format": "raw-folder", "files": n_files,
                          "fingerprint": fingerprint},
                "model": model_info(model, model_ref), "chunk_rows": None, "chunk_enterprises": int(chunk_size),
                "population": population, "horizon": int(horizon), "keep": [], "as_of": str(snap.date())}
    folder = JobFolder(out_dir, identity)
    prev = folder.open()
    if prev is not None and prev.get("status") == "complete":
        return JobResult(folder.dir, prev, already_complete=True)
    pass_through = ["enterprise_id", "snapshot_date"]
    manifest = start_manifest(folder, "monthly", {"pass_through": pass_through})
    info: dict = {}
    features = iter_features_from_folder(raw_dir, [snap], chunk_size=chunk_size, horizon=horizon,
                                         population=population, skip=lambda k: folder.done(k) is not None,
                                         info=info)

    schema = pa.schema([("enterprise_id", pa.string()), ("snapshot_date", pa.timestamp("ns"))]
                       + [(c, pa.float64() if t == "numeric" else pa.string())
                          for c, t in model.feature_types_.items() if c not in pass_through])

    def chunks():
        start = 0
        for k, frame in features:
            if frame is None:
                n = folder.done(k)["rows_in"]
                yield k, start, None
            else:
                n = len(frame)
                missing = [c for c in model.feature_names_ if c not in frame.columns]
                if missing:
                    raise DataContractError(f"the features of {raw_dir} lack {len(missing)} column(s) the model "
                                            f"needs: {', '.join(missing[:20])}")
                yield k, start, pa.Table.from_pandas(frame[list(schema.names)], schema=schema, preserve_index=False)
            start += n

    def work(k, start, table):
        return score_chunk(model, table, start, pass_through=pass_through, validators=validators)

    # the number of chunks is known once the enterprises table is read; the row total is not
    ran = run_partitions(folder, manifest, chunks(), work, partitions_total=None, rows_total=None,
                         progress=progress)
    manifest["raw_tables"] = info.get("tables")
    manifest["missing_tables"] = info.get("missing")
    finish_manifest(folder, manifest, t0)
    log.info("monthly job %s as of %s: %d enterprises in, %d scored, %d rejected", folder.dir, snap.date(),
             manifest["rows_in"], manifest["rows_scored"], manifest["rows_rejected"])
    return JobResult(folder.dir, manifest, ran_partitions=ran)
