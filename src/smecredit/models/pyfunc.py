"""The MLflow ``loader_module`` of a saved smecredit model, and the model-folder layout — without MLflow.

A smecredit model saved by :func:`smecredit.registry.save_model` is an MLflow pyfunc directory
whose model is plain data under ``data/smecredit/`` (:mod:`smecredit.models.persist`:
``model.json``, ``booster.txt``, a signed ``manifest.json``). ``mlflow.pyfunc.load_model`` and
``mlflow models serve`` import this module (the ``loader_module`` recorded in ``MLmodel``) and
call :func:`_load_pyfunc`, which verifies and reads those files: nothing is unpickled.

This module imports no MLflow (the models layer is MLflow-free: writing, logging, registering
and downloading models is :mod:`smecredit.registry`). The loader stays here, at its original
path, so every model saved before keeps loading and a saved model's files do not change.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from smecredit.exceptions import ModelIntegrityError, ModelNotFoundError
from smecredit.models.credit_model import CreditModel
from smecredit.models.persist import read_model, verify_folder

DATA_DIR = "smecredit"  # the model files, at data/smecredit/ of the MLflow model folder
DATA_SUBPATH = f"data/{DATA_DIR}"
LOADER_MODULE = __name__


class SmeCreditPyfunc:
    """What ``mlflow.pyfunc.load_model`` returns for a smecredit model: ``predict`` = :meth:`CreditModel.predict`.

    Built by :func:`_load_pyfunc` (the model's ``loader_module``) from the verified plain-data
    files; MLflow pickles nothing of it.
    """

    def __init__(self, model: CreditModel):
        self.model = model

    def predict(self, model_input, params=None):
        return self.model.predict(model_input)


def _load_pyfunc(data_path):
    """MLflow ``loader_module`` entry point: verify and load the model files in ``data_path``."""
    folder = Path(data_path)
    verify_folder(folder)
    return SmeCreditPyfunc(read_model(folder))


def input_example(model: CreditModel, X: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of the feature columns, typed as the signature expects."""
    from smecredit.models.dataset import coerce_features

    return coerce_features(X.head(n), model.feature_types_)


def check_mlmodel(root: Path, label: str) -> None:
    """Refuse an ``MLmodel`` file that would make MLflow's own loader run other code than smecredit's.

    ``mlflow.pyfunc.load_model`` / ``mlflow models serve`` import ``loader_module`` and add ``code`` paths
    to ``sys.path``: both must be exactly what :func:`smecredit.registry.save_model` wrote.
    """
    import yaml

    path = root / "MLmodel"
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        flavors = spec["flavors"]
        pf = flavors["python_function"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{path}: not a valid MLmodel file of a smecredit model; refusing") from exc
    problems = []
    if pf.get("loader_module") != LOADER_MODULE:
        problems.append(f"loader_module is {pf.get('loader_module')!r}, not {LOADER_MODULE!r}")
    if pf.get("code"):
        problems.append(f"code paths {pf.get('code')!r} would be put on sys.path")
    if pf.get("data") != DATA_SUBPATH:
        problems.append(f"data is {pf.get('data')!r}, not {DATA_SUBPATH!r}")
    if set(flavors) != {"python_function"}:
        problems.append(f"unexpected flavors {sorted(set(flavors) - {'python_function'})}")
    if problems:
        raise ModelIntegrityError(f"{path} ({label}) was changed: {'; '.join(problems)}; refusing")


def data_folder(root: Path, label: str) -> Path:
    """The folder of the model files inside MLflow model folder ``root`` (never read from ``MLmodel``)."""
    data = root / DATA_SUBPATH
    if data.is_dir():
        check_mlmodel(root, label)
        return data
    if (root / "python_model.pkl").exists() or (root / "artifacts" / "credit_model.pkl").exists():
        raise ModelIntegrityError(
            f"{label} is a model in the old pickle format, which smecredit no longer loads (a pickle can run "
            "code); retrain it with this version (smecredit train)")
    if not (root / "MLmodel").is_file():
        raise ModelNotFoundError(f"no MLflow model directory at {label} (no MLmodel file)")
    raise ModelNotFoundError(f"{label} is an MLflow model but not a smecredit credit model (no {DATA_SUBPATH})")


def load_folder(root, label: str | None = None) -> CreditModel:
    """Load the :class:`CreditModel` of a local MLflow model folder ``root`` (files verified first)."""
    root = Path(root)
    if not root.is_dir():
        raise ModelNotFoundError(f"no MLflow model directory at {root}")
    data = data_folder(root, label or str(root))
    verify_folder(data)
    return read_model(data)
