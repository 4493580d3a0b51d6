"""Renewal rules R01–R17, each at its boundary, on the facts of the hand-made clean loan."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions_world import AS_OF, EID, raw
from smecredit.decisions import facts as F
from smecredit.decisions import rules as R
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import outcome

P = load_policy().renewal


@pytest.fixture(scope="module")
def base() -> dict:
    r = raw()
    lf = F.loan_facts(r, AS_OF, ["L1"]).loc["L1"].to_dict()
    ef = F.enterprise_facts(r, AS_OF, [EID]).loc[EID].to_dict()
    return {**lf, **ef, "pd": 0.01, "grade": "3"}


def run(rule, base, **changes):
    return R.RULES[rule]({**base, **changes}, P, AS_OF)


def test_clean_loan_passes_every_rule(base):
    res = R.evaluate(base, P, AS_OF)
    assert list(res) == [f"R{i:02d}" for i in range(1, 18)]
    assert {r.rule for r in res.values() if r.status not in ("pass", "info")} == set()
    assert res["R15"].value == "正常"


@pytest.mark.parametrize(("product", "status"), [("working_capital", "pass"), ("farmer_operating", "pass"),
                                                 ("fixed_asset", "fail")])
def test_r01_only_working_capital_and_operating_loans(base, product, status):
    assert run("R01", base, product=product).status == status


@pytest.mark.parametrize(("size", "maturity", "status"), [
    ("micro", "2030-01-01", "pass"),
    ("medium", "2027-09-30", "pass"),
    ("medium", "2027-10-01", "fail"),
])
def test_r02_medium_enterprises_only_until_2027_09_30(base, size, maturity, status):
    r = run("R02", base, size_class=size, maturity_date=pd.Timestamp(maturity))
    assert r.status == status


def test_r03_no_application_is_referred_not_approved(base):
    r = run("R03", base, application_date=pd.NaT)
    assert r.status == "refer" and "No renewal application on file as of 2025-12-31" in r.text_en


@pytest.mark.parametrize(("days", "status"), [(P.review_lead_days, "pass"), (P.review_lead_days - 1, "fail")])
def test_r04_review_must_finish_lead_days_before_maturity(base, days, status):
    assert run("R04", base, maturity_date=AS_OF + pd.Timedelta(days=days)).status == status


@pytest.mark.parametrize(("balance", "status"), [(500_000.0, "pass"), (499_000.0, "refer")])
def test_r05_loan_must_still_be_drawn(base, balance, status):
    assert run("R05", base, balance=balance).status == status


def test_r05_no_invoicing_for_three_months_is_referred(base):
    assert run("R05", base, sales_3m=0.0).status == "refer"


def test_r06_major_penalty_or_abnormal_list_fails(base):
    assert run("R06", base, major_penalties=1).status == "fail"
    assert run("R06", base, abnormal_operation=True).status == "fail"
    assert run("R06", base).status == "pass"


@pytest.mark.parametrize(("sales_now", "status"), [
    (1_200_000 * 0.90, "pass"),        # -10%: at the reduce-amount threshold, not beyond
    (1_200_000 * 0.89, "condition"),   # -11%: renew with a reduced amount
    (1_200_000 * 0.70, "condition"),   # -30%: at the refer threshold
    (1_200_000 * 0.69, "refer"),       # -31%
    (1_200_000 * 0.40, "fail"),        # -60%: not a going concern
])
def test_r07_sales_decline_thresholds(base, sales_now, status):
    assert base["sales_prev_12m"] == 1_200_000
    assert run("R07", base, sales_12m=sales_now).status == status


@pytest.mark.parametrize(("field", "value", "status"), [
    ("elec_12m", 60_000 * 0.70, "pass"), ("elec_12m", 60_000 * 0.69, "refer"),
    ("headcount_now", 14.0, "pass"), ("headcount_now", 13.0, "refer"),
])
def test_r07_electricity_and_headcount_thresholds(base, field, value, status):
    assert run("R07", base, **{field: value}).status == status


def test_r07_short_history_is_missing_data(base):
    r = run("R07", base, sales_prev_12m_months=9)
    assert r.status == "refer" and r.text_en.startswith("missing data: tax_monthly.invoiced_sales")


def test_r07_headcount_not_required_for_sole_proprietors(base):
    r = run("R07", base, legal_form="individual_business", headcount_now=math.nan)
    assert r.status == "pass" and "headcount n/a" in r.value
    assert run("R07", base, headcount_now=math.nan).status == "refer"


@pytest.mark.parametrize(("changes", "status"), [
    ({"max_dpd_all_loans": 0.0}, "pass"), ({"max_dpd_all_loans": 1.0}, "fail"),
    ({"any_interest_arrears": 1.0}, "fail"), ({"dishonest_debtor": True}, "fail"),
])
def test_r08_good_credit(base, changes, status):
    assert run("R08", base, **changes).status == status


@pytest.mark.parametrize(("run_", "cum", "status"), [
    (2, 2, "pass"), (3, 3, "fail"),          # 连三: 3 consecutive overdue months fail
    (2, 5, "pass"), (2, 6, "fail"),          # 累六: 6 cumulative overdue months fail
])
def test_r08_consecutive_three_cumulative_six_over_24_months(base, run_, cum, status):
    r = run("R08", base, overdue_run_max=run_, overdue_months=cum)
    assert r.status == status
    if status == "fail":
        assert "近24个月" in r.text_zh


def test_r08_enforcement_case_is_referred(base):
    r = run("R08", base, enforcement_cases=1, enforcement_amount=250_000.0)
    assert r.status == "refer" and "被执行案件" in r.text_zh and "执行标的金额¥250,000" in r.text_zh
    assert run("R08", base, enforcement_cases=0).status == "pass"


def test_r09_misuse_of_funds_fails(base):
    assert run("R09", base, funds_misuse=True).status == "fail"


@pytest.mark.parametrize(("cls", "status"), [("正常", "pass"), ("关注", "refer"), ("次级", "fail"), ("可疑", "fail"),
                                             ("损失", "fail")])
def test_r10_original_loan_class(base, cls, status):
    assert run("R10", base, risk_class_now=cls).status == status


@pytest.mark.parametrize(("pd_", "grade", "status"), [
    (0.03, "6", "pass"), (0.0301, "6", "refer"), (0.03, "7", "refer"),
    (0.08, "8", "refer"), (0.0801, "8", "fail"), (0.01, "9", "fail"), (0.01, "D", "fail"),
])
def test_r11_pd_and_grade_bands(base, pd_, grade, status):
    assert run("R11", base, pd=pd_, grade=grade).status == status


def test_r12_flagged_related_person_is_referred(base):
    r = run("R12", base, persons_flagged="legal_representative: dishonest debtor")
    assert r.status == "refer" and "legal_representative" in r.text_en


@pytest.mark.parametrize(("balance", "amount", "status"), [
    (P.max_amount, P.max_amount, "pass"), (P.max_amount + 1, P.max_amount + 1, "condition"),
    (1_000_001.0, 1_000_000.0, "fail"),
])
def test_r13_amount_limits(base, balance, amount, status):
    # above the 普惠 amount (1,000万) is a bank-policy condition, never a forced repayment
    r = run("R13", base, balance=balance, amount=amount)
    assert r.status == status
    if status == "condition":
        assert "不属于普惠型小微企业贷款口径" in r.text_zh


def test_r13_amount_cap_may_refer_instead():
    p = P.model_copy(update={"amount_cap_action": "refer"})
    f = {"balance": P.max_amount + 1, "amount": P.max_amount + 1, "term_months": 12.0}
    assert R.r13_amount_term(f, p, AS_OF).status == "refer"


@pytest.mark.parametrize(("term", "status"), [(12.0, "pass"), (13.0, "condition"), (24.0, "condition")])
def test_r13_term_change_is_an_explicit_condition(base, term, status):
    r = run("R13", base, term_months=term)
    assert r.status == status and "for 12 months" in r.value
    if status == "condition":
        assert f"续贷期限由原{int(term)}个月调整为12个月" in r.text_zh


@pytest.mark.parametrize(("value", "status"), [(1_250_000.0, "pass"), (1_249_000.0, "condition")])
def test_r14_revalued_collateral_must_cover_the_balance(base, value, status):
    r = run("R14", base, collateral_value=value)   # 1,250,000 × (1 - 20%) = 1,000,000 = balance
    assert r.status == status


@pytest.mark.parametrize(("n", "status"), [(P.max_consecutive_renewals - 1, "pass"), (P.max_consecutive_renewals, "refer")])
def test_r16_repeated_renewals_are_referred(base, n, status):
    assert run("R16", base, consecutive_renewals=n).status == status


def test_r17_restructuring_is_not_a_renewal(base):
    assert run("R17", base, restructured_recently=True).status == "fail"
    assert run("R17", base, loan_restructured=True).status == "fail"


@pytest.mark.parametrize(("changes", "status"), [
    ({}, "pass"),
    ({"worst_class_now": "关注"}, "refer"),                                  # one sign: officer decides
    ({"worst_class_now": "关注", "arrears_months_12m": 1}, "fail"),          # two signs: a restructuring
    ({"overdue_months_3m": 1, "sales_12m": 1_200_000 * 0.69}, "fail"),
    ({"sales_12m": 1_200_000 * 0.70}, "pass"),                               # -30% is not beyond the limit
])
def test_r17_renewal_of_a_borrower_in_financial_difficulty_is_a_restructuring(base, changes, status):
    r = run("R17", base, **changes)
    assert r.status == status
    if status == "fail":
        assert "重组" in r.text_zh


@pytest.mark.parametrize(("changes", "status", "text"), [
    ({"collateral_type": "guarantee", "guarantor_type": "commercial_guarantor"}, "condition", "须在到期前签订新的保证合同"),
    ({"collateral_type": "guarantee", "guarantor_type": "commercial_guarantor",
      "guarantee_signed_date": pd.Timestamp("2025-12-20")}, "pass", "已于2025-12-20"),
    ({"guarantor_type": "individual"}, "condition", "须在到期前签订新的保证合同"),     # real estate + a guarantor
])
def test_r14_guaranteed_loan_needs_a_new_guarantee_contract(base, changes, status, text):
    r = run("R14", base, **changes)
    assert r.status == status and text in r.text_zh


def test_r15_never_downgrades_because_of_renewal(base):
    res = R.evaluate({**base, "risk_class_now": "关注"}, P, AS_OF)
    assert res["R15"].value == "关注" and "no downgrade from 关注" in res["R15"].text_en
    res = R.evaluate({**base, "pd": 0.05}, P, AS_OF)   # R11 referred: no safe harbour, class kept
    assert res["R15"].value == "正常" and "R11 not met" in res["R15"].text_en


@pytest.mark.parametrize(("rule", "changes", "what"), [
    ("R02", {"size_class": None}, "enterprises.size_class"),
    ("R05", {"balance": math.nan}, "loan_monthly.balance"),
    ("R08", {"max_dpd_all_loans": math.nan}, "loan_monthly"),
    ("R10", {"risk_class_now": None}, "loan_monthly.risk_class_5"),
    ("R11", {"pd": math.nan}, "model score"),
    ("R12", {"persons_known": False}, "related_persons"),
    ("R14", {"collateral_value": math.nan}, "loans.collateral_value"),
])
def test_missing_data_refers_with_the_missing_field(base, rule, changes, what):
    r = run(rule, base, **changes)
    assert r.status == "refer" and r.value == "missing"
    assert r.text_en.startswith("missing data: ") and what in r.text_en
    assert r.text_zh.startswith("数据缺失")


def test_rules_do_not_mutate_the_facts(base):
    before = dict(base)
    R.evaluate(base, P, AS_OF)
    assert base.keys() == before.keys() and all(
        (base[k] is before[k]) or (base[k] == before[k]) or (pd.isna(base[k]) and pd.isna(before[k])) for k in base)


REQUIRED = ["product", "size_class", "maturity_date", "balance", "amount", "term_months", "sales_12m", "sales_prev_12m",
            "sales_3m_months", "elec_12m", "elec_prev_12m", "headcount_now", "headcount_12m_ago", "max_dpd_all_loans",
            "any_interest_arrears", "risk_class_now", "pd", "grade", "collateral_value", "persons_known", "registered"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(missing=st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_missing_required_data_is_never_renewed(base, missing):
    f = dict(base)
    for k in missing:
        f[k] = False if k in ("persons_known", "registered") else 0 if k == "sales_3m_months" else None
    res = R.evaluate(f, P, AS_OF)
    assert outcome(res) in ("refer", "require_repayment")
    assert any(r.value == "missing" for r in res.values())


def _old_loan_at_another_bank(overdue_months: list[str], arrears: bool = False, enforcement: bool = False):
    from decisions_world import frames

    fr = frames()
    fr["loans"] = pd.concat([fr["loans"], pd.DataFrame({
        "loan_id": ["L3"], "enterprise_id": [EID], "lender": ["bank_b"], "start_date": pd.to_datetime(["2024-01-15"]),
        "maturity_date": pd.to_datetime(["2024-12-15"]), "amount": [200_000.0], "product": ["working_capital"],
        "collateral_type": ["unsecured"], "collateral_value": [float("nan")], "guarantor_type": ["none"],
        "guaranteed_share": [0.0], "guarantee_insurance": [False], "renewed_without_repayment": [False],
        "renewed_from_loan_id": [None], "risk_class_5": ["正常"]})], ignore_index=True)
    months = pd.date_range("2024-01-31", "2024-11-30", freq="ME")
    lm3 = pd.DataFrame({"loan_id": "L3", "enterprise_id": EID, "month_end": months, "balance": 200_000.0,
                        "days_past_due": [15 if m.strftime("%Y-%m") in overdue_months and not arrears else 0
                                          for m in months],
                        "risk_class_5": "正常",
                        "interest_arrears": [arrears and m.strftime("%Y-%m") in overdue_months for m in months]})
    fr["loan_monthly"] = pd.concat([fr["loan_monthly"], lm3], ignore_index=True)
    if enforcement:
        fr["judicial_events"] = pd.DataFrame({"enterprise_id": [EID], "case_id": ["J1"],
                                              "event_date": pd.to_datetime(["2025-03-01"]), "event_type": ["enforcement"],
                                              "amount": [80_000.0]})
    return raw(fr)


@pytest.mark.parametrize(("months", "arrears", "status"), [
    (["2024-03", "2024-04"], False, "pass"),
    (["2024-03", "2024-04", "2024-05"], False, "fail"),                       # 连三 at another bank, a year ago
    (["2024-02", "2024-04", "2024-06", "2024-08", "2024-10"], True, "pass"),  # 5 months of interest arrears
    (["2024-01", "2024-03", "2024-05", "2024-07", "2024-09", "2024-11"], True, "fail"),   # 累六
])
def test_r08_history_is_read_over_24_months_at_every_lender(months, arrears, status):
    r = _old_loan_at_another_bank(months, arrears)
    f = {**F.loan_facts(r, AS_OF, ["L1"]).loc["L1"].to_dict(), **F.enterprise_facts(r, AS_OF, [EID]).loc[EID].to_dict(),
         "pd": 0.01, "grade": "3"}
    assert f["max_dpd_all_loans"] == 0        # nothing overdue now: the old 62-day check would have passed
    assert R.r08_credit(f, P, AS_OF).status == status


def test_r08_enforcement_case_from_the_court_data_is_referred():
    r = _old_loan_at_another_bank([], enforcement=True)
    f = {**F.loan_facts(r, AS_OF, ["L1"]).loc["L1"].to_dict(), **F.enterprise_facts(r, AS_OF, [EID]).loc[EID].to_dict()}
    assert f["enforcement_cases"] == 1 and R.r08_credit(f, P, AS_OF).status == "refer"
