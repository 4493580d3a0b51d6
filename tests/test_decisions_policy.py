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
