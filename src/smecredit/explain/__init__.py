"""Explanations of PD models: SHAP values of the GBM, exact points of the scorecard, reason codes.

See :mod:`smecredit.explain.shap_values`.
"""

from smecredit.explain.shap_values import (
    Explanation,
    compare_tree_methods,
    explain,
    global_importance,
    local_explanations,
    reason_codes,
)

__all__ = ["Explanation", "compare_tree_methods", "explain", "global_importance", "local_explanations",
           "reason_codes"]
