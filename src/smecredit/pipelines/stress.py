"""Sensitivity and stress: PD, grade distribution and portfolio expected loss under stressed raw inputs.

Each scenario scales raw inputs over the last ``months`` months up to the snapshot, rebuilds the
point-in-time features from the stressed raw tables (so every derived feature — levels, growth,
momentum, cross-source gaps — moves consistently) and scores the model:

* ``base`` — the raw data as they are;
* ``sales -30%`` — ``tax_monthly.invoiced_sales`` × 0.7;
* ``electricity -30%`` — ``utilities_monthly.electricity_kwh`` × 0.7;
* ``sales and electricity -30%`` — both.

Per scenario: obligors, mean and median PD, the share in grades 8–10, the grade distribution, the share of
obligors downgraded against the base, and the expected loss ``EL = Σ PD × LGD × EAD`` with EAD the loan
balance at the snapshot (feature ``cr_balance``) and one LGD (default 45 %, the foundation-IRB value for
senior unsecured exposures; a policy's collateral-specific LGDs are not applied here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError

log = logging.getLogger(__name__)

EAD_COL = "cr_balance"


@dataclass(frozen=True)
class Shock:
    """Relative change of one raw column over the stress window."""

    table: str
    column: str
    change: float


SCENARIOS: dict[str, tuple[Shock, ...]] = {
    "base": (),
    "sales -30%": (Shock("tax_monthly", "invoiced_sales", -0.30),),
    "electricity -30%": (Shock("utilities_monthly", "electricity_kwh", -0.30),),
    "sales and electricity -30%": (Shock("tax_monthly", "invoiced_sales", -0.30),
                                   Shock("utilities_monthly", "electricity_kwh", -0.30)),
}


def stress_raw(raw, shocks, as_of: pd.Timestamp, months: int):
    """A copy of ``raw`` with each shock applied to the months in ``(as_of - months, as_of]``."""
    from smecredit.data.loaders import RawData

    tables = dict(raw.tables)
    start = as_of - pd.DateOffset(months=months)
    for s in shocks:
        if s.table not in tables:
            raise DataContractError(f"stress scenario needs raw table {s.table!r}; it is not available")
        df = tables[s.table].copy()
        if s.column not in df.columns:
            raise DataContractError(f"stress scenario needs column {s.column!r} of table {s.table!r}")
        when = pd.to_datetime(df["month_end"])
        m = ((when > start) & (when <= as_of)).to_numpy()
        df.loc[m, s.column] = df.loc[m, s.column].astype("float64") * (1.0 + s.change)
        tables[s.table] = df
    return RawData(tables, raw.folder, list(raw.missing))


def stress_test(model, raw, as_of, *, scenarios=None, months: int = 6, lgd: float = 0.45) -> dict:
    """Score ``model`` on features rebuilt from stressed raw data at snapshot ``as_of`` (module docstring)."""
    from smecredit.features import build_features

    if not 0 < lgd <= 1:
        raise ConfigError(f"lgd must be in (0, 1]; got {lgd!r}")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be an integer >= 1; got {months!r}")
    scenarios = scenarios or list(SCENARIOS)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ConfigError(f"unknown stress scenario(s) {unknown}; known: {list(SCENARIOS)}")
    as_of = pd.Timestamp(as_of)
    order = [g for g in model.master_scale_.grades]
    idx = {g: i for i, g in enumerate(order)}
    results, base = [], None
    for name in ["base"] + [s for s in scenarios if s != "base"]:
        feats = build_features(stress_raw(raw, SCENARIOS[name], as_of, months), [as_of])
        if len(feats) == 0:
            raise DataContractError(f"no obligor in the population at {as_of.date()}: nothing to stress")
        missing = [c for c in model.feature_names_ if c not in feats.columns]
        if missing:
            raise DataContractError(f"the model needs feature column(s) the rebuilt features lack: {missing}")
        pred = model.predict(feats)
        ead = pd.to_numeric(feats[EAD_COL], errors="coerce").fillna(0.0).to_numpy() if EAD_COL in feats else \
            np.ones(len(feats))
        p = pred["pd"].to_numpy()
        grades = pred["grade"].astype(str)
        dist = grades.value_counts(normalize=True).reindex(order, fill_value=0.0)
        row = {"scenario": name, "n": int(len(p)), "mean_pd": float(p.mean()), "median_pd": float(np.median(p)),
               "share_grade_8_10": float(grades.isin(["8", "9", "10"]).mean()),
               "grade_distribution": {g: float(dist[g]) for g in order}, "ead": float(ead.sum()),
               "el": float(np.sum(p * lgd * ead))}
        if base is None:
            base = {"ids": feats["enterprise_id"].to_numpy(), "grade": grades.map(idx).to_numpy(), "row": row}
            row.update({"downgraded": 0.0, "el_change": 0.0, "mean_pd_change": 0.0})
        else:
            if not np.array_equal(feats["enterprise_id"].to_numpy(), base["ids"]):
                raise DataContractError("stressed features cover other obligors than the base; cannot compare")
            row["downgraded"] = float(np.mean(grades.map(idx).to_numpy() > base["grade"]))
            row["el_change"] = row["el"] / base["row"]["el"] - 1.0 if base["row"]["el"] > 0 else None
            row["mean_pd_change"] = row["mean_pd"] / base["row"]["mean_pd"] - 1.0
        results.append(row)
    return {"as_of": str(as_of.date()), "months": months, "lgd": lgd, "ead_column": EAD_COL,
            "scenarios": results}
