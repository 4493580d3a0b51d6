"""MLflow runs for the pipelines: start a run in an experiment, log parameters, tags, metrics and
files, and move a registered version's alias — so that the pipelines import no MLflow themselves.
"""

from __future__ import annotations

import contextlib

import mlflow

from smecredit.registry import tracking


@contextlib.contextmanager
def start_run(experiment: str, run_name: str):
    """Start an MLflow run in experiment ``experiment`` (created when absent); yield ``(experiment_id, run)``."""
    experiment_id = tracking.ensure_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        yield experiment_id, run


def log_params(params: dict) -> None:
    mlflow.log_params(params)


def set_tags(tags: dict) -> None:
    mlflow.set_tags(tags)


def log_metrics(metrics: dict[str, float]) -> None:
    mlflow.log_metrics(metrics)


def log_metric(name: str, value: float) -> None:
    mlflow.log_metric(name, value)


def log_artifact(path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def set_alias(name: str, version: str, alias: str, *, description: str | None = None) -> None:
    """Point ``alias`` of registered model ``name`` at ``version`` (and set the version's description)."""
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, alias, version)
    if description is not None:
        client.update_model_version(name, version, description=description)


def run_metric(run_id: str, name: str) -> float | None:
    """The latest value of metric ``name`` of run ``run_id``; ``None`` when the run or the metric is absent."""
    from mlflow.exceptions import MlflowException

    tracking.configure()
    try:
        value = mlflow.MlflowClient().get_run(run_id).data.metrics.get(name)
    except MlflowException:
        return None
    return None if value is None else float(value)


def log_to_run(run_id: str, *, metrics: dict[str, float], step: int, folder, artifact_path: str,
               tags: dict[str, str]) -> None:
    """Log ``metrics`` (at ``step``, one timestamp), the files of ``folder`` and ``tags`` to existing run ``run_id``.

    Raises :class:`~smecredit.exceptions.ModelNotFoundError` when MLflow refuses (e.g. no such run).
    """
    import datetime as dt

    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    from smecredit.exceptions import ModelNotFoundError

    tracking.configure()
    client = mlflow.MlflowClient()
    ts = int(dt.datetime.now(tz=dt.UTC).timestamp() * 1000)
    try:
        client.log_batch(run_id, metrics=[Metric(k, float(v), ts, step) for k, v in metrics.items()])
        client.log_artifacts(run_id, str(folder), artifact_path=artifact_path)
        for k, v in tags.items():
            client.set_tag(run_id, k, v)
    except MlflowException as exc:
        raise ModelNotFoundError(f"cannot log to MLflow run {run_id}: {str(exc).splitlines()[0]}") from exc
