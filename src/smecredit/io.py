"""File input and output: atomic, durable, and every failure mapped to a clear error.

This is the one place that turns I/O failures into smecredit's exceptions and exit codes:

* reading a table (:func:`read_table`, :func:`read_table_file`): missing file, unsupported
  suffix, corrupt or mislabelled Parquet/CSV (``ArrowInvalid``, a CSV named ``.parquet``...)
  → :class:`~smecredit.exceptions.DataContractError` (exit 3) naming the file;
* writing (:func:`atomic_path`, :func:`write_table`, :func:`check_writable`): read-only or
  missing folder, permission denied, disk full, a file where a folder is expected
  → :class:`~smecredit.exceptions.OutputError` (exit 6) naming the path.

Every file smecredit writes goes through :func:`atomic_path`: the content is written to a
temporary file (``.<name>.<pid>.<random>.tmp``) in the same folder, flushed to disk (fsync), and
renamed into place only when complete, so a failed or interrupted run never leaves a
half-written file behind. A folder output (``is_dir=True``) is staged the same way and
renamed as one unit. Temporary files are removed on any failure; those of a killed run (their
process no longer exists) are removed by the next run writing the same output.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from smecredit.exceptions import DataContractError, OutputError

TABLE_SUFFIXES = (".parquet", ".csv")

_REASONS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOENT: "folder does not exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists",
}


def output_error(path, exc: BaseException) -> OutputError:
    """The :class:`OutputError` for an :class:`OSError` raised while writing ``path``."""
    code = getattr(exc, "errno", None)
    reason = _REASONS.get(code) or getattr(exc, "strerror", None) or str(exc)
    if code in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((a for a in Path(path).parents if a.is_file()), None)
        if blocker is not None:
            reason = f"a part of the path is a file, not a folder ({blocker})"
    err = OutputError(f"cannot write {path}: {reason}")
    err.__cause__ = exc
    return err


@contextlib.contextmanager
def writing(path) -> Iterator[None]:
    """Map any :class:`OSError` raised inside the block to :class:`OutputError` naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise output_error(path, exc) from exc


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_path(path) -> None:
    """Flush a written file (or every file of a folder) to disk."""
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if path.is_dir():
        for d in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
            _fsync_dir(d)


_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(target) -> list[Path]:
    """Remove the temporary files/folders a killed run left for ``target``; return what was removed.

    A temporary name carries its writer's process id; only those whose process no longer exists
    are removed (a concurrent run writing the same output keeps its file).
    """
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        m = _TMP_RE.match(p.name)
        if m is None or m.group("name") != target.name or _pid_alive(int(m.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
    old = target.with_name(f".{target.name}.old")
    if old.is_dir():
        with contextlib.suppress(OSError):
            if target.exists():
                shutil.rmtree(old)
                removed.append(old)
            else:  # killed between the two renames of a folder swap: the previous folder comes back
                old.rename(target)
    return removed


_WORK_RE = re.compile(r"^(?P<prefix>smecredit-[a-z]+-)(?P<pid>\d+)-[^/]+$")


@contextlib.contextmanager
def work_dir(prefix: str) -> Iterator[Path]:
    """A private temporary folder in the system temp folder, removed on exit (success or failure).

    Its name carries the process id (``<prefix><pid>-<random>``); folders of the same prefix left by a
    killed run (process gone) are removed first, so a killed chunked ``features`` run does not leave
    its partitioned copy of the raw data behind for ever.
    """
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for p in base.iterdir():
            m = _WORK_RE.match(p.name)
            if m and m.group("prefix") == prefix and not _pid_alive(int(m.group("pid"))) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as tmp:
        yield Path(tmp)


def clean_stale_temps_in(folder) -> list[Path]:
    """Remove every temporary file of a killed run (process gone) directly inside ``folder``."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP_RE.match(p.name)
        if m is None or _pid_alive(int(m.group("pid"))) or not p.is_file():
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def check_writable(path, *, is_dir: bool = False) -> Path:
    """Fail early (before any work) when ``path`` cannot be written; return it as a ``Path``.

    Creates the parent folders, then creates and removes a probe file next to ``path``.
    Raises :class:`OutputError` naming the path (read-only, missing permission, a file where a
    folder is expected...), or when ``path`` is an existing folder but a file is expected (or
    the reverse).
    """
    target = Path(path)
    if target.exists() and target.is_dir() != is_dir:
        what = "a folder" if target.is_dir() else "a file"
        raise OutputError(f"cannot write {target}: it exists and is {what}; give a new "
                          f"{'folder' if is_dir else 'file'} name or remove it")
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(name)
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; flush it and move it onto ``path`` on success.

    On any exception the temporary file (or folder) is removed and ``path`` is untouched.
    An existing ``path`` is replaced (a folder: renamed aside, then removed after the swap).
    I/O failures raise :class:`OutputError` naming ``path``.
    """
    target = Path(path)
    if target.exists() and target.is_dir() != is_dir:
        check_writable(target, is_dir=is_dir)  # raises the clear error
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(target)
        umask = os.umask(0)
        os.umask(umask)
        prefix = f".{target.name}.{os.getpid()}."
        if is_dir:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=target.parent))
            tmp.chmod(0o777 & ~umask)
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
            os.close(fd)
            tmp = Path(name)
            tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        with writing(target):
            if tmp.exists():
                fsync_path(tmp)
            if is_dir:
                if target.exists():
                    backup = target.with_name(f".{target.name}.old")
                    if backup.exists():
                        shutil.rmtree(backup)
                    target.rename(backup)
                    try:
                        tmp.rename(target)
                    except BaseException:
                        backup.rename(target)  # put the previous folder back
                        raise
                    shutil.rmtree(backup, ignore_errors=True)
                else:
                    tmp.rename(target)
            else:
                os.replace(tmp, target)
            _fsync_dir(target.parent)
    except BaseException as exc:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, folder made read-only meanwhile...: a clear error
            raise output_error(target, exc) from exc
        raise


def _check_table_suffix(path: Path) -> None:
    if path.suffix not in TABLE_SUFFIXES:
        raise DataContractError(f"cannot write {path}: use a .parquet or .csv file name")


def check_table_output(path) -> Path:
    """Check early that table ``path`` (.parquet or .csv) can be written; return it as a ``Path``."""
    path = Path(path)
    _check_table_suffix(path)
    return check_writable(path)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` atomically as Parquet or CSV (chosen by the suffix of ``path``)."""
    path = Path(path)
    _check_table_suffix(path)
    with atomic_path(path) as tmp:
        write_table_into(df, tmp, path)
    return path


def write_table_into(df: pd.DataFrame, tmp, path) -> None:
    """Write ``df`` into the temporary file ``tmp`` in the format of ``path``'s suffix (errors name ``path``)."""
    path = Path(path)
    _check_table_suffix(path)
    with writing(path):
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)


def table_read_error(path, exc: BaseException) -> DataContractError:
    """The :class:`DataContractError` for a table that exists but cannot be parsed."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    kind = "Parquet" if Path(path).suffix == ".parquet" else "CSV"
    err = DataContractError(f"cannot read table {path}: not a valid {kind} file (corrupt, truncated or another "
                            f"format under this name): {first}")
    err.__cause__ = exc
    return err


def read_table_file(path, *, csv_kwargs: dict | None = None, parquet_kwargs: dict | None = None) -> pd.DataFrame:
    """Read one Parquet or CSV file, mapping every read/parse failure to :class:`DataContractError`."""
    import pyarrow as pa

    path = Path(path)
    if not path.exists():
        raise DataContractError(f"file not found: {path}")
    if path.is_dir():
        raise DataContractError(f"cannot read table {path}: it is a folder, not a file")
    if path.suffix not in TABLE_SUFFIXES:
        raise DataContractError(f"unsupported table format {path.suffix!r} for {path}: use .parquet or .csv")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path, **(parquet_kwargs or {}))
        return pd.read_csv(path, **(csv_kwargs or {}))
    except (OSError, ValueError, pa.ArrowException, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise table_read_error(path, exc) from exc


def read_table(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a Parquet or CSV table; a clear error if it does not exist or cannot be parsed."""
    path = Path(path)
    if path.suffix == ".csv":
        return read_table_file(path, csv_kwargs=kwargs)
    return read_table_file(path, parquet_kwargs=kwargs)


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
