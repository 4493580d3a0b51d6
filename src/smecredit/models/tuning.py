"""Optional Optuna tuning of the GBM hyper-parameters under a wall-clock budget.

The objective is the cross-validated AUC that :class:`~smecredit.models.gbm.GBMPD` computes
while choosing its number of trees; the defaults are evaluated first, so tuning never returns
parameters that did worse than the defaults in CV.
"""

from __future__ import annotations

import logging
from numbers import Real

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError
from smecredit.models.gbm import GBMPD

log = logging.getLogger(__name__)


def tune_gbm(X: pd.DataFrame, y, *, time_budget: float, directions: dict | None = None, max_trials: int = 200,
             random_state: int = 0) -> dict:
    """Return the best GBM parameters found within ``time_budget`` seconds (``{}`` = keep the defaults)."""
    if not isinstance(time_budget, Real) or time_budget <= 0:
        raise ConfigError(f"time_budget must be a number of seconds > 0; got {time_budget!r}")
    try:
        import optuna
    except ImportError as exc:  # optional extra
        raise ConfigError("GBM tuning needs optuna: pip install 'smecredit[tune]'") from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    y = np.asarray(y, dtype="int64")

    def objective(trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 31, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 50.0, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "min_child_samples": trial.suggest_int("min_child_samples", 10, max(11, len(y) // 50), log=True),
        }
        m = GBMPD(directions=directions, random_state=random_state, **params).fit(X, y)
        return m.cv_auc_

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=random_state))
    default = GBMPD(directions=directions, random_state=random_state).fit(X, y).cv_auc_
    study.optimize(objective, timeout=float(time_budget), n_trials=max_trials)
    if not study.trials or study.best_value <= default:
        log.info("tuning kept the defaults (CV AUC %.4f)", default)
        return {}
    log.info("tuning: CV AUC %.4f -> %.4f after %d trials", default, study.best_value, len(study.trials))
    return dict(study.best_params)
