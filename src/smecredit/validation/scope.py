"""Model scope: the population a PD model is built and validated for, its intended use and default definition.

Two populations of the same snapshot panel:

* ``application`` — enterprises with **no current arrears** (``cr_dpd_now == 0`` at the snapshot): the
  population of new lending and renewal decisions, where the model must rank borrowers that look
  clean today;
* ``behavioural`` — every row (the book, including borrowers already past due): monitoring, early
  warning, provisioning. Borrowers in arrears are easy to rank, so a behavioural model's AUC
  overstates what it does for new lending; the report therefore also shows every performance figure
  by days-past-due bucket and without the in-arrears grades.

The default definition is the features' label (``smecredit.features``): more than 90 days past due
on any loan, or a loan classified 次级 (substandard) or worse (可疑, 损失) in the five-category loan
classification, within the ``horizon`` months after the snapshot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError

POPULATIONS = ("behavioural", "application")
DPD_COL = "cr_dpd_now"
DPD_BUCKETS = ((0, 0, "current (0 dpd)"), (1, 29, "1–29 dpd"), (30, 59, "30–59 dpd"), (60, 89, "60–89 dpd"),
               (90, np.inf, "90+ dpd"))
DEFAULT_DPD = 90

INTENDED_USE = {
    "application": ("New lending and renewal (无还本续贷) decisions for SMEs with no current arrears at the "
                    "decision date; not validated for borrowers already past due."),
    "behavioural": ("Monitoring, early warning and provisioning of the existing SME loan book, all obligors "
                    "including those already past due; for new lending use an application model (its "
                    "discrimination without the in-arrears rows is shown in the report)."),
}
POPULATION_RULE = {
    "application": f"rows with {DPD_COL} = 0 (no loan past due at the snapshot)",
    "behavioural": "all rows of the features table (active-loan obligors, including those in arrears)",
}


def check_population(population: str) -> str:
    """``population`` if it is one of :data:`POPULATIONS`, else :class:`ConfigError`."""
    if population not in POPULATIONS:
        raise ConfigError(f"population must be one of {', '.join(POPULATIONS)}; got {population!r}")
    return population


def population_mask(frame: pd.DataFrame, population: str, *, source: str = "data") -> np.ndarray:
    """Boolean mask of the rows in ``population`` (all rows for ``behavioural``).

    Raises
    ------
    ConfigError
        Unknown population.
    DataContractError
        ``application`` on data without the ``cr_dpd_now`` feature (names the table and column).
    """
    check_population(population)
    if population == "behavioural":
        return np.ones(len(frame), dtype=bool)
    if DPD_COL not in frame.columns:
        raise DataContractError(f"{source}: the application population needs column {DPD_COL!r} (days past due "
                                "at the snapshot, credit-bureau features); it is absent")
    dpd = pd.to_numeric(frame[DPD_COL], errors="coerce").to_numpy(dtype="float64")
    return np.nan_to_num(dpd, nan=0.0) <= 0


def dpd_bucket(values) -> np.ndarray:
    """Days-past-due bucket label of each value (missing counts as current)."""
    v = np.nan_to_num(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64"), nan=0.0)
    out = np.empty(len(v), dtype=object)
    for lo, hi, label in DPD_BUCKETS:
        out[(v >= lo) & (v <= hi)] = label
    out[v < 0] = DPD_BUCKETS[0][2]
    return out


def default_definition(horizon_months: int | None, default_dpd: int = DEFAULT_DPD) -> str:
    """The default definition in words."""
    h = f"{int(horizon_months)} months" if horizon_months else "the outcome horizon (not recorded)"
    return (f"More than {default_dpd} days past due on any loan, or a loan classified 次级 (substandard) or worse "
            f"(可疑 doubtful, 损失 loss) in the five-category classification, within {h} after the snapshot "
            "(Basel / EBA GL/2016/07 definition of default; obligors already in default at the snapshot are "
            "excluded and get grade D when scored).")


def scope_card(population: str, *, horizon_months: int | None, n_rows: int | None = None,
               n_excluded: int | None = None) -> dict:
    """The model card's scope fields (written to ``validation.json`` and the model metadata)."""
    check_population(population)
    return {"population": population, "population_rule": POPULATION_RULE[population],
            "intended_use": INTENDED_USE[population], "default_definition": default_definition(horizon_months),
            "default_dpd": DEFAULT_DPD, "horizon_months": horizon_months, "rows_in_population": n_rows,
            "rows_excluded": n_excluded}
