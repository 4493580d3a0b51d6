"""Section 3 of the governance report: the features (information value, direction, missing shares)."""

from __future__ import annotations

import pandas as pd

from smecredit.report.sections.common import _both_classes
from smecredit.validation.stability import information_value


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
