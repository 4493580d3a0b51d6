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
        rows.append({"group": name, "loans": len(g), "defaults": int(g["defaulted"].sum()),
                     "default_rate": g["defaulted"].mean() if len(g) else np.nan,
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
            rows.append({"segment": seg, "value": val, "n": len(g), "positive_rate": pos.mean(),
                         "refer_rate": (g["decision"] == refer).mean(),
                         "refer_missing_data_rate": missing[g.index].mean(),
                         "negative_rate": (g["decision"] == negative).mean(),
                         "default_rate_all": g["defaulted"].mean(),
                         "positive_n": int(pos.sum()), "positive_defaults": int(g.loc[pos, "defaulted"].sum()),
                         "default_rate_positive": g.loc[pos, "defaulted"].mean() if pos.any() else np.nan})
    return pd.DataFrame(rows)


def _segments(dec: pd.DataFrame, ent: pd.DataFrame) -> pd.DataFrame:
    e = ent.drop_duplicates("enterprise_id").set_index("enterprise_id")
    return dec.assign(**{c: dec["enterprise_id"].map(e[c]).to_numpy() for c in SEGMENTS})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=48)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "renewals.json")
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
        runs = {"model": [], "oracle": []}
        loan_runs = []
        timings = []
        apps_all = raw.get("loan_applications")
        for as_of in REVIEW_DATES:
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
                  "review_dates": REVIEW_DATES, "timings": timings}
        for name, frames in runs.items():
            s = summarise(frames)
            result[name] = s.to_dict("records")
            print(f"\nrealised 12-month default rate by decision — scores: {name}")
            print(s.to_string(index=False, formatters={"default_rate": "{:.2%}".format, "mean_pd": "{:.2%}".format}))
            allf = pd.concat(frames, ignore_index=True)
            st = allf[[c for c in allf.columns if c.endswith("_status")]]
            top = (st != "pass").mean().drop("R15_status").sort_values(ascending=False).head(6)
            print("  most frequent non-pass rules: " + ", ".join(f"{k[:3]} {v:.0%}" for k, v in top.items()))
        fmt = {c: "{:.1%}".format for c in ("positive_rate", "refer_rate", "refer_missing_data_rate", "negative_rate",
                                             "default_rate_all", "default_rate_positive")}
        seg = by_segment(runs["model"], RENEW, "refer", "require_repayment")
        result["renewals_by_segment"] = seg.to_dict("records")
        print("\nrenewal review by segment (model scores): positive = renewed, negative = require repayment")
        print(seg.to_string(index=False, formatters=fmt))
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
