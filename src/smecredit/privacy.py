"""Keyed pseudonymisation of enterprise identifiers (regulation Article 33).

Reports, logs and MLflow artifacts never carry raw enterprise names or unified social credit
codes. Where an enterprise must be referred to, use :func:`pseudonymise`, a keyed HMAC-SHA256
of the identifier. Without the key the pseudonym cannot be linked back to the enterprise;
with the same key the same enterprise always gets the same pseudonym.

The key is looked up, in order:

1. the environment variable ``SMECREDIT_PSEUDONYM_KEY`` (the key itself, at least 16 characters);
2. the file named by ``SMECREDIT_PSEUDONYM_KEY_FILE``;
3. ``.smecredit/pseudonym.key`` in the working folder, created with 32 random bytes on first
   use (a laptop default; a bank sets 1 or 2 from its secret store).
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
DEFAULT_KEY_FILE = Path(".smecredit") / "pseudonym.key"
PREFIX = "ent_"


def load_key() -> bytes:
    """Return the pseudonymisation key (see the module docstring for the lookup order)."""
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
        key = path.read_bytes().strip()
        if len(key) < 16:
            raise ConfigError(f"the key in {path} must be at least 16 bytes long")
        return key
    path = DEFAULT_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("created a new pseudonymisation key in %s; set %s in production", path, KEY_ENV)
    return path.read_bytes().strip()


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
