"""MLflow pyfunc packaging of a :class:`~smecredit.models.credit_model.CreditModel`.

``save_model(model, path)`` writes an MLflow model directory (``mlflow.pyfunc.load_model(path)``
works offline); its ``predict`` returns exactly :meth:`CreditModel.predict`. The directory also
holds the scorecard table (scorecard models) and, written by the training pipeline,
``validation.json``.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import warnings
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

with warnings.catch_warnings():  # importing mlflow.pyfunc warns about type hints of MLflow's own classes
    warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

from smecredit.exceptions import ModelNotFoundError
from smecredit.models.credit_model import OUTPUT_COLUMNS, CreditModel

log = logging.getLogger(__name__)

ARTIFACT = "credit_model"
_REQUIREMENTS = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "optbinning", "mlflow", "pyarrow")


class SmeCreditPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow ``PythonModel`` wrapping a pickled :class:`CreditModel`."""

    # The input schema is an explicit signature (built from the training features), so MLflow's
    # type-hint validation wrapper (and its "add type hints" warning on every predict) is skipped.
    _skip_type_hint_validation = True

    def load_context(self, context):
        with open(context.artifacts[ARTIFACT], "rb") as fh:
            self.model = pickle.load(fh)

    def predict(self, context, model_input, params=None):
        return self.model.predict(model_input)


@contextlib.contextmanager
def _quiet_mlflow():
    """Silence MLflow's INFO/WARNING chatter (cloudpickle notice, input-example validation) while saving."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


def signature(model: CreditModel) -> ModelSignature:
    """Input: the features (double / string) plus optional id columns; output: the contract columns."""
    cols = [ColSpec("double" if t == "numeric" else "string", name) for name, t in model.feature_types_.items()]
    cols += [ColSpec("string", "enterprise_id", required=False), ColSpec("datetime", "snapshot_date", required=False)]
    out = [ColSpec("double", "pd"), ColSpec("double", "score"), ColSpec("string", "grade")]
    out += [ColSpec("string", c) for c in OUTPUT_COLUMNS[3:]]
    return ModelSignature(inputs=Schema(cols), outputs=Schema(out))


def pip_requirements() -> list[str]:
    reqs = []
    for name in _REQUIREMENTS:
        try:
            reqs.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            reqs.append(name)
    return reqs


def _pickle(model: CreditModel, folder: Path) -> Path:
    path = folder / "credit_model.pkl"
    with open(path, "wb") as fh:
        pickle.dump(model, fh, protocol=5)
    return path


def input_example(model: CreditModel, X: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of the feature columns, typed as the signature expects."""
    from smecredit.models.dataset import coerce_features

    return coerce_features(X.head(n), model.feature_types_)


def save_model(model: CreditModel, path, *, example: pd.DataFrame | None = None, extra_files: dict | None = None) -> Path:
    """Save ``model`` as an MLflow pyfunc directory at ``path`` (which must not exist)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="smecredit-model-") as tmp:
        pkl = _pickle(model, Path(tmp))
        with _quiet_mlflow():
            mlflow.pyfunc.save_model(
                path=str(path), python_model=SmeCreditPyfunc(), artifacts={ARTIFACT: str(pkl)},
                signature=signature(model), input_example=example, pip_requirements=pip_requirements(),
                metadata={"smecredit_kind": model.kind},
            )
    for name, content in (extra_files or {}).items():
        (path / name).write_text(content, encoding="utf-8")
    return path


def log_model(model: CreditModel, *, example: pd.DataFrame | None = None, registered_model_name: str | None = None):
    """Log ``model`` to the active MLflow run (optionally registering it); return the ModelInfo."""
    with tempfile.TemporaryDirectory(prefix="smecredit-model-") as tmp:
        pkl = _pickle(model, Path(tmp))
        with _quiet_mlflow():
            return mlflow.pyfunc.log_model(
                name="model", python_model=SmeCreditPyfunc(), artifacts={ARTIFACT: str(pkl)},
                signature=signature(model), input_example=example, pip_requirements=pip_requirements(),
                registered_model_name=registered_model_name, metadata={"smecredit_kind": model.kind},
            )


def load_model(uri_or_dir) -> CreditModel:
    """Load a :class:`CreditModel` from an MLflow model directory, ``runs:/``, ``models:/name/version``,
    ``models:/name@alias`` or any other MLflow model URI.

    Raises
    ------
    ModelNotFoundError
        Nothing loadable at that location.
    """
    from mlflow.exceptions import MlflowException

    from smecredit import tracking

    target = str(uri_or_dir)
    local = Path(target)
    if "://" not in target and ":/" not in target[:12]:
        if not (local / "MLmodel").is_file():
            raise ModelNotFoundError(f"no MLflow model directory at {local} (no MLmodel file)")
        target = str(local.resolve())
    else:
        tracking.configure()
    try:
        with _quiet_mlflow():
            loaded = mlflow.pyfunc.load_model(target)
    except (MlflowException, OSError) as exc:
        raise ModelNotFoundError(f"cannot load model {uri_or_dir}: {str(exc).splitlines()[0]}") from exc
    wrapper = loaded.unwrap_python_model()
    if not isinstance(wrapper, SmeCreditPyfunc):
        raise ModelNotFoundError(f"{uri_or_dir} is an MLflow model but not a smecredit credit model")
    model = wrapper.model
    if target.startswith("models:/"):
        model.metadata_.update(_registry_info(target[len("models:/"):]))
    return model


def _registry_info(ref: str) -> dict:
    from mlflow import MlflowClient

    client = MlflowClient()
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            mv = client.get_model_version_by_alias(name, alias)
        else:
            name, ver = ref.split("/", 1)
            mv = client.get_model_version(name, ver)
    except Exception:  # noqa: BLE001 - registry info is best effort
        return {}
    return {"registered_name": mv.name, "registered_version": str(mv.version), "run_id": mv.run_id}


def copy_into(src: Path, dst: Path) -> None:
    """Copy the content of directory ``src`` into existing directory ``dst``."""
    for item in src.iterdir():
        target = dst / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)
