"""Hosmer–Lemeshow corrected for enterprise clusters (rows of one enterprise at several snapshots).

The plain Hosmer–Lemeshow statistic (:func:`smecredit.validation.metrics.hosmer_lemeshow`) divides each
decile's squared gap ``(O_g − E_g)²`` by the binomial variance ``n_g p̄_g (1 − p̄_g)``, which assumes
independent rows. In a snapshot panel an enterprise appears at several snapshots, its outcome windows
overlap and one default event is counted at several rows: the true variance of ``O_g − E_g`` is larger
and the plain test rejects too often.

Correction (Rao & Scott 1981, first order): per PD group ``g`` the design effect

    deff_g = Σ_c (Σ_{i ∈ c ∩ g} (y_i − p_i))² / Σ_{i ∈ g} (y_i − p_i)²      (floored at 1)

is the cluster-robust over the naive variance of the group's residual sum (``c`` = enterprise); the
corrected statistic is ``χ²_HL / mean_g(deff_g)`` with the plain test's degrees of freedom (``g`` out of
sample, ``g − 2`` in sample). With one row per enterprise every ``deff_g`` is 1 and the corrected test
*is* the plain one; when every row appears ``k`` times, ``deff_g = k`` and the corrected statistic equals
the plain statistic of the rows without copies.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from smecredit.exceptions import DataContractError
from smecredit.validation.metrics import hosmer_lemeshow

METHOD = ("Rao–Scott first-order correction: plain χ² divided by the mean design effect of enterprise "
          "clusters over the PD groups")


def group_design_effects(y, p, clusters, n_groups: int = 10) -> np.ndarray:
    """``deff_g`` of each non-empty PD group (the same groups as :func:`hosmer_lemeshow`)."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    c = np.asarray(clusters)
    if c.shape[0] != y.shape[0]:
        raise DataContractError(f"clusters must have one entry per row; got {c.shape[0]} for {len(y)} rows")
    _, inv = np.unique(c.astype(str), return_inverse=True)
    order = np.argsort(p, kind="mergesort")
    out = []
    for g in np.array_split(order, n_groups):
        if len(g) == 0:
            continue
        r = y[g] - p[g]
        naive = float(np.sum(r ** 2))
        robust = float(np.sum(np.bincount(inv[g], weights=r) ** 2))
        out.append(max(1.0, robust / naive) if naive > 0 else 1.0)
    return np.asarray(out)


def hosmer_lemeshow_clustered(y, p, clusters, n_groups: int = 10, *, in_sample: bool = False) -> dict:
    """Hosmer–Lemeshow with the enterprise-cluster correction (module docstring), beside the plain one.

    ``clusters`` is the enterprise id of each row (``None``: rows independent, the plain test). Returns
    the plain result's fields with the corrected ``statistic`` and ``p_value``, plus ``deff`` (mean
    design effect), ``deff_groups``, ``n_clusters``, ``plain_statistic``, ``plain_p_value`` and ``method``.
    """
    plain = hosmer_lemeshow(y, p, n_groups, in_sample=in_sample)
    if clusters is None:
        deffs = np.ones(len(plain["groups"]))
        n_clusters = len(np.asarray(y))
    else:
        deffs = group_design_effects(y, p, clusters, n_groups)
        n_clusters = int(len(np.unique(np.asarray(clusters).astype(str))))
    deff = float(deffs.mean()) if len(deffs) else 1.0
    stat = plain["statistic"] / deff
    return {**plain, "statistic": float(stat), "p_value": float(stats.chi2.sf(stat, plain["dof"])),
            "deff": deff, "deff_groups": [float(d) for d in deffs], "n_clusters": n_clusters,
            "n_rows": int(len(np.asarray(y))), "plain_statistic": plain["statistic"],
            "plain_p_value": plain["p_value"], "method": METHOD}
