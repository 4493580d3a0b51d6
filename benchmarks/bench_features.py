"""Benchmark of the point-in-time feature pipeline (issue 3).

Usage::

    .venv/bin/python benchmarks/bench_features.py                 # 100k speed/memory + featuretools peer
    .venv/bin/python benchmarks/bench_features.py --skip-peer     # speed/memory only
    .venv/bin/python benchmarks/bench_features.py --enterprises 1000000 --chunk-size 100000 --skip-peer
    # (--chunk-size N: read, validate and featurise N enterprises at a time: bounded memory)

1. **Speed and memory**: a simulated city of N enterprises × 36 months (seed 42, cached under
   ``benchmarks/out/``) is loaded and validated with ``load_raw`` and its features built at two
   snapshots, in a fresh subprocess that reports its own peak RSS. The reference run in the same
   subprocess is a plain read of the Parquet files (I/O floor). Targets: N = 100k within 60 s and 6 GB.
2. **Peer**: on a 10k-enterprise city, the same rows (population ``active_loan`` at 2023-12-31 for
   training and 2024-12-31 for testing, 12-month label) are built by smecredit and by featuretools
   Deep Feature Synthesis (default primitives, ``max_depth=2``, cutoff times = snapshots), the latter
   in its own virtual environment ``benchmarks/.venv-featuretools`` (created on first use, because
   featuretools 1.31 needs pandas < 3). The same LightGBM is trained on each feature set and scored
   out of time. Targets: smecredit ≥ 10× faster; its AUC ≥ featuretools' AUC.

Figures are printed and written to ``benchmarks/out/bench_features.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FT_VENV = HERE / ".venv-featuretools"
FT_REQUIREMENTS = ["featuretools==1.31.0", "pandas>=2.2,<2.3", "lightgbm", "pyarrow"]
SNAPSHOTS = "2024-06-30,2024-12-31"
TRAIN, TEST = "2023-12-31", "2024-12-31"


def city(n: int, seed: int, months: int = 36) -> Path:
    """Simulated city folder (simulated once, then reused)."""
    path = OUT / f"city_{n}_{months}_s{seed}"
    if not (path / "loan_monthly.parquet").exists():
        from smecredit.simulation import simulate

        t = time.perf_counter()
        simulate(n, months, seed, path)
        print(f"  simulated {n:,} enterprises x {months} months in {time.perf_counter() - t:.1f} s")
    return path


def speed_worker(raw_dir: str, chunk_size: str) -> None:
    """Runs in a fresh subprocess: prints JSON with timings and own peak RSS."""
    import pandas as pd

    from smecredit.data import load_raw
    from smecredit.data.schemas import TABLES
    from smecredit.features import build_features

    t0 = time.perf_counter()
    for name in TABLES if not int(chunk_size) else ():
        p = Path(raw_dir) / f"{name}.parquet"
        if p.exists():
            pd.read_parquet(p)
    t1 = time.perf_counter()
    if int(chunk_size):
        # bounded memory: read + validate + featurise chunk by chunk (timed as one step)
        from smecredit.features.folder import build_features_from_folder

        t2 = t1
        table, _ = build_features_from_folder(raw_dir, SNAPSHOTS, chunk_size=int(chunk_size))
    else:
        raw = load_raw(raw_dir)
        t2 = time.perf_counter()
        table = build_features(raw, SNAPSHOTS)
    t3 = time.perf_counter()
    print(json.dumps({"read_parquet_s": t1 - t0, "load_validate_s": t2 - t1, "build_s": t3 - t2,
                      "rows": len(table), "features": table.shape[1] - 4,
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}))


def run_speed(n: int, chunk_size: int) -> dict:
    raw_dir = city(n, 42)
    proc = subprocess.run([sys.executable, __file__, "--_speed-worker", str(raw_dir), str(chunk_size)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(enterprises=n, chunk_size=chunk_size or None)
    total = res["load_validate_s"] + res["build_s"]
    print(f"  {n:,} enterprises x 36 months, snapshots {SNAPSHOTS}, chunk {chunk_size or 'none'}: "
          f"read Parquet (reference) {res['read_parquet_s']:.1f} s | load+validate {res['load_validate_s']:.1f} s | "
          f"build features{' (incl. chunked load+validate)' if chunk_size else ''} {res['build_s']:.1f} s | total {total:.1f} s | peak RSS {res['peak_rss_gb']:.2f} GB | "
          f"{res['rows']:,} rows x {res['features']} features")
    return res


def ensure_featuretools_venv() -> Path:
    py = FT_VENV / "bin" / "python"
    if not py.exists():
        print("  creating benchmarks/.venv-featuretools (pip from PyPI) ...")
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(FT_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *FT_REQUIREMENTS], check=True)
    return py


def _lgb_auc(table, cols, seed: int) -> float:
    import lightgbm as lgb
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    train = table[table.snapshot_date == TRAIN]
    test = table[table.snapshot_date == TEST]
    xtr, xte = train[cols].copy(), test[cols].copy()
    for c in cols:
        if xtr[c].dtype == object or pd.api.types.is_string_dtype(xtr[c]):
            cats = pd.Index(sorted(xtr[c].dropna().astype(str).unique()))
            xtr[c] = pd.Categorical(xtr[c].astype(object), categories=cats)
            te = xte[c].astype(object)
            xte[c] = pd.Categorical(te.where(te.isin(cats)), categories=cats)
    model = lgb.LGBMClassifier(n_estimators=400, learning_rate=0.02, num_leaves=15, min_child_samples=50,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.5, reg_lambda=1.0,
                               random_state=seed, n_jobs=1, verbose=-1)
    model.fit(xtr, train["bad"])
    return float(roc_auc_score(test["bad"], model.predict_proba(xte)[:, 1]))


def run_peer(n: int) -> dict:
    import numpy as np
    import pandas as pd

    from smecredit.data import load_raw
    from smecredit.features import build_features

    raw_dir = city(n, 43)
    raw = load_raw(raw_dir)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        ours = build_features(raw, f"{TRAIN},{TEST}", horizon=12)
        times.append(time.perf_counter() - t)
    ours_s = float(np.median(times))
    cut = OUT / f"cutoffs_{n}.parquet"
    ours[["enterprise_id", "snapshot_date", "bad"]].to_parquet(cut, index=False)
    py = ensure_featuretools_venv()
    ft_out, ft_timing = OUT / f"featuretools_{n}.parquet", OUT / f"featuretools_{n}.json"
    subprocess.run([str(py), str(HERE / "_featuretools_worker.py"), str(raw_dir), str(cut), str(ft_out),
                    str(ft_timing)], check=True)
    timing = json.loads(ft_timing.read_text())
    theirs = pd.read_parquet(ft_out)
    theirs["snapshot_date"] = pd.to_datetime(theirs["snapshot_date"]).astype("datetime64[ns]")
    theirs = ours[["enterprise_id", "snapshot_date", "bad"]].merge(theirs, on=["enterprise_id", "snapshot_date"],
                                                                   how="left")
    our_cols = list(ours.columns[4:])
    their_cols = [c for c in theirs.columns if c not in ("enterprise_id", "snapshot_date", "bad")]
    seeds = (0, 1, 2)
    auc_ours = [_lgb_auc(ours, our_cols, s) for s in seeds]
    auc_theirs = [_lgb_auc(theirs, their_cols, s) for s in seeds]
    res = {
        "enterprises": n, "rows": len(ours),
        "train_bad_rate": float(ours.loc[ours.snapshot_date == TRAIN, "bad"].mean()),
        "test_bad_rate": float(ours.loc[ours.snapshot_date == TEST, "bad"].mean()),
        "smecredit_build_s": ours_s, "smecredit_features": len(our_cols),
        "featuretools_dfs_s": timing["dfs_s"], "featuretools_features": timing["n_features"],
        "speedup": timing["dfs_s"] / ours_s,
        "auc_smecredit": float(np.mean(auc_ours)), "auc_featuretools": float(np.mean(auc_theirs)),
        "auc_smecredit_seeds": auc_ours, "auc_featuretools_seeds": auc_theirs,
        "featuretools_version": timing["featuretools"], "featuretools_pandas": timing["pandas"],
    }
    print(f"  peer on {n:,} enterprises ({len(ours):,} rows, train {TRAIN}, test {TEST}):")
    print(f"    smecredit    build {ours_s:7.2f} s  {len(our_cols):4d} features  LightGBM OOT AUC "
          f"{res['auc_smecredit']:.3f} (seeds {', '.join(f'{a:.3f}' for a in auc_ours)})")
    print(f"    featuretools DFS   {timing['dfs_s']:7.2f} s  {timing['n_features']:4d} features  LightGBM OOT AUC "
          f"{res['auc_featuretools']:.3f} (seeds {', '.join(f'{a:.3f}' for a in auc_theirs)})")
    print(f"    speed-up {res['speedup']:.0f}x (target >= 10x): {'met' if res['speedup'] >= 10 else 'NOT met'}; "
          f"AUC target (smecredit >= featuretools): "
          f"{'met' if res['auc_smecredit'] >= res['auc_featuretools'] else 'NOT met'}")
    return res


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_speed-worker":
        speed_worker(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--chunk-size", type=int, default=0,
                    help="0 = load everything; N = read, validate and featurise N enterprises at a time")
    ap.add_argument("--peer-enterprises", type=int, default=10_000)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bench_features.json"
    results: dict = json.loads(path.read_text()) if path.exists() else {}  # runs of other sizes are kept
    results.update({"date": time.strftime("%Y-%m-%d"), "machine": "2 cores, 24 GB"})
    if not args.skip_speed:
        print("speed and memory:")
        res = run_speed(args.enterprises, args.chunk_size)
        results.setdefault("speed", {})[f"{args.enterprises}_chunk{args.chunk_size}"] = res
        ok = res["load_validate_s"] + res["build_s"] <= 60 and res["peak_rss_gb"] <= 6
        if args.enterprises == 100_000:
            print(f"  target (100k within 60 s and 6 GB): {'met' if ok else 'NOT met'}")
    if not args.skip_peer:
        print("peer comparison (featuretools DFS):")
        results["peer"] = run_peer(args.peer_enterprises)
    path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
