"""Points scorecard: optbinning binning → feature selection → logistic regression → points.

Composition, as in optbinning: a :class:`optbinning.BinningProcess` bins every characteristic
(monotonic event-rate trend taken from the feature catalogue's ``direction`` where known,
``auto_asc_desc`` elsewhere; missing and special values in their own bins; a minimum bin
size), characteristics are selected by information value, WoE correlation and stability,
and a logistic regression on the WoE values gives the log-odds. Points are scaled so that
``base_points`` correspond to odds ``base_odds``:1 (good:bad) and every ``pdo`` points double
the odds::

    factor = pdo / ln 2
    offset = base_points - factor * ln(base_odds)
    score  = offset + factor * ln(odds_good) = offset - factor * logit(PD_raw)

and the points of characteristic j in bin i are ``-(b_j * woe_ij + b_0 / n) * factor + offset / n``
so that a row's points add up to its score exactly.
"""

from __future__ import annotations

import ast
import logging
import math
import re
from numbers import Integral, Real

import numpy as np
import pandas as pd
from optbinning import BinningProcess
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from smecredit.exceptions import ConfigError, DataContractError, NotFittedError
from smecredit.models.dataset import check_fit_input, check_predict_input, validate_params
from smecredit.psi import psi_of_samples

log = logging.getLogger(__name__)

_TRENDS = {"up": "ascending", "down": "descending"}


def scaling_constants(pdo: float, base_points: float, base_odds: float) -> tuple[float, float]:
    """Return ``(factor, offset)`` of the points scale.

    Examples
    --------
    >>> f, o = scaling_constants(20, 600, 50)
    >>> round(o + f * math.log(50), 9), round(o + f * math.log(100), 9)
    (600.0, 620.0)
    """
    factor = pdo / math.log(2)
    return factor, base_points - factor * math.log(base_odds)


def logodds_to_points(logit_bad, pdo: float = 20.0, base_points: float = 600.0, base_odds: float = 50.0):
    """Points of a bad-vs-good log-odds (higher points = lower risk)."""
    factor, offset = scaling_constants(pdo, base_points, base_odds)
    return offset - factor * np.asarray(logit_bad, dtype="float64")


_ARROW_TEXT = re.compile(r"<\w*Array>\s*(\[.*\])\s*Length: \d+, dtype: \w+", re.DOTALL)


def bin_label(value) -> str:
    """Plain text of an optbinning bin: an interval as optbinning prints it, a categorical bin as its
    categories joined by ", " (pandas 3 Arrow string arrays are turned into Python strings first, never
    printed as ``<ArrowStringArray> [...]``)."""
    if isinstance(value, str):
        m = _ARROW_TEXT.fullmatch(value.strip())
        if m:  # a table saved by an older version: recover the categories from the printed array
            try:
                return ", ".join(str(v) for v in ast.literal_eval(m.group(1)))
            except (ValueError, SyntaxError):
                return value
        return value
    if pd.api.types.is_list_like(value):
        return ", ".join(str(v) for v in list(value))
    return str(value)


_TREND_OPTIONS = {"auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex", "concave", "peak",
                  "valley", "peak_heuristic", "valley_heuristic"}


class ScorecardPD(ClassifierMixin, BaseEstimator):
    """A points scorecard producing a raw PD and points.

    A scikit-learn binary classifier: ``X`` is a DataFrame (numeric columns are binned as numbers,
    other columns as categories) or a 2-D array (columns ``x0, x1, …``; a column holding text is
    categorical); ``y`` has two classes, the second (sorted) being the default.

    Parameters
    ----------
    pdo, base_points, base_odds : float, default=20, 600, 50
        Points to double the odds, points at the base odds, base odds (good:bad).
    directions : dict or None
        ``{feature: "up" | "down" | "none"}`` from the feature catalogue (risk rises with the value: ``up``).
    default_trend : str, default="auto_asc_desc"
        optbinning ``monotonic_trend`` of numeric characteristics without a direction.
    min_bin_size : float or "auto", default="auto"
        Minimum share of rows per bin (and per pre-bin). ``"auto"``: enough rows for about 40
        expected defaults per bin, between 0.5 % and 5 % (``clip(40 / n_defaults, 0.005, 0.05)``):
        5 % on small tables, finer on large ones, where a rare but decisive value range (days past
        due in 1–2 % of the rows) needs a bin of its own.
    max_n_prebins : int or "auto", default="auto"
        Pre-bins per characteristic; ``"auto"`` = ``round(0.5 / min_bin_size)`` between 20 and 50
        (more pre-bins make the optimal binning slower without changing the bins much).
    special_codes : list or None
        Values binned apart (e.g. ``[-999]``).
    min_iv : float, default=0.02
        Characteristics with a lower information value are dropped.
    max_correlation : float, default=0.8
        Of two characteristics whose WoE correlate more, the lower-IV one is dropped.
    max_psi : float, default=0.25
        With a time index, characteristics whose bin distribution shifts more (PSI between
        the earliest and the latest half of the training rows) are dropped.
    C : float, default=1.0
        Inverse L2 regularisation of the logistic regression.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two classes of ``y``; ``classes_[1]`` is the default (event).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Names of the features seen in fit (the DataFrame's columns; ``x0, x1, …`` for an array).
    selected_features_ : list of str
        Characteristics in the points table; the others are in ``dropped_features_`` with the reason.
    table_ : DataFrame
        The points table (bins, WoE, points).
    """

    _parameter_constraints: dict = {
        "pdo": [Interval(Real, 0, None, closed="neither")],
        "base_points": [Interval(Real, None, None, closed="neither")],
        "base_odds": [Interval(Real, 0, None, closed="neither")],
        "directions": [dict, None],
        "default_trend": [StrOptions(_TREND_OPTIONS), None],
        "min_bin_size": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "max_n_prebins": [StrOptions({"auto"}), Interval(Integral, 2, None, closed="left")],
        "special_codes": ["array-like", dict, None],
        "min_iv": [Interval(Real, 0, None, closed="left")],
        "max_correlation": [Interval(Real, 0, 1, closed="right")],
        "max_psi": [Interval(Real, 0, None, closed="left"), None],
        "C": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, pdo=20.0, base_points=600.0, base_odds=50.0, directions=None,
                 default_trend="auto_asc_desc", min_bin_size="auto", max_n_prebins="auto", special_codes=None,
                 min_iv=0.02, max_correlation=0.8, max_psi=0.25, C=1.0):
        self.pdo = pdo
        self.base_points = base_points
        self.base_odds = base_odds
        self.directions = directions
        self.default_trend = default_trend
        self.min_bin_size = min_bin_size
        self.max_n_prebins = max_n_prebins
        self.special_codes = special_codes
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.max_psi = max_psi
        self.C = C

    # ------------------------------------------------------------------ checks
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _check_params(self) -> None:
        """The declared constraints (:attr:`_parameter_constraints`), then what they cannot say."""
        validate_params(self)
        bad = {k: v for k, v in (self.directions or {}).items() if v not in ("up", "down", "none")}
        if bad:
            raise ConfigError(f"directions must be 'up', 'down' or 'none'; got {bad}")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, *, time_index=None) -> ScorecardPD:
        """Bin, select, fit the regression and build the points table.

        Parameters
        ----------
        X : DataFrame of float64 (numeric) and object (categorical) columns, or a 2-D array.
        y : array-like with two classes (0/1: 1 = default).
        time_index : array-like or None
            Row dates used by the stability (PSI) selection (under scikit-learn's metadata routing,
            request it with ``set_fit_request(time_index=True)``).
        """
        self._check_params()
        X, y = check_fit_input(self, X, y)
        if time_index is not None and len(time_index) != len(y):
            raise DataContractError(f"time_index must have one value per row; got {len(time_index)} for {len(y)} rows")
        with threadpool_limits(1, user_api="blas"):  # small dense problems: BLAS threads only spin
            return self._fit(X, y, time_index)

    def _fit(self, X: pd.DataFrame, y: np.ndarray, time_index) -> ScorecardPD:
        all_names = [str(c) for c in X.columns]
        # a characteristic without two distinct observed values cannot be binned
        names = [c for c in all_names if X[c].nunique(dropna=True) >= 2]
        unusable = {c: "constant or entirely missing in the training data" for c in all_names if c not in names}
        if not names:
            raise DataContractError("no characteristic has two distinct values in the training data")
        cats = [c for c in names if not pd.api.types.is_numeric_dtype(X[c].dtype)]
        directions = self.directions or {}
        fit_params = {}
        for c in names:
            if c in cats:
                continue
            fit_params[c] = {"monotonic_trend": _TRENDS.get(directions.get(c), self.default_trend)}
        n_bad = int(y.sum())
        self.min_bin_size_ = (float(np.clip(40 / max(n_bad, 1), 0.005, 0.05)) if self.min_bin_size == "auto"
                              else float(self.min_bin_size))
        self.max_n_prebins_ = (int(np.clip(round(0.5 / self.min_bin_size_), 20, 50)) if self.max_n_prebins == "auto"
                               else int(self.max_n_prebins))
        bp = BinningProcess(names, categorical_variables=cats or None, min_bin_size=self.min_bin_size_,
                            min_prebin_size=self.min_bin_size_, max_n_prebins=self.max_n_prebins_,
                            special_codes=self.special_codes,
                            binning_fit_params=fit_params)
        bp.fit(X[names], y)
        summary = bp.summary().set_index("name")
        iv = summary["iv"].astype(float).reindex(names).fillna(0.0)
        woe = self._woe(bp, X, names)
        selected, dropped = self._select(names, iv, woe, time_index)
        dropped.update(unusable)
        lr, selected, sign_dropped = self._fit_lr(woe[selected], y, selected)
        dropped.update(sign_dropped)
        self.binning_process_ = bp
        self.estimator_ = lr
        self.feature_names_in_ = np.array(all_names, dtype=object)
        self.selected_features_ = list(selected)
        self.dropped_features_ = dropped
        self.iv_ = iv.to_dict()
        self.categorical_features_ = cats
        self.factor_, self.offset_ = scaling_constants(self.pdo, self.base_points, self.base_odds)
        self.table_ = self._points_table()
        best = self.table_[self.table_["Count"] > 0].groupby("Variable")["Points"].max()
        self.best_points_ = best.reindex(self.selected_features_).to_dict()
        return self

    @staticmethod
    def _woe(bp: BinningProcess, X: pd.DataFrame, names: list[str]) -> pd.DataFrame:
        out = {}
        for c in names:
            ob = bp.get_binned_variable(c)
            out[c] = ob.transform(X[c].to_numpy(), metric="woe", metric_special="empirical",
                                  metric_missing="empirical")
        return pd.DataFrame(out, index=X.index)

    def _select(self, names, iv, woe, time_index):
        dropped: dict[str, str] = {}
        keep = [c for c in names if iv[c] >= self.min_iv]
        for c in names:
            if c not in keep:
                dropped[c] = f"IV {iv[c]:.4f} < {self.min_iv}"
        if not keep:
            best = iv.idxmax()
            keep = [best]
            dropped.pop(best, None)
            log.warning("no characteristic reaches IV %.3f; keeping the strongest, %s", self.min_iv, best)
        if time_index is not None and self.max_psi is not None:
            t = pd.Series(pd.to_datetime(np.asarray(time_index)))
            cut = t.quantile(0.5)
            early, late = (t <= cut).to_numpy(), (t > cut).to_numpy()
            if early.any() and late.any():
                for c in list(keep):
                    psi = psi_of_samples(woe[c].to_numpy()[early], woe[c].to_numpy()[late])
                    if psi > self.max_psi and len(keep) > 1:
                        keep.remove(c)
                        dropped[c] = f"PSI {psi:.3f} > {self.max_psi}"
        keep.sort(key=lambda c: -iv[c])
        corr = woe[keep].corr().abs().fillna(0.0) if len(keep) > 1 else None
        final: list[str] = []
        for c in keep:
            clash = [k for k in final if corr is not None and corr.loc[c, k] > self.max_correlation]
            if clash:
                dropped[c] = f"|corr| with {clash[0]} {corr.loc[c, clash[0]]:.2f} > {self.max_correlation}"
            else:
                final.append(c)
        return final, dropped

    def _fit_lr(self, W: pd.DataFrame, y, selected):
        """Fit the regression; drop characteristics whose coefficient has the wrong sign (collinearity)."""
        dropped = {}
        selected = list(selected)
        while True:
            lr = LogisticRegression(C=self.C, max_iter=2000)
            lr.fit(W[selected].to_numpy(), y)
            coef = lr.coef_[0]
            # optbinning WoE rises as risk falls, so every coefficient must be <= 0
            wrong = [(c, b) for c, b in zip(selected, coef) if b > 0]
            if not wrong or len(selected) == 1:
                return lr, selected, dropped
            worst = max(wrong, key=lambda t: t[1])[0]
            dropped[worst] = "coefficient sign reversed (collinear with other characteristics)"
            selected.remove(worst)

    def _points_table(self) -> pd.DataFrame:
        b0 = float(self.estimator_.intercept_[0])
        n = len(self.selected_features_)
        rows = []
        for c, b in zip(self.selected_features_, self.estimator_.coef_[0]):
            t = self.binning_process_.get_binned_variable(c).binning_table.build()
            t = t.drop(index="Totals", errors="ignore")
            for _, r in t.iterrows():
                w = float(r["WoE"])
                rows.append({
                    "Variable": c,
                    "Bin": bin_label(r["Bin"]),
                    "Count": int(r["Count"]),
                    "Count (%)": float(r["Count (%)"]),
                    "Event rate": float(r["Event rate"]),
                    "WoE": w,
                    "IV": float(r["IV"]),
                    "Coefficient": float(b),
                    "Points": -(float(b) * w + b0 / n) * self.factor_ + self.offset_ / n,
                })
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ predict
    def _check_fitted(self):
        if not hasattr(self, "estimator_"):
            raise NotFittedError("ScorecardPD is not fitted; call fit first")

    def _check_X(self, X) -> pd.DataFrame:
        self._check_fitted()
        cats = set(self.categorical_features_)
        return check_predict_input(self, X, categorical=sorted(cats),
                                   numeric=[c for c in self.selected_features_ if c not in cats])

    def points(self, X) -> pd.DataFrame:
        """Points of each selected characteristic for each row (columns = selected features)."""
        X = self._check_X(X)
        W = self._woe(self.binning_process_, X, self.selected_features_)
        b0 = float(self.estimator_.intercept_[0])
        n = len(self.selected_features_)
        pts = -(W * self.estimator_.coef_[0] + b0 / n) * self.factor_ + self.offset_ / n
        return pts

    def decision_function(self, X) -> np.ndarray:
        """Raw log-odds of default."""
        X = self._check_X(X)
        W = self._woe(self.binning_process_, X, self.selected_features_)
        return W.to_numpy() @ self.estimator_.coef_[0] + float(self.estimator_.intercept_[0])

    def predict_proba(self, X) -> np.ndarray:
        """``[P(classes_[0]), P(classes_[1])]``: the second column is the raw (uncalibrated) PD."""
        z = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def cross_val_decision_function(self, X: pd.DataFrame, y, folds) -> np.ndarray:
        """Out-of-fold log-odds: the fitted binning and selection, the regression refitted per fold.

        Used to calibrate without refitting the (costly) binning ``k`` times; the binning is
        shared by all folds, which is the only in-sample part.
        """
        X = self._check_X(X)
        y = (np.asarray(y) == self.classes_[1]).astype("int64")
        W = self._woe(self.binning_process_, X, self.selected_features_).to_numpy()
        out = np.zeros(len(y))
        for a, b in folds:
            lr = LogisticRegression(C=self.C, max_iter=2000).fit(W[a], y[a])
            out[b] = lr.decision_function(W[b])
        return out

    def total_points(self, X: pd.DataFrame) -> np.ndarray:
        """Total points of each row (equals ``offset - factor * decision_function``)."""
        return self.points(X).sum(axis=1).to_numpy()

    def points_lost(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each characteristic lost against its best bin (>= 0; higher = riskier)."""
        pts = self.points(X)
        best = pd.Series(self.best_points_)
        return (best[pts.columns] - pts).clip(lower=0.0)

    def predict(self, X) -> np.ndarray:
        """The class of each row: ``classes_[1]`` (default) where the raw PD exceeds 0.5 (log-odds > 0)."""
        positive = (self.decision_function(X) > 0).astype(int)
        return self.classes_[positive]
