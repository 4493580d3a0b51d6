"""The periodic sources of one chunk: registry, tax, tax credit grade, utilities, social insurance.

Every source is a noisy, lagged, partly missing view of observed health ``h`` (latent health plus the
systematic term, minus a penalty that deepens with arrears); see the table in docs/simulator.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smecredit.simulation._rows import Rows, seasonal
from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms
from smecredit.simulation.paths import Paths


def monthly_sources(cfg: SimConfig, firms: Firms, rng: np.random.Generator, p: Paths,
                    months: np.ndarray) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """The enterprises table and the monthly and annual sources; also returns the true sales (n, T)."""
    n, T = firms.n, cfg.months
    h, x, closed = p.h, p.x, p.closed
    seas_sales, seas_elec = seasonal(months)
    out: dict[str, pd.DataFrame] = {}
    out["enterprises"] = pd.DataFrame({
        "enterprise_id": firms.eid, "name": firms.name, "county": firms.county,
        "mountain_county": firms.mountain, "urban": firms.urban, "industry": firms.industry,
        "registration_date": firms.reg_date, "registered_capital": firms.capital.astype(float),
        "legal_form": firms.legal_form, "size_class": firms.size_class, "employees": firms.employees,
        "tech_sme": firms.tech, "green": firms.green,
    })
    ind_bus = firms.legal_form == "individual_business"
    coop = firms.legal_form == "farmer_cooperative"
    thin = 0.12 * firms.mountain

    # --- tax -----------------------------------------------------------------------------
    has_inv = rng.random(n) < np.where(ind_bus, 0.35, np.where(coop, 0.6, 0.97)) - thin
    h_lag1 = np.concatenate([h[:, :1], h[:, :-1]], axis=1)
    base_m = np.log(firms.revenue / 12)
    log_sales = base_m[:, None] + 0.45 * cfg.signal_loading * h_lag1 + seas_sales[None, :] + rng.normal(0, 0.16, (n, T))
    sales = np.exp(log_sales)
    # invoice-fraud firms (虚开发票) invoice two to three times what they sell; electricity and staff don't follow
    fraud = firms.fraud
    sales = np.where(fraud[:, None], sales * rng.uniform(2.0, 3.0, n)[:, None], sales)
    err = rng.random((n, T))
    # zero declarations and non-filing rise with distress (informative missingness: non-filing predicts exit)
    p_zero = 0.008 + 0.12 * expit(-3.0 - 1.5 * h)
    sales = np.where(err < 0.004, sales * 10, np.where(err < 0.004 + p_zero, 0.0, sales))  # reporting errors / zero filings
    p_miss = 0.03 + 0.05 * firms.mountain[:, None] + 0.3 * expit(-3.5 - 1.5 * h)
    present = has_inv[:, None] & ~closed & (rng.random((n, T)) > p_miss)
    general_taxpayer = firms.revenue > 5_000_000
    rate = (np.where(general_taxpayer, 0.13 * 0.25, 0.03)[:, None]
            * np.exp(cfg.tax_ratio_health * h_lag1 + rng.normal(0, 0.15, (n, T))))
    tax = sales * rate
    # small-scale taxpayers (小规模纳税人) declare VAT quarterly: invoices monthly, the quarter's tax in its last month
    quarter_end = pd.DatetimeIndex(months).month % 3 == 0
    qtax = np.zeros_like(tax)
    run = np.zeros(n)
    for t in range(T):
        run += np.where(present[:, t], tax[:, t], 0.0)
        if quarter_end[t]:
            qtax[:, t] = run
            run = np.zeros(n)
    tax = np.where(general_taxpayer[:, None], tax, qtax)
    ii, tt = np.nonzero(present)
    out["tax_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "invoiced_sales": np.round(sales[ii, tt], 2), "tax_paid": np.round(tax[ii, tt], 2),
    })

    # --- tax credit grade (annual, published in April of the next year) -------------------
    end = pd.Timestamp(months[-1])
    years = range(pd.Timestamp(months[0]).year - 1, end.year)
    rows = Rows()
    for y in years:
        pub = np.datetime64(f"{y + 1}-04-30")
        if pub > months[-1]:
            continue
        cols = [k for k in range(T) if pd.Timestamp(months[k]).year == y]
        mean_h = h[:, cols].mean(axis=1) if cols else x[:, 0]
        score = 84 + 9 * mean_h - 12 * firms.u + rng.normal(0, 6, n)
        grade = np.select([score >= 90, score >= 70, score >= 40], ["A", "B", "C"], "D").astype(object)
        young = firms.reg_date > np.datetime64(f"{y}-01-01")
        grade[young & (score >= 70)] = "M"
        alive = ~closed[:, cols[0]] if cols else np.ones(n, bool)
        m = has_inv & (firms.reg_date <= np.datetime64(f"{y}-12-31")) & alive
        rows.add(enterprise_id=firms.eid[m], year=np.full(m.sum(), y), published_date=np.full(m.sum(), pub),
                 tax_grade=grade[m])
    out["tax_credit_annual"] = rows.frame(["enterprise_id", "year", "published_date", "tax_grade"])

    # --- utilities -----------------------------------------------------------------------
    heavy = np.isin(firms.industry, ["C", "A", "E"])
    kwh_base = firms.revenue / 12 * np.where(heavy, 0.08, 0.02) * rng.lognormal(0, cfg.energy_intensity_sd, n)
    log_e = np.log(kwh_base)[:, None] + 0.5 * cfg.signal_loading * h + seas_elec[None, :] + rng.normal(0, 0.12, (n, T))
    elec = np.exp(log_e)
    e_err = rng.random((n, T))
    elec = np.where(e_err < 0.003, elec * 10, elec)
    water = np.exp(np.log(kwh_base * 0.05)[:, None] + 0.3 * cfg.signal_loading * h + rng.normal(0, 0.25, (n, T)))
    gas_user = rng.random(n) < np.where(np.isin(firms.industry, ["C", "H"]), 0.5, 0.1)
    gas = np.exp(np.log(kwh_base * 0.1)[:, None] + 0.4 * cfg.signal_loading * h + rng.normal(0, 0.2, (n, T)))
    has_util = rng.random(n) < np.where(ind_bus, 0.85, 0.96) - thin
    present = has_util[:, None] & ~closed & (rng.random((n, T)) > 0.02 + 0.04 * firms.mountain[:, None])
    ii, tt = np.nonzero(present)
    w_missing = rng.random(len(ii)) < 0.15
    out["utilities_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "electricity_kwh": np.round(elec[ii, tt], 1),
        "water_m3": np.where(w_missing, np.nan, np.round(water[ii, tt], 1)),
        "gas_m3": np.where(gas_user[ii], np.round(gas[ii, tt], 1), np.nan),
    })

    # --- social insurance ----------------------------------------------------------------
    has_si = rng.random(n) < np.where(ind_bus, 0.3, np.where(coop, 0.5, 0.92)) - thin
    h_lag2 = np.concatenate([h[:, :2], h[:, :-2]], axis=1)
    head = np.maximum(0, np.round(firms.employees[:, None] * np.exp(0.25 * cfg.signal_loading * h_lag2 + rng.normal(0, 0.05, (n, T)))))
    arrears = rng.random((n, T)) < expit(-4.2 - 1.3 * h_lag1 + 0.8 * firms.u[:, None])
    present = has_si[:, None] & ~closed & (rng.random((n, T)) > 0.02)
    ii, tt = np.nonzero(present)
    out["social_insurance_monthly"] = pd.DataFrame({
        "enterprise_id": firms.eid[ii], "month_end": months[tt],
        "insured_headcount": head[ii, tt].astype(np.int64), "contribution_arrears": arrears[ii, tt],
    })
    return out, sales


def window_dressing(cfg: SimConfig, rng: np.random.Generator, tax: pd.DataFrame, app_hist: pd.DataFrame,
                    months: np.ndarray) -> None:
    """Some applicants inflate invoiced sales in the three months before applying (tax diverging from
    electricity): ``tax`` is changed in place."""
    dressed = app_hist[rng.random(len(app_hist)) < cfg.inflation_share]
    if len(dressed):
        m0 = pd.Timestamp(months[0])
        app_m = (dressed["application_date"].dt.year - m0.year) * 12 + dressed["application_date"].dt.month - m0.month
        d = pd.DataFrame({"enterprise_id": dressed["enterprise_id"].to_numpy(), "t_app": app_m.to_numpy(),
                          "factor": rng.uniform(1.2, 1.6, len(dressed))}).drop_duplicates("enterprise_id")
        t_row = (tax["month_end"].dt.year - m0.year) * 12 + tax["month_end"].dt.month - m0.month
        j = tax[["enterprise_id"]].assign(t=t_row.to_numpy()).merge(d, on="enterprise_id", how="left")
        hit = ((j["t"] >= j["t_app"] - 3) & (j["t"] < j["t_app"])).to_numpy()
        f = np.where(hit, j["factor"].to_numpy(), 1.0)
        tax["invoiced_sales"] = np.round(tax["invoiced_sales"].to_numpy() * f, 2)
        tax["tax_paid"] = np.round(tax["tax_paid"].to_numpy() * f, 2)
