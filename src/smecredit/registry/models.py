"""MLflow packaging, logging, registration and loading of a :class:`~smecredit.models.credit_model.CreditModel`.

``save_model(model, path)`` writes an MLflow model directory (``mlflow.pyfunc.load_model(path)``
works offline); its ``predict`` returns exactly :meth:`CreditModel.predict`. The model itself is
plain data under ``data/smecredit/`` (:mod:`smecredit.models.persist`: ``model.json``,
``booster.txt``, a signed ``manifest.json``); MLflow loads it through
:func:`smecredit.models.pyfunc._load_pyfunc` (the ``loader_module``, which imports no MLflow),
so neither MLflow nor smecredit unpickles anything. :func:`load_model` does not use MLflow's
loader at all: it verifies the files (and, for a registered version, the SHA-256 tag on the
version) and rebuilds the model. The directory also holds the scorecard table (scorecard models)
and, written by the training pipeline, ``validation.json`` (informational, not read back).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

with warnings.catch_warnings():  # importing mlflow.pyfunc warns about type hints of MLflow's own classes
    warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

from smecredit.exceptions import ModelIntegrityError, ModelNotFoundError
from smecredit.models.credit_model import OUTPUT_COLUMNS, CreditModel
from smecredit.models.persist import MANIFEST_FILE, model_files, read_model, sha256_bytes, verify_folder, write_manifest
from smecredit.models.pyfunc import DATA_DIR, DATA_SUBPATH, LOADER_MODULE, data_folder, load_folder
from smecredit.registry import tracking

log = logging.getLogger(__name__)

HASH_TAG = "smecredit.artifacts_sha256"
_REQUIREMENTS = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "optbinning", "mlflow", "pyarrow")


@contextlib.contextmanager
def quiet_mlflow():
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


def _write_data(model: CreditModel, folder: Path) -> dict[str, str]:
    """Write the model files and their signed manifest into new folder ``folder``; return ``{file: sha256}``."""
    folder.mkdir()
    hashes = {}
    for name, data in model_files(model).items():
        (folder / name).write_bytes(data)
        hashes[name] = sha256_bytes(data)
    write_manifest(folder, hashes)
    hashes[MANIFEST_FILE] = sha256_bytes((folder / MANIFEST_FILE).read_bytes())
    return hashes


def save_model(model: CreditModel, path, *, example: pd.DataFrame | None = None, extra_files: dict | None = None) -> Path:
    """Save ``model`` as an MLflow pyfunc directory at ``path`` (which must not exist).

    The model itself is plain data at ``data/smecredit/`` (``model.json``, ``booster.txt``, signed
    ``manifest.json``); MLflow loads it through :mod:`smecredit.models.pyfunc` (``loader_module``),
    so nothing is pickled.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="smecredit-model-") as tmp:
        data = Path(tmp) / DATA_DIR
        _write_data(model, data)
        with quiet_mlflow():
            mlflow.pyfunc.save_model(
                path=str(path), loader_module=LOADER_MODULE, data_path=str(data),
                signature=signature(model), input_example=example, pip_requirements=pip_requirements(),
                metadata={"smecredit_kind": model.kind},
            )
    for name, content in (extra_files or {}).items():
        (path / name).write_text(content, encoding="utf-8")
    return path


def log_model(model: CreditModel, *, example: pd.DataFrame | None = None, registered_model_name: str | None = None):
    """Log ``model`` to the active MLflow run (optionally registering it); return the ModelInfo.

    A registered version gets the tag ``smecredit.artifacts_sha256``: the SHA-256 of each model
    file, checked by :func:`load_model` against what it downloads.
    """
    with tempfile.TemporaryDirectory(prefix="smecredit-model-") as tmp:
        data = Path(tmp) / DATA_DIR
        hashes = _write_data(model, data)
        with quiet_mlflow():
            info = mlflow.pyfunc.log_model(
                name="model", loader_module=LOADER_MODULE, data_path=str(data),
                signature=signature(model), input_example=example, pip_requirements=pip_requirements(),
                registered_model_name=registered_model_name, metadata={"smecredit_kind": model.kind},
            )
    if registered_model_name:
        mlflow.MlflowClient().set_model_version_tag(registered_model_name, str(info.registered_model_version),
                                                    HASH_TAG, json.dumps(hashes, sort_keys=True))
    return info


def load_model(uri_or_dir) -> CreditModel:
    """Load a :class:`CreditModel` from an MLflow model directory, ``runs:/``, ``models:/name/version``,
    ``models:/name@alias`` or any other MLflow model URI.

    Every model file is checked against the model's signed manifest (and, for a registered
    version, against the SHA-256 recorded on the version) before it is read; the files are plain
    JSON and LightGBM text, never unpickled. MLflow's own loader is not used.

    Raises
    ------
    ModelNotFoundError
        Nothing loadable at that location.
    ModelIntegrityError
        A model file was changed, added or removed, or the model is in the old pickle format.
    """
    from mlflow.exceptions import MlflowException

    target = str(uri_or_dir)
    if "://" not in target and ":/" not in target[:12]:
        return load_folder(Path(target))
    tracking.configure()
    expected, info = None, {}
    ref = target[len("models:/"):] if target.startswith("models:/") else ""
    if ref and ("@" in ref or "/" in ref.strip("/")):  # a registered version (not a logged-model id m-...)
        mv = _registry_version(ref)
        info = {"registered_name": mv.name, "registered_version": str(mv.version), "run_id": mv.run_id}
        tag = (mv.tags or {}).get(HASH_TAG)
        if not tag:
            raise ModelIntegrityError(f"registered model {mv.name!r} version {mv.version} records no SHA-256 of its "
                                      f"files (tag {HASH_TAG}); refusing to load it")
        try:
            expected = json.loads(tag)
        except ValueError as exc:
            raise ModelIntegrityError(f"tag {HASH_TAG} of {mv.name!r} version {mv.version} is not valid JSON") from exc
        target = f"models:/{mv.name}/{mv.version}"  # the version resolved once, even if the alias moves
    with tempfile.TemporaryDirectory(prefix="smecredit-load-") as tmp:
        try:
            with quiet_mlflow():
                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=target, dst_path=tmp))
        except (MlflowException, OSError) as exc:
            raise ModelNotFoundError(f"cannot load model {uri_or_dir}: {str(exc).splitlines()[0]}") from exc
        data = data_folder(local, str(uri_or_dir))
        verify_folder(data, expected)
        model = read_model(data)
    model.metadata_.update(info)
    return model


def _registry_version(ref: str):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            return client.get_model_version_by_alias(name, alias)
        name, ver = ref.split("/", 1)
        return client.get_model_version(name, ver)
    except (MlflowException, ValueError) as exc:
        raise ModelNotFoundError(f"cannot resolve models:/{ref}: {str(exc).splitlines()[0]}") from exc


__all__ = ["DATA_SUBPATH", "HASH_TAG", "load_model", "log_model", "pip_requirements", "quiet_mlflow",
           "save_model", "signature"]
