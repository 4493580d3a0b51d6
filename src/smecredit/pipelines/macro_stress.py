"""Macro-shock stress on the simulator: the model scored on a city hit by a macro downturn vs the same city without it.

Two cities are simulated with the same seed — the same enterprises, loans and idiosyncratic draws — and
differ only in the simulator's systematic macro scenario (its ``scenario()`` hook, set through
``SimConfig.macro_shock``): the **base** city has no macro shock (``macro_shock = 0``), the **stressed**
city a shock of depth ``shock`` (default −0.9, twice the simulator's default −0.45) on every industry's
health, with the banks' forbearance on 61–90 dpd loans during the shock. The simulator places the shock
2–5 months into the window (about ten months long), so the scoring date ``as_of`` is chosen among the
month-ends with a full twelve-month look-back (≥ 12 months into the window) and a full twelve-month outcome
window before the end: the one where the shock raises the simulator's true mean 12-month PD of all
enterprises most (the peak of the stress that a model with complete features can see). With 24 months
that is the twelfth month-end.

Per city: obligors, the model's mean and median PD, the share in grades 8–10, the grade distribution, the
portfolio expected loss ``EL = Σ PD × LGD × EAD`` (EAD = loan balance ``cr_balance``, one LGD), and two
benchmarks the simulator knows: the **true** mean 12-month PD of the same obligors (``_truth/pd_true``) and
their **observed** 12-month default rate. The stressed row adds the relative changes against the base and
the share of obligors present in both cities that the model downgrades. Whether the model's PD moves as
much as the true PD is the question the stress answers: a point-in-time model should follow it, a model
whose inputs do not show the shock (the simulator's industry ``downturn``, which moves the hazard only)
cannot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError, DataContractError

EAD_COL = "cr_balance"
DEFAULT_SHOCK = -0.9


def _simulate(n: int, months: int, seed: int, end: str, shock: float, out):
    # the simulator's public entry point; only the macro scenario differs between the two cities
    from smecredit.simulation import SimConfig, simulate

    return simulate(config=SimConfig(n_enterprises=n, months=months, seed=seed, end=end, macro_shock=shock), out=out)


def candidate_dates(end: str, months: int) -> list[pd.Timestamp]:
    """Month-ends with twelve months of look-back and twelve of outcomes inside a window of ``months`` to ``end``."""
    start = pd.Timestamp(end).to_period("M") - (months - 1)
    return [(start + k).to_timestamp(how="end").normalize() for k in range(11, months - 12)]


def stress_as_of(base_folder, shock_folder, end: str, months: int) -> tuple[pd.Timestamp, float]:
    """The candidate date where the shocked city's true mean PD exceeds the base city's most (and that ratio)."""
    dates = candidate_dates(end, months)

    def mean_pd(folder):
        t = pd.read_parquet(folder / "_truth" / "pd_true.parquet", columns=["month_end", "pd_12m"])
        return t.assign(month_end=pd.to_datetime(t["month_end"])).groupby("month_end")["pd_12m"].mean()

    ratio = (mean_pd(shock_folder) / mean_pd(base_folder)).reindex(dates)
    if ratio.notna().any():
        best = ratio.idxmax()
        return pd.Timestamp(best), float(ratio[best])
    return dates[0], float("nan")


def _city_row(model, folder, as_of: pd.Timestamp, lgd: float, order: list[str]) -> tuple[dict, pd.DataFrame]:
    from smecredit.data import load_raw
    from smecredit.features import build_features

    feats = build_features(load_raw(folder), [as_of])
    if len(feats) == 0:
        raise DataContractError(f"no obligor in the simulated population at {as_of.date()}: nothing to stress")
    pred = model.predict(feats, flag_missing=False)
    p = pred["pd"].to_numpy(dtype="float64")
    grades = pred["grade"].astype(str)
    ead = pd.to_numeric(feats[EAD_COL], errors="coerce").fillna(0.0).to_numpy() if EAD_COL in feats else \
        np.ones(len(feats))
    dist = grades.value_counts(normalize=True).reindex(order, fill_value=0.0)
    row = {"n": int(len(p)), "mean_pd": float(p.mean()), "median_pd": float(np.median(p)),
           "share_grade_8_10": float(grades.isin(["8", "9", "10"]).mean()),
           "grade_distribution": {g: float(dist[g]) for g in order}, "ead": float(ead.sum()),
           "el": float(np.sum(p * lgd * ead))}
    truth = pd.read_parquet(folder / "_truth" / "pd_true.parquet")
    truth = truth[pd.to_datetime(truth["month_end"]) == as_of].set_index("enterprise_id")["pd_12m"]
    tp = truth.reindex(feats["enterprise_id"].astype(str).to_numpy()).to_numpy(dtype="float64")
    row["true_mean_pd"] = float(np.nanmean(tp)) if np.isfinite(tp).any() else None
    row["true_el"] = float(np.nansum(tp * lgd * ead)) if np.isfinite(tp).any() else None
    if "bad" in feats.columns:
        y = pd.to_numeric(feats["bad"], errors="coerce")
        row["observed_default_rate"] = float(y.mean()) if y.notna().any() else None
        row["labelled"] = int(y.notna().sum())
    keyed = pd.DataFrame({"enterprise_id": feats["enterprise_id"].astype(str).to_numpy(),
                          "grade": grades.map({g: i for i, g in enumerate(order)}).to_numpy()})
    return row, keyed


def macro_stress(model, *, n_enterprises: int = 3000, months: int = 36, seed: int = 0, end: str = "2025-12-31",
                 shock: float = DEFAULT_SHOCK, lgd: float = 0.45) -> dict:
    """Score ``model`` on a base and a macro-shocked simulated city (module docstring); a JSON-ready dict."""
    from smecredit.io import work_dir

    if not -5 <= shock < 0:
        raise ConfigError(f"macro shock must be in [-5, 0); got {shock!r}")
    if not 0 < lgd <= 1:
        raise ConfigError(f"lgd must be in (0, 1]; got {lgd!r}")
    if isinstance(months, bool) or not isinstance(months, int) or months < 24:
        raise ConfigError(f"macro stress months must be an integer >= 24 (12 of look-back, 12 of outcomes); "
                          f"got {months!r}")
    if isinstance(n_enterprises, bool) or not isinstance(n_enterprises, int) or n_enterprises < 200:
        raise ConfigError(f"macro stress enterprises must be an integer >= 200; got {n_enterprises!r}")
    order = list(model.master_scale_.grades)
    rows, keyed = [], []
    with work_dir("smecredit-macrostress-") as tmp:
        cities = {depth: _simulate(n_enterprises, months, seed, end, depth, tmp / ("base" if depth == 0 else "shock"))
                  for depth in (0.0, shock)}
        as_of, true_ratio = stress_as_of(cities[0.0], cities[shock], end, months)
        for name, depth in (("base (no macro shock)", 0.0), (f"macro shock {shock:g}", shock)):
            row, k = _city_row(model, cities[depth], as_of, lgd, order)
            rows.append({"scenario": name, "shock": depth, **row})
            keyed.append(k)
    base, stressed = rows
    for r in rows:
        for key in ("mean_pd", "el", "true_mean_pd", "true_el", "observed_default_rate"):
            b, v = base.get(key), r.get(key)
            r[f"{key}_change"] = (v / b - 1.0) if (b and v is not None) else None
    both = keyed[0].merge(keyed[1], on="enterprise_id", suffixes=("_base", "_stress"))
    base["downgraded"] = 0.0
    stressed["downgraded"] = float(np.mean(both["grade_stress"] > both["grade_base"])) if len(both) else None
    stressed["upgraded"] = float(np.mean(both["grade_stress"] < both["grade_base"])) if len(both) else None
    stressed["n_in_both"] = int(len(both))
    return {"as_of": str(as_of.date()), "true_pd_ratio_city": true_ratio, "n_enterprises": n_enterprises, "months": months, "seed": seed, "end": end,
            "shock": shock, "lgd": lgd, "ead_column": EAD_COL, "scenarios": rows,
            "method": "two simulated cities, same seed, differing only in the macro shock of the simulator's "
                      "scenario; scored at the month-end (>= 12 months of look-back, 12 of outcomes) where the "
                      "shock raises the true mean PD of the city most"}
