"""The linear base of the GBM: an L2 logistic regression on one-hot and transformed, standardised features.

:class:`LinearBase` is what :class:`~smecredit.models.gbm.GBMPD` boosts from (and the whole model when
the trees do not earn their place). Numeric features are log-transformed when skewed, winsorised and
standardised, missing values imputed with an indicator; categoricals one-hot encoded (rare levels
dropped). The penalty is chosen by cross-validated log loss; a feature with a catalogue direction gets a
coefficient of that sign or zero (a bounded L-BFGS-B fit at the same penalty).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

log = logging.getLogger(__name__)

#: Sign of a catalogue direction: ``up`` (risk rises with the value) +1, ``down`` -1.
SIGN = {"up": 1, "down": -1}


_CV_FOLDS = 3
FEW_EVENTS_C = 0.1  # L2 strength when a class has fewer members than CV folds (C cannot be cross-validated)


def _lrcv(seed: int) -> LogisticRegressionCV:
    return LogisticRegressionCV(Cs=8, l1_ratios=(0.0,), cv=StratifiedKFold(_CV_FOLDS, shuffle=True, random_state=seed),
                                scoring="neg_log_loss", max_iter=2000, use_legacy_attributes=False)


def _l2_logistic(M: np.ndarray, y: np.ndarray, C: float, bounds: list, start: np.ndarray) -> np.ndarray:
    """L2-penalised logistic regression with box bounds on the coefficients (L-BFGS-B).

    Same objective as scikit-learn's ``LogisticRegression(C=C)``: ``C * sum(logloss) + ||w||^2 / 2``,
    intercept unpenalised and unbounded. Returns ``[coef..., intercept]``.
    """
    Xb = np.column_stack([M, np.ones(len(M))])
    yf = y.astype("float64")

    def loss_grad(w):
        z = Xb @ w
        loss = C * float(np.sum(np.logaddexp(0.0, z) - yf * z)) + 0.5 * float(w[:-1] @ w[:-1])
        grad = C * (Xb.T @ (expit(z) - yf))
        grad[:-1] += w[:-1]
        return loss, grad

    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds] + [-np.inf])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds] + [np.inf])
    res = minimize(loss_grad, np.clip(start, lo, hi), jac=True, method="L-BFGS-B",
                   bounds=list(zip(lo, hi, strict=True)), options={"maxiter": 5000})
    return res.x


class LinearBase:
    """Logistic regression on one-hot and transformed, standardised numeric features (L2, CV over C).

    Numeric transform, learned on the training rows: a non-negative, right-skewed feature (skewness
    > 1: amounts, counts, ratios) enters as ``log(x + c)`` with ``c`` the 5 % quantile of its
    positive values; then winsorised at the 0.1 % / 99.9 % quantiles (rare but informative tails,
    such as days past due, survive), missing values at the median plus a missing indicator.
    A feature with a catalogue direction gets a coefficient of that sign or zero: when the free fit
    has a wrong sign, the fit is repeated with sign bounds at the same penalty.
    """

    def __init__(self, numeric, categorical, directions, min_frequency, random_state, C=None):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.directions = directions
        self.min_frequency = min_frequency
        self.random_state = random_state
        self.C = C

    def _values(self, X: pd.DataFrame, c: str) -> np.ndarray:
        v = X[c].to_numpy(dtype="float64")
        offset = self.log_offset_.get(c)
        if offset is not None:
            with np.errstate(invalid="ignore"):
                v = np.log(np.maximum(v, 0.0) + offset)
        return v

    def _design(self, X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        cols, owners = [], []
        for c in self.numeric:
            v = self._values(X, c)
            miss = np.isnan(v)
            z = (np.clip(np.where(miss, self.med_[c], v), self.lo_[c], self.hi_[c]) - self.mu_[c]) / self.sd_[c]
            cols.append(z)
            owners.append(c)
            if self.has_missing_[c]:
                cols.append(miss.astype("float64"))
                owners.append(c)
        for c in self.categorical:
            v = X[c].astype(object).to_numpy()
            for level in self.levels_[c]:
                cols.append((v == level).astype("float64"))
                owners.append(c)
        M = np.column_stack(cols) if cols else np.zeros((len(X), 0))
        return M, owners

    def _learn_transform(self, X: pd.DataFrame) -> None:
        self.lo_, self.hi_, self.med_, self.mu_, self.sd_, self.has_missing_, self.levels_ = {}, {}, {}, {}, {}, {}, {}
        self.log_offset_ = {}
        for c in self.numeric:
            raw = X[c].to_numpy(dtype="float64")
            ok = raw[~np.isnan(raw)]
            if len(ok) > 2 and ok.min() >= 0 and (ok > 0).any() and pd.Series(ok).skew() > 1:
                self.log_offset_[c] = float(np.quantile(ok[ok > 0], 0.05))
            v = self._values(X, c)
            ok = v[~np.isnan(v)]
            if len(ok) == 0:
                ok = np.zeros(1)
            lo, hi = np.quantile(ok, [0.001, 0.999])
            med = float(np.median(ok))
            z = np.clip(np.where(np.isnan(v), med, v), lo, hi)
            self.lo_[c], self.hi_[c], self.med_[c] = float(lo), float(hi), med
            self.mu_[c], self.sd_[c] = float(z.mean()), float(z.std()) or 1.0
            self.has_missing_[c] = bool(np.isnan(v).any())
        min_count = max(1, int(math.ceil(self.min_frequency * len(X))))
        for c in self.categorical:
            counts = X[c].astype(object).dropna().value_counts()
            self.levels_[c] = sorted(counts[counts >= min_count].index.tolist())

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LinearBase:
        self._learn_transform(X)
        M, owners = self._design(X)
        self.owners_ = owners
        self.design_mean_ = M.mean(axis=0) if len(M) else np.zeros(M.shape[1])
        self.zeroed_ = []
        if M.shape[1] == 0:
            self.coef_, self.intercept_, self.C_ = np.zeros(0), float(np.log(y.mean() / (1 - y.mean()))), self.C
            return self
        if self.C is None and min(int(y.sum()), int(len(y) - y.sum())) < _CV_FOLDS:
            # too few defaults (or non-defaults) for every fold to hold one: C cannot be chosen by
            # cross-validation, so the strong shrinkage FEW_EVENTS_C is used (recorded in C_)
            lr = LogisticRegression(C=FEW_EVENTS_C, max_iter=2000).fit(M, y)
            self.C_ = FEW_EVENTS_C
        elif self.C is None:
            lr = _lrcv(self.random_state).fit(M, y)
            self.C_ = float(np.ravel(lr.C_)[0])
        else:
            lr = LogisticRegression(C=self.C, max_iter=2000).fit(M, y)
            self.C_ = float(self.C)
        coef, intercept = lr.coef_[0].copy(), float(lr.intercept_[0])
        # the first column of a numeric feature is its standardised value: that one carries the sign
        first: dict[str, int] = {}
        for j, o in enumerate(owners):
            first.setdefault(o, j)
        bounds = [(None, None)] * len(owners)
        for c in self.numeric:
            sign = SIGN.get(self.directions.get(c))
            if sign is not None:
                bounds[first[c]] = (0.0, None) if sign > 0 else (None, 0.0)
        if any((lo is not None and coef[j] < lo) or (hi is not None and coef[j] > hi)
               for j, (lo, hi) in enumerate(bounds)):
            w = _l2_logistic(M, y, self.C_, bounds, np.r_[coef, intercept])
            coef, intercept = w[:-1], float(w[-1])
        self.coef_, self.intercept_ = coef, intercept
        self.zeroed_ = [c for c in self.numeric if c in first and bounds[first[c]] != (None, None)
                        and coef[first[c]] == 0.0]
        if self.zeroed_:
            log.debug("linear base: %d features held at zero by their catalogue direction", len(self.zeroed_))
        return self

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        M, owners = self._design(X)
        parts = (M - self.design_mean_) * self.coef_  # relative to the training average, like pred_contrib
        out = pd.DataFrame(0.0, index=X.index, columns=list(dict.fromkeys(self.numeric + self.categorical)))
        for j, o in enumerate(owners):
            out[o] = out[o].to_numpy() + parts[:, j]
        return out

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        M, _ = self._design(X)
        return M @ self.coef_ + self.intercept_ if M.shape[1] else np.full(len(X), self.intercept_)

    def decision_and_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
        """One design pass: ``(decision_function, features, contributions (n, n_features))``.

        The decision is computed exactly as :meth:`decision_function`; the contributions are those of
        :meth:`contributions` (a feature's design columns are adjacent: summed with ``reduceat``).
        """
        M, owners = self._design(X)
        names = list(dict.fromkeys(self.numeric + self.categorical))
        out = np.zeros((len(X), len(names)), dtype="float64")
        if not M.shape[1]:
            return np.full(len(X), self.intercept_), names, out
        z = M @ self.coef_ + self.intercept_
        parts = (M - self.design_mean_) * self.coef_
        starts = [j for j, o in enumerate(owners) if j == 0 or owners[j - 1] != o]
        pos = {c: i for i, c in enumerate(names)}
        out[:, [pos[owners[j]] for j in starts]] = np.add.reduceat(parts, starts, axis=1)
        return z, names, out
