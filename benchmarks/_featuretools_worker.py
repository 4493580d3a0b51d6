"""Featuretools DFS on a smecredit raw folder (runs inside benchmarks/.venv-featuretools).

Usage: python _featuretools_worker.py RAW_DIR CUTOFFS.parquet OUT.parquet TIMING.json

Builds an EntitySet of the raw tables with each table's as-of column as time index (secondary
time indexes for ``paid_date`` and ``pledge_date``; the extraction-time loan class is dropped,
as smecredit does, so neither side sees the outcome), then runs Deep Feature Synthesis with the
default primitives, ``max_depth=2`` and the given cutoff times (featuretools uses only data up
to and including each cutoff time). Writes the feature matrix and the wall time.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import featuretools as ft
import pandas as pd

warnings.filterwarnings("ignore")


def main(raw_dir: str, cutoffs_path: str, out_path: str, timing_path: str) -> None:
    t_read = time.perf_counter()
    read = lambda name: pd.read_parquet(f"{raw_dir}/{name}.parquet")  # noqa: E731
    ent = read("enterprises").drop(columns=["name"])
    loans = read("loans").drop(columns=["risk_class_5", "renewed_from_loan_id"])
    tables = {
        "tax_monthly": read("tax_monthly"), "utilities_monthly": read("utilities_monthly"),
        "social_insurance_monthly": read("social_insurance_monthly"), "judicial_events": read("judicial_events"),
        "admin_events": read("admin_events"), "tax_credit_annual": read("tax_credit_annual"),
        "ip_assets": read("ip_assets"), "supply_chain": read("supply_chain"), "green_annual": read("green_annual"),
    }
    lm = read("loan_monthly").drop(columns=["enterprise_id"])
    lev = read("loan_events").drop(columns=["enterprise_id"])
    cutoffs = pd.read_parquet(cutoffs_path)
    read_s = time.perf_counter() - t_read

    t0 = time.perf_counter()
    es = ft.EntitySet("city")
    es.add_dataframe(dataframe_name="enterprises", dataframe=ent, index="enterprise_id",
                     time_index="registration_date")
    time_index = {"tax_monthly": "month_end", "utilities_monthly": "month_end",
                  "social_insurance_monthly": "month_end", "judicial_events": "event_date",
                  "admin_events": "event_date", "tax_credit_annual": "published_date", "ip_assets": "grant_date",
                  "supply_chain": "issue_date", "green_annual": "published_date"}
    secondary = {"supply_chain": {"paid_date": ["paid_date"]}, "ip_assets": {"pledge_date": ["pledge_date", "pledged"]}}
    for name, df in tables.items():
        drop = [c for c in ("case_id", "asset_id", "instrument_id") if c in df.columns]
        df = df.drop(columns=drop).reset_index(drop=True)
        df.insert(0, "row_id", range(len(df)))
        es.add_dataframe(dataframe_name=name, dataframe=df, index="row_id", time_index=time_index[name],
                         secondary_time_index=secondary.get(name))
        es.add_relationship("enterprises", "enterprise_id", name, "enterprise_id")
    es.add_dataframe(dataframe_name="loans", dataframe=loans, index="loan_id", time_index="start_date")
    es.add_relationship("enterprises", "enterprise_id", "loans", "enterprise_id")
    lm = lm.reset_index(drop=True)
    lm.insert(0, "row_id", range(len(lm)))
    es.add_dataframe(dataframe_name="loan_monthly", dataframe=lm, index="row_id", time_index="month_end")
    es.add_relationship("loans", "loan_id", "loan_monthly", "loan_id")
    lev = lev.reset_index(drop=True)
    lev.insert(0, "row_id", range(len(lev)))
    es.add_dataframe(dataframe_name="loan_events", dataframe=lev, index="row_id", time_index="event_date")
    es.add_relationship("loans", "loan_id", "loan_events", "loan_id")

    ct = cutoffs.rename(columns={"snapshot_date": "time"})[["enterprise_id", "time"]]
    fm, defs = ft.dfs(entityset=es, target_dataframe_name="enterprises", cutoff_time=ct, max_depth=2,
                      cutoff_time_in_index=True, n_jobs=1, verbose=False)
    dfs_s = time.perf_counter() - t0
    fm = fm.reset_index().rename(columns={"time": "snapshot_date"})
    for c in fm.columns:
        if str(fm[c].dtype) == "category":
            fm[c] = fm[c].astype(str).where(fm[c].notna(), None)
        elif str(fm[c].dtype) in ("boolean", "bool"):
            fm[c] = fm[c].astype("float64")
        elif str(fm[c].dtype).startswith(("Int", "Float")):
            fm[c] = fm[c].astype("float64")
    fm.columns = [str(c) for c in fm.columns]
    fm.to_parquet(out_path, index=False)
    with open(timing_path, "w") as fh:
        json.dump({"read_s": read_s, "dfs_s": dfs_s, "n_features": len(defs), "rows": len(fm),
                   "featuretools": ft.__version__, "pandas": pd.__version__}, fh)


if __name__ == "__main__":
    main(*sys.argv[1:5])
