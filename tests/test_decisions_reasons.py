"""Reasons a Chinese credit officer reads: Chinese throughout, failing rules first, passes apart, one main reason."""

from __future__ import annotations

import re

import pandas as pd

import decisions_world as w
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import decide_renewals

POLICY = load_policy()
ENGLISH = re.compile(r"[A-Za-z]{2,}")


def _varied_world():
    """Loans and applications that exercise passes, conditions, referrals and failures."""
    fr = w.frames()
    fr["loans"].loc[0, ["collateral_type", "guarantor_type", "product"]] = ["guarantee", "individual", "owner_operating"]
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=45)
    fr["loans"].loc[1, "start_date"] = pd.Timestamp("2024-02-15")          # a 24-month original term
    fr["enterprises"].loc[1, "legal_form"] = "individual_business"
    fr["social_insurance_monthly"] = fr["social_insurance_monthly"][fr["social_insurance_monthly"]["enterprise_id"] != w.EID2]
    fr["related_persons"].loc[0, ["dishonest_debtor", "dishonest_since"]] = [True, pd.Timestamp("2025-01-01")]
    fr["judicial_events"] = pd.DataFrame({"enterprise_id": [w.EID2], "case_id": ["J9"],
                                          "event_date": pd.to_datetime(["2025-08-01"]), "event_type": ["enforcement"],
                                          "amount": [50_000.0]})
    apps = pd.concat([fr["loan_applications"], fr["loan_applications"].assign(
        application_id="A2", enterprise_id=w.EID2, collateral_type="unsecured", collateral_value=float("nan"),
        requested_amount=2_000_000.0)], ignore_index=True)
    return fr, apps


def _chinese_columns(df):
    return pd.concat([df["reasons_zh"], df["reasons_passed_zh"], df["main_reason"], df["decision_zh"]])


def test_chinese_reasons_contain_no_english_words():
    fr, apps = _varied_world()
    ren = decide_renewals(w.raw(fr), w.scores(0.05, "7"), POLICY, w.AS_OF)
    new = decide_loans(w.raw(fr), apps, w.scores(0.05, "7"), POLICY, w.AS_OF)
    assert set(ren["decision"]) == {"refer"} and len(ren) == 2
    for text in pd.concat([_chinese_columns(ren), _chinese_columns(new)]):
        stripped = re.sub(r"\b[RL]\d{2}\b", "", text)
        assert not ENGLISH.search(stripped), text


def test_failing_rules_come_first_then_model_and_passes_are_apart():
    fr = w.frames()
    fr["loan_events"] = pd.concat([fr["loan_events"], pd.DataFrame({
        "enterprise_id": [w.EID], "loan_id": ["L1"], "event_date": pd.to_datetime(["2025-12-30"]),
        "event_type": ["funds_misuse_detected"]})], ignore_index=True)
    row = decide_renewals(w.raw(fr), w.scores(0.05, "7"), POLICY, w.AS_OF).set_index("loan_id").loc["L1"]
    lines = row["reasons_zh"].split("\n")
    assert lines[0].startswith("【不通过】") and lines[1].startswith("【转人工审查】") and lines[-1].startswith("【模型】")
    assert "【通过】" not in row["reasons_zh"] and "【通过】" in row["reasons_passed_zh"]
    assert row["main_reason"] == "无挪用贷款资金：发现挪用贷款资金"
    assert row["reasons"].startswith("R09 fail:") and "R01 pass" in row["reasons_passed"]


def test_every_amount_in_the_limit_reason_says_what_it_is():
    row = decide_loans(w.raw(w.frames_debt_free()), w.frames()["loan_applications"].assign(requested_amount=900_000.0),
                       w.scores(), POLICY, w.AS_OF).iloc[0]
    # every ¥ amount is preceded by a Chinese label (not another amount or a bare parenthesis)
    for m in re.finditer(r"¥[\d,]+", row["reasons_zh"] + row["reasons_passed_zh"]):
        before = (row["reasons_zh"] + row["reasons_passed_zh"])[max(0, m.start() - 2):m.start()]
        assert re.search(r"[\u4e00-\u9fff]", before), before
    assert "收入口径额度¥480,000（年收入估计¥1,200,000×0.40倍=¥480,000，扣除现有各行负债¥0）" in row["reasons_passed_zh"]
    assert row["main_reason"].startswith("各项审查通过，批准金额¥480,000（申请金额¥900,000")
