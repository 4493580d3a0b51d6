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


class Timer:
    """Wall and CPU (this process, all threads) seconds of a block; the machine may be shared."""

    def __init__(self, figures: dict, name: str):
        self.figures, self.name = figures, name

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.figures[f"{self.name}_seconds"] = time.perf_counter() - self.wall
        self.figures[f"{self.name}_cpu_seconds"] = time.process_time() - self.cpu
        print(f"{self.name}: {self.figures[f'{self.name}_seconds']:.1f} s wall, "
              f"{self.figures[f'{self.name}_cpu_seconds']:.1f} s CPU", flush=True)


def bench_treeshap(X_train, y_train, X_explain, figures: dict, n_trees: int = 500) -> None:
    """Native ``pred_contrib`` vs shap ``TreeExplainer`` on a LightGBM booster of ``n_trees`` trees.

    The PD model's GBM may stop boosting early (few trees on top of its logistic base), which
    would make the timing meaningless, so both TreeSHAP implementations are also timed on a
    plain LightGBM booster with a fixed number of trees on the same features (categoricals
    included).
    """
    import lightgbm as lgb

    from smecredit.explain import compare_tree_methods

    booster = lgb.train({"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "verbosity": -1,
                         "num_threads": 2, "seed": 0, "deterministic": True, "force_row_wise": True},
                        lgb.Dataset(X_train, label=y_train), num_boost_round=n_trees)
    cmp = compare_tree_methods(booster, X_explain)
    figures.update({f"treeshap{n_trees}_native_seconds": cmp.native_seconds,
                    f"treeshap{n_trees}_shap_seconds": cmp.shap_seconds,
                    f"treeshap{n_trees}_max_abs_diff": cmp.max_abs_diff,
                    f"treeshap{n_trees}_faster": cmp.faster})
    print(f"TreeSHAP {n_trees} trees on {len(X_explain)} rows: native {cmp.native_seconds:.1f} s, "
          f"shap {cmp.shap_seconds:.1f} s, max |diff| {cmp.max_abs_diff:.1e}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=25000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--treeshap-rows", type=int, default=100_000,
                    help="Rows explained in the 500-tree TreeSHAP comparison (about 1 s per 100 rows on 2 cores).")
    ap.add_argument("--treeshap-only", action="store_true",
                    help="Only build the data and time the two TreeSHAP implementations (500 trees).")
    args = ap.parse_args()
    os.environ.setdefault("SMECREDIT_PSEUDONYM_KEY", "benchmark-key-0123456789")

    from smecredit.data import load_raw
    from smecredit.simulation import simulate
    from smecredit.explain import compare_tree_methods, explain
    from smecredit.features import build_features
    from smecredit.features.catalog import feature_catalog
    from smecredit.io import write_table
    from smecredit.models import fit_credit_model
    from smecredit.registry import input_example, save_model
    from smecredit.pipelines.report import run_report
    from smecredit.report import ReportSettings

    figures: dict = {"machine": "2 cores, 24 GB", "date": "2026-11-25"}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        with Timer(figures, "data"):
            raw = load_raw(simulate(args.enterprises, 36, args.seed, tmp / "raw"))
            snaps = [str(d.date()) for d in pd.date_range("2023-12-31", "2025-12-31", freq="3ME")]
            feats = build_features(raw, snaps)
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

        def lgb_frame(df):
            return pd.DataFrame({c: (df[c].astype("category") if not pd.api.types.is_numeric_dtype(df[c].dtype)
                                     else df[c].astype("float64")) for c in features})

        X_all = lgb_frame(feats)
        train_idx = train.index.to_numpy()
        bench_treeshap(X_all.loc[train_idx], y, X_all.iloc[:args.treeshap_rows], figures)
        if args.treeshap_only:
            _report(figures, "bench_report_treeshap.json")
            return
        meta = {"target": "bad", "train_snapshots": ["2023-12-31", "2024-03-31"], "horizon_months": 12}
        with Timer(figures, "fit_gbm"):
            gbm = fit_credit_model(train[features], y, kind="gbm", catalog=feature_catalog(), metadata=dict(meta))
        with Timer(figures, "fit_scorecard"):
            sc = fit_credit_model(train[features], y, kind="scorecard", catalog=feature_catalog(),
                                  metadata=dict(meta))
        save_model(gbm, tmp / "gbm", example=input_example(gbm, train))
        save_model(sc, tmp / "scorecard", example=input_example(sc, train))
        figures.update({"rows": len(feats), "features": len(features), "train_rows": len(train),
                        "gbm_trees": int(gbm.estimator_.n_rounds_)})

        # explanations
        X_lgb = gbm.estimator_._lgb_frame(gbm.prepare(feats[features]))
        cmp = compare_tree_methods(gbm.estimator_.booster_, X_lgb)
        figures.update({"treeshap_native_seconds": cmp.native_seconds, "treeshap_shap_seconds": cmp.shap_seconds,
                        "treeshap_max_abs_diff": cmp.max_abs_diff, "treeshap_faster": cmp.faster})
        with Timer(figures, "explain_gbm"):
            explain(gbm, feats[features])
        with Timer(figures, "explain_scorecard"):
            explain(sc, feats[features])
        with Timer(figures, "predict_with_reasons"):
            gbm.predict(feats[features])

        # reports: reference on 10k rows, then 100k rows
        for label, data in (("report_10k", small), ("report_100k", folder)):
            with Timer(figures, label):
                res = run_report(str(tmp / "gbm"), data, tmp / f"{label}.html", compare=str(tmp / "scorecard"),
                                 settings=ReportSettings(), log_to_mlflow=False)
        figures["report_bytes"] = res.path.stat().st_size

    _report(figures, "bench_report.json")


def _report(figures: dict, name: str) -> None:
    figures["load_average_1min_at_end"] = os.getloadavg()[0]
    for k, v in figures.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
