"""``CreditModel``: a fitted PD model with calibration, master scale, points and reason codes.

This is the object every later stage (reports, scoring, decisions) uses, through
:func:`smecredit.registry.load_model`. See docs/interfaces.md for the contract.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from smecredit.exceptions import ConfigError, DataContractError
from smecredit.models.calibration import PDCalibrator
from smecredit.models.dataset import (ID_COLUMNS, META_COLUMNS, check_text_in_numeric, coerce_features,
                                      feature_columns, missing_columns)
from smecredit.models.gbm import GBMPD, cv_folds
from smecredit.models.outliers import DEFAULT_TAIL, apply_caps, learn_caps
from smecredit.models.rating import DEFAULT_GRADE, MasterScale
from smecredit.models.reasons import top_reasons_array
from smecredit.models.scorecard import ScorecardPD, logodds_to_points

log = logging.getLogger(__name__)

KINDS = ("gbm", "scorecard")
OUTPUT_COLUMNS = ["pd", "score", "grade", "reason_1", "reason_2", "reason_3", "data_quality"]
#: ``data_quality`` values: every feature known or partly missing (scored as usual), or every model
#: feature missing — such a row gets no PD, score or grade (never an ordinary grade on no data).
DATA_OK, ALL_MISSING = "ok", "all_features_missing"
ALL_MISSING_REASON = "No data: every model feature is missing / 无数据：模型特征全部缺失"
DEFAULT_FLAG = "in_default"


def directions_from_catalog(catalog: pd.DataFrame | None, names) -> dict[str, str]:
    """``{feature: direction}`` for the features in ``names`` that the catalogue gives a direction."""
    if catalog is None or "name" not in catalog or "direction" not in catalog:
        return {}
    d = dict(zip(catalog["name"].astype(str), catalog["direction"].astype(str)))
    return {n: d[n] for n in names if d.get(n) in ("up", "down", "none")}


class CreditModel:
    """A calibrated, graded PD model (``kind`` = ``"gbm"`` or ``"scorecard"``).

    Build one with :func:`fit_credit_model`; load a saved one with :func:`smecredit.registry.load_model`.

    Attributes
    ----------
    kind : str
    feature_names_ : list of str
    feature_types_ : dict  ``{feature: "numeric" | "categorical"}``
    estimator_ : ScorecardPD or GBMPD
    calibrator_ : PDCalibrator
    master_scale_ : MasterScale
    metadata_ : dict
    outlier_caps_ : dict  ``{feature: [low, high]}`` learned on the training rows (:mod:`smecredit.models.outliers`)
    """

    def __init__(self, kind, estimator, calibrator, master_scale, feature_types, scaling, metadata=None,
                 outlier_caps=None):
        self.kind = kind
        self.estimator_ = estimator
        self.calibrator_ = calibrator
        self.master_scale_ = master_scale
        self.feature_types_ = dict(feature_types)
        self.feature_names_ = list(feature_types)
        self.scaling = dict(scaling)
        self.metadata_ = dict(metadata or {})
        self.categories_ = {c: set(v) for c, v in (metadata or {}).get("_train_categories", {}).items()}
        self.metadata_.pop("_train_categories", None)
        self.outlier_caps_ = {str(f): [float(lo), float(hi)] for f, (lo, hi) in (outlier_caps or {}).items()}

    # ------------------------------------------------------------------ input
    def prepare(self, X: pd.DataFrame, *, source: str = "input table", cap: bool = True) -> pd.DataFrame:
        """Check and type the feature columns of ``X`` (a new frame; ``X`` is not modified).

        Missing feature columns raise :class:`DataContractError` listing them; extra columns are
        ignored with a logged warning; unseen categories are scored as missing (logged). With ``cap``
        (the default) numeric values are clipped to the model's outlier caps (``outlier_caps_``), as
        in training; ``cap=False`` gives the observed values.
        """
        if not isinstance(X, pd.DataFrame):
            raise DataContractError(f"{source}: expected a pandas DataFrame, got {type(X).__name__}")
        missing = missing_columns(X, self.feature_names_)
        if missing:
            raise DataContractError(
                f"{source}: {len(missing)} feature column(s) the model needs are missing: {', '.join(missing)}"
            )
        extra = [str(c) for c in X.columns if str(c) not in self.feature_types_ and str(c) not in META_COLUMNS
                 and str(c) != self.metadata_.get("target")]
        if extra:
            log.warning("%s: ignoring %d column(s) the model does not use: %s", source, len(extra),
                        ", ".join(extra[:20]) + (" ..." if len(extra) > 20 else ""))
        Xf = coerce_features(X, self.feature_types_, source=source, bool_features=self.metadata_.get("bool_features"))
        for c, known in self.categories_.items():
            if not known:
                continue
            v = Xf[c]
            unseen = v.notna() & ~v.isin(known)
            if unseen.any():
                log.warning("%s: column %r has %d value(s) unseen in training (%s); scored as missing",
                            source, c, int(unseen.sum()), ", ".join(sorted(map(str, v[unseen].unique()))[:5]))
                Xf[c] = v.where(~unseen, np.nan)
        return apply_caps(Xf, self.outlier_caps_) if cap else Xf

    # ------------------------------------------------------------------ outputs
    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds of default."""
        return self.estimator_.decision_function(self.prepare(X))

    def _pd_from(self, Xf: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict_pd(self.estimator_.decision_function(Xf))
        if DEFAULT_FLAG in X.columns:
            p = np.where(X[DEFAULT_FLAG].fillna(False).astype(bool).to_numpy(), 1.0, p)
        return p

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated, floored 12-month PD of each row (1.0 for rows flagged ``in_default``)."""
        return self._pd_from(self.prepare(X), X)

    def _contrib(self, Xf: pd.DataFrame) -> pd.DataFrame:
        if self.kind == "scorecard":
            lost = self.estimator_.points_lost(Xf)
            out = pd.DataFrame(0.0, index=Xf.index, columns=self.feature_names_)
            out[lost.columns] = lost.to_numpy()
            return out
        contrib, _ = self.estimator_.contributions(Xf)
        return contrib[self.feature_names_]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions, higher = riskier.

        GBM: log-odds contributions (linear base + LightGBM ``pred_contrib``), relative to the
        model's bias. Scorecard: points lost against the characteristic's best bin.
        """
        return self._contrib(self.prepare(X))

    def predict(self, X: pd.DataFrame, *, source: str = "input table", flag_missing: bool = True) -> pd.DataFrame:
        """Every input row in order: id columns, then ``pd``, ``score``, ``grade``, ``reason_1..3``, ``data_quality``.

        A row whose model features are all missing has ``data_quality`` ``"all_features_missing"``
        and, with ``flag_missing`` (the default), no ``pd``, ``score`` or ``grade`` (a decision
        refers it); ``flag_missing=False`` keeps the model's raw estimate (validation, reports).
        """
        Xobs = self.prepare(X, source=source, cap=False)
        Xf = apply_caps(Xobs, self.outlier_caps_)  # the model scores capped values; reasons quote observed ones
        if self.kind == "gbm":  # one pass: raw score, exact contributions (pattern TreeSHAP)
            z, contrib, _ = self.estimator_.score_contributions(Xf)
            p = self.calibrator_.predict_pd(z)
            if DEFAULT_FLAG in X.columns:
                p = np.where(X[DEFAULT_FLAG].fillna(False).astype(bool).to_numpy(), 1.0, p)
            order = [list(self.estimator_.feature_names_in_).index(c) for c in self.feature_names_]
            if order != list(range(len(order))):
                contrib = contrib[:, order]
        else:
            p = self._pd_from(Xf, X)
            contrib = self._contrib(Xf).to_numpy(dtype="float64")
        if self.kind == "scorecard":
            score = self.estimator_.total_points(Xf)
        else:
            score = logodds_to_points(logit(np.clip(p, 1e-12, 1 - 1e-12)), **self.scaling)
        in_default = X[DEFAULT_FLAG].fillna(False).astype(bool).to_numpy() if DEFAULT_FLAG in X.columns else None
        out = pd.DataFrame(index=X.index)
        for c in ID_COLUMNS:
            if c in X.columns:
                out[c] = X[c].to_numpy()
        out["pd"] = p
        out["score"] = np.asarray(score, dtype="float64")
        out["grade"] = pd.array(self.master_scale_.assign(p, in_default), dtype=object)
        reasons = top_reasons_array(contrib, self.feature_names_, Xobs, index=X.index)
        for c in reasons.columns:
            out[c] = reasons[c].to_numpy()
        if in_default is not None and in_default.any():
            for c in reasons.columns:
                out.loc[in_default, c] = ""
            out.loc[in_default, "reason_1"] = "Already in default / 已违约"
        empty = Xobs.isna().all(axis=1).to_numpy() if len(Xobs.columns) else np.zeros(len(Xf), dtype=bool)
        if in_default is not None:
            empty &= ~in_default  # a known default is graded D whatever else is missing
        out["data_quality"] = np.where(empty, ALL_MISSING, DATA_OK).astype(object)
        if flag_missing and empty.any():
            out.loc[empty, ["pd", "score"]] = np.nan
            out["grade"] = out["grade"].astype(object)
            out.loc[empty, "grade"] = None
            for c in reasons.columns:
                out.loc[empty, c] = ""
            out.loc[empty, "reason_1"] = ALL_MISSING_REASON
        return out

    def scorecard_table(self) -> pd.DataFrame | None:
        """The points table (scorecard models), else ``None``."""
        if self.kind != "scorecard":
            return None
        from smecredit.models.scorecard import bin_label

        table = self.estimator_.table_.copy()
        table["Bin"] = table["Bin"].map(bin_label)  # plain text, also for tables saved by older versions
        return table

    def __repr__(self) -> str:
        return f"CreditModel(kind={self.kind!r}, n_features={len(self.feature_names_)})"


def make_estimator(kind: str, directions: dict, params: dict | None = None, random_state: int = 0):
    """A fresh, unfitted estimator of ``kind``."""
    params = dict(params or {})
    if kind == "scorecard":
        return ScorecardPD(directions=directions, **params)
    if kind == "gbm":
        return GBMPD(directions=directions, random_state=random_state, **params)
    raise ConfigError(f"model kind must be one of {KINDS}; got {kind!r}")


def fit_credit_model(
    X: pd.DataFrame,
    y,
    *,
    kind: str = "gbm",
    catalog: pd.DataFrame | None = None,
    calibration: str = "auto",
    pd_floor: float = 0.0005,
    cv: int = 3,
    master_scale: MasterScale | None = None,
    scaling: dict | None = None,
    params: dict | None = None,
    time_index=None,
    groups=None,
    random_state: int = 0,
    metadata: dict | None = None,
    outlier_tail: float | None = DEFAULT_TAIL,
) -> CreditModel:
    """Fit a :class:`CreditModel` on features ``X`` and binary outcomes ``y``.

    The estimator is fitted on all rows; the calibrator is fitted on out-of-fold raw scores
    (GBM: the out-of-fold predictions of its early-stopping CV boosters; scorecard: the
    regression refitted per fold on the shared binning), so every training row serves both the
    model and the calibration. Id, date and meta columns of ``X`` are ignored.
    """
    if kind not in KINDS:
        raise ConfigError(f"model kind must be one of {KINDS}; got {kind!r}")
    if not isinstance(cv, int) or cv < 2:
        raise ConfigError(f"cv must be an integer >= 2; got {cv!r}")
    scaling = {"pdo": 20.0, "base_points": 600.0, "base_odds": 50.0, **(scaling or {})}
    types = feature_columns(X)
    if not types:
        raise DataContractError("training table has no feature columns (only id, date or target columns)")
    check_text_in_numeric(X, types, source="training table")
    Xf = coerce_features(X, types, source="training table")
    bool_features = [c for c, t in types.items() if t == "numeric" and pd.api.types.is_bool_dtype(X[c].dtype)]
    policy = learn_caps(Xf, types, outlier_tail, bool_features)
    Xf = apply_caps(Xf, policy["caps"])
    y = np.asarray(y, dtype="int64")
    directions = directions_from_catalog(catalog, types)
    p = dict(params or {})
    if kind == "scorecard":
        p = {"pdo": scaling["pdo"], "base_points": scaling["base_points"], "base_odds": scaling["base_odds"], **p}
    est = make_estimator(kind, directions, p, random_state)
    tix = None if time_index is None else np.asarray(time_index)
    if kind == "scorecard":
        est.fit(Xf, y, time_index=tix)
    else:
        est.fit(Xf, y, groups=groups)
    n_minor = int(min(y.sum(), len(y) - y.sum()))
    folds = cv_folds(min(cv, max(2, n_minor)), y, groups, random_state)
    if kind == "scorecard":
        with threadpool_limits(1, user_api="blas"):
            oof = est.cross_val_decision_function(Xf, y, folds)
    elif getattr(est, "oof_decision_", None) is not None:
        oof = est.oof_decision_  # out-of-fold scores of the early-stopping CV boosters
    else:
        oof = np.zeros(len(y))
        for a, b in folds:  # same number of trees as the final model, no inner CV
            m = clone(est).set_params(n_rounds=est.n_rounds_).fit(Xf.iloc[a], y[a])
            oof[b] = m.decision_function(Xf.iloc[b])
    calibrator = PDCalibrator(calibration, pd_floor=pd_floor, random_state=random_state).fit(oof, y)
    meta = {
        "kind": kind,
        "n_train": int(len(y)),
        "train_default_rate": float(y.mean()),
        "calibration": calibrator.method_,
        "calibration_brier": calibrator.brier_,
        "pd_floor": pd_floor,
        "directions": directions,
        **(metadata or {}),
    }
    # numeric features given as True/False in training (elsewhere True/False is refused at scoring)
    meta["bool_features"] = bool_features
    meta["outlier_policy"] = {"tail": policy["tail"], "train_capped": policy["train_capped"],
                              "not_capped": policy["not_capped"]}
    meta["_train_categories"] = {c: sorted(Xf[c].dropna().unique().tolist()) for c, t in types.items()
                                 if t == "categorical"}
    model = CreditModel(kind, est, calibrator, master_scale or MasterScale(), types, scaling, meta,
                        outlier_caps=policy["caps"])
    model.metadata_["feature_names"] = list(types)
    log.info("fitted %s model on %d rows, %d features; calibration %s", kind, len(y), len(types),
             calibrator.method_)
    return model

