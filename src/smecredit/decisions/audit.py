"""Append-only audit store of decisions: a folder of immutable Parquet part files.

Each call to :func:`append_decisions` writes one new part file
``part-<UTC timestamp>-<content hash>.parquet``; an existing part is never replaced or
deleted (the file is first written to a temporary name, then hard-linked to its final name,
which fails if the name exists). :func:`read_audit` returns every decision ever appended, in
append order. Because the part name carries a hash of its content, appending the same batch
twice keeps both copies (two decisions were made) under different timestamps.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import pandas as pd

from smecredit.decisions.common import AUDIT_COLUMNS
from smecredit.exceptions import DataContractError, SmeCreditError
from smecredit.io import atomic_path, frame_fingerprint

log = logging.getLogger(__name__)

PART_GLOB = "part-*.parquet"


def append_decisions(decisions: pd.DataFrame, store: str | os.PathLike) -> Path:
    """Append a batch of decision rows to the audit store folder ``store``; return the new part's path.

    Raises :class:`DataContractError` when the batch lacks an audit column.
    """
    miss = [c for c in AUDIT_COLUMNS if c not in decisions.columns]
    if miss:
        raise DataContractError(f"decisions lack audit column(s) {miss}; cannot append to the audit store")
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
        staging = store / f".staging-{stamp}.parquet"
        with atomic_path(staging) as tmp:
            decisions.to_parquet(tmp, index=False)
        # the name carries the hash of the content as stored, so verify_audit can detect edits
        digest = frame_fingerprint(pd.read_parquet(staging))[:16]
        final = store / f"part-{stamp}-{digest}.parquet"
        try:
            os.link(staging, final)  # fails if ``final`` exists: a part is never overwritten
        except FileExistsError:
            continue
        finally:
            staging.unlink(missing_ok=True)
        log.info("appended %d decisions to the audit store (%s)", len(decisions), final.name)
        return final
    raise SmeCreditError(f"could not find a free part name in audit store {store}")


def audit_parts(store: str | os.PathLike) -> list[Path]:
    """Part files of the store, in append order."""
    return sorted(Path(store).glob(PART_GLOB))


def read_audit(store: str | os.PathLike) -> pd.DataFrame:
    """Every decision appended to ``store``, in append order, with a ``part`` column naming its file."""
    parts = audit_parts(store)
    if not parts:
        raise DataContractError(f"audit store {store} has no decisions (no {PART_GLOB} files)")
    frames = [pd.read_parquet(p).assign(part=p.name) for p in parts]
    return pd.concat(frames, ignore_index=True)


def verify_audit(store: str | os.PathLike) -> list[str]:
    """Check each part's content hash against its name; return the names of parts that were altered."""
    bad = []
    for p in audit_parts(store):
        digest = p.stem.rsplit("-", 1)[-1]
        if frame_fingerprint(pd.read_parquet(p))[:16] != digest:
            bad.append(p.name)
    return bad


def content_hash(decisions: pd.DataFrame) -> str:
    """SHA-256 of the decision rows without ``decided_at`` (equal for the same inputs)."""
    cols = [c for c in decisions.columns if c != "decided_at"]
    return hashlib.sha256(frame_fingerprint(decisions[cols].reset_index(drop=True)).encode()).hexdigest()
