"""Governance report runs and the reviewed promotion of a model version.

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
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from smecredit import __version__
from smecredit.exceptions import ConfigError, DataContractError, GovernanceError, ModelNotFoundError
from smecredit.io import atomic_path, check_writable, file_sha256, frame_fingerprint, read_table
from smecredit.registry import tracking
from smecredit.report import ReportData, ReportSettings, build_report, render_report

log = logging.getLogger(__name__)

REPORT_DIR = "reports"
REPORT_NAME = "governance_report.html"
REPORT_ARTIFACT = f"{REPORT_DIR}/{REPORT_NAME}"
REPORT_SHA_TAG = "smecredit.report_sha256"
REVIEW_TAGS = ("review.decision", "review.reviewer", "review.developer", "review.time", "review.note",
               "review.report_sha256", "review.alias", "review.alias_moved", "review.report_artifact",
               "review.revalidation_date", "review.conditions", "review.findings", "review.record_artifact")


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


def _registered_of(model_uri: str, meta: dict) -> tuple[str | None, str | None]:
    """(name, version) of a registered model from its URI (``models:/name/version`` or ``@alias``) or metadata."""
    if model_uri.startswith("models:/"):
        ref = model_uri[len("models:/"):].strip("/")
        if "@" in ref:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException

            rname, alias = ref.split("@", 1)
            try:
                tracking.configure()
                return rname, str(MlflowClient().get_model_version_by_alias(rname, alias).version)
            except MlflowException:
                return rname, None
        if "/" in ref:
            rname, ver = ref.split("/", 1)
            return rname, ver
    return meta.get("registered_name"), meta.get("registered_version")


# --------------------------------------------------------------------------- report
def run_report(model_uri: str, data_path: str | os.PathLike, out: str | os.PathLike, *, compare: str | None = None,
               reference: str | os.PathLike | None = None, settings: ReportSettings | None = None,
               log_to_mlflow: bool = True, stress_raw: str | os.PathLike | None = None,
               stress_as_of: str | None = None, progress=None) -> ReportResult:
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


def log_report(run_id: str, path: Path, sha: str) -> None:
    """Log ``path`` to run ``run_id`` as ``reports/governance_report.html`` and tag the run with its SHA-256.

    Every report is also kept as ``reports/history/governance_report_<sha256>.html``, so the exact
    report a reviewer signed (tag ``review.report_sha256``) stays retrievable after a newer report
    replaces the current one.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    tracking.configure()
    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="smecredit-report-") as tmp:
        staged = Path(tmp) / REPORT_NAME
        shutil.copyfile(path, staged)
        kept = Path(tmp) / f"governance_report_{sha}.html"
        shutil.copyfile(path, kept)
        try:
            client.log_artifact(run_id, str(staged), artifact_path=REPORT_DIR)
            client.log_artifact(run_id, str(kept), artifact_path=f"{REPORT_DIR}/history")
            client.set_tag(run_id, REPORT_SHA_TAG, sha)
        except MlflowException as exc:
            raise ModelNotFoundError(f"cannot log the report to MLflow run {run_id}: "
                                     f"{str(exc).splitlines()[0]}") from exc
    log.info("logged %s to run %s", REPORT_ARTIFACT, run_id)


# --------------------------------------------------------------------------- promotion
def _require_text(name: str, value: str | None) -> str:
    if value is None or not str(value).strip():
        raise ConfigError(f"{name} must be a non-empty text; got {value!r}")
    return str(value).strip()


def reviewed_report_sha(client, run_id: str) -> str:
    """SHA-256 of the report logged to ``run_id``; :class:`GovernanceError` when there is none or it changed."""
    names = {a.path for a in client.list_artifacts(run_id, REPORT_DIR)}
    if REPORT_ARTIFACT not in names:
        raise GovernanceError(f"run {run_id} has no {REPORT_ARTIFACT}: generate the governance report first "
                              "(smecredit report --model models:/NAME/VERSION --data ... --out report.html)")
    with tempfile.TemporaryDirectory(prefix="smecredit-review-") as tmp:
        local = client.download_artifacts(run_id, REPORT_ARTIFACT, tmp)
        sha = file_sha256(local)
    recorded = client.get_run(run_id).data.tags.get(REPORT_SHA_TAG)
    if recorded and recorded != sha:
        raise GovernanceError(f"the report of run {run_id} was changed after it was logged "
                              f"(tag {REPORT_SHA_TAG}={recorded}, artifact sha256={sha}); regenerate it")
    return sha


DEVELOPER_TAG = "smecredit.developer"
REVIEW_DIR = "reviews"


def _version_developer(client, mv) -> str | None:
    """The developer recorded at training: version tag, else the run tag ``smecredit.developer``."""
    dev = (mv.tags or {}).get(DEVELOPER_TAG)
    if not dev and mv.run_id:
        dev = client.get_run(mv.run_id).data.tags.get(DEVELOPER_TAG)
    return dev


def promote(name: str, version: str | int, *, alias: str = "champion", reviewer: str, note: str,
            decision: str, findings=None, conditions=(), revalidation_date=None) -> dict:
    """Record a validation decision on model version ``name``/``version``; move ``alias`` only on approval.

    Parameters
    ----------
    decision : ``approve``, ``approve-with-conditions`` or ``reject``.
    findings : path of a YAML/JSON findings file, a list of finding dicts, or None
        Each finding: ``id, title, severity (high/medium/low), owner, due`` (see :mod:`smecredit.report.review`).
    conditions : conditions of use (added to those of the findings file).
    revalidation_date : date (``YYYY-MM-DD``) of the next validation; required for an approval.

    Returns the review tags written (``review.*``).

    Raises
    ------
    ConfigError
        Empty reviewer, note or alias; unknown decision; bad findings; missing or past re-validation
        date; approval with conditions but none given.
    ModelNotFoundError
        No such registered model version.
    GovernanceError
        No governance report (or it changed after logging); the reviewer is the model's developer (or
        no developer is recorded); a plain approval with an open high-severity finding.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from smecredit.report.review import load_findings, review_record

    reviewer = _require_text("reviewer", reviewer)
    note = _require_text("note", note)
    alias = _require_text("alias", alias)
    name = _require_text("name", name)
    version = _require_text("version", str(version))
    conditions = list(conditions or [])
    if findings is None:
        items = []
    elif isinstance(findings, (str, os.PathLike)):
        items, more = load_findings(findings)
        conditions += more
    else:
        items = list(findings)
    tracking.configure()
    client = MlflowClient()
    try:
        mv = client.get_model_version(name, version)
    except MlflowException as exc:
        raise ModelNotFoundError(f"registered model {name!r} has no version {version}: "
                                 f"{str(exc).splitlines()[0]}") from exc
    if not mv.run_id:
        raise GovernanceError(f"model {name} version {version} is not linked to an MLflow run, so it has no report")
    sha = reviewed_report_sha(client, mv.run_id)
    record = review_record(decision=decision, reviewer=reviewer, developer=_version_developer(client, mv),
                           note=note, findings=items, conditions=conditions, revalidation_date=revalidation_date)
    now = dt.datetime.now(tz=dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    record_path = f"{REVIEW_DIR}/review_v{version}_{stamp}.json"
    record.update({"model": name, "version": version, "run_id": mv.run_id, "alias": alias,
                   "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "report_sha256": sha,
                   "report_artifact": f"runs:/{mv.run_id}/{REPORT_DIR}/history/governance_report_{sha}.html"})
    counts = record["findings_by_severity"]
    tags = {
        "review.decision": record["decision"],
        "review.reviewer": reviewer,
        "review.developer": record["developer"],
        "review.time": record["time"],
        "review.note": note,
        "review.report_sha256": sha,
        "review.alias": alias,
        "review.alias_moved": "true" if record["alias_moves"] else "false",
        "review.report_artifact": record["report_artifact"],
        "review.revalidation_date": record["revalidation_date"] or "",
        "review.conditions": json.dumps(record["conditions"], ensure_ascii=False)[:4900],
        "review.findings": ", ".join(f"{k}={v}" for k, v in counts.items()),
        "review.record_artifact": f"runs:/{mv.run_id}/{record_path}",
    }
    try:
        with tempfile.TemporaryDirectory(prefix="smecredit-decision-") as tmp:
            local = Path(tmp) / Path(record_path).name
            local.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
            client.log_artifact(mv.run_id, str(local), artifact_path=REVIEW_DIR)
        for k, v in tags.items():
            client.set_model_version_tag(name, version, k, v)
        if record["alias_moves"]:
            client.set_registered_model_alias(name, alias, version)
    except MlflowException as exc:
        raise ConfigError(f"cannot record the decision on {name} version {version}: "
                          f"{str(exc).splitlines()[0]}") from exc
    if record["alias_moves"]:
        log.info("%s version %s: %s by %s; @%s moved (report sha256 %s)", name, version, record["decision"],
                 reviewer, alias, sha)
    else:
        log.info("%s version %s: rejected by %s; @%s unchanged", name, version, reviewer, alias)
    return tags


def recorded_review(name: str | None, version: str | None) -> dict | None:
    """The decision recorded on a registered version (``review.*`` tags) with its findings, or ``None``."""
    if not name or not version:
        return None
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    tracking.configure()
    client = MlflowClient()
    try:
        mv = client.get_model_version(name, str(version))
        developer = _version_developer(client, mv)
    except MlflowException:
        return None
    tags = {k[len("review."):]: v for k, v in (mv.tags or {}).items() if k.startswith("review.")}
    out: dict = {"developer": developer, "decision": None}
    if "decision" in tags:
        out.update(tags)
        try:
            out["conditions"] = json.loads(tags.get("conditions") or "[]")
        except ValueError:  # a very long list is cut in the tag; the record artifact has it whole
            out["conditions"] = []
        out["findings"] = []
        art = tags.get("record_artifact", "")
        prefix = f"runs:/{mv.run_id}/"
        if art.startswith(prefix):
            try:
                with tempfile.TemporaryDirectory(prefix="smecredit-decision-") as tmp:
                    local = client.download_artifacts(mv.run_id, art[len(prefix):], tmp)
                    record = json.loads(Path(local).read_text(encoding="utf-8"))
                    out["findings"] = record.get("findings", [])
                    out["conditions"] = record.get("conditions", out["conditions"])
            except (MlflowException, OSError, ValueError):
                log.warning("cannot read the decision record %s", art)
    return out
