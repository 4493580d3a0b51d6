"""Worker processes of the batch job: chunks travel as Arrow IPC, one thread per worker, no orphans."""

from __future__ import annotations

import os
import time

import pyarrow as pa

from smecredit.exceptions import ConfigError
from smecredit.models import CreditModel
from smecredit.scoring.chunk import score_chunk

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
