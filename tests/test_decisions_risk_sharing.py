"""Expected loss and risk sharing: the domain notes' worked example, exact splits, scheme bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smecredit.decisions import risk_sharing as rs
from smecredit.exceptions import PolicyError

# Domain notes §5.3: EAD ¥1,000,000, PD 3%, LGD 45% → EL ¥13,500, split per scheme.
WORKED = {
    "national_2019": {"bank": "2700", "national_fund": "2700", "provincial_reguarantee": "2700",
                      "originating_guarantor": "5400"},
    "anhui_4321": {"bank": "2700", "provincial_reguarantee": "4050", "originating_guarantor": "5400",
                   "risk_compensation_fund": "1350"},
    "xuancheng_520": {"bank": "2700", "national_fund": "2700", "provincial_reguarantee": "2700",
                      "originating_guarantor": "2700", "county_guarantor": "2700"},
    "tech_sme_2024": {"bank": "2700", "national_fund": "5400", "provincial_reguarantee": "2700",
                      "originating_guarantor": "2700"},
    "shanghai_guarantee_insurance": {"bank": "4050", "insurer": "6075", "risk_compensation_fund": "3375"},
}


def test_worked_example_expected_loss_is_13500():
    assert rs.expected_loss(0.03, 0.45, 1_000_000) == Decimal("13500.00")


@pytest.mark.parametrize("scheme", sorted(WORKED))
def test_worked_example_split_per_scheme(scheme):
    split = rs.split_loss(rs.expected_loss(0.03, 0.45, 1_000_000), rs.get_scheme(scheme))
    expected = {p: Decimal(WORKED[scheme].get(p, "0")) for p in rs.PARTIES}
    assert split == expected


def test_worked_example_cash_flows_of_every_party():
    # domain notes §5.3 (corrected): EAD 1,000,000, LGD 45%, 2019 baseline 20/20/20/40; recovery netted once, in LGD
    flows = rs.default_cash_flows(1_000_000, 0.45, rs.get_scheme("national_2019"))
    d = Decimal
    assert rs.front_payer(rs.get_scheme("national_2019")) == "originating_guarantor"
    # the originating guarantor pays the bank (1 - 0.2) x EAD and claims the re-guarantors' 0.2 + 0.2
    assert flows["originating_guarantor"]["pays"] == d("800000.00")
    assert flows["bank"]["receives"] == d("800000.00")
    assert flows["originating_guarantor"]["receives"] == d("400000.00")
    assert flows["national_fund"]["pays"] == flows["provincial_reguarantee"]["pays"] == d("200000.00")
    # recoveries (1 - LGD) x EAD = 550,000 shared pro rata
    assert {p: f["recovery"] for p, f in flows.items() if f["recovery"]} == {
        "bank": d("110000.00"), "originating_guarantor": d("220000.00"), "provincial_reguarantee": d("110000.00"),
        "national_fund": d("110000.00")}
    # net loss s_p x LGD x EAD; each party: pays - receives - recovery (bank: lent - received - recovery)
    assert {p: f["net_loss"] for p, f in flows.items() if f["net_loss"]} == {
        "bank": d("90000.00"), "originating_guarantor": d("180000.00"), "provincial_reguarantee": d("90000.00"),
        "national_fund": d("90000.00")}
    for f in flows.values():
        assert f["pays"] - f["receives"] - f["recovery"] == f["net_loss"]
    # break-even fee of the originating guarantor PD x LGD x s_g = 0.54% a year (not 0.378%)
    assert rs.break_even_fee(0.03, 0.45, 0.4) == Decimal("0.005400")
    assert rs.compensatory_payment(1_000_000, 0.4, accrued_interest=12_000) == Decimal("404800.00")


def test_insurance_scheme_cash_flows_insurer_pays_and_claims_the_government_share():
    flows = rs.default_cash_flows(1_000_000, 0.45, rs.get_scheme("shanghai_guarantee_insurance"))
    assert flows["insurer"]["pays"] == Decimal("700000.00") and flows["insurer"]["receives"] == Decimal("250000.00")
    assert flows["insurer"]["net_loss"] == Decimal("202500.00") and flows["bank"]["net_loss"] == Decimal("135000.00")


def test_bank_only_has_no_compensation():
    flows = rs.default_cash_flows(500_000, 0.45, rs.get_scheme("bank_only"))
    assert flows["bank"]["receives"] == 0 and flows["bank"]["net_loss"] == Decimal("225000.00")


@given(ead=st.integers(0, 10**9), lgd=st.floats(0, 1), scheme=st.sampled_from(sorted(rs.PRESET_DEFINITIONS)))
def test_cash_flows_balance_for_every_party_and_scheme(ead, lgd, scheme):
    flows = rs.default_cash_flows(ead, lgd, rs.get_scheme(scheme))
    lod = rs.loss_on_default(lgd, ead)
    assert sum(f["net_loss"] for f in flows.values()) == lod
    assert sum(f["recovery"] for f in flows.values()) == Decimal(ead) - lod
    for f in flows.values():
        assert f["pays"] - f["receives"] - f["recovery"] == f["net_loss"]


@given(cents=st.integers(min_value=0, max_value=10**12), scheme=st.sampled_from(sorted(rs.PRESET_DEFINITIONS)))
def test_split_sums_exactly_to_the_expected_loss(cents, scheme):
    amount = Decimal(cents) * rs.CENT
    split = rs.split_loss(amount, rs.get_scheme(scheme))
    assert sum(split.values()) == amount
    assert all(v >= 0 for v in split.values())


@given(pd_=st.floats(0, 1), lgd=st.floats(0, 1), ead=st.floats(0, 1e9))
def test_split_of_any_expected_loss_is_exact_for_an_awkward_scheme(pd_, lgd, ead):
    thirds = rs.make_scheme("thirds", {"bank": "1/3", "insurer": "1/3", "originating_guarantor": "1/3"})
    el = rs.expected_loss(pd_, lgd, ead)
    assert sum(rs.split_loss(el, thirds).values()) == el


def test_rounding_residual_goes_to_the_largest_remainder_then_party_order():
    split = rs.split_loss(Decimal("0.01"), rs.make_scheme("t", {"bank": "1/3", "insurer": "1/3", "national_fund": "1/3"}))
    assert split["bank"] == Decimal("0.01") and split["insurer"] == split["national_fund"] == Decimal("0.00")


@pytest.mark.parametrize(("preset", "shares", "message"), [
    ("national_2019", {"bank": 0.1, "national_fund": 0.2, "provincial_reguarantee": 0.3, "originating_guarantor": 0.4},
     "bank share 0.1 outside"),
    ("national_2019", {"bank": 0.2, "national_fund": 0.3, "provincial_reguarantee": 0.2, "originating_guarantor": 0.3},
     "provincial re-guarantee share must be at least the national fund's"),
    ("tech_sme_2024", {"bank": 0.2, "national_fund": 0.5, "provincial_reguarantee": 0.2, "originating_guarantor": 0.1},
     "national_fund share 0.5 outside"),
    ("tech_sme_2024", {"bank": 0.2, "national_fund": 0.4, "provincial_reguarantee": 0.1, "originating_guarantor": 0.3},
     "provincial_reguarantee share 0.1 outside"),
    ("anhui_4321", {"bank": 0.3, "provincial_reguarantee": 0.3, "originating_guarantor": 0.3, "risk_compensation_fund": 0.1},
     "originating_guarantor share 0.3 outside"),
])
def test_structures_outside_a_scheme_bounds_are_rejected(preset, shares, message):
    with pytest.raises(PolicyError, match="invalid") as info:
        rs.validate_against_preset("custom", shares, preset)
    assert message in str(info.value)


def test_structure_within_2019_bounds_is_accepted():
    s = rs.validate_against_preset("bank25", {"bank": 0.25, "national_fund": 0.2, "provincial_reguarantee": 0.25,
                                              "originating_guarantor": 0.3}, "national_2019")
    assert s.share("bank") == rs.Fraction(1, 4)


def test_shares_must_sum_to_one_and_name_known_parties():
    with pytest.raises(PolicyError, match="shares must sum to 1, got 1.1"):
        rs.make_scheme("x", {"bank": 0.6, "insurer": 0.5})
    with pytest.raises(PolicyError, match=r"unknown party \['uncle'\]"):
        rs.make_scheme("x", {"bank": 0.5, "uncle": 0.5})
    with pytest.raises(PolicyError, match="unknown risk-sharing scheme 'nope'"):
        rs.get_scheme("nope")


def test_expected_loss_rejects_impossible_inputs():
    with pytest.raises(PolicyError, match="pd must be in"):
        rs.expected_loss(1.2, 0.45, 100)
    with pytest.raises(PolicyError, match="ead must be >= 0"):
        rs.expected_loss(0.1, 0.45, -1)


def test_compensation_is_capped_and_compensation_ratio_checked():
    assert rs.compensation(180_000, 0.5, cap=50_000) == Decimal("50000")
    assert rs.compensation(180_000, 0.2) == Decimal("36000.00")
    assert rs.compensation_ratio_ok(4, 100, 0.04) and not rs.compensation_ratio_ok(5, 100, 0.04)
