"""The registry/tracking layer: MLflow runs, the model registry and MLflow model packaging.

MLflow is imported only in this package (``import smecredit.models`` is MLflow-free). It sits
above the models, validation, explanation and report layers and below scoring and the
pipelines: :func:`load_model` resolves a folder, ``runs:/`` or ``models:/`` URI,
:func:`save_model` / :func:`log_model` write a model as an MLflow pyfunc model whose
``loader_module`` is :mod:`smecredit.models.pyfunc`, and :mod:`smecredit.registry.tracking`
sets the tracking URI.
"""

from smecredit.models.pyfunc import DATA_SUBPATH, input_example
from smecredit.registry import tracking
from smecredit.registry.models import HASH_TAG, load_model, log_model, save_model

__all__ = ["DATA_SUBPATH", "HASH_TAG", "input_example", "load_model", "log_model", "save_model", "tracking"]
