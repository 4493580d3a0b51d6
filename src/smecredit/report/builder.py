"""Compute the content of the model-governance report (sections 1–10) as plain data.

:func:`build_report` takes a fitted :class:`~smecredit.models.CreditModel`, the report's data
and optional reference (training) data and challenger model, and returns a context dict that
:func:`smecredit.report.render.render_report` turns into HTML. Nothing here writes files.

Statistical shortcuts, all stated in the report: bootstrap confidence intervals use
``n_boot`` stratified resamples; the beeswarm and dependence plots show a random sample of
``sample_size`` rows (global importance uses every row); PSI bins come from the reference data.
Sections whose data are absent (e.g. no dates or no segments in a single-table dataset) say so.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from smecredit.exceptions import ConfigError, DataContractError, sheet_rows
from smecredit.explain import explain, global_importance, local_explanations
from smecredit.privacy import pseudonymise
from smecredit.report import plots, shap_plots
from smecredit.report.data_quality import data_quality_section
from smecredit.report.evidence import evidence
from smecredit.report.long_run import long_run_section
from smecredit.report.scope import scope_section
from smecredit.validation.metrics import auc, auc_ci, bootstrap_ci, delong_test, grade_tests, hosmer_lemeshow
from smecredit.validation.report import grade_test_rules
from smecredit.validation.stability import (feature_psi, information_value, migration_matrix, paired_grades, psi,
                                            psi_status, psi_table)

log = logging.getLogger(__name__)

ID_COL, TIME_COL = "enterprise_id", "snapshot_date"
SEGMENTS = {  # label -> candidate columns (registry family first, raw names second)
    "County": ("reg_county", "county"),
    "Mountain county": ("reg_mountain_county", "mountain_county"),
    "Industry": ("reg_industry", "industry"),
    "Size class": ("reg_size_class", "size_class"),
    "Legal form": ("reg_legal_form", "legal_form"),
    "Tech SME": ("reg_tech_sme", "tech_sme"),
    "Green enterprise": ("reg_green", "green"),
}
MIN_SEGMENT_AUC_ROWS = 30
EAD_COL = "cr_balance"  # loan balance at the snapshot: the exposure of the concentration measures


@dataclass
class ReportData:
    """The data a report is computed on.

    Attributes
    ----------
    frame : DataFrame
        Features plus meta columns (``enterprise_id``, ``snapshot_date``, target) when present.
    source : str
        Where the data came from (a path, shown in the report).
    fingerprint : str
        SHA-256 of the data (file or frame fingerprint).
    catalog : DataFrame or None
        The feature catalogue (``name, family, source, description_en, ...``).
    """

    frame: pd.DataFrame
    source: str
    fingerprint: str
    catalog: pd.DataFrame | None = None
    manifest: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReportSettings:
    """Parameters of the report computations (validated by :meth:`check`)."""

    cutoff_pd: float = 0.05
    n_boot: int = 200
    sample_size: int = 5000
    n_local: int = 5
    n_dependence: int = 3
    n_psi_features: int = 10
    migration_months: int = 12
    seed: int = 0

    def check(self) -> None:
        if not isinstance(self.cutoff_pd, Real) or not 0 < self.cutoff_pd < 1:
            raise ConfigError(f"cutoff_pd must be a PD in (0, 1); got {self.cutoff_pd!r}")
        for name, lo in (("n_boot", 10), ("sample_size", 100), ("n_local", 1), ("n_dependence", 0),
                         ("n_psi_features", 1), ("migration_months", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Integral) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}; got {v!r}")


# --------------------------------------------------------------------------- helpers
def _window(meta: dict) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Training window ``(start, end)`` from model metadata, or ``None``."""
    w = meta.get("training_window") or meta.get("train_window")
    start = end = None
    if isinstance(w, dict):
        start, end = w.get("start"), w.get("end")
    elif isinstance(w, (list, tuple)) and len(w) == 2:
        start, end = w
    elif isinstance(w, str) and "/" in w:
        start, end = w.split("/", 1)
    start = start or meta.get("train_start")
    end = end or meta.get("train_end")
    snaps = meta.get("train_snapshots")
    if (start is None or end is None) and isinstance(snaps, (list, tuple)) and snaps:
        start, end = min(snaps), max(snaps)
    if start is None or end is None:
        return None
    try:
        return pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        return None


def _fmt_window(w) -> str:
    return "not recorded" if w is None else f"{w[0].date()} to {w[1].date()}"


def _segment_column(frame: pd.DataFrame, candidates) -> str | None:
    return next((c for c in candidates if c in frame.columns), None)


def _flag_label(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, float, np.integer, np.floating)) and not (isinstance(v, float) and math.isnan(v)):
        return "yes" if float(v) >= 0.5 else "no"
    return "missing" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _ci(y, p, metric, settings: ReportSettings) -> dict:
    return bootstrap_ci(y, p, metric, n_boot=settings.n_boot, random_state=settings.seed)


def _both_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < y.sum() < len(y)


# --------------------------------------------------------------------------- section 2: data
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


# --------------------------------------------------------------------------- section 3: features
def feature_section(model, frame: pd.DataFrame, y: pd.Series | None, catalog: pd.DataFrame | None) -> dict:
    """Catalogue rows of the model's features with IV; scorecard binning tables."""
    names = list(model.feature_names_)
    cat = catalog.set_index("name") if catalog is not None and "name" in catalog.columns else None
    labelled = y.notna() if y is not None else None
    iv_model = getattr(model.estimator_, "iv_", None) if model.kind == "scorecard" else None
    rows = []
    for n in names:
        if iv_model is not None:
            iv, iv_src = iv_model.get(n), "training (optbinning)"
        elif labelled is not None and labelled.sum() > 0 and _both_classes(y[labelled].to_numpy()):
            iv, iv_src = information_value(frame.loc[labelled, n], y[labelled]), "report data (deciles)"
        else:
            iv, iv_src = None, ""
        entry = {"name": n, "type": model.feature_types_.get(n, ""), "iv": iv, "iv_source": iv_src,
                 "missing": float(frame[n].isna().mean()) if n in frame.columns else None}
        if cat is not None and n in cat.index:
            r = cat.loc[n]
            entry.update({"family": r.get("family", ""), "source": r.get("source", ""),
                          "description_en": r.get("description_en", ""), "description_zh": r.get("description_zh", ""),
                          "direction": r.get("direction", "")})
        else:
            entry.update({"family": "", "source": "", "description_en": "", "description_zh": "",
                          "direction": (model.metadata_.get("directions") or {}).get(n, "")})
        rows.append(entry)
    out = {"rows": rows, "catalogued": cat is not None, "binning": []}
    if model.kind == "scorecard":
        table = model.scorecard_table()
        selected = list(model.estimator_.selected_features_)
        for var in selected:
            t = table[table["Variable"] == var]
            out["binning"].append({"name": var, "iv": float(model.estimator_.iv_.get(var, float("nan"))),
                                   "bins": t[["Bin", "Count", "Count (%)", "Event rate", "WoE", "Points"]]
                                   .to_dict("records")})
        out["dropped"] = [{"name": k, "reason": v} for k, v in model.estimator_.dropped_features_.items()]
    return out


# --------------------------------------------------------------------------- section 4: discrimination
def discrimination_section(samples: dict[str, tuple[np.ndarray, np.ndarray]], settings: ReportSettings) -> dict:
    """AUC, Gini, KS and Brier with bootstrap CIs per sample; ROC and KS plots."""
    rows, curves = [], {}
    for label, (y, p) in samples.items():
        if not _both_classes(y):
            rows.append({"sample": label, "n": len(y), "defaults": int(np.sum(y)), "note": "needs both classes"})
            continue
        a, k, b = _ci(y, p, "auc", settings), _ci(y, p, "ks", settings), _ci(y, p, "brier", settings)
        rows.append({"sample": label, "n": len(y), "defaults": int(y.sum()), "auc": a, "ks": k, "brier": b,
                     "gini": {"value": 2 * a["value"] - 1, "ci_low": 2 * a["ci_low"] - 1,
                              "ci_high": 2 * a["ci_high"] - 1}})
        curves[label] = (y, p, a["value"])
    out = {"rows": rows, "available": bool(curves)}
    if curves:
        out["roc_plot"] = plots.roc_plot(curves)
        main = next(iter(curves))
        y, p, _ = curves[main]
        ks_value = next(r["ks"]["value"] for r in rows if r["sample"] == main)
        out["ks_plot"] = plots.ks_plot(y, p, ks_value)
        out["ks_sample"] = main
    return out


# --------------------------------------------------------------------------- section 5: calibration
def calibration_section(y: np.ndarray, p: np.ndarray, grades: np.ndarray, all_grades: np.ndarray, model, *,
                        clusters: np.ndarray | None = None, in_sample: bool = False,
                        exposure: np.ndarray | None = None) -> dict:
    """Per-grade binomial and Jeffreys tests (gated, Holm-corrected, clustered), Hosmer-Lemeshow, master scale.

    ``clusters`` (enterprise ids) make the grade tests use the design effect of repeated rows;
    ``in_sample`` says the rows are the model's training rows (Hosmer-Lemeshow with g - 2 df).
    """
    order = model.master_scale_.grades
    scale = model.master_scale_.table()
    counts = pd.Series(all_grades).astype(str).value_counts().reindex(order, fill_value=0)
    out = {"scale": scale.to_dict("records"),
           "distribution": [{"grade": g, "n": int(counts[g]), "share": float(counts[g] / max(counts.sum(), 1))}
                            for g in order],
           "distribution_plot": plots.bar_plot(order, (counts / max(counts.sum(), 1)).to_numpy(),
                                               title="Master-scale distribution", xlabel="Grade",
                                               ylabel="Share of rows")}
    out["max_share"] = float(counts.max() / max(counts.sum(), 1))
    shares = (counts / max(counts.sum(), 1)).to_numpy()
    out["hhi_rows"] = float(np.sum(shares ** 2))  # Herfindahl-Hirschman index over grades (1/n_grades .. 1)
    if exposure is not None and np.nansum(exposure) > 0:
        ex = pd.Series(np.nan_to_num(exposure, nan=0.0)).groupby(pd.Series(all_grades).astype(str).to_numpy()).sum()
        ex = ex.reindex(order, fill_value=0.0) / ex.sum()
        for d in out["distribution"]:
            d["exposure_share"] = float(ex[d["grade"]])
        out["hhi_exposure"] = float(np.sum(ex.to_numpy() ** 2))
        out["max_exposure_share"] = float(ex.max())
    if not _both_classes(y):
        out["available"] = False
        return out
    if clusters is not None and len(pd.unique(clusters)) == len(clusters):
        clusters = None  # one row per enterprise: nothing to correct
    tests = pd.DataFrame(grade_tests(y, p, grades, order=order, clusters=clusters))
    tests = tests[tests["n"] > 0].copy()
    tests["flag"] = tests["verdict"]
    out.update({"available": True, "grades": tests.to_dict("records"),
                "plot": plots.calibration_plot(tests), "hosmer_lemeshow": hosmer_lemeshow(y, p, in_sample=in_sample),
                "mean_pd": float(p.mean()), "default_rate": float(y.mean()),
                "rules": grade_test_rules(clusters is not None),
                "deff": float(tests["deff"].iloc[0]) if len(tests) else 1.0,
                "n_insufficient": int((tests["verdict"] == "insufficient evidence").sum()),
                "n_flagged": int((tests["verdict"] == "PD too low").sum())})
    return out


# --------------------------------------------------------------------------- section 6: stability
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


# --------------------------------------------------------------------------- section 7: SHAP
def _describer():
    """``describe(name, value, lang)`` of the feature catalogue; ``None`` when not available."""
    try:
        from smecredit.features.catalog import describe
    except ImportError:  # pragma: no cover - the features layer ships with the package
        return None
    return describe


def family_importance(values: pd.DataFrame, catalog: pd.DataFrame | None) -> list[dict]:
    """Importance per feature family: mean over rows of |sum of the family's contributions|.

    Contributions are additive, so a family's sum is its joint contribution: correlated features of one
    family (e.g. sales over 3, 6 and 12 months) no longer split the credit between them.
    """
    if catalog is None or not {"name", "family"}.issubset(catalog.columns):
        return []
    fam = dict(zip(catalog["name"].astype(str), catalog["family"].astype(str), strict=False))
    keys = [fam.get(str(c), "other") for c in values.columns]
    joint = values.T.groupby(keys).sum().T.abs().mean(axis=0)
    split = values.abs().mean(axis=0).groupby(keys).sum()
    total = float(joint.sum()) or 1.0
    rows = [{"family": f, "joint": float(joint[f]), "share": float(joint[f] / total), "sum_of_features": float(split[f]),
             "n_features": int(sum(k == f for k in keys))} for f in joint.index]
    return sorted(rows, key=lambda r: -r["joint"])


def shap_section(model, frame: pd.DataFrame, preds: pd.DataFrame, settings: ReportSettings, key: bytes | None,
                 catalog: pd.DataFrame | None = None) -> tuple[dict, pd.DataFrame]:
    """Global importance (all rows), beeswarm and dependence (a sample), local explanations (pseudonymised)."""
    from smecredit.models.reasons import reason_text

    expl = explain(model, frame)
    imp = global_importance(expl)
    rng = np.random.default_rng(settings.seed)
    n = len(frame)
    sample = np.sort(rng.choice(n, settings.sample_size, replace=False)) if n > settings.sample_size else np.arange(n)
    top = imp["feature"].head(15).tolist()
    sx = shap_plots.to_shap(expl, sample)
    sx_text = shap_plots.to_shap(expl, sample, text_levels=True)
    col = {f: k for k, f in enumerate(sx.feature_names)}
    out = {"unit": expl.unit, "kind": expl.kind, "n_rows": n, "n_sample": len(sample),
           "importance": imp.head(25).to_dict("records"),
           "importance_plot": plots.bar_plot(imp["feature"].head(20), imp["mean_abs"].head(20),
                                             title="Global importance: mean |contribution|",
                                             xlabel=f"mean |contribution| ({expl.unit})", horizontal=True,
                                             height=0.3 * min(20, len(imp)) + 1.2),
           "beeswarm_plot": shap_plots.beeswarm_plot(sx, unit=expl.unit, max_display=len(top), seed=settings.seed),
           "families": family_importance(expl.values, catalog)}
    out["dependence"] = [{"feature": f, "plot": shap_plots.dependence_plot(sx_text[:, col[f]], feature=f,
                                                                           unit=expl.unit)}
                         for f in imp["feature"].head(settings.n_dependence)]
    # local explanations: highest, median and lowest PD plus random rows
    p = preds["pd"].to_numpy()
    order = np.argsort(p, kind="mergesort")
    picks = [int(order[-1]), int(order[len(order) // 2]), int(order[0])]
    for i in rng.permutation(n):
        if len(picks) >= min(settings.n_local, n):
            break
        if int(i) not in picks:
            picks.append(int(i))
    picks = picks[:settings.n_local]
    describe = _describer()
    entries = local_explanations(expl, picks, top=6, describe=lambda c, v: reason_text(c, v, describe))
    locals_ = []
    for label, i, ent in zip(["highest PD", "median PD", "lowest PD"] + ["random"] * n, picks, entries,
                             strict=False):
        ident = pseudonymise(str(frame[ID_COL].iloc[i]), key) if ID_COL in frame.columns else f"row {i + 1}"
        snap = str(pd.Timestamp(frame[TIME_COL].iloc[i]).date()) if TIME_COL in frame.columns else ""
        locals_.append({"label": label, "id": ident, "snapshot": snap, "pd": float(preds["pd"].iloc[i]),
                        "grade": str(preds["grade"].iloc[i]), "score": float(preds["score"].iloc[i]),
                        "reasons": [str(preds[c].iloc[i]) for c in ("reason_1", "reason_2", "reason_3")],
                        "entries": ent,
                        "plot": shap_plots.waterfall_plot(shap_plots.to_shap(expl, [i], text_levels=True)[0], unit=expl.unit,
                                                          title=f"{ident}: largest contributions")})
    out["local"] = locals_
    return out, imp


# --------------------------------------------------------------------------- section 8: segments
def segment_section(frame: pd.DataFrame, y: pd.Series | None, preds: pd.DataFrame, cutoff_pd: float) -> dict:
    """AUC, default rate, mean PD and approval rate (PD <= cut-off) per segment value."""
    tables = []
    mountain_col = _segment_column(frame, SEGMENTS["Mountain county"])
    for label, candidates in SEGMENTS.items():
        col = _segment_column(frame, candidates)
        if col is None:
            continue
        values = frame[col]
        if label in ("Mountain county", "Tech SME", "Green enterprise"):
            keys = values.map(_flag_label)
        else:
            keys = values.astype(object).where(values.notna(), "missing").astype(str)
        rows = []
        for k in sorted(keys.unique()):
            m = (keys == k).to_numpy()
            row = _segment_row(str(k), m, y, preds, cutoff_pd)
            if label == "County" and mountain_col is not None:
                row["mountain"] = bool(_flag_label(frame.loc[m, mountain_col].iloc[0]) == "yes")
            rows.append(row)
        if label == "County" and mountain_col is not None:
            rows.sort(key=lambda r: (r.get("mountain", False), r["value"]))
            mm = (frame[mountain_col].map(_flag_label) == "yes").to_numpy()
            rows.append(_segment_row("all mountain counties", mm, y, preds, cutoff_pd) | {"mountain": True,
                                                                                          "total": True})
            rows.append(_segment_row("all other counties", ~mm, y, preds, cutoff_pd) | {"mountain": False,
                                                                                        "total": True})
        tables.append({"label": label, "column": col, "rows": rows})
    return {"available": bool(tables), "tables": tables, "cutoff_pd": cutoff_pd,
            "overall_approval": float((preds["pd"] <= cutoff_pd).mean())}


def _segment_row(value: str, m: np.ndarray, y: pd.Series | None, preds: pd.DataFrame, cutoff_pd: float) -> dict:
    p = preds["pd"].to_numpy()[m]
    row = {"value": value, "n": int(m.sum()), "mean_pd": float(p.mean()) if len(p) else None,
           "approval": float((p <= cutoff_pd).mean()) if len(p) else None, "default_rate": None, "auc": None,
           "n_labelled": 0, "total": False, "mountain": False}
    if y is not None:
        yy = y.to_numpy()[m]
        lab = ~np.isnan(yy)
        row["n_labelled"] = int(lab.sum())
        if lab.any():
            row["default_rate"] = float(yy[lab].mean())
        if lab.sum() >= MIN_SEGMENT_AUC_ROWS and _both_classes(yy[lab]):
            row["auc"] = auc(yy[lab], p[lab])
            if min(yy[lab].sum(), (1 - yy[lab]).sum()) >= 2:
                row["auc_ci"] = auc_ci(yy[lab], p[lab])
    return row


# --------------------------------------------------------------------------- section 9: comparison
def model_form(model) -> dict | None:
    """What a GBM actually is after its out-of-fold test: linear base alone or linear base + trees."""
    d = getattr(model.estimator_, "tree_decision_", None) if model.kind == "gbm" else None
    if not d:
        return None
    return {"decision": d.get("decision"), "reason": d.get("reason"), "oof_auc_base": d.get("oof_auc_base"),
            "oof_auc_full": d.get("oof_auc_full"), "n_trees": int(getattr(model.estimator_, "n_rounds_", 0))}


def recommendation(this_kind: str, other_kind: str, delong: dict | None, sample: str | None,
                   alpha: float = 0.05) -> str:
    """The model to use, judged by the AUC on the comparison sample (out of time when known), not by kind."""
    if not delong:
        return "No recommendation: the report data have no labelled rows to compare the two models on."
    a, b, p = delong["auc_1"], delong["auc_2"], delong["p_value"]
    best, worse = (f"this report's model ({this_kind})", f"the compared {other_kind} model") if a >= b else \
        (f"the compared model ({other_kind})", f"this report's {this_kind} model")
    text = (f"Recommended: {best}, AUC {max(a, b):.4f} against {min(a, b):.4f} for {worse} on the {sample} "
            f"(DeLong p = {p:.3g}).")
    if p >= alpha:
        text += (" The difference is within noise: both models rank these rows equally well, so either may be used "
                 "and the simpler one to explain is a fair choice.")
    return text


def comparison_section(model, other, frame: pd.DataFrame, model_input: pd.DataFrame, y: pd.Series | None,
                       preds: pd.DataFrame, test_mask: np.ndarray | None = None,
                       test_label: str = "labelled rows") -> dict:
    """Agreement of two models' grades, rank correlation of their PDs, DeLong test, disagreements.

    The DeLong test uses the labelled rows of ``test_mask`` (the out-of-time rows when known), so
    that neither model is judged on the rows it was trained on.
    """
    missing = [c for c in other.feature_names_ if c not in frame.columns]
    if missing:
        raise DataContractError(f"the compared model needs column(s) the report data lack: {', '.join(missing)}")
    op = other.predict(frame[[c for c in frame.columns if c in set(other.feature_names_) | {ID_COL, TIME_COL}]],
                       flag_missing=False)
    order = model.master_scale_.grades
    idx = {g: i for i, g in enumerate(order)}
    ga = preds["grade"].astype(str).map(idx).to_numpy(dtype=float)
    gb = op["grade"].astype(str).map(idx).to_numpy(dtype=float)
    rho = stats.spearmanr(preds["pd"].to_numpy(), op["pd"].to_numpy()).statistic
    out = {"available": True, "this": model.kind, "other": other.kind, "n": len(frame),
           "same_grade": float(np.mean(ga == gb)), "within_one": float(np.mean(np.abs(ga - gb) <= 1)),
           "spearman": float(rho)}
    cross = pd.crosstab(pd.Categorical(preds["grade"].astype(str), categories=order),
                        pd.Categorical(op["grade"].astype(str), categories=order), dropna=False)
    cross = cross.loc[cross.sum(axis=1) > 0, cross.sum(axis=0) > 0]
    shares = cross.div(cross.sum(axis=1), axis=0)
    out["plot"] = plots.heatmap_plot(shares, title="Grade cross-tab (row shares)",
                                     xlabel=f"grade by the {other.kind} model",
                                     ylabel=f"grade by the {model.kind} model")
    if y is not None:
        lab = y.notna().to_numpy()
        if test_mask is not None:
            lab = lab & test_mask
        yy = y.to_numpy()[lab]
        if _both_classes(yy) and min(yy.sum(), len(yy) - yy.sum()) >= 2:
            out["delong"] = delong_test(yy, preds["pd"].to_numpy()[lab], op["pd"].to_numpy()[lab])
            out["delong_sample"] = f"{test_label}, n = {int(lab.sum()):,}"
    out["recommendation"] = recommendation(model.kind, other.kind, out.get("delong"), out.get("delong_sample"))
    out["form_this"], out["form_other"] = model_form(model), model_form(other)
    groups = []
    expl = explain(model, model_input).values
    for label, m in ((f"{model.kind} riskier by 3+ grades", ga - gb >= 3),
                     (f"{other.kind} riskier by 3+ grades", gb - ga >= 3)):
        row = {"group": label, "n": int(m.sum()), "share": float(m.mean())}
        if m.any():
            row["pd_this"] = float(preds["pd"].to_numpy()[m].mean())
            row["pd_other"] = float(op["pd"].to_numpy()[m].mean())
            if y is not None:  # observed outcomes of the held-out rows only (the training rows would flatter)
                yy = y.to_numpy()[m if test_mask is None else m & test_mask]
                lab = ~np.isnan(yy)
                row["default_rate"] = float(yy[lab].mean()) if lab.any() else None
                row["n_labelled"] = int(lab.sum())
            drivers = expl.loc[m].mean(axis=0).abs().sort_values(ascending=False).head(3)
            row["drivers"] = ", ".join(drivers.index.astype(str))
        groups.append(row)
    out["disagreements"] = groups
    out["disagreement_outcome_sample"] = test_label if test_mask is not None else "all labelled rows"
    return out


# --------------------------------------------------------------------------- assembly
def build_report(model, data: ReportData, *, identity: dict, reference: pd.DataFrame | None = None,
                 reference_label: str = "", compare=None, settings: ReportSettings | None = None,
                 pseudonym_key: bytes | None = None, holdout: np.ndarray | None = None,
                 stress: dict | None = None, progress=None) -> dict:
    """Compute every section of the governance report; return the template context.

    ``holdout`` marks the rows the model held out for its test (a random split on a single
    table); without a training window or a holdout, figures on labelled rows are labelled as
    possibly in-sample, never presented as a test.

    Parameters
    ----------
    model : CreditModel
    data : ReportData
    identity : dict
        Section 1 fields prepared by the caller (registered name, version, run id, code version...).
    reference : DataFrame or None
        Training (reference) data for the PSI. ``None``: the rows of ``data`` inside the model's
        training window are the reference and the rows after it the actual sample.
    compare : CreditModel or None
        A second model (e.g. scorecard vs GBM) for section 9.
    settings : ReportSettings or None
    pseudonym_key : bytes or None
        Key of the enterprise pseudonyms (default: :func:`smecredit.privacy.load_key`).
    progress : callable or None
        Called with the name of each section as it starts; silent when None.
    stress : dict or None
        Result of :func:`smecredit.pipelines.stress.stress_test` (sensitivity and stress subsection).
    """
    stage = progress or (lambda name: None)
    settings = settings or ReportSettings()
    settings.check()
    frame = data.frame
    if len(frame) == 0:
        raise DataContractError(f"report data {data.source} have no rows")
    target = model.metadata_.get("target") or "bad"
    missing = [c for c in model.feature_names_ if c not in frame.columns]
    if missing:
        raise DataContractError(f"report data {data.source}: {len(missing)} feature column(s) the model needs are "
                                f"missing: {', '.join(missing)}")
    keep = [c for c in frame.columns if c in set(model.feature_names_) | {ID_COL, TIME_COL, "in_default"}]
    model_input = frame[keep]
    preds = model.predict(model_input, flag_missing=False)
    y = None
    if target in frame.columns:
        y = pd.to_numeric(frame[target], errors="coerce").astype("float64")
        if "observable" in frame.columns:
            y = y.where(frame["observable"].fillna(False).astype(bool), np.nan)
        bad = y.notna() & ~y.isin([0.0, 1.0])
        if bad.any():
            raise DataContractError(f"report data {data.source}: target column {target!r} must be 0/1; see "
                                    f"{sheet_rows(bad.to_numpy(), 5)}")
    features = list(model.feature_names_)
    limitations: list[str] = []
    notes: dict[str, str] = {}

    window = _window(model.metadata_)
    t = pd.to_datetime(frame[TIME_COL]) if TIME_COL in frame.columns else None
    lab = y.notna().to_numpy() if y is not None else np.zeros(len(frame), dtype=bool)
    in_time = oot = None
    if window is not None and t is not None:
        in_time = ((t >= window[0]) & (t <= window[1])).to_numpy()
        oot = (t > window[1]).to_numpy()

    ev = evidence(frame, model.metadata_, window, lab, holdout=holdout)
    held = ev.oot if ev.has_oot else None  # performance evidence: held-out rows only

    # 2-3 data and features
    stage("data and features")
    data_sec = data_section(frame, y, preds, data.catalog, features)
    feat_sec = feature_section(model, frame, y if held is None else y.where(held), data.catalog)
    feat_sec["iv_sample"] = ev.oot_label if held is not None else "all labelled rows (no out-of-time sample)"

    # 4 discrimination: out-of-time first; the training window only as a labelled overfitting check
    stage("discrimination (bootstrap intervals)")
    samples = {}
    if lab.any():
        yy, pp = y.to_numpy(), preds["pd"].to_numpy()
        if held is not None:
            samples[ev.oot_label] = (yy[held], pp[held])
        elif ev.oot is not None:
            limitations.append("No labelled rows in the out-of-time sample: no out-of-time test; the figures "
                               "below are in-sample and are not performance evidence.")
        else:
            samples["all labelled rows (may include training rows)"] = (yy[lab & ev.population],
                                                                       pp[lab & ev.population])
            limitations.append(ev.note + " Figures are on all labelled rows.")
        if ev.in_sample is not None and ev.in_sample.any():
            samples[ev.in_sample_label] = (yy[ev.in_sample], pp[ev.in_sample])
        disc = discrimination_section(samples, settings)
        disc["evidence_note"] = ev.note
        if held is not None and ev.in_sample is not None:
            rows = {r["sample"]: r for r in disc["rows"] if "auc" in r}
            if ev.oot_label in rows and ev.in_sample_label in rows:
                disc["overfit_gap"] = rows[ev.in_sample_label]["auc"]["value"] - rows[ev.oot_label]["auc"]["value"]
    else:
        disc = {"available": False, "rows": []}
        notes["discrimination"] = f"The data have no observed outcomes (column {target!r}); discrimination " \
                                  "and calibration cannot be measured."
        limitations.append(notes["discrimination"])

    # 4b scope: performance by population view and days-past-due bucket (held-out rows when known)
    scope = scope_section(model.metadata_, frame, y, preds, ev.oot_all if held is not None else lab,
                          ev.oot_label if held is not None else "all labelled rows (no out-of-time sample)",
                          n_boot=settings.n_boot, seed=settings.seed)
    if scope.get("auc_drop") is not None and scope["auc_drop"] > 0.02:
        v = scope["views"]
        limitations.append(f"Without the rows in arrears the AUC ({scope['sample']}) falls from "
                           f"{v[0]['auc']['value']:.3f} to {v[1]['auc']['value']:.3f}: part of the discrimination "
                           "comes from borrowers already past due (see section 4, populations).")

    # 5 calibration
    stage("calibration")
    cal_mask = held if held is not None else lab & ev.population
    cal_label = ev.oot_label if held is not None else "all labelled rows"
    cal = calibration_section(y.to_numpy()[cal_mask] if y is not None else np.array([]),
                              preds["pd"].to_numpy()[cal_mask], preds["grade"].astype(str).to_numpy()[cal_mask],
                              preds["grade"].astype(str).to_numpy(), model,
                              clusters=frame[ID_COL].astype(str).to_numpy()[cal_mask] if ID_COL in frame else None,
                              in_sample=held is None,
                              exposure=pd.to_numeric(frame[EAD_COL], errors="coerce").to_numpy(dtype="float64")
                              if EAD_COL in frame.columns else None)
    cal["sample"] = cal_label
    if cal["max_share"] > 0.35:
        limitations.append(f"One grade holds {cal['max_share']:.0%} of the rows: the master-scale distribution is "
                           "concentrated (Basel: no excessive concentration).")
    if cal.get("max_exposure_share", 0) > 0.35:
        limitations.append(f"One grade holds {cal['max_exposure_share']:.0%} of the exposure (loan balance): the "
                           "master-scale distribution of exposure is concentrated.")

    # 5b long-run calibration (EBA GL/2017/16): LRA, MoC, PD per grade
    long_run = long_run_section(model, frame, y, preds, ev.population, cal)
    if long_run["available"]:
        lr = long_run["long_run"]
        if not lr["enough_years"]:
            limitations.append(f"The default history covers {lr['years']:.1f} years ({lr['first']} to {lr['last']}), "
                               f"less than the {lr['min_years']} years GL/2017/16 asks for the long-run average; "
                               "the margin of conservatism (category A) covers it.")
        if not lr["downturn"]:
            limitations.append("No downturn year in the default history: the long-run average may be too low "
                               "(margin of conservatism, category A).")

    # 7 SHAP (before stability: its importance ranks the features whose PSI is shown)
    stage("SHAP explanations")
    shap_sec, imp = shap_section(model, model_input, preds, settings, pseudonym_key, catalog=data.catalog)
    if shap_sec["n_sample"] < shap_sec["n_rows"]:
        limitations.append(f"The beeswarm and dependence plots show a random sample of {shap_sec['n_sample']:,} "
                           f"of {shap_sec['n_rows']:,} rows; global importance uses every row.")

    # 6 stability
    stage("stability and migration")
    top_features = imp["feature"].head(settings.n_psi_features).tolist()
    if reference is not None:
        absent = [c for c in model.feature_names_ if c not in reference.columns]
        if absent:
            raise DataContractError(f"reference data lack feature column(s) {', '.join(absent)}")
        ref_preds = model.predict(reference[[c for c in reference.columns if c in set(model.feature_names_)]],
                                  flag_missing=False)
        stab = stability_section(reference, ref_preds, frame, preds, top_features,
                                 reference_label or "training data", "report data", model.master_scale_.grades)
    elif in_time is not None and in_time.any() and oot.any():
        fi, fo = frame[in_time], frame[oot]
        stab = stability_section(fi, preds[in_time], fo, preds[oot], top_features,
                                 f"rows in the training window ({_fmt_window(window)})",
                                 "rows after the training window", model.master_scale_.grades)
    else:
        stab = {"available": False,
                "note": "No reference data: pass the training data (--reference) or report on data that extend "
                        "beyond the model's recorded training window."}
        limitations.append("Population stability (PSI) was not computed: " + stab["note"])
    migr = migration_section(frame, preds, settings.migration_months, model.master_scale_.grades, y=y,
                             horizon=model.metadata_.get("horizon_months") or model.metadata_.get("horizon") or 12)
    if reference is not None:
        dq = data_quality_section(model, frame, reference, frame, data.catalog, reference_label or "training data",
                                  "report data")
    elif in_time is not None and in_time.any() and oot.any():
        dq = data_quality_section(model, frame, frame[in_time], frame[oot], data.catalog,
                                  f"rows in the training window ({_fmt_window(window)})",
                                  "rows after the training window")
    else:
        dq = data_quality_section(model, frame, None, None, data.catalog, "", "")
    if dq["breaks"]:
        limitations.append(f"{len(dq['breaks'])} feature(s) are 100 % missing at some snapshot (structural break): "
                           + ", ".join(sorted(dq["breaks"])[:10]) + ("…" if len(dq["breaks"]) > 10 else "") + ".")

    # 8 segments
    stage("segments")
    seg = segment_section(frame, y if held is None else y.where(held), preds, settings.cutoff_pd)
    seg["outcome_sample"] = ev.oot_label if held is not None else "all labelled rows (no out-of-time sample)"
    if not seg["available"]:
        seg["note"] = ("The data have no segment columns (county, industry, size class, legal form, tech or "
                       "green flags; the registry feature family provides them).")
        limitations.append("Segment analysis not possible: " + seg["note"])

    # 9 comparison
    stage("comparison with the second model")
    if compare is not None:
        comp = comparison_section(model, compare, frame, model_input, y, preds, test_mask=held,
                                  test_label=ev.oot_label if held is not None else "all labelled rows")
    else:
        comp = {"available": False, "note": "No second model was given (smecredit report --compare MODEL)."}

    if data_sec["n_labelled"] and data_sec["n_defaults"] < 100:
        limitations.append(f"Only {data_sec['n_defaults']} defaults are observed: confidence intervals are wide.")
    limitations.append(f"Bootstrap confidence intervals use {settings.n_boot} stratified resamples (95 % "
                       "percentile intervals).")
    limitations.append("PSI thresholds (0.10 monitor, 0.25 shift) are industry practice, not regulation.")
    limitations.append("Explanations are associations learned from data, not causal effects; reason codes show "
                       "the largest risk-raising contributions.")
    if model.kind == "gbm":
        limitations.append("SHAP values of the GBM are in log-odds of the uncalibrated score; the calibration "
                           "map is monotone, so rankings and signs carry over to the PD.")

    return {
        "identity": identity,
        "data": data_sec,
        "features": feat_sec,
        "discrimination": disc,
        "scope": scope,
        "calibration": cal,
        "long_run": long_run,
        "stability": stab,
        "migration": migr,
        "data_quality": dq,
        "stress": stress or {"scenarios": [], "note": "No stress test was run (smecredit report --stress-raw RAW "
                                                      "--stress-as-of DATE, or smecredit stress)."},
        "shap": shap_sec,
        "segments": seg,
        "comparison": comp,
        "limitations": limitations,
        "notes": notes,
        "settings": settings,
        "training_window": _fmt_window(window),
    }
