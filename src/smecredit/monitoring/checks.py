"""The checks of :func:`smecredit.monitoring.monitor`, their thresholds and traffic lights.

:class:`MonitorSettings` holds the thresholds; each ``*_check`` function compares the baseline and
current samples (already scored) and returns plain JSON-ready data with a light (:func:`light`,
:func:`worst`). :mod:`smecredit.monitoring.monitor` assembles them and re-exports every name here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator
from scipy import stats

from smecredit.config_model import FrozenConfig
from smecredit.report.sections.data import coverage_by_family
from smecredit.report.sections.segments import segment_section
from smecredit.validation.metrics import binomial_test, bootstrap_ci, grade_tests, jeffreys_test
from smecredit.validation.stability import migration_matrix, psi_table

ID_COL, TIME_COL = "enterprise_id", "snapshot_date"
STATUSES = ("n/a", "green", "amber", "red")


class MonitorSettings(FrozenConfig):
    """Thresholds and sampling parameters of a monitoring run: a frozen pydantic model (unknown fields rejected,
    every invalid field reported at once as a :class:`~smecredit.exceptions.ConfigError`, exit 2; then the
    amber/red pairs are checked for order)."""

    model_config = ConfigDict(title="monitoring settings")

    psi_amber: float = Field(0.10, gt=0)
    psi_red: float = Field(0.25, gt=0)
    bins: int = Field(10, ge=2)
    calibration_p_amber: float = Field(0.05, gt=0, lt=1)
    calibration_p_red: float = Field(0.001, gt=0, lt=1)
    auc_drop_amber: float = Field(0.03, gt=0)
    auc_drop_red: float = Field(0.05, gt=0)
    auc_min_defaults: int = Field(30, ge=2)
    auc_p_amber: float = Field(0.05, gt=0, lt=1)
    auc_p_red: float = Field(0.01, gt=0, lt=1)
    coverage_amber: float = Field(0.05, gt=0)
    coverage_red: float = Field(0.15, gt=0)
    min_grade_rows: int = Field(20, ge=1)
    cutoff_pd: float = Field(0.05, gt=0, lt=1)
    n_boot: int = Field(200, ge=10)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        problems = [f"{lo} and {hi} must satisfy {lo} < {hi}; got {getattr(self, lo)!r} and {getattr(self, hi)!r}"
                    for lo, hi in (("psi_amber", "psi_red"), ("auc_drop_amber", "auc_drop_red"),
                                   ("coverage_amber", "coverage_red")) if not getattr(self, lo) < getattr(self, hi)]
        if not self.calibration_p_red < self.calibration_p_amber:
            problems.append(f"calibration p-values must satisfy red < amber; got amber {self.calibration_p_amber!r}, "
                            f"red {self.calibration_p_red!r}")
        if not self.auc_p_red <= self.auc_p_amber:
            problems.append(f"AUC p-values must satisfy red <= amber; got amber {self.auc_p_amber!r}, red {self.auc_p_red!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def check(self) -> None:
        """Nothing to do: the settings are validated when constructed (kept for callers of the old API)."""


def light(value: float | None, amber: float, red: float) -> str:
    """Traffic light of a value that is worse when larger: green < amber <= amber < red <= red.

    Examples
    --------
    >>> light(0.05, 0.10, 0.25), light(0.10, 0.10, 0.25), light(0.25, 0.10, 0.25), light(None, 0.1, 0.25)
    ('green', 'amber', 'red', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    return "red" if value >= red else "amber" if value >= amber else "green"


def worst(statuses) -> str:
    """The worst of several traffic lights (``n/a`` < green < amber < red)."""
    ranks = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranks)] if ranks else "n/a"


def stability_check(base: pd.DataFrame, cur: pd.DataFrame, bp: pd.DataFrame, cp: pd.DataFrame,
                    features: list[str], s: MonitorSettings) -> dict:
    """Score PSI, grade PSI and the CSI of every feature (bins from the baseline)."""
    score_tab = psi_table(bp["score"], cp["score"], bins=s.bins)
    grade_tab = psi_table(bp["grade"].astype(str), cp["grade"].astype(str), categorical=True)
    rows = []
    for f in features:
        tab = psi_table(base[f], cur[f], bins=s.bins)
        v = float(tab["psi"].sum())
        rows.append({"feature": f, "csi": v, "status": light(v, s.psi_amber, s.psi_red),
                     "base_missing": float(base[f].isna().mean()), "current_missing": float(cur[f].isna().mean())})
    rows.sort(key=lambda r: (-r["csi"], r["feature"]))
    score_psi, grade_psi = float(score_tab["psi"].sum()), float(grade_tab["psi"].sum())
    return {"score_psi": score_psi, "score_status": light(score_psi, s.psi_amber, s.psi_red),
            "score_table": score_tab.to_dict("records"),
            "grade_psi": grade_psi, "grade_status": light(grade_psi, s.psi_amber, s.psi_red),
            "grade_table": grade_tab.to_dict("records"), "csi": rows,
            "csi_status": worst([r["status"] for r in rows])}


def migration_check(base: pd.DataFrame, cur: pd.DataFrame, bp: pd.DataFrame, cp: pd.DataFrame,
                    grade_order: list[str]) -> dict:
    """Grade at each enterprise's latest baseline snapshot → grade at its latest current snapshot."""
    if not {ID_COL, TIME_COL} <= set(base.columns) or not {ID_COL, TIME_COL} <= set(cur.columns):
        return {"available": False, "note": "the data have no enterprise_id and snapshot_date columns"}

    def latest(frame, preds):
        g = pd.DataFrame({"id": frame[ID_COL].astype(str).to_numpy(), "t": pd.to_datetime(frame[TIME_COL]).to_numpy(),
                          "grade": preds["grade"].astype(str).to_numpy()})
        return g.sort_values(["id", "t"], kind="mergesort").drop_duplicates("id", keep="last")

    pairs = latest(base, bp).merge(latest(cur, cp), on="id", suffixes=("_from", "_to"))
    if pairs.empty:
        return {"available": False, "note": "no enterprise appears in both periods"}
    counts = migration_matrix(pairs["grade_from"], pairs["grade_to"], grades=grade_order, normalize=False)
    idx = {g: i for i, g in enumerate(grade_order)}
    f, t = pairs["grade_from"].map(idx).to_numpy(), pairs["grade_to"].map(idx).to_numpy()
    return {"available": True, "n_pairs": len(pairs), "grades": grade_order,
            "counts": counts.to_numpy().tolist(),
            "stable": float(np.mean(f == t)), "within_one": float(np.mean(np.abs(f - t) <= 1)),
            "upgrades": float(np.mean(t < f)), "downgrades": float(np.mean(t > f)),
            "net_downgrades": float(np.mean(t > f) - np.mean(t < f))}


def calibration_check(y: pd.Series | None, preds: pd.DataFrame, grade_order: list[str], s: MonitorSettings) -> dict:
    """Realised vs predicted default rate per grade on matured rows (binomial and Jeffreys tests)."""
    if y is None or not y.notna().any():
        return {"available": False, "status": "n/a", "note": "no current row has a matured outcome yet"}
    lab = y.notna().to_numpy()
    yy, pp = y.to_numpy()[lab], preds["pd"].to_numpy()[lab]
    gg = preds["grade"].astype(str).to_numpy()[lab]
    rows = [r for r in grade_tests(yy, pp, gg, order=grade_order) if r["n"] > 0 and r["grade"] != grade_order[-1]]
    d_all = int(yy.sum())
    rows.append({"grade": "all", "n": len(yy), "defaults": d_all, "pd_mean": float(pp.mean()),
                 "default_rate": float(yy.mean()), "binomial_p": binomial_test(d_all, len(yy), float(pp.mean())),
                 "jeffreys_p": jeffreys_test(d_all, len(yy), float(pp.mean()))})
    # a grade with too few defaults and expected defaults is not judged (the validation pack's gate,
    # smecredit.validation.metrics.grade_tests: "insufficient evidence")
    judged = [r["n"] >= s.min_grade_rows and r.get("verdict") != "insufficient evidence" for r in rows]
    k = max(1, sum(judged[:-1]))  # grades tested (Bonferroni)
    for r, ok in zip(rows, judged):
        a, b = r["defaults"] + 0.5, r["n"] - r["defaults"] + 0.5
        r["jeffreys_low"], r["jeffreys_high"] = float(stats.beta.ppf(0.025, a, b)), float(stats.beta.ppf(0.975, a, b))
        if not ok:
            r["status"] = "n/a"
            continue
        # family-wise level over the grades tested; the portfolio row is one test
        p = min(1.0, r["jeffreys_p"] * (1 if r["grade"] == "all" else k))
        r["jeffreys_p_adjusted"] = p
        r["status"] = "red" if p < s.calibration_p_red else "amber" if p < s.calibration_p_amber else "green"
    return {"available": True, "n": len(yy), "defaults": d_all, "n_grades_tested": k, "rows": rows,
            "status": worst(r["status"] for r in rows)}


def discrimination_check(y: pd.Series | None, preds: pd.DataFrame, development_auc: float | None,
                         development_source: str, s: MonitorSettings, development_se: float | None = None) -> dict:
    """Realised AUC on matured current rows (bootstrap 95 % CI) against the development AUC, gated on the number
    of defaults and a one-sided DeLong test (:mod:`smecredit.monitoring.auc_gate`)."""
    from smecredit.monitoring.auc_gate import auc_drop_test, auc_status

    out = {"development_auc": development_auc, "development_source": development_source}
    if y is None or not y.notna().any():
        return out | {"available": False, "status": "n/a", "note": "no current row has a matured outcome yet"}
    lab = y.notna().to_numpy()
    yy, pp = y.to_numpy()[lab], preds["pd"].to_numpy()[lab]
    if not 0 < yy.sum() < len(yy):
        return out | {"available": False, "status": "n/a", "note": "matured rows have a single class"}
    ci = bootstrap_ci(yy, pp, "auc", n_boot=s.n_boot, random_state=s.seed)
    drop = None if development_auc is None else float(development_auc - ci["value"])
    test = auc_drop_test(yy, pp, development_auc, development_se)
    status, gate = auc_status(test, int(yy.sum()), int(len(yy) - yy.sum()), s)
    return out | {"available": True, "n": len(yy), "defaults": int(yy.sum()), "realised_auc": ci,
                  "auc_drop": drop, "delong": test, "gate": gate, "status": status}


def missing_check(base: pd.DataFrame, cur: pd.DataFrame, catalog: pd.DataFrame | None, features: list[str],
                  s: MonitorSettings) -> dict:
    """Coverage of each source family (share of rows with its data) in both periods."""
    b = {r["family"]: r for r in coverage_by_family(base, catalog, features)}
    c = {r["family"]: r for r in coverage_by_family(cur, catalog, features)}
    rows = []
    for fam in b.keys() & c.keys():
        change = c[fam]["coverage"] - b[fam]["coverage"]
        rows.append({"family": fam, "source": b[fam]["source"], "base_coverage": b[fam]["coverage"],
                     "current_coverage": c[fam]["coverage"], "change": change,
                     "status": light(abs(change), s.coverage_amber, s.coverage_red)})
    rows.sort(key=lambda r: (-abs(r["change"]), r["family"]))
    if not rows:
        return {"available": False, "status": "n/a", "rows": [],
                "note": "no feature catalogue with source families for these features"}
    return {"available": True, "rows": rows, "status": worst(r["status"] for r in rows)}


def segments_check(base: pd.DataFrame, cur: pd.DataFrame, yb, yc, bp, cp, s: MonitorSettings) -> dict:
    """The governance report's segment tables (share, mean PD, approval, default rate, AUC) in both periods."""
    sb = segment_section(base.reset_index(drop=True), None if yb is None else yb.reset_index(drop=True),
                         bp.reset_index(drop=True), s.cutoff_pd)
    sc = segment_section(cur.reset_index(drop=True), None if yc is None else yc.reset_index(drop=True),
                         cp.reset_index(drop=True), s.cutoff_pd)
    if not sc["available"]:
        return {"available": False, "tables": []}
    base_tables = {t["label"]: {r["value"]: r for r in t["rows"]} for t in sb["tables"]}
    tables = []
    for t in sc["tables"]:
        rows = []
        for r in t["rows"]:
            br = base_tables.get(t["label"], {}).get(r["value"], {})
            rows.append({"value": r["value"], "total": r.get("total", False),
                         "base_share": (br.get("n", 0) / len(base)) if not r.get("total") and br else None,
                         "current_share": r["n"] / len(cur) if not r.get("total") else None,
                         "base_mean_pd": br.get("mean_pd"), "current_mean_pd": r["mean_pd"],
                         "base_approval": br.get("approval"), "current_approval": r["approval"],
                         "current_default_rate": r["default_rate"], "current_auc": r["auc"],
                         "current_n_labelled": r["n_labelled"]})
        tables.append({"label": t["label"], "rows": rows})
    return {"available": True, "tables": tables, "cutoff_pd": s.cutoff_pd,
            "base_approval": sb["overall_approval"], "current_approval": sc["overall_approval"]}
