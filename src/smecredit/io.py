"""Atomic file output and table input.

Every file smecredit writes goes through :func:`atomic_path`: the content is written to a
temporary file in the same folder and renamed into place only when complete, so a failed or
interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from smecredit.exceptions import DataContractError

TABLE_SUFFIXES = (".parquet", ".csv")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    On any exception the temporary file (or folder) is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        tmp.chmod(0o777 & ~umask)
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        if is_dir:
            if target.exists():
                backup = target.with_name(f".{target.name}.old")
                if backup.exists():
                    shutil.rmtree(backup)
                target.rename(backup)
                tmp.rename(target)
                shutil.rmtree(backup)
            else:
                tmp.rename(target)
        else:
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` atomically as Parquet or CSV (chosen by the suffix of ``path``)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            raise DataContractError(f"cannot write {path}: use a .parquet or .csv file name")
    return path


def read_table(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a Parquet or CSV table; a clear error if it does not exist or cannot be parsed."""
    path = Path(path)
    if not path.exists():
        raise DataContractError(f"file not found: {path}")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path, **kwargs)
        if path.suffix == ".csv":
            return pd.read_csv(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise DataContractError(f"cannot read table {path}: {exc}") from exc
    raise DataContractError(f"unsupported table format {path.suffix!r} for {path}: use .parquet or .csv")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_fingerprint(df: pd.DataFrame) -> str:
    """A stable SHA-256 fingerprint of a frame's columns, dtypes and values (row order matters)."""
    h = hashlib.sha256()
    h.update("|".join(f"{c}:{df[c].dtype}" for c in df.columns).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()
