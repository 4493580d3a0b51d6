"""Sole proprietors and farmers: alternative evidence where VAT invoices cannot exist, never approval on missing data."""

from __future__ import annotations

import pytest

import decisions_world as w
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals

POLICY = load_policy()


def _no_vat(fr, legal_form="individual_business", fixed_quota_tax=None, drop=()):
    """EID becomes ``legal_form`` without VAT invoices (fixed-quota tax rows when given); ``drop`` removes sources."""
    fr["enterprises"].loc[0, "legal_form"] = legal_form
    tax = fr["tax_monthly"]
    if fixed_quota_tax is None:
        fr["tax_monthly"] = tax[tax["enterprise_id"] != w.EID].reset_index(drop=True)
    else:
        mine = tax["enterprise_id"] == w.EID
        tax.loc[mine, "invoiced_sales"] = 0.0
        tax.loc[mine, "tax_paid"] = [fixed_quota_tax(m) for m in tax.loc[mine, "month_end"]]
    for t in drop:
        fr[t] = fr[t][fr[t]["enterprise_id"] != w.EID].reset_index(drop=True)
    return fr


def renew_row(fr):
    return decide_renewals(w.raw(fr), w.scores(), POLICY, w.AS_OF).set_index("loan_id").loc["L1"]


@pytest.mark.parametrize("form", ["individual_business", "farmer_cooperative"])
def test_no_vat_by_legal_form_is_judged_on_electricity(form):
    row = renew_row(_no_vat(w.frames(), form))
    assert row["R05_status"] == "pass" and "无增值税开票" in row["reasons_passed_zh"]
    assert row["R07_status"] == "pass" and row["decision"] == "renew_without_repayment"


def test_a_company_without_vat_is_still_missing_data():
    row = renew_row(_no_vat(w.frames(), "company"))
    assert row["R05_status"] == "refer" and row["R05_value"] == "missing" and row["decision"] == "refer"


def test_no_alternative_evidence_at_all_is_never_approved():
    row = renew_row(_no_vat(w.frames(), drop=("utilities_monthly", "social_insurance_monthly")))
    assert row["R05_value"] == "missing" and row["R07_value"] == "missing" and row["decision"] == "refer"
    assert "数据缺失" in row["reasons_zh"]


@pytest.mark.parametrize(("now", "status"), [(3_000.0, "pass"), (3_000 * 0.70, "condition"), (3_000 * 0.69, "refer"),
                                             (3_000 * 0.40, "fail")])
def test_fixed_quota_tax_paid_measures_turnover(now, status):
    fr = _no_vat(w.frames(), fixed_quota_tax=lambda m: 3_000.0 if m.year == 2024 else now)
    row = renew_row(fr)
    assert row["R07_status"] == status and "定额纳税额" in (row["reasons_zh"] + row["reasons_passed_zh"])


def test_new_loan_to_a_sole_proprietor_on_electricity_is_capped():
    fr = _no_vat(w.frames_debt_free())
    apps = fr["loan_applications"].assign(requested_amount=500_000.0)
    row = decide_loans(w.raw(fr), apps, w.scores(), POLICY, w.AS_OF).iloc[0]
    assert row["decision"] == "approve" and row["credit_limit"] == POLICY.lending.alternative_evidence_limit
    assert "以近12个月用电记录为经营证据" in row["reasons_passed_zh"] and "无开票经营额度" in row["limits_binding"]


def test_new_loan_on_fixed_quota_tax_uses_the_levy_rate():
    fr = _no_vat(w.frames_debt_free(), fixed_quota_tax=lambda m: 1_500.0)
    row = decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF).iloc[0]
    # 12 x 1,500 / 3% = 600,000 revenue; grade 3 multiple 0.40 -> 240,000
    assert row["revenue_proxy"] == pytest.approx(600_000) and row["credit_limit"] == 240_000


def test_new_loan_without_any_evidence_is_referred():
    fr = _no_vat(w.frames_debt_free(), drop=("utilities_monthly",))
    row = decide_loans(w.raw(fr), fr["loan_applications"], w.scores(), POLICY, w.AS_OF).iloc[0]
    assert row["decision"] == "refer" and row["L07_value"] == "missing"
