"""Assemble the model-governance report (sections 1–10) as plain data.

:func:`build_report` takes a fitted :class:`~smecredit.models.CreditModel`, the report's data
and optional reference (training) data and challenger model, and returns a context dict that
:func:`smecredit.report.render.render_report` turns into HTML. Nothing here writes files.
Each section is computed by its own module (:mod:`smecredit.report.sections`, plus
:mod:`~smecredit.report.scope`, :mod:`~smecredit.report.long_run` and
:mod:`~smecredit.report.data_quality`); this module decides the samples each one sees, collects
the limitations and returns the context. A new section is one module, one call below and one key
of the returned dict (rendered by a block of the template); a section that needs only the finished core
sections is one line in :data:`EXTRA_SECTIONS`.

Statistical shortcuts, all stated in the report: bootstrap confidence intervals use
``n_boot`` stratified resamples; the beeswarm and dependence plots show a random sample of
``sample_size`` rows (global importance uses every row); PSI bins come from the reference data.
Sections whose data are absent (e.g. no dates or no segments in a single-table dataset) say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smecredit.exceptions import DataContractError, sheet_rows
from smecredit.models.credit_model import CreditModel
from smecredit.report.data_quality import data_quality_section
from smecredit.report.evidence import Evidence, evidence
from smecredit.report.long_run import long_run_section
from smecredit.report.scope import scope_section
from smecredit.report.sections.calibration import calibration_section
from smecredit.report.sections.common import (EAD_COL, ID_COL, SEGMENTS, TIME_COL, ReportData, ReportSettings,
                                              _fmt_window, _window)
from smecredit.report.sections.comparison import comparison_section, model_form, recommendation
from smecredit.report.sections.data import coverage_by_family, data_section
from smecredit.report.sections.discrimination import discrimination_section
from smecredit.report.sections.features import feature_section
from smecredit.report.sections.segments import segment_section
from smecredit.report.sections.shap import family_importance, shap_section
from smecredit.report.sections.stability import _with_defaults, migration_section, stability_section



@dataclass(frozen=True)
class SectionInputs:
    """What a section registered in :data:`EXTRA_SECTIONS` receives (computed after the core sections)."""

    model: CreditModel
    data: ReportData
    frame: pd.DataFrame
    model_input: pd.DataFrame
    y: pd.Series | None
    preds: pd.DataFrame
    evidence: Evidence  # which rows are out-of-time, in-sample, in the population
    held: np.ndarray | None  # the out-of-time (held-out) rows, or None
    settings: ReportSettings
    context: dict  # the core sections so far (keys as returned by build_report)


#: Sections computed after the core ones: ``template key -> function(SectionInputs) -> dict``. Adding a section
#: is one line here (plus its block in the template).
EXTRA_SECTIONS: dict[str, Callable[[SectionInputs], dict]] = {}

__all__ = ["EAD_COL", "EXTRA_SECTIONS", "SectionInputs", "ID_COL", "SEGMENTS", "TIME_COL", "ReportData", "ReportSettings", "_with_defaults", "_window",
           "build_report", "calibration_section", "comparison_section", "coverage_by_family", "data_section",
           "discrimination_section", "family_importance", "feature_section", "migration_section", "model_form",
           "recommendation", "segment_section", "shap_section", "stability_section"]


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
    settings = settings or ReportSettings()  # validated when constructed (frozen pydantic model)
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

    context = {
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
    inputs = SectionInputs(model=model, data=data, frame=frame, model_input=model_input, y=y, preds=preds,
                           evidence=ev, held=held, settings=settings, context=context)
    for key, section in EXTRA_SECTIONS.items():  # appending to context["limitations"] adds a limitation
        context[key] = section(inputs)
    return context
