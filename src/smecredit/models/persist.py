"""Saving and loading a :class:`CreditModel` without pickle.

A saved model is a folder of plain data: ``model.json`` (every fitted number of the model,
its calibrator, master scale, scorecard bins and linear base, in a typed JSON that can only
build numbers, strings, lists, dicts, NumPy arrays and data frames) and, for GBM models,
``booster.txt`` (LightGBM's own text format). Loading reads these files and rebuilds the
objects field by field: nothing in a model folder is ever executed or unpickled.

``manifest.json`` lists the SHA-256 of every file of the model and is signed with an HMAC
of the project key (:func:`smecredit.privacy.load_key`). :func:`verify_folder` checks it
before anything is read; a changed, missing or added file refuses the load with
:class:`~smecredit.exceptions.ModelIntegrityError` (exit 5) naming the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from smecredit.exceptions import ModelIntegrityError

FORMAT = "smecredit-model/1"
STATE_FILE = "model.json"
BOOSTER_FILE = "booster.txt"
MANIFEST_FILE = "manifest.json"
DATA_FILES = (STATE_FILE, BOOSTER_FILE)

_NUMPY_KINDS = "fiubUO"
_FRAME_DTYPES = {"float64", "int64", "bool", "object", "str", "string"}


# --------------------------------------------------------------------------- typed JSON
def _enc(v):
    """Plain-JSON form of ``v``; anything that is not plain data raises ``TypeError`` (never pickled)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, np.bool_):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in _NUMPY_KINDS:
            raise TypeError(f"cannot save an array of dtype {v.dtype}")
        if v.dtype.kind == "O":
            return {"__ndarray__": [_enc(x) for x in v.ravel().tolist()], "dtype": "object", "shape": list(v.shape)}
        return {"__ndarray__": _enc(v.ravel().tolist()), "dtype": v.dtype.str, "shape": list(v.shape)}
    if isinstance(v, pd.api.extensions.ExtensionArray) and pd.api.types.is_string_dtype(v.dtype):
        return _enc(np.asarray(v.astype(object), dtype=object))  # Arrow strings (optbinning categories)
    if isinstance(v, pd.DataFrame):
        return {"__frame__": {"columns": [str(c) for c in v.columns],
                              "dtypes": [str(v[c].dtype) for c in v.columns],
                              "data": [_enc(v[c].tolist()) for c in v.columns]}}
    if isinstance(v, (set, frozenset)):
        return {"__set__": [_enc(x) for x in sorted(v, key=repr)]}
    if isinstance(v, tuple):
        return {"__tuple__": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in v):
            return {k: _enc(x) for k, x in v.items()}
        return {"__items__": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, pd.Timestamp):
        return {"__timestamp__": v.isoformat()}
    raise TypeError(f"cannot save a value of type {type(v).__name__}")


def _dec(v):
    """Inverse of :func:`_enc`; builds plain data only."""
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__float__" in v:
        text = v["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {text!r}")
        return float(text)
    if "__ndarray__" in v:
        dtype = np.dtype(v["dtype"])
        if dtype.kind not in _NUMPY_KINDS:
            raise ValueError(f"array dtype {dtype} is not allowed")
        shape = tuple(int(s) for s in v["shape"])
        items = [_dec(x) for x in v["__ndarray__"]]
        if dtype.kind == "O":
            out = np.empty(len(items), dtype=object)
            for i, x in enumerate(items):
                out[i] = np.asarray(x, dtype=object) if isinstance(x, list) else x
            return out.reshape(shape)
        return np.asarray(items, dtype=dtype).reshape(shape)
    if "__frame__" in v:
        f = v["__frame__"]
        cols = {}
        for name, dtype, data in zip(f["columns"], f["dtypes"], f["data"], strict=True):
            if dtype not in _FRAME_DTYPES:
                raise ValueError(f"column dtype {dtype} is not allowed")
            cols[name] = pd.Series(_dec(data), dtype=dtype)
        return pd.DataFrame(cols)
    if "__set__" in v:
        return set(_dec(v["__set__"]))
    if "__tuple__" in v:
        return tuple(_dec(v["__tuple__"]))
    if "__items__" in v:
        return {_hashable(_dec(k)): _dec(x) for k, x in v["__items__"]}
    if "__timestamp__" in v:
        return pd.Timestamp(v["__timestamp__"])
    return {k: _dec(x) for k, x in v.items()}


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


# --------------------------------------------------------------------------- model state
def _calibrator_state(cal) -> dict:
    mapper = cal.mapper_
    if cal.method_ == "platt":
        m = {"a_": mapper.a_, "b_": mapper.b_}
    else:
        m = {"x_": mapper.x_, "y_": mapper.y_}
    return {"params": cal.get_params(), "method_": cal.method_, "brier_": cal.brier_, "mapper": m}


def _calibrator_from(state: dict):
    from scipy.interpolate import PchipInterpolator

    from smecredit.models.calibration import PDCalibrator, _Platt, _SmoothIsotonic

    cal = PDCalibrator(**state["params"])
    cal.method_, cal.brier_ = state["method_"], state["brier_"]
    # not saved, derived: the calibrator is always fitted on a 1-D vector of 0/1-labelled raw scores
    cal.classes_, cal.n_features_in_, cal.feature_names_in_ = np.array([0, 1]), 1, np.array(["x0"], dtype=object)
    m = state["mapper"]
    if cal.method_ == "platt":
        mapper = _Platt()
        mapper.a_, mapper.b_ = float(m["a_"]), float(m["b_"])
    else:
        mapper = _SmoothIsotonic()
        mapper.x_, mapper.y_ = np.asarray(m["x_"], dtype="float64"), np.asarray(m["y_"], dtype="float64")
        mapper.interp_ = PchipInterpolator(mapper.x_, mapper.y_, extrapolate=False) if len(mapper.x_) >= 2 else None
    cal.mapper_ = mapper
    return cal


_GBM_FITTED = ("feature_names_in_", "categories_", "params_", "n_rounds_", "cv_auc_", "init_base_", "classes_",
               "tree_categories_", "linear_only_categoricals_", "init_offset_", "trees_kept_", "tree_decision_")
_LINEAR_FIELDS = ("numeric", "categorical", "directions", "min_frequency", "random_state", "C", "lo_", "hi_", "med_",
                  "mu_", "sd_", "has_missing_", "levels_", "log_offset_", "owners_", "design_mean_", "zeroed_",
                  "coef_", "intercept_", "C_")
_SC_FITTED = ("feature_names_in_", "selected_features_", "dropped_features_", "iv_", "categorical_features_",
              "factor_", "offset_", "table_", "best_points_", "classes_", "min_bin_size_", "max_n_prebins_")
_BINNING_FIELDS = ("_splits_optimal", "dtype", "_n_nonevent", "_n_event", "special_codes", "_categories",
                   "_cat_others", "cat_unknown", "user_splits")


def _gbm_state(est) -> tuple[dict, dict[str, bytes]]:
    state = {"params": est.get_params(), **{k: getattr(est, k) for k in _GBM_FITTED},
             "linear_": None if est.linear_ is None else {k: getattr(est.linear_, k) for k in _LINEAR_FIELDS},
             "booster": est.booster_ is not None}
    files = {BOOSTER_FILE: est.booster_.model_to_string().encode("utf-8")} if est.booster_ is not None else {}
    return state, files


def _gbm_from(state: dict, folder: Path):
    import lightgbm as lgb

    from smecredit.models.gbm import GBMPD, _LinearBase

    est = GBMPD(**state["params"])
    for k in _GBM_FITTED:
        setattr(est, k, state[k])
    est.n_features_in_ = len(est.feature_names_in_)  # derived, not saved
    est.oof_decision_ = None  # fit-time only (the calibrator's training scores)
    lin = state["linear_"]
    if lin is None:
        est.linear_ = None
    else:
        base = _LinearBase(lin["numeric"], lin["categorical"], lin["directions"], lin["min_frequency"],
                           lin["random_state"], C=lin["C"])
        for k in _LINEAR_FIELDS:
            setattr(base, k, lin[k])
        est.linear_ = base
    est.booster_ = None
    if state["booster"]:
        text = (folder / BOOSTER_FILE).read_text(encoding="utf-8")
        est.booster_ = lgb.Booster(model_str=text)
    return est


class SavedBinning:
    """The fitted WoE map of one scorecard characteristic, as saved (optbinning's own transform)."""

    def __init__(self, fields: dict):
        self.fields = dict(fields)

    def transform(self, x, metric="woe", metric_special="empirical", metric_missing="empirical"):
        from optbinning.binning.transformations import transform_binary_target

        f = self.fields
        return transform_binary_target(f["_splits_optimal"], f["dtype"], x, f["_n_nonevent"], f["_n_event"],
                                       f["special_codes"], f["_categories"], f["_cat_others"], f["cat_unknown"],
                                       metric, metric_special, metric_missing, f["user_splits"], 2, False)


class SavedBinningProcess:
    """The binnings a saved scorecard needs to score (``get_binned_variable`` of its selected features)."""

    def __init__(self, binnings: dict[str, SavedBinning]):
        self.binnings = binnings

    def get_binned_variable(self, name: str) -> SavedBinning:
        return self.binnings[name]


def _scorecard_state(est) -> dict:
    bp = est.binning_process_
    binnings = {}
    for c in est.selected_features_:
        ob = bp.get_binned_variable(c)
        binnings[c] = ob.fields if isinstance(ob, SavedBinning) else {k: getattr(ob, k) for k in _BINNING_FIELDS}
    lr = est.estimator_
    return {"params": est.get_params(), **{k: getattr(est, k) for k in _SC_FITTED}, "binnings": binnings,
            "lr": {"coef_": lr.coef_, "intercept_": lr.intercept_, "classes_": lr.classes_}}


def _scorecard_from(state: dict):
    from sklearn.linear_model import LogisticRegression

    from smecredit.models.scorecard import ScorecardPD

    est = ScorecardPD(**state["params"])
    for k in _SC_FITTED:
        setattr(est, k, state[k])
    est.n_features_in_ = len(est.feature_names_in_)  # derived, not saved
    lr = LogisticRegression(C=est.C, max_iter=2000)
    lr.coef_, lr.intercept_, lr.classes_ = state["lr"]["coef_"], state["lr"]["intercept_"], state["lr"]["classes_"]
    lr.n_features_in_ = lr.coef_.shape[1]
    est.estimator_ = lr
    est.binning_process_ = SavedBinningProcess({c: SavedBinning(f) for c, f in state["binnings"].items()})
    return est


def model_files(model) -> dict[str, bytes]:
    """The files (name → bytes) that make up ``model``: ``model.json`` and, for GBM, ``booster.txt``."""
    files: dict[str, bytes] = {}
    if model.kind == "gbm":
        est_state, files = _gbm_state(model.estimator_)
    else:
        est_state = _scorecard_state(model.estimator_)
    ms = model.master_scale_
    state = {
        "format": FORMAT, "kind": model.kind, "feature_types": model.feature_types_, "scaling": model.scaling,
        "metadata": model.metadata_, "categories": {c: sorted(v, key=repr) for c, v in model.categories_.items()},
        "master_scale": {"first_bound": ms.first_bound, "ratio": ms.ratio, "n_grades": ms.n_grades},
        "calibrator": _calibrator_state(model.calibrator_), "estimator": est_state,
    }
    caps = getattr(model, "outlier_caps_", {})
    if caps:  # added later: a model without caps saves (and loads) exactly as before
        state["outlier_caps"] = {f: [float(lo), float(hi)] for f, (lo, hi) in caps.items()}
    files[STATE_FILE] = json.dumps(_enc(state), indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return files


def _strict_json(data: bytes, name: str):
    def _no_constants(c):
        raise ValueError(f"non-standard JSON constant {c}")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelIntegrityError(f"{name} is not a valid smecredit model file: {exc}") from exc


def read_model(folder: Path):
    """Rebuild the :class:`CreditModel` saved in ``folder`` (call :func:`verify_folder` first)."""
    from smecredit.models.credit_model import CreditModel
    from smecredit.models.rating import MasterScale

    folder = Path(folder)
    raw = _strict_json((folder / STATE_FILE).read_bytes(), str(folder / STATE_FILE))
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelIntegrityError(f"{folder / STATE_FILE}: not a {FORMAT} model (format {raw.get('format')!r})"
                                  if isinstance(raw, dict) else f"{folder / STATE_FILE}: not a model file")
    try:
        s = _dec(raw)
        est = _gbm_from(s["estimator"], folder) if s["kind"] == "gbm" else _scorecard_from(s["estimator"])
        meta = {**s["metadata"], "_train_categories": s["categories"]}
        caps = s.get("outlier_caps") or {}
        if not all(f in s["feature_types"] and len(c) == 2 and all(isinstance(x, float) for x in c)
                   for f, c in caps.items()):
            raise ValueError("outlier_caps must map model features to [low, high] numbers")
        return CreditModel(s["kind"], est, _calibrator_from(s["calibrator"]), MasterScale(**s["master_scale"]),
                           s["feature_types"], s["scaling"], meta, outlier_caps=caps)
    except Exception as exc:  # noqa: BLE001 - any parse failure of a (signed but) malformed file is a refusal
        raise ModelIntegrityError(f"{folder / STATE_FILE}: malformed model file ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from exc


# --------------------------------------------------------------------------- manifest
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    from smecredit.io import file_sha256

    return file_sha256(path)


def _signature(files: dict[str, str], key: bytes) -> str:
    body = json.dumps({"format": FORMAT, "files": files}, sort_keys=True).encode("utf-8")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def write_manifest(folder: Path, files: dict[str, str]) -> dict:
    """Write ``manifest.json`` (``{relative path: sha256}`` + HMAC signature) into ``folder``."""
    from smecredit.privacy import load_key

    manifest = {"format": FORMAT, "files": dict(sorted(files.items())),
                "hmac_sha256": _signature(files, load_key())}
    (Path(folder) / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def verify_folder(folder: Path, expected: dict[str, str] | None = None) -> dict[str, str]:
    """Check every file of the saved model in ``folder`` against its signed manifest.

    ``expected`` (``{file: sha256}``, e.g. the registered version's tag) must match too.
    Returns ``{file: sha256}`` of the verified files.

    Raises
    ------
    ModelIntegrityError
        Missing or unsigned manifest, a file changed, missing or added (the file is named).
    """
    from smecredit.privacy import load_key

    folder = Path(folder)
    mpath = folder / MANIFEST_FILE
    if not mpath.is_file():
        raise ModelIntegrityError(f"{mpath} is missing: the model's files cannot be verified; refusing to load")
    manifest = _strict_json(mpath.read_bytes(), str(mpath))
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (not isinstance(files, dict) or manifest.get("format") != FORMAT
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())):
        raise ModelIntegrityError(f"{mpath} is not a valid {FORMAT} manifest; refusing to load")
    if not hmac.compare_digest(str(manifest.get("hmac_sha256", "")), _signature(files, load_key())):
        raise ModelIntegrityError(f"{mpath}: signature does not match this project's key (manifest edited, or "
                                  "the model was saved with another key); refusing to load")
    if expected is not None:
        if MANIFEST_FILE in expected and not hmac.compare_digest(_sha256_file(mpath), str(expected[MANIFEST_FILE])):
            raise ModelIntegrityError(f"{mpath}: differs from the SHA-256 recorded on the registered model version; "
                                      "refusing to load")
        for name in sorted(set(expected) | set(files)):
            if name == MANIFEST_FILE:
                continue
            if expected.get(name) != files.get(name):
                raise ModelIntegrityError(f"{folder / name}: differs from the SHA-256 recorded on the registered "
                                          "model version; refusing to load")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for name in sorted(present - set(files) - {MANIFEST_FILE}):
        raise ModelIntegrityError(f"{folder / name}: file not in the model's manifest; refusing to load")
    for name, digest in sorted(files.items()):
        path = folder / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise ModelIntegrityError(f"{path}: listed in the manifest but missing; refusing to load")
        if not hmac.compare_digest(_sha256_file(path), digest):
            raise ModelIntegrityError(f"{path}: SHA-256 does not match the model's manifest (file changed); "
                                      "refusing to load")
    return dict(files)
