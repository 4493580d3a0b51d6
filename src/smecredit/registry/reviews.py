"""The governance workflow on the MLflow registry: the report logged to the model's run (with its SHA-256 tag),
the reviewer's decision recorded on a registered version, and the alias moved only on approval.

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
import tempfile
from pathlib import Path

from smecredit.exceptions import ConfigError, GovernanceError, ModelNotFoundError
from smecredit.io import file_sha256
from smecredit.registry import tracking

log = logging.getLogger(__name__)

REPORT_DIR = "reports"
REPORT_NAME = "governance_report.html"
REPORT_ARTIFACT = f"{REPORT_DIR}/{REPORT_NAME}"
REPORT_SHA_TAG = "smecredit.report_sha256"
REVIEW_TAGS = ("review.decision", "review.reviewer", "review.developer", "review.time", "review.note",
               "review.report_sha256", "review.alias", "review.alias_moved", "review.report_artifact",
               "review.revalidation_date", "review.conditions", "review.findings", "review.record_artifact")


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
