"""The validator's decision record: decision, independence, findings, conditions, re-validation date."""

from __future__ import annotations

import datetime as dt

import pytest

from smecredit.exceptions import ConfigError, GovernanceError
from smecredit.report.review import check_findings, load_findings, review_record

TODAY = dt.date(2026, 11, 30)
F = {"id": "F1", "title": "Grade 10 carries the AUC", "severity": "High", "owner": "model-dev", "due": "2027-03-31"}


def _record(**kw):
    args = {"decision": "approve", "reviewer": "val-007", "developer": "dev-042", "note": "ok", "findings": [],
            "conditions": [], "revalidation_date": "2027-11-30", "today": TODAY} | kw
    return review_record(**args)


def test_an_approval_records_who_decided_what_until_when():
    r = _record(findings=[F | {"severity": "low"}])
    assert (r["decision"], r["reviewer"], r["developer"]) == ("approve", "val-007", "dev-042")
    assert r["revalidation_date"] == "2027-11-30" and r["decision_date"] == "2026-11-30"
    assert r["alias_moves"] is True
    assert r["findings_by_severity"] == {"high": 0, "medium": 0, "low": 1}
    assert _record(decision="reject", revalidation_date=None)["alias_moves"] is False


def test_the_developer_cannot_review_their_own_model():
    with pytest.raises(GovernanceError, match="is the model's developer"):
        _record(reviewer=" Dev-042 ")
    with pytest.raises(GovernanceError, match="records no developer"):
        _record(developer=None)


def test_approvals_need_a_future_revalidation_date_and_conditions_when_conditional():
    with pytest.raises(ConfigError, match="needs a re-validation date"):
        _record(revalidation_date=None)
    with pytest.raises(ConfigError, match="must be after the decision date"):
        _record(revalidation_date="2026-11-30")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        _record(revalidation_date="next year")
    with pytest.raises(ConfigError, match="at least one condition"):
        _record(decision="approve-with-conditions")
    assert _record(decision="approve-with-conditions", conditions=["new lending only"])["conditions"] == [
        "new lending only"]
    with pytest.raises(ConfigError, match="decision must be one of"):
        _record(decision="ok")


def test_a_plain_approval_with_an_open_high_finding_is_refused():
    with pytest.raises(GovernanceError, match="F1"):
        _record(findings=[F])
    assert _record(findings=[F | {"status": "closed"}])["decision"] == "approve"
    assert _record(decision="approve-with-conditions", findings=[F], conditions=["x"])["findings"][0]["severity"] == "high"


def test_findings_are_checked_field_by_field():
    with pytest.raises(ConfigError, match="finding 1 lacks field"):
        check_findings([{k: v for k, v in F.items() if k != "owner"}])
    with pytest.raises(ConfigError, match="severity must be one of"):
        check_findings([F | {"severity": "critical"}])
    with pytest.raises(ConfigError, match=r"\(F1\) due must be a date"):
        check_findings([F | {"due": "soon"}])
    with pytest.raises(ConfigError, match="used twice"):
        check_findings([F, F])
    with pytest.raises(ConfigError, match="unknown field"):
        check_findings([F | {"cost": 3}])


def test_findings_files_in_yaml_and_json(tmp_path):
    y = tmp_path / "f.yaml"
    y.write_text("findings:\n  - {id: F1, title: t, severity: medium, owner: o, due: 2027-01-31}\n"
                 "conditions: [new lending only]\n", encoding="utf-8")
    items, conds = load_findings(y)
    assert items[0]["due"] == "2027-01-31" and items[0]["severity"] == "medium" and conds == ["new lending only"]
    j = tmp_path / "f.json"
    j.write_text('[{"id": "F2", "title": "t", "severity": "low", "owner": "o", "due": "2027-01-31"}]', encoding="utf-8")
    assert load_findings(j)[0][0]["id"] == "F2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("!!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_findings(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_findings(tmp_path / "absent.yaml")


def test_the_developer_defaults_to_the_os_user(monkeypatch):
    import getpass

    from smecredit.pipelines.train import resolve_developer

    assert resolve_developer(" dev-9 ") == "dev-9"
    with pytest.raises(ConfigError, match="developer must be a non-empty text"):
        resolve_developer("  ")
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert resolve_developer(None) == "alice"

    def no_user():
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert resolve_developer(None).startswith(("uid-", "unknown"))
