"""Decision policy: the shipped default loads; bad files are rejected with every problem listed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from smecredit.cli import main
from smecredit.decisions.policy import RULE_IDS, canonical_sha256, default_policy_path, load_policy, policy_from_dict
from smecredit.exceptions import PolicyError

REPO = Path(__file__).resolve().parents[1]


def _default_dict() -> dict:
    return yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))


def test_default_policy_loads_and_its_hash_is_the_file_sha256():
    p = load_policy()
    assert p.sha256 == hashlib.sha256(default_policy_path().read_bytes()).hexdigest()
    assert p.renewal.medium_maturity_cutoff.isoformat() == "2027-09-30"
    assert set(p.rules) == set(RULE_IDS)


def test_top_level_config_is_a_relative_symlink_to_the_package_default():
    link = REPO / "config" / "default_policy.yaml"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == default_policy_path().resolve()


def test_every_rule_is_marked_regulation_or_bank_policy_with_a_source():
    for rid, meta in load_policy().rules.items():
        assert meta.basis in ("regulation", "bank_policy"), rid
        assert meta.source.strip(), rid


def test_policy_built_in_memory_is_hashed_canonically_and_changes_with_a_threshold():
    d = _default_dict()
    a = policy_from_dict(d)
    d["renewal"]["approve_pd_max"] = 0.025
    b = policy_from_dict(d)
    assert a.sha256 == canonical_sha256(a) != b.sha256


def test_all_problems_are_reported_at_once_field_by_field():
    d = _default_dict()
    d["renewal"]["approve_pd_max"] = 1.5          # outside (0, 1)
    d["renewal"]["colour"] = "blue"                # unknown key
    d["lending"]["refer_pd_max"] = 0.01           # refer band below approve band
    d["expected_loss"]["lgd"]["unsecured"] = 1.2   # LGD outside (0, 1]
    d["renewal"]["window_start_days"] = 120        # window starts after it ends (same section as a field error)
    with pytest.raises(PolicyError) as info:
        policy_from_dict(d, "bank.yaml")
    msg = str(info.value)
    assert "6 problem(s)" in msg
    assert "renewal: window_start_days (120) must be before window_end_days (90)" in msg
    assert "renewal: refer band below approve band: approve_pd_max (1.5) must be < refer_pd_max (0.08)" in msg
    assert "renewal.approve_pd_max: Input should be less than 1" in msg
    assert "renewal.colour: Extra inputs are not permitted" in msg
    assert "lending: refer band below approve band" in msg
    assert "lgd of unsecured must be in (0, 1]" in msg


@pytest.mark.parametrize(("section", "changes", "message"), [
    ("renewal", {"window_start_days": 90, "window_end_days": 30}, "window_start_days (90) must be before window_end_days (30)"),
    ("renewal", {"approve_grade_max": 8, "refer_grade_max": 6}, "approve_grade_max (8) must be <= refer_grade_max (6)"),
    ("renewal", {"refer_pd_max": 0.0}, "renewal.refer_pd_max: Input should be greater than 0"),
    ("renewal", {"eligible_products": ["working_capital", "mortgage"]}, "unknown product(s) ['mortgage']"),
    ("renewal", {"max_sales_decline": 0.7, "hard_sales_decline": 0.6}, "max_sales_decline (0.7) must be < hard_sales_decline"),
    ("lending", {"price_tiers": [{"tier": "A", "max_grade": 4, "spread_bp": 50}]}, "price_tiers must cover grades up to"),
    ("expected_loss", {"policy_guarantor_scheme": "atlantis_9"}, "unknown scheme 'atlantis_9'"),
    ("expected_loss", {"custom_schemes": {"half": {"bank": 0.5, "insurer": 0.4}}}, "shares must sum to 1, got 0.9"),
])
def test_impossible_thresholds_are_rejected(section, changes, message):
    d = _default_dict()
    d[section].update(changes)
    with pytest.raises(PolicyError, match="invalid policy") as info:
        policy_from_dict(d)
    assert message in str(info.value)


def test_missing_rule_metadata_is_rejected():
    d = _default_dict()
    del d["rules"]["R07"]
    with pytest.raises(PolicyError, match=r"missing rule\(s\) \['R07'\]"):
        policy_from_dict(d)


def test_unreadable_policy_files_raise_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("renewal: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="top level must be a mapping"):
        load_policy(listy)


def test_cli_exits_2_on_an_invalid_policy(tmp_path, capsys):
    d = _default_dict()
    d["renewal"]["window_end_days"] = 10
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    rc = main(["decide", "renewal", "--model", str(tmp_path / "m"), "--raw", str(tmp_path), "--as-of", "2025-12-31",
               "--policy", str(path), "--out", str(tmp_path / "o.parquet")])
    assert rc == 2
    assert "window_start_days (30) must be before window_end_days (10)" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


# --- the regulatory floor: a policy file cannot lower what the regulation sets ---------------------

@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["rules"]["R08"].update(severity="soft"),
     "rules.R08.severity = 'soft' refused: R08 is set by 银监发〔2014〕36号 condition (3)"),
    (lambda d: d["rules"]["R10"].update(severity="soft"), "rules.R10.severity = 'soft' refused: R10 is set by"),
    (lambda d: d["rules"]["R17"].update(severity="monitor"), "rules.R17.severity = 'monitor' refused"),
    (lambda d: d["rules"]["R03"].update(severity="output"), "rules.R03.severity = 'output' refused"),
    (lambda d: d["rules"]["R06"].update(basis="bank_policy"),
     "rules.R06.basis = 'bank_policy' refused: R06 is set by 银监发〔2014〕36号 condition (1)"),
    (lambda d: d["renewal"].update(require_application=False),
     "renewal.require_application = false refused: R03 is set by 银监发〔2014〕36号"),
    (lambda d: d["renewal"].update(eligible_size_classes=["micro", "small", "medium"]),
     "renewal.eligible_size_classes ['medium'] refused: R02 allows only ['micro', 'small']"),
    (lambda d: d["renewal"].update(medium_maturity_cutoff="2028-12-31"),
     "renewal.medium_maturity_cutoff = 2028-12-31 refused: R02 covers medium enterprises only for loans maturing "
     "on or before 2027-09-30 (金规〔2024〕13号)"),
    (lambda d: d["renewal"].update(eligible_products=["working_capital", "fixed_asset"]),
     "renewal.eligible_products ['fixed_asset'] refused: R01 allows only"),
    (lambda d: d["renewal"].update(review_lead_days=0), "renewal.review_lead_days = 0 refused: R04"),
])
def test_regulatory_floor_refuses_soft_disabled_or_widened_rules(edit, message):
    d = _default_dict()
    edit(d)
    with pytest.raises(PolicyError, match="regulatory floor") as info:
        policy_from_dict(d, "bank.yaml")
    assert message in str(info.value)


def test_regulatory_floor_allows_stricter_regulation_and_any_bank_policy_choice():
    d = _default_dict()
    d["rules"]["R03"]["severity"] = "hard"            # stricter than the floor
    d["rules"]["R14"]["severity"] = "hard"
    d["rules"]["R12"]["severity"] = "hard"            # bank policy: free either way
    d["rules"]["R13"]["severity"] = "soft"
    d["renewal"]["eligible_size_classes"] = ["micro"]  # narrower
    d["renewal"]["medium_maturity_cutoff"] = "2026-12-31"
    p = policy_from_dict(d)
    assert p.rules["R03"].severity == "hard" and p.renewal.eligible_size_classes == ("micro",)


def test_floor_problems_and_field_errors_are_listed_together():
    d = _default_dict()
    d["rules"]["R08"]["severity"] = "soft"
    d["renewal"]["approve_pd_max"] = 1.5
    with pytest.raises(PolicyError) as info:
        policy_from_dict(d, "bank.yaml")
    msg = str(info.value)
    assert "rules.R08.severity" in msg and "renewal.approve_pd_max" in msg
    assert f"{msg.count(chr(10) + '  - ')} problem(s)" in msg.splitlines()[0]


@pytest.mark.parametrize(("spec", "message"), [
    ({"bank": 0.05, "originating_guarantor": 0.95}, "bank share 0.05 outside [0.2, 1]"),
    ({"bank": 0.1, "national_fund": 0.2, "provincial_reguarantee": 0.3, "originating_guarantor": 0.4},
     "bank share 0.1 outside"),
    ({"bank": 0.2, "national_fund": 0.5, "provincial_reguarantee": 0.3}, "national_fund share 0.5 outside [0.2, 0.4]"),
    ({"shares": {"bank": 0.2, "national_fund": 0.2, "provincial_reguarantee": 0.2, "originating_guarantor": 0.4},
      "max_exposure": 50_000_000}, "max_exposure 5e+07 above the national_2019 scheme's 1e+07"),
    ({"shares": {"bank": 0.3, "insurer": 0.7}, "under": "atlantis"}, "under 'atlantis' is not a published scheme"),
    ({"shares": {"bank": 0.3, "insurer": 0.7}, "colour": "red"}, "unknown key(s) ['colour']"),
])
def test_custom_schemes_are_validated_like_presets(spec, message):
    d = _default_dict()
    d["expected_loss"]["custom_schemes"] = {"my_scheme": spec}
    with pytest.raises(PolicyError, match="risk-sharing scheme 'my_scheme' is invalid") as info:
        policy_from_dict(d)
    assert message in str(info.value)


def test_custom_scheme_within_the_floor_is_accepted_and_used():
    d = _default_dict()
    d["expected_loss"]["custom_schemes"] = {"taizhou_fund_8020": {"bank": 0.2, "originating_guarantor": 0.8}}
    d["expected_loss"]["policy_guarantor_scheme"] = "taizhou_fund_8020"
    p = policy_from_dict(d)
    s = p.expected_loss.scheme("taizhou_fund_8020")
    assert float(s.share("originating_guarantor")) == 0.8 and s.max_exposure is None


def test_duplicate_yaml_key_is_refused_with_its_lines(tmp_path):
    text = default_policy_path().read_text(encoding="utf-8")
    dup = text.replace("  window_end_days: 90\n", "  window_end_days: 90\n  window_end_days: 365\n", 1)
    assert dup != text
    path = tmp_path / "dup.yaml"
    path.write_text(dup, encoding="utf-8")
    with pytest.raises(PolicyError, match="duplicate key 'window_end_days'") as info:
        load_policy(path)
    line = dup.splitlines().index("  window_end_days: 365") + 1
    assert f"again at line {line}" in str(info.value)


def test_cli_exits_2_when_a_policy_lowers_the_regulatory_floor(tmp_path, capsys):
    d = _default_dict()
    d["rules"]["R17"]["severity"] = "soft"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    rc = main(["decide", "renewal", "--model", str(tmp_path / "m"), "--raw", str(tmp_path), "--as-of", "2025-12-31",
               "--policy", str(path), "--out", str(tmp_path / "o.parquet")])
    assert rc == 2
    assert "regulatory floor: rules.R17.severity = 'soft' refused" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()
