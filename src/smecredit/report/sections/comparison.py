"""Section 9 of the governance report: comparison with a second model (DeLong test, cross-tab of grades,
recommendation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from smecredit.exceptions import DataContractError
from smecredit.explain import explain
from smecredit.report import plots
from smecredit.report.sections.common import ID_COL, TIME_COL, _both_classes
from smecredit.validation.metrics import delong_test


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
