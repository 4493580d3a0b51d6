"""PD calibration: Platt (logistic) or smoothed isotonic, chosen by held-out Brier score.

The calibrator maps a model's raw log-odds score to a 12-month PD. ``method="auto"`` fits both
candidates on one half of the calibration data, scores the other half (and vice versa) and keeps
the one with the lower mean Brier score, then refits it on all the calibration data.

The isotonic candidate is smoothed: the isotonic step function's block centres are joined by a
monotone (PCHIP) interpolation in log-odds space, so the map stays monotone but does not create
the large ties that a raw step function would (ties would throw away rank information and AUC).
Every PD is floored at ``pd_floor`` (Basel III: 0.05 % = 0.0005 by default) and capped below 1.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from smecredit.exceptions import ConfigError, NotFittedError

PD_CAP = 0.9999
_METHODS = ("auto", "platt", "isotonic")


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


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


class PDCalibrator(BaseEstimator):
    """Map raw log-odds scores to calibrated, floored PDs.

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
    method_ : str
        The method kept.
    brier_ : dict
        Held-out Brier score of each candidate (``auto`` only).
    """

    def __init__(self, method: str = "auto", *, pd_floor: float = 0.0005, random_state: int = 0):
        self.method = method
        self.pd_floor = pd_floor
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.method not in _METHODS:
            raise ConfigError(f"calibration method must be one of {_METHODS}; got {self.method!r}")
        if not isinstance(self.pd_floor, Real) or not 0 <= self.pd_floor < 0.5:
            raise ConfigError(f"pd_floor must be a number in [0, 0.5); got {self.pd_floor!r}")

    def fit(self, scores, y) -> PDCalibrator:
        """Fit on raw log-odds ``scores`` and binary outcomes ``y``."""
        self._check_params()
        with threadpool_limits(1, user_api="blas"):
            return self._fit(scores, y)

    def _fit(self, scores, y) -> PDCalibrator:
        s = np.asarray(scores, dtype="float64")
        y = np.asarray(y, dtype="float64")
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

    def predict(self, scores) -> np.ndarray:
        """Calibrated PD of each raw score, floored at ``pd_floor`` and capped at 0.9999."""
        if not hasattr(self, "mapper_"):
            raise NotFittedError("PDCalibrator is not fitted; call fit first")
        s = np.asarray(scores, dtype="float64")
        return np.clip(self.mapper_.predict(s), self.pd_floor, PD_CAP)
