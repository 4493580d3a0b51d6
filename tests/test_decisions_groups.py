"""Exposure across lenders, groups (related persons, guarantees) and concentration limits on new loans."""

from __future__ import annotations

import pandas as pd
import pytest

import decisions_world as w
from smecredit.decisions import groups as G
from smecredit.decisions.loan import credit_limits, decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals

POLICY = load_policy()
LP = POLICY.lending


def loan_row(fr, policy=POLICY, scores=None):
    return decide_loans(w.raw(fr), fr["loan_applications"], w.scores() if scores is None else scores, policy,
                        w.AS_OF).iloc[0]


def test_limit_is_net_of_debt_at_every_lender():
    fr = w.frames()
    fr["loans"].loc[0, "lender"] = "bank_b"      # the applicant owes ¥1,000,000 to another bank
    row = loan_row(fr)
    # revenue 1,200,000 x 0.40 (grade 3) = 480,000, minus 1,000,000 owed: nothing left
    assert row["total_exposure"] == 1_000_000 and row["credit_limit"] == 0 and row["decision"] == "decline"
    assert "扣除现有各行负债¥1,000,000" in row["reasons_zh"] and "收入口径额度" in row["limits_binding"]
    free = loan_row(w.frames_debt_free())
    assert free["total_exposure"] == 0 and free["credit_limit"] == 480_000 and free["decision"] == "approve"


def _shared_person(fr):
    fr["related_persons"].loc[1, "person_id"] = "P1"   # EID2's legal representative also runs EID
    return fr


def test_related_person_makes_a_group_and_the_group_cap_binds():
    fr = _shared_person(w.frames_debt_free())
    gx = G.exposure_and_groups(w.raw(fr), w.AS_OF, [w.EID, w.EID2])
    assert gx["group_size"].tolist() == [2, 2] and gx["group_id"].nunique() == 1
    assert gx.loc[w.EID, "group_exposure"] == 300_000 and gx.loc[w.EID, "total_exposure"] == 0
    capped = POLICY.model_copy(update={"lending": LP.model_copy(update={"max_group_exposure": 500_000.0})})
    row = loan_row(fr, capped)
    assert row["credit_limit"] == 200_000 and row["limits_binding"].startswith("集团授信上限")
    assert "受集团授信上限约束" in row["reasons_zh"] and "集团授信余额¥200,000（关联企业2家" in row["reasons_passed_zh"]
    # at the boundary the group cap is not binding any more
    at = POLICY.model_copy(update={"lending": LP.model_copy(update={"max_group_exposure": 780_000.0})})
    assert loan_row(fr, at)["credit_limit"] == 480_000


def test_without_links_each_enterprise_is_its_own_group():
    gx = G.exposure_and_groups(w.raw(), w.AS_OF, [w.EID, w.EID2])
    assert gx["group_size"].tolist() == [1, 1] and gx["guarantee_chain_size"].tolist() == [1, 1]
    assert gx["group_id"].nunique() == 2 and gx["guarantors"].sum() == 0


def _guarantee_network(distressed: bool):
    fr = w.frames()
    fr["loans"]["guarantor_enterprise_id"] = [w.EID2, w.EID]   # 互保: each guarantees the other's loan
    if distressed:
        lm = fr["loan_monthly"]
        lm.loc[(lm["loan_id"] == "L2") & (lm["month_end"] == "2025-12-31"), ["days_past_due", "risk_class_5"]] = [20, "关注"]
    return fr


@pytest.mark.parametrize("distressed", [False, True])
def test_mutual_guarantee_contagion_refers_the_renewal(distressed):
    fr = _guarantee_network(distressed)
    gx = G.exposure_and_groups(w.raw(fr), w.AS_OF, [w.EID])
    assert gx.loc[w.EID, "guarantee_chain_size"] == 2 and gx.loc[w.EID, "guaranteed_for_others"] == 300_000
    row = decide_renewals(w.raw(fr), w.scores(), POLICY, w.AS_OF).set_index("loan_id").loc["L1"]
    assert row["group_size"] == 2 and row["guarantors_in_distress"] == int(distressed)
    if distressed:
        assert row["R12_status"] == "refer" and row["decision"] == "refer"
        assert "为其担保的1家企业出现逾期、关注类或失信" in row["reasons_zh"]
    else:
        assert row["R12_status"] == "pass"


def test_guarantor_cap_and_concentration_limits_are_labelled_headrooms():
    f = {"total_exposure": 0.0, "group_size": 1, "guarantor_guaranteed": LP.max_guarantor_exposure - 100_000,
         "book_total": 200_000_000.0, "book_industry": 69_000_000.0, "book_county": 10_000_000.0}
    app = {"collateral_type": "real_estate", "collateral_value": 2_000_000.0, "requested_amount": 300_000.0}
    lims = {k: (zh, h) for k, _, zh, h in credit_limits(f, app, LP, 1_200_000.0, 3)}
    assert lims["guarantor cap"][1] == 100_000 and "扣除其已担保余额" in lims["guarantor cap"][0]
    # (0.35 x 200M - 69M) / (1 - 0.35)
    assert lims["industry"][1] == pytest.approx(1_000_000 / 0.65)
    assert lims["county"][1] > lims["industry"][1]
    small = {**f, "book_total": LP.concentration_min_book - 1}
    assert "industry" not in {k for k, *_ in credit_limits(small, app, LP, 1_200_000.0, 3)}


def test_approvals_earlier_in_a_batch_use_up_the_headroom_of_later_ones():
    fr = w.frames_debt_free()
    one = fr["loan_applications"].assign(requested_amount=300_000.0)
    two = pd.concat([one, one.assign(application_id="A2")], ignore_index=True)
    out = decide_loans(w.raw(fr), two, w.scores(), POLICY, w.AS_OF).set_index("application_id")
    # revenue limit 480,000: the first takes 300,000, the second gets what is left
    assert out.loc["A1", "approved_amount"] == 300_000 and out.loc["A2", "credit_limit"] == 180_000
    assert out.loc["A2", "total_exposure"] == 300_000 and bool(out.loc["A1", "mountain_county"]) is False
