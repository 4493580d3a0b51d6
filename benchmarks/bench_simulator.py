"""Scale benchmark of the city simulator (issue: 100k × 36 within 2 min and 4 GB; 1M completes).

Each size runs in a fresh subprocess so that wall time and peak resident memory are those of
one `smecredit simulate` call. The 10k run is the in-process reference: the larger runs
are reported against its per-enterprise cost, so a regression shows as a growing ratio.

    .venv/bin/python benchmarks/bench_simulator.py            # 10k and 100k
    .venv/bin/python benchmarks/bench_simulator.py --full     # also 1M

The load average before and after each run is printed: on a shared machine the wall time depends on it.
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

CODE = """
import sys, time
from smecredit.simulation import SimConfig, simulate
cfg = SimConfig(n_enterprises=int(sys.argv[1]), months=int(sys.argv[2]), seed=1)
t = time.perf_counter()
simulate(out=sys.argv[3], config=cfg)
print(time.perf_counter() - t)
"""


def run(n: int, months: int, workdir: Path) -> dict:
    out = workdir / f"city_{n}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CODE, str(n), str(months), str(out)],
                          check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"enterprises": n, "months": months, "wall_s": round(wall, 1),
            "simulate_s": round(float(proc.stdout.strip().splitlines()[-1]), 1),
            "peak_rss_gb": round(max(peak_kb, before) / 1024**2, 2), "output_mb": round(size / 1024**2, 1),
            "load_before": round(load_before, 1), "load_after": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="also simulate 1,000,000 enterprises")
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--sizes", type=int, nargs="*", help="enterprise counts (default 10k and 100k)")
    args = ap.parse_args()
    sizes = args.sizes or [10_000, 100_000] + ([1_000_000] if args.full else [])
    with tempfile.TemporaryDirectory() as tmp:
        results = [run(n, args.months, Path(tmp)) for n in sizes]
    ref = results[0]["simulate_s"] / results[0]["enterprises"]
    for r in results:
        r["cost_vs_10k_reference"] = round(r["simulate_s"] / r["enterprises"] / ref, 2)
        target = ""
        if r["enterprises"] == 100_000:
            ok = r["wall_s"] <= 120 and r["peak_rss_gb"] <= 4
            target = f"  target ≤120 s and ≤4 GB: {'PASS' if ok else 'FAIL'}"
        print(json.dumps(r) + target)


if __name__ == "__main__":
    main()
