"""Section 2 of the governance report: the data (rows, outcomes, coverage by feature family)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.report import plots
from smecredit.report.sections.common import ID_COL, TIME_COL


def data_section(frame: pd.DataFrame, y: pd.Series | None, preds: pd.DataFrame, catalog: pd.DataFrame | None,
                 features: list[str]) -> dict:
    """Counts, default rate per snapshot and missing-data coverage by source family."""
    out: dict = {"n_rows": len(frame), "n_features": len(features)}
    out["n_enterprises"] = int(frame[ID_COL].nunique()) if ID_COL in frame.columns else None
    labelled = y.notna() if y is not None else pd.Series(False, index=frame.index)
    out["n_labelled"] = int(labelled.sum())
    out["n_defaults"] = int(y[labelled].sum()) if y is not None else 0
    out["default_rate"] = float(y[labelled].mean()) if out["n_labelled"] else None
    out["mean_pd"] = float(preds["pd"].mean())
    if TIME_COL in frame.columns:
        t = pd.to_datetime(frame[TIME_COL])
        out["first_snapshot"], out["last_snapshot"] = str(t.min().date()), str(t.max().date())
        tab = pd.DataFrame({"snapshot": t.dt.date.astype(str), "pd": preds["pd"].to_numpy(),
                            "y": y.to_numpy() if y is not None else np.nan})
        g = tab.groupby("snapshot", sort=True)
        per = pd.DataFrame({"n": g.size(), "labelled": g["y"].count(), "defaults": g["y"].sum(min_count=1),
                            "default_rate": g["y"].mean(), "mean_pd": g["pd"].mean()}).reset_index()
        out["n_snapshots"] = len(per)
        out["by_snapshot"] = per.to_dict("records")
        shown = per[per["labelled"] > 0]
        out["default_rate_plot"] = plots.default_rate_plot(shown) if len(shown) >= 2 else None
    else:
        out["n_snapshots"] = None
        out["by_snapshot"] = []
        out["default_rate_plot"] = None
    out["coverage"] = coverage_by_family(frame, catalog, features)
    return out


def coverage_by_family(frame: pd.DataFrame, catalog: pd.DataFrame | None, features: list[str]) -> list[dict]:
    """Share of rows with usable data per source family (``<family>_missing`` indicator when present)."""
    if catalog is None or not {"name", "family"}.issubset(catalog.columns):
        return []
    cat = catalog[catalog["name"].isin(frame.columns)]
    rows = []
    for family, grp in cat.groupby("family", sort=False):
        names = [n for n in grp["name"] if n in frame.columns]
        indicator = f"{family}_missing"
        if indicator in frame.columns:
            covered = 1.0 - float(pd.to_numeric(frame[indicator], errors="coerce").fillna(1.0).mean())
            how = f"1 - mean of {indicator}"
        else:
            covered = float(frame[names].notna().any(axis=1).mean())
            how = "any feature of the family present"
        source = str(grp["source"].iloc[0]) if "source" in grp.columns else ""
        rows.append({"family": str(family), "source": source, "n_features": len(names),
                     "n_used": len([n for n in names if n in features]), "coverage": covered, "rule": how})
    return rows
