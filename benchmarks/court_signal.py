"""Single-feature AUC of the court (judicial) features on the default city (issue 14, court signals).

Simulates the default city (default 20,000 enterprises × 36 months, seed 3), builds the point-in-time
features of the active-loan population at three snapshots (12-month label) and prints the AUC of each
judicial feature alone (oriented so that 0.5 is no signal), its coverage (share of rows with a non-zero
value) and, for comparison, the oracle AUC of the true PD.

    PYTHONPATH=src .venv/bin/python benchmarks/court_signal.py [--enterprises 20000] [--seed 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from smecredit.data import load_raw
from smecredit.features import build_features
from smecredit.simulation import SimConfig, simulate

FEATURES = ("jud_lawsuits_12m", "jud_lawsuits_24m", "jud_enforcements_12m", "jud_enforcements_24m",
            "jud_amount_24m", "jud_days_since_last", "jud_dishonest_now")


def measure(city: Path) -> pd.DataFrame:
    raw = load_raw(city)
    months = sorted(pd.read_parquet(city / "_truth" / "pd_true.parquet")["month_end"].unique())
    snaps = [pd.Timestamp(months[i]) for i in (11, 17, 23)]
    tab = build_features(raw, snaps)
    tab = tab[tab["observable"].astype(bool)] if "observable" in tab else tab
    y = tab["bad"].astype(int).to_numpy()
    pdt = pd.read_parquet(city / "_truth" / "pd_true.parquet")
    p = tab[["enterprise_id", "snapshot_date"]].merge(
        pdt.rename(columns={"month_end": "snapshot_date"}), how="left")["pd_12m"].to_numpy()
    rows = [("oracle (true 12-month PD)", roc_auc_score(y[~np.isnan(p)], p[~np.isnan(p)]), np.nan)]
    for f in FEATURES:
        x = tab[f].astype(float).fillna(0 if f != "jud_days_since_last" else 1e9).to_numpy()
        x = -x if f == "jud_days_since_last" else x
        cov = float((x != x.min()).mean())
        rows.append((f, roc_auc_score(y, x), cov))
    any12 = (tab["jud_lawsuits_12m"].fillna(0) + tab["jud_enforcements_12m"].fillna(0)
             + tab["jud_dishonest_now"].fillna(0)).to_numpy()
    rows.append(("lawsuits + enforcements 12m + listed", roc_auc_score(y, any12), float((any12 > 0).mean())))
    out = pd.DataFrame(rows, columns=["feature", "auc", "coverage"])
    out.attrs["rows"], out.attrs["bad_rate"] = len(tab), float(y.mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="simulate into this folder (reused when it exists)")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    cfg = SimConfig(n_enterprises=a.enterprises, months=a.months, seed=a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        city = a.keep or Path(tmp) / "city"
        if not (city / "judicial_events.parquet").exists():
            t = time.perf_counter()
            simulate(out=city, config=cfg)
            print(f"simulated in {time.perf_counter() - t:.1f} s")
        res = measure(city)
    print(f"{res.attrs['rows']:,} rows (3 snapshots), 12-month bad rate {res.attrs['bad_rate']:.2%}")
    print(res.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
