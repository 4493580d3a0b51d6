"""The validator's decision on a model version: decision, findings register, conditions, re-validation.

Pure functions (no MLflow): :func:`load_findings` reads a findings file, :func:`review_record`
checks a decision against the governance rules and returns the record that
:func:`smecredit.pipelines.report.promote` stores with the model version (tags and a JSON
artifact) and that the report's sign-off section shows.

Rules (each refusal names what is wrong):

* ``decision`` is ``approve``, ``approve-with-conditions`` or ``reject`` (:class:`ConfigError`, exit 2);
* the reviewer differs from the model's developer recorded at training (:class:`GovernanceError`,
  exit 5) — SR 11-7 / ECB: validation is independent of development; a version that records no
  developer cannot show that, and is refused too;
* an approval needs a re-validation date after the decision date (exit 2); ``approve-with-conditions``
  needs at least one condition of use (exit 2); a plain ``approve`` with an open high-severity
  finding is refused (exit 5: approve with conditions, or reject);
* every finding has an id, a title, a severity (``high``, ``medium``, ``low``), an owner and a due
  date (exit 2, naming the finding and the field).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from smecredit.exceptions import ConfigError, GovernanceError

DECISIONS = ("approve", "approve-with-conditions", "reject")
APPROVALS = ("approve", "approve-with-conditions")
SEVERITIES = ("high", "medium", "low")
FINDING_FIELDS = ("id", "title", "severity", "owner", "due")


def _date(value, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"{what} must be a date YYYY-MM-DD; got {value!r}") from exc


def _text(value, what: str) -> str:
    if value is None or not str(value).strip():
        raise ConfigError(f"{what} must be a non-empty text; got {value!r}")
    return str(value).strip()


def check_findings(items, source: str = "findings") -> list[dict]:
    """Validate a list of findings; return them normalised (dates as ISO text, severity lower case)."""
    if not isinstance(items, list):
        raise ConfigError(f"{source}: expected a list of findings (or a mapping with key 'findings'); "
                          f"got {type(items).__name__}")
    out, seen = [], set()
    for i, f in enumerate(items, start=1):
        where = f"{source}: finding {i}"
        if not isinstance(f, dict):
            raise ConfigError(f"{where} must be a mapping with {', '.join(FINDING_FIELDS)}")
        absent = [k for k in FINDING_FIELDS if k not in f or f[k] is None or not str(f[k]).strip()]
        if absent:
            raise ConfigError(f"{where} lacks field(s) {', '.join(absent)}")
        unknown = sorted(set(f) - set(FINDING_FIELDS) - {"status", "section", "description"})
        if unknown:
            raise ConfigError(f"{where} has unknown field(s) {', '.join(map(str, unknown))}")
        fid = str(f["id"]).strip()
        if fid in seen:
            raise ConfigError(f"{where}: id {fid!r} is used twice")
        seen.add(fid)
        sev = str(f["severity"]).strip().lower()
        if sev not in SEVERITIES:
            raise ConfigError(f"{where} ({fid}): severity must be one of {', '.join(SEVERITIES)}; got {f['severity']!r}")
        status = str(f.get("status", "open")).strip().lower()
        if status not in ("open", "closed"):
            raise ConfigError(f"{where} ({fid}): status must be open or closed; got {f.get('status')!r}")
        out.append({"id": fid, "title": _text(f["title"], f"{where} title"), "severity": sev,
                    "owner": _text(f["owner"], f"{where} owner"),
                    "due": _date(f["due"], f"{where} ({fid}) due").isoformat(), "status": status,
                    **({"section": str(f["section"]).strip()} if f.get("section") else {}),
                    **({"description": str(f["description"]).strip()} if f.get("description") else {})})
    return out


def load_findings(path) -> tuple[list[dict], list[str]]:
    """Findings and conditions of use from a YAML or JSON file.

    The file holds either a list of findings or a mapping ``{findings: [...], conditions: [...]}``.
    YAML is read with ``yaml.safe_load`` (no object construction from the file).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"findings file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"findings file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{str(exc).splitlines()[0]}") from exc
    conditions: list[str] = []
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"findings", "conditions"})
        if unknown:
            raise ConfigError(f"findings file {path}: unknown key(s) {', '.join(map(str, unknown))} "
                              "(expected findings, conditions)")
        raw_conditions = data.get("conditions") or []
        if not isinstance(raw_conditions, list):
            raise ConfigError(f"findings file {path}: conditions must be a list of texts")
        conditions = [_text(c, f"findings file {path}: condition {i}") for i, c in enumerate(raw_conditions, 1)]
        data = data.get("findings") or []
    elif data is None:
        data = []
    return check_findings(data, f"findings file {path}"), conditions


def same_person(a: str, b: str) -> bool:
    """Whether two declared identities are the same (case and surrounding space ignored)."""
    return a.strip().casefold() == b.strip().casefold()


def review_record(*, decision: str, reviewer: str, developer: str | None, note: str, findings: list[dict],
                  conditions: list[str], revalidation_date, today: dt.date | None = None) -> dict:
    """Check a decision against the governance rules (module docstring); return the record to store."""
    decision = _text(decision, "decision").lower()
    if decision not in DECISIONS:
        raise ConfigError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    reviewer = _text(reviewer, "reviewer")
    note = _text(note, "note")
    if developer is None or not str(developer).strip():
        raise GovernanceError("the model version records no developer (run tag smecredit.developer, written by "
                              "smecredit train --developer): the independence of the review cannot be checked")
    developer = str(developer).strip()
    if same_person(reviewer, developer):
        raise GovernanceError(f"reviewer {reviewer!r} is the model's developer: the validation must be "
                              "independent of the development (a different reviewer must decide)")
    findings = check_findings(list(findings))
    conditions = [_text(c, f"condition {i}") for i, c in enumerate(conditions, 1)]
    today = today or dt.datetime.now(tz=dt.UTC).date()
    reval = None
    if revalidation_date is not None and str(revalidation_date).strip():
        reval = _date(revalidation_date, "re-validation date")
    if decision in APPROVALS:
        if reval is None:
            raise ConfigError(f"decision {decision} needs a re-validation date (--revalidation-date YYYY-MM-DD)")
        if reval <= today:
            raise ConfigError(f"the re-validation date {reval} must be after the decision date {today}")
    if decision == "approve-with-conditions" and not conditions:
        raise ConfigError("approve-with-conditions needs at least one condition of use (--condition TEXT or "
                          "'conditions' in the findings file)")
    open_high = [f["id"] for f in findings if f["severity"] == "high" and f["status"] == "open"]
    if decision == "approve" and open_high:
        raise GovernanceError(f"open high-severity finding(s) {', '.join(open_high)}: a plain approval is refused; "
                              "approve with conditions or reject")
    counts = {s: sum(f["severity"] == s for f in findings) for s in SEVERITIES}
    return {"decision": decision, "reviewer": reviewer, "developer": developer, "note": note,
            "decision_date": today.isoformat(), "revalidation_date": reval.isoformat() if reval else None,
            "conditions": conditions, "findings": findings, "findings_by_severity": counts,
            "alias_moves": decision in APPROVALS}
