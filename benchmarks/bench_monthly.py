"""Benchmark of the whole monthly job (raw tables → features at the as-of date → scores), local vs Spark.

Simulates a city (--n enterprises × --months), trains a small GBM on its features (the job's cost is
the features and the scoring, not the model), then runs ``smecredit run-batch`` in a subprocess with the
local engine and with ``--engine spark --spark-master local[2]``: wall time and peak RSS (the job process
and its children: Spark's JVM and Python workers).

Usage:  .venv/bin/python benchmarks/bench_monthly.py [--n 100000] [--months 36] [--as-of 2025-12-31]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

WRAPPER = r"""
import json, resource, sys, time
from smecredit.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent's size at the fork
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rc": rc, "wall_s": time.perf_counter() - t,
                  "peak_rss_job_mb": hwm / 1024,
                  "peak_rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _run(args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC), "SPARK_LOCAL_IP": "127.0.0.1"}
    r = subprocess.run([sys.executable, "-c", WRAPPER, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--as-of", default="2025-12-31")
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-spark", action="store_true")
    a = ap.parse_args()
    from smecredit.data import load_raw
    from smecredit.simulation import simulate
    from smecredit.features import build_features
    from smecredit.models.credit_model import fit_credit_model
    from smecredit.models.dataset import feature_columns
    from smecredit.registry import input_example, save_model

    res: dict = {"load_average_start": os.getloadavg(), "args": vars(a) | {"json": None}}
    with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        city = simulate(a.n, a.months, a.seed, tmp / "city")
        res["simulate_s"] = time.perf_counter() - t
        small = simulate(3000, a.months, a.seed, tmp / "small")
        feats = build_features(load_raw(small), "2024-12-31", population="all")
        types = feature_columns(feats, "bad")
        X = feats[list(types)]
        model = fit_credit_model(X, feats["bad"].fillna(0).astype(int), kind="gbm")
        model_dir = save_model(model, tmp / "gbm", example=input_example(model, X))
        base = ["run-batch", "--model", str(model_dir), "--raw", str(city), "--as-of", a.as_of,
                "--chunk-size", str(a.chunk_size)]
        res["local"] = _run([*base, "--out", str(tmp / "local")])
        print(f"monthly job, {a.n} enterprises, local: {res['local']}", flush=True)
        if a.no_spark:
            res["load_average_end"] = os.getloadavg()
            if a.json:
                a.json.write_text(json.dumps(res, indent=2, default=str))
            return
        res["spark_local2"] = _run([*base, "--out", str(tmp / "spark"), "--engine", "spark",
                                    "--spark-master", "local[2]"])
        print(f"monthly job, {a.n} enterprises, Spark local[2]: {res['spark_local2']}", flush=True)
        res["spark_over_local"] = res["spark_local2"]["wall_s"] / res["local"]["wall_s"]
        print(f"Spark local[2] / local wall time: {res['spark_over_local']:.2f}", flush=True)
    res["load_average_end"] = os.getloadavg()
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
