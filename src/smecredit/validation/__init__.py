"""Model validation: discrimination, calibration and rating-grade tests."""

from smecredit.validation.metrics import (auc, binomial_test, bootstrap_ci, brier, delong_test, gini, grade_tests,
                                          hosmer_lemeshow, jeffreys_test, ks, log_loss)
from smecredit.validation.report import validate_predictions

__all__ = ["auc", "binomial_test", "bootstrap_ci", "brier", "delong_test", "gini", "grade_tests", "hosmer_lemeshow",
           "jeffreys_test", "ks", "log_loss", "validate_predictions"]
