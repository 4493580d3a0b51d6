"""Credit decisions: new-loan decisions, renewal without repayment (无还本续贷), expected loss
with risk sharing, and an append-only audit trail.

The engine is a pure function of (raw data as of a date, a scores frame, a policy):
:func:`decide_renewals` and :func:`decide_loans`. :mod:`smecredit.pipelines.decide` wires it to
the feature pipeline and a registered model.
"""

from smecredit.decisions.policy import Policy, load_policy

__all__ = ["Policy", "load_policy"]
