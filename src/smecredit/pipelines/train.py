"""Training pipeline: load data, split, fit, calibrate, validate, log to MLflow, save MODEL_DIR.

``train(data, target, out, kind=...)`` is what ``smecredit train`` runs. ``data`` is either a
features folder written by ``smecredit features`` (``features.parquet``, ``catalog.csv``,
``manifest.json``) or a single CSV/Parquet table with a binary target.

The steps are modules of their own: :mod:`~smecredit.pipelines.train_data` (reading and splitting,
documented there), :mod:`~smecredit.pipelines.train_fit` (fit and validate) and
:mod:`~smecredit.pipelines.train_log` (log to MLflow and write MODEL_DIR).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from smecredit.config_model import FrozenConfig
from smecredit.exceptions import ConfigError, OutputError
from smecredit.io import check_writable
from smecredit.pipelines.train_data import (SPLITS, TrainingData, duplicate_report, held_out_mask, load_training_data,
                                            row_groups, split_data)
from smecredit.pipelines.train_fit import Fitted, fit_and_validate
from smecredit.pipelines.train_log import VALIDATION_FILE, _plots, log_and_write, train_metrics, version_description

log = logging.getLogger(__name__)

__all__ = ["SPLITS", "VALIDATION_FILE", "Fitted", "TrainConfig", "TrainingData", "_plots", "check_model_out", "duplicate_report",
           "held_out_mask", "load_training_data", "resolve_developer", "row_groups", "split_data", "train",
           "train_metrics", "version_description"]


class TrainConfig(FrozenConfig):
    """The training parameters of :func:`train` (frozen pydantic model: unknown fields rejected, every invalid
    field reported at once as a :class:`~smecredit.exceptions.ConfigError`, exit 2)."""

    model_config = ConfigDict(title="training settings")

    kind: Literal["gbm", "scorecard"] = "gbm"
    split: Literal["time", "random"] | None = None
    experiment: str = Field("smecredit", min_length=1)
    register_name: str | None = Field(None, min_length=1, alias="register")  # `register` would shadow BaseModel
    compare: bool = True
    calibration: Literal["auto", "platt", "isotonic"] = "auto"
    pd_floor: float = Field(0.0005, gt=0, lt=1)
    tune_seconds: float = Field(0.0, ge=0)
    random_state: int = Field(0, ge=0, le=2**32 - 1)
    n_boot: int = Field(500, ge=10)
    developer: str | None = None
    population: Literal["behavioural", "application"] = "behavioural"
    outlier_tail: float | None = Field(0.001, ge=0, lt=0.5)

    @field_validator("developer")
    @classmethod
    def _developer_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("developer must be a non-empty text")
        return v


def resolve_developer(developer: str | None) -> str:
    """The model developer: ``developer`` when given, else the OS user name (``uid-<n>`` when it has none)."""
    import getpass

    if developer is not None:
        if not str(developer).strip():
            raise ConfigError("developer must be a non-empty text")
        return str(developer).strip()
    try:
        user = getpass.getuser().strip()
    except (OSError, KeyError):  # no user name for this uid (e.g. a container): the uid identifies the account
        user = ""
    if not user:
        user = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
        log.warning("no OS user name; the model developer is recorded as %s (pass --developer ID)", user)
    return user


def check_model_out(out) -> Path:
    """Check early that MODEL_DIR ``out`` can be written: a new folder, or an existing model folder
    (replaced as a unit); never a file or a folder holding something else."""
    out = check_writable(out, is_dir=True)
    if out.is_dir() and any(out.iterdir()) and not (out / "MLmodel").is_file():
        raise OutputError(f"cannot write the model to {out}: the folder exists and is not a model folder "
                          "(no MLmodel); give a new folder name")
    return out


def train(
    data,
    target: str,
    out,
    *,
    kind: str = "gbm",
    split: str | None = None,
    experiment: str = "smecredit",
    register: str | None = None,
    compare: bool = True,
    calibration: str = "auto",
    pd_floor: float = 0.0005,
    tune_seconds: float = 0.0,
    random_state: int = 0,
    n_boot: int = 500,
    progress=None,
    developer: str | None = None,
    population: str = "behavioural",
    outlier_tail: float | None = 0.001,
) -> dict:
    """Train, validate, log and save a credit model; return a summary dict.

    Parameters
    ----------
    data : path of a features folder or a single CSV/Parquet table.
    target : name of the binary target column.
    out : MODEL_DIR to write (an MLflow model directory; replaced atomically).
    kind : "gbm" or "scorecard".
    split : "time", "random" or None (time for features folders with snapshots, else random).
    experiment : MLflow experiment name.
    register : registered model name; a new version gets alias ``challenger``.
    compare : also fit the other kind on the same split and compare AUCs with DeLong.
    tune_seconds : Optuna time budget for GBM hyper-parameters (0 = defaults).
    progress : callable or None
        Called with the name of each stage (``smecredit.progress.Progress.stage``); silent when None.
    population : "behavioural" (every row) or "application" (rows with no current arrears,
        ``cr_dpd_now == 0``); recorded with the intended use and default definition as ``scope``.
    outlier_tail : numeric features are capped at their training ``outlier_tail`` / ``1 − outlier_tail``
        quantiles in training and at scoring (``0``: no caps; :mod:`smecredit.models.outliers`).
    developer : who developed the model (default: the OS user); recorded as the MLflow tag
        ``smecredit.developer`` so that ``smecredit promote`` can refuse a review by the developer.
    """
    cfg = TrainConfig(kind=kind, split=split, experiment=experiment, register=register, compare=compare,
                      calibration=calibration, pd_floor=pd_floor, tune_seconds=tune_seconds, random_state=random_state,
                      n_boot=n_boot, developer=developer, population=population,
                      outlier_tail=outlier_tail)  # every invalid field at once
    out = check_model_out(out)  # refused before any work
    stage = progress or (lambda name: None)
    stage("loading data")
    developer = resolve_developer(cfg.developer)
    fitted = fit_and_validate(data, target, kind=cfg.kind, split=cfg.split, compare=cfg.compare,
                              calibration=cfg.calibration, pd_floor=cfg.pd_floor, tune_seconds=cfg.tune_seconds,
                              random_state=cfg.random_state, n_boot=cfg.n_boot, developer=developer,
                              population=cfg.population, outlier_tail=cfg.outlier_tail, stage=stage)
    return log_and_write(fitted, Path(out), experiment=cfg.experiment, register=cfg.register_name,
                         stage=stage)
