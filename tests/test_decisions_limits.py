"""Renewals apply the group, guarantor, industry and county limits (reduce as a condition, or refer), and a
guarantor in distress at the decision date is no third-party risk taker (hand-made enterprises at each boundary).

The clean world (tests/decisions_world.py): EID's loan L1 (balance ¥1,000,000, real estate) is reviewed as of
2025-12-31; EID2 owes ¥300,000 (L2, not in the review window).
"""

from __future__ import annotations

import pandas as pd
import pytest

import decisions_world as w
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals

POLICY = load_policy()
LP = POLICY.lending


def _policy(**lending):
    return POLICY.model_copy(update={"lending": LP.model_copy(update=lending)})


def _group(fr):
    fr["related_persons"].loc[1, "person_id"] = "P1"   # EID2's legal representative also runs EID: one group
    return fr


def renewal(fr, policy=POLICY, scores=None) -> pd.Series:
    out = decide_renewals(w.raw(fr), w.scores() if scores is None else scores, policy, w.AS_OF)
    return out.set_index("loan_id").loc["L1"]


@pytest.mark.parametrize("cap, decision, amount", [
    (1_300_000.0, "renew_without_repayment", 1_000_000.0),   # group at its cap: nothing binds
    (1_299_999.0, "renew_with_conditions", 990_000.0),       # ¥1 over: cut to the ¥10,000 below the headroom
    (1_100_000.0, "renew_with_conditions", 800_000.0),       # cut of exactly 20 % of the balance: still a condition
    (1_099_999.0, "refer", None),                            # 21 %: the credit committee decides, no forced repayment
    (300_000.0, "refer", None),                              # no headroom at all: referred, never require_repayment
])
def test_group_cap_reduces_the_renewal_or_refers_it(cap, decision, amount):
    row = renewal(_group(w.frames()), _policy(max_group_exposure=cap))
    assert row["group_size"] == 2 and row["group_exposure"] == 1_300_000
    assert row["decision"] == decision
    if amount is None:
        assert pd.isna(row["renewal_amount"]) and row["R13_status"] == "refer"
        assert "集团授信上限" in row["main_reason"] and "提交贷审会确定压降方案" in row["main_reason"]
        assert row["limits_binding"].startswith("集团授信上限")
    else:
        assert row["renewal_amount"] == amount
        if amount < 1_000_000:
            cut = 1_000_000 - amount
            assert row["R13_status"] == "condition" and row["limits_binding"].startswith("集团授信上限")
            assert (f"续贷金额由贷款余额¥1,000,000压降至¥{amount:,.0f}，到期归还差额¥{cut:,.0f}（受集团授信上限约束"
                    in row["reasons_zh"])
            assert f"reduced from ¥1,000,000 to ¥{amount:,.0f}" in row["conditions"]
            # the expected loss is on the reduced amount
            assert row["ead"] == amount
        else:
            assert row["R13_status"] == "pass" and row["limits_binding"] == ""


def test_the_limit_reduction_share_is_a_policy_choice():
    strict = POLICY.model_copy(update={"lending": LP.model_copy(update={"max_group_exposure": 1_100_000.0}),
                                       "renewal": POLICY.renewal.model_copy(update={"max_limit_reduction": 0.19})})
    assert renewal(_group(w.frames()), strict)["decision"] == "refer"


def _guaranteed_by_eid2(fr, gtype="commercial_guarantor"):
    ln = fr["loans"]
    ln["guarantor_enterprise_id"] = [w.EID2, None]
    ln.loc[0, ["guarantor_type", "guaranteed_share"]] = [gtype, 0.5]
    return fr


@pytest.mark.parametrize("cap, decision", [(1_000_000.0, "renew_with_conditions"), (999_999.0, "renew_with_conditions"),
                                           (0.0 + 799_999.0, "refer")])
def test_guarantor_cap_counts_what_it_guarantees_across_the_chain(cap, decision):
    fr = _guaranteed_by_eid2(w.frames())
    row = renewal(fr, _policy(max_guarantor_exposure=cap))
    assert row["decision"] == decision
    # the new guarantee contract is always a condition here (R14); the cap binds below ¥1,000,000
    binds = cap < 1_000_000
    assert ("单一保证人担保上限" in row["limits_binding"]) is binds
    if binds and decision == "renew_with_conditions":
        assert row["renewal_amount"] == 990_000 and "保证人在担保圈内已担保余额合计¥1,000,000" in row["reasons_zh"]
    if decision == "refer":
        assert "单一保证人担保上限" in row["main_reason"]


def test_a_third_guarantee_in_the_chain_uses_up_the_guarantor_cap():
    """EID2 also guarantees a ¥300,000 loan of a third firm: its chain exposure is ¥1,300,000."""
    fr = _guaranteed_by_eid2(w.frames())
    third = w.ids(3)[2]
    fr["enterprises"] = pd.concat([fr["enterprises"], fr["enterprises"].iloc[[1]].assign(enterprise_id=third)],
                                  ignore_index=True)
    fr["loans"] = pd.concat([fr["loans"], fr["loans"].iloc[[1]].assign(loan_id="L3", enterprise_id=third,
                                                                      guarantor_enterprise_id=w.EID2)], ignore_index=True)
    fr["loan_monthly"] = pd.concat([fr["loan_monthly"], fr["loan_monthly"][fr["loan_monthly"]["loan_id"] == "L2"]
                                    .assign(loan_id="L3", enterprise_id=third)], ignore_index=True)
    at = renewal(fr, _policy(max_guarantor_exposure=1_300_000.0))
    assert "单一保证人担保上限" not in at["limits_binding"] and at["guarantee_chain_size"] == 3
    over = renewal(fr, _policy(max_guarantor_exposure=1_299_999.0))
    assert over["renewal_amount"] == 990_000 and "已担保余额合计¥1,300,000" in over["reasons_zh"]


def test_concentration_limits_cut_renewals_pro_rata():
    # book = 1,300,000 (both loans); industry C holds EID's 1,000,000 = 76.9 %
    base = dict(concentration_min_book=0.0, max_county_share=1.0)
    at = renewal(w.frames(), _policy(max_industry_share=1_000_000 / 1_300_000, **base))
    assert at["decision"] == "renew_without_repayment" and at["limits_binding"] == ""
    # cap 75 %: the segment must shrink by (1.0M - 0.975M) / (0.25 x 1.0M) = 10 % -> renewed at 900,000
    cut = renewal(w.frames(), _policy(max_industry_share=0.75, **base))
    assert cut["decision"] == "renew_with_conditions" and cut["renewal_amount"] == 900_000
    assert "行业集中度上限75%" in cut["reasons_zh"] and "按比例压降10.0%" in cut["reasons_zh"]
    # cap 35 %: an 84 % cut is a reduction plan for the committee
    ref = renewal(w.frames(), _policy(max_industry_share=0.35, **base))
    assert ref["decision"] == "refer" and "行业集中度上限" in ref["main_reason"]
    county = renewal(w.frames(), _policy(concentration_min_book=0.0, max_industry_share=1.0, max_county_share=0.75))
    assert county["renewal_amount"] == 900_000 and county["limits_binding"] == "区县集中度上限"
    # below the minimum book the shares are not meaningful: not applied
    small = renewal(w.frames(), _policy(max_industry_share=0.35, max_county_share=0.4))
    assert small["decision"] == "renew_without_repayment"


def test_reductions_earlier_in_the_batch_free_group_headroom():
    """Two loans of one group in the window: the first one's cut counts for the second."""
    fr = _group(w.frames())
    ln = fr["loans"]
    ln.loc[1, ["maturity_date", "start_date"]] = [pd.Timestamp("2026-03-10"), pd.Timestamp("2025-03-10")]
    fr["loan_events"] = pd.concat([fr["loan_events"], pd.DataFrame(
        {"enterprise_id": [w.EID2], "loan_id": ["L2"], "event_date": pd.to_datetime(["2025-12-12"]),
         "event_type": ["renewal_application"]})], ignore_index=True)
    out = decide_renewals(w.raw(fr), w.scores(), _policy(max_group_exposure=1_200_000.0), w.AS_OF).set_index("loan_id")
    # L1 (matures first) is cut by 100,000 to fit the 1.2M cap; L2 then fits without a cut
    assert out.loc["L1", "renewal_amount"] == 900_000 and out.loc["L1", "decision"] == "renew_with_conditions"
    assert out.loc["L2", "limits_binding"] == "" and out.loc["L2", "renewal_amount"] == 300_000


@pytest.mark.parametrize("when, distressed", [("2025-12-31", True), ("2025-10-31", False)])
def test_a_guarantor_in_arrears_is_no_third_party_risk_taker(when, distressed):
    """Point in time: EID2's interest arrears at the decision date count; arrears cured since do not."""
    fr = _guaranteed_by_eid2(w.frames())
    lm = fr["loan_monthly"]
    lm.loc[(lm["loan_id"] == "L2") & (lm["month_end"] == when), "interest_arrears"] = True
    row = renewal(fr)
    if distressed:
        assert row["guarantor_in_distress"] == "欠息" and row["scheme"] == "bank_only"
        assert row["el_bank"] == pytest.approx(row["el"]) and row["compensatory_payment"] == 0
        assert "保证人自身欠息，不视为第三方风险承担方" in row["scheme_note"]
        assert "保证人自身欠息，不能作为有效担保" in row["reasons_zh"] and row["R14_status"] == "condition"
        assert row["R12_status"] == "refer" and row["decision"] == "refer"
    else:
        assert row["guarantor_in_distress"] == "" and row["scheme"] != "bank_only"
        assert row["el_bank"] == pytest.approx(row["el"] / 2, abs=0.01) and row["scheme_note"] == ""
        assert row["R12_status"] == "pass"


def test_a_related_guarantor_in_default_gets_no_lgd_relief():
    fr = _guaranteed_by_eid2(w.frames(), gtype="related_enterprise")
    clean = renewal(fr)
    lm = fr["loan_monthly"]
    lm.loc[(lm["loan_id"] == "L2") & (lm["month_end"] == "2025-12-31"), ["days_past_due", "risk_class_5"]] = [120, "次级"]
    bad = renewal(fr)
    assert clean["lgd"] == pytest.approx(bad["lgd"] * (1 - POLICY.expected_loss.own_guarantee_lgd_relief))
    assert bad["guarantor_in_distress"] == "贷款逾期120天、贷款为次级类（不良）"
    assert "保证人自身贷款逾期120天" in bad["scheme_note"]


def test_a_new_loan_offering_a_guarantor_in_distress_is_referred():
    fr = w.frames_debt_free()
    fr["loan_applications"] = fr["loan_applications"].assign(guarantor_enterprise_id=w.EID2)
    lm = fr["loan_monthly"]
    lm.loc[(lm["loan_id"] == "L2") & (lm["month_end"] == "2025-12-31"), "days_past_due"] = 15
    from smecredit.decisions.loan import decide_loans

    row = decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF).iloc[0]
    assert row["decision"] == "refer" and row["L09_status"] == "refer"
    assert row["guarantor_in_distress"] == "贷款逾期15天" and "所提供的保证人自身贷款逾期15天" in row["main_reason"]


def test_the_single_borrower_cap_is_noted_not_applied_to_renewals():
    """¥10M is the 普惠 statistical definition (R13's max_amount), not a renewal condition."""
    row = renewal(w.frames(), _policy(max_limit=900_000.0))
    assert row["decision"] == "renew_without_repayment" and row["renewal_amount"] == 1_000_000
    assert row["limits_binding"] == "各行负债合计¥1,000,000超过单户授信上限¥900,000（续贷不适用，仅提示）"
