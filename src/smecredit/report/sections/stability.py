"""Section 6 of the governance report: population stability (PSI of score, grade and features) and grade
migration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.report import plots
from smecredit.report.sections.common import ID_COL, TIME_COL
from smecredit.validation.stability import feature_psi, migration_matrix, paired_grades, psi_status, psi_table


def stability_section(ref_frame: pd.DataFrame, ref_preds: pd.DataFrame, act_frame: pd.DataFrame,
                      act_preds: pd.DataFrame, features: list[str], reference_label: str, actual_label: str,
                      grade_order: list[str]) -> dict:
    """PSI of the score, the grade and the top features (bins from the reference)."""
    score_tab = psi_table(ref_preds["score"], act_preds["score"], bins=10)
    grade_tab = psi_table(ref_preds["grade"].astype(str), act_preds["grade"].astype(str), categorical=True)
    fpsi = feature_psi(ref_frame, act_frame, features)
    score_psi, grade_psi = float(score_tab["psi"].sum()), float(grade_tab["psi"].sum())
    ref_share = ref_preds["grade"].astype(str).value_counts(normalize=True).reindex(grade_order, fill_value=0)
    act_share = act_preds["grade"].astype(str).value_counts(normalize=True).reindex(grade_order, fill_value=0)
    return {
        "available": True, "reference": reference_label, "actual": actual_label,
        "n_reference": len(ref_frame), "n_actual": len(act_frame),
        "score_psi": score_psi, "score_status": psi_status(score_psi), "score_table": score_tab.to_dict("records"),
        "grade_psi": grade_psi, "grade_status": psi_status(grade_psi),
        "grade_table": pd.DataFrame({"grade": grade_order, "ref_share": ref_share.to_numpy(),
                                     "act_share": act_share.to_numpy()}).to_dict("records"),
        "features": fpsi.to_dict("records"),
        "feature_plot": plots.bar_plot(fpsi["feature"], fpsi["psi"], title="Feature PSI (top features)",
                                       xlabel="PSI", horizontal=True, height=0.3 * len(fpsi) + 1.2,
                                       lines={"monitor 0.10": 0.10, "shift 0.25": 0.25}),
    }


def _with_defaults(g: pd.DataFrame, y: pd.Series, months: int, pairs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Migration pairs with a default column: an obligor that defaults within the horizon migrates to ``D``.

    Defaulters leave the panel, so without this the ``D`` column would be empty by construction. Only
    start snapshots with a snapshot ``months`` later in the data count (their window is observed).
    """
    t = pd.to_datetime(g[TIME_COL])
    k = (t.dt.year * 12 + t.dt.month).to_numpy()
    left = pd.DataFrame({"id": g[ID_COL].to_numpy(), "k": k, "from": g["grade"].to_numpy(), "y": y.to_numpy()})
    right = pd.DataFrame({"id": g[ID_COL].to_numpy(), "k": k - months, "to": g["grade"].to_numpy()})
    later = set(np.unique(k) - months) & set(np.unique(k))
    both = left[left["k"].isin(later)].merge(right, on=["id", "k"], how="left")
    both.loc[both["y"] == 1, "to"] = "D"
    both = both[both["to"].notna()]
    return both[["from", "to"]].reset_index(drop=True), int((both["to"] == "D").sum())


def migration_section(frame: pd.DataFrame, preds: pd.DataFrame, months: int, grade_order: list[str],
                      y: pd.Series | None = None, horizon: int | None = None) -> dict:
    """Grade migration over ``months`` between snapshots of the same obligor (shortest gap as fallback).

    With outcomes ``y`` over a ``horizon`` equal to the gap, obligors that default migrate to grade ``D``.
    """
    if ID_COL not in frame.columns or TIME_COL not in frame.columns:
        return {"available": False, "note": "the data have no enterprise id and snapshot date columns"}
    g = pd.DataFrame({ID_COL: frame[ID_COL].to_numpy(), TIME_COL: frame[TIME_COL].to_numpy(),
                      "grade": preds["grade"].astype(str).to_numpy()})
    pairs = paired_grades(g, months=months)
    used = months
    if pairs.empty:
        t = pd.to_datetime(g[TIME_COL])
        k = np.unique(t.dt.year * 12 + t.dt.month)
        if len(k) >= 2:
            used = int(np.min(np.diff(k)))
            pairs = paired_grades(g, months=used)
    if pairs.empty:
        return {"available": False, "note": "no obligor appears at two snapshots"}
    n_default = 0
    if y is not None and horizon is not None and used == horizon:
        pairs, n_default = _with_defaults(g, y, used, pairs)
    shares = migration_matrix(pairs["from"], pairs["to"], grades=grade_order)
    shares = shares.loc[(shares.sum(axis=1) > 0), :]
    idx = {gr: i for i, gr in enumerate(grade_order)}
    f = pairs["from"].map(idx).to_numpy()
    t = pairs["to"].map(idx).to_numpy()
    return {"available": True, "months": used, "n_pairs": len(pairs), "n_default": n_default,
            "stable": float(np.mean(f == t)), "within_one": float(np.mean(np.abs(f - t) <= 1)),
            "upgrades": float(np.mean(t < f)), "downgrades": float(np.mean(t > f)),
            "plot": plots.heatmap_plot(shares, title=f"Grade migration over {used} months (row shares)",
                                       xlabel="grade at the later snapshot", ylabel="grade at the earlier snapshot")}
