"""How many trees a GBMPD keeps: grouped, stratified cross-validation and the keep-or-drop test.

:func:`choose_trees` boosts from the linear base refitted in each fold, picks the number of trees by
the mean held-out AUC, and keeps the trees only when their out-of-fold AUC gain over the linear base,
paired fold by fold, beats its noise (see :class:`~smecredit.models.gbm.GBMPD`).
"""

from __future__ import annotations

import math

import lightgbm as lgb
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from smecredit.models.linear_base import LinearBase

def cv_folds(k: int, y: np.ndarray, groups, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds; grouped (no group on both sides) when ``groups`` is given."""
    idx = np.zeros((len(y), 1))
    if groups is None:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, y))
    groups = np.asarray(groups)
    if len(groups) != len(y):
        raise ValueError(f"groups must have one value per row; got {len(groups)} for {len(y)} rows")
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups))


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


def choose_trees(est, X, Xl, y, w, lin, groups, params, nums, cats, directions) -> None:
    """Number of trees, zero included, by the out-of-fold AUC, and the keep-or-drop test.

    In each fold the linear base is refitted on the fold's training rows (at the C chosen on all
    rows) and the trees are boosted from it until the held-out AUC (or log loss) has not improved for
    ``early_stopping_rounds`` rounds. The number of trees is the one with the best mean held-out
    AUC over the folds. The trees are kept only when their AUC gain over the fold's linear base,
    paired fold by fold (each fold judged at the number of trees the other folds choose), exceeds
    ``tree_gain_z`` standard errors and ``min_tree_gain``, and the held-out log loss (after
    a logistic recalibration of the pooled out-of-fold scores) does not rise. The out-of-fold raw
    scores of the chosen model are kept for the calibrator.

    Sets ``est.n_rounds_``, ``est.oof_decision_``, ``est.cv_auc_`` and ``est.tree_decision_`` of the
    :class:`~smecredit.models.gbm.GBMPD` being fitted (``Xl``: its LightGBM frame; ``lin``: the linear
    base's scores on all rows; ``w``: the row weights).
    """
    k = min(est.cv_folds, max(2, int(min(y.sum(), len(y) - y.sum()))))
    folds = cv_folds(k, y, groups, est.random_state)
    base_oof = np.empty(len(y), dtype="float64")
    fitted = []
    for a, b in folds:
        if est.linear_ is not None:
            with threadpool_limits(1, user_api="blas"):
                fb = LinearBase(nums, cats, directions, 0.01, est.random_state,
                                 C=est.linear_.C_).fit(X.iloc[a], y[a])
            ia, ib = fb.decision_function(X.iloc[a]), fb.decision_function(X.iloc[b])
        else:
            ia, ib = lin[a], lin[b]
        base_oof[b] = ib
        dtr = lgb.Dataset(Xl.iloc[a], label=y[a], weight=w[a], init_score=ia + est.init_offset_,
                          categorical_feature=cats or "auto")
        dva = lgb.Dataset(Xl.iloc[b], label=y[b], weight=w[b], init_score=ib + est.init_offset_, reference=dtr)
        curve: dict = {}
        # boosting stops when either the held-out AUC (by 1e-4) or the held-out log loss has stopped improving
        # for early_stopping_rounds rounds; the number of trees is then chosen on the AUC curve
        bst = lgb.train({**params, "metric": ["auc", "binary_logloss"]}, dtr, num_boost_round=est.max_rounds,
                        valid_sets=[dva],
                        callbacks=[lgb.early_stopping(est.early_stopping_rounds, verbose=False,
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
    threshold = max(est.tree_gain_z * se if np.isfinite(se) else 0.0, est.min_tree_gain)
    if len(ok) < 2:
        keep, reason = False, "too few held-out folds with both classes to test the trees"
    elif ok.mean() <= 0:
        keep, reason = False, "the trees do not raise the out-of-fold AUC"
    elif ok.mean() <= threshold:
        keep, reason = False, (f"the out-of-fold AUC gain {ok.mean():+.4f} is within its noise or too small "
                               f"(needs > {threshold:.4f}: {est.tree_gain_z:g} x SE {se:.4f} paired over "
                               f"{len(gain)} folds, at least {est.min_tree_gain:g})")
    elif ll_full > ll_base:
        keep, reason = False, "the trees raise the out-of-fold log loss"
    else:
        keep, reason = True, (f"the out-of-fold AUC gain {ok.mean():+.4f} exceeds its noise "
                              f"({est.tree_gain_z:g} x SE {se:.4f} paired over {len(gain)} folds, "
                              f"at least {est.min_tree_gain:g})")
    est.n_rounds_ = r_full if keep else 0
    chosen = full_oof if keep else base_oof
    est.oof_decision_ = chosen
    est.cv_auc_ = float(np.nanmean(auc_full if keep else auc_base))
    est.tree_decision_ = {
        "decision": "linear base + trees" if keep else "linear base",
        "reason": reason, "folds": len(folds), "best_n_trees": r_full,
        "oof_auc_base": float(np.nanmean(auc_base)), "oof_auc_full": float(np.nanmean(auc_full)),
        "oof_auc_gain": float(np.nanmean(gain)), "oof_auc_gain_se": se,
        "oof_auc_gain_folds": [float(v) for v in gain],
        "oof_logloss_base": ll_base, "oof_logloss_full": ll_full,
        "linear_only_categoricals": list(est.linear_only_categoricals_),
    }
