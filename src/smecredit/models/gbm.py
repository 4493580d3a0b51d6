"""Gradient-boosted PD model: LightGBM boosted from a regularised linear base.

Small credit tables are where default LightGBM overfits and loses to a logistic scorecard.
``GBMPD`` therefore

* starts boosting from a cross-validated, L2-regularised logistic regression on one-hot and
  winsorised, standardised features (``linear_base=True``), so the trees only model what the
  linear score misses (non-linearity, interactions);
* picks the number of trees by early stopping on the held-out log loss of stratified (grouped,
  for panels) k-fold cross-validation, with the linear base refitted inside each fold, then
  refits on all rows;
* uses conservative trees (few leaves, a minimum leaf size growing with the data, L2,
  row and column subsampling) and native categorical splits;
* applies monotone constraints to features whose catalogue ``direction`` is ``up``/``down``
  (also for the linear base: such a feature's coefficient has that sign or is zero);
* handles class imbalance by weighting defaults by ``sqrt(n_good / n_bad)`` (``class_weight="sqrt"``);
  the PD is calibrated afterwards, so weighting only shapes the trees.

Contributions (:meth:`GBMPD.contributions`) are additive log-odds: linear part per feature plus
LightGBM ``pred_contrib``; their sum plus ``bias`` equals the raw score.
"""

from __future__ import annotations

import logging
import math
from numbers import Integral, Real

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from smecredit.exceptions import ConfigError, NotFittedError

log = logging.getLogger(__name__)

_SIGN = {"up": 1, "down": -1}


def cv_folds(k: int, y: np.ndarray, groups, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds; grouped (no group on both sides) when ``groups`` is given."""
    idx = np.zeros((len(y), 1))
    if groups is None:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, y))
    groups = np.asarray(groups)
    if len(groups) != len(y):
        raise ValueError(f"groups must have one value per row; got {len(groups)} for {len(y)} rows")
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups))


def _lrcv(seed: int) -> LogisticRegressionCV:
    return LogisticRegressionCV(Cs=8, l1_ratios=(0.0,), cv=StratifiedKFold(3, shuffle=True, random_state=seed),
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


class _LinearBase:
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

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _LinearBase:
        self._learn_transform(X)
        M, owners = self._design(X)
        self.owners_ = owners
        self.design_mean_ = M.mean(axis=0) if len(M) else np.zeros(M.shape[1])
        self.zeroed_ = []
        if M.shape[1] == 0:
            self.coef_, self.intercept_, self.C_ = np.zeros(0), float(np.log(y.mean() / (1 - y.mean()))), self.C
            return self
        if self.C is None:
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
            sign = _SIGN.get(self.directions.get(c))
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


class GBMPD(BaseEstimator, ClassifierMixin):
    """LightGBM PD model with defaults that do not overfit small credit tables.

    Parameters
    ----------
    learning_rate : float, default=0.05
    num_leaves : int, default=8
    min_child_samples : int or None, default=None
        Minimum rows per leaf; ``None`` = max(20, 0.5 % of the rows).
    max_rounds : int, default=3000
    early_stopping_rounds : int, default=100
    cv_folds : int, default=3
        Folds of the early-stopping cross-validation.
    feature_fraction, bagging_fraction : float, default=0.7, 0.8
    reg_lambda : float, default=5.0
    linear_base : bool, default=True
        Boost from a regularised logistic regression instead of the base rate.
    class_weight : {"sqrt", "balanced", "none"}, default="sqrt"
    directions : dict or None
        ``{feature: "up" | "down" | "none"}``; up/down become monotone constraints.
    monotone_trees : bool, default=True
        Apply the directions to the trees as LightGBM monotone constraints. ``False`` keeps them
        for the linear base only and lets the trees go against a direction in some region: a
        challenger that shows what the constraints cost in AUC, not a model whose reasons a
        credit committee can read as "more days past due never lowered the PD".
    n_rounds : int or None, default=None
        Fixed number of trees (skips the early-stopping CV); ``None`` = chosen by early stopping.
    random_state : int, default=0
    n_jobs : int or None, default=None
        LightGBM threads; ``None`` = 1 below 20,000 rows (threads only add overhead there), else 2.
    """

    def __init__(self, *, learning_rate=0.05, num_leaves=8, min_child_samples=None, max_rounds=3000,
                 early_stopping_rounds=100, cv_folds=3, feature_fraction=0.7, bagging_fraction=0.8,
                 reg_lambda=5.0, linear_base=True, class_weight="sqrt", directions=None, monotone_trees=True,
                 n_rounds=None, random_state=0, n_jobs=None):
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.cv_folds = cv_folds
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.linear_base = linear_base
        self.class_weight = class_weight
        self.directions = directions
        self.monotone_trees = monotone_trees
        self.n_rounds = n_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        for name in ("learning_rate", "feature_fraction", "bagging_fraction"):
            v = getattr(self, name)
            if not isinstance(v, Real) or not 0 < v <= 1:
                raise ConfigError(f"{name} must be in (0, 1]; got {v!r}")
        for name, lo in (("num_leaves", 2), ("max_rounds", 1), ("early_stopping_rounds", 1), ("cv_folds", 2)):
            v = getattr(self, name)
            if not isinstance(v, Integral) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}; got {v!r}")
        if self.min_child_samples is not None and (not isinstance(self.min_child_samples, Integral)
                                                   or self.min_child_samples < 1):
            raise ConfigError(f"min_child_samples must be None or an integer >= 1; got {self.min_child_samples!r}")
        if not isinstance(self.reg_lambda, Real) or self.reg_lambda < 0:
            raise ConfigError(f"reg_lambda must be >= 0; got {self.reg_lambda!r}")
        if self.n_rounds is not None and (not isinstance(self.n_rounds, Integral) or self.n_rounds < 0):
            raise ConfigError(f"n_rounds must be None or an integer >= 0; got {self.n_rounds!r}")
        if not isinstance(self.monotone_trees, bool):
            raise ConfigError(f"monotone_trees must be true or false; got {self.monotone_trees!r}")
        if self.class_weight not in ("sqrt", "balanced", "none"):
            raise ConfigError(f"class_weight must be 'sqrt', 'balanced' or 'none'; got {self.class_weight!r}")

    def _lgb_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = {}
        for c in self.feature_names_in_:
            if c in self.categories_:
                values = X[c].astype(object)
                known = values.isin(self.categories_[c])
                # values unseen in training are scored as missing (never mapped to another category)
                cols[c] = pd.Categorical(values.where(known, None), categories=self.categories_[c])
            else:
                cols[c] = X[c].to_numpy(dtype="float64")
        return pd.DataFrame(cols, index=X.index)

    def fit(self, X: pd.DataFrame, y, *, groups=None) -> GBMPD:
        """Fit the linear base, choose the number of trees by CV early stopping, refit on all rows.

        ``groups`` (e.g. enterprise ids of a panel of snapshots) keeps all rows of a group in one
        CV fold, so early stopping is not fooled by the same enterprise on both sides of a fold.
        """
        self._check_params()
        y = np.asarray(y, dtype="int64")
        names = [str(c) for c in X.columns]
        cats = [c for c in names if not pd.api.types.is_numeric_dtype(X[c].dtype)]
        nums = [c for c in names if c not in cats]
        directions = self.directions or {}
        self.feature_names_in_ = np.array(names, dtype=object)
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in cats}
        n, n_bad = len(y), int(y.sum())
        if self.linear_base:
            # small dense problems: multi-threaded BLAS only spins (10x slower on a busy 2-core machine)
            with threadpool_limits(1, user_api="blas"):
                base = _LinearBase(nums, cats, directions, 0.01, self.random_state).fit(X, y)
            init = base.decision_function(X)
        else:
            base = None
            p = n_bad / n
            init = np.full(n, math.log(p / (1 - p)))
        self.linear_ = base
        ratio = (n - n_bad) / max(n_bad, 1)
        weight = {"sqrt": math.sqrt(ratio), "balanced": ratio, "none": 1.0}[self.class_weight]
        w = np.where(y == 1, weight, 1.0)
        mcs = self.min_child_samples or max(20, int(0.005 * n))
        tree_directions = directions if self.monotone_trees else {}
        params = {
            "objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": mcs, "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": 1, "lambda_l2": self.reg_lambda,
            "max_cat_to_onehot": 4, "cat_smooth": 10.0, "cat_l2": 10.0, "min_data_per_group": max(20, mcs),
            "monotone_constraints": [_SIGN.get(tree_directions.get(c), 0) if c in nums else 0 for c in names],
            "monotone_constraints_method": "intermediate", "seed": self.random_state, "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs or (1 if n < 20_000 else 2), "verbosity": -1,
        }
        self.params_ = params
        Xl = self._lgb_frame(X)
        if self.n_rounds is None:
            self._cv_rounds(X, Xl, y, w, init, groups, params, nums, cats, directions)
        else:
            self.n_rounds_, self.cv_auc_ = int(self.n_rounds), float("nan")
            self.oof_decision_ = None
        self.booster_ = None
        if self.n_rounds_ > 0:
            data = lgb.Dataset(Xl, label=y, weight=w, init_score=init, categorical_feature=cats or "auto")
            self.booster_ = lgb.train(params, data, num_boost_round=self.n_rounds_)
        self.init_base_ = float(init.mean()) if base is None else None
        self.classes_ = np.array([0, 1])
        log.info("GBM: %d trees (CV AUC %.4f), %d rows, %d features", self.n_rounds_, self.cv_auc_, n, len(names))
        return self

    def _cv_rounds(self, X, Xl, y, w, init, groups, params, nums, cats, directions) -> None:
        """Number of trees by early stopping on the log loss of k held-out folds.

        The linear base is refitted on each fold's training rows (at the C chosen on all rows), so the
        held-out rows see an out-of-sample linear score: a base fitted on all rows has already seen
        the held-out labels, which makes every tree look useless. The chosen number of trees is the
        mean of the folds' best iterations; the held-out raw scores are kept for the calibrator.
        """
        folds = cv_folds(self.cv_folds, y, groups, self.random_state)
        fitted, best = [], []
        for a, b in folds:
            if self.linear_ is not None:
                with threadpool_limits(1, user_api="blas"):
                    fb = _LinearBase(nums, cats, directions, 0.01, self.random_state,
                                     C=self.linear_.C_).fit(X.iloc[a], y[a])
                ia, ib = fb.decision_function(X.iloc[a]), fb.decision_function(X.iloc[b])
            else:
                ia, ib = init[a], init[b]
            dtr = lgb.Dataset(Xl.iloc[a], label=y[a], weight=w[a], init_score=ia, categorical_feature=cats or "auto")
            dva = lgb.Dataset(Xl.iloc[b], label=y[b], weight=w[b], init_score=ib, reference=dtr)
            bst = lgb.train({**params, "metric": "binary_logloss"}, dtr, num_boost_round=self.max_rounds,
                            valid_sets=[dva], callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
            best.append(max(1, bst.best_iteration))
            fitted.append((b, ib, bst))
        self.n_rounds_ = int(round(float(np.mean(best))))
        oof = np.empty(len(y), dtype="float64")
        aucs = []
        for b, ib, bst in fitted:
            oof[b] = ib + bst.predict(Xl.iloc[b], raw_score=True, num_iteration=self.n_rounds_)
            if 0 < y[b].sum() < len(b):
                aucs.append(roc_auc_score(y[b], oof[b]))
        self.cv_auc_ = float(np.mean(aucs)) if aucs else float("nan")
        self.oof_decision_ = oof

    def _check_fitted(self):
        if not hasattr(self, "n_rounds_"):
            raise NotFittedError("GBMPD is not fitted; call fit first")

    def _base(self, X: pd.DataFrame) -> np.ndarray:
        if self.linear_ is not None:
            return self.linear_.decision_function(X)
        return np.full(len(X), self.init_base_)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of default (linear base + trees)."""
        self._check_fitted()
        z = self._base(X)
        if self.booster_ is not None:
            z = z + self.booster_.predict(self._lgb_frame(X), raw_score=True)
        return z

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def score_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(decision_function, contributions (n, n_features) in feature_names_in_ order, bias)`` in one pass.

        The decision equals :meth:`decision_function` bit for bit; the contributions equal
        :meth:`contributions` (exact TreeSHAP, by decision-pattern lookup: see
        :mod:`smecredit.models.treeshap`) up to floating-point summation order.
        """
        from smecredit.models.treeshap import lgb_matrix, pattern_shap

        self._check_fitted()
        names = list(self.feature_names_in_)
        n = len(X)
        if self.linear_ is not None:
            z, lin_names, lin = self.linear_.decision_and_contributions(X)
            pos = {c: i for i, c in enumerate(names)}
            idx = [pos[c] for c in lin_names]
            if idx == list(range(len(names))):
                contrib = lin
            else:
                contrib = np.zeros((n, len(names)), dtype="float64")
                contrib[:, idx] = lin
            bias = np.full(n, self.linear_.intercept_ + float(self.linear_.design_mean_ @ self.linear_.coef_))
        else:
            z = np.full(n, self.init_base_)
            contrib = np.zeros((n, len(names)), dtype="float64")
            bias = np.full(n, self.init_base_)
        if self.booster_ is not None:
            ps = pattern_shap(self.booster_)
            if ps is None:  # trees too deep for pattern packing: LightGBM's pred_contrib
                frame, b = self.contributions(X)
                return self.decision_function(X), frame[names].to_numpy(), b
            c, b, raw = ps.contributions(lgb_matrix(X, names, self.categories_))
            contrib += c.T
            bias += b
            z = z + raw
        return z, contrib, bias

    def contributions(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Per-feature log-odds contributions and the bias; ``contrib.sum(1) + bias == decision_function``."""
        self._check_fitted()
        names = list(self.feature_names_in_)
        out = pd.DataFrame(0.0, index=X.index, columns=names)
        bias = np.zeros(len(X))
        if self.linear_ is not None:
            lin = self.linear_.contributions(X)
            out[lin.columns] = lin.to_numpy()
            bias += self.linear_.intercept_ + float(self.linear_.design_mean_ @ self.linear_.coef_)
        else:
            bias += self.init_base_
        if self.booster_ is not None:
            pc = self.booster_.predict(self._lgb_frame(X), pred_contrib=True)
            out[names] = out[names].to_numpy() + pc[:, :-1]
            bias += pc[:, -1]
        return out, bias
