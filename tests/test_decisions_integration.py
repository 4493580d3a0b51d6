"""End to end on the simulated city: a trained model, `smecredit decide loan|renewal` and `portfolio`."""

from __future__ import annotations

import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.decisions import audit
from smecredit.decisions.expected_loss import EL_PARTY_COLUMNS
from smecredit.decisions.policy import load_policy
from smecredit.decisions.renewal import DECISIONS, select_candidates
from smecredit.features import build_features
from smecredit.models import fit_credit_model
from smecredit.registry import input_example, save_model

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def city_model(sim_city, tmp_path_factory):
    raw = load_raw(sim_city)
    X = build_features(raw, ["2024-06-30"])
    X = X[X["observable"].astype(bool)].reset_index(drop=True)
    model = fit_credit_model(X.drop(columns=["bad"]), X["bad"].astype(int), kind="gbm", cv=2,
                             params={"max_rounds": 60, "cv_folds": 2, "learning_rate": 0.1, "linear_base": False})
    path = tmp_path_factory.mktemp("decide") / "model"
    save_model(model, path, example=input_example(model, X))
    return path


@pytest.mark.slow
def test_decide_commands_on_the_simulated_city(sim_city, city_model, tmp_path, capsys):
    store = tmp_path / "audit"
    ren = tmp_path / "renewals.parquet"
    rc = main(["decide", "renewal", "--model", str(city_model), "--raw", str(sim_city), "--as-of", AS_OF,
               "--out", str(ren), "--audit", str(store)])
    assert rc == 0, capsys.readouterr().err
    dec = pd.read_parquet(ren)
    cand = select_candidates(load_raw(sim_city), AS_OF, load_policy())
    assert len(dec) == len(cand) > 0
    assert set(dec["decision"]) <= set(DECISIONS) and dec["decision"].nunique() >= 3
    assert dec["pd"].notna().all() and dec["grade"].notna().all()
    assert (dec["model_name"] != "").all() and (dec["policy_sha256"] == load_policy().sha256).all()
    # renewals only on eligible rows; never on missing data
    ok = dec["decision"].isin(["renew_without_repayment", "renew_with_conditions"])
    statuses = dec[[c for c in dec.columns if c.endswith("_status")]]
    assert not (statuses[ok] == "fail").any().any()
    assert not dec.loc[ok, "reasons"].str.contains("missing data").any()
    assert (dec.loc[dec["reasons"].str.contains("missing data"), "decision"] != "renew_without_repayment").all()
    cents = (dec[EL_PARTY_COLUMNS].sum(axis=1) * 100).round()
    assert (cents == (dec["el"] * 100).round()).all()

    # loans maturing in the next 90 days (from today), and a horizon beyond the policy's refused (exit 2)
    ren90 = tmp_path / "next90.parquet"
    args = ["decide", "renewal", "--model", str(city_model), "--raw", str(sim_city), "--as-of", AS_OF]
    assert main([*args, "--within-days", "90", "--out", str(ren90)]) == 0, capsys.readouterr().err
    d90 = pd.read_parquet(ren90)
    assert len(d90) == len(select_candidates(load_raw(sim_city), AS_OF, load_policy(), window=(0, 90))) >= len(dec)
    assert main([*args, "--within-days", "400", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "max_window_days = 365" in capsys.readouterr().err and not (tmp_path / "x.parquet").exists()

    loans = tmp_path / "loans.parquet"
    rc = main(["decide", "loan", "--model", str(city_model), "--raw", str(sim_city), "--applications",
               str(sim_city / "loan_applications.parquet"), "--as-of", AS_OF, "--out", str(loans), "--audit", str(store)])
    assert rc == 0, capsys.readouterr().err
    ld = pd.read_parquet(loans)
    assert set(ld["decision"]) <= {"approve", "refer", "decline"} and (ld["decision"] == "approve").any()
    assert (ld.loc[ld["decision"] == "approve", "approved_amount"] <= ld.loc[ld["decision"] == "approve", "credit_limit"]).all()
    assert len(audit.audit_parts(store)) == 2 and len(audit.read_audit(store)) == len(dec) + len(ld)

    # same inputs → same decisions (except decided_at)
    again = tmp_path / "again.parquet"
    assert main(["decide", "renewal", "--model", str(city_model), "--raw", str(sim_city), "--as-of", AS_OF,
                 "--out", str(again)]) == 0
    assert audit.content_hash(pd.read_parquet(again)) == audit.content_hash(dec)

    pf = tmp_path / "pf.parquet"
    assert main(["portfolio", "--decisions", str(ren), "--policy", "config/default_policy.yaml", "--out", str(pf)]) == 0
    s = pd.read_parquet(pf)
    assert set(s["segment_type"]) == {"portfolio", "county", "industry", "size_class"}
