"""Model and rules agree at the extremes: firms in default get grade D and PD 1; review windows from today."""

from __future__ import annotations

import pandas as pd
import pytest

import decisions_world as w
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals, select_candidates
from smecredit.exceptions import ConfigError

POLICY = load_policy()


def _l1_month(fr, month: str, **values):
    lm = fr["loan_monthly"]
    sel = (lm["loan_id"] == "L1") & (lm["month_end"] == month)
    for k, v in values.items():
        lm.loc[sel, k] = v


@pytest.mark.parametrize(("dpd", "klass", "override"), [
    (90, "关注", False), (91, "次级", True), (245, "次级", True), (0, "可疑", True), (30, "关注", False)])
def test_firm_in_default_or_non_performing_is_graded_d_with_pd_1(dpd, klass, override):
    fr = w.frames()
    _l1_month(fr, "2025-12-31", days_past_due=dpd, risk_class_5=klass)
    row = decide_renewals(w.raw(fr), w.scores(0.0257, "6"), POLICY, w.AS_OF).set_index("loan_id").loc["L1"]
    assert row["model_pd"] == 0.0257 and row["model_grade"] == "6"
    if override:
        assert row["pd"] == 1.0 and row["grade"] == "D" and "评级定为D" in row["default_override"]
        assert row["R11_status"] == "fail" and row["decision"] == "require_repayment"
    else:
        assert row["pd"] == 0.0257 and row["grade"] == "6" and row["default_override"] == ""


def test_default_at_another_lender_also_overrides_a_new_loan():
    fr = w.frames()
    fr["loans"].loc[1, "enterprise_id"] = w.EID          # L2 now belongs to the applicant, at another lender
    fr["loans"].loc[1, "lender"] = "bank_b"
    lm = fr["loan_monthly"]
    lm.loc[lm["loan_id"] == "L2", "enterprise_id"] = w.EID
    lm.loc[(lm["loan_id"] == "L2") & (lm["month_end"] == "2025-12-31"), ["days_past_due", "risk_class_5"]] = [120, "次级"]
    row = decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF).iloc[0]
    assert row["grade"] == "D" and row["pd"] == 1.0 and row["decision"] == "decline"


def test_review_window_may_start_today_up_to_the_policy_horizon():
    fr = w.frames()
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=3)
    r = w.raw(fr)
    assert list(select_candidates(r, w.AS_OF, POLICY)["loan_id"]) == ["L1"]
    assert list(select_candidates(r, w.AS_OF, POLICY, window=(0, 90))["loan_id"]) == ["L2", "L1"]
    assert list(select_candidates(r, w.AS_OF, POLICY, window=(0, 2))["loan_id"]) == []
    out = decide_renewals(r, w.scores(), POLICY, w.AS_OF,
                          candidates=select_candidates(r, w.AS_OF, POLICY, window=(0, 90))).set_index("loan_id")
    assert out.loc["L2", "R04_status"] == "fail"          # 3 days to maturity: too late to review
    assert list(select_candidates(r, w.AS_OF, POLICY, window=(0, POLICY.renewal.max_window_days))["loan_id"]) == \
        ["L2", "L1"]
    with pytest.raises(ConfigError, match="max_window_days = 365"):
        select_candidates(r, w.AS_OF, POLICY, window=(0, 366))
    with pytest.raises(ConfigError, match="must start today or later"):
        select_candidates(r, w.AS_OF, POLICY, window=(-5, 30))
