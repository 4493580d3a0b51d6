"""The job folder of the batch jobs: identity, manifest, atomic partitions, resume, the partition loop."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from smecredit.exceptions import ConfigError
from smecredit.io import atomic_path
from smecredit.models import CreditModel
from smecredit.scoring.workers import _to_ipc

log = logging.getLogger(__name__)

#: Exit code of a job that completed but rejected at least one row (documented in docs/batch.md).
EXIT_ROWS_REJECTED = 10
MANIFEST = "manifest.json"


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


def job_id_of(identity: dict) -> str:
    """The id of a job: SHA-256 of its identity (input, model, settings) as sorted JSON."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def previous_manifest(out_dir: Path, job_id: str, *, visible_only: bool = False) -> dict | None:
    """The manifest of the job ``job_id`` already in ``out_dir`` (``None`` when there is none yet).

    Refused (:class:`ConfigError`) when ``out_dir`` is not a folder, its manifest is not JSON or belongs
    to another job, or it holds files but no manifest (hidden ones ignored with ``visible_only``).
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output {out_dir} exists and is not a folder")
    man = out_dir / MANIFEST
    if man.is_file():
        try:
            prev = json.loads(man.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{man} is not valid JSON; delete the folder to restart the job") from exc
        if prev.get("job_id") != job_id:
            raise ConfigError(f"output folder {out_dir} holds another job (different input, model or "
                              "settings); choose a new output folder or delete this one")
        return prev
    if out_dir.exists() and any(p for p in out_dir.iterdir() if not (visible_only and p.name.startswith("."))):
        raise ConfigError(f"output folder {out_dir} is not empty and holds no {MANIFEST}; "
                          "refusing to write a job into it")
    return None


def part_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


class JobFolder:
    """The output folder of a job: identity check, resume bookkeeping, atomic partition writes."""

    def __init__(self, out_dir, identity: dict):
        self.dir = Path(out_dir)
        self.identity = identity
        self.job_id = job_id_of(identity)
        self.scores = self.dir / "scores"
        self.rejects = self.dir / "rejects"
        self.previous: dict | None = None

    def open(self) -> dict | None:
        """Check the folder; return the previous manifest (or ``None`` for a fresh job)."""
        self.previous = previous_manifest(self.dir, self.job_id, visible_only=True)
        for d in (self.dir, self.scores, self.rejects):
            d.mkdir(parents=True, exist_ok=True)
            for stale in d.glob(".*.tmp"):  # temporary files of a killed run: never visible, removed
                if stale.is_dir():
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
