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
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.io import atomic_path
from smecredit.models import CreditModel, load_model
from smecredit.models.credit_model import DEFAULT_FLAG
from smecredit.scoring.ids import ID_COLUMNS, check_id_format

log = logging.getLogger(__name__)

#: Exit code of a job that completed but rejected at least one row (documented in docs/batch.md).
EXIT_ROWS_REJECTED = 10
#: Id columns passed through to the output when the input has them.
ID_PASSTHROUGH = ("enterprise_id", "snapshot_date", "application_id", "loan_id")
MANIFEST = "manifest.json"
DEFAULT_CHUNK_ROWS = 50_000
_CSV_NULLS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "<NA>"]
_TRUE = {"true", "1", "1.0", "yes", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "f", ""}

Validator = Callable[[pd.DataFrame, CreditModel], np.ndarray]


# ---------------------------------------------------------------------------------------- validators
def _no_reason(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def check_enterprise_id(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows whose ``enterprise_id`` (when the input has one) is missing or blank."""
    out = _no_reason(len(frame))
    if "enterprise_id" in frame.columns:
        s = frame["enterprise_id"]
        bad = s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy()
        out[bad] = "enterprise_id: missing"
    return out


def check_numeric_features(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows where a numeric feature holds text that is not a number, or an infinite value."""
    out = _no_reason(len(frame))
    for name, kind in model.feature_types_.items():
        if kind != "numeric" or name not in frame.columns:
            continue
        s = frame[name]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            text = np.zeros(len(s), dtype=bool)
        else:
            num = pd.to_numeric(s, errors="coerce")
            text = (num.isna() & s.notna() & (s.astype(str).str.strip() != "")).to_numpy()
            v = num.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(v)
        for mask, why in ((text, "not a number"), (inf, "infinite value")):
            if mask.any():
                msg = f"{name}: {why}"
                out[mask] = np.where(out[mask] == "", msg, out[mask] + "; " + msg)
    return out


def check_in_default(frame: pd.DataFrame, model: CreditModel) -> np.ndarray:
    """Reject rows whose ``in_default`` flag (when present) is not a boolean (true/false/1/0/yes/no)."""
    out = _no_reason(len(frame))
    if DEFAULT_FLAG in frame.columns and not pd.api.types.is_bool_dtype(frame[DEFAULT_FLAG].dtype):
        s = frame[DEFAULT_FLAG]
        txt = s.astype(str).str.strip().str.lower()
        ok = s.isna() | txt.isin(_TRUE | _FALSE)
        out[~ok.to_numpy()] = f"{DEFAULT_FLAG}: not true/false"
    return out


#: The checks every chunk goes through; a row with any non-empty reason is rejected.
DEFAULT_VALIDATORS: list[Validator] = [check_enterprise_id, check_id_format, check_numeric_features, check_in_default]


def validate_chunk(frame: pd.DataFrame, model: CreditModel,
                   validators: Sequence[Validator] = DEFAULT_VALIDATORS) -> np.ndarray:
    """One reason string per row ("" = scorable): the reasons of every validator joined by "; "."""
    reason = _no_reason(len(frame))
    for check in validators:
        r = np.asarray(check(frame, model), dtype=object)
        hit = r != ""
        if hit.any():
            reason[hit] = np.where(reason[hit] == "", r[hit], reason[hit] + "; " + r[hit])
    return reason


# ---------------------------------------------------------------------------------------- input
@dataclass
class InputSource:
    """A Parquet file, a Parquet dataset folder or a CSV file, read in order in record batches."""

    path: Path
    kind: str  # "parquet" | "parquet-dataset" | "csv"
    files: list[Path]
    columns: list[str]
    rows: int | None  # None for CSV (unknown until read)
    schema: pa.Schema | None = None  # Parquet: the unified schema (hive partition keys as text)

    @classmethod
    def open(cls, path) -> InputSource:
        path = Path(path)
        if not path.exists():
            raise DataContractError(f"input not found: {path}")
        if path.is_dir():
            files = sorted(f for f in path.rglob("*.parquet")
                           if not any(p.startswith((".", "_")) for p in f.relative_to(path).parts))
            if not files:
                raise DataContractError(f"input folder {path} holds no .parquet file")
            kind = "parquet-dataset"
        elif path.suffix == ".parquet":
            files, kind = [path], "parquet"
        elif path.suffix == ".csv":
            files, kind = [path], "csv"
        else:
            raise DataContractError(f"unsupported input {path}: use a .parquet or .csv file or a Parquet folder")
        if kind == "csv":
            import pyarrow.csv as pcsv

            try:
                with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16)) as r:
                    columns = list(r.schema.names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataContractError(f"cannot read CSV {path}: {exc}") from exc
            return cls(path, kind, files, columns, None)
        try:
            dset = cls._dataset(path, kind, files)
            part = set(dset.partitioning.schema.names) if kind == "parquet-dataset" and dset.partitioning else set()
            schema = pa.schema([pa.field(f.name, pa.string()) if f.name in part else f for f in dset.schema])
            return cls(path, kind, files, list(dset.schema.names), int(dset.count_rows()), schema)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataContractError(f"cannot read Parquet input {path}: {exc}") from exc

    @staticmethod
    def _dataset(path, kind, files):
        import pyarrow.dataset as ds

        if kind == "parquet-dataset":
            return ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                              partition_base_dir=str(path))
        return ds.dataset([str(f) for f in files], format="parquet")

    def fingerprint(self) -> str:
        """SHA-256 over the relative names and bytes of the input file(s)."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(str(f.relative_to(self.path) if self.kind == "parquet-dataset" else f.name).encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
        return h.hexdigest()

    def batches(self, columns: list[str], batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        if self.kind == "csv":
            import pyarrow.csv as pcsv

            convert = pcsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                          include_columns=columns, null_values=_CSV_NULLS,
                                          strings_can_be_null=True)
            try:
                with pcsv.open_csv(self.path, read_options=pcsv.ReadOptions(block_size=1 << 22),
                                   convert_options=convert) as reader:
                    yield from reader
            except pa.ArrowInvalid as exc:
                raise DataContractError(f"cannot read CSV {self.path}: {exc}") from exc
            return
        # file by file, row group by row group (a dataset scanner reads ahead without bound on a slow consumer)
        for f in self.files:
            keys = {}
            if self.kind == "parquet-dataset":
                for part in f.relative_to(self.path).parts[:-1]:
                    if "=" in part:
                        k, v = part.split("=", 1)
                        keys[k] = v
            pf = pq.ParquetFile(f)
            own = [c for c in columns if c not in keys]
            for batch in pf.iter_batches(batch_size=batch_rows, columns=own, use_threads=False):
                if keys:
                    arrays = [batch.column(c) if c not in keys else pa.array([keys[c]] * batch.num_rows, pa.string())
                              for c in columns]
                    batch = pa.RecordBatch.from_arrays(arrays, names=columns)
                else:
                    batch = batch.select(columns)
                target = pa.schema([self.schema.field(c) for c in columns])
                yield batch if batch.schema.equals(target) else batch.cast(target)

    def chunks(self, columns: list[str], chunk_rows: int) -> Iterator[tuple[int, int, pa.Table]]:
        """``(k, first_source_row, table)`` of exactly ``chunk_rows`` rows (the last may be shorter)."""
        buf: list[pa.RecordBatch] = []
        n_buf, k, start = 0, 0, 0
        for batch in self.batches(columns, batch_rows=min(chunk_rows, 65_536)):
            buf.append(batch)
            n_buf += batch.num_rows
            while n_buf >= chunk_rows:
                table = pa.Table.from_batches(buf)
                yield k, start, table.slice(0, chunk_rows)
                rest = table.slice(chunk_rows)
                buf, n_buf = rest.to_batches(), rest.num_rows
                k, start = k + 1, start + chunk_rows
        if n_buf:
            yield k, start, pa.Table.from_batches(buf)


# ---------------------------------------------------------------------------------------- scoring
_OUT_FIELDS = [("pd", pa.float64()), ("score", pa.float64()), ("grade", pa.string()),
               ("reason_1", pa.string()), ("reason_2", pa.string()), ("reason_3", pa.string())]


def _features_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    return table.select(names).to_pandas()


def _as_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool)
    return s.astype(str).str.strip().str.lower().isin(_TRUE) & s.notna()


def score_chunk(model: CreditModel, table: pa.Table, first_row: int, *, pass_through: list[str],
                validators: Sequence[Validator] = DEFAULT_VALIDATORS,
                predict: Callable[[CreditModel, pd.DataFrame], pd.DataFrame] | None = None,
                ) -> tuple[pa.Table, pa.Table]:
    """Validate and score one chunk: ``(scores, rejects)`` Arrow tables (pure; no I/O)."""
    names = list(model.feature_names_) + ([DEFAULT_FLAG] if DEFAULT_FLAG in table.column_names else [])
    extra = [c for c in ID_COLUMNS if c in table.column_names and c not in names]
    frame = _features_frame(table, names + extra)
    reason = validate_chunk(frame, model, validators)
    bad = reason != ""
    good_idx = np.flatnonzero(~bad)
    rows = np.arange(first_row, first_row + table.num_rows, dtype="int64")
    scores: dict[str, pa.Array] = {c: table.column(c).take(pa.array(good_idx)) for c in pass_through}
    scores["source_row"] = pa.array(rows[good_idx], type=pa.int64())
    if len(good_idx):
        X = frame.iloc[good_idx][names].reset_index(drop=True)
        if DEFAULT_FLAG in X.columns:
            X[DEFAULT_FLAG] = _as_bool(X[DEFAULT_FLAG])
        out = (predict or _predict)(model, X)
    else:
        out = pd.DataFrame({f: pd.Series([], dtype="float64" if t == pa.float64() else object) for f, t in _OUT_FIELDS})
    for name, typ in _OUT_FIELDS:
        col = out[name]
        if typ == pa.string():
            scores[name] = pa.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                                     for v in col.tolist()], type=pa.string())
        else:
            scores[name] = pa.array(col.to_numpy(dtype="float64"), type=typ)
    bad_idx = pa.array(np.flatnonzero(bad))
    rejects = {"source_row": pa.array(rows[bad], type=pa.int64())}
    for c in pass_through:
        rejects[c] = table.column(c).take(bad_idx)
    rejects["reason"] = pa.array(reason[bad].tolist(), type=pa.string())
    return pa.table(scores), pa.table(rejects)


def _predict(model: CreditModel, X: pd.DataFrame) -> pd.DataFrame:
    return model.predict(X, source="input chunk")


# ---------------------------------------------------------------------------------------- job
@dataclass
class JobResult:
    """What a job did: counts, partitions, and whether it was already complete."""

    out_dir: Path
    manifest: dict
    already_complete: bool = False
    ran_partitions: list[int] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return int(self.manifest["rows_rejected"])

    @property
    def exit_code(self) -> int:
        return EXIT_ROWS_REJECTED if self.rows_rejected else 0


def model_fingerprint(model_ref) -> str:
    """SHA-256 of a local model folder's files, or of the resolved registry/run reference."""
    p = Path(str(model_ref))
    h = hashlib.sha256()
    if "://" not in str(model_ref) and ":/" not in str(model_ref)[:12] and p.is_dir():
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(str(f.relative_to(p)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
        return h.hexdigest()
    h.update(str(model_ref).encode())
    return h.hexdigest()


def model_info(model: CreditModel, model_ref) -> dict:
    md = getattr(model, "metadata_", {}) or {}
    return {"uri": str(model_ref), "kind": model.kind, "name": md.get("registered_name"),
            "version": md.get("registered_version"), "run_id": md.get("run_id"),
            "fingerprint": model_fingerprint(model_ref), "n_features": len(model.feature_names_)}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def _write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def part_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


class JobFolder:
    """The output folder of a job: identity check, resume bookkeeping, atomic partition writes."""

    def __init__(self, out_dir, identity: dict):
        self.dir = Path(out_dir)
        self.identity = identity
        self.job_id = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
        self.scores = self.dir / "scores"
        self.rejects = self.dir / "rejects"
        self.previous: dict | None = None

    def open(self) -> dict | None:
        """Check the folder; return the previous manifest (or ``None`` for a fresh job)."""
        if self.dir.exists() and not self.dir.is_dir():
            raise ConfigError(f"output {self.dir} exists and is not a folder")
        man = self.dir / MANIFEST
        if man.is_file():
            try:
                prev = json.loads(man.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ConfigError(f"{man} is not valid JSON; delete the folder to restart the job") from exc
            if prev.get("job_id") != self.job_id:
                raise ConfigError(f"output folder {self.dir} holds another job (different input, model or "
                                  "settings); choose a new output folder or delete this one")
            self.previous = prev
        elif self.dir.exists() and any(p for p in self.dir.iterdir() if not p.name.startswith(".")):
            raise ConfigError(f"output folder {self.dir} is not empty and holds no {MANIFEST}; "
                              "refusing to write a job into it")
        for d in (self.dir, self.scores, self.rejects):
            d.mkdir(parents=True, exist_ok=True)
            for stale in d.glob(".*.tmp"):  # temporary files of a killed run: never visible, removed
                if stale.is_dir():
                    import shutil

                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)
        return self.previous

    def done(self, k: int) -> dict | None:
        """Counts of partition ``k`` when its scores file exists (done), else ``None``."""
        f = self.scores / part_name(k)
        if not f.is_file():
            return None
        n_scored = pq.ParquetFile(f).metadata.num_rows
        r = self.rejects / part_name(k)
        n_rej = pq.ParquetFile(r).metadata.num_rows if r.is_file() else 0
        return {"rows_in": n_scored + n_rej, "rows_scored": n_scored, "rows_rejected": n_rej}

    def write(self, k: int, scores: pa.Table, rejects: pa.Table) -> None:
        r = self.rejects / part_name(k)
        if rejects.num_rows:
            _write_parquet(rejects, r)
        else:
            r.unlink(missing_ok=True)
        _write_parquet(scores, self.scores / part_name(k))  # last: its presence marks the partition done


@dataclass
class Progress:
    """Callback payload: rows done so far (this run and before), total rows when known."""

    rows_done: int
    rows_total: int | None
    partitions_done: int
    partitions_total: int | None
    rows_per_s: float


def run_partitions(folder: JobFolder, manifest: dict,
                   chunks: Iterator[tuple[int, int, object]],
                   work: Callable[[int, int, object], tuple[pa.Table, pa.Table]],
                   *, partitions_total: int | None, rows_total: int | None,
                   progress: Callable[[Progress], None] | None = None,
                   pool=None) -> list[int]:
    """The shared loop of the jobs: skip done partitions, run the others, keep the manifest current.

    With ``pool`` (a ``concurrent.futures`` executor running ``work`` in other processes) one partition
    per worker plus one are in flight; results are written by this process, in partition order.
    """
    prev_parts = {p["partition"]: p for p in (folder.previous or {}).get("partitions", [])}
    parts: list[dict] = []
    ran: list[int] = []
    t0 = time.perf_counter()
    state = {"rows_run": 0, "rows_done": 0}
    inflight: deque = deque()
    limit = getattr(pool, "_max_workers", 1) + 1  # in flight: one chunk per worker and one queued

    def settle(k, start, pending, t):
        if isinstance(pending, dict):  # already done in an earlier run
            old = prev_parts.get(k, {})
            entry = {"partition": k, "file": f"scores/{part_name(k)}", "first_source_row": start,
                     "status": "done", **pending, "seconds": old.get("seconds"), "run": old.get("run")}
        else:
            scores, rejects = pending.result() if pool is not None else pending
            if isinstance(scores, bytes):
                scores, rejects = (pa.ipc.open_stream(b).read_all() for b in (scores, rejects))
            folder.write(k, scores, rejects)
            done = {"rows_in": scores.num_rows + rejects.num_rows, "rows_scored": scores.num_rows,
                    "rows_rejected": rejects.num_rows}
            entry = {"partition": k, "file": f"scores/{part_name(k)}", "first_source_row": start, "status": "done",
                     **done, "seconds": round(time.perf_counter() - t, 3), "run": manifest["runs"]}
            ran.append(k)
            state["rows_run"] += done["rows_in"]
            log.info("partition %d: %d rows scored, %d rejected", k, done["rows_scored"], done["rows_rejected"])
        parts.append(entry)
        state["rows_done"] += entry["rows_in"]
        manifest["partitions"] = parts
        _totals(manifest)
        _write_json(folder.dir / MANIFEST, manifest)
        if progress is not None:
            el = time.perf_counter() - t0
            progress(Progress(state["rows_done"], rows_total, len(parts), partitions_total,
                              state["rows_run"] / el if el > 0 else 0.0))

    for k, start, payload in chunks:
        done = folder.done(k)
        t = time.perf_counter()
        if done is not None:
            pending = done
        elif pool is None:
            pending = work(k, start, payload)
        else:
            pending = pool.submit(work, k, start, _to_ipc(payload) if isinstance(payload, pa.Table) else payload)
        inflight.append((k, start, pending, t))
        while len(inflight) > (limit if pool is not None else 0):
            settle(*inflight.popleft())
    while inflight:
        settle(*inflight.popleft())
    manifest["partitions"] = parts
    return ran


_WORKER: dict = {}


def _orphan_watch(parent: int) -> None:
    while True:  # the job's process was killed (kill -9): this worker must not outlive it
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def _worker_init(parent: int, model: CreditModel, pass_through: list[str], validators) -> None:
    import threading

    from threadpoolctl import threadpool_limits

    if os.getppid() != parent:  # killed while this worker was starting
        os._exit(1)
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()
    _WORKER.update(model=model, pass_through=pass_through, validators=validators,
                   limits=threadpool_limits(1))  # one thread per worker process: the workers use the cores


def _to_ipc(table: pa.Table) -> bytes:
    """The chunk as Arrow IPC bytes: only its rows travel (pickling a slice would ship its whole row group)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _worker_score(k: int, start: int, payload: bytes) -> tuple[bytes, bytes]:
    table = pa.ipc.open_stream(payload).read_all()
    scores, rejects = score_chunk(_WORKER["model"], table, start, pass_through=_WORKER["pass_through"],
                                  validators=_WORKER["validators"])
    return _to_ipc(scores), _to_ipc(rejects)


def make_pool(workers: int, model: CreditModel, pass_through: list[str], validators):
    """A process pool scoring chunks (``spawn``: safe with LightGBM's OpenMP), or ``None`` for one worker."""
    if workers <= 1:
        return None
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                               initargs=(os.getpid(), model, pass_through, list(validators)))


def default_workers() -> int:
    """Worker processes for scoring: the CPUs this process may use, at most 4 (``SMECREDIT_WORKERS`` overrides)."""
    env = os.environ.get("SMECREDIT_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ConfigError(f"SMECREDIT_WORKERS must be an integer; got {env!r}") from None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _totals(manifest: dict) -> None:
    for key in ("rows_in", "rows_scored", "rows_rejected"):
        manifest[key] = int(sum(p[key] for p in manifest["partitions"]))


def start_manifest(folder: JobFolder, job: str, extra: dict) -> dict:
    from smecredit import __version__

    prev = folder.previous or {}
    return {
        "job": job, "job_id": folder.job_id, "status": "running", **folder.identity, **extra,
        "smecredit_version": __version__,
        "started_at": prev.get("started_at") or _now(), "runs": int(prev.get("runs", 0)) + 1,
        "exit_codes": {"0": "every row scored", str(EXIT_ROWS_REJECTED): "completed; some rows rejected (see rejects/)"},
        "rows_in": 0, "rows_scored": 0, "rows_rejected": 0, "partitions": [],
    }


def finish_manifest(folder: JobFolder, manifest: dict, t0: float) -> None:
    _totals(manifest)
    assert manifest["rows_in"] == manifest["rows_scored"] + manifest["rows_rejected"]
    manifest["status"] = "complete"
    manifest["finished_at"] = _now()
    manifest["seconds_this_run"] = round(time.perf_counter() - t0, 3)
    manifest["seconds_total"] = round(sum(p["seconds"] or 0.0 for p in manifest["partitions"]), 3)
    manifest["scored_partitions"] = len(manifest["partitions"])
    _write_json(folder.dir / MANIFEST, manifest)


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

