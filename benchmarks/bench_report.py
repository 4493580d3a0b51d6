"""Benchmark: explanations and the full governance report on 100k rows (2-core target: report <= 3 min).

Builds a simulated city (``--enterprises`` × 36 months, quarterly snapshots 2023-12 … 2025-12,
about 5.4 rows per enterprise), fits a GBM and a scorecard on the first two snapshots, then
times on ``--rows`` rows:

* TreeSHAP of the GBM's trees: LightGBM native ``pred_contrib`` vs shap ``TreeExplainer``
  (agreement checked to 1e-6) — the reference run for the choice of the native method;
* ``explain()`` (linear base + trees) and ``CreditModel.predict`` (PD, grade, reason codes);
* the full report (``run_report`` with ``--compare`` scorecard, 200 bootstrap resamples,
  5,000-row beeswarm sample), against a reference report on 10k rows in the same process.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (figures printed and written to
``benchmarks/out/bench_report.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=20000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    os.environ.setdefault("SMECREDIT_PSEUDONYM_KEY", "benchmark-key-0123456789")

    from smecredit.data import load_raw
    from smecredit.data.simulator import simulate
    from smecredit.explain import compare_tree_methods, explain
    from smecredit.features import build_features
    from smecredit.features.catalog import feature_catalog
    from smecredit.io import write_table
    from smecredit.models import fit_credit_model, save_model
    from smecredit.models.pyfunc import input_example
    from smecredit.pipelines.report import run_report
    from smecredit.report import ReportSettings

    figures: dict = {"machine": "2 cores, 24 GB", "date": "2026-11-25"}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        raw = load_raw(simulate(args.enterprises, 36, args.seed, tmp / "raw"))
        snaps = [str(d.date()) for d in pd.date_range("2023-12-31", "2025-12-31", freq="3ME")]
        feats = build_features(raw, snaps)
        figures["data_seconds"] = time.perf_counter() - t
        if len(feats) < args.rows:
            raise SystemExit(f"only {len(feats)} feature rows; raise --enterprises")
        feats = feats.sample(n=args.rows, random_state=0).sort_values(["snapshot_date", "enterprise_id"])
        feats = feats.reset_index(drop=True)
        folder = tmp / "features"
        write_table(feats, folder / "features.parquet")
        write_table(feature_catalog(), folder / "catalog.csv")
        small = tmp / "features_10k"
        write_table(feats.sample(n=10_000, random_state=1), small / "features.parquet")
        write_table(feature_catalog(), small / "catalog.csv")

        snap = feats["snapshot_date"].dt.strftime("%Y-%m-%d")
        train = feats[snap.isin(["2023-12-31", "2024-03-31"]) & feats["bad"].notna()]
        y = train["bad"].astype("int64").to_numpy()
        features = [c for c in feats.columns if c not in ("enterprise_id", "snapshot_date", "bad", "observable")]
        meta = {"target": "bad", "train_snapshots": ["2023-12-31", "2024-03-31"], "horizon_months": 12}
        t = time.perf_counter()
        gbm = fit_credit_model(train[features], y, kind="gbm", catalog=feature_catalog(), metadata=dict(meta))
        figures["fit_gbm_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        sc = fit_credit_model(train[features], y, kind="scorecard", catalog=feature_catalog(), metadata=dict(meta))
        figures["fit_scorecard_seconds"] = time.perf_counter() - t
        save_model(gbm, tmp / "gbm", example=input_example(gbm, train))
        save_model(sc, tmp / "scorecard", example=input_example(sc, train))
        figures.update({"rows": len(feats), "features": len(features), "train_rows": len(train),
                        "gbm_trees": int(gbm.estimator_.n_rounds_)})

        # explanations
        X_lgb = gbm.estimator_._lgb_frame(gbm.prepare(feats[features]))
        cmp = compare_tree_methods(gbm.estimator_.booster_, X_lgb)
        figures.update({"treeshap_native_seconds": cmp.native_seconds, "treeshap_shap_seconds": cmp.shap_seconds,
                        "treeshap_max_abs_diff": cmp.max_abs_diff, "treeshap_faster": cmp.faster})
        t = time.perf_counter()
        explain(gbm, feats[features])
        figures["explain_gbm_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        explain(sc, feats[features])
        figures["explain_scorecard_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        gbm.predict(feats[features])
        figures["predict_with_reasons_seconds"] = time.perf_counter() - t

        # reports: reference on 10k rows, then 100k rows
        for label, data in (("report_10k_seconds", small), ("report_seconds", folder)):
            t = time.perf_counter()
            res = run_report(str(tmp / "gbm"), data, tmp / f"{label}.html", compare=str(tmp / "scorecard"),
                             settings=ReportSettings(), log_to_mlflow=False)
            figures[label] = time.perf_counter() - t
        figures["report_bytes"] = res.path.stat().st_size

    for k, v in figures.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_report.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
