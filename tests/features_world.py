"""A small hand-made world of raw tables for the feature tests (every table of the data model).

Eight enterprises, monthly data 2023-01 … 2024-12, loans, events, IP, supply chain, green data
and related persons, with some records dated after the test snapshot 2024-06-30. Values are
drawn from a seeded generator, so the world is the same in every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.data import from_frames
from smecredit.data.uscc import make_codes

MONTHS = pd.date_range("2023-01-31", "2024-12-31", freq="ME")
SNAPSHOT = pd.Timestamp("2024-06-30")


def enterprise_ids(n: int) -> list[str]:
    return list(make_codes(np.arange(1, n + 1), np.full(n, "331002"), np.full(n, "1")))


def world(seed: int = 0, n: int = 8) -> dict[str, pd.DataFrame]:
    """Frames of every table (enterprise 0 has no loans; enterprise 1 has no tax or utility records)."""
    rng = np.random.default_rng(seed)
    ids = enterprise_ids(n)
    ent = pd.DataFrame({
        "enterprise_id": ids, "name": [f"企业{i}" for i in range(n)],
        "county": ["jiaojiang", "tiantai"] * (n // 2), "mountain_county": [False, True] * (n // 2),
        "urban": [True, False] * (n // 2), "industry": ["C", "F"] * (n // 2),
        "registration_date": pd.to_datetime(["2015-03-01"] * (n - 1) + ["2024-09-01"]),
        "registered_capital": rng.uniform(1e5, 5e6, n).round(0), "legal_form": ["company"] * n,
        "size_class": ["small"] * n, "employees": rng.integers(3, 60, n), "tech_sme": [False] * n,
        "green": [False] * n,
    })
    monthly = [(e, m) for e in ids for m in MONTHS]
    tax = pd.DataFrame({"enterprise_id": [e for e, _ in monthly], "month_end": [m for _, m in monthly],
                        "invoiced_sales": rng.gamma(2.0, 1e5, len(monthly)).round(2),
                        "tax_paid": rng.gamma(2.0, 3e3, len(monthly)).round(2)})
    tax.loc[rng.random(len(tax)) < 0.08, "invoiced_sales"] = 0.0
    tax = tax[tax.enterprise_id != ids[1]].reset_index(drop=True)
    util = pd.DataFrame({"enterprise_id": [e for e, _ in monthly], "month_end": [m for _, m in monthly],
                         "electricity_kwh": rng.gamma(2.0, 5e3, len(monthly)).round(1),
                         "water_m3": rng.gamma(2.0, 100, len(monthly)).round(1),
                         "gas_m3": np.where(rng.random(len(monthly)) < 0.5, np.nan, 300.0)})
    util = util[util.enterprise_id != ids[1]].reset_index(drop=True)
    si = pd.DataFrame({"enterprise_id": [e for e, _ in monthly], "month_end": [m for _, m in monthly],
                       "insured_headcount": rng.integers(1, 50, len(monthly)),
                       "contribution_arrears": rng.random(len(monthly)) < 0.1})
    tca = pd.DataFrame({"enterprise_id": ids * 2, "year": [2022] * n + [2023] * n,
                        "published_date": pd.to_datetime(["2023-04-20"] * n + ["2024-04-20"] * n),
                        "tax_grade": rng.choice(["A", "B", "M", "C", "D"], 2 * n)})
    jud_dates = pd.to_datetime(["2023-05-10", "2023-11-02", "2024-02-14", "2024-06-30", "2024-07-15", "2024-10-01",
                                "2023-08-08", "2024-08-08"])
    jud = pd.DataFrame({"enterprise_id": [ids[2], ids[2], ids[3], ids[3], ids[3], ids[4], ids[5], ids[5]],
                        "case_id": [f"J{i}" for i in range(8)], "event_date": jud_dates,
                        "event_type": ["lawsuit_defendant", "enforcement", "dishonest_debtor_listed",
                                       "lawsuit_defendant", "dishonest_debtor_removed", "enforcement",
                                       "dishonest_debtor_listed", "lawsuit_defendant"],
                        "amount": [1e5, 2e5, np.nan, 5e4, np.nan, 3e5, np.nan, 7e4]})
    adm = pd.DataFrame({"enterprise_id": [ids[2], ids[4], ids[4], ids[6], ids[6]],
                        "case_id": [f"A{i}" for i in range(5)],
                        "event_date": pd.to_datetime(["2023-09-01", "2024-03-03", "2024-09-09", "2024-01-15",
                                                      "2024-07-20"]),
                        "event_type": ["market_penalty", "abnormal_operation_in", "abnormal_operation_out",
                                       "environmental_penalty", "market_penalty"],
                        "severity": ["minor", None, None, "major", "major"],
                        "amount": [5e3, np.nan, np.nan, 2e4, 1e4]})
    ip = pd.DataFrame({"enterprise_id": [ids[2], ids[2], ids[3], ids[5]], "asset_id": ["P1", "P2", "T1", "P3"],
                       "asset_type": ["invention_patent", "utility_patent", "trademark", "design_patent"],
                       "grant_date": pd.to_datetime(["2020-01-01", "2024-03-01", "2022-05-05", "2024-08-01"]),
                       "pledged": [True, False, True, True],
                       "pledge_date": pd.to_datetime(["2023-06-01", None, "2024-09-01", "2024-09-01"]),
                       "valuation": [5e5, np.nan, 1e5, 2e5]})
    sc = pd.DataFrame({"enterprise_id": [ids[2], ids[2], ids[3], ids[3], ids[4]],
                       "instrument_id": [f"S{i}" for i in range(5)],
                       "instrument": ["receivable", "commercial_bill", "receivable", "receivable", "receivable"],
                       "counterparty": ["CORE1", "CORE2", "CORE1", "CORE1", "CORE3"],
                       "counterparty_rating": ["AAA", "BB", "AAA", "AAA", "A"],
                       "amount": [1e5, 5e4, 2e5, 3e4, 8e4],
                       "issue_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2023-12-01", "2024-08-01",
                                                     "2024-05-01"]),
                       "due_date": pd.to_datetime(["2024-04-10", "2024-06-01", "2024-03-01", "2024-11-01",
                                                   "2024-08-01"]),
                       "paid_date": pd.to_datetime(["2024-04-12", None, "2024-07-15", None, "2024-08-01"])})
    # loans: enterprise 0 has none; one loan per other enterprise (a renewal for enterprise 2), plus a loan
    # started after the snapshot for enterprise 3
    loans, lm = [], []
    lid = 0
    for k, e in enumerate(ids[1:], start=1):
        spans = [("2023-01-15", "2024-12-31")]
        if k == 2:
            spans = [("2023-01-15", "2023-12-31"), ("2024-01-05", "2024-12-31")]
        if k == 3:
            spans.append(("2024-08-20", "2024-12-31"))
        for j, (start, end) in enumerate(spans):
            lid += 1
            loan_id = f"L{lid:04d}"
            amount = float(rng.integers(5, 50) * 1e5)
            loans.append({"loan_id": loan_id, "enterprise_id": e, "lender": ["bank_a", "bank_b"][lid % 2],
                          "start_date": pd.Timestamp(start), "maturity_date": pd.Timestamp(end) + pd.Timedelta(days=1),
                          "amount": amount, "product": "working_capital",
                          "collateral_type": ["unsecured", "real_estate", "guarantee"][lid % 3],
                          "collateral_value": np.nan if lid % 3 != 1 else amount * 1.5,
                          "guarantor_type": "none", "guaranteed_share": 0.0 if lid % 3 != 2 else 0.5,
                          "guarantee_insurance": False, "renewed_without_repayment": k == 2 and j == 1,
                          "renewed_from_loan_id": f"L{lid - 1:04d}" if (k == 2 and j == 1) else None,
                          "risk_class_5": "正常"})
            months = MONTHS[(MONTHS >= pd.Timestamp(start)) & (MONTHS <= pd.Timestamp(end))]
            dpd = np.where(rng.random(len(months)) < 0.2, rng.integers(1, 60, len(months)), 0)
            if k == 5:
                dpd = np.where(months >= pd.Timestamp("2024-09-30"), 120, dpd)
            for i, m in enumerate(months):
                lm.append({"loan_id": loan_id, "enterprise_id": e, "month_end": m,
                           "balance": amount * (1 - i / (len(months) + 1)), "days_past_due": int(dpd[i]),
                           "risk_class_5": "次级" if dpd[i] > 90 else ("关注" if dpd[i] > 0 else "正常"),
                           "interest_arrears": bool(dpd[i] > 30)})
    loan_events = pd.DataFrame({"enterprise_id": [ids[2], ids[3]], "loan_id": ["L0002", "L0004"],
                                "event_date": pd.to_datetime(["2024-02-01", "2024-07-01"]),
                                "event_type": ["funds_misuse_detected", "restructuring"]})
    green = pd.DataFrame({"enterprise_id": [ids[2], ids[2], ids[6]], "year": [2022, 2023, 2023],
                          "published_date": pd.to_datetime(["2023-06-30", "2024-06-30", "2024-07-31"]),
                          "carbon_intensity": [0.5, 0.4, 1.2], "green_credit_label": [False, True, False],
                          "env_credit_grade": ["blue", "green", "red"]})
    rp = pd.DataFrame({"enterprise_id": [ids[2], ids[3], ids[3], ids[6]], "person_id": ["Q1", "Q2", "Q3", "Q4"],
                       "role": ["legal_representative", "actual_controller", "shareholder", "legal_representative"],
                       "dishonest_debtor": [True, False, True, True],
                       "dishonest_since": pd.to_datetime(["2023-03-01", None, "2024-09-01", None]),
                       "bad_credit_record": [False, True, False, False],
                       "bad_record_since": pd.to_datetime([None, "2022-01-01", None, None])})
    apps = pd.DataFrame({"application_id": ["AP1"], "enterprise_id": [ids[0]],
                         "application_date": pd.to_datetime(["2024-05-01"]), "requested_amount": [1e6],
                         "product": ["working_capital"], "term_months": [12], "collateral_type": ["unsecured"],
                         "collateral_value": [np.nan]})
    return {
        "enterprises": ent, "tax_monthly": tax, "tax_credit_annual": tca, "utilities_monthly": util,
        "social_insurance_monthly": si, "judicial_events": jud, "admin_events": adm, "ip_assets": ip,
        "supply_chain": sc, "loans": pd.DataFrame(loans), "loan_monthly": pd.DataFrame(lm),
        "green_annual": green, "related_persons": rp, "loan_events": loan_events, "loan_applications": apps,
    }


def raw_of(frames: dict[str, pd.DataFrame], validate: bool = False):
    return from_frames(frames, validate=validate)
