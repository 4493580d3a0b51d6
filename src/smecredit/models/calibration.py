"""PD calibration: Platt (logistic) or smoothed isotonic, chosen by held-out Brier score.

The calibrator maps a model's raw log-odds score to a 12-month PD. ``method="auto"`` fits both
candidates on one half of the calibration data, scores the other half (and vice versa) and keeps
the one with the lower mean Brier score, then refits it on all the calibration data.

The isotonic candidate is smoothed: the isotonic step function's block centres are joined by a
monotone (PCHIP) interpolation in log-odds space, so the map stays monotone but does not create
the large ties that a raw step function would (ties would throw away rank information and AUC).
Every PD is floored at ``pd_floor`` (Basel III: 0.05 % = 0.0005 by default) and capped below 1.

:class:`PDCalibrator` is a scikit-learn binary classifier of one feature, the raw score:
``predict_pd`` (and ``predict_proba[:, 1]``) give the calibrated PD, ``predict`` the class.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.interpolate import PchipInterpolator
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from smecredit.exceptions import NotFittedError
from smecredit.models.dataset import InvalidInputError, check_fit_input, check_predict_input, validate_params

PD_CAP = 0.9999
_METHODS = ("auto", "platt", "isotonic")


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(brier_score_loss(y, p, labels=[0, 1]))  # labels: a fold may hold one class only


class _Platt:
    def fit(self, s: np.ndarray, y: np.ndarray) -> _Platt:
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(s.reshape(-1, 1), y)
        self.a_, self.b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        return expit(self.a_ * s + self.b_)


class _SmoothIsotonic:
    def fit(self, s: np.ndarray, y: np.ndarray) -> _SmoothIsotonic:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(s, y)
        fitted = iso.predict(s)
        # one knot per isotonic block: (mean score, block PD)
        order = np.argsort(s, kind="mergesort")
        fs, ss = fitted[order], s[order]
        starts = np.r_[0, np.flatnonzero(np.diff(fs) != 0) + 1]
        xs = np.add.reduceat(ss, starts) / np.diff(np.r_[starts, len(ss)])
        ys = fs[starts]
        n = len(y)
        eps = 0.5 / n  # keep empty-event blocks finite in log-odds
        ys = np.clip(ys, eps, 1 - eps)
        keep = np.r_[True, np.diff(xs) > 0]
        self.x_, self.y_ = xs[keep], logit(ys[keep])
        self.interp_ = PchipInterpolator(self.x_, self.y_, extrapolate=False) if len(self.x_) >= 2 else None
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        if self.interp_ is None:
            return np.full(len(s), expit(self.y_[0]))
        z = np.clip(s, self.x_[0], self.x_[-1])
        return expit(self.interp_(z))


def _make(method: str):
    return _Platt() if method == "platt" else _SmoothIsotonic()


class PDCalibrator(ClassifierMixin, BaseEstimator):
    """Map raw log-odds scores to calibrated, floored PDs.

    A scikit-learn binary classifier whose one feature is a model's raw score: ``X`` is the
    scores as a 1-D array or a one-column 2-D array or DataFrame; ``y`` has two classes, the
    second (sorted) being the default.

    Parameters
    ----------
    method : {"auto", "platt", "isotonic"}, default="auto"
        ``auto`` picks the method with the lower held-out Brier score (2-fold on the calibration data).
    pd_floor : float, default=0.0005
        Minimum PD (Basel III floor of 0.05 %); must be in [0, 0.5).
    random_state : int, default=0
        Seed of the 2-fold split used by ``auto``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two classes of ``y``; ``classes_[1]`` is the default (event).
    n_features_in_ : int
        Always 1 (the score).
    feature_names_in_ : ndarray of str
        The score column's name (``x0`` for an array).
    method_ : str
        The method kept.
    brier_ : dict
        Held-out Brier score of each candidate (``auto`` only).
    """

    def __init__(self, method: str = "auto", *, pd_floor: float = 0.0005, random_state: int = 0):
        self.method = method
        self.pd_floor = pd_floor
        self.random_state = random_state

    _parameter_constraints: dict = {
        "method": [StrOptions(set(_METHODS))],
        "pd_floor": [Interval(Real, 0, 0.5, closed="left")],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _scores(self, X, *, fit: bool, y=None):
        """The raw scores of ``X`` (1-D, or one column) as float64, and at fit ``y`` as 0/1."""
        if not fit and not hasattr(self, "mapper_"):
            raise NotFittedError("PDCalibrator is not fitted; call fit first")
        if not isinstance(X, pd.DataFrame) and not sparse.issparse(X):
            X = np.asarray(X)
        one_d = not isinstance(X, pd.DataFrame) and X.ndim == 1
        if fit:
            frame, y01 = check_fit_input(self, X.reshape(-1, 1) if one_d else X, y)
            named = isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)
            self.feature_names_in_ = np.array([str(c) for c in frame.columns] if named else ["x0"], dtype=object)
        elif one_d:  # the scores themselves (how CreditModel calls it)
            if X.dtype.kind not in "biuf":
                raise InvalidInputError(f"PDCalibrator: the raw scores must be numbers; got dtype {X.dtype}")
            frame = pd.DataFrame({"x0": X.astype("float64")})
        else:
            frame = check_predict_input(self, X, numeric=list(self.feature_names_in_))
        if frame.shape[1] != 1:
            raise InvalidInputError(f"PDCalibrator calibrates one raw score: X must have 1 column; got "
                                    f"{frame.shape[1]} features")
        col = frame.iloc[:, 0]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            raise InvalidInputError("PDCalibrator: the raw score must be numeric")
        s = col.to_numpy(dtype="float64")
        if np.isnan(s).any():
            raise InvalidInputError(f"PDCalibrator: Input X contains NaN ({int(np.isnan(s).sum())} raw scores)")
        return (s, y01) if fit else s

    def fit(self, X, y) -> PDCalibrator:
        """Fit on raw log-odds scores ``X`` (1-D, or one column) and binary outcomes ``y``."""
        validate_params(self)
        s, y01 = self._scores(X, fit=True, y=y)
        with threadpool_limits(1, user_api="blas"):
            return self._fit(s, y01.astype("float64"))

    def _fit(self, s: np.ndarray, y: np.ndarray) -> PDCalibrator:
        self.brier_ = {}
        method = self.method
        if method == "auto":
            skf = StratifiedKFold(n_splits=2, shuffle=True, random_state=self.random_state)
            for cand in ("platt", "isotonic"):
                losses = []
                for a, b in skf.split(s.reshape(-1, 1), y):
                    p = np.clip(_make(cand).fit(s[a], y[a]).predict(s[b]), self.pd_floor, PD_CAP)
                    losses.append(_brier(y[b], p))
                self.brier_[cand] = float(np.mean(losses))
            method = min(self.brier_, key=self.brier_.get)
        self.method_ = method
        self.mapper_ = _make(method).fit(s, y)
        return self

    def predict_pd(self, X) -> np.ndarray:
        """Calibrated PD of each raw score (1-D, or one column), floored at ``pd_floor`` and capped at 0.9999."""
        s = self._scores(X, fit=False)
        return np.clip(self.mapper_.predict(s), self.pd_floor, PD_CAP)

    def predict_proba(self, X) -> np.ndarray:
        """``[1 - PD, PD]`` of each raw score (columns in ``classes_`` order)."""
        p = self.predict_pd(X)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The class of each raw score: ``classes_[1]`` (default) where the calibrated PD exceeds 0.5.

        The PD itself is :meth:`predict_pd`.
        """
        positive = (self.predict_pd(X) > 0.5).astype(int)
        return self.classes_[positive]
