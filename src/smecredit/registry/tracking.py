"""MLflow tracking set-up shared by training, reporting and scoring.

The tracking URI is ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<cwd>/mlflow.db``
(never MLflow's own fallback, which depends on whether ``./mlruns`` happens to exist).
Experiments are created with an explicit artifact location next to the database.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"


def tracking_uri() -> str:
    """Return the tracking URI smecredit uses (see the module docstring)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def configure() -> str:
    """Set MLflow's tracking and registry URI; return it."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    log.debug("MLflow tracking URI: %s", uri)
    return uri


def _artifact_location(uri: str, name: str) -> str | None:
    """Explicit artifact folder for local stores; ``None`` lets a tracking server decide."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.parent / DEFAULT_ARTIFACTS / name).resolve().as_uri()
    return None


def ensure_experiment(name: str) -> str:
    """Return the id of experiment ``name``, creating it (with an explicit artifact location)."""
    import mlflow

    uri = configure()
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_location(uri, name))
