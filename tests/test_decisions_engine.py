"""Decision engines on hand-made enterprises: outcomes, missing data, point-in-time, audit, determinism."""

from __future__ import annotations

import pandas as pd
import pytest

import decisions_world as w
from smecredit.cli import main
from smecredit.decisions import audit
from smecredit.decisions.common import AUDIT_COLUMNS
from smecredit.decisions.expected_loss import EL_PARTY_COLUMNS
from smecredit.decisions.loan import decide_loans
from smecredit.decisions.policy import load_policy
from smecredit.decisions.portfolio import party_totals, portfolio_exposures, summarise
from smecredit.decisions.renewal import decide_renewals, select_candidates
from smecredit.exceptions import DataContractError
from smecredit.io import write_table

POLICY = load_policy()
T0 = pd.Timestamp("2026-01-01 08:00:00")


def renew(fr=None, scores=None, **kw) -> pd.DataFrame:
    return decide_renewals(w.raw(fr), w.scores() if scores is None else scores, POLICY, w.AS_OF,
                           model_name="gbm-test", model_version="3", decided_at=T0, **kw)


def one(fr=None, **kw) -> pd.Series:
    out = renew(fr, **kw)
    assert list(out["loan_id"]) == ["L1"]
    return out.iloc[0]


def test_clean_loan_is_renewed_without_repayment_with_every_audit_column():
    row = one()
    assert row["decision"] == "renew_without_repayment"
    assert list(renew().columns[: len(AUDIT_COLUMNS)]) == AUDIT_COLUMNS
    assert row["policy_sha256"] == POLICY.sha256 and row["model_name"] == "gbm-test" and row["model_version"] == "3"
    assert row["as_of"] == w.AS_OF and row["decided_at"] == T0
    assert row["renewal_amount"] == 1_000_000 and row["renewal_term_months"] == 12
    assert row["risk_class_after"] == "正常"
    # every rule is listed with its value and status, plus the model's reasons
    for i in range(1, 18):
        assert f"R{i:02d} " in row["reasons_passed"] and f"R{i:02d}_value" in row.index and f"R{i:02d}_status" in row.index
        assert f"（R{i:02d}）" in row["reasons_passed_zh"]
    assert "model: Electricity use down 5%" in row["reasons"]
    assert row["main_reason"] == "各项续贷条件均满足，可办理无还本续贷"
    assert "无还本续贷" == row["decision_zh"]


def test_only_loans_maturing_inside_the_window_are_selected():
    fr = w.frames()
    # L2 matures 2026-06-15 (166 days): outside 30-90; move it to day 29 and day 30
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=29)
    assert list(select_candidates(w.raw(fr), w.AS_OF, POLICY)["loan_id"]) == ["L1"]
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=30)
    assert list(select_candidates(w.raw(fr), w.AS_OF, POLICY)["loan_id"]) == ["L2", "L1"]   # by maturity
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=90)
    assert list(select_candidates(w.raw(fr), w.AS_OF, POLICY)["loan_id"]) == ["L1", "L2"]
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=91)
    assert list(select_candidates(w.raw(fr), w.AS_OF, POLICY)["loan_id"]) == ["L1"]


def test_loans_off_the_books_are_not_selected():
    """A loan repaid or written off (zero balance) or without a record any more is not a renewal candidate."""
    fr = w.frames()
    fr["loans"].loc[1, "maturity_date"] = w.AS_OF + pd.Timedelta(days=60)
    assert list(select_candidates(w.raw(fr), w.AS_OF, POLICY)["loan_id"]) == ["L1", "L2"]
    lm = fr["loan_monthly"]
    # L2 written off in October: a zero-balance last record, nothing after it
    wo = lm[(lm["loan_id"] != "L2") | (lm["month_end"] <= "2025-10-31")].copy()
    wo.loc[(wo["loan_id"] == "L2") & (wo["month_end"] == "2025-10-31"), "balance"] = 0.0
    assert list(select_candidates(w.raw({**fr, "loan_monthly": wo}), w.AS_OF, POLICY)["loan_id"]) == ["L1"]
    # L2's records stop in September with a positive balance (closed): no current balance to price
    gone = lm[(lm["loan_id"] != "L2") | (lm["month_end"] <= "2025-09-30")]
    assert list(select_candidates(w.raw({**fr, "loan_monthly": gone}), w.AS_OF, POLICY)["loan_id"]) == ["L1"]
    # one missing month (last record 2025-11-30, within the facts' data age) keeps it
    late = lm[(lm["loan_id"] != "L2") | (lm["month_end"] <= "2025-11-30")]
    assert list(select_candidates(w.raw({**fr, "loan_monthly": late}), w.AS_OF, POLICY)["loan_id"]) == ["L1", "L2"]


def test_missing_tax_data_is_referred_never_approved():
    fr = w.frames()
    fr["tax_monthly"] = fr["tax_monthly"][fr["tax_monthly"]["enterprise_id"] != w.EID]
    row = one(fr)
    assert row["decision"] == "refer"
    assert "R07 refer: missing data: tax_monthly.invoiced_sales" in row["reasons"]
    assert pd.isna(row["renewal_amount"])


def test_unscored_enterprise_is_referred_for_missing_score():
    row = one(scores=w.scores().iloc[[1]])
    assert row["decision"] == "refer" and "R11 refer: missing data: model score" in row["reasons"]


@pytest.mark.parametrize(("cls", "decision"), [("关注", "refer"), ("次级", "require_repayment")])
def test_original_loan_class_drives_the_decision(cls, decision):
    fr = w.frames()
    lm = fr["loan_monthly"]
    fr["loan_monthly"] = lm.assign(risk_class_5=lm["risk_class_5"].where(lm["month_end"] < "2025-12-31", cls))
    assert one(fr)["decision"] == decision


def test_sales_decline_gives_a_renewal_with_reduced_amount():
    fr = w.frames()
    tax = fr["tax_monthly"]
    fr["tax_monthly"] = tax.assign(invoiced_sales=tax["invoiced_sales"].where(tax["month_end"] <= "2024-12-31", 80_000.0))
    row = one(fr)
    assert row["decision"] == "renew_with_conditions"
    assert row["renewal_amount"] == 800_000 and "amount reduced to ¥800,000" in row["conditions"]


def test_records_after_as_of_are_ignored():
    fr = w.frames()
    late = pd.DataFrame({"enterprise_id": [w.EID], "loan_id": ["L1"], "event_date": pd.to_datetime(["2026-01-05"]),
                         "event_type": ["funds_misuse_detected"]})
    fr["loan_events"] = pd.concat([fr["loan_events"], late], ignore_index=True)
    fr["related_persons"].loc[0, ["dishonest_debtor", "dishonest_since"]] = [True, pd.Timestamp("2026-01-02")]
    assert one(fr)["decision"] == "renew_without_repayment"
    early = late.assign(event_date=pd.to_datetime(["2025-12-30"]))
    fr["loan_events"] = pd.concat([w.frames()["loan_events"], early], ignore_index=True)
    row = one(fr)
    assert row["decision"] == "require_repayment" and row["R09_status"] == "fail"


def test_same_inputs_give_the_same_decisions_except_decided_at():
    a = renew()
    b = decide_renewals(w.raw(), w.scores(), POLICY, w.AS_OF, model_name="gbm-test", model_version="3")
    assert audit.content_hash(a) == audit.content_hash(b)
    pd.testing.assert_frame_equal(a.drop(columns="decided_at"), b.drop(columns="decided_at"))


def test_engine_does_not_mutate_its_inputs():
    fr = w.frames()
    raw_ = w.raw(fr)
    sc = w.scores()
    before = {k: v.copy() for k, v in raw_.tables.items()}
    sc_before = sc.copy()
    decide_renewals(raw_, sc, POLICY, w.AS_OF)
    for k, v in before.items():
        pd.testing.assert_frame_equal(raw_[k], v)
    pd.testing.assert_frame_equal(sc, sc_before)


def test_bad_scores_are_rejected_naming_the_column_and_rows():
    bad = w.scores().assign(pd=[0.1, 1.7])
    with pytest.raises(DataContractError, match=r"'pd' must be in \[0, 1\]; offending spreadsheet row 3"):
        renew(scores=bad)
    with pytest.raises(DataContractError, match="duplicates at spreadsheet rows 4, 5"):
        renew(scores=pd.concat([w.scores(), w.scores()], ignore_index=True))
    with pytest.raises(DataContractError, match=r"lacks column\(s\) \['grade'\]"):
        renew(scores=w.scores().drop(columns="grade"))


def test_renewal_expected_loss_splits_sum_exactly_to_el():
    fr = w.frames()
    fr["loans"].loc[0, ["guarantor_type", "collateral_type"]] = ["policy_guarantor", "guarantee"]
    row = one(fr)
    assert row["scheme"] == "national_2019" and row["lgd"] == POLICY.expected_loss.lgd["guarantee"]
    # EL = 1% × 45% × 1,000,000 = 4,500, split 20/40/20/20
    assert row["el"] == 4500.0 and row["el_originating_guarantor"] == 1800.0 and row["el_bank"] == 900.0
    assert round(sum(row[c] for c in EL_PARTY_COLUMNS) * 100) == round(row["el"] * 100)


# --- new loans -------------------------------------------------------------------------------------------


def loans(fr=None, scores=None, apps=None):
    fr = w.frames_debt_free() if fr is None else fr
    return decide_loans(w.raw(fr), fr["loan_applications"] if apps is None else apps,
                        w.scores() if scores is None else scores, POLICY, w.AS_OF, decided_at=T0)


def test_clean_application_is_approved_with_limit_and_price_tier():
    row = loans().iloc[0]
    # revenue 1,200,000 × 0.40 (grade 3) = 480,000 < collateral 2,000,000 × 70%: limit 480,000
    assert row["decision"] == "approve" and row["credit_limit"] == 480_000
    assert row["approved_amount"] == 300_000 and row["price_tier"] == "B" and row["spread_bp"] == 80
    assert list(loans().columns[: len(AUDIT_COLUMNS)]) == AUDIT_COLUMNS and row["application_id"] == "A1"


def test_request_above_limit_is_approved_at_the_limit_with_a_reason():
    fr = w.frames_debt_free()
    fr["loan_applications"].loc[0, "requested_amount"] = 900_000.0
    row = loans(fr).iloc[0]
    assert row["decision"] == "approve" and row["approved_amount"] == 480_000
    assert "approved ¥480,000 of ¥900,000 requested" in row["reasons"]


def test_dishonest_debtor_application_is_declined():
    fr = w.frames_debt_free()
    jud = pd.DataFrame({"enterprise_id": [w.EID], "case_id": ["J1"], "event_date": pd.to_datetime(["2025-06-01"]),
                        "event_type": ["dishonest_debtor_listed"], "amount": [None]})
    fr["judicial_events"] = jud
    row = loans(fr).iloc[0]
    assert row["decision"] == "decline" and "dishonest judgment debtor" in row["reasons"]


def test_application_without_tax_history_is_referred_for_missing_data():
    fr = w.frames_debt_free()
    fr["tax_monthly"] = fr["tax_monthly"][fr["tax_monthly"]["enterprise_id"] != w.EID]
    row = loans(fr).iloc[0]
    assert row["decision"] == "refer" and "L07 refer: missing data: tax_monthly.invoiced_sales" in row["reasons"]


@pytest.mark.parametrize(("pd_", "grade", "decision"), [(0.03, "6", "approve"), (0.05, "7", "refer"), (0.2, "9", "decline")])
def test_pd_and_grade_bands_of_new_loans(pd_, grade, decision):
    assert loans(scores=w.scores(pd_, grade)).iloc[0]["decision"] == decision


def test_bad_applications_are_rejected_naming_column_and_rows():
    apps = w.frames()["loan_applications"].assign(product=["yacht"])
    with pytest.raises(DataContractError, match=r"column 'product' must be one of .* \(spreadsheet row 2\)"):
        loans(apps=apps)
    with pytest.raises(DataContractError, match=r"lack column\(s\) \['term_months'\]"):
        loans(apps=w.frames()["loan_applications"].drop(columns="term_months"))
    with pytest.raises(DataContractError, match=r"applications dated after as_of 2025-12-31 at spreadsheet row 2"):
        loans(apps=w.frames()["loan_applications"].assign(application_date=pd.Timestamp("2026-01-02")))


# --- audit store and portfolio ----------------------------------------------------------------------------


def test_audit_store_is_append_only(tmp_path):
    store = tmp_path / "audit"
    first = audit.append_decisions(renew(), store)
    content = first.read_bytes()
    second = audit.append_decisions(loans(), store)
    assert first != second and first.read_bytes() == content
    assert [p.name for p in audit.audit_parts(store)] == sorted([first.name, second.name])
    log = audit.read_audit(store)
    assert len(log) == 2 and set(log["decision"]) == {"renew_without_repayment", "approve"}
    assert audit.verify_audit(store) == []


def test_audit_verification_detects_an_edited_part(tmp_path):
    store = tmp_path / "audit"
    part = audit.append_decisions(renew(), store)
    edited = pd.read_parquet(part).assign(decision="refer")
    edited.to_parquet(part, index=False)
    problems = audit.verify_audit(store)
    assert problems and all(p.startswith(part.name) for p in problems)


def test_audit_refuses_rows_without_audit_columns(tmp_path):
    with pytest.raises(DataContractError, match=r"lack audit column\(s\) \['policy_sha256'\]"):
        audit.append_decisions(renew().drop(columns="policy_sha256"), tmp_path / "a")
    with pytest.raises(DataContractError, match="has no decisions"):
        audit.read_audit(tmp_path / "empty")


def test_portfolio_segments_add_up_exactly_to_the_total():
    dec = pd.concat([renew(), loans()], ignore_index=True)
    exp = portfolio_exposures(dec, POLICY)
    s = summarise(exp)
    total = s[s["segment_type"] == "portfolio"].iloc[0]
    assert total["exposures"] == 2
    for seg in ("county", "industry", "size_class"):
        part = s[s["segment_type"] == seg]
        assert round(part["el"].sum() * 100) == round(total["el"] * 100)
    for _, r in s.iterrows():
        assert round(sum(r[c] for c in EL_PARTY_COLUMNS) * 100) == round(r["el"] * 100)
    parties = party_totals(exp)
    assert abs(parties["share"].sum() - 1) < 1e-12


def test_portfolio_cli_writes_the_summary(tmp_path, capsys):
    ren, new = tmp_path / "renewals.parquet", tmp_path / "loans.csv"
    fr = w.frames()
    fr["loans"].loc[0, ["guarantor_type", "collateral_type"]] = ["policy_guarantor", "guarantee"]
    write_table(renew(fr), ren)
    write_table(loans(), new)
    out = tmp_path / "pf.csv"
    rc = main(["portfolio", "--decisions", str(ren), "--decisions", str(new), "--policy", "config/default_policy.yaml",
               "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    s = pd.read_csv(out)
    assert s.loc[0, "segment_type"] == "portfolio" and s.loc[0, "exposures"] == 2
    printed = capsys.readouterr().out
    assert "Expected loss by party" in printed and "national_2019" in printed and "各方案预期代偿率" in printed


def test_decide_cli_exit_codes_for_missing_model_and_bad_raw(tmp_path, capsys):
    base = ["decide", "renewal", "--as-of", "2025-12-31", "--out", str(tmp_path / "o.parquet")]
    assert main(base + ["--model", str(tmp_path / "m"), "--raw", str(tmp_path / "nope")]) == 3
    assert "raw folder not found" in capsys.readouterr().err
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name, df in w.frames().items():
        write_table(df, raw_dir / f"{name}.parquet")
    assert main(base + ["--model", str(tmp_path / "m"), "--raw", str(raw_dir)]) == 4
    assert "no MLflow model directory" in capsys.readouterr().err
    assert main(["decide", "loan", "--model", str(tmp_path / "m"), "--raw", str(raw_dir), "--applications",
                 str(tmp_path / "apps.csv"), "--as-of", "2025-12-31", "--out", str(tmp_path / "o.parquet")]) == 3
    assert "file not found" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_no_loan_in_the_window_gives_an_empty_table_with_every_column():
    out = decide_renewals(w.raw(), w.scores(), POLICY, "2024-06-30")
    assert out.empty and list(out.columns[: len(AUDIT_COLUMNS)]) == AUDIT_COLUMNS and "R17_status" in out.columns
    none = decide_loans(w.raw(), w.frames()["loan_applications"].iloc[:0], w.scores(), POLICY, w.AS_OF)
    full = decide_loans(w.raw(), w.frames()["loan_applications"], w.scores(), POLICY, w.AS_OF)
    assert none.empty and list(none.columns) == list(full.columns)  # a 0-row output keeps every column


def test_bad_decision_date_is_a_data_contract_error():
    with pytest.raises(DataContractError, match="as_of must be a date like 2025-12-31, got 'soon'"):
        decide_renewals(w.raw(), w.scores(), POLICY, "soon")


def test_a_bank_policy_rule_marked_soft_refers_instead_of_failing():
    from smecredit.decisions.policy import policy_from_dict

    fr = w.frames()
    fr["loan_monthly"].loc[fr["loan_monthly"]["loan_id"] == "L1", "balance"] = 1_100_000.0   # above the original
    assert one(fr)["R13_status"] == "fail" and one(fr)["decision"] == "require_repayment"
    d = POLICY.model_dump(mode="json")
    d["rules"]["R13"]["severity"] = "soft"                 # R13 is bank policy: the bank may soften it
    soft = policy_from_dict(d)
    row = decide_renewals(w.raw(fr), w.scores(), soft, w.AS_OF).iloc[0]
    assert row["decision"] == "refer" and row["R13_status"] == "refer"
    assert "soft rule in this policy" in row["reasons"]


def test_refused_renewal_carries_no_post_renewal_class_or_review_date_and_chinese_reasons_are_chinese():
    fr = w.frames()
    misuse = pd.DataFrame({"enterprise_id": [w.EID], "loan_id": ["L1"], "event_date": pd.to_datetime(["2025-12-30"]),
                           "event_type": ["funds_misuse_detected"]})
    fr["loan_events"] = pd.concat([fr["loan_events"], misuse], ignore_index=True)
    row = one(fr)
    assert row["decision"] == "require_repayment"
    assert row["risk_class_after"] is None and pd.isna(row["next_review_date"])
    assert row["reasons_zh"].startswith("【不通过】无挪用贷款资金（R09）：发现挪用贷款资金")
    assert row["main_reason"] == "无挪用贷款资金：发现挪用贷款资金"
    assert not any(f" {word}：" in row["reasons_zh"] for word in ("pass", "fail", "refer", "condition", "info"))
    renewed = one()
    assert renewed["risk_class_after"] == "正常" and pd.notna(renewed["next_review_date"])
