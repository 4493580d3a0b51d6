"""The one population stability index of smecredit (PSI of scores and grades, CSI of features,
the scorecard's stability filter).

``PSI = sum_i (a_i - r_i) * ln(a_i / r_i)`` over the bins ``i`` of a variable, with ``r_i`` and
``a_i`` the reference and actual shares. **Smoothing**: a share below ``eps`` (default
``1e-4``) is raised to ``eps`` before the logarithm (a floor, not an additive constant), so an
empty bin on one side contributes a large but finite term; bins empty in *both* samples are left
out. Shares are not renormalised after flooring.

It lives in the core (below ``models``) because the scorecard's stability filter
(:mod:`smecredit.models.scorecard`) and the validation and monitoring stages
(:mod:`smecredit.validation.stability`, :mod:`smecredit.monitoring.monitor`) all use it.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-4


def psi_terms(ref_counts, act_counts, *, eps: float = EPS) -> np.ndarray:
    """Per-bin PSI contributions of two count vectors over the same bins (0 where both are empty).

    >>> psi_terms([50, 50], [50, 50]).tolist()
    [0.0, 0.0]
    >>> round(float(psi_terms([90, 10, 0], [50, 40, 10]).sum()), 4)
    1.3411
    """
    rc = np.asarray(ref_counts, dtype="float64")
    ac = np.asarray(act_counts, dtype="float64")
    rs = np.maximum(rc / rc.sum(), eps)
    as_ = np.maximum(ac / ac.sum(), eps)
    return np.where((rc + ac) > 0, (as_ - rs) * np.log(as_ / rs), 0.0)


def psi_of_samples(reference, actual, *, eps: float = EPS) -> float:
    """PSI between two samples of a discrete variable, one bin per distinct value.

    >>> psi_of_samples([1, 1, 2, 2], [1, 1, 2, 2])
    0.0
    """
    ref, act = np.asarray(reference), np.asarray(actual)
    keys, inv = np.unique(np.r_[ref, act], return_inverse=True)
    rc = np.bincount(inv[: len(ref)], minlength=len(keys))
    ac = np.bincount(inv[len(ref):], minlength=len(keys))
    return float(psi_terms(rc, ac, eps=eps).sum())
