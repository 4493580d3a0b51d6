"""PD models: points scorecard and LightGBM, calibration, master scale, the plain-data model format.

No MLflow here: saving as an MLflow model, logging, registering and loading by URI are
:mod:`smecredit.registry` (``smecredit.registry.load_model`` / ``save_model``).
"""

from smecredit.models.calibration import PDCalibrator
from smecredit.models.credit_model import CreditModel, fit_credit_model
from smecredit.models.gbm import GBMPD
from smecredit.models.rating import MasterScale
from smecredit.models.scorecard import ScorecardPD

__all__ = ["GBMPD", "CreditModel", "MasterScale", "PDCalibrator", "ScorecardPD", "fit_credit_model"]
