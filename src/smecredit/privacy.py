"""Keyed pseudonymisation of enterprise identifiers (regulation Article 33).

Reports, logs and MLflow artifacts never carry raw enterprise names or unified social credit
codes. Where an enterprise must be referred to, use :func:`pseudonymise`, a keyed HMAC-SHA256
of the identifier. Without the key the pseudonym cannot be linked back to the enterprise;
with the same key the same enterprise always gets the same pseudonym.

The same key also signs model manifests (:mod:`smecredit.models.persist`) and chains the audit
store (:mod:`smecredit.decisions.audit`). It is looked up, in order:

1. the environment variable ``SMECREDIT_PSEUDONYM_KEY`` (the key itself, at least 16 characters);
2. the file named by ``SMECREDIT_PSEUDONYM_KEY_FILE``;
3. the user-level key file ``$XDG_CONFIG_HOME/smecredit/pseudonym.key`` (default
   ``~/.config/smecredit/pseudonym.key``), created only by ``smecredit key init``.

Without any of them, every command that needs the key refuses with :class:`ConfigError` (exit 2)
saying how to create or set one: a key is never created silently, because two keys (say, one
per working folder) would give the same enterprise two different pseudonyms. A bank sets 1 or 2
from its secret store; a laptop runs ``smecredit key init`` once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from smecredit.exceptions import ConfigError

log = logging.getLogger(__name__)

KEY_ENV = "SMECREDIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "SMECREDIT_PSEUDONYM_KEY_FILE"
LEGACY_KEY_FILE = Path(".smecredit") / "pseudonym.key"  # the old per-folder default, no longer read
PREFIX = "ent_"


def user_key_file() -> Path:
    """The user-level key file: ``$XDG_CONFIG_HOME/smecredit/pseudonym.key`` (default ``~/.config``)."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "smecredit" / "pseudonym.key"


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the pseudonymisation key {what} {path}: {exc.strerror or exc}") from exc
    if len(key) < 16:
        raise ConfigError(f"the key in {path} must be at least 16 bytes long")
    return key


def load_key() -> bytes:
    """Return the project key (see the module docstring for the lookup order)."""
    value = os.environ.get(KEY_ENV)
    if value:
        if len(value) < 16:
            raise ConfigError(f"{KEY_ENV} must be at least 16 characters long")
        return value.encode()
    key_file = os.environ.get(KEY_FILE_ENV)
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise ConfigError(f"{KEY_FILE_ENV} points to {path}, which is not a file")
        return _read_key_file(path, f"named by {KEY_FILE_ENV},")
    path = user_key_file()
    if path.is_file():
        return _read_key_file(path, "file")
    hint = ""
    if LEGACY_KEY_FILE.is_file():
        hint = (f" An old per-folder key exists at {LEGACY_KEY_FILE.resolve()}: to keep its pseudonyms, run "
                f"`smecredit key init --from {LEGACY_KEY_FILE}` or set {KEY_FILE_ENV} to it.")
    raise ConfigError(
        f"no pseudonymisation key: set {KEY_ENV} (at least 16 characters) or {KEY_FILE_ENV} (a file holding it), "
        f"or run `smecredit key init` once to create {path}.{hint}")


def init_key(*, source: Path | None = None, force: bool = False) -> Path:
    """Create the user-level key file (32 random bytes, or the key in ``source``); return its path.

    Refuses (:class:`ConfigError`) to replace an existing key unless ``force``: a new key changes
    every pseudonym, breaks the audit chain's verification and the signature of saved models.
    """
    path = user_key_file()
    if path.exists() and not force:
        raise ConfigError(f"a key already exists at {path}; replacing it changes every pseudonym and invalidates "
                          "saved models and audit stores (use --force if you mean it)")
    key = _read_key_file(Path(source), "file") if source is not None else secrets.token_hex(32).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("pseudonymisation key written to %s", path)
    return path


def pseudonymise(value: str, key: bytes | None = None, *, length: int = 12) -> str:
    """Keyed pseudonym of one identifier, e.g. ``ent_3f9a0c1b2d4e``."""
    key = load_key() if key is None else key
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:length]


def pseudonymise_series(values: Iterable[str] | pd.Series, key: bytes | None = None) -> pd.Series:
    """Vectorised :func:`pseudonymise` (the key is loaded once)."""
    key = load_key() if key is None else key
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    return s.astype(str).map(lambda v: pseudonymise(v, key))
