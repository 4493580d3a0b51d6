"""The regulatory floor of the decision policy: what a policy file may make stricter but never weaker.

Rules and fields set by the regulation or national rules are fixed here, in code, not in the policy
file: a policy file may make them stricter, never soft, disabled or wider. A file that tries is
refused (PolicyError, exit code 2) naming the rule, the field and the source
(:func:`regulatory_floor_problems`, called by :func:`smecredit.decisions.policy.policy_from_dict`).
Bank-policy rules and thresholds (R12, R13, the numeric bands) stay configurable.
"""

from __future__ import annotations

import datetime as dt

_S2014 = "银监发〔2014〕36号"
_S2024 = "金规〔2024〕13号"
#: Regulation rules: rule id → (lowest severity a policy may give it, source).
REGULATORY_RULES: dict[str, tuple[str, str]] = {
    "R01": ("hard", f"{_S2014}; {_S2024}: working-capital and operating loans only"),
    "R02": ("hard", f"{_S2024}: small and micro enterprises; medium ones for loans maturing by 2027-09-30"),
    "R03": ("soft", f"{_S2014}; {_S2024}: the borrower applies on its own initiative before maturity"),
    "R04": ("hard", f"{_S2014}; {_S2024}: review to new-loan standards completed before maturity"),
    "R05": ("soft", f"{_S2014}; {_S2024}: continuing financing need, temporary difficulty"),
    "R06": ("hard", f"{_S2014} condition (1) 依法合规经营"),
    "R07": ("hard", f"{_S2014} condition (2) 生产经营正常"),
    "R08": ("hard", f"{_S2014} condition (3); {_S2024}: no overdue, no 欠息, no 逃废债"),
    "R09": ("hard", f"{_S2014} condition (3): no misuse of loan funds"),
    "R10": ("hard", f"{_S2014} condition (4); {_S2024}: the original loan is 正常"),
    "R11": ("hard", f"{_S2014} condition (4): meets the new-loan criteria"),
    "R14": ("soft", f"{_S2014}; {_S2024}: new guarantee contract signed before maturity"),
    "R15": ("output", "银监发〔2015〕38号; 金规〔2024〕13号: no downgrade solely because of renewal"),
    "R16": ("monitor", f"{_S2024} (g): renewal must not hide deterioration"),
    "R17": ("hard", "《商业银行金融资产风险分类办法》(2023年第1号令): 借新还旧 for a borrower in financial "
                    "difficulty is a restructuring"),
}
_SEVERITY_RANK = {"output": 0, "monitor": 0, "soft": 1, "hard": 2}
#: Products and size classes the regulation allows for renewal without repayment (R01, R02).
REGULATORY_PRODUCTS = ("working_capital", "owner_operating", "sole_prop_operating", "farmer_operating")
REGULATORY_SIZE_CLASSES = ("micro", "small")
MEDIUM_CUTOFF_LIMIT = dt.date(2027, 9, 30)


def _as_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def regulatory_floor_problems(data) -> list[str]:
    """Every way the policy mapping ``data`` lowers the regulatory floor (empty when it does not).

    Checked: a regulation rule marked ``bank_policy`` or given a weaker severity (hard → soft,
    soft → output …); ``renewal.require_application`` false (R03); products outside the regulation's
    list (R01); size classes beyond micro and small, or a medium-enterprise cut-off after
    2027-09-30 (R02); a review that need not finish before maturity (R04, ``review_lead_days`` < 1).
    Each message names the rule, the field and the source.
    """
    if not isinstance(data, dict):
        return []
    out = []
    rules = data.get("rules") if isinstance(data.get("rules"), dict) else {}
    for rid, (floor, source) in REGULATORY_RULES.items():
        meta = rules.get(rid)
        if not isinstance(meta, dict):
            continue
        if meta.get("basis") not in (None, "regulation"):
            out.append(f"regulatory floor: rules.{rid}.basis = {meta.get('basis')!r} refused: {rid} is set by "
                       f"{source}; a policy file cannot re-label it bank policy")
        sev = meta.get("severity")
        if sev in _SEVERITY_RANK and (_SEVERITY_RANK[sev] < _SEVERITY_RANK[floor]
                                      or (floor in ("output", "monitor") and sev != floor)):
            out.append(f"regulatory floor: rules.{rid}.severity = {sev!r} refused: {rid} is set by {source}; "
                       f"it must stay {floor!r}" + (" or stricter" if floor == "soft" else ""))
    ren = data.get("renewal") if isinstance(data.get("renewal"), dict) else {}
    if ren.get("require_application") is False:
        out.append(f"regulatory floor: renewal.require_application = false refused: R03 is set by "
                   f"{REGULATORY_RULES['R03'][1]}")
    prods = ren.get("eligible_products")
    if isinstance(prods, (list, tuple)):
        extra = [x for x in prods if x not in REGULATORY_PRODUCTS]
        if extra:
            out.append(f"regulatory floor: renewal.eligible_products {extra} refused: R01 allows only "
                       f"{list(REGULATORY_PRODUCTS)} ({REGULATORY_RULES['R01'][1]})")
    sizes = ren.get("eligible_size_classes")
    if isinstance(sizes, (list, tuple)):
        extra = [x for x in sizes if x not in REGULATORY_SIZE_CLASSES]
        if extra:
            out.append(f"regulatory floor: renewal.eligible_size_classes {extra} refused: R02 allows only "
                       f"{list(REGULATORY_SIZE_CLASSES)}, medium enterprises only for loans maturing by "
                       f"{MEDIUM_CUTOFF_LIMIT} ({_S2024}); set renewal.medium_maturity_cutoff instead")
    cut = _as_date(ren.get("medium_maturity_cutoff")) if "medium_maturity_cutoff" in ren else None
    if cut is not None and cut > MEDIUM_CUTOFF_LIMIT:
        out.append(f"regulatory floor: renewal.medium_maturity_cutoff = {cut} refused: R02 covers medium "
                   f"enterprises only for loans maturing on or before {MEDIUM_CUTOFF_LIMIT} ({_S2024})")
    lead = ren.get("review_lead_days")
    if isinstance(lead, int) and not isinstance(lead, bool) and lead < 1:
        out.append(f"regulatory floor: renewal.review_lead_days = {lead} refused: R04 requires the review to be "
                   f"completed before maturity ({REGULATORY_RULES['R04'][1]}); at least 1 day")
    return out
