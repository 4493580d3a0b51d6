"""Governance report runs (and, re-exported from :mod:`smecredit.registry.reviews`, the reviewed promotion).

``run_report`` loads a model and data, builds the report (:mod:`smecredit.report`), writes one
self-contained HTML file atomically and logs it to the model's MLflow run as
``reports/governance_report.html`` with the run tag ``smecredit.report_sha256``.

``promote`` records a reviewer's sign-off as tags on a registered model version (reviewer,
UTC time, note, SHA-256 of the report logged for that version's run) and moves an alias
(e.g. ``champion``) to it. A version whose run has no report is refused
(:class:`~smecredit.exceptions.GovernanceError`, CLI exit code 5).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from smecredit import __version__
from smecredit.exceptions import ConfigError, DataContractError
from smecredit.io import atomic_path, check_writable, file_sha256, read_table
from smecredit.registry.reviews import (DEVELOPER_TAG, REPORT_ARTIFACT, REPORT_DIR, REPORT_NAME, REPORT_SHA_TAG,
                                        REVIEW_DIR, REVIEW_TAGS, _registered_of, log_report, promote, recorded_review,
                                        reviewed_report_sha)
from smecredit.report import ReportData, ReportSettings, build_report, render_report

log = logging.getLogger(__name__)

# the report and review artifacts and tags: smecredit.registry.reviews

@dataclass(frozen=True)
class ReportResult:
    """Outcome of :func:`run_report`."""

    path: Path
    sha256: str
    run_id: str | None
    logged: bool


# --------------------------------------------------------------------------- inputs
def load_report_data(path: str | os.PathLike) -> ReportData:
    """Read the report's data: a features folder (``features.parquet`` + ``catalog.csv``) or one table file.

    Raises
    ------
    DataContractError
        The path does not exist, or a folder has no ``features.parquet``.
    """
    path = Path(path)
    catalog = None
    manifest: dict = {}
    if path.is_dir():
        table = path / "features.parquet"
        if not table.is_file():
            raise DataContractError(f"{path} is a folder without features.parquet (expected a features folder "
                                    "written by `smecredit features`, or a .parquet/.csv file)")
        if (path / "catalog.csv").is_file():
            catalog = read_table(path / "catalog.csv")
        if (path / "manifest.json").is_file():
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    else:
        table = path
    frame = read_table(table)
    if catalog is None:
        catalog = _default_catalog(frame)
    return ReportData(frame=frame, source=str(path), fingerprint=file_sha256(table), catalog=catalog,
                      manifest=manifest)


def _default_catalog(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The package's feature catalogue when the data carry catalogued features, else ``None``."""
    from smecredit.features.catalog import feature_catalog

    cat = feature_catalog()
    return cat if cat["name"].isin(frame.columns).any() else None


def git_commit() -> str | None:
    """Short git commit (``+dirty`` when modified) of the smecredit source tree, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--",
                                str(here.parent)], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty else sha


def generated_at() -> str:
    """Report time (UTC); ``SOURCE_DATE_EPOCH`` (reproducible builds) overrides the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except ValueError as exc:
            raise ConfigError(f"SOURCE_DATE_EPOCH must be an integer number of seconds; got {epoch!r}") from exc
    else:
        when = dt.datetime.now(tz=dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _run_id_of(model_uri: str, meta: dict) -> str | None:
    if model_uri.startswith("runs:/"):
        return model_uri[len("runs:/"):].split("/", 1)[0]
    return meta.get("run_id")


def _gbm_form(model) -> str | None:
    """The GBM's out-of-fold decision: its linear base alone or with trees, and the AUC of each."""
    d = getattr(model.estimator_, "tree_decision_", None) if model.kind == "gbm" else None
    if not d or "oof_auc_base" not in d:
        return None
    return (f"{d['decision']} ({int(model.estimator_.n_rounds_)} trees): out-of-fold AUC {d['oof_auc_base']:.4f} "
            f"for the linear base alone, {d['oof_auc_full']:.4f} with {d['best_n_trees']} trees; {d['reason']}")


def identity_of(model, model_uri: str, data: ReportData) -> dict:
    """Section 1 of the report: who the model is and what it was built from."""
    meta = model.metadata_
    name, version = meta.get("registered_name"), meta.get("registered_version")
    commit = git_commit()
    kind_label = {"gbm": "gradient-boosted PD model (LightGBM on a logistic base)",
                  "scorecard": "points scorecard (optbinning + logistic regression)"}.get(model.kind, model.kind)
    if model.kind == "gbm" and getattr(model.estimator_, "trees_kept_", True) is False:
        kind_label = ("logistic PD model: the GBM's linear base alone (its trees did not improve the out-of-fold "
                      "AUC and were dropped)")
    target = meta.get("target") or "bad"
    horizon = meta.get("horizon") or meta.get("horizon_months")
    rate = meta.get("train_default_rate")
    return {
        "title": f"{name} version {version}" if name else f"{model.kind} model at {Path(model_uri).name or model_uri}",
        "registered_name": name, "registered_version": version, "run_id": _run_id_of(model_uri, meta),
        "model_uri": model_uri, "kind": model.kind, "kind_label": kind_label,
        "target": f"{target}" + (f", {horizon}-month horizon" if horizon else ""),
        "n_train": f"{meta['n_train']:,}" if isinstance(meta.get("n_train"), int) else "–",
        "train_default_rate": f"{100 * rate:.2f}%" if isinstance(rate, float) else "–",
        "train_fingerprint": meta.get("data_fingerprint"),
        "data_source": data.source, "data_fingerprint": data.fingerprint,
        "code_version": f"smecredit {__version__}" + (f", git {commit}" if commit else ""),
        "calibration": f"{meta.get('calibration', '–')}, PD floor {meta.get('pd_floor', '–')}",
        "gbm_form": _gbm_form(model),
        "generated_at": generated_at(),
        "developer": meta.get("developer"),
    }


def run_report(model_uri: str, data_path: str | os.PathLike, out: str | os.PathLike, *, compare: str | None = None,
               reference: str | os.PathLike | None = None, settings: ReportSettings | None = None,
               log_to_mlflow: bool = True, stress_raw: str | os.PathLike | None = None,
               stress_as_of: str | None = None, stress_macro: int = 0, progress=None) -> ReportResult:
    """Build the governance report of ``model_uri`` on ``data_path`` and write it to ``out``.

    Parameters
    ----------
    model_uri : str
        MLflow model directory or URI (``models:/name/version``, ``models:/name@alias``, ``runs:/...``).
    data_path : path
        Features folder or a single .parquet/.csv table (with the target column for outcome tests).
    out : path
        The HTML file to write (atomically).
    compare : str or None
        A second model (e.g. the scorecard when reporting the GBM) for the comparison section.
    reference : path or None
        Training (reference) data for the PSI; default: the rows of the report data inside the
        model's training window.
    settings : ReportSettings or None
    log_to_mlflow : bool, default=True
        Log the report to the model's MLflow run when the run is known.
    progress : callable or None
        Called with the name of each stage (``smecredit.progress.Progress.stage``); silent when None.
    stress_raw, stress_as_of : path and date, optional
        Raw data folder and snapshot of the sensitivity and stress test (:mod:`smecredit.pipelines.stress`).
    stress_macro : int, default 0
        Enterprises of the two simulated cities of the macro-shock stress (:mod:`smecredit.pipelines.macro_stress`);
        0: not run.
    """
    from smecredit.registry import load_model

    out = check_writable(out)  # refused before any work
    stage = progress or (lambda name: None)
    stage("loading the model and data")
    model_uri = str(model_uri)
    model = load_model(model_uri)
    data = load_report_data(data_path)
    other = load_model(compare) if compare else None
    ref_frame = None
    ref_label = ""
    if reference is not None:
        ref = load_report_data(reference)
        ref_frame, ref_label = ref.frame, f"reference data {reference}"
    identity = identity_of(model, model_uri, data)
    reg_name, reg_version = _registered_of(model_uri, model.metadata_)
    # the registry is only asked when the model came from it or the report is logged to MLflow anyway
    ask = model_uri.startswith("models:/") or (log_to_mlflow and identity["run_id"])
    identity["review"] = recorded_review(reg_name, reg_version) if ask else None
    if identity["review"] and identity["review"].get("developer"):
        identity["developer"] = identity["review"]["developer"]
    from smecredit.pipelines.train import held_out_mask

    stress = None
    if stress_raw is not None:
        from smecredit.data import load_raw
        from smecredit.pipelines.stress import stress_test

        if not stress_as_of:
            raise ConfigError("--stress-raw needs --stress-as-of DATE (the snapshot to stress)")
        stress = stress_test(model, load_raw(stress_raw), stress_as_of)
    if stress_macro:
        from smecredit.pipelines.macro_stress import macro_stress

        stress = stress or {"scenarios": [], "note": "No input stress was run (smecredit report --stress-raw RAW "
                                                     "--stress-as-of DATE)."}
        stress["macro"] = macro_stress(model, n_enterprises=stress_macro)
    context = build_report(model, data, identity=identity, reference=ref_frame, reference_label=ref_label,
                           compare=other, settings=settings, stress=stress, progress=stage,
                           holdout=held_out_mask(data.frame, model.metadata_, manifest=data.manifest))
    stage("rendering and writing the report")
    html = render_report(context)
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    sha = file_sha256(out)
    log.info("wrote governance report %s (sha256 %s)", out, sha)
    run_id = identity["run_id"]
    logged = False
    if log_to_mlflow and run_id:
        log_report(run_id, out, sha)
        logged = True
    elif log_to_mlflow:
        log.warning("model %s has no MLflow run id; the report was not logged to MLflow", model_uri)
    return ReportResult(out, sha, run_id, logged)


__all__ = ["DEVELOPER_TAG", "REPORT_ARTIFACT", "REPORT_DIR", "REPORT_NAME", "REPORT_SHA_TAG", "REVIEW_DIR", "REVIEW_TAGS",
           "ReportResult", "generated_at", "git_commit", "identity_of", "load_report_data", "log_report", "promote",
           "recorded_review", "reviewed_report_sha", "run_report"]
