"""The fit-and-validate step of training: data checks, population, split, fit (and the benchmark
model), validation on the test rows — everything that goes into ``validation.json``, nothing logged
or written (that is :mod:`smecredit.pipelines.train_log`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smecredit.io import frame_fingerprint
from smecredit.models.credit_model import CreditModel, fit_credit_model
from smecredit.models.dataset import check_finite, check_text_in_numeric, feature_columns
from smecredit.pipelines.train_data import (TrainingData, duplicate_report, load_training_data, row_groups,
                                            split_data)
from smecredit.validation.report import validate_predictions
from smecredit.validation.scope import POPULATION_RULE, check_population, population_mask, scope_card
from smecredit.scoring.ids import id_formats_of

log = logging.getLogger(__name__)


@dataclass
class Fitted:
    """What the fit-and-validate step hands to the log and write steps."""

    model: CreditModel
    td: TrainingData
    kind: str
    split: str
    target: str
    population: str
    developer: str
    info: dict
    val: dict
    scope: dict
    quality: dict
    fingerprint: str
    n_excluded: int
    train_df: pd.DataFrame
    test_df: pd.DataFrame
    pred: pd.DataFrame
    features: list[str]
    types: dict
    y_tr: np.ndarray
    y_te: np.ndarray
    pd_floor: float
    random_state: int


def fit_and_validate(data, target: str, *, kind: str, split: str | None, compare: bool, calibration: str,
                     pd_floor: float, tune_seconds: float, random_state: int, n_boot: int, developer: str,
                     population: str, stage, outlier_tail: float | None = 0.001) -> Fitted:
    """Load ``data``, fit the ``kind`` model (and the benchmark when ``compare``), validate it on the test rows.

    The parameters are those of :func:`smecredit.pipelines.train.train`; ``developer`` is already resolved
    and ``stage`` is called with the name of each stage.
    """
    check_population(population)
    td = load_training_data(data)
    all_types = feature_columns(td.frame, target)
    check_text_in_numeric(td.frame, all_types, source=td.source)
    check_finite(td.frame, all_types, source=td.source)
    quality = duplicate_report(td.frame, td.source)
    fingerprint = frame_fingerprint(td.frame)  # of the whole table, before the population filter
    in_pop = population_mask(td.frame, population, source=td.source)
    n_excluded = int((~in_pop).sum())
    if n_excluded:
        td.frame = td.frame.loc[in_pop]
        log.info("%s population: %d of %d rows kept (%s)", population, int(in_pop.sum()), len(in_pop),
                 POPULATION_RULE[population])
    if split is None:
        split = "time" if (td.is_features_folder and "snapshot_date" in td.frame.columns) else "random"
    train_df, test_df, info = split_data(td, target, split, random_state=random_state)
    types = feature_columns(train_df, target)
    features = list(types)
    y_tr = train_df[target].astype("int64").to_numpy()
    y_te = test_df[target].astype("int64").to_numpy()
    time_index = train_df["snapshot_date"].to_numpy() if "snapshot_date" in train_df.columns else None
    # a panel of snapshots holds the same enterprise several times: keep it in one CV fold
    groups = train_df["enterprise_id"].to_numpy() if "enterprise_id" in train_df.columns else None
    if groups is None and quality["duplicate_rows"]:  # copies of a row stay in one CV fold
        groups = row_groups(train_df)
    params = {}
    if tune_seconds and kind == "gbm":
        from smecredit.models.tuning import tune_gbm
        from smecredit.models.credit_model import directions_from_catalog
        from smecredit.models.dataset import coerce_features

        params = tune_gbm(coerce_features(train_df, types), y_tr, time_budget=tune_seconds,
                          directions=directions_from_catalog(td.catalog, features), random_state=random_state)
    scope = scope_card(population, horizon_months=info.get("horizon_months") or td.manifest.get("horizon"),
                       n_rows=len(td.frame), n_excluded=n_excluded)
    meta = {"target": target, "data_source": str(td.source), "data_fingerprint": fingerprint, "developer": developer,
            "scope": scope, "random_state": random_state, **info,
            "id_formats": id_formats_of(train_df)}  # the batch job rejects ids of another format
    stage(f"fitting the {kind} on {len(train_df):,} rows")
    model = fit_credit_model(train_df[features], y_tr, kind=kind, catalog=td.catalog, calibration=calibration,
                             pd_floor=pd_floor, time_index=time_index, groups=groups, random_state=random_state, params=params,
                             metadata=meta, outlier_tail=outlier_tail)
    pred = model.predict(test_df, flag_missing=False)  # validation measures the model's raw estimates
    quality["test_rows_all_features_missing"] = int((pred["data_quality"] != "ok").sum())
    if quality["test_rows_all_features_missing"]:
        log.warning("%s: %d test row(s) have every model feature missing; `score` gives them no grade",
                    td.source, quality["test_rows_all_features_missing"])
    bench = None
    if compare:
        other = "scorecard" if kind == "gbm" else "gbm"
        stage(f"fitting the {other} benchmark")
        m2 = fit_credit_model(train_df[features], y_tr, kind=other, catalog=td.catalog, calibration=calibration,
                              pd_floor=pd_floor, time_index=time_index, groups=groups, random_state=random_state,
                              outlier_tail=outlier_tail)
        bench = {"name": other, "pd": m2.predict_pd(test_df)}
    stage(f"validating on {len(test_df):,} test rows")
    val = validate_predictions(y_te, pred["pd"].to_numpy(), pred["grade"].to_numpy(),
                               grade_order=model.master_scale_.grades, n_boot=n_boot, random_state=random_state,
                               benchmark=bench,
                               clusters=test_df["enterprise_id"].to_numpy() if "enterprise_id" in test_df else None)
    val.update({"kind": kind, "split": info, "scope": scope, "developer": developer, "calibration": {"method": model.calibrator_.method_,
                "held_out_brier": model.calibrator_.brier_, "pd_floor": pd_floor},
                "master_scale": model.master_scale_.to_dict(), "data_fingerprint": fingerprint,
                "data_quality": quality, "features": features,
                "dropped_features": getattr(model.estimator_, "dropped_features_", {})})
    val["long_run"] = _long_run(td, target, model, val, info)
    val["by_population"] = _by_population(model, test_df, y_te, pred, n_boot, random_state)
    est = model.estimator_
    if kind == "gbm":
        # features whose linear coefficient the catalogue direction holds at zero (trees may still use them)
        zeroed = est.linear_.zeroed_ if est.linear_ is not None else []
        val["gbm"] = {"n_trees": est.n_rounds_, "cv_auc": est.cv_auc_, "linear_base_zeroed": zeroed,
                      "monotone_trees": est.monotone_trees,
                      # linear base alone vs with trees, out of fold, and whether the trees were kept
                      "trees_kept": est.trees_kept_, "tree_decision": est.tree_decision_}
    else:  # the bin sizes actually used ("auto" is resolved from the number of defaults)
        val["scorecard"] = {"min_bin_size": est.min_bin_size_, "max_n_prebins": est.max_n_prebins_}
    return Fitted(model=model, td=td, kind=kind, split=split, target=target, population=population,
                  developer=developer, info=info, val=val, scope=scope, quality=quality, fingerprint=fingerprint,
                  n_excluded=n_excluded, train_df=train_df, test_df=test_df, pred=pred, features=features, types=types,
                  y_tr=y_tr, y_te=y_te, pd_floor=pd_floor, random_state=random_state)


def _long_run(td: TrainingData, target: str, model, val: dict, info: dict) -> dict | None:
    """Long-run calibration (GL/2017/16) over every snapshot of the population; ``None`` without snapshots.

    The same computation as the report's section 5 (:func:`smecredit.validation.long_run.long_run_calibration`).
    """
    from smecredit.validation.long_run import long_run_calibration

    df = td.frame
    if "snapshot_date" not in df.columns:
        return None
    y = pd.to_numeric(df[target], errors="coerce").astype("float64")
    if "observable" in df.columns:
        y = y.where(df["observable"].fillna(False).astype(bool), np.nan)
    p = model.predict_pd(df)  # no reason codes: the whole panel can be large
    in_default = df["in_default"].fillna(False).astype(bool).to_numpy() if "in_default" in df.columns else None
    grades = np.asarray(model.master_scale_.assign(p, in_default)).astype(str)
    return long_run_calibration(df["snapshot_date"].to_numpy(), y.to_numpy(), grades,
                                p, order=model.master_scale_.grades,
                                bounds=model.master_scale_.table().to_dict("records"),
                                train_snapshots=info.get("train_snapshots"),
                                hl_p=val["hosmer_lemeshow"]["p_value"],
                                n_grades_too_low=sum(g.get("verdict") == "PD too low" for g in val["grades"]),
                                pd_floor=model.metadata_.get("pd_floor", 0.0005))


def _by_population(model, test_df: pd.DataFrame, y_te, pred: pd.DataFrame, n_boot: int, seed: int) -> dict:
    """Test-sample performance by population view and days-past-due bucket (the report's section 4 function)."""
    from smecredit.report.scope import scope_section

    out = scope_section(model.metadata_, test_df.reset_index(drop=True), pd.Series(y_te, dtype="float64"),
                        pred.reset_index(drop=True), np.ones(len(test_df), dtype=bool), "test sample",
                        n_boot=n_boot, seed=seed)  # as the report: the same intervals
    out.pop("card", None)
    return out
