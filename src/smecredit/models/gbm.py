"""Gradient-boosted PD model: LightGBM boosted from a regularised linear base.

Small credit tables are where default LightGBM overfits and loses to a logistic scorecard.
``GBMPD`` therefore

* starts boosting from a cross-validated, L2-regularised logistic regression on one-hot and
  winsorised, standardised features (``linear_base=True``), so the trees only model what the
  linear score misses (non-linearity, interactions);
* picks the number of trees -- zero included -- by the out-of-fold AUC of stratified (grouped, for
  panels) k-fold cross-validation, with the linear base refitted inside each fold, and keeps the
  trees only when their AUC gain over the fold's linear base, paired fold by fold, beats its noise;
  otherwise the model is the linear base alone and says so (``trees_kept_``, ``tree_decision_``);
* uses conservative trees (few leaves, a minimum leaf size of about 10 expected defaults, L2,
  row and column subsampling) and native categorical splits for categoricals of few levels; a
  many-levelled categorical (states, job titles) is left to the linear base;
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


def _fold_auc(y: np.ndarray, z: np.ndarray) -> float:
    return float(roc_auc_score(y, z)) if 0 < y.sum() < len(y) else float("nan")


def _recalibrated_logloss(z: np.ndarray, y: np.ndarray) -> float:
    """Log loss of raw scores after a logistic recalibration (intercept and slope) fitted on them.

    Compares the information in two scores on the probability scale without penalising the shift
    that class weights put into a raw score (the delivered PD is calibrated anyway).
    """
    zz = np.clip(z, -30, 30)
    M = np.column_stack([zz, np.ones(len(zz))])
    yf = y.astype("float64")

    def loss_grad(w):
        t = M @ w
        return float(np.sum(np.logaddexp(0.0, t) - yf * t)), M.T @ (expit(t) - yf)

    res = minimize(loss_grad, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.fun / len(y))


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
    """LightGBM PD model boosted from a linear base; the trees are kept only when they rank better.

    Parameters
    ----------
    learning_rate : float, default=0.05
    num_leaves : int, default=8
    min_child_samples : int or None, default=None
        Minimum rows per leaf; ``None`` = room for ``min_leaf_defaults`` expected defaults,
        ``max(20, min_leaf_defaults / default rate)``.
    min_leaf_defaults : float, default=10
        Expected defaults per leaf behind ``min_child_samples=None``.
    max_rounds : int, default=3000
    early_stopping_rounds : int, default=100
        Patience of the fold boosting: it stops when the held-out AUC (by 0.0001) or log loss has not
        improved for that many rounds.
    cv_folds : int, default=5
        Folds of the cross-validation that chooses the number of trees.
    feature_fraction, bagging_fraction : float, default=0.7, 0.8
    reg_lambda : float, default=20.0
    max_cat_levels : int or None, default=8
        A categorical feature with more levels than this (after merging levels with fewer than
        ``min_child_samples`` rows) is left to the linear base, where its one-hot coefficients are
        shrunk; the trees never see it. Many-levelled categoricals (states, job titles) let one
        LightGBM split pick any subset of levels, which fits noise. ``None`` = no limit.
    tree_gain_z : float, default=1.0
        Trees are kept only when their paired out-of-fold AUC gain over the linear base exceeds
        ``tree_gain_z`` standard errors (across folds) and the out-of-fold log loss does not rise;
        otherwise the model is the linear base alone (``trees_kept_`` is ``False``).
    min_tree_gain : float, default=0.001
        The out-of-fold AUC gain must also reach this much: a gain too small to matter does not
        pay for giving up a transparent linear model.
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
        Fixed number of trees (skips the cross-validation and the keep-or-drop test); ``None`` =
        chosen out of fold.
    random_state : int, default=0
    n_jobs : int or None, default=None
        LightGBM threads; ``None`` = 1 below 20,000 rows (threads only add overhead there), else 2.

    Attributes
    ----------
    n_rounds_ : int
        Trees of the final model (0 = the linear base alone).
    trees_kept_ : bool
    tree_decision_ : dict
        Out-of-fold AUC and log loss of the linear base alone and with trees, per-fold AUC gains,
        their standard error, the decision and its reason.
    cv_auc_ : float
        Out-of-fold AUC (mean over folds) of the model as delivered.
    oof_decision_ : ndarray
        Out-of-fold raw scores of the model as delivered (for the calibrator).
    """

    def __init__(self, *, learning_rate=0.05, num_leaves=8, min_child_samples=None, min_leaf_defaults=10.0,
                 max_rounds=3000, early_stopping_rounds=100, cv_folds=5, feature_fraction=0.7,
                 bagging_fraction=0.8, reg_lambda=20.0, max_cat_levels=8, tree_gain_z=1.0, min_tree_gain=0.001,
                 linear_base=True,
                 class_weight="sqrt", directions=None, monotone_trees=True, n_rounds=None, random_state=0,
                 n_jobs=None):
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.min_leaf_defaults = min_leaf_defaults
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.cv_folds = cv_folds
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.max_cat_levels = max_cat_levels
        self.tree_gain_z = tree_gain_z
        self.min_tree_gain = min_tree_gain
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
        if self.max_cat_levels is not None and (not isinstance(self.max_cat_levels, Integral)
                                                or self.max_cat_levels < 0):
            raise ConfigError(f"max_cat_levels must be None or an integer >= 0; got {self.max_cat_levels!r}")
        for name in ("reg_lambda", "tree_gain_z", "min_tree_gain"):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be a number >= 0; got {v!r}")
        if (not isinstance(self.min_leaf_defaults, Real) or isinstance(self.min_leaf_defaults, bool)
                or not np.isfinite(self.min_leaf_defaults) or self.min_leaf_defaults <= 0):
            raise ConfigError(f"min_leaf_defaults must be a number > 0; got {self.min_leaf_defaults!r}")
        if self.n_rounds is not None and (not isinstance(self.n_rounds, Integral) or self.n_rounds < 0):
            raise ConfigError(f"n_rounds must be None or an integer >= 0; got {self.n_rounds!r}")
        if not isinstance(self.monotone_trees, bool):
            raise ConfigError(f"monotone_trees must be true or false; got {self.monotone_trees!r}")
        if self.class_weight not in ("sqrt", "balanced", "none"):
            raise ConfigError(f"class_weight must be 'sqrt', 'balanced' or 'none'; got {self.class_weight!r}")

    def tree_category_levels(self) -> dict[str, list]:
        """The levels of each categorical as the trees were trained on them: rare levels, and categoricals
        left to the linear base (none), reach the trees as missing."""
        tree_levels = getattr(self, "tree_categories_", self.categories_)
        return {c: tree_levels.get(c, []) for c in self.categories_}

    def _lgb_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = {}
        tree_levels = self.tree_category_levels()
        for c in self.feature_names_in_:
            if c in self.categories_:
                levels = tree_levels.get(c, [])
                values = X[c].astype(object)
                known = values.isin(levels)
                # values unseen in training, merged rare levels and categoricals left to the linear base
                # reach the trees as missing (never mapped to another category)
                cols[c] = pd.Categorical(values.where(known, None), categories=levels)
            else:
                cols[c] = X[c].to_numpy(dtype="float64")
        return pd.DataFrame(cols, index=X.index)

    def _tree_categories(self, X: pd.DataFrame, cats: list[str], min_rows: int) -> None:
        """Levels the trees may split on: those with ``min_rows`` rows; none above ``max_cat_levels``."""
        self.tree_categories_, self.linear_only_categoricals_ = {}, []
        for c in cats:
            counts = X[c].dropna().astype(str).value_counts()
            levels = sorted(counts[counts >= min_rows].index.tolist())
            if self.max_cat_levels is not None and len(levels) > self.max_cat_levels:
                self.linear_only_categoricals_.append(c)
                levels = []
            self.tree_categories_[c] = levels

    def fit(self, X: pd.DataFrame, y, *, groups=None) -> GBMPD:
        """Fit the linear base, choose the number of trees (zero included) out of fold, refit on all rows.

        ``groups`` (e.g. enterprise ids of a panel of snapshots) keeps all rows of a group in one
        CV fold, so the choice is not fooled by the same enterprise on both sides of a fold.
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
            lin = base.decision_function(X)
        else:
            base = None
            p = n_bad / n
            lin = np.full(n, math.log(p / (1 - p)))
        self.linear_ = base
        ratio = (n - n_bad) / max(n_bad, 1)
        weight = {"sqrt": math.sqrt(ratio), "balanced": ratio, "none": 1.0}[self.class_weight]
        # the trees are fitted with defaults weighted up; shifting the base by log(weight) gives them the
        # weighted intercept to start from, so their first rounds do not spend themselves (and fool the
        # early stopping) on moving the intercept
        self.init_offset_ = math.log(weight)
        w = np.where(y == 1, weight, 1.0)
        mcs = self.min_child_samples or max(20, int(math.ceil(self.min_leaf_defaults * n / max(n_bad, 1))))
        mcs = min(mcs, max(1, n // 4))
        self._tree_categories(X, cats, mcs)
        tree_directions = directions if self.monotone_trees else {}
        params = {
            "objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": mcs, "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": 1, "lambda_l2": self.reg_lambda,
            "max_cat_to_onehot": 4, "max_cat_threshold": 8, "cat_smooth": 20.0, "cat_l2": 10.0,
            "min_data_per_group": mcs,
            "monotone_constraints": [_SIGN.get(tree_directions.get(c), 0) if c in nums else 0 for c in names],
            "monotone_constraints_method": "intermediate", "seed": self.random_state, "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs or (1 if n < 20_000 else 2), "verbosity": -1,
        }
        self.params_ = params
        Xl = self._lgb_frame(X)
        if self.n_rounds is None:
            self._cv_rounds(X, Xl, y, w, lin, groups, params, nums, cats, directions)
        else:
            self.n_rounds_, self.cv_auc_ = int(self.n_rounds), float("nan")
            self.oof_decision_ = None
            self.tree_decision_ = {"decision": "trees" if self.n_rounds_ else "linear base",
                                   "reason": f"fixed number of trees (n_rounds={self.n_rounds_}); not tested"}
        self.trees_kept_ = self.n_rounds_ > 0
        self.booster_ = None
        if self.n_rounds_ > 0:
            data = lgb.Dataset(Xl, label=y, weight=w, init_score=lin + self.init_offset_,
                               categorical_feature=cats or "auto")
            self.booster_ = lgb.train(params, data, num_boost_round=self.n_rounds_)
        self.init_base_ = float(lin.mean()) if base is None else None
        self.classes_ = np.array([0, 1])
        log.info("GBM: %s, %d trees (CV AUC %.4f), %d rows, %d features", self.tree_decision_["decision"],
                 self.n_rounds_, self.cv_auc_, n, len(names))
        return self

    def _cv_rounds(self, X, Xl, y, w, lin, groups, params, nums, cats, directions) -> None:
        """Number of trees, zero included, by the out-of-fold AUC, and the keep-or-drop test.

        In each fold the linear base is refitted on the fold's training rows (at the C chosen on all
        rows) and the trees are boosted from it until the held-out AUC (or log loss) has not improved for
        ``early_stopping_rounds`` rounds. The number of trees is the one with the best mean held-out
        AUC over the folds. The trees are kept only when their AUC gain over the fold's linear base,
        paired fold by fold (each fold judged at the number of trees the other folds choose), exceeds
        ``tree_gain_z`` standard errors and ``min_tree_gain``, and the held-out log loss (after
        a logistic recalibration of the pooled out-of-fold scores) does not rise. The out-of-fold raw
        scores of the chosen model are kept for the calibrator.
        """
        k = min(self.cv_folds, max(2, int(min(y.sum(), len(y) - y.sum()))))
        folds = cv_folds(k, y, groups, self.random_state)
        base_oof = np.empty(len(y), dtype="float64")
        fitted = []
        for a, b in folds:
            if self.linear_ is not None:
                with threadpool_limits(1, user_api="blas"):
                    fb = _LinearBase(nums, cats, directions, 0.01, self.random_state,
                                     C=self.linear_.C_).fit(X.iloc[a], y[a])
                ia, ib = fb.decision_function(X.iloc[a]), fb.decision_function(X.iloc[b])
            else:
                ia, ib = lin[a], lin[b]
            base_oof[b] = ib
            dtr = lgb.Dataset(Xl.iloc[a], label=y[a], weight=w[a], init_score=ia + self.init_offset_,
                              categorical_feature=cats or "auto")
            dva = lgb.Dataset(Xl.iloc[b], label=y[b], weight=w[b], init_score=ib + self.init_offset_, reference=dtr)
            curve: dict = {}
            # boosting stops when either the held-out AUC (by 1e-4) or the held-out log loss has stopped improving
            # for early_stopping_rounds rounds; the number of trees is then chosen on the AUC curve
            bst = lgb.train({**params, "metric": ["auc", "binary_logloss"]}, dtr, num_boost_round=self.max_rounds,
                            valid_sets=[dva],
                            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False,
                                                          min_delta=[1e-4, 0.0]),
                                       lgb.record_evaluation(curve)])
            fitted.append((b, bst, np.asarray(curve["valid_0"]["auc"], dtype="float64")))
        # LightGBM's AUC of the held-out fold after each round (weighting every default alike leaves AUC as it is)
        depth = min(len(c) for _, _, c in fitted)
        curves = np.array([c[:depth] for _, _, c in fitted])
        r_full = int(np.argmax(curves.mean(axis=0))) + 1
        full_oof = base_oof.copy()
        auc_base, auc_full = [], []
        for j, (b, bst, _) in enumerate(fitted):
            # each fold is judged at the number of trees the *other* folds chose: choosing it on the fold itself
            # would add the maximum of a noisy curve to the gain (cross-fitting)
            r_j = int(np.argmax(np.delete(curves, j, axis=0).mean(axis=0))) + 1
            full_oof[b] = base_oof[b] + bst.predict(Xl.iloc[b], raw_score=True, num_iteration=r_j)
            auc_base.append(_fold_auc(y[b], base_oof[b]))
            auc_full.append(_fold_auc(y[b], full_oof[b]))
        auc_base, auc_full = np.array(auc_base), np.array(auc_full)
        gain = auc_full - auc_base
        ok = gain[~np.isnan(gain)]  # a held-out fold with one class only has no AUC
        se = float(ok.std(ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else float("nan")
        ll_base, ll_full = _recalibrated_logloss(base_oof, y), _recalibrated_logloss(full_oof, y)
        threshold = max(self.tree_gain_z * se if np.isfinite(se) else 0.0, self.min_tree_gain)
        if len(ok) < 2:
            keep, reason = False, "too few held-out folds with both classes to test the trees"
        elif ok.mean() <= 0:
            keep, reason = False, "the trees do not raise the out-of-fold AUC"
        elif ok.mean() <= threshold:
            keep, reason = False, (f"the out-of-fold AUC gain {ok.mean():+.4f} is within its noise or too small "
                                   f"(needs > {threshold:.4f}: {self.tree_gain_z:g} x SE {se:.4f} paired over "
                                   f"{len(gain)} folds, at least {self.min_tree_gain:g})")
        elif ll_full > ll_base:
            keep, reason = False, "the trees raise the out-of-fold log loss"
        else:
            keep, reason = True, (f"the out-of-fold AUC gain {ok.mean():+.4f} exceeds its noise "
                                  f"({self.tree_gain_z:g} x SE {se:.4f} paired over {len(gain)} folds, "
                                  f"at least {self.min_tree_gain:g})")
        self.n_rounds_ = r_full if keep else 0
        chosen = full_oof if keep else base_oof
        self.oof_decision_ = chosen
        self.cv_auc_ = float(np.nanmean(auc_full if keep else auc_base))
        self.tree_decision_ = {
            "decision": "linear base + trees" if keep else "linear base",
            "reason": reason, "folds": len(folds), "best_n_trees": r_full,
            "oof_auc_base": float(np.nanmean(auc_base)), "oof_auc_full": float(np.nanmean(auc_full)),
            "oof_auc_gain": float(np.nanmean(gain)), "oof_auc_gain_se": se,
            "oof_auc_gain_folds": [float(v) for v in gain],
            "oof_logloss_base": ll_base, "oof_logloss_full": ll_full,
            "linear_only_categoricals": list(self.linear_only_categoricals_),
        }

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
            c, b, raw = ps.contributions(lgb_matrix(X, names, self.tree_category_levels()))
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
