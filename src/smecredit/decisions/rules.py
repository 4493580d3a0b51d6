"""Renewal-without-repayment (无还本续贷) eligibility rules R01–R17, one pure function each.

Each rule takes ``f`` (the facts of one loan and its enterprise as of DATE, a mapping built by
:mod:`smecredit.decisions.facts`, plus the model's ``pd`` and ``grade``), the
:class:`~smecredit.decisions.policy.RenewalPolicy` ``p`` and the review date ``as_of``, and
returns a :class:`RuleResult`: rule id, the data value it looked at, a status and a sentence in
English and Chinese. Statuses:

``pass``       the condition is met;
``condition``  met only subject to a condition (reduced amount, added guarantee or collateral);
``refer``      a credit officer must decide (soft failure, or data missing: "missing data: …");
``fail``       a hard condition is not met: the loan is not eligible for renewal;
``info``       an output of the review (R15 classification after renewal);
``decline``    (new-loan checks L01–L08 only) the application is declined.

Which rules are regulation and which bank policy is documented in the policy file (``rules:``)
and in docs/decisions.md.

This module is the registry: :data:`RULES` lists the rules in order and :func:`evaluate` runs them.
The rules live by family in :mod:`~smecredit.decisions.rules_eligibility` (R01–R07),
:mod:`~smecredit.decisions.rules_credit` (R08–R12) and :mod:`~smecredit.decisions.rules_renewal` (R13–R17),
with the shared result type and measures in :mod:`~smecredit.decisions.rules_common`; every name is
re-exported here, so ``from smecredit.decisions.rules import …`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from smecredit.decisions.policy_model import RenewalPolicy
from smecredit.decisions.rules_common import (EPS, STATUSES, RuleResult, grade_number, no_vat, operating_changes,
                                              primary_change)
from smecredit.decisions.rules_credit import (persons_zh, r08_credit, r09_misuse, r10_risk_class, r11_new_loan_criteria,
                                              r12_related_persons)
from smecredit.decisions.rules_eligibility import (r01_product, r02_size, r03_application, r04_review_timing,
                                                   r05_financing_need, r06_lawful, r07_operation)
from smecredit.decisions.rules_renewal import (limit_amount, r13_amount_term, r14_collateral, r15_classification,
                                               r16_monitoring, r17_restructuring, restructuring_signs)

__all__ = ["EPS", "RULES", "STATUSES", "RuleResult", "apply_severity", "evaluate", "grade_number", "limit_amount",
           "no_vat", "operating_changes", "persons_zh", "primary_change", "r01_product", "r02_size", "r03_application",
           "r04_review_timing", "r05_financing_need", "r06_lawful", "r07_operation", "r08_credit", "r09_misuse",
           "r10_risk_class", "r11_new_loan_criteria", "r12_related_persons", "r13_amount_term", "r14_collateral",
           "r15_classification", "r16_monitoring", "r17_restructuring", "restructuring_signs"]


#: The eligibility rules in order (R15 is derived from the others by :func:`r15_classification`).
RULES: dict[str, Callable[[Mapping, RenewalPolicy, object], RuleResult]] = {
    "R01": r01_product, "R02": r02_size, "R03": r03_application, "R04": r04_review_timing,
    "R05": r05_financing_need, "R06": r06_lawful, "R07": r07_operation, "R08": r08_credit,
    "R09": r09_misuse, "R10": r10_risk_class, "R11": r11_new_loan_criteria, "R12": r12_related_persons,
    "R13": r13_amount_term, "R14": r14_collateral, "R16": r16_monitoring, "R17": r17_restructuring,
}


def apply_severity(res: Mapping[str, RuleResult], severities: Mapping[str, str]) -> dict[str, RuleResult]:
    """Turn the failures of rules the policy marks ``soft`` into referrals (the bank's choice)."""
    out = {}
    for rid, r in res.items():
        if r.status == "fail" and severities.get(rid) == "soft":
            r = RuleResult(rid, r.value, "refer", r.text_en + " (soft rule in this policy: referred)",
                           r.text_zh + "（本政策为软性规则：提交人工审查）")
        out[rid] = r
    return out


def evaluate(f: Mapping, p: RenewalPolicy, as_of, severities: Mapping[str, str] | None = None) -> dict[str, RuleResult]:
    """Run R01–R17 on one loan's facts; results keyed R01..R17 in order.

    ``severities`` (rule id → hard/soft/…, from the policy's ``rules`` section) turns failures of
    soft rules into referrals.
    """
    res = {rid: fn(f, p, as_of) for rid, fn in RULES.items()}
    if severities:
        res = apply_severity(res, severities)
    res["R15"] = r15_classification(f, res)
    return {rid: res[rid] for rid in sorted(res)}
