"""Guarantees and loss on decision rows: only third-party risk takers move loss off the bank."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import decisions_world as w
from smecredit.decisions.expected_loss import EL_PARTY_COLUMNS, add_expected_loss
from smecredit.decisions.policy import default_policy_path, load_policy, policy_from_dict
from smecredit.decisions.portfolio import compensation_ratio_by_scheme
from smecredit.exceptions import PolicyError

POLICY = load_policy()
EL = POLICY.expected_loss


def row(ead=1_000_000.0, pd_=0.03, collateral="guarantee", guarantor="none", share=0.0, insurance=False, tech=False,
        **extra) -> pd.DataFrame:
    return pd.DataFrame([{"pd": pd_, "ead": ead, "collateral_type": collateral, "guarantor_type": guarantor,
                          "guarantee_insurance": insurance, "guaranteed_share": share, "tech_sme": tech, **extra}])


def el(frame: pd.DataFrame) -> pd.Series:
    return add_expected_loss(frame, EL).iloc[0]


def test_worked_example_on_a_decision_row_every_party():
    r = el(row(guarantor="policy_guarantor"))   # EAD 1,000,000, PD 3%, LGD 45% (guarantee), 2019 baseline
    assert r["scheme"] == "national_2019" and r["lgd"] == 0.45 and r["el"] == 13_500.0
    assert (r["el_bank"], r["el_originating_guarantor"], r["el_national_fund"], r["el_provincial_reguarantee"]) == \
        (2_700.0, 5_400.0, 2_700.0, 2_700.0)
    assert r["loss_on_default"] == 450_000.0 and r["compensatory_payment"] == 800_000.0
    assert r["reguarantee_claims"] == 400_000.0 and r["recovery_on_default"] == 550_000.0
    assert r["bank_net_loss_on_default"] == 90_000.0 and r["guarantor_net_loss"] == 180_000.0
    assert r["break_even_fee"] == pytest.approx(0.0054, abs=1e-12)


@pytest.mark.parametrize("guarantor", ["individual", "related_enterprise"])
def test_own_and_related_guarantees_move_no_loss_and_only_lower_lgd(guarantor):
    r = el(row(guarantor=guarantor, share=0.8))
    assert r["scheme"] == "bank_only" and r["el"] == r["el_bank"] and r["compensatory_payment"] == 0
    assert r["lgd"] == pytest.approx(0.45 * (1 - EL.own_guarantee_lgd_relief))
    assert "不转移损失" in r["scheme_note"]
    none = el(row(guarantor="none"))
    assert none["el_bank"] > r["el_bank"] > 0.8 * none["el_bank"]


def test_commercial_guarantor_is_a_third_party_and_takes_its_share():
    r = el(row(guarantor="commercial_guarantor", share=0.6))
    assert r["el_originating_guarantor"] == pytest.approx(0.6 * r["el"]) and r["compensatory_payment"] == 600_000.0


@pytest.mark.parametrize(("ead", "tech", "scheme"), [
    (10_000_000.0, False, "national_2019"), (10_000_001.0, False, "bank_only"),
    (30_000_000.0, True, "tech_sme_2024"), (30_000_100.0, True, "bank_only")])
def test_scheme_single_firm_cap_is_enforced(ead, tech, scheme):
    r = el(row(ead=ead, guarantor="policy_guarantor", tech=tech))
    assert r["scheme"] == scheme
    if scheme == "bank_only":
        assert "单户上限" in r["scheme_note"] and r["el_bank"] == r["el"]


def test_cap_is_checked_on_the_enterprise_exposure_when_given():
    r = el(row(ead=2_000_000.0, guarantor="policy_guarantor", scheme_exposure=12_000_000.0))
    assert r["scheme"] == "bank_only"


def test_insurance_over_its_cap_falls_back_to_the_bank():
    assert el(row(ead=5_000_000.0, insurance=True))["scheme"] == "shanghai_guarantee_insurance"
    assert el(row(ead=5_000_001.0, insurance=True))["scheme"] == "bank_only"


def test_compensation_ratio_against_the_scheme_cap_uses_the_same_basis():
    rows = pd.concat([row(pd_=0.03, guarantor="policy_guarantor"), row(pd_=0.06, guarantor="policy_guarantor"),
                      row(pd_=0.02, guarantor="policy_guarantor", tech=True)], ignore_index=True)
    out = compensation_ratio_by_scheme(add_expected_loss(rows, EL), POLICY).set_index("scheme")
    nat = out.loc["national_2019"]
    assert nat["guaranteed_amount"] == 1_600_000.0 and nat["expected_compensation"] == pytest.approx(72_000.0)
    assert nat["compensation_ratio"] == pytest.approx(0.045) and nat["cap"] == 0.04 and not nat["within_cap"]
    assert out.loc["tech_sme_2024", "within_cap"]


def test_a_separate_recovery_rate_is_refused():
    d = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    d["expected_loss"]["recovery_rate"] = 0.3
    with pytest.raises(PolicyError, match="LGD already nets recoveries"):
        policy_from_dict(d)


def test_renewal_row_of_a_family_guaranteed_loan_keeps_the_loss_with_the_bank():
    from smecredit.decisions.renewal import decide_renewals
    fr = w.frames()
    fr["loans"].loc[0, ["guarantor_type", "collateral_type", "guaranteed_share"]] = ["individual", "guarantee", 1.0]
    r = decide_renewals(w.raw(fr), w.scores(), POLICY, w.AS_OF).set_index("loan_id").loc["L1"]
    assert r["scheme"] == "bank_only" and r["el_bank"] == r["el"] > 0
    assert sum(r[c] for c in EL_PARTY_COLUMNS) == pytest.approx(r["el"])


def test_a_missing_tech_or_insurance_flag_is_no_not_an_error():
    """An enterprise absent from the registry has no tech-SME flag: its policy guarantee falls under the policy
    guarantor's scheme (not the tech-SME one), and a missing insurance flag is no insurance."""
    from smecredit.decisions.expected_loss import scheme_for

    el = POLICY.expected_loss
    for missing in (pd.NA, None, float("nan")):
        s, _, _ = scheme_for("policy_guarantor", missing, 0.0, missing, el)
        assert s.name == el.policy_guarantor_scheme
        s, _, _ = scheme_for("none", missing, 0.0, missing, el)
        assert s.name != el.insurance_scheme
    assert scheme_for("policy_guarantor", False, 0.0, True, el)[0].name == el.tech_sme_scheme
