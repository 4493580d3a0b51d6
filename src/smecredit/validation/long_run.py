"""PD calibration to the long-run average default rate with a margin of conservatism (EBA GL/2017/16).

* **Long-run average default rate (LRA)** — GL/2017/16, long-run average default rate: the average of the observed one-year
  default rates over the longest history available (at least five years for PD), covering good and bad
  years. :func:`long_run_default_rate` takes every labelled snapshot (each snapshot's default rate is a
  one-year rate: defaults within the 12-month horizon), averages them with equal weight per snapshot,
  and states the years covered, whether they reach five, and whether a downturn year is in the history
  (a snapshot whose default rate is at least 1.5 times the average).
* **Margin of conservatism (MoC)** — GL/2017/16, margin of conservatism: three categories, each quantified by a stated
  rule (:func:`margin_of_conservatism`) and added up:

  - **A** — identified data deficiencies: history shorter than five years (up to +10 % relative,
    proportional to the missing years); no downturn year in the history (+5 %);
  - **B** — identified methodological deficiencies: the calibration sample spans less than a full
    cycle (training window shorter than five years: +5 %); the out-of-time calibration test rejects
    (Hosmer–Lemeshow p < 0.05: +5 %); grades that fail the per-grade test ("PD too low": +5 % each,
    at most +10 %);
  - **C** — general estimation error: the relative half-width of the one-sided 90 % confidence bound
    of the LRA (standard error of the per-snapshot default rates over the number of years).

  The final PD of a grade is its long-run PD × (1 + MoC), capped at 100 %.
* **Central tendency** — the long-run PD of every grade is the model's PD rescaled in odds so that the
  average PD of the rows equals the LRA (:func:`scale_to_central_tendency`); the grade PD on the
  master scale is the average long-run PD of the grade's rows (:func:`grade_pd_table`).
* **Rating philosophy** — :data:`RATING_PHILOSOPHY` states it: the grades are close to point in time
  (current arrears, momentum and the training window's default rate drive them), while the PD per
  grade used for capital and pricing is the long-run (through-the-cycle) PD above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from smecredit.exceptions import DataContractError

MIN_YEARS = 5
DOWNTURN_FACTOR = 1.5
RATING_PHILOSOPHY = (
    "Hybrid, close to point in time (PIT): the score uses current information (days past due, sales and "
    "electricity momentum, recent events) and is calibrated to the default rate of the training window, so "
    "grades move with the cycle. The PD per grade used for capital, pricing and expected loss is the "
    "long-run (through-the-cycle) PD: the model's PD rescaled to the long-run average default rate plus the "
    "margin of conservatism (EBA GL/2017/16, rating philosophy: the philosophy is stated and its effect on "
    "grade migration is monitored)."
)


def long_run_default_rate(snapshots, y, *, min_years: int = MIN_YEARS) -> dict:
    """Long-run average of the one-year default rates of every labelled snapshot (see the module docstring).

    Parameters
    ----------
    snapshots : array-like of dates (one per row)
    y : array-like of 0/1 outcomes (NaN = unlabelled, ignored)

    Returns
    -------
    dict
        ``lra``, ``per_snapshot`` (date, rows, defaults, default rate), ``first``, ``last``, ``years``
        (calendar span in years, snapshots one horizon apart count as two years), ``enough_years``,
        ``downturn`` (bool), ``max_rate``, ``min_rate``, ``se``, ``upper90`` (one-sided 90 % bound).
    """
    t = pd.to_datetime(pd.Series(np.asarray(snapshots)))
    yv = pd.to_numeric(pd.Series(np.asarray(y, dtype="float64")), errors="coerce")
    if len(t) != len(yv):
        raise DataContractError(f"snapshots and outcomes differ in length: {len(t)} and {len(yv)}")
    lab = yv.notna().to_numpy()
    if not lab.any():
        raise DataContractError("the long-run default rate needs labelled rows")
    tab = pd.DataFrame({"snapshot": t[lab].to_numpy(), "y": yv[lab].to_numpy()})
    g = tab.groupby("snapshot", sort=True)["y"]
    per = pd.DataFrame({"rows": g.size(), "defaults": g.sum(), "default_rate": g.mean()}).reset_index()
    rates = per["default_rate"].to_numpy()
    lra = float(rates.mean())
    first, last = per["snapshot"].min(), per["snapshot"].max()
    years = float((last.year - first.year) + (last.month - first.month) / 12.0 + 1.0)
    n_eff = max(years, 1.0)  # overlapping quarterly windows: about one independent rate per year
    if len(rates) >= 2:
        se = float(rates.std(ddof=1) / np.sqrt(n_eff))
    else:  # one snapshot: binomial standard error of the pooled rate
        se = float(np.sqrt(lra * (1 - lra) / per["rows"].iloc[0]))
    upper = lra + float(stats.norm.ppf(0.90)) * se
    return {"lra": lra, "per_snapshot": [{"snapshot": str(r.snapshot.date()), "rows": int(r.rows),
                                          "defaults": int(r.defaults), "default_rate": float(r.default_rate)}
                                         for r in per.itertuples()],
            "n_snapshots": int(len(per)), "first": str(first.date()), "last": str(last.date()), "years": years,
            "enough_years": years >= min_years, "min_years": min_years,
            "downturn": bool(rates.max() >= DOWNTURN_FACTOR * lra) if len(rates) >= 2 else False,
            "max_rate": float(rates.max()), "min_rate": float(rates.min()), "se": se, "upper90": float(upper)}


def margin_of_conservatism(lra: dict, *, train_years: float | None, hl_p: float | None,
                           n_grades_too_low: int = 0) -> dict:
    """MoC per GL/2017/16 category (A data, B method, C estimation error) by the module's stated rules."""
    a_items, b_items = [], []
    if not lra["enough_years"]:
        v = 0.10 * (lra["min_years"] - min(lra["years"], lra["min_years"])) / lra["min_years"]
        a_items.append({"reason": f"default history covers {lra['years']:.1f} years (< {lra['min_years']})",
                        "value": v})
    if not lra["downturn"]:
        a_items.append({"reason": f"no downturn year in the history (no snapshot default rate >= "
                                  f"{DOWNTURN_FACTOR} x the long-run average)", "value": 0.05})
    if train_years is not None and train_years < MIN_YEARS:
        b_items.append({"reason": f"calibration (training) window spans {train_years:.1f} years, less than a cycle",
                        "value": 0.05})
    if hl_p is not None and hl_p < 0.05:
        b_items.append({"reason": f"out-of-time Hosmer-Lemeshow test rejects (p = {hl_p:.3g})", "value": 0.05})
    if n_grades_too_low:
        b_items.append({"reason": f"{n_grades_too_low} grade(s) with PD significantly too low",
                        "value": min(0.05 * n_grades_too_low, 0.10)})
    c = max(0.0, lra["upper90"] / lra["lra"] - 1.0) if lra["lra"] > 0 else 0.0
    out = {"A": {"value": float(sum(i["value"] for i in a_items)), "items": a_items},
           "B": {"value": float(sum(i["value"] for i in b_items)), "items": b_items},
           "C": {"value": float(c), "items": [{"reason": "one-sided 90 % bound of the long-run average default "
                                                          f"rate ({lra['upper90']:.4f} vs {lra['lra']:.4f})",
                                               "value": float(c)}]}}
    out["total"] = out["A"]["value"] + out["B"]["value"] + out["C"]["value"]
    return out


def scale_to_central_tendency(pd_values, target: float) -> tuple[np.ndarray, float]:
    """Rescale PDs in odds (``odds × k``) so that their mean equals ``target``; return ``(pds, k)``.

    >>> p, k = scale_to_central_tendency([0.01, 0.02, 0.10], 0.06)
    >>> round(float(p.mean()), 10), k > 1
    (0.06, True)
    """
    p = np.clip(np.asarray(pd_values, dtype="float64"), 1e-9, 1 - 1e-9)
    if not 0 < target < 1:
        raise DataContractError(f"the central tendency must be in (0, 1); got {target!r}")
    odds = p / (1 - p)

    def gap(logk: float) -> float:
        o = odds * np.exp(logk)
        return float(np.mean(o / (1 + o)) - target)

    logk = optimize.brentq(gap, -30.0, 30.0, xtol=1e-12)
    o = odds * np.exp(logk)
    return o / (1 + o), float(np.exp(logk))


def grade_pd_table(grades, pd_values, y, order, *, lra: float, moc: float, bounds: list[dict],
                   pd_floor: float = 0.0005) -> list[dict]:
    """PD per master-scale grade: model PD, observed default rate, long-run PD and final PD with MoC."""
    g = np.asarray(grades).astype(str)
    p = np.asarray(pd_values, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    lr, k = scale_to_central_tendency(p, lra)
    band = {str(b["grade"]): b for b in bounds}
    rows = []
    for lab in order:
        m = g == lab
        b = band.get(lab, {})
        row = {"grade": lab, "pd_min": b.get("pd_min"), "pd_max": b.get("pd_max"), "n": int(m.sum()),
               "pd_model": None, "default_rate": None, "pd_long_run": None, "pd_final": None}
        if m.any():
            lab_m = m & ~np.isnan(yv)
            row.update({"pd_model": float(p[m].mean()),
                        "default_rate": float(yv[lab_m].mean()) if lab_m.any() else None,
                        "defaults": int(np.nansum(yv[m])),
                        "pd_long_run": float(max(lr[m].mean(), pd_floor))})
            row["pd_final"] = float(min(1.0, max(row["pd_long_run"] * (1 + moc), pd_floor)))
        rows.append(row)
    return rows


def window_years(train_snapshots) -> float | None:
    """Span of the training snapshots in years (one snapshot = one year of outcomes)."""
    if not train_snapshots:
        return None
    t = pd.to_datetime(pd.Series(list(train_snapshots)))
    first, last = t.min(), t.max()
    return float((last.year - first.year) + (last.month - first.month) / 12.0 + 1.0)


def long_run_calibration(snapshots, y, grades, pd_values, *, order, bounds, train_snapshots=None,
                         hl_p: float | None = None, n_grades_too_low: int = 0, pd_floor: float = 0.0005) -> dict:
    """LRA, MoC, central tendency and the PD per grade of one set of rows (validation.json and the report).

    ``snapshots``/``y``/``grades``/``pd_values`` are the rows of the model's population at every snapshot
    (``y`` NaN where unobserved); rows in grade ``D`` (already in default) are left out.
    """
    g = np.asarray(grades).astype(str)
    keep = g != "D"
    lra = long_run_default_rate(np.asarray(snapshots)[keep], np.asarray(y, dtype="float64")[keep])
    moc = margin_of_conservatism(lra, train_years=window_years(train_snapshots), hl_p=hl_p,
                                 n_grades_too_low=n_grades_too_low)
    p = np.asarray(pd_values, dtype="float64")[keep]
    _, k = scale_to_central_tendency(p, lra["lra"])
    table = grade_pd_table(g[keep], p, np.asarray(y, dtype="float64")[keep], [o for o in order if o != "D"],
                           lra=lra["lra"], moc=moc["total"], bounds=bounds, pd_floor=pd_floor)
    yk = np.asarray(y, dtype="float64")[keep]
    return {"long_run": lra, "moc": moc, "odds_scale": k, "rating_philosophy": RATING_PHILOSOPHY,
            "central_tendency": {"lra": lra["lra"], "lra_with_moc": min(1.0, lra["lra"] * (1 + moc["total"])),
                                 "mean_pd_model": float(p.mean()),
                                 "observed_rate_all_labelled": float(np.nanmean(yk)) if (~np.isnan(yk)).any()
                                 else None},
            "grades": table}
