"""PD models: points scorecard and LightGBM, calibration, master scale, MLflow packaging."""

from smecredit.models.calibration import PDCalibrator
from smecredit.models.credit_model import CreditModel, fit_credit_model
from smecredit.models.gbm import GBMPD
from smecredit.models.pyfunc import load_model, save_model
from smecredit.models.rating import MasterScale
from smecredit.models.scorecard import ScorecardPD

__all__ = ["GBMPD", "CreditModel", "MasterScale", "PDCalibrator", "ScorecardPD", "fit_credit_model", "load_model",
           "save_model"]
