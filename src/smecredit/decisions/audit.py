"""Append-only, tamper-evident audit store of decisions: a folder of HMAC-chained Parquet parts.

Each call to :func:`append_decisions` writes one new part ``part-<8-digit sequence>.parquet``.
Its Parquet metadata carries a chain link::

    {"seq": n, "prev": <mac of part n-1, "" for the first>, "content": <fingerprint of the rows>,
     "rows": <row count>, "written_at": <UTC time>, "mac": HMAC-SHA256(key, the fields above)}

keyed with the project key (:func:`smecredit.privacy.load_key`), and ``HEAD.json`` records the
last part's sequence and MAC (itself HMAC-signed). Without the key nobody can produce a valid
link, so :func:`verify_audit` (``smecredit audit verify``) detects a part deleted (a gap in the
sequence, or the head pointing past the last part), edited (content or link no longer matches
its MAC), reordered or renamed (the sequence in the link differs from the name, or ``prev``
does not match) and inserted (no valid MAC, or a sequence already taken).

A part is written to a temporary file, flushed to disk (fsync) and then hard-linked to its
final name, which fails if the name exists: a part is never overwritten, and two concurrent
appends cannot take the same sequence number. What the chain cannot show: the removal of the
whole store, or a rollback of both the newest parts and ``HEAD.json`` to an earlier copy; keep
the head MAC that :func:`append_decisions` returns (it is printed by ``smecredit decide``) with
the decision run's records to anchor the chain outside the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

from smecredit.decisions.common import AUDIT_COLUMNS
from smecredit.exceptions import AuditIntegrityError, DataContractError, OutputError
from smecredit.io import _fsync_dir, check_writable, clean_stale_temps_in, frame_fingerprint, writing

log = logging.getLogger(__name__)

PART_GLOB = "part-*.parquet"
HEAD_FILE = "HEAD.json"
META_KEY = b"smecredit.audit"
_PART_RE = re.compile(r"^part-(\d{8})\.parquet$")
_LINK_FIELDS = ("seq", "prev", "content", "rows", "written_at")


def _key() -> bytes:
    from smecredit.privacy import load_key

    return load_key()


def _mac(key: bytes, fields: dict) -> str:
    body = json.dumps({k: fields[k] for k in _LINK_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, b"part|" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, seq: int, mac: str) -> str:
    return hmac.new(key, f"head|{seq}|{mac}".encode(), hashlib.sha256).hexdigest()


def _read_link(path: Path) -> dict | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None
    raw = meta.get(META_KEY)
    if raw is None:
        return None
    try:
        link = json.loads(raw)
    except ValueError:
        return None
    return link if isinstance(link, dict) else None


def _content(path: Path) -> tuple[str, int]:
    df = pd.read_parquet(path)
    return frame_fingerprint(df), len(df)


def _read_head(store: Path) -> dict | None:
    p = store / HEAD_FILE
    if not p.is_file():
        return None
    try:
        head = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return head if isinstance(head, dict) else {}


def _write_file_durably(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def check_store(store) -> Path:
    """Check early that audit store ``store`` can be appended to (a folder, writable); return it."""
    store = Path(store)
    if store.exists() and not store.is_dir():
        raise OutputError(f"audit store {store} is a file, not a folder")
    check_writable(store / ".probe", is_dir=False)
    legacy = [p.name for p in store.glob(PART_GLOB) if not _PART_RE.match(p.name)]
    if legacy:
        raise AuditIntegrityError(f"audit store {store} holds part(s) of the old unchained format ({legacy[0]}...); "
                                  "start a new store folder (keep this one read-only as an archive)")
    return store


def _tail(store: Path, key: bytes) -> tuple[int, str]:
    """(sequence, mac) of the last valid part, checking its link (and the head's) before chaining onto it."""
    parts = audit_parts(store)
    if not parts:
        head = _read_head(store)
        if head is not None:
            raise AuditIntegrityError(f"audit store {store}: {HEAD_FILE} exists but every part is gone "
                                      "(deleted); run `smecredit audit verify`")
        return 0, ""
    last = parts[-1]
    link = _read_link(last)
    seq = int(_PART_RE.match(last.name).group(1))
    if link is None or link.get("seq") != seq or not hmac.compare_digest(str(link.get("mac", "")), _mac(key, link)):
        raise AuditIntegrityError(f"audit store {store}: the last part {last.name} has no valid chain link; "
                                  "refusing to append (run `smecredit audit verify`)")
    return seq, link["mac"]


@contextlib.contextmanager
def _locked(store: Path):
    """Hold an exclusive lock on ``store/.lock`` (concurrent appends take turns; the head never goes back)."""
    import fcntl

    with open(store / ".lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def append_decisions(decisions: pd.DataFrame, store: str | os.PathLike) -> Path:
    """Append a batch of decision rows to the audit store folder ``store`` (durably: fsync'ed); return the part.

    Raises :class:`DataContractError` when the batch lacks an audit column,
    :class:`OutputError` when the store cannot be written and :class:`AuditIntegrityError`
    when the store's tail is not a valid chain link.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    miss = [c for c in AUDIT_COLUMNS if c not in decisions.columns]
    if miss:
        raise DataContractError(f"decisions lack audit column(s) {miss}; cannot append to the audit store")
    store = check_store(store)
    key = _key()
    with writing(store), _locked(store):
        clean_stale_temps_in(store)  # staging files of a killed append
        table = pa.Table.from_pandas(decisions.reset_index(drop=True), preserve_index=False)
        for _ in range(100):
            seq_prev, mac_prev = _tail(store, key)
            seq = seq_prev + 1
            final = store / f"part-{seq:08d}.parquet"
            fd, name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp", dir=store)
            os.close(fd)
            staging = Path(name)
            try:
                pq.write_table(table, staging)
                content, rows = _content(staging)  # the rows as they read back from disk
                link = {"seq": seq, "prev": mac_prev, "content": content, "rows": rows,
                        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                link["mac"] = _mac(key, link)
                meta = dict(table.schema.metadata or {})
                meta[META_KEY] = json.dumps(link, sort_keys=True).encode("utf-8")
                pq.write_table(table.replace_schema_metadata(meta), staging)
                with open(staging, "rb") as fh:
                    os.fsync(fh.fileno())
                try:
                    os.link(staging, final)  # fails if ``final`` exists: never overwritten
                except FileExistsError:
                    continue  # another append took this sequence number: chain onto it
            finally:
                staging.unlink(missing_ok=True)
            _fsync_dir(store)
            head = {"seq": seq, "part": final.name, "mac": link["mac"]}
            head["head_mac"] = _head_mac(key, seq, link["mac"])
            _write_file_durably(store / HEAD_FILE, json.dumps(head, indent=1).encode("utf-8"))
            _fsync_dir(store)
            log.info("appended %d decisions to the audit store (%s, chain mac %s)", rows, final.name, link["mac"][:16])
            return final
    raise OutputError(f"could not find a free part name in audit store {store}")


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
    """Check the whole chain; return one message per problem (each starts with the part's file name).

    An empty list means: every part is intact, in order, none missing or inserted, and the head
    matches the last part.
    """
    store = Path(store)
    if not store.is_dir():
        raise DataContractError(f"audit store {store} not found (not a folder)")
    key = _key()
    problems: list[str] = []
    parts = audit_parts(store)
    prev_mac: str | None = ""
    prev_seq = 0
    macs: dict[int, str] = {}
    for p in parts:
        m = _PART_RE.match(p.name)
        link = _read_link(p)
        seq = int(m.group(1)) if m else None
        if seq is not None and seq != prev_seq + 1:
            missing = ", ".join(f"part-{k:08d}.parquet" for k in range(prev_seq + 1, seq))
            problems.append(f"{p.name}: part(s) missing before it (deleted): {missing}")
            prev_mac = None
        ok = False
        if m is None or link is None:
            problems.append(f"{p.name}: no chain link (not written by the audit store, or rewritten)")
        elif not all(k in link for k in (*_LINK_FIELDS, "mac")):
            problems.append(f"{p.name}: incomplete chain link")
        elif not hmac.compare_digest(str(link["mac"]), _mac(key, link)):
            problems.append(f"{p.name}: chain link does not match its HMAC (link edited or forged, or not the key that wrote the store)")
        else:
            ok = True
            try:
                content, rows = _content(p)
            except (OSError, ValueError) as exc:
                content, rows = None, None
                problems.append(f"{p.name}: unreadable ({type(exc).__name__})")
            if content is not None and (content != link["content"] or rows != link["rows"]):
                problems.append(f"{p.name}: rows edited (content differs from the HMAC-signed fingerprint)")
            if link["seq"] != seq:
                problems.append(f"{p.name}: holds chain link #{link['seq']} under the name of #{seq} "
                                "(parts renamed, reordered or copied)")
            elif prev_mac is not None and link["prev"] != prev_mac:
                problems.append(f"{p.name}: does not chain onto the part before it (reordered or inserted)")
        if seq is not None:
            prev_seq = seq
        prev_mac = link["mac"] if ok else None
        if ok and seq is not None:
            macs[seq] = link["mac"]
    head = _read_head(store)
    if head is None:
        if parts:
            problems.append(f"{HEAD_FILE}: missing (deleted): the end of the chain cannot be checked")
    elif not head or not all(k in head for k in ("seq", "mac", "head_mac")) or not hmac.compare_digest(
            str(head["head_mac"]), _head_mac(key, int(head["seq"]) if str(head["seq"]).isdigit() else -1,
                                             str(head["mac"]))):
        problems.append(f"{HEAD_FILE}: does not match its HMAC (edited)")
    else:
        hseq = int(head["seq"])
        if hseq > prev_seq:
            missing = ", ".join(f"part-{k:08d}.parquet" for k in range(prev_seq + 1, hseq + 1))
            problems.append(f"{missing}: missing (deleted): {HEAD_FILE} records {hseq} part(s)")
        elif hseq < prev_seq:
            problems.append(f"part-{prev_seq:08d}.parquet: after the recorded end of the chain ({HEAD_FILE} "
                            f"records {hseq} part(s): inserted, or an append was interrupted)")
        elif macs.get(hseq) != head["mac"]:
            problems.append(f"part-{hseq:08d}.parquet: differs from the part {HEAD_FILE} records (replaced)")
    return problems


def content_hash(decisions: pd.DataFrame) -> str:
    """SHA-256 of the decision rows without ``decided_at`` (equal for the same inputs)."""
    cols = [c for c in decisions.columns if c != "decided_at"]
    return hashlib.sha256(frame_fingerprint(decisions[cols].reset_index(drop=True)).encode()).hexdigest()


def chain_head(store: str | os.PathLike) -> dict | None:
    """The store's head record (``seq``, ``part``, ``mac``), or ``None`` for an empty store."""
    return _read_head(Path(store)) or None
