"""The exception hierarchy of smecredit.

Library code raises one of these; the CLI maps each to a clear message and an exit code
(see :mod:`smecredit.cli`). Messages name tables, columns and row positions, never raw
enterprise names or unified social credit codes.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SkNotFittedError


class SmeCreditError(Exception):
    """Base class of every error smecredit raises on purpose."""

    exit_code = 1


class ConfigError(SmeCreditError):
    """A configuration or policy file, or a parameter, is invalid."""

    exit_code = 2


class DataContractError(SmeCreditError):
    """Input data break the documented data contract (missing column, wrong type, bad key...)."""

    exit_code = 3


class PolicyError(ConfigError):
    """A decision policy is invalid (unknown key, impossible threshold, shares not summing to 1)."""


class ModelNotFoundError(SmeCreditError):
    """A model directory or MLflow model URI cannot be resolved."""

    exit_code = 4


class GovernanceError(SmeCreditError):
    """A governance step is refused (e.g. promotion of a version without a report)."""

    exit_code = 5


class NotFittedError(SmeCreditError, _SkNotFittedError):
    """An estimator was used before ``fit``."""


class ModelIntegrityError(GovernanceError):
    """A model's files do not match their signed manifest or registry record; loading is refused."""


class AuditIntegrityError(GovernanceError):
    """The audit store's HMAC chain is broken (a part deleted, edited, reordered or inserted)."""


class OutputError(SmeCreditError):
    """An output cannot be written (read-only or missing folder, disk full, path is a file...)."""

    exit_code = 6


#: How every error message counts rows: as a spreadsheet does, the header line being row 1, so the
#: first record of a table (CSV or Parquet) is row 2. ``sheet_row(0) == 2``.
ROW_NUMBERING = "spreadsheet rows: header = row 1, first record = row 2"


def sheet_row(position: int) -> int:
    """Spreadsheet row number of the 0-based record ``position`` (header = row 1)."""
    return int(position) + 2


def sheet_rows(positions, limit: int = 10) -> str:
    """``"spreadsheet rows 2, 5 and 3 more"`` for 0-based record positions (a boolean mask or a list).

    Every error message of smecredit names rows this way (see :data:`ROW_NUMBERING`).
    """
    import numpy as np

    arr = np.asarray(positions)
    idx = np.flatnonzero(arr) if arr.dtype == bool else arr.astype("int64").ravel()
    shown = ", ".join(str(sheet_row(i)) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"spreadsheet row{'s' if len(idx) != 1 else ''} {shown}{more}"
