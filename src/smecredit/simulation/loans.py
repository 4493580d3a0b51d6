"""Loans of one chunk: underwriting, security, the loan lines through time, delinquency records,
renewals, write-offs, loss given default and the application history."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from smecredit.data import reference as ref
from smecredit.simulation._rows import Rows
from smecredit.simulation.config import SimConfig
from smecredit.simulation.firms import Firms
from smecredit.simulation.latent import TYPE_LEV

_RISK_MEAN, _RISK_SD = 0.3, 0.85  # centre and scale of the bank's raw risk score (roughly standardised)
# loss given default by security: (mean recovery rate, sd, months from default to recovery);
# guarantees recover the guaranteed share from the guarantor, the rest like an unsecured loan
RECOVERY = {
    "real_estate": (0.70, 0.15, (12, 30)), "movable_property": (0.45, 0.18, (6, 18)),
    "ip_pledge": (0.25, 0.15, (12, 24)), "receivables": (0.50, 0.20, (3, 12)),
    "guarantee": (0.15, 0.10, (3, 9)), "unsecured": (0.15, 0.10, (12, 24)),
}
_LENDERS = np.array(["bank_taizhou", "bank_tailong", "bank_mintai", "bank_rural_commercial", "bank_icbc"])


def product_for(legal: np.ndarray, rng) -> np.ndarray:
    prod = np.where(legal == "individual_business", "sole_prop_operating",
                    np.where(legal == "farmer_cooperative", "farmer_operating", "working_capital")).astype(object)
    owner = (legal == "company") & (rng.random(len(legal)) < 0.12)
    prod[owner] = "owner_operating"
    return prod


def collateral(firms: Firms, idx: np.ndarray, rng, risk: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Security of a loan, drawn by size, age and the bank's view of risk.

    ``risk`` is the bank's standardised risk score of each loan's enterprise (higher = weaker; 0 when
    unknown). Real estate goes to older, larger companies; guarantees to weaker firms; unsecured
    (credit) loans to firms the bank sees as strong (good tax grade, 银税互动); IP pledges to tech SMEs;
    receivables to manufacturers, traders and hauliers.
    """
    k = len(idx)
    risk = np.zeros(k) if risk is None else np.asarray(risk, dtype=float)
    age = np.log(firms.age_years[idx] / 7.0).clip(-1.5, 1.5)
    big = (firms.size_class[idx] != "micro").astype(float)
    company = (firms.legal_form[idx] == "company").astype(float)
    tech = firms.tech[idx]
    trade = np.isin(firms.industry[idx], ["C", "F", "G"]).astype(float)
    # multinomial logit in the order of ref.COLLATERAL_TYPES
    util = np.stack([
        0.55 + 0.7 * age + 0.8 * big + 0.3 * company - 0.25 * risk,   # real_estate
        -1.2 + 0.3 * company,                                           # movable_property
        -4.0 + 3.0 * tech,                                              # ip_pledge
        -2.0 + 1.0 * trade + 0.3 * company,                             # receivables
        0.2 + 0.75 * risk - 0.3 * big,                                  # guarantee
        -0.1 - 0.9 * risk + 0.2 * big,                                  # unsecured
    ], axis=1)
    prob = np.exp(util - util.max(axis=1, keepdims=True))
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    types = np.array(list(ref.COLLATERAL_TYPES))
    ctype = types[(cum < rng.random(k)[:, None]).sum(axis=1).clip(0, len(types) - 1)].astype(object)
    gtypes = np.array(["policy_guarantor", "commercial_guarantor", "related_enterprise", "individual"])
    # weaker micro firms lean on the policy guarantor (政府性融资担保); others on related firms and owners
    gp = np.stack([np.full(k, 0.5) + 0.1 * risk.clip(-1, 2), np.full(k, 0.2), np.full(k, 0.15), np.full(k, 0.15)], axis=1)
    gcum = np.cumsum(gp / gp.sum(axis=1, keepdims=True), axis=1)
    gdraw = (gcum < rng.random(k)[:, None]).sum(axis=1).clip(0, 3)
    gtype = np.where(ctype == "guarantee", gtypes[gdraw], "none").astype(object)
    share = np.select([gtype == "policy_guarantor", gtype == "commercial_guarantor",
                       np.isin(gtype, ["related_enterprise", "individual"])], [0.8, 0.7, 1.0], 0.0)
    return {"collateral_type": ctype, "guarantor_type": gtype, "guaranteed_share": share,
            "guarantee_insurance": rng.random(k) < 0.05}


def approval_cutoff(cfg: SimConfig, risk: np.ndarray, in_window: np.ndarray) -> float:
    """The bank's cut-off on its risk score: ``approval_cutoff``, or, with ``approval_rate``, the quantile of
    the score among the eligible (not delinquent) applications inside the window that approves that share
    of them (a risk appetite: the approval rate holds whatever the population's risk, births and micro firms
    included). Without such applications, the quantile over all the chunk's scores."""
    if cfg.approval_rate is None:
        return cfg.approval_cutoff
    ref_scores = risk[in_window] if in_window.any() else risk
    return float(np.quantile(ref_scores, cfg.approval_rate)) if len(ref_scores) else cfg.approval_cutoff


def make_loans(cfg: SimConfig, firms: Firms, rng, h, x, months, bucket, default_m, forborne, chunk_index, anchor, cluster,
               evergreen=None):
    """Loan lines of borrowers: working-capital/operating loans rolled at maturity, some fixed-asset loans.

    ``evergreen`` (n, T) marks the months of evergreening spells: at the first month of a spell the
    outstanding working-capital loan is replaced before its maturity by a new loan of the same lender and
    security covering principal and interest (借新还旧; ``renewed_from_loan_id`` links them), so the books
    stay current until the spell ends.
    """
    n, T = h.shape
    # --- underwriting: enterprises apply; the bank approves on a noisy score of risk ----------------
    applicant = rng.random(n) < cfg.applicant_share + 0.1 * (firms.size_class != "micro") - 0.1 * firms.mountain
    # first loan month: before the window (negative) for most, inside the window for new borrowers
    first = np.where(rng.random(n) < cfg.new_borrower_share, rng.integers(1, T - 1, n), -rng.integers(0, 12, n))
    # enterprises registered inside the window borrow a few months after registering, if at all
    born = firms.birth >= 0
    first = np.where(born, np.maximum(first, firms.birth + 3), first)
    applicant &= first < T - 1
    h_first = h[np.arange(n), np.clip(first, 0, T - 1)]
    # the bank sees the registry risk, part of the frailty (tax grade, owner's record) and current health
    risk = (firms.theta - 0.4 * firms.u - 0.5 * h_first - _RISK_MEAN + rng.normal(0, cfg.bank_score_noise, n)) / _RISK_SD
    # an applicant already delinquent at its first month is declined
    fb = np.clip(first, 0, T - 1)
    eligible = ~((first >= 0) & (bucket[np.arange(n), fb] > 0))
    approved = (risk < approval_cutoff(cfg, risk, applicant & eligible & (first >= 0))) & eligible
    borrower = applicant & approved
    eids = firms.eid
    # the anchor's own guarantor: another member of its cluster
    partner = np.full(n, -1, dtype=np.int64)
    mem = np.nonzero(anchor >= 0)[0]
    partner[anchor[mem[::-1]]] = mem[::-1]  # the first member listed for each anchor
    loans: list[dict] = []
    lm = Rows()
    ev = Rows()
    counter = [0]

    def new_ids(k):
        ids = np.array([f"LN{chunk_index:03d}{counter[0] + j:08d}" for j in range(k)], dtype=object)
        counter[0] += k
        return ids

    def add_loans(idx, start, term, amount, product, renewed_from, rwr, amort, inherit=None):
        k = len(idx)
        if not k:
            return None
        ids = new_ids(k)
        if inherit is None:  # a new loan: security and lender chosen now
            coll = collateral(firms, idx, rng, risk[idx])
            lender = _LENDERS[rng.integers(0, len(_LENDERS), k)]
            # members of a mutual-guarantee cluster guarantee each other: a member's guarantor is the anchor,
            # the anchor's is another member
            mg = (cluster[idx] >= 0) & (rng.random(k) < cfg.cluster_guarantee_share)
            g_idx = np.where(anchor[idx] >= 0, anchor[idx], partner[idx])
            coll["collateral_type"] = np.where(mg, "guarantee", coll["collateral_type"]).astype(object)
            coll["guarantor_type"] = np.where(mg, "related_enterprise", coll["guarantor_type"]).astype(object)
            coll["guaranteed_share"] = np.where(mg, 1.0, coll["guaranteed_share"])
            coll["guarantor_enterprise_id"] = np.where(mg, eids[np.maximum(g_idx, 0)], None).astype(object)
        else:  # renewals and refinancing keep the lender and the security of the loan they replace
            coll = {c: inherit[c] for c in ("collateral_type", "guarantor_type", "guaranteed_share", "guarantee_insurance",
                                            "guarantor_enterprise_id")}
            lender = inherit["lender"]
        cval = np.where(np.isin(coll["collateral_type"], ["real_estate", "movable_property", "ip_pledge", "receivables"]),
                        np.round(amount * rng.uniform(1.1, 2.2, k), -3), np.nan)
        loans.append(dict(loan_id=ids, idx=idx, start=start, term=term, amount=amount, product=product,
                          renewed_from=renewed_from, rwr=rwr, amort=amort, lender=lender, due=start + term,
                          collateral_value=cval, **coll))
        return ids

    # applications inside the window, approved and rejected (kept for reject inference)
    ai = np.nonzero(applicant & (first >= 0))[0]
    app_hist = {"idx": ai, "month": first[ai], "approved": borrower[ai], "risk": risk[ai]}

    # working-capital lines
    b = np.nonzero(borrower)[0]
    lev_hi = TYPE_LEV[firms.ftype] > 0  # highly leveraged enterprises borrow more for their sales
    amount0 = np.round(np.clip(firms.revenue[b] * rng.uniform(0.15, 0.4, len(b)) * np.exp(-0.15 * risk[b])
                               * np.where(lev_hi[b], 1.8, 1.0), 50_000, 20_000_000), -4)
    term0 = rng.choice([12, 12, 12, 6, 24], len(b))
    first_b = first[b]
    start0 = np.where(first_b < 0, -rng.integers(0, term0), first_b)
    add_loans(b, start0, term0, amount0, product_for(firms.legal_form[b], rng), np.full(len(b), None, dtype=object),
              np.zeros(len(b), bool), np.zeros(len(b), bool))
    # fixed-asset loans (amortising)
    fa = b[(rng.random(len(b)) < cfg.fixed_asset_share) & (firms.legal_form[b] == "company")]
    fa_term = rng.choice([36, 48, 60], len(fa))
    fa_start = np.maximum(first[fa], -rng.integers(0, 30, len(fa)))
    add_loans(fa, fa_start, fa_term, np.round(firms.revenue[fa] * rng.uniform(0.2, 0.6, len(fa)), -4),
              np.full(len(fa), "fixed_asset", dtype=object), np.full(len(fa), None, dtype=object),
              np.zeros(len(fa), bool), np.ones(len(fa), bool))

    # next month (from each month on) in which the enterprise is current: loans can only be repaid,
    # renewed or refinanced then; an overdue loan stays outstanding until it cures or defaults
    nc = np.full((n, T + 1), T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        nc[:, t] = np.where(bucket[:, t] == 0, t, nc[:, t + 1])

    def settle(f, mat):
        return np.where(mat < T, nc[f, np.clip(mat, 0, T)], mat)

    # first month of the next evergreening spell, from each month on
    ev_m = np.full((n, T + 1), T, dtype=np.int64)
    if evergreen is not None:
        starts = evergreen & ~np.concatenate([np.zeros((n, 1), dtype=bool), evergreen[:, :-1]], axis=1)
        for t in range(T - 1, -1, -1):
            ev_m[:, t] = np.where(starts[:, t], t, ev_m[:, t + 1])

    # roll the working-capital lines month by month: at maturity renew, or repay and refinance; a spell of
    # evergreening replaces the loan early (借新还旧)
    cur = loans[0]
    generations = [cur]
    while True:
        f = cur["idx"]
        e_m = ev_m[f, np.clip(cur["start"] + 1, 0, T)]
        early = (e_m < T) & (e_m < cur["due"])  # e_m == T: no spell in the window
        cur["due"] = np.where(early, e_m, cur["due"])
        mat = cur["due"]
        m = settle(f, mat)
        rolls = m < T  # repaid in a month the enterprise is current, inside the window → rolled over
        if not rolls.any():
            break
        idx = f[rolls]
        m = m[rolls]
        early = early[rolls]
        on_time = m == mat[rolls]
        hm = h[idx, m]
        applied = rng.random(len(idx)) < 0.6
        # renewal without repayment: for loans current at maturity; mostly healthy borrowers, but a share
        # of weak ones too (renewal hides weakness)
        weak_ok = (hm > -1.8) & (rng.random(len(idx)) < cfg.weak_renewal_share)
        rwr = applied & on_time & ((hm > -0.6) | weak_ok) & (rng.random(len(idx)) < cfg.renewal_share / 0.6) & ~early
        grow = np.exp(0.15 * hm + rng.normal(0, 0.05, len(idx)))
        # 借新还旧: the new loan covers the old one's principal and interest
        amount = np.round(np.clip(cur["amount"][rolls] * np.where(rwr, 1.0, np.where(early, 1.05, grow)),
                                  50_000, 30_000_000), -4)
        term = np.where(rwr | early, np.minimum(cur["term"][rolls], 12), rng.choice([12, 12, 6, 24], len(idx)))
        # renewal applications 1-3 months before maturity (also for those refinanced; not for evergreening)
        app_m = mat[rolls] - rng.integers(1, 4, len(idx))
        ok = applied & (app_m >= 0) & ~early
        day = rng.integers(0, 28, ok.sum()).astype("timedelta64[D]")
        ev.add(enterprise_id=eids[idx[ok]], loan_id=cur["loan_id"][rolls][ok],
               event_date=months[app_m[ok]].astype("datetime64[M]").astype("datetime64[D]") + day,
               event_type=np.full(ok.sum(), "renewal_application", dtype=object))
        add_loans(idx, m, term, amount, cur["product"][rolls],
                  np.where(rwr | early, cur["loan_id"][rolls], None).astype(object), rwr, np.zeros(len(idx), bool),
                  inherit={c: cur[c][rolls] for c in ("collateral_type", "guarantor_type", "guaranteed_share",
                                                      "guarantee_insurance", "lender", "guarantor_enterprise_id")})
        cur = loans[-1]
        generations.append(cur)
    # renewal applications for loans maturing shortly after the window end (advance review)
    for g in generations:
        mat = g["due"]
        f = g["idx"]
        upcoming = (mat >= T) & (mat <= T + 2) & (bucket[f, T - 1] == 0)
        app_m = mat - rng.integers(1, 4, len(f))
        ok = upcoming & (app_m < T) & (app_m >= 0) & (rng.random(len(f)) < 0.6)
        day = rng.integers(0, 28, ok.sum()).astype("timedelta64[D]")
        ev.add(enterprise_id=eids[f[ok]], loan_id=g["loan_id"][ok],
               event_date=months[app_m[ok]].astype("datetime64[M]").astype("datetime64[D]") + day,
               event_type=np.full(ok.sum(), "renewal_application", dtype=object))

    # leverage drifts up before default: weak (not yet delinquent) borrowers take a short loan from
    # another bank
    tg = np.arange(T)[None, :]
    weak = borrower[:, None] & (h < -1.0) & (bucket == 0) & (tg > np.maximum(first, 0)[:, None])
    draw = weak & (rng.random((n, T)) < cfg.extra_loan_rate)
    has = draw.any(axis=1)
    xi_ = np.nonzero(has)[0]
    if len(xi_):
        xt = draw[xi_].argmax(axis=1)
        add_loans(xi_, xt, np.full(len(xi_), 6), np.round(np.clip(firms.revenue[xi_] * rng.uniform(0.05, 0.15, len(xi_)),
                                                                     50_000, 5_000_000), -4),
                  product_for(firms.legal_form[xi_], rng), np.full(len(xi_), None, dtype=object),
                  np.zeros(len(xi_), bool), np.zeros(len(xi_), bool))

    L = {k: np.concatenate([g[k] for g in loans]) for k in loans[0]}
    nL = len(L["loan_id"])
    mat = L["due"]
    eidx = L["idx"]
    settle_m = settle(eidx, mat)
    dmL = default_m[eidx]
    # loans outstanding at their enterprise's default stay on the books until written off or disposed
    wo_lag = rng.integers(cfg.writeoff_months[0], cfg.writeoff_months[1] + 1, n)
    in_default = (dmL >= 0) & (L["start"] <= dmL) & (dmL < settle_m)
    end = np.where(in_default, dmL + wo_lag[eidx], settle_m)
    d0 = rng.integers(1, 31, nL)
    base_dpd = np.array([0, 0, 30, 60, 90])
    # month-by-month balances and delinquency within the window
    for t in range(T):
        # a written-off loan shows a last record with zero balance in its write-off month
        live = (L["start"] <= t) & ((t < end) | (in_default & (t == end)))
        if not live.any():
            continue
        k = np.nonzero(live)[0]
        elapsed = t - L["start"][k]
        bal = np.where(L["amort"][k], L["amount"][k] * np.clip(1 - elapsed / L["term"][k], 0, 1), L["amount"][k])
        bal = np.where(t == end[k], 0.0, bal)
        bk = bucket[eidx[k], t]
        dist = bk > 0
        dpd = np.where(dist, base_dpd[bk] + d0[k] + 30 * np.maximum(0, t - dmL[k]) * (bk == 4), 0)
        benign = ~dist & (rng.random(len(k)) < expit(-5.2 - 0.9 * h[eidx[k], t]))
        dpd = np.where(benign, rng.integers(1, 30, len(k)), dpd)
        arrears = (dpd > 0) & (dist | (rng.random(len(k)) < 0.5))
        lm.add(loan_id=L["loan_id"][k], enterprise_id=eids[eidx[k]], month_end=np.full(len(k), months[t]),
               balance=np.round(np.maximum(bal, 0.0), 2), days_past_due=dpd.astype(np.int64),
               risk_class_5=ref.classify_risk_5(dpd), interest_arrears=arrears)
        # forbearance granted this month (first month of a run)
        fb_new = forborne[eidx[k], t] & ~(forborne[eidx[k], t - 1] if t > 0 else False)
        kf = k[fb_new]
        ev.add(enterprise_id=eids[eidx[kf]], loan_id=L["loan_id"][kf],
               event_date=np.full(len(kf), months[t]), event_type=np.full(len(kf), "forbearance", dtype=object))
    loan_monthly = lm.frame(["loan_id", "enterprise_id", "month_end", "balance", "days_past_due", "risk_class_5",
                             "interest_arrears"])
    last_class = loan_monthly.groupby("loan_id", sort=False)["risk_class_5"].last()
    k_wo = np.nonzero(in_default & (end < T))[0]
    ev.add(enterprise_id=eids[eidx[k_wo]], loan_id=L["loan_id"][k_wo], event_date=months[end[k_wo]],
           event_type=np.full(len(k_wo), "write_off", dtype=object))

    # misuse of funds and restructuring
    k_mis = np.nonzero(rng.random(nL) < expit(-4.6 - 0.8 * h[eidx, np.clip(L["start"], 0, T - 1)] + 0.8 * firms.u[eidx]))[0]
    mis_m = np.clip(L["start"][k_mis] + rng.integers(1, 6, len(k_mis)), 0, None)
    ok = mis_m < np.minimum(T, mat[k_mis])
    k_mis, mis_m = k_mis[ok], mis_m[ok]
    ev.add(enterprise_id=eids[eidx[k_mis]], loan_id=L["loan_id"][k_mis],
           event_date=months[mis_m].astype("datetime64[M]").astype("datetime64[D]") + rng.integers(0, 28, len(k_mis)).astype("timedelta64[D]"),
           event_type=np.full(len(k_mis), "funds_misuse_detected", dtype=object))
    k_res = np.nonzero(in_default & (dmL + 1 < np.minimum(T, end)) & (rng.random(nL) < 0.15))[0]
    ev.add(enterprise_id=eids[eidx[k_res]], loan_id=L["loan_id"][k_res],
           event_date=months[dmL[k_res] + 1].astype("datetime64[M]").astype("datetime64[D]"),
           event_type=np.full(len(k_res), "restructuring", dtype=object))
    events = ev.frame(["enterprise_id", "loan_id", "event_date", "event_type"])
    events["event_date"] = events["event_date"].astype("datetime64[ns]")
    events = events.drop_duplicates(["loan_id", "event_date", "event_type"]).sort_values(
        ["enterprise_id", "event_date", "loan_id", "event_type"], kind="stable").reset_index(drop=True)

    ws = months[0].astype("datetime64[M]")
    day = rng.integers(0, 28, nL).astype("timedelta64[D]")
    start_date = (ws + L["start"].astype("timedelta64[M]")).astype("datetime64[D]") + day
    maturity_date = (ws + (L["start"] + L["term"]).astype("timedelta64[M]")).astype("datetime64[D]") + day
    keep = start_date <= months[-1]
    loans_df = pd.DataFrame({
        "loan_id": L["loan_id"], "enterprise_id": eids[eidx], "lender": L["lender"],
        "start_date": start_date.astype("datetime64[ns]"), "maturity_date": maturity_date.astype("datetime64[ns]"),
        "amount": L["amount"].astype(float), "product": L["product"], "collateral_type": L["collateral_type"],
        "collateral_value": L["collateral_value"], "guarantor_type": L["guarantor_type"],
        "guaranteed_share": L["guaranteed_share"].astype(float), "guarantee_insurance": L["guarantee_insurance"],
        "renewed_without_repayment": L["rwr"], "renewed_from_loan_id": L["renewed_from"],
        "risk_class_5": pd.Series(L["loan_id"]).map(last_class).fillna("正常").to_numpy(dtype=object),
        "guarantor_enterprise_id": L["guarantor_enterprise_id"],
    })[np.asarray(keep)]
    loans_df = loans_df.sort_values(["enterprise_id", "start_date", "loan_id"], kind="stable").reset_index(drop=True)
    # an enterprise defaults when in distress with a loan outstanding at its default month
    di = np.unique(eidx[in_default])
    defaults = pd.DataFrame({"enterprise_id": eids[di], "default_month": months[default_m[di]].astype("datetime64[ns]")})
    # loss given default of every loan outstanding at its enterprise's default, by security
    kd = np.nonzero(in_default)[0]
    dm = dmL[kd]
    lgd = loss_given_default(rng, L, kd, dm, months, eids)
    # applications inside the window, approved and rejected (kept for reject inference)
    ai = app_hist["idx"]
    pos = np.searchsorted(b, ai)
    appr = app_hist["approved"]
    coll = collateral(firms, ai, rng, app_hist["risk"])
    first_loans = loans[0]
    req = np.where(appr, first_loans["amount"][np.minimum(pos, len(b) - 1)] if len(b) else 0.0,
                   np.round(np.clip(firms.revenue[ai] * rng.uniform(0.15, 0.4, len(ai)), 50_000, 20_000_000), -4))
    ctype = np.where(appr, first_loans["collateral_type"][np.minimum(pos, len(b) - 1)] if len(b) else None,
                     coll["collateral_type"]).astype(object)
    applications = pd.DataFrame({
        "application_id": [f"AH{chunk_index:03d}{j:07d}" for j in range(len(ai))],
        "enterprise_id": eids[ai],
        "application_date": (months[app_hist["month"]].astype("datetime64[M]").astype("datetime64[D]")
                             + rng.integers(0, 20, len(ai)).astype("timedelta64[D]")).astype("datetime64[ns]"),
        "requested_amount": req.astype(float), "product": product_for(firms.legal_form[ai], rng),
        "collateral_type": ctype,
        "decision": np.where(appr, "approved", "rejected").astype(object),
        "loan_id": np.where(appr, first_loans["loan_id"][np.minimum(pos, len(b) - 1)] if len(b) else None, None).astype(object),
    })
    applications["product"] = np.where(appr, first_loans["product"][np.minimum(pos, len(b) - 1)] if len(b) else None,
                                       applications["product"]).astype(object)
    applications = applications.sort_values(["enterprise_id", "application_date"], kind="stable").reset_index(drop=True)
    return loans_df, loan_monthly, events, defaults, lgd, applications


def loss_given_default(rng, L, kd, dm, months, eids) -> pd.DataFrame:
    """Exposure at default, recovery and its timing, and the discounted loss rate of defaulted loans."""
    k = len(kd)
    elapsed = dm - L["start"][kd]
    ead = np.where(L["amort"][kd], L["amount"][kd] * np.clip(1 - elapsed / L["term"][kd], 0, 1), L["amount"][kd])
    ctype = L["collateral_type"][kd]
    mean = np.array([RECOVERY[c][0] for c in ctype])
    sd = np.array([RECOVERY[c][1] for c in ctype])
    lo = np.array([RECOVERY[c][2][0] for c in ctype])
    hi = np.array([RECOVERY[c][2][1] for c in ctype])
    rec = np.clip(mean + sd * rng.standard_normal(k), 0.0, 1.0)
    share = L["guaranteed_share"][kd].astype(float)
    rec = share + (1 - share) * rec  # the guarantor pays its share, the rest is recovered like the collateral
    wait = lo + (rng.random(k) * (hi - lo + 1)).astype(np.int64)
    lgd = 1.0 - rec / 1.06 ** (wait / 12)  # discounted at 6 % a year
    ws = months[0].astype("datetime64[M]")
    return pd.DataFrame({
        "loan_id": L["loan_id"][kd], "enterprise_id": eids[L["idx"][kd]],
        "default_month": months[dm].astype("datetime64[ns]"),
        "collateral_type": ctype, "guarantor_type": L["guarantor_type"][kd],
        "ead": np.round(ead, 2), "recovery_rate": np.round(rec, 4),
        "recovery_month": (ws + (dm + wait + 1).astype("timedelta64[M]")).astype("datetime64[D]").astype("datetime64[ns]")
        - np.timedelta64(1, "D"),
        "lgd": np.round(lgd, 4),
    })

