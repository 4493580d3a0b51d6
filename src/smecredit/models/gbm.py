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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from smecredit.exceptions import ConfigError, DataContractError, NotFittedError
from smecredit.models.dataset import check_fit_input, check_predict_input, validate_params
from smecredit.models.linear_base import SIGN as _SIGN
from smecredit.models.linear_base import LinearBase
from smecredit.models.tree_choice import choose_trees, cv_folds

__all__ = ["GBMPD", "LinearBase", "cv_folds"]

#: the former name, kept for code that imports it from here (the saved-model loader among them)
_LinearBase = LinearBase

log = logging.getLogger(__name__)


class GBMPD(ClassifierMixin, BaseEstimator):
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
        LightGBM threads; ``None`` (or 0) = 1 below 20,000 rows (threads only add overhead there), else 2;
        a negative value is LightGBM's default (all cores).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two classes of ``y``; ``classes_[1]`` is the default (event).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Names of the features seen in fit (the DataFrame's columns; ``x0, x1, …`` for an array).
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

    _parameter_constraints: dict = {
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left"), None],
        "min_leaf_defaults": [Interval(Real, 0, None, closed="neither")],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "feature_fraction": [Interval(Real, 0, 1, closed="right")],
        "bagging_fraction": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "max_cat_levels": [Interval(Integral, 0, None, closed="left"), None],
        "tree_gain_z": [Interval(Real, 0, None, closed="left")],
        "min_tree_gain": [Interval(Real, 0, None, closed="left")],
        "linear_base": ["boolean"],
        "class_weight": [StrOptions({"sqrt", "balanced", "none"})],
        "directions": [dict, None],
        "monotone_trees": ["boolean"],
        "n_rounds": [Interval(Integral, 0, None, closed="left"), None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both")],
        "n_jobs": [Integral, None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _check_params(self) -> None:
        """The declared constraints (:attr:`_parameter_constraints`), then what they cannot say."""
        validate_params(self)
        for name in ("min_leaf_defaults", "reg_lambda", "tree_gain_z", "min_tree_gain"):
            v = getattr(self, name)
            if not np.isfinite(v):
                raise ConfigError(f"{name} must be a finite number; got {v!r}")

    def tree_category_levels(self) -> dict[str, list]:
        """The levels of each categorical as the trees were trained on them: rare levels, and categoricals
        left to the linear base (none), reach the trees as missing."""
        tree_levels = getattr(self, "tree_categories_", self.categories_)
        return {c: tree_levels.get(c, []) for c in self.categories_}

    def _check_X(self, X) -> pd.DataFrame:
        self._check_fitted()
        cats = list(self.categories_)
        return check_predict_input(self, X, categorical=cats,
                                   numeric=[c for c in self.feature_names_in_ if c not in self.categories_])

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

    def fit(self, X, y, *, groups=None) -> GBMPD:
        """Fit the linear base, choose the number of trees (zero included) out of fold, refit on all rows.

        ``X``: a DataFrame (numeric columns are numeric features, others categorical) or a 2-D
        array (columns ``x0, x1, …``; a column holding text is categorical). ``y``: two classes,
        the second (sorted) being the default.

        ``groups`` (e.g. enterprise ids of a panel of snapshots) keeps all rows of a group in one
        CV fold, so the choice is not fooled by the same enterprise on both sides of a fold. In a
        scikit-learn search, route it with metadata routing
        (``sklearn.set_config(enable_metadata_routing=True)`` and ``GBMPD(...).set_fit_request(groups=True)``),
        or fix the number of trees with ``n_rounds`` so that there is no inner cross-validation.
        """
        self._check_params()
        X, y = check_fit_input(self, X, y)
        if groups is not None and len(groups) != len(y):
            raise DataContractError(f"groups must have one value per row; got {len(groups)} for {len(y)} rows")
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
                base = LinearBase(nums, cats, directions, 0.01, self.random_state).fit(X, y)
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
        log.info("GBM: %s, %d trees (CV AUC %.4f), %d rows, %d features", self.tree_decision_["decision"],
                 self.n_rounds_, self.cv_auc_, n, len(names))
        return self

    def _cv_rounds(self, X, Xl, y, w, lin, groups, params, nums, cats, directions) -> None:
        """Number of trees, zero included, and the keep-or-drop test (:func:`.tree_choice.choose_trees`)."""
        choose_trees(self, X, Xl, y, w, lin, groups, params, nums, cats, directions)

    def _check_fitted(self):
        if not hasattr(self, "n_rounds_"):
            raise NotFittedError("GBMPD is not fitted; call fit first")

    def _base(self, X: pd.DataFrame) -> np.ndarray:
        if self.linear_ is not None:
            return self.linear_.decision_function(X)
        return np.full(len(X), self.init_base_)

    def decision_function(self, X) -> np.ndarray:
        """Raw log-odds of default (linear base + trees)."""
        X = self._check_X(X)
        z = self._base(X)
        if self.booster_ is not None:
            z = z + self.booster_.predict(self._lgb_frame(X), raw_score=True)
        return z

    def predict_proba(self, X) -> np.ndarray:
        """``[P(classes_[0]), P(classes_[1])]``: the second column is the raw (uncalibrated) PD."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The class of each row: ``classes_[1]`` (default) where the raw PD exceeds 0.5 (log-odds > 0)."""
        positive = (self.decision_function(X) > 0).astype(int)
        return self.classes_[positive]

    def score_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(decision_function, contributions (n, n_features) in feature_names_in_ order, bias)`` in one pass.

        The decision equals :meth:`decision_function` bit for bit; the contributions equal
        :meth:`contributions` (exact TreeSHAP, by decision-pattern lookup: see
        :mod:`smecredit.models.treeshap`) up to floating-point summation order.
        """
        from smecredit.models.treeshap import lgb_matrix, pattern_shap

        X = self._check_X(X)
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
        X = self._check_X(X)
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
