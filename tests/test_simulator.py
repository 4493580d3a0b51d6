"""The city simulator: determinism, data-model conformance and realism properties."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from smecredit.cli import main
from smecredit.data import load_raw, validate_raw
from smecredit.data import reference as ref
from smecredit.simulation import SimConfig, health_grid, simulate
from smecredit.data.uscc import valid_mask
from smecredit.exceptions import ConfigError


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """A city large enough for stable realism statistics (20,000 enterprises, 36 months), every mechanism on."""
    return simulate(out=tmp_path_factory.mktemp("realism") / "raw",
                    config=SimConfig(n_enterprises=20_000, months=36, seed=2024))


@pytest.fixture(scope="module")
def tables(city):
    raw = load_raw(city)
    truth = {n: pd.read_parquet(city / "_truth" / f"{n}.parquet") for n in ("pd_true", "defaults", "lgd")}
    return raw, truth


def _snapshot_population(raw, snap):
    lm = raw["loan_monthly"]
    cur = lm[lm["month_end"] == snap].groupby("enterprise_id")["days_past_due"].max()
    return cur[cur <= 90].index


def _realised(truth, ids, snap, horizon=12):
    dm = truth["defaults"].set_index("enterprise_id")["default_month"]
    end = snap + pd.offsets.MonthEnd(horizon)
    d = dm.reindex(ids)
    return ((d > snap) & (d <= end)).to_numpy().astype(int)


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    a = _digests(simulate(600, 24, 5, tmp_path / "a"))
    b = _digests(simulate(600, 24, 5, tmp_path / "b"))
    c = _digests(simulate(600, 24, 6, tmp_path / "c"))
    assert a == b
    assert a["tax_monthly.parquet"] != c["tax_monthly.parquet"]


def test_output_conforms_to_the_data_model_with_valid_unique_codes(sim_city):
    report = validate_raw(sim_city)
    assert report.ok, report.summary()
    ent = pd.read_parquet(sim_city / "enterprises.parquet")
    assert valid_mask(ent["enterprise_id"]).all()
    assert ent["enterprise_id"].is_unique
    assert set(ent["county"]) == set(ref.COUNTIES)


def test_markov_chain_is_a_proper_stationary_unit_variance_ar1():
    z, P = health_grid(41, 0.93)
    assert np.allclose(P.sum(axis=1), 1.0)
    pi = np.linalg.matrix_power(P, 500)[0]
    assert abs(pi @ z) < 1e-9
    assert 0.9 < pi @ z**2 < 1.1
    lag1 = (pi[:, None] * P * np.outer(z, z)).sum() / (pi @ z**2)
    assert lag1 == pytest.approx(0.93, abs=0.02)


def test_annual_default_rate_among_borrowers_is_between_1_and_5_percent_and_varies_by_segment(tables):
    raw, truth = tables
    ent = raw["enterprises"].set_index("enterprise_id")
    months = sorted(truth["pd_true"]["month_end"].unique())
    snap = pd.Timestamp(months[11])
    ids = _snapshot_population(raw, snap)
    y = _realised(truth, ids, snap)
    assert 0.01 <= y.mean() <= 0.05
    seg = ent.loc[ids]
    pdt = truth["pd_true"]
    pd_snap = pdt[pdt["month_end"] == snap].set_index("enterprise_id")["pd_12m"].reindex(ids)
    for col in ("industry", "size_class", "mountain_county"):
        by = pd.DataFrame({"pd": pd_snap.to_numpy(), "y": y}, index=ids).groupby(seg[col]).agg(
            pd=("pd", "mean"), y=("y", "mean"), n=("y", "size"))
        by = by[by["n"] >= 300]
        assert by["pd"].max() > 1.1 * by["pd"].min(), (col, by)
        assert by["y"].max() > by["y"].min(), (col, by)


def test_oracle_auc_in_range_and_registry_fields_alone_are_clearly_worse(tables):
    raw, truth = tables
    ent = raw["enterprises"].set_index("enterprise_id")
    pdt = truth["pd_true"]
    months = sorted(pdt["month_end"].unique())
    for snap in (pd.Timestamp(months[17]), pd.Timestamp(months[23])):
        ids = _snapshot_population(raw, snap)
        pop = pdt[pdt["month_end"] == snap].set_index("enterprise_id").reindex(ids)
        assert pop["pd_12m"].notna().all()
        y = _realised(truth, ids, snap)
        oracle = roc_auc_score(y, pop["pd_12m"])
        assert 0.78 <= oracle <= 0.90, (snap, oracle)
        e = ent.loc[ids]
        X = pd.concat([
            pd.DataFrame({"age": (snap - e["registration_date"]).dt.days / 365.25,
                          "log_capital": np.log(e["registered_capital"]), "log_emp": np.log1p(e["employees"])}),
            pd.get_dummies(e[["county", "industry", "legal_form", "size_class"]]).astype(float),
            e[["mountain_county", "tech_sme", "green", "urban"]].astype(float),
        ], axis=1)
        Xs = (X - X.mean()) / X.std().replace(0, 1)
        p = cross_val_predict(LogisticRegression(max_iter=2000), Xs, y, cv=5, method="predict_proba")[:, 1]
        registry = roc_auc_score(y, p)
        assert registry <= oracle - 0.08, (snap, oracle, registry)


def test_ground_truth_pd_matches_realised_default_frequency(tables):
    """pd_12m is exact under the simulator's model: predicted and realised rates agree by PD band."""
    raw, truth = tables
    pdt = truth["pd_true"]
    months = sorted(pdt["month_end"].unique())
    rows = []
    for m in months[6:24:3]:
        snap = pd.Timestamp(m)
        ids = _snapshot_population(raw, snap)
        pop = pdt[pdt["month_end"] == snap].set_index("enterprise_id").reindex(ids)
        rows.append(pd.DataFrame({"pd": pop["pd_12m"].to_numpy(), "y": _realised(truth, ids, snap)}))
    df = pd.concat(rows)
    assert df["y"].mean() == pytest.approx(df["pd"].mean(), rel=0.12)
    df["band"] = pd.qcut(df["pd"], 5, labels=False, duplicates="drop")
    by = df.groupby("band").agg(pd=("pd", "mean"), y=("y", "mean"), n=("y", "size"))
    se = np.sqrt(by["pd"] * (1 - by["pd"]) / by["n"])
    assert (np.abs(by["y"] - by["pd"]) < 4 * se + 0.002).all(), by


def test_default_is_first_month_over_90_days_past_due_and_class_follows_dpd(tables):
    raw, truth = tables
    lm = raw["loan_monthly"]
    assert (lm["risk_class_5"].to_numpy() == ref.classify_risk_5(lm["days_past_due"].to_numpy())).all()
    first90 = lm[lm["days_past_due"] > 90].groupby("enterprise_id")["month_end"].min()
    d = truth["defaults"].set_index("enterprise_id")["default_month"]
    assert set(first90.index) == set(d.index)
    assert (first90.sort_index() == d.sort_index()).all()
    # no enterprise cures after default: dpd keeps growing
    after = lm.merge(d.rename("dm"), left_on="enterprise_id", right_index=True)
    assert (after.loc[after["month_end"] >= after["dm"], "days_past_due"] > 90).all()


def test_loans_renew_without_repayment_and_link_to_the_renewed_loan(tables):
    raw, _ = tables
    loans = raw["loans"]
    rwr = loans[loans["renewed_without_repayment"]]
    assert 0.05 < len(rwr) / len(loans) < 0.6
    assert rwr["renewed_from_loan_id"].isin(loans["loan_id"]).all()
    prev = loans.set_index("loan_id").loc[rwr["renewed_from_loan_id"]]
    assert (rwr["amount"].to_numpy() <= prev["amount"].to_numpy() + 1e-6).all()
    assert (rwr["product"] != "fixed_asset").all()
    ev = raw["loan_events"]
    apps = ev[ev["event_type"] == "renewal_application"].merge(loans[["loan_id", "maturity_date"]], on="loan_id")
    assert (apps["event_date"] < apps["maturity_date"]).all()
    assert (loans["maturity_date"] > loans["start_date"]).all()


def test_spring_festival_dip_in_electricity_and_sales(tables):
    raw, _ = tables
    util = raw["utilities_monthly"]
    by_month = util.groupby("month_end")["electricity_kwh"].median()
    feb24 = by_month[pd.Timestamp("2024-02-29")]  # Spring Festival 2024-02-10
    neighbours = by_month[[pd.Timestamp("2023-11-30"), pd.Timestamp("2024-04-30")]].mean()
    assert feb24 < 0.85 * neighbours
    tax = raw["tax_monthly"]
    sales = tax[tax["invoiced_sales"] > 0].groupby("month_end")["invoiced_sales"].median()
    assert sales[pd.Timestamp("2025-01-31")] < 0.85 * sales[[pd.Timestamp("2024-10-31"), pd.Timestamp("2025-04-30")]].mean()


def test_coverage_is_thinner_for_individual_businesses_and_mountain_counties(tables):
    raw, _ = tables
    ent = raw["enterprises"].set_index("enterprise_id")
    for table in ("tax_monthly", "social_insurance_monthly"):
        covered = ent.index.isin(raw[table]["enterprise_id"].unique())
        cov = pd.Series(covered, index=ent.index)
        by_form = cov.groupby(ent["legal_form"]).mean()
        assert by_form["individual_business"] < by_form["company"] - 0.3, (table, by_form)
        by_mtn = cov.groupby(ent["mountain_county"]).mean()
        assert by_mtn[True] < by_mtn[False] - 0.03, (table, by_mtn)


def test_events_become_more_likely_as_health_deteriorates(tables):
    """Lawsuits, penalties and abnormal-operation listings are more frequent where the true PD is high."""
    raw, truth = tables
    pdt = truth["pd_true"].copy()
    pdt["band"] = pd.qcut(pdt["pd_12m"], 5, labels=False, duplicates="drop")
    for table, etype in (("judicial_events", "lawsuit_defendant"), ("admin_events", "abnormal_operation_in"),
                         ("judicial_events", "enforcement")):
        ev = raw[table]
        ev = ev[ev["event_type"] == etype].assign(month_end=lambda e: e["event_date"] + pd.offsets.MonthEnd(0))
        counts = ev.groupby(["enterprise_id", "month_end"]).size().rename("k")
        j = pdt.join(counts, on=["enterprise_id", "month_end"])
        rate = j["k"].fillna(0).groupby(j["band"]).mean()
        assert rate.iloc[-1] > 2 * rate.iloc[0], (etype, rate.to_dict())


def test_simulate_cli_writes_folder_and_rejects_bad_parameters(tmp_path, capsys):
    out = tmp_path / "city"
    assert main(["simulate", "--enterprises", "300", "--months", "18", "--seed", "3", "--out", str(out)]) == 0
    assert (out / "_truth" / "pd_true.parquet").exists()
    bad = tmp_path / "bad"
    assert main(["simulate", "--enterprises", "300", "--months", "5", "--out", str(bad)]) == 2
    assert "months: must be between 13 and 240" in capsys.readouterr().err
    assert not bad.exists()
    assert main(["simulate", "--enterprises", "300", "--end", "2025-12-15", "--out", str(bad)]) == 2
    assert not bad.exists() and not list(tmp_path.glob(".bad*"))


def test_underwriting_selects_on_risk_and_keeps_rejected_applications(tables):
    """Rejected applicants are riskier than approved ones; rejected applications are kept, without a loan."""
    raw, truth = tables
    apps = raw["application_history"]
    assert set(apps["decision"]) == {"approved", "rejected"}
    # the realistic city's cut-off is a quantile of the bank's score: about 75 % approved (real world 70–90 %)
    assert 0.70 < (apps["decision"] == "approved").mean() < 0.85
    assert apps.loc[apps["decision"] == "rejected", "loan_id"].isna().all()
    approved = apps[apps["decision"] == "approved"]
    assert approved["loan_id"].isin(raw["loans"]["loan_id"]).all()
    assert not apps.loc[apps["decision"] == "rejected", "enterprise_id"].isin(raw["loans"]["enterprise_id"]).any()
    pdt = truth["pd_true"]
    at = apps.assign(month_end=apps["application_date"] + pd.offsets.MonthEnd(0)).merge(
        pdt, on=["enterprise_id", "month_end"], how="inner")
    by = at.groupby("decision")["pd_12m"].mean()
    assert by["rejected"] > 3 * by["approved"], by


def test_approval_rate_holds_when_the_population_gets_riskier(tmp_path):
    """The realistic city's cut-off is a quantile of the bank's score: the approval rate stays near its target
    when the population's static risk rises, whereas a fixed cut-off approves fewer; invalid rates refused."""
    def approved(**fields):
        city = simulate(out=tmp_path / str(len(list(tmp_path.iterdir()))),
                        config=SimConfig(n_enterprises=4_000, months=24, seed=9, **fields))
        return (pd.read_parquet(city / "application_history.parquet")["decision"] == "approved").mean()

    quantile = [approved(micro_risk=r) for r in (0.45, 1.2)]
    fixed = [approved(micro_risk=r, approval_rate=None) for r in (0.45, 1.2)]
    # (seed 9: 76 % and 74 %, the riskier city having a few more applicants in arrears, who are declined;
    # a fixed cut-off: 62 % and 35 %)
    assert all(0.70 < a < 0.80 for a in quantile) and abs(quantile[0] - quantile[1]) < 0.05, quantile
    assert fixed[1] < fixed[0] - 0.15, fixed
    with pytest.raises(ConfigError, match="approval_rate"):
        SimConfig(approval_rate=1.0)


def test_security_carries_risk_information_and_loss_depends_on_it(tables):
    """Guarantees go to weaker borrowers, unsecured credit to strong ones; real estate loses least."""
    raw, truth = tables
    loans = raw["loans"]
    first = loans.sort_values(["start_date", "loan_id"]).groupby("enterprise_id").first()
    first["bad"] = first.index.isin(truth["defaults"]["enterprise_id"])
    rate = first.groupby("collateral_type")["bad"].mean()
    assert rate["guarantee"] > 1.2 * rate["unsecured"], rate
    assert rate["real_estate"] < rate["guarantee"], rate
    # older, larger firms pledge real estate more often
    ent = raw["enterprises"].set_index("enterprise_id").loc[first.index]
    re_share = (first["collateral_type"] == "real_estate").groupby(ent["size_class"] != "micro").mean()
    assert re_share[True] > re_share[False] + 0.1, re_share
    # renewals keep the lender and the security of the loan they renew
    rwr = loans[loans["renewed_without_repayment"]]
    prev = loans.set_index("loan_id").loc[rwr["renewed_from_loan_id"]]
    for col in ("lender", "collateral_type", "guarantor_type"):
        assert (rwr[col].to_numpy() == prev[col].to_numpy()).all(), col
    lgd = truth["lgd"]
    assert set(lgd["loan_id"]) <= set(loans["loan_id"])
    by = lgd.groupby("collateral_type")["lgd"].mean()
    assert by["real_estate"] < by["unsecured"] - 0.3, by
    assert ((lgd["lgd"] >= 0) & (lgd["lgd"] <= 1)).all()
    assert (lgd["recovery_month"] > lgd["default_month"]).all()


def test_delinquency_rolls_stochastically_with_cures_forbearance_and_write_off(tables):
    """30 → 60 → 90 roll rates below one with cures; NPL ratio 0.5–2 %; a delinquent stock at the start."""
    raw, truth = tables
    lm = raw["loan_monthly"].sort_values(["loan_id", "month_end"])
    bucket = np.select([lm["days_past_due"] > 90, lm["days_past_due"] > 60, lm["days_past_due"] > 30],
                       [4, 3, 2], np.where(lm["days_past_due"] > 0, 1, 0))
    lm = lm.assign(b=bucket, nb=pd.Series(bucket, index=lm.index).groupby(lm["loan_id"]).shift(-1))
    lm = lm[lm["nb"].notna()]
    roll = {k: (lm.loc[lm["b"] == k, "nb"] > k).mean() for k in (2, 3)}
    cure = {k: (lm.loc[lm["b"] == k, "nb"] == 0).mean() for k in (2, 3)}
    for k in (2, 3):
        assert 0.2 < roll[k] < 0.95, roll
        assert cure[k] > 0.05, cure
    # cured enterprises were more than 30 days past due and never defaulted
    cured = set(lm.loc[(lm["b"] >= 2) & (lm["nb"] == 0), "enterprise_id"])
    assert len(cured - set(truth["defaults"]["enterprise_id"])) > 50
    full = raw["loan_monthly"]
    npl = full.assign(np_=full["balance"] * (full["days_past_due"] > 90)).groupby("month_end")[["np_", "balance"]].sum()
    ratio = (npl["np_"] / npl["balance"]).iloc[12:]
    assert ratio.between(0.004, 0.02).all() and 0.005 <= ratio.mean() <= 0.015, ratio.describe()
    first_month = full[full["month_end"] == full["month_end"].min()]
    # (without the burn-in there would be none; evergreening hides part of it)
    assert (first_month["days_past_due"] > 30).mean() > 0.001
    d = truth["defaults"]
    assert (d["default_month"] <= d["default_month"].min() + pd.offsets.MonthEnd(2)).sum() > 5  # defaults from the start
    ev = raw["loan_events"]
    assert (ev["event_type"] == "write_off").sum() > 100
    wo = ev[ev["event_type"] == "write_off"]
    last = wo.merge(full, left_on=["loan_id", "event_date"], right_on=["loan_id", "month_end"])
    assert len(last) == len(wo) and (last["balance"] == 0).all() and (last["days_past_due"] > 90).all()
    assert not full.merge(wo, on="loan_id").query("month_end > event_date").shape[0]  # nothing after write-off
    fb = ev[ev["event_type"] == "forbearance"]
    assert len(fb) > 10 and fb["event_date"].max() < pd.Timestamp("2024-06-30")  # only during the early shock


def test_term_structure_of_exact_pds(tables, city):
    """pd_term holds exact PDs for 1–36 months, increasing in the horizon; pd_12m is the same as pd_true's."""
    raw, truth = tables
    term = pd.read_parquet(city / "_truth" / "pd_term.parquet")
    assert [c for c in term.columns if c.startswith("pd_")] == ["pd_1m", "pd_3m", "pd_6m", "pd_12m", "pd_24m", "pd_36m"]
    assert np.array_equal(term["pd_12m"].to_numpy(), truth["pd_true"]["pd_12m"].to_numpy())
    p = term[["pd_1m", "pd_3m", "pd_6m", "pd_12m", "pd_24m", "pd_36m"]].to_numpy()
    assert (np.diff(p, axis=1) >= -1e-12).all()
    months = sorted(term["month_end"].unique())
    rows = []
    for m in months[3:30:2]:
        snap = pd.Timestamp(m)
        ids = _snapshot_population(raw, snap)
        pop = term[term["month_end"] == snap].set_index("enterprise_id").reindex(ids)
        rows.append(pd.DataFrame({"pd": pop["pd_3m"].to_numpy(), "y": _realised(truth, ids, snap, horizon=3)}))
    df = pd.concat(rows)
    se = np.sqrt((df["pd"] * (1 - df["pd"])).sum()) / len(df)
    assert abs(df["y"].mean() - df["pd"].mean()) < 4 * se, (df["y"].mean(), df["pd"].mean())


def test_forward_and_backward_exact_pds_agree():
    """The forward computation used for guarantee-cluster members equals the backward tables without contagion."""
    from smecredit.simulation import forward_default, pd_tables, theta_grid

    cfg = SimConfig()
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    rng = np.random.default_rng(1)
    T, H = 4, 36
    s_path = rng.normal(0, 0.3, (2, T + H))
    forb = np.where(rng.random(T + H) < 0.3, 0.5, 0.0)
    tabs = pd_tables(cfg, z, P, thetas, s_path, forb, T)
    m = 50
    g, a, x0, d0 = rng.integers(0, 2, m), rng.integers(5, 25, m), rng.integers(0, 41, m), rng.integers(0, 4, m)
    ft = rng.integers(0, 4, m)
    t = 2
    fw = forward_default(cfg, z, P, thetas[a], s_path[g, t + 1:t + 1 + H], forb[t + 1:t + 1 + H], x0, d0, H, ftype=ft)
    for h, tab in tabs.items():
        np.testing.assert_allclose(fw[:, h - 1], tab[t, g, a, ft, x0, d0], rtol=1e-9, atol=1e-12)
    ft = np.zeros(m, dtype=np.int64)
    fw = forward_default(cfg, z, P, thetas[a], s_path[g, t + 1:t + 1 + H], forb[t + 1:t + 1 + H], x0, d0, H)
    # a partner defaulting with certainty in the first month is the same as the jumped hazard throughout
    jumped = forward_default(cfg, z, P, thetas[a], s_path[g, t + 1:t + 1 + H], forb[t + 1:t + 1 + H], x0, d0, H,
                             theta_jump=thetas[a] + 1.5, q=np.ones((m, H)))
    direct = forward_default(cfg, z, P, thetas[a] + 1.5, s_path[g, t + 1:t + 1 + H], forb[t + 1:t + 1 + H], x0, d0, H)
    assert (jumped >= fw - 1e-12).all()
    assert (direct[:, -1] > jumped[:, -1] - 1e-12).all() and (jumped[:, -1] > fw[:, -1]).all()


def test_forward_and_backward_agree_with_evergreening_and_an_exposed_downturn():
    """The fifth (evergreened) state and an exposed downturn's roll-rate shift keep both computations exact."""
    from smecredit.simulation import forward_default, pd_tables, theta_grid

    cfg = SimConfig()
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    rng = np.random.default_rng(2)
    T, H = 4, 36
    s_path = rng.normal(0, 0.3, (3, T + H))
    forb = np.where(rng.random(T + H) < 0.3, 0.5, 0.0)
    shift = np.zeros((3, T + H))
    shift[2, 5:] = 2.0  # row 2: exposed to a downturn from month 5
    tabs = pd_tables(cfg, z, P, thetas, s_path, forb, T, roll_shift=shift)
    m = 60
    g, a, x0, d0 = rng.integers(0, 3, m), rng.integers(5, 25, m), rng.integers(0, 41, m), rng.integers(0, 5, m)
    ft = rng.integers(0, 4, m)
    t = 2
    fw = forward_default(cfg, z, P, thetas[a], s_path[g, t + 1:t + 1 + H], forb[t + 1:t + 1 + H], x0, d0, H, ftype=ft,
                         roll_shift=shift[g, t + 1:t + 1 + H])
    for h, tab in tabs.items():
        np.testing.assert_allclose(fw[:, h - 1], tab[t, g, a, ft, x0, d0], rtol=1e-9, atol=1e-12)
    plain = pd_tables(cfg, z, P, thetas, s_path, forb, T)
    assert (tabs[12][t, 2] > plain[12][t, 2] + 1e-6).mean() > 0.5  # the shift raises the exposed row's PDs
    np.testing.assert_array_equal(tabs[12][t, :2], plain[12][t, :2])
    # evergreened (bucket 4) enterprises mostly carry more risk than current ones, less than 61–90 dpd
    tab = plain[12][t]
    assert (tab[..., 4] > tab[..., 0]).mean() > 0.8 and (tab[..., 4] < tab[..., 3]).mean() > 0.8


def test_mutual_guarantee_clusters_shared_controllers_and_contagion(tables, city):
    """Guarantee clusters of 3–10 firms; groups share an actual controller (contagion: the two tests below)."""
    raw, truth = tables
    loans = pd.read_parquet(city / "loans.parquet")  # guarantor_enterprise_id: an optional column of the data model
    ent = raw["enterprises"]
    g = loans.dropna(subset=["guarantor_enterprise_id"])
    assert g["guarantor_enterprise_id"].isin(ent["enterprise_id"]).all() and valid_mask(g["guarantor_enterprise_id"]).all()
    assert (g["guarantor_enterprise_id"] != g["enterprise_id"]).all()
    assert (g["guarantor_type"] == "related_enterprise").all() and (g["collateral_type"] == "guarantee").all()
    edges = g.groupby("enterprise_id")["guarantor_enterprise_id"].first()
    sizes = edges.value_counts() + 1  # members guaranteed by one anchor, plus the anchor
    assert sizes.max() <= 10 and sizes.median() >= 2
    rp = raw["related_persons"]
    ctrl = rp[rp["role"] == "actual_controller"].groupby("person_id")["enterprise_id"].nunique()
    assert (ctrl >= 3).sum() >= 10 and ctrl.max() <= 10


def test_a_partner_default_raises_the_hazard_at_every_state():
    """Structural contagion: the exact PD with the partner-defaulted flag on exceeds the PD with it off at the
    same state (same forward recursion), for every static risk, type, health state and bucket (evergreened
    included); for a current member at median health the 12-month PD rises several-fold."""
    from smecredit.simulation import partner_default_effect

    cfg = SimConfig()
    th, ft, x, d = (a.ravel() for a in np.meshgrid(np.arange(4, 28), np.arange(4), np.arange(0, 41, 4), np.arange(5)))
    off, on = partner_default_effect(cfg, th, ft, x, d)
    assert (on > off * (1 + 1e-6)).all() and (on < 1).all()
    off, on = partner_default_effect(cfg, np.arange(4, 27))  # current, median health, ordinary type (theta -3 … 2.5)
    assert (on / off > 2.5).all() and (on / off < 6).all(), on / off
    # no jump configured, no effect
    off, on = partner_default_effect(SimConfig(contagion_steps=0), th, ft, x, d)
    np.testing.assert_array_equal(on, off)


@pytest.mark.slow
def test_members_default_more_after_their_anchor_defaults():
    """Realised contagion in simulated paths: members alive when their anchor defaults get the jumped exact PD
    (the table at theta + the jump, at their own state) and default in the next 12 months clearly more often
    than their PDs without the jump predict (same states: a counterfactual from the same tables), as often as
    the jumped PDs predict. 50,000 enterprises, every eligible company in a cluster, 48 months."""
    from scipy.stats import poisson

    from smecredit.simulation.firms import make_firms
    from smecredit.simulation.latent import EVERGREEN, systematic_path
    from smecredit.simulation.paths import latent_paths
    from smecredit.simulation import pd_tables, scenario, theta_grid

    cfg = SimConfig(n_enterprises=50_000, months=48, seed=5, guarantee_cluster_share=1.0)
    ws, T = pd.Timestamp("2020-01-01"), cfg.months
    s_cyc, s_macro = systematic_path(cfg, T + 12, np.random.default_rng([cfg.seed, 7_919]))
    s_path, forb, s_haz = scenario(cfg, s_cyc, s_macro, ws)
    z, P = health_grid(cfg.n_states, cfg.phi)
    thetas = theta_grid(cfg.theta_step)
    tab = pd_tables(cfg, z, P, thetas, s_haz, forb, T, horizons=(12,))[12]
    parts = []
    for c in range(2):
        rng = np.random.default_rng([cfg.seed, c])
        firms = make_firms(cfg, 25_000, c * 25_000, ws, rng, lambda s: np.asarray(s, dtype=np.int64),
                           rng_b=np.random.default_rng([cfg.seed, c, 303]))
        p = latent_paths(cfg, firms, rng, z, P, {12: tab}, s_path, forb, s_haz,
                         rng_e=np.random.default_rng([cfg.seed, c, 202]))
        mem = np.nonzero(p.anchor >= 0)[0]
        m = p.default_m[p.anchor[mem]]
        alive = (p.default_m[mem] < 0) | (p.default_m[mem] > m)
        ok = (m >= 0) & (m <= T - 13) & alive & (firms.birth[mem] <= m)
        hit, m = mem[ok], m[ok]
        state = (firms.ftype[hit], p.x_idx[hit, m + 1], np.where(p.evergreen[hit, m], EVERGREEN, p.bucket[hit, m]))
        jump = np.clip(firms.theta_idx[hit] + cfg.contagion_steps, 0, len(thetas) - 1)
        parts.append((tab[m, firms.ind_idx[hit], jump, *state], tab[m, firms.ind_idx[hit], firms.theta_idx[hit], *state],
                      p.pd_h[12][hit, m], (p.default_m[hit] > m) & (p.default_m[hit] <= m + 12)))
    on, off, recorded, y = (np.concatenate(a) for a in zip(*parts, strict=True))
    assert len(y) >= 300
    np.testing.assert_allclose(recorded, on, rtol=1e-12)  # the truth written for them is the jumped PD
    assert (on > off).all()
    k = int(y.sum())
    assert poisson.sf(k - 1, off.sum()) < 1e-3, (k, off.sum())  # far more defaults than without the jump
    assert abs(k - on.sum()) < 4 * np.sqrt((on * (1 - on)).sum()), (k, on.sum())  # as many as the jumped PDs say


def test_hazard_has_a_second_factor_and_non_linear_terms(tables, city):
    """Leverage raises the hazard only once health has fallen; strategic defaulters do not cure; the month
    before the Spring Festival is riskier."""
    from smecredit.simulation import hazard, roll_rates

    cfg = SimConfig()
    z = np.linspace(-3, 3, 61)
    ratio = hazard(cfg, 0.0, z, 0.0, 1.0) / hazard(cfg, 0.0, z, 0.0, 0.0)
    assert np.allclose(ratio[z >= -cfg.kink_at], 1.0) and ratio[0] > 3 and np.all(np.diff(ratio[z < -cfg.kink_at]) < 0)
    assert (roll_rates(cfg, z, 1.0) > 0.9).all() and (roll_rates(cfg, z, 0.0)[:, z > 0] < 0.85).all()
    raw, truth = tables
    types = pd.read_parquet(city / "_truth" / "firm_types.parquet").set_index("enterprise_id")
    assert 0.02 < types["strategic_defaulter"].mean() < 0.07 and 0.2 < types["high_leverage"].mean() < 0.45
    # strategic defaulters: once 31-60 days past due they (almost) never cure
    lm = raw["loan_monthly"].sort_values(["loan_id", "month_end"])
    nxt = lm.groupby("loan_id")["days_past_due"].shift(-1)
    late = lm[(lm["days_past_due"] > 30) & (lm["days_past_due"] <= 60) & nxt.notna()]
    cured = (nxt[late.index] == 0).groupby(types["strategic_defaulter"].reindex(late["enterprise_id"]).to_numpy()).mean()
    assert cured[True] < 0.05 < cured[False], cured
    # the hazard's calendar: the month before the Spring Festival and industry seasons are riskier
    from smecredit.simulation import scenario

    T = 36
    s_path, forb, s_haz = scenario(cfg, np.zeros((len(ref.INDUSTRIES), T)), np.zeros(T), pd.Timestamp("2023-01-01"))
    months = pd.date_range("2023-01-01", periods=T, freq="ME")
    shift = (s_path - s_haz) * cfg.gamma  # added to the hazard's logit
    manuf = list(ref.INDUSTRIES).index("C")
    pre_sf = months.isin([pd.Timestamp("2024-01-31"), pd.Timestamp("2024-12-31")])  # Spring Festival 2024-02-10, 2025-01-29
    assert np.allclose(shift[manuf, pre_sf], cfg.spring_squeeze) and np.allclose(shift[manuf, ~pre_sf], 0.0)
    constr = list(ref.INDUSTRIES).index("E")
    assert (shift[constr, months.month == 6] == 0).all() and (shift[constr, months.month == 1] > 0).all()
    assert (forb == 0).all()  # no shock, no forbearance


def test_leverage_and_multi_bank_borrowing_rise_before_default(tables):
    """Borrowers that default hold more loans (from more banks) in the year before default than others."""
    raw, truth = tables
    lm = raw["loan_monthly"].merge(raw["loans"][["loan_id", "lender"]], on="loan_id")
    dm = truth["defaults"].set_index("enterprise_id")["default_month"]
    snap = pd.Timestamp("2024-06-30")
    cur = lm[lm["month_end"] == snap]
    banks = cur.groupby("enterprise_id")["lender"].nunique()
    soon = dm.reindex(banks.index)
    bad = ((soon > snap) & (soon <= snap + pd.offsets.MonthEnd(12))).to_numpy()
    assert bad.sum() > 50
    assert banks[bad].mean() > banks[~bad].mean() + 0.05, (banks[bad].mean(), banks[~bad].mean())


def test_evergreening_refinances_distressed_loans_early_and_delays_their_arrears(tables):
    """借新还旧: a missed payment hidden by a new loan of the same lender before the old one's maturity; the books
    stay current for months, then arrears surface (mostly) and the enterprise often defaults."""
    raw, truth = tables
    loans, lm = raw["loans"], raw["loan_monthly"]
    prev = loans.set_index("loan_id")
    linked = loans.dropna(subset=["renewed_from_loan_id"])
    old = prev.loc[linked["renewed_from_loan_id"].to_numpy()]
    early = linked[(linked["start_date"].dt.to_period("M").to_numpy() < old["maturity_date"].dt.to_period("M").to_numpy())
                   & ~linked["renewed_without_repayment"].to_numpy()]
    assert len(early) > 100
    assert (old.loc[early["renewed_from_loan_id"], "lender"].to_numpy() == early["lender"].to_numpy()).all()
    assert (old.loc[early["renewed_from_loan_id"], "collateral_type"].to_numpy() == early["collateral_type"].to_numpy()).all()
    # current on the books in the month of the refinancing
    at = early.assign(month_end=early["start_date"] + pd.offsets.MonthEnd(0)).merge(lm, on=["loan_id", "month_end"])
    assert len(at) > 0.9 * len(early) and (at["days_past_due"] == 0).mean() > 0.95
    # arrears surface months later: defaults of evergreened enterprises come 6-12 months after the refinancing
    dm = truth["defaults"].set_index("enterprise_id")["default_month"]
    e = early.assign(dm=early["enterprise_id"].map(dm)).dropna(subset=["dm"])
    e = e[e["dm"] >= e["start_date"]]
    delay = (e["dm"].dt.to_period("M") - e["start_date"].dt.to_period("M")).map(lambda x: x.n)
    assert len(e) > 30 and 5 <= delay.median() <= 13, delay.describe()
    # far riskier than ordinary renewals without repayment
    rwr = loans[loans["renewed_without_repayment"]]
    rate = {k: (df["enterprise_id"].map(dm) > df["start_date"]).mean() for k, df in (("ever", early), ("rwr", rwr))}
    assert rate["ever"] > 3 * rate["rwr"], rate


def test_births_and_exits_unrelated_to_loans(tables, city):
    """About 10 % of the stock registers each year inside the window and 5 % of entities exit; enterprises have no
    records before registering, exited ones none after leaving, and only enterprises without loans exit."""
    raw, truth = tables
    ent = raw["enterprises"]
    months = sorted(truth["pd_true"]["month_end"].unique())
    ws, years = pd.Timestamp(months[0]) - pd.offsets.MonthBegin(1), len(months) / 12
    born = ent["registration_date"] >= ws
    assert 0.08 < born.sum() / years / (~born).sum() < 0.12
    ex = pd.read_parquet(city / "_truth" / "exits.parquet")
    assert 0.04 < len(ex) / years / len(ent) < 0.06
    assert not ex["enterprise_id"].isin(raw["loans"]["enterprise_id"]).any()
    assert not ex["enterprise_id"].isin(truth["defaults"]["enterprise_id"]).any()
    reg = ent.set_index("enterprise_id")["registration_date"] - pd.offsets.MonthBegin(1)
    xm = ex.set_index("enterprise_id")["exit_month"]
    for name, frame in (("tax_monthly", raw["tax_monthly"]), ("utilities_monthly", raw["utilities_monthly"]),
                        ("social_insurance_monthly", raw["social_insurance_monthly"]), ("pd_true", truth["pd_true"])):
        assert not (frame["month_end"] < frame["enterprise_id"].map(reg)).any(), name
        assert not (frame["month_end"] >= frame["enterprise_id"].map(xm)).any(), name
        assert frame["enterprise_id"].isin(ent.loc[born, "enterprise_id"]).any(), name
    jud = raw["judicial_events"]
    assert not (jud["event_date"] < jud["enterprise_id"].map(reg)).any()
    first_loan = raw["loans"].groupby("enterprise_id")["start_date"].min()
    newborn = first_loan[first_loan.index.isin(ent.loc[born, "enterprise_id"])]
    assert len(newborn) > 100 and (newborn > newborn.index.map(reg)).all()
