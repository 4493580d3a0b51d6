"""Dated records of one chunk: court and administrative events, IP, supply chain, green data, related
persons and new loan applications.

Court events are a causal chain driven by distress (:func:`court_chain`: lawsuits → enforcement cases →
dishonest-debtor listings → removals), observations only: nothing here feeds the hazard or the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smecredit.simulation._rows import Rows
from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms
from smecredit.simulation.latent import EVERGREEN, TYPE_STRATEGIC
from smecredit.simulation.loans import collateral, product_for
from smecredit.simulation.paths import DEFAULTED


# court chain: lawsuit intensity added by the latent delinquency bucket (0 current, 1..3 in arrears,
# 4 evergreened, 5 defaulted), in units of ``court_arrears``: creditors sue once a firm stops paying
ARREARS_LAWSUITS = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 2.5])
THETA_REF = 0.75  # a typical enterprise's static risk (the median theta of the city)
STRATEGIC_UNPAID = 2.0  # logit shift of enforcement and listing for strategic defaulters
PRE_WINDOW = 8  # months of lawsuits before the window whose enforcement cases may fall inside it


def _legacy_court_draws(rng, firms: Firms, h, u, size_f, post_def, registered) -> np.ndarray:
    """Consume the draws of the v2 court events from the main stream (their rows are no longer used), so
    that every later table (loans, IP, supply chain, ...) keeps its bytes; returns the lawsuit amounts."""
    n, T = h.shape
    amt = firms.revenue[:, None] * rng.lognormal(np.log(0.03), 1.0, (n, T))
    law = rng.random((n, T)) < np.exp(-5.6 - 0.75 * h + 0.6 * u) * size_f[:, None] + 0.15 * post_def
    rng.integers(0, 28, int((law & registered).sum()))
    enf = rng.random((n, T)) < np.exp(-7.2 - 0.9 * h + 0.6 * u) + 0.12 * post_def
    rng.integers(0, 28, int((enf & registered).sum()))
    listed = rng.random((n, T)) < np.exp(-8.6 - 1.0 * h + 0.7 * u) + 0.06 * post_def
    first = listed & (np.cumsum(listed, axis=1) == 1)
    rng.integers(0, 28, int((first & registered).sum()))
    ii, tt = np.nonzero(first)
    delay = rng.integers(4, 18, len(ii))
    ok = (tt + delay < T) & (rng.random(len(ii)) < 0.5) & ~post_def[ii, np.minimum(tt + delay, T - 1)]
    rng.integers(0, 28, int(registered[ii[ok], (tt + delay)[ok]].sum()))
    return amt


def court_chain(cfg: SimConfig, firms: Firms, rng, h, lb, amt, registered):
    """Lawsuits → enforcement cases → dishonest-debtor listings → removals, driven by distress.

    Observations only (nothing here feeds the hazard). ``lb`` is the latent delinquency bucket (n, T);
    ``h`` observed health. Returns (enterprise index, month, event type, amount) arrays of the events.
    """
    n, T = h.shape
    size_f = np.log1p(firms.employees) / np.log(20)
    size_a = 0.5 + 0.5 * np.minimum(size_f, 2.0)  # bigger firms: more creditors to sue them
    # lawsuits (被告): a background convex in distress for every firm, plus the creditors of a firm in arrears
    static = cfg.court_static * (firms.theta - THETA_REF)  # weak firms (registry risk, frailty) owe more
    # strategic defaulters are unwilling rather than unable to pay: they leave judgments unpaid (失信 is
    # for debtors able but refusing to perform)
    unwilling = static + STRATEGIC_UNPAID * (TYPE_STRATEGIC[firms.ftype] > 0)
    rate = (size_f[:, None] * np.exp(cfg.court_lawsuit_base - cfg.court_distress * h + static[:, None])
            + cfg.court_arrears * ARREARS_LAWSUITS[lb] * size_a[:, None])
    law = (rng.random((n, T)) < -np.expm1(-rate)) & registered
    # lawsuits filed in the months before the window (not in the table; their enforcement cases may be)
    pre = (rng.random((n, PRE_WINDOW)) < -np.expm1(-rate[:, :1])) & (firms.birth < 0)[:, None]
    li, lt = np.nonzero(law)
    pi, pt = np.nonzero(pre)
    ci = np.concatenate([li, pi])
    ct = np.concatenate([lt, pt - PRE_WINDOW])
    camt = np.concatenate([amt[li, lt], amt[pi, 0]])
    # unpaid judgments become enforcement cases (被执行) 2–6 months after filing, more often when the
    # firm is still distressed then (or structurally weak, or unwilling)
    te = ct + rng.integers(2, 7, len(ci))
    h_e = h[ci, np.clip(te, 0, T - 1)]
    p_enf = expit(_logit(cfg.court_enforcement_share) - cfg.court_distress * h_e + unwilling[ci])
    enf = (te >= 0) & (te < T) & (rng.random(len(ci)) < p_enf)
    ei, et = ci[enf], te[enf]
    eamt = camt[enf] * rng.uniform(0.6, 1.0, int(enf.sum()))
    # unresolved enforcement cases lead to a dishonest-debtor listing (失信) 1–4 months later, more often
    # when distress persists; one listing per enterprise in the window (the earliest)
    tl = et + rng.integers(1, 5, len(ei))
    h_l = h[ei, np.minimum(tl, T - 1)]
    p_list = expit(_logit(cfg.court_listing_share) - cfg.court_distress * h_l + unwilling[ei])
    cand = (tl < T) & (rng.random(len(ei)) < p_list)
    first_l = np.full(n, T, dtype=np.int64)
    np.minimum.at(first_l, ei[cand], tl[cand])
    l_amt = np.zeros(n)
    hit = cand & (tl == first_l[ei])
    l_amt[ei[hit]] = eamt[hit]
    xi = np.nonzero(first_l < T)[0]
    xt = first_l[xi]
    # removal (移出) 3–12 months later when the firm has recovered: current, not defaulted, health back
    tr = xt + rng.integers(3, 13, len(xi))
    trc = np.minimum(tr, T - 1)
    recovered = (lb[xi, trc] == 0) & (h[xi, trc] > -1.0)
    rem = (tr < T) & recovered & (rng.random(len(xi)) < cfg.court_removal_share)
    ri, rt = xi[rem], tr[rem]
    idx = np.concatenate([li, ei, xi, ri])
    mon = np.concatenate([lt, et, xt, rt])
    kind = np.repeat(np.array(["lawsuit_defendant", "enforcement", "dishonest_debtor_listed", "dishonest_debtor_removed"],
                              dtype=object), [len(li), len(ei), len(xi), len(ri)])
    amount = np.concatenate([amt[li, lt], eamt, l_amt[xi], np.zeros(len(ri))])
    return idx, mon, kind, amount


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


def latent_bucket(bucket: np.ndarray, evergreen: np.ndarray) -> np.ndarray:
    """The latent delinquency bucket (0..3, 4 evergreened, 5 defaulted) from the books and the spells."""
    return np.where(evergreen, EVERGREEN, np.where(bucket == 4, DEFAULTED, bucket)).astype(np.int64)


def events(cfg, firms: Firms, rng, h, months, default_m, chunk_index, lb):
    """Court and administrative events of a chunk. Court events come from :func:`court_chain` on a stream
    of their own (the main stream ``rng`` still draws what the earlier court events drew); ``lb`` is the
    latent delinquency bucket (:func:`latent_bucket`)."""
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

    amt = _legacy_court_draws(rng, firms, h, u, size_f, post_def, registered)
    rng_c = np.random.default_rng([cfg.seed, chunk_index, 303])
    ci, ct, kind, camount = court_chain(cfg, firms, rng_c, h, lb, amt, registered)
    day = rng_c.integers(0, 28, len(ci)).astype("timedelta64[D]")
    first_day = months[ct].astype("datetime64[M]").astype("datetime64[D]")
    jrows.add(enterprise_id=firms.eid[ci], event_date=first_day + day, event_type=kind, amount=np.round(camount, -2), t=ct)

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

