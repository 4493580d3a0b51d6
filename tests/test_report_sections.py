"""A report section registered in ``smecredit.report.builder.EXTRA_SECTIONS`` (one line) is computed after the
core sections, sees their results and the report's data, and lands in the template context under its key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.io import frame_fingerprint
from smecredit.models import fit_credit_model
from smecredit.report import ReportData, ReportSettings, build_report, builder

GERMAN = Path(__file__).resolve().parents[1] / "data" / "external" / "german_credit.csv"


def test_a_registered_section_gets_the_core_results_and_is_returned(monkeypatch):
    frame = pd.read_csv(GERMAN)
    model = fit_credit_model(frame.drop(columns="bad"), frame["bad"].to_numpy(), kind="scorecard", cv=2)

    def mean_pd_by_default(s: builder.SectionInputs) -> dict:
        lab = s.y.notna().to_numpy()
        s.context["limitations"].append("extra section: computed on every labelled row")
        return {"auc_rows": s.context["discrimination"]["rows"][0]["sample"],
                "gap": float(s.preds["pd"][lab & (s.y == 1).to_numpy()].mean()
                             - s.preds["pd"][lab & (s.y == 0).to_numpy()].mean())}

    monkeypatch.setitem(builder.EXTRA_SECTIONS, "pd_gap", mean_pd_by_default)
    ctx = build_report(model, ReportData(frame, str(GERMAN), frame_fingerprint(frame)), identity={},
                       settings=ReportSettings(n_boot=20, sample_size=200), pseudonym_key=b"k" * 32)
    p, y = model.predict_pd(frame), frame["bad"].to_numpy()
    assert np.isclose(ctx["pd_gap"]["gap"], p[y == 1].mean() - p[y == 0].mean())
    assert ctx["pd_gap"]["auc_rows"] == ctx["discrimination"]["rows"][0]["sample"]
    assert ctx["limitations"][-1] == "extra section: computed on every labelled row"
    assert set(ctx) >= {"identity", "data", "discrimination", "calibration", "shap", "comparison", "limitations"}
