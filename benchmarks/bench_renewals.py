"""Benchmark of the renewal-without-repayment policy (issue 6) on a simulated city.

Simulates a city, trains a PD model on snapshots whose 12-month outcome is known before the first
review date, then replays the advance renewal review (`decide_renewals`, default policy) at
several as-of dates. For each decision it reports the realised 12-month default rate of the
enterprises concerned (from `_truth/defaults.parquet`): among loans the policy would renew vs those
it would not. The reference in the same run is the default rate of all reviewed loans. A second
pass uses the simulator's true PD (`_truth/pd_true.parquet`) as an oracle score, to separate the
rules' value from the model's.

It also decides the new-loan applications filed in the quarter before each review date
(`decide_loans`), and reports approval / referral / decline rates and realised default rates by legal
form, size class and mountain county.

Usage:  .venv/bin/python benchmarks/bench_renewals.py [--enterprises 20000] [--months 48] [--seed 11]
        BENCH_SRC=/path/to/other/src ... runs the same benchmark on another checkout's code (a baseline).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("BENCH_SRC", str(ROOT / "src")))

from smecredit.data import load_raw  # noqa: E402
from smecredit.simulation import simulate  # noqa: E402
from smecredit.decisions.policy import load_policy  # noqa: E402
from smecredit.decisions.loan import decide_loans  # noqa: E402
from smecredit.decisions.renewal import decide_renewals, select_candidates  # noqa: E402
from smecredit.features import build_features  # noqa: E402
from smecredit.models import MasterScale, fit_credit_model  # noqa: E402

TRAIN_SNAPSHOTS = ["2023-03-31", "2023-06-30"]          # outcomes known by 2024-06-30
REVIEW_DATES = ["2024-06-30", "2024-09-30", "2024-12-31"]  # outcomes known by 2025-12-31
RENEW = ("renew_without_repayment", "renew_with_conditions")


def jeffreys(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval of a binomial rate k/n (Beta(k + 1/2, n − k + 1/2) quantiles; 0 / 1 at the ends)."""
    from scipy.stats import beta

    if n == 0:
        return (np.nan, np.nan)
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k + 0.5, n - k + 0.5))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 0.5, n - k + 0.5))
    return lo, hi


def realised(dec: pd.DataFrame, defaults: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """1 if the enterprise defaulted within 12 months after as_of, else 0."""
    d = defaults.groupby("enterprise_id")["default_month"].min()
    dm = pd.to_datetime(dec["enterprise_id"].map(d))
    return ((dm > as_of) & (dm <= as_of + pd.DateOffset(months=12))).astype(int)


def summarise(frames: list[pd.DataFrame]) -> pd.DataFrame:
    allf = pd.concat(frames, ignore_index=True)
    rows = []
    groups = {"renewed (all renew decisions)": allf["decision"].isin(RENEW),
              "  renew_without_repayment": allf["decision"] == "renew_without_repayment",
              "  renew_with_conditions": allf["decision"] == "renew_with_conditions",
              "not renewed (refer + require repayment)": ~allf["decision"].isin(RENEW),
              "  refer": allf["decision"] == "refer",
              "  require_repayment": allf["decision"] == "require_repayment",
              "all reviewed loans (reference)": pd.Series(True, index=allf.index)}
    for name, m in groups.items():
        g = allf[m]
        k = int(g["defaulted"].sum())
        lo, hi = jeffreys(k, len(g))
        rows.append({"group": name, "loans": len(g), "defaults": k,
                     "default_rate": g["defaulted"].mean() if len(g) else np.nan, "ci_low": lo, "ci_high": hi,
                     "mean_pd": g["pd"].mean() if len(g) else np.nan})
    return pd.DataFrame(rows)


SEGMENTS = ("legal_form", "size_class", "mountain_county")


def by_segment(frames: list[pd.DataFrame], positive: tuple[str, ...], refer: str, negative: str) -> pd.DataFrame:
    """Rates by segment: share positive (renewed / approved), referred, negative (repay / decline), and the
    realised 12-month default rate of all and of the positive decisions."""
    allf = pd.concat(frames, ignore_index=True)
    rows = []
    for seg in SEGMENTS:
        vals = [c for c in allf.columns if c.endswith("_value")]
        missing = allf[vals].eq("missing").any(axis=1) & (allf["decision"] == refer)
        for val, g in allf.groupby(allf[seg].astype(str), sort=True):
            pos = g["decision"].isin(positive)
            kp, npos = (int(g.loc[pos, "defaulted"].sum()), int(pos.sum())) if g["defaulted"].notna().any() else (0, 0)
            lo, hi = jeffreys(kp, npos)
            rows.append({"ci_positive_low": lo, "ci_positive_high": hi,"segment": seg, "value": val, "n": len(g), "positive_rate": pos.mean(),
                         "refer_rate": (g["decision"] == refer).mean(),
                         "refer_missing_data_rate": missing[g.index].mean(),
                         "negative_rate": (g["decision"] == negative).mean(),
                         "default_rate_all": g["defaulted"].mean(),
                         "positive_n": int(pos.sum()), "positive_defaults": int(g.loc[pos, "defaulted"].sum()),
                         "default_rate_positive": g.loc[pos, "defaulted"].mean() if pos.any() else np.nan})
    return pd.DataFrame(rows)


def alternative_evidence_effect(new: list[pd.DataFrame], old: list[pd.DataFrame]) -> list[dict]:
    """Per legal form: referral rate and the renewed loans' realised default rate with the default policy (alternative
    evidence) and without it, and among the loans only the default policy renews (the extra renewals)."""
    a, b = pd.concat(new, ignore_index=True), pd.concat(old, ignore_index=True)
    if not (a["loan_id"].tolist() == b["loan_id"].tolist()):
        raise RuntimeError("the two runs must review the same loans in the same order")
    out = []
    for form in sorted(a["legal_form"].astype(str).unique()):
        m = (a["legal_form"].astype(str) == form).to_numpy()
        ra, rb = a["decision"].isin(RENEW).to_numpy() & m, b["decision"].isin(RENEW).to_numpy() & m
        for name, sel, frame in (("with alternative evidence", ra, a), ("without (VAT data only)", rb, b),
                                 ("extra renewals (only with)", ra & ~rb, a)):
            k, n = int(frame.loc[sel, "defaulted"].sum()), int(sel.sum())
            lo, hi = jeffreys(k, n)
            out.append({"legal_form": form, "renewed": name, "reviewed": int(m.sum()),
                        "refer_rate": float((frame.loc[m, "decision"] == "refer").mean()) if name[0] != "e" else np.nan,
                        "n": n, "defaults": k, "rate": k / n if n else np.nan, "ci_low": lo, "ci_high": hi})
    return out


def _segments(dec: pd.DataFrame, ent: pd.DataFrame) -> pd.DataFrame:
    e = ent.drop_duplicates("enterprise_id").set_index("enterprise_id")
    return dec.assign(**{c: dec["enterprise_id"].map(e[c]).to_numpy() for c in SEGMENTS})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=48)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "renewals.json")
    ap.add_argument("--decisions-out", type=Path, default=None,
                    help="also write every reviewed loan's decision and realised default (parquet), both policies")
    ap.add_argument("--review-dates", nargs="+", default=REVIEW_DATES,
                    help="as-of dates of the renewal review (outcomes must be known 12 months later)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    policy = load_policy()
    with tempfile.TemporaryDirectory(prefix="bench-renewals-") as tmp:
        t0 = time.perf_counter()
        city = simulate(args.enterprises, args.months, args.seed, Path(tmp) / "city")
        raw = load_raw(city)
        truth_pd = pd.read_parquet(Path(city) / "_truth" / "pd_true.parquet")
        defaults = pd.read_parquet(Path(city) / "_truth" / "defaults.parquet")
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        X = build_features(raw, TRAIN_SNAPSHOTS)
        X = X[X["observable"].astype(bool)].reset_index(drop=True)
        model = fit_credit_model(X.drop(columns=["bad"]), X["bad"].astype(int), kind="gbm", cv=3)
        t_train = time.perf_counter() - t0
        print(f"city {args.enterprises:,} × {args.months} months (seed {args.seed}) in {t_sim:.1f} s; "
              f"model trained on {len(X):,} rows at {TRAIN_SNAPSHOTS} in {t_train:.1f} s")
        runs = {"model": [], "oracle": [], "no_alternative_evidence": []}
        # the counterfactual of the sole-proprietor goal: the same city and scores, without alternative evidence
        # (individual businesses and farmer cooperatives judged on VAT data they cannot have, as before issue 12)
        no_alt = policy.model_copy(update={
            "renewal": policy.renewal.model_copy(update={"alternative_evidence_forms": ()}),
            "lending": policy.lending.model_copy(update={"alternative_evidence_forms": ()})})
        loan_runs = []
        timings = []
        apps_all = raw.get("loan_applications")
        for as_of in args.review_dates:
            d = pd.Timestamp(as_of)
            cand = select_candidates(raw, d, policy)
            ids = sorted(cand["enterprise_id"].unique())
            t0 = time.perf_counter()
            feats = build_features(raw, [d], population=ids)
            scores = model.predict(feats)
            t_score = time.perf_counter() - t0
            t0 = time.perf_counter()
            dec = decide_renewals(raw, scores, policy, d, model_name="bench-gbm", model_version="1", candidates=cand)
            t_dec = time.perf_counter() - t0
            timings.append({"as_of": as_of, "loans": len(dec), "score_s": t_score, "decide_s": t_dec})
            runs["model"].append(_segments(dec.assign(defaulted=realised(dec, defaults, d).to_numpy()), raw["enterprises"]))

            dec_n = decide_renewals(raw, scores, no_alt, d, model_name="bench-gbm", model_version="1", candidates=cand)
            runs["no_alternative_evidence"].append(_segments(dec_n.assign(defaulted=realised(dec_n, defaults, d).to_numpy()),
                                                             raw["enterprises"]))
            tp = truth_pd[truth_pd["month_end"] == d].set_index("enterprise_id")["pd_12m"]
            oracle = pd.DataFrame({"enterprise_id": ids, "pd": tp.reindex(ids).to_numpy()})
            oracle["grade"] = MasterScale().assign(oracle["pd"].fillna(1.0).to_numpy())
            dec_o = decide_renewals(raw, oracle, policy, d, model_name="oracle", model_version="truth", candidates=cand)
            runs["oracle"].append(_segments(dec_o.assign(defaulted=realised(dec_o, defaults, d).to_numpy()),
                                            raw["enterprises"]))
            print(f"  as of {as_of}: {len(dec):,} loans maturing in {policy.renewal.window_start_days}-"
                  f"{policy.renewal.window_end_days} days; scored in {t_score:.2f} s, decided in {t_dec:.2f} s "
                  f"({len(dec) / max(t_dec, 1e-9):,.0f} loans/s)")
        if apps_all is not None and len(apps_all):
            # the simulator files applications in the last months only: decided at the end of the data,
            # their outcome is not observable (no realised default)
            d = pd.Timestamp(apps_all["application_date"].max()).normalize() + pd.offsets.MonthEnd(0)
            a_ids = sorted(apps_all["enterprise_id"].unique())
            t0 = time.perf_counter()
            a_scores = model.predict(build_features(raw, [d], population=a_ids))
            ld = decide_loans(raw, apps_all, a_scores, policy, d, model_name="bench-gbm", model_version="1")
            print(f"  new-loan applications as of {d.date()}: {len(ld):,} decided in {time.perf_counter() - t0:.2f} s "
                  "(incl. features and scoring)")
            loan_runs.append(_segments(ld.assign(defaulted=np.nan), raw["enterprises"]))
        result = {"enterprises": args.enterprises, "months": args.months, "seed": args.seed,
                  "review_dates": list(args.review_dates), "timings": timings}
        for name, frames in runs.items():
            s = summarise(frames)
            result[name] = s.to_dict("records")
            print(f"\nrealised 12-month default rate by decision — scores: {name}")
            print(s.to_string(index=False, formatters={c: "{:.2%}".format for c in ("default_rate", "ci_low", "ci_high",
                                                                                    "mean_pd")}))
            allf = pd.concat(frames, ignore_index=True)
            st = allf[[c for c in allf.columns if c.endswith("_status")]]
            top = (st != "pass").mean().drop("R15_status").sort_values(ascending=False).head(6)
            print("  most frequent non-pass rules: " + ", ".join(f"{k[:3]} {v:.0%}" for k, v in top.items()))
        fmt = {c: "{:.1%}".format for c in ("positive_rate", "refer_rate", "refer_missing_data_rate", "negative_rate",
                                             "default_rate_all", "default_rate_positive", "ci_positive_low",
                                             "ci_positive_high")}
        for name in ("model", "no_alternative_evidence"):
            seg = by_segment(runs[name], RENEW, "refer", "require_repayment")
            result[f"renewals_by_segment_{name}"] = seg.to_dict("records")
            print(f"\nrenewal review by segment (model scores, policy: {name}): positive = renewed, "
                  "negative = require repayment; ci = Jeffreys 95 % of the renewed's default rate")
            print(seg.to_string(index=False, formatters=fmt))
        result["sole_proprietor_goal"] = goal = alternative_evidence_effect(runs["model"], runs["no_alternative_evidence"])
        print("\nalternative evidence (issue 12) vs none, same loans and scores — renewed and their realised defaults:")
        print(pd.DataFrame(goal).to_string(index=False, formatters={c: "{:.2%}".format for c in
                                                                    ("refer_rate", "rate", "ci_low", "ci_high")}))
        if args.decisions_out is not None:
            keep = ["as_of", "loan_id", "enterprise_id", "decision", "pd", "grade", "defaulted", "legal_form", "size_class",
                    "mountain_county", "limits_binding", "R13_status", "R13_value", "guarantor_in_distress"]
            both = pd.concat([pd.concat(runs["model"], ignore_index=True)[keep].assign(policy="default"),
                              pd.concat(runs["no_alternative_evidence"], ignore_index=True)[keep]
                              .assign(policy="no_alternative_evidence")], ignore_index=True)
            args.decisions_out.parent.mkdir(parents=True, exist_ok=True)
            both.to_parquet(args.decisions_out, index=False)
        allr = pd.concat(runs["model"], ignore_index=True)
        lim = allr["limits_binding"].fillna("").str.split("；").explode()
        lim = lim[lim.str.len() > 0].str.replace(r"各行负债合计.*", "单户授信上限（仅提示）", regex=True).value_counts()
        r13 = allr["R13_value"].fillna("").str.contains("limited to")
        result["renewal_limits"] = {"binding": {str(k): int(v) for k, v in lim.items()},
                                    "R13_limit_condition": int((r13 & (allr["R13_status"] == "condition")).sum()),
                                    "R13_limit_refer": int((r13 & (allr["R13_status"] == "refer")).sum()),
                                    "guarantor_in_distress": int(allr["guarantor_in_distress"].fillna("").ne("").sum())}
        print(f"\nrenewal limits: {result['renewal_limits']}")
        if loan_runs:
            lseg = by_segment(loan_runs, ("approve",), "refer", "decline")
            allf = pd.concat(loan_runs, ignore_index=True)
            overall = {d_: int((allf["decision"] == d_).sum()) for d_ in ("approve", "refer", "decline")}
            result["loans_overall"] = overall
            result["loans_by_segment"] = lseg.drop(columns=["default_rate_all", "positive_defaults",
                                                            "default_rate_positive"]).to_dict("records")
            print(f"\nnew-loan applications ({len(allf):,}; outcomes not observable): " +
                  ", ".join(f"{k} {v:,} ({v / len(allf):.0%})" for k, v in overall.items()))
            print(lseg.drop(columns=["default_rate_all", "positive_defaults", "default_rate_positive"])
                  .to_string(index=False, formatters=fmt))
            top = (allf["limits_binding"].fillna("").str.split("；").explode().replace("", np.nan).dropna()
                   .value_counts().head(6)) if "limits_binding" in allf.columns else pd.Series(dtype=int)
            if len(top):
                print("  binding limits: " + ", ".join(f"{k} {v}" for k, v in top.items()))
                result["loans_binding_limits"] = {str(k): int(v) for k, v in top.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    print(f"\nwritten {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
