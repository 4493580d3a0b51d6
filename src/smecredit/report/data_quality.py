"""Report content on data quality and stability: PSI/CSI of every feature, structural breaks, coverage per
snapshot and the outlier policy (section 6, ``templates/_data_quality.html``).

* **PSI / CSI of every model feature** (:func:`smecredit.validation.stability.feature_psi`, bins from the
  reference rows), not only the most important ones.
* **Structural breaks** — a feature that is 100 % missing at a snapshot while present at others (a source
  not yet delivered or a definition change): its PSI is not a drift statistic but a break, flagged as such.
* **Coverage per snapshot** — share of rows with data from each source family at each snapshot.
* **Outlier policy** — per feature, the model's caps (learned on the training rows, saved with the model and
  applied at scoring: :mod:`smecredit.models.outliers`), how many of the report's rows they cap, and the
  share of the report's rows outside the reference rows' 0.1–99.9 % range. A model saved without caps shows
  how it treats extremes instead (the scorecard's outer bins, the GBM's winsorised linear base and
  threshold-only trees).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.models.outliers import count_capped, rule_text
from smecredit.validation.stability import feature_psi

TAIL = 0.001


def structural_breaks(frame: pd.DataFrame, features: list[str], time_col: str = "snapshot_date") -> dict[str, list]:
    """Snapshots at which a feature is 100 % missing while it has values at other snapshots."""
    if time_col not in frame.columns:
        return {}
    snap = pd.to_datetime(frame[time_col]).dt.date.astype(str)
    miss = frame[features].isna().groupby(snap.to_numpy()).mean()
    out = {}
    for f in features:
        col = miss[f]
        if (col >= 1.0).any() and (col < 1.0).any():
            out[f] = sorted(col.index[col >= 1.0].tolist())
    return out


def coverage_by_snapshot(frame: pd.DataFrame, catalog: pd.DataFrame | None, features: list[str],
                         time_col: str = "snapshot_date") -> dict:
    """Share of rows with data from each source family, per snapshot (``<family>_missing`` when present)."""
    if catalog is None or time_col not in frame.columns or not {"name", "family"}.issubset(catalog.columns):
        return {"families": [], "rows": []}
    cat = catalog[catalog["name"].isin(features)]
    snap = pd.to_datetime(frame[time_col]).dt.date.astype(str).to_numpy()
    cols = {}
    for family, grp in cat.groupby("family", sort=True):
        indicator = f"{family}_missing"
        if indicator in frame.columns:
            present = 1.0 - pd.to_numeric(frame[indicator], errors="coerce").fillna(1.0).to_numpy()
        else:
            names = [n for n in grp["name"] if n in frame.columns]
            present = frame[names].notna().any(axis=1).to_numpy(dtype="float64")
        cols[str(family)] = present
    if not cols:
        return {"families": [], "rows": []}
    tab = pd.DataFrame(cols).groupby(snap).mean()
    rows = [{"snapshot": str(s), "coverage": {k: float(v) for k, v in r.items()}} for s, r in tab.iterrows()]
    return {"families": list(tab.columns), "rows": rows}


def _treatment(model, name: str) -> str:
    caps = getattr(model, "outlier_caps_", {}) or {}
    if name in caps:
        tail = (model.metadata_.get("outlier_policy") or {}).get("tail", 0.001)
        return f"capped: {rule_text(tail)}, in training and at scoring"
    not_capped = (model.metadata_.get("outlier_policy") or {}).get("not_capped", {})
    if name in not_capped:
        return f"not capped ({not_capped[name]})"
    est = model.estimator_
    if model.kind == "scorecard":
        return "binned: values beyond the outer bin edges take the outer bin's points (capped by construction)"
    linear = getattr(est, "linear_", None)
    lo, hi = getattr(linear, "lo_", {}) or {}, getattr(linear, "hi_", {}) or {}
    if name in lo and name in hi:
        logged = name in (getattr(linear, "log_offset_", {}) or {})
        how = "log-transformed, then " if logged else ""
        return (f"trees: threshold splits (extremes fall in the outer leaf); linear base: {how}winsorised at the "
                "training 0.1 % / 99.9 % quantiles")
    return "trees: threshold splits (extremes fall in the outer leaf); no cap needed"


def outlier_table(model, reference: pd.DataFrame, actual: pd.DataFrame, features: list[str]) -> list[dict]:
    """Per numeric feature: treatment, reference 0.1 % / 99.9 % quantiles, share of actual rows outside."""
    rows = []
    for f in features:
        r = pd.to_numeric(reference[f], errors="coerce") if f in reference.columns else None
        a = pd.to_numeric(actual[f], errors="coerce") if f in actual.columns else None
        if r is None or a is None or not pd.api.types.is_numeric_dtype(reference[f].dtype) or r.notna().sum() < 10:
            continue
        lo, hi = np.nanquantile(r.to_numpy(dtype="float64"), [TAIL, 1 - TAIL])
        av = a.to_numpy(dtype="float64")
        ok = ~np.isnan(av)
        below = float(np.mean(av[ok] < lo)) if ok.any() else 0.0
        above = float(np.mean(av[ok] > hi)) if ok.any() else 0.0
        cap = (getattr(model, "outlier_caps_", {}) or {}).get(f)
        n_capped = None
        if cap is not None:
            c = count_capped(pd.DataFrame({f: av}), {f: cap})[f]
            n_capped = c["low"] + c["high"]
        rows.append({"feature": f, "treatment": _treatment(model, f), "ref_low": float(lo), "ref_high": float(hi),
                     "act_max": float(np.nanmax(av)) if ok.any() else None, "share_below": below,
                     "share_above": above, "share_outside": below + above,
                     "cap_low": None if cap is None else cap[0], "cap_high": None if cap is None else cap[1],
                     "n_capped": n_capped, "n_rows": int(ok.sum())})
    rows.sort(key=lambda d: (-d["share_outside"], d["feature"]))
    return rows


def data_quality_section(model, frame: pd.DataFrame, reference: pd.DataFrame | None, actual: pd.DataFrame | None,
                         catalog: pd.DataFrame | None, reference_label: str, actual_label: str) -> dict:
    """PSI/CSI of every model feature with structural breaks flagged, coverage per snapshot, outliers."""
    features = list(model.feature_names_)
    out: dict = {"coverage": coverage_by_snapshot(frame, catalog, features),
                 "breaks": structural_breaks(frame, features), "available": False}
    if reference is None or actual is None or len(reference) == 0 or len(actual) == 0:
        out["note"] = "No reference and actual samples: PSI/CSI and the outlier check need both."
        return out
    table = feature_psi(reference, actual, features)
    table["break"] = table["feature"].map(lambda f: ", ".join(out["breaks"].get(f, [])))
    table["status"] = np.where(table["break"] != "", "structural break", table["status"])
    out.update({"available": True, "reference": reference_label, "actual": actual_label,
                "features": table.to_dict("records"),
                "counts": {s: int((table["status"] == s).sum()) for s in ("stable", "monitor", "shift",
                                                                           "structural break")},
                "outliers": outlier_table(model, reference, actual, features),
                "caps": caps_summary(model, actual)})
    return out


def caps_summary(model, actual: pd.DataFrame) -> dict:
    """The model's outlier caps and how many values of ``actual`` they change (``{}`` without caps)."""
    caps = getattr(model, "outlier_caps_", {}) or {}
    if not caps:
        return {"n_features": 0}
    counts = count_capped(model.prepare(actual, source="report data", cap=False), caps)
    pol = model.metadata_.get("outlier_policy") or {}
    return {"n_features": len(caps), "rule": rule_text(pol.get("tail", 0.001)), "rows": int(len(actual)),
            "n_values_capped": int(sum(c["low"] + c["high"] for c in counts.values())),
            "n_features_capped": int(sum(1 for c in counts.values() if c["low"] + c["high"] > 0)),
            "train_values_capped": int(sum(sum(v) for v in (pol.get("train_capped") or {}).values()))}
