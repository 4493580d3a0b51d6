"""Ongoing monitoring of a PD model: compare a *current* period with a *baseline* period.

:func:`monitor` scores both samples with the model and computes, as plain (JSON-ready) data:

- **score PSI** and the **CSI** (characteristic stability index, the same index on a feature) of
  every model feature, bins from the baseline (:mod:`smecredit.validation.stability`);
- the **grade migration** of enterprises present in both periods (latest baseline snapshot →
  latest current snapshot);
- **realised vs predicted default rate per grade** on current rows whose outcome has matured
  (``observable``), with the one-sided binomial and Jeffreys tests and the Jeffreys 95 % interval;
- **realised AUC** on matured current rows against the **development AUC** (the model's out-of-time
  test AUC recorded at training);
- **missing-data drift per source**: coverage of each source family in both periods;
- the **segments** of the governance report (county, mountain counties, industry, size, legal form,
  tech and green flags) in both periods.

Every check gets a traffic light (``green``/``amber``/``red``; ``n/a`` when it cannot be computed);
the thresholds are :class:`MonitorSettings` (defaults documented in ``docs/monitoring.md``):

======================  ======================  ======================
check                   amber from              red from
======================  ======================  ======================
score PSI, CSI          0.10                    0.25
grade calibration       Jeffreys p < 0.05       Jeffreys p < 0.001   (Bonferroni over the grades tested)
AUC drop vs development 0.03 and DeLong p<0.05  0.05 and DeLong p<0.01  (≥ 30 defaults; auc_gate.py)
source coverage change  5 points                15 points
======================  ======================  ======================

The overall status is the worst light. Nothing here reads or writes files.

The checks, :class:`MonitorSettings` and the lights are in :mod:`smecredit.monitoring.checks`
(re-exported here); this module scores the samples and assembles the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError
from smecredit.monitoring.checks import (ID_COL, STATUSES, TIME_COL, MonitorSettings, calibration_check,
                                         discrimination_check, light, migration_check, missing_check,
                                         segments_check, stability_check, worst)

__all__ = ["ID_COL", "STATUSES", "TIME_COL", "MonitorSettings", "calibration_check", "discrimination_check", "light",
           "metrics_of", "migration_check", "missing_check", "monitor", "segments_check", "stability_check", "worst"]


def _outcomes(frame: pd.DataFrame, target: str, label: str) -> pd.Series | None:
    """Matured 0/1 outcomes (NaN where not yet observable), or ``None`` without a target column."""
    if target not in frame.columns:
        return None
    y = pd.to_numeric(frame[target], errors="coerce").astype("float64")
    if "observable" in frame.columns:
        y = y.where(frame["observable"].fillna(False).astype(bool), np.nan)
    bad = y.notna() & ~y.isin([0.0, 1.0])
    if bad.any():
        rows = ", ".join(map(str, np.flatnonzero(bad.to_numpy())[:5]))
        raise DataContractError(f"{label} data: target column {target!r} must be 0/1; see rows {rows}")
    return y


def _period(frame: pd.DataFrame) -> dict:
    out = {"n_rows": len(frame), "first_snapshot": None, "last_snapshot": None, "n_enterprises": None}
    if TIME_COL in frame.columns and len(frame):
        t = pd.to_datetime(frame[TIME_COL])
        out["first_snapshot"], out["last_snapshot"] = str(t.min().date()), str(t.max().date())
    if ID_COL in frame.columns:
        out["n_enterprises"] = int(frame[ID_COL].nunique())
    return out


# --------------------------------------------------------------------------- assembly
def _flags(res: dict) -> list[dict]:
    flags = []
    st = res["stability"]
    flags.append({"check": "score PSI", "item": "score", "value": st["score_psi"], "status": st["score_status"]})
    flags += [{"check": "CSI", "item": r["feature"], "value": r["csi"], "status": r["status"]}
              for r in st["csi"] if r["status"] in ("amber", "red")]
    cal = res["calibration"]
    flags += [{"check": "calibration", "item": f"grade {r['grade']}", "value": r["default_rate"],
               "status": r["status"], "detail": f"default rate {r['default_rate']:.4f} vs PD {r['pd_mean']:.4f} "
                                                f"(Jeffreys p {r['jeffreys_p']:.3g})"}
              for r in cal.get("rows", []) if r["status"] in ("amber", "red")]
    disc = res["discrimination"]
    if disc.get("status") in ("amber", "red"):
        flags.append({"check": "AUC", "item": "realised vs development", "value": disc["realised_auc"]["value"],
                      "status": disc["status"], "detail": f"drop {disc['auc_drop']:.3f} (one-sided DeLong p "
                                                          f"{disc['delong']['p_value']:.3g}, {disc['defaults']} defaults)"})
    flags += [{"check": "missing data", "item": r["family"], "value": r["change"], "status": r["status"]}
              for r in res["missing"].get("rows", []) if r["status"] in ("amber", "red")]
    order = {"red": 0, "amber": 1, "green": 2, "n/a": 3}
    return sorted(flags, key=lambda f: (order[f["status"]], f["check"], f["item"]))


def monitor(model, baseline: pd.DataFrame, current: pd.DataFrame, *, development_auc: float | None = None,
            development_source: str = "", catalog: pd.DataFrame | None = None,
            settings: MonitorSettings | None = None, development_se: float | None = None) -> dict:
    """Compare ``current`` with ``baseline`` for a fitted :class:`~smecredit.models.CreditModel`.

    Parameters
    ----------
    model : CreditModel
    baseline, current : DataFrame
        Feature tables (``smecredit features`` output: features plus ``enterprise_id``,
        ``snapshot_date``, the target and ``observable``). The baseline is usually the model's
        development sample; outcomes are used only where they have matured (``observable``).
    development_auc : float or None
        The model's out-of-time AUC at development; ``None``: the realised AUC of the baseline's
        matured rows stands in (said in ``discrimination.development_source``).
    development_se : float or None
        Standard error of ``development_auc`` (an independent sample): added to the current AUC's DeLong
        variance in the one-sided test of a drop; ``None``: the development AUC is a fixed reference.
    catalog : DataFrame or None
        Feature catalogue (``name, family, source``) for the missing-data drift per source.
    settings : MonitorSettings or None

    Returns
    -------
    dict
        JSON-ready result: ``status`` (worst light), ``flags`` and one entry per check.

    Raises
    ------
    DataContractError
        A sample is empty, lacks model features, or has a non-0/1 target.
    """
    s = settings or MonitorSettings()  # validated when constructed (frozen pydantic model)
    features = list(model.feature_names_)
    target = model.metadata_.get("target") or "bad"
    for label, frame in (("baseline", baseline), ("current", current)):
        if len(frame) == 0:
            raise DataContractError(f"{label} data have no rows")
        absent = [c for c in features if c not in frame.columns]
        if absent:
            raise DataContractError(f"{label} data lack {len(absent)} feature column(s) the model needs: "
                                    f"{', '.join(absent[:10])}")
    keep = set(features) | {ID_COL, TIME_COL, "in_default"}
    bp = model.predict(baseline[[c for c in baseline.columns if c in keep]], source="baseline data")
    cp = model.predict(current[[c for c in current.columns if c in keep]], source="current data")
    yb = _outcomes(baseline, target, "baseline")
    yc = _outcomes(current, target, "current")
    order = list(model.master_scale_.grades)
    dev_src = development_source or "model's out-of-time test at development"
    dev_se = development_se if development_auc is not None else None
    if development_auc is None and yb is not None and yb.notna().any():
        lab = yb.notna().to_numpy()
        yy = yb.to_numpy()[lab]
        if 0 < yy.sum() < len(yy):
            from smecredit.validation.metrics import auc_ci

            base_ci = auc_ci(yy, bp["pd"].to_numpy()[lab])
            development_auc, dev_se = base_ci["value"], base_ci["se"]
            dev_src = "realised AUC of the baseline's matured rows (no development AUC recorded)"
    res = {
        "model": {"kind": model.kind, "n_features": len(features), "target": target},
        "baseline": _period(baseline) | {"mean_pd": float(bp["pd"].mean()),
                                         "n_matured": int(yb.notna().sum()) if yb is not None else 0,
                                         "default_rate": float(yb.mean()) if yb is not None and yb.notna().any()
                                         else None},
        "current": _period(current) | {"mean_pd": float(cp["pd"].mean()),
                                       "n_matured": int(yc.notna().sum()) if yc is not None else 0,
                                       "default_rate": float(yc.mean()) if yc is not None and yc.notna().any()
                                       else None},
        "stability": stability_check(baseline, current, bp, cp, features, s),
        "migration": migration_check(baseline, current, bp, cp, order),
        "calibration": calibration_check(yc, cp, order, s),
        "discrimination": discrimination_check(yc, cp, development_auc, dev_src, s, dev_se),
        "missing": missing_check(baseline, current, catalog, features, s),
        "segments": segments_check(baseline, current, yb, yc, bp, cp, s),
        "settings": s.model_dump(),
    }
    res["flags"] = _flags(res)
    res["checks"] = {"score_psi": res["stability"]["score_status"], "csi": res["stability"]["csi_status"],
                     "calibration": res["calibration"]["status"], "auc": res["discrimination"]["status"],
                     "missing_data": res["missing"]["status"]}
    res["status"] = worst(res["checks"].values())
    return res


def metrics_of(result: dict) -> dict[str, float]:
    """Flat numeric metrics of a monitoring result (for MLflow and ``dvc metrics``)."""
    st, disc, cal = result["stability"], result["discrimination"], result["calibration"]
    out = {"score_psi": st["score_psi"], "grade_psi": st["grade_psi"],
           "max_csi": max((r["csi"] for r in st["csi"]), default=0.0),
           "n_csi_red": sum(r["status"] == "red" for r in st["csi"]),
           "n_csi_amber": sum(r["status"] == "amber" for r in st["csi"]),
           "current_mean_pd": result["current"]["mean_pd"],
           "n_red": sum(f["status"] == "red" for f in result["flags"]),
           "n_amber": sum(f["status"] == "amber" for f in result["flags"])}
    if disc.get("available"):
        out["realised_auc"] = disc["realised_auc"]["value"]
        if disc.get("auc_drop") is not None:
            out["auc_drop"] = disc["auc_drop"]
    if cal.get("available"):
        allrow = cal["rows"][-1]
        out["realised_default_rate"] = allrow["default_rate"]
        out["predicted_default_rate"] = allrow["pd_mean"]
    if result["migration"].get("available"):
        out["migration_stable"] = result["migration"]["stable"]
        out["migration_net_downgrades"] = result["migration"]["net_downgrades"]
    return {k: float(v) for k, v in out.items()}
