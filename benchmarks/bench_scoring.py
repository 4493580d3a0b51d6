"""Benchmark of the batch scoring job (issue 16), beside the references in the same run.

1. Simulate a city (--train-n enterprises × --months, quarterly snapshots or --snapshots), build features, train the
   delivered GBM (``fit_credit_model(kind="gbm")`` with the catalogue directions, grouped by enterprise).
2. Write a scoring input of --rows rows (feature rows of the city drawn with replacement, each with its
   own enterprise_id) as one Parquet file.
3. Run ``smecredit score --output DIR`` (the job: read, PD + grade + score + 3 reasons, write) in a
   subprocess: wall time, rows/s and peak RSS of the job process and of its worker processes.
4. In this process, on the same matrix:
   (a) a plain ``LGBMClassifier(n_estimators=200)`` fitted on the same training features, predicting
       the whole matrix (in memory, no reasons): what a user would run without smecredit;
   (b) exact TreeSHAP (LightGBM ``pred_contrib``) of the delivered model's trees, chunk by chunk, and the
       top-3 reasons of the exact contributions (linear base + pred_contrib) compared with the job's
       reasons for every row.
5. Optionally (--rows-big) the job again on a larger input: peak memory must not grow with the rows.

Usage:  .venv/bin/python benchmarks/bench_scoring.py [--train-n 100000] [--months 48] [--rows 1000000]
        [--rows-big 3000000] [--workers 2] [--chunk-rows 100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

JOB_WRAPPER = r"""
import json, resource, sys, time
from smecredit.scoring.job import run_score_job
t = time.perf_counter()
res = run_score_job(sys.argv[1], sys.argv[2], sys.argv[3], chunk_rows=int(sys.argv[4]), workers=int(sys.argv[5]))
wall = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large benchmark process would report
# its parent's size at the fork (this inflated the 3M-row figure to 4.6 GB against a real 2.0 GB)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"wall_s": wall, "rows": res.manifest["rows_in"], "rejected": res.manifest["rows_rejected"],
                  "peak_rss_job_mb": hwm / 1024,
                  "peak_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _train(n: int, months: int, seed: int, tmp: Path, cache: Path | None = None, snapshots: str | None = None):
    """Train (or, with ``cache`` holding an earlier run's model and features, reload) the delivered GBM."""
    from smecredit.data import load_raw
    from smecredit.simulation import simulate
    from smecredit.features import build_features, every_snapshots
    from smecredit.features.catalog import feature_catalog
    from smecredit.models.credit_model import fit_credit_model
    from smecredit.models.dataset import feature_columns
    from smecredit.registry import input_example, save_model

    from smecredit.registry import load_model

    if cache is not None and (cache / "gbm").is_dir() and (cache / "features.parquet").is_file():
        feats = pd.read_parquet(cache / "features.parquet")
        model = load_model(cache / "gbm")
        types = feature_columns(feats, "bad")
        X, y = feats[list(types)], feats["bad"].astype(int).to_numpy()
        print(f"reloaded the delivered GBM and {len(feats)} training rows from {cache}", flush=True)
        return model, cache / "gbm", feats, X, y
    t0 = time.perf_counter()
    raw = load_raw(simulate(n, months, seed, tmp / "city"))
    feats = build_features(raw, snapshots or every_snapshots(raw, "3M", min_history=12))
    feats = feats[feats["observable"]].reset_index(drop=True)
    t_feat = time.perf_counter() - t0
    types = feature_columns(feats, "bad")
    X, y = feats[list(types)], feats["bad"].astype(int).to_numpy()
    t0 = time.perf_counter()
    model = fit_credit_model(X, y, kind="gbm", catalog=feature_catalog(), groups=feats["enterprise_id"].to_numpy())
    t_fit = time.perf_counter() - t0
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        feats.to_parquet(cache / "features.parquet", index=False)
        tmp = cache
    path = save_model(model, tmp / "gbm", example=input_example(model, X))
    est = model.estimator_
    print(f"city {n} x {months}: {len(feats)} training rows x {len(types)} features ({t_feat:.0f}s); delivered GBM "
          f"{est.n_rounds_} trees x {est.num_leaves} leaves fitted in {t_fit:.0f}s", flush=True)
    return model, path, feats, X, y


def _input(feats: pd.DataFrame, rows: int, path: Path, seed: int) -> None:
    from smecredit.data.uscc import make_codes

    rng = np.random.default_rng(seed)
    w = pq.ParquetWriter  # written in slices: the input itself need not fit in memory twice
    writer = None
    for lo in range(0, rows, 500_000):
        n = min(500_000, rows - lo)
        part = feats.iloc[rng.integers(0, len(feats), n)].reset_index(drop=True)
        # its own valid unified social credit code (the data model's id format, checked by the job)
        part["enterprise_id"] = make_codes(np.arange(lo, lo + n), np.full(n, "330100"), np.full(n, "1"))
        import pyarrow as pa

        table = pa.Table.from_pandas(part, preserve_index=False)
        if writer is None:
            writer = w(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    writer.close()


def _job(model_dir: Path, inp: Path, out: Path, chunk_rows: int, workers: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-c", JOB_WRAPPER, str(model_dir), str(inp), str(out), str(chunk_rows),
                        str(workers)], env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-n", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=48)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rows-big", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-rows", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--model-cache", type=Path, default=None,
                    help="folder keeping the trained model and its features for later runs (reused when present)")
    ap.add_argument("--snapshots", default=None,
                    help="training snapshots, e.g. 2023-12-31,2024-12-31 (default: quarterly after 12 months)")
    ap.add_argument("--train-only", action="store_true", help="train (into --model-cache) and stop")
    ap.add_argument("--no-reference", action="store_true", help="only the job runs (memory at 1M and 3M)")
    a = ap.parse_args()
    import lightgbm as lgb

    from smecredit.models.reasons import top_reasons_array  # noqa: F401 (the job's reason code)
    from smecredit.scoring.job import read_scores

    res: dict = {"load_average_start": os.getloadavg(), "cpus": os.cpu_count(), "args": vars(a) | {"json": None}}
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        tmp = Path(tmp)
        model, model_dir, feats, X, y = _train(a.train_n, a.months, a.seed, tmp, a.model_cache, a.snapshots)
        if a.train_only:
            return
        est = model.estimator_
        res["model"] = {"trees": est.n_rounds_, "leaves": est.num_leaves, "features": len(model.feature_names_),
                        "training_rows": len(feats)}
        inp = tmp / "input.parquet"
        _input(feats, a.rows, inp, a.seed)
        print(f"input: {a.rows} rows, {inp.stat().st_size / 1e6:.0f} MB Parquet", flush=True)

        job = _job(model_dir, inp, tmp / "job", a.chunk_rows, a.workers)
        job["rows_per_s"] = job["rows"] / job["wall_s"]
        res["job"] = job
        print(f"job: {job['rows']} rows in {job['wall_s']:.1f}s = {job['rows_per_s']:,.0f} rows/s; peak RSS job "
              f"{job['peak_rss_job_mb']:.0f} MB, largest worker {job['peak_rss_worker_mb']:.0f} MB", flush=True)

        if a.no_reference:
            return _big(a, res, feats, model_dir, inp, tmp)
        # (a) plain LightGBM, 200 trees, fitted on the same features, predicting the same matrix
        def lgb_frame(df):
            out = df[list(model.feature_types_)].copy()
            for c, t in model.feature_types_.items():
                out[c] = out[c].astype("category") if t == "categorical" else out[c].astype("float64")
            return out

        Xl = lgb_frame(X)
        cats = {c: Xl[c].cat.categories for c, t in model.feature_types_.items() if t == "categorical"}
        ref = lgb.LGBMClassifier(n_estimators=200, verbose=-1).fit(Xl, y)
        M = pd.read_parquet(inp, columns=list(model.feature_types_))
        Ml = lgb_frame(M)
        for c, levels in cats.items():
            Ml[c] = pd.Categorical(M[c].astype(object), categories=levels)
        t = time.perf_counter()
        ref.predict_proba(Ml)
        t_ref = time.perf_counter() - t
        res["plain_lgbm_200"] = {"predict_s": t_ref, "rows_per_s": a.rows / t_ref}
        print(f"(a) plain LGBMClassifier(n_estimators=200) predict: {t_ref:.1f}s = {a.rows / t_ref:,.0f} rows/s",
              flush=True)
        del Ml

        # (b) exact pred_contrib of the delivered trees, and the top-3 reasons of the exact contributions
        scores = read_scores(tmp / "job")
        t_contrib, same, total = 0.0, 0, 0
        for lo in range(0, a.rows, 100_000):
            Xf = model.prepare(M.iloc[lo:lo + 100_000].reset_index(drop=True))
            lin = est.linear_.contributions(Xf)[list(est.feature_names_in_)].to_numpy()
            exact = lin
            if est.booster_ is not None:  # a GBM delivered as its linear base has no trees to explain
                Xg = est._lgb_frame(Xf)
                t = time.perf_counter()
                pc = est.booster_.predict(Xg, pred_contrib=True)
                t_contrib += time.perf_counter() - t
                exact = lin + pc[:, :-1]
            order = [list(est.feature_names_in_).index(c) for c in model.feature_names_]
            from smecredit.models.reasons import top_reasons_array

            # the job's reason texts quote the observed values (its contributions use the capped ones)
            Xobs = model.prepare(M.iloc[lo:lo + 100_000].reset_index(drop=True), cap=False)
            want = top_reasons_array(exact[:, order], model.feature_names_, Xobs)
            got = scores.iloc[lo:lo + 100_000].reset_index(drop=True)
            eq = np.ones(len(want), dtype=bool)
            for c in want.columns:
                eq &= want[c].fillna("").to_numpy() == got[c].fillna("").to_numpy()
            same += int(eq.sum())
            total += len(want)
        res["reasons_equal_exact"] = {"rows": total, "equal": same, "share": same / total}
        if est.booster_ is not None:
            res["exact_pred_contrib"] = {"seconds": t_contrib, "rows_per_s": a.rows / t_contrib}
            print(f"(b) exact pred_contrib of the delivered trees: {t_contrib:.1f}s = {a.rows / t_contrib:,.0f} "
                  f"rows/s", flush=True)
        else:
            print("(b) the delivered GBM is its linear base (no trees): reasons checked against its exact linear "
                  "contributions", flush=True)
        print(f"top-3 reasons equal to those of the exact contributions: {same}/{total} rows", flush=True)
        ratio = job["rows_per_s"] / res["plain_lgbm_200"]["rows_per_s"]
        res["job_vs_plain_lgbm"] = ratio
        print(f"job rows/s / plain LightGBM predict rows/s = {ratio:.1%} (target >= 30%)", flush=True)
        del M, scores
        _big(a, res, feats, model_dir, inp, tmp)


def _big(a, res, feats, model_dir, inp, tmp) -> None:
    if a.rows_big:
        big = tmp / "input_big.parquet"
        _input(feats, a.rows_big, big, a.seed + 1)
        inp.unlink()
        jb = _job(model_dir, big, tmp / "job_big", a.chunk_rows, a.workers)
        jb["rows_per_s"] = jb["rows"] / jb["wall_s"]
        res["job_big"] = jb
        print(f"job (big): {jb['rows']} rows in {jb['wall_s']:.1f}s = {jb['rows_per_s']:,.0f} rows/s; peak RSS "
              f"job {jb['peak_rss_job_mb']:.0f} MB, largest worker {jb['peak_rss_worker_mb']:.0f} MB", flush=True)
    res["load_average_end"] = os.getloadavg()
    res["peak_rss_this_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load average start {res['load_average_start']}, end {res['load_average_end']}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
