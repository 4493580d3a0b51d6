"""A hand-made world for the decision tests: one clean small enterprise with one working-capital loan.

As of 2025-12-31 the loan (¥1,000,000, real-estate collateral worth ¥2,000,000) matures on
2026-02-27, 58 days later, inside the default 30–90-day review window; the borrower applied on
2025-12-10. Sales, electricity and headcount are flat over 2024–2025, the loan is 正常 with no
overdue, and nothing adverse is on record, so every rule passes. Tests change one thing at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data import from_frames
from smecredit.data.uscc import make_codes

AS_OF = pd.Timestamp("2025-12-31")
MONTHS = pd.date_range("2024-01-31", "2025-12-31", freq="ME")


def ids(n: int = 2) -> list[str]:
    return list(make_codes(np.arange(101, 101 + n), np.full(n, "331002"), np.full(n, "1")))


EID, EID2 = ids(2)


def frames() -> dict[str, pd.DataFrame]:
    """Raw frames of the clean world (a new dict of new frames on every call)."""
    e = [EID, EID2]
    ent = pd.DataFrame({
        "enterprise_id": e, "name": ["好企业", "另一企业"], "county": ["jiaojiang", "tiantai"],
        "mountain_county": [False, True], "urban": [True, False], "industry": ["C", "F"],
        "registration_date": pd.to_datetime(["2015-03-01", "2016-05-01"]), "registered_capital": [1e6, 5e5],
        "legal_form": ["company", "company"], "size_class": ["small", "micro"], "employees": [20, 5],
        "tech_sme": [False, False], "green": [False, False]})
    mm = [(x, m) for x in e for m in MONTHS]
    tax = pd.DataFrame({"enterprise_id": [x for x, _ in mm], "month_end": [m for _, m in mm],
                        "invoiced_sales": 100_000.0, "tax_paid": 3_000.0})
    util = pd.DataFrame({"enterprise_id": [x for x, _ in mm], "month_end": [m for _, m in mm],
                         "electricity_kwh": 5_000.0, "water_m3": 100.0, "gas_m3": np.nan})
    si = pd.DataFrame({"enterprise_id": [x for x, _ in mm], "month_end": [m for _, m in mm],
                       "insured_headcount": 20, "contribution_arrears": False})
    tca = pd.DataFrame({"enterprise_id": e, "year": [2024, 2024], "published_date": pd.to_datetime(["2025-04-20"] * 2),
                        "tax_grade": ["A", "B"]})
    jud = pd.DataFrame({"enterprise_id": pd.Series([], dtype=object), "case_id": pd.Series([], dtype=object),
                        "event_date": pd.Series([], dtype="datetime64[ns]"), "event_type": pd.Series([], dtype=object),
                        "amount": pd.Series([], dtype=float)})
    adm = pd.DataFrame({"enterprise_id": pd.Series([], dtype=object), "case_id": pd.Series([], dtype=object),
                        "event_date": pd.Series([], dtype="datetime64[ns]"), "event_type": pd.Series([], dtype=object),
                        "severity": pd.Series([], dtype=object), "amount": pd.Series([], dtype=float)})
    loans = pd.DataFrame({
        "loan_id": ["L1", "L2"], "enterprise_id": e, "lender": ["bank_a", "bank_a"],
        "start_date": pd.to_datetime(["2025-02-27", "2025-06-15"]),
        "maturity_date": pd.to_datetime(["2026-02-27", "2026-06-15"]), "amount": [1_000_000.0, 300_000.0],
        "product": ["working_capital", "working_capital"], "collateral_type": ["real_estate", "unsecured"],
        "collateral_value": [2_000_000.0, np.nan], "guarantor_type": ["none", "none"], "guaranteed_share": [0.0, 0.0],
        "guarantee_insurance": [False, False], "renewed_without_repayment": [False, False],
        "renewed_from_loan_id": [None, None], "risk_class_5": ["正常", "正常"]})
    lm_months = pd.date_range("2025-02-28", "2025-12-31", freq="ME")
    lm = pd.DataFrame({"loan_id": "L1", "enterprise_id": EID, "month_end": lm_months, "balance": 1_000_000.0,
                       "days_past_due": 0, "risk_class_5": "正常", "interest_arrears": False})
    lm2 = pd.DataFrame({"loan_id": "L2", "enterprise_id": EID2, "month_end": lm_months[lm_months >= "2025-06-30"],
                        "balance": 300_000.0, "days_past_due": 0, "risk_class_5": "正常", "interest_arrears": False})
    ev = pd.DataFrame({"enterprise_id": [EID], "loan_id": ["L1"], "event_date": pd.to_datetime(["2025-12-10"]),
                       "event_type": ["renewal_application"]})
    rp = pd.DataFrame({"enterprise_id": e, "person_id": ["P1", "P2"], "role": ["legal_representative"] * 2,
                       "dishonest_debtor": [False, False], "dishonest_since": pd.to_datetime([None, None]),
                       "bad_credit_record": [False, False], "bad_record_since": pd.to_datetime([None, None])})
    apps = pd.DataFrame({"application_id": ["A1"], "enterprise_id": [EID], "application_date": pd.to_datetime(["2025-12-20"]),
                         "requested_amount": [300_000.0], "product": ["working_capital"], "term_months": [12],
                         "collateral_type": ["real_estate"], "collateral_value": [2_000_000.0]})
    return {"enterprises": ent, "tax_monthly": tax, "tax_credit_annual": tca, "utilities_monthly": util,
            "social_insurance_monthly": si, "judicial_events": jud, "admin_events": adm, "loans": loans,
            "loan_monthly": pd.concat([lm, lm2], ignore_index=True), "loan_events": ev, "related_persons": rp,
            "loan_applications": apps}


def raw(fr: dict | None = None):
    return from_frames(frames() if fr is None else fr)


def scores(pd_: float = 0.01, grade: str = "3") -> pd.DataFrame:
    return pd.DataFrame({"enterprise_id": [EID, EID2], "pd": [pd_, 0.02], "grade": [grade, "4"],
                         "reason_1": ["Electricity use down 5% / 用电量下降5%", None], "reason_2": [None, None],
                         "reason_3": [None, None]})


def frames_debt_free() -> dict[str, pd.DataFrame]:
    """The clean world without loan L1: the applicant EID owes nothing (a first loan, 首贷)."""
    fr = frames()
    fr["loans"] = fr["loans"][fr["loans"]["loan_id"] != "L1"].reset_index(drop=True)
    fr["loan_monthly"] = fr["loan_monthly"][fr["loan_monthly"]["loan_id"] != "L1"].reset_index(drop=True)
    fr["loan_events"] = fr["loan_events"][fr["loan_events"]["loan_id"] != "L1"].reset_index(drop=True)
    return fr
