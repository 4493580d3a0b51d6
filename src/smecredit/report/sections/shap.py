"""Section 7 of the governance report: SHAP explanations (global and family importance, shap's beeswarm,
dependence and waterfall pictures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.explain import explain, global_importance, local_explanations
from smecredit.privacy import pseudonymise
from smecredit.report import plots, shap_plots
from smecredit.report.sections.common import ID_COL, ReportSettings, TIME_COL


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
