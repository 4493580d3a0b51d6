"""Dated records of one chunk: court and administrative events, IP, supply chain, green data, related
persons and new loan applications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smecredit.simulation._rows import Rows
from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms
from smecredit.simulation.loans import collateral, product_for


def events(cfg, firms: Firms, rng, h, months, default_m, chunk_index):
    n, T = h.shape
    size_f = np.log1p(firms.employees) / np.log(20)
    u = firms.u[:, None]
    post_def = (default_m[:, None] >= 0) & (np.arange(T)[None, :] >= default_m[:, None])
    jrows, arows = Rows(), Rows()

    registered = np.arange(T)[None, :] >= firms.birth[:, None]

    def emit(rows, mask, etype, amount, extra=None):
        ii, tt = np.nonzero(mask & registered)
        day = rng.integers(0, 28, len(ii)).astype("timedelta64[D]")
        d = (months[tt].astype("datetime64[M]").astype("datetime64[D]")) + day
        cols = dict(enterprise_id=firms.eid[ii], event_date=d, event_type=np.full(len(ii), etype, dtype=object),
                    amount=np.round(amount[ii, tt], -2), t=tt)
        if extra is not None:
            cols["severity"] = extra(len(ii))
        rows.add(**cols)

    amt = firms.revenue[:, None] * rng.lognormal(np.log(0.03), 1.0, (n, T))
    emit(jrows, rng.random((n, T)) < np.exp(-5.6 - 0.75 * h + 0.6 * u) * size_f[:, None] + 0.15 * post_def,
         "lawsuit_defendant", amt)
    emit(jrows, rng.random((n, T)) < np.exp(-7.2 - 0.9 * h + 0.6 * u) + 0.12 * post_def, "enforcement", amt)
    listed = rng.random((n, T)) < np.exp(-8.6 - 1.0 * h + 0.7 * u) + 0.06 * post_def
    first = listed & (np.cumsum(listed, axis=1) == 1)
    emit(jrows, first, "dishonest_debtor_listed", amt)
    removed = np.zeros_like(first)
    ii, tt = np.nonzero(first)
    delay = rng.integers(4, 18, len(ii))
    ok = (tt + delay < T) & (rng.random(len(ii)) < 0.5) & ~post_def[ii, np.minimum(tt + delay, T - 1)]
    removed[ii[ok], (tt + delay)[ok]] = True
    emit(jrows, removed, "dishonest_debtor_removed", np.zeros((n, T)))

    pen = firms.revenue[:, None] * rng.lognormal(np.log(0.004), 0.8, (n, T))
    sev = lambda k: np.where(rng.random(k) < 0.2, "major", "minor").astype(object)  # noqa: E731
    emit(arows, rng.random((n, T)) < np.exp(-5.9 - 0.35 * h + 0.7 * u), "market_penalty", pen, sev)
    env_ind = np.isin(firms.industry, ["C", "A", "E"])[:, None]
    emit(arows, rng.random((n, T)) < np.where(env_ind, np.exp(-6.3 + 0.6 * u - 0.2 * h), 0.0),
         "environmental_penalty", pen, sev)
    abn = rng.random((n, T)) < np.exp(-7.4 - 0.85 * h) + 0.1 * post_def
    first = abn & (np.cumsum(abn, axis=1) == 1)
    emit(arows, first, "abnormal_operation_in", np.full((n, T), np.nan), lambda k: np.full(k, None, dtype=object))
    out_m = np.zeros_like(first)
    ii, tt = np.nonzero(first)
    delay = rng.integers(2, 8, len(ii))
    ok = (tt + delay < T) & (rng.random(len(ii)) < 0.65) & ~post_def[ii, np.minimum(tt + delay, T - 1)]
    out_m[ii[ok], (tt + delay)[ok]] = True
    emit(arows, out_m, "abnormal_operation_out", np.full((n, T), np.nan), lambda k: np.full(k, None, dtype=object))

    def finish(rows, cols, prefix):
        df = rows.frame(cols + ["t"]).sort_values(["enterprise_id", "event_date", "event_type"], kind="stable")
        df = df.drop(columns="t").reset_index(drop=True)
        df.insert(1, "case_id", [f"{prefix}{chunk_index:03d}{k:07d}" for k in range(len(df))])
        df["event_date"] = df["event_date"].astype("datetime64[ns]")
        return df

    jud = finish(jrows, ["enterprise_id", "event_date", "event_type", "amount"], "J")
    adm = finish(arows, ["enterprise_id", "event_date", "event_type", "severity", "amount"], "A")
    adm = adm[["enterprise_id", "case_id", "event_date", "event_type", "severity", "amount"]]
    return jud, adm



def ip_assets(firms: Firms, rng, months, chunk_index):
    n = firms.n
    n_pat = rng.poisson(np.where(firms.tech, 5.0, 0.25))
    n_tm = rng.poisson(np.where(firms.legal_form == "company", 0.6, 0.15))
    counts = n_pat + n_tm
    owner = np.repeat(np.arange(n), counts)
    k = len(owner)
    pos = np.arange(k) - np.repeat(np.cumsum(counts) - counts, counts)
    is_pat = pos < np.repeat(n_pat, counts)
    ptypes = np.array(["invention_patent", "utility_patent", "design_patent"])
    atype = np.where(is_pat, ptypes[rng.choice(3, k, p=[0.35, 0.5, 0.15])], "trademark").astype(object)
    end = months[-1]
    reg = firms.reg_date[owner]
    span = (end - reg).astype(np.int64)
    grant = reg + (rng.random(k) * span).astype("timedelta64[D]")
    pledged = rng.random(k) < np.where(firms.tech[owner], 0.12, 0.03)
    pledge_date = np.where(pledged, grant + (rng.random(k) * (end - grant).astype(np.int64)).astype("timedelta64[D]"),
                           np.datetime64("NaT"))
    val = np.where(atype == "invention_patent", rng.lognormal(np.log(400_000), 0.8, k), rng.lognormal(np.log(60_000), 0.8, k))
    df = pd.DataFrame({
        "enterprise_id": firms.eid[owner],
        "asset_id": [f"IP{chunk_index:03d}{j:08d}" for j in range(k)],
        "asset_type": atype, "grant_date": grant.astype("datetime64[ns]"), "pledged": pledged,
        "pledge_date": pledge_date.astype("datetime64[ns]"),
        "valuation": np.where(rng.random(k) < 0.3, np.nan, np.round(val, -2)),
    })
    return df


def supply_chain(firms: Firms, rng, sales, months, closed, chunk_index):
    n, T = sales.shape
    part = (rng.random(n) < np.where(np.isin(firms.industry, ["C", "F", "G"]), 0.28, 0.05)) & (firms.legal_form == "company")
    core_rating = np.array(["AAA", "AA", "AA", "A", "A", "BBB", "BBB", "BB", "B", "AA"] * 3)
    core = rng.integers(0, len(core_rating), n)
    cnt = rng.poisson(0.8, (n, T)) * (part[:, None] & ~closed)
    ii, tt = np.nonzero(cnt)
    reps = cnt[ii, tt]
    ii, tt = np.repeat(ii, reps), np.repeat(tt, reps)
    k = len(ii)
    issue = months[tt].astype("datetime64[M]").astype("datetime64[D]") + rng.integers(0, 28, k).astype("timedelta64[D]")
    due = issue + rng.choice([60, 90, 180], k).astype("timedelta64[D]")
    rating = core_rating[core[ii]]
    late = np.maximum(0, rng.normal(np.select([rating == "BB", rating == "B"], [25, 50], 3), 15, k)).astype(np.int64)
    paid = due + late.astype("timedelta64[D]")
    paid = np.where(paid <= months[-1], paid, np.datetime64("NaT"))
    df = pd.DataFrame({
        "enterprise_id": firms.eid[ii],
        "instrument_id": [f"SC{chunk_index:03d}{j:08d}" for j in range(k)],
        "instrument": np.where(rng.random(k) < 0.7, "receivable", "commercial_bill").astype(object),
        "counterparty": np.array([f"CORE{c:03d}" for c in core[ii]], dtype=object),
        "counterparty_rating": rating.astype(object),
        "amount": np.round(sales[ii, tt] * rng.uniform(0.05, 0.3, k), 2),
        "issue_date": issue.astype("datetime64[ns]"), "due_date": due.astype("datetime64[ns]"),
        "paid_date": paid.astype("datetime64[ns]"),
    })
    return df.sort_values(["enterprise_id", "issue_date", "instrument_id"], kind="stable").reset_index(drop=True)


def green_annual(firms: Firms, rng, h, months, closed):
    n, T = h.shape
    cover = rng.random(n) < np.where(np.isin(firms.industry, ["A", "C", "E", "G"]), 0.9, 0.35)
    base = np.where(np.isin(firms.industry, ["C", "E"]), 0.6, 0.15) * rng.lognormal(0, 0.5, n)
    rows = Rows()
    idx = pd.DatetimeIndex(months)
    for y in range(idx[0].year - 1, idx[-1].year):
        pub = np.datetime64(f"{y + 1}-03-31")
        if pub > months[-1]:
            continue
        cols = np.nonzero(idx.year == y)[0]
        mh = h[:, cols].mean(axis=1) if len(cols) else np.zeros(n)
        alive = ~closed[:, cols[-1]] if len(cols) else np.ones(n, bool)
        m = cover & alive
        score = 1.0 * firms.u + 0.3 * -mh + rng.normal(0, 0.5, n)
        grade = np.select([score < -0.4, score < 0.5, score < 1.2, score < 1.8], ["green", "blue", "yellow", "red"], "black")
        grade = np.where(rng.random(n) < 0.1, None, grade).astype(object)
        rows.add(enterprise_id=firms.eid[m], year=np.full(m.sum(), y), published_date=np.full(m.sum(), pub),
                 carbon_intensity=np.round(base[m] * rng.lognormal(0, 0.1, m.sum()), 4),
                 green_credit_label=(firms.green & (rng.random(n) < 0.7))[m], env_credit_grade=grade[m])
    return rows.frame(["enterprise_id", "year", "published_date", "carbon_intensity", "green_credit_label",
                       "env_credit_grade"])


def related_persons(firms: Firms, rng, months, chunk_index, cluster, group):
    n = firms.n
    end = months[-1]
    rows = Rows()
    pid = 0
    roles = [("legal_representative", 1.0), ("actual_controller", 0.5), ("shareholder", 0.6)]
    for role, p in roles:
        m = rng.random(n) < np.where(firms.legal_form == "company", p, p if role == "legal_representative" else 0.1)
        if role == "actual_controller":
            m &= ~group  # group members share one actual controller (below)
        k = int(m.sum())
        ids = np.array([f"P{chunk_index:03d}{pid + j:08d}" for j in range(k)], dtype=object)
        pid += k
        u = firms.u[m]
        dis = rng.random(k) < expit(-4.8 + 1.4 * u)
        bad = rng.random(k) < expit(-3.2 + 1.2 * u)
        since_dis = end - (rng.random(k) * 1800).astype("timedelta64[D]")
        since_bad = end - (rng.random(k) * 1800).astype("timedelta64[D]")
        rows.add(enterprise_id=firms.eid[m], person_id=ids, role=np.full(k, role, dtype=object),
                 dishonest_debtor=dis, dishonest_since=np.where(dis, since_dis, np.datetime64("NaT")).astype("datetime64[ns]"),
                 bad_credit_record=bad, bad_record_since=np.where(bad, since_bad, np.datetime64("NaT")).astype("datetime64[ns]"))
    # groups: one actual controller for every member of the cluster, with one record
    gi = np.nonzero(group)[0]
    if len(gi):
        cl, inv = np.unique(cluster[gi], return_inverse=True)
        u_c = np.bincount(inv, weights=firms.u[gi]) / np.bincount(inv)
        dis = rng.random(len(cl)) < expit(-4.8 + 1.4 * u_c)
        bad = rng.random(len(cl)) < expit(-3.2 + 1.2 * u_c)
        since_dis = end - (rng.random(len(cl)) * 1800).astype("timedelta64[D]")
        since_bad = end - (rng.random(len(cl)) * 1800).astype("timedelta64[D]")
        rows.add(enterprise_id=firms.eid[gi], person_id=np.array([f"PG{chunk_index:03d}{c:07d}" for c in cl[inv]], dtype=object),
                 role=np.full(len(gi), "actual_controller", dtype=object), dishonest_debtor=dis[inv],
                 dishonest_since=np.where(dis, since_dis, np.datetime64("NaT")).astype("datetime64[ns]")[inv],
                 bad_credit_record=bad[inv],
                 bad_record_since=np.where(bad, since_bad, np.datetime64("NaT")).astype("datetime64[ns]")[inv])
    return rows.frame(["enterprise_id", "person_id", "role", "dishonest_debtor", "dishonest_since",
                       "bad_credit_record", "bad_record_since"])


def loan_applications(cfg: SimConfig, firms: Firms, rng, months, bucket, chunk_index):
    n = firms.n
    T = len(months)
    m = (rng.random(n) < cfg.application_share) & (bucket[:, T - 1] < 4)
    k = int(m.sum())
    end = months[-1]
    date = end - rng.integers(0, 60, k).astype("timedelta64[D]")
    prod = product_for(firms.legal_form[m], rng)
    idx = np.nonzero(m)[0]
    coll = collateral(firms, idx, rng)
    amount = np.round(np.clip(firms.revenue[m] * rng.uniform(0.1, 0.5, k), 50_000, 20_000_000), -4)
    cval = np.where(np.isin(coll["collateral_type"], ["real_estate", "movable_property", "ip_pledge", "receivables"]),
                    np.round(amount * rng.uniform(0.8, 2.0, k), -3), np.nan)
    return pd.DataFrame({
        "application_id": [f"AP{chunk_index:03d}{j:07d}" for j in range(k)],
        "enterprise_id": firms.eid[m], "application_date": date.astype("datetime64[ns]"),
        "requested_amount": amount.astype(float), "product": prod, "term_months": rng.choice([6, 12, 12, 24], k).astype(np.int64),
        "collateral_type": coll["collateral_type"], "collateral_value": cval,
    })

