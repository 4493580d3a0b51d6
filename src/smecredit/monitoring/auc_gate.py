"""The monitoring AUC check: a drop is flagged only when it is material, significant and backed by enough defaults.

A realised AUC on ~50 defaults has a DeLong standard error of about 0.03–0.04, so a fixed "drop ≥ 0.05"
rule fires on noise. The check therefore asks three things of the realised AUC of the current period's
matured rows against the development AUC:

1. **evidence** — at least ``auc_min_defaults`` defaults (and as many non-defaults) among the matured rows;
   below it the check is ``n/a`` ("insufficient evidence"), never a flag;
2. **significance** — the one-sided DeLong test of ``H0: AUC_current ≥ AUC_development``:
   ``z = (AUC_current − AUC_development) / se``, ``p = Φ(z)``, with ``se² = se_current²`` (DeLong) plus
   ``se_development²`` when the development AUC comes with a standard error (the baseline's realised AUC,
   or the 95 % interval of the out-of-time AUC in ``validation.json``: independent samples); a development
   AUC without one (an MLflow ``test_auc`` metric) is taken as a fixed reference;
3. **materiality** — the drop ``AUC_development − AUC_current`` reaches the amber / red threshold.

Amber: drop ≥ ``auc_drop_amber`` and p < ``auc_p_amber``; red: drop ≥ ``auc_drop_red`` and p < ``auc_p_red``.
A material drop that is not significant stays green and says so (``significant: False``). The rows of an
enterprise at several snapshots are treated as independent by DeLong (the standard error is then too
small, i.e. the check errs towards flagging).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from smecredit.validation.metrics import auc_ci


def auc_drop_test(y, p, development_auc: float | None, development_se: float | None = None) -> dict:
    """Realised AUC with its DeLong CI and the one-sided test of a decline against ``development_auc``."""
    ci = auc_ci(y, p)
    out = {"realised_delong": ci, "development_se": development_se}
    if development_auc is None:
        return out | {"drop": None, "z": None, "p_value": None}
    se = math.sqrt(ci["se"] ** 2 + (development_se or 0.0) ** 2)
    drop = float(development_auc - ci["value"])
    if se <= 0:
        return out | {"drop": drop, "z": None, "p_value": 0.0 if drop > 0 else 1.0, "se": se}
    z = -drop / se
    return out | {"drop": drop, "z": float(z), "p_value": float(stats.norm.cdf(z)), "se": float(se)}


def auc_status(test: dict, n_defaults: int, n_goods: int, s) -> tuple[str, dict]:
    """Traffic light of :func:`auc_drop_test` under the settings ``s`` (evidence, significance, materiality)."""
    info = {"min_defaults": s.auc_min_defaults, "p_amber": s.auc_p_amber, "p_red": s.auc_p_red}
    if min(n_defaults, n_goods) < s.auc_min_defaults:
        return "n/a", info | {"gate": f"insufficient evidence: {min(n_defaults, n_goods)} defaults or non-defaults "
                                      f"< {s.auc_min_defaults}", "significant": None}
    drop, p = test.get("drop"), test.get("p_value")
    if drop is None or p is None or not np.isfinite(drop):
        return "n/a", info | {"gate": "no development AUC", "significant": None}
    if drop >= s.auc_drop_red and p < s.auc_p_red:
        status = "red"
    elif drop >= s.auc_drop_amber and p < s.auc_p_amber:
        status = "amber"
    else:
        status = "green"
    return status, info | {"gate": "passed", "significant": bool(p < s.auc_p_amber)}
